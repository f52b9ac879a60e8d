import Foundation

/// Reads a tab-separated classification file, `label<TAB>text` per line by default, into `LabeledSentence`s
/// whose tokens are the whitespace-split text.
///
/// Columns are 0-based indices, or header names when `hasHeader` is set (the first line is then the header).
/// Every line must have as many tab-separated columns as the header (or, without one, as the first example):
/// a tab inside a text would otherwise silently cut it, so it is an error naming the line instead.
/// Blank lines are skipped. Labels are trimmed of surrounding whitespace.
public struct ClassificationReader {
    public var labelColumn: String
    public var textColumn: String
    public var hasHeader: Bool

    /// - Parameters:
    ///   - labelColumn: 0-based index, or (with `hasHeader`) a header name, of the label column.
    ///   - textColumn: 0-based index, or (with `hasHeader`) a header name, of the text column.
    ///   - hasHeader: whether the first line names the columns rather than holding an example.
    public init(labelColumn: String = "0", textColumn: String = "1", hasHeader: Bool = false) {
        self.labelColumn = labelColumn
        self.textColumn = textColumn
        self.hasHeader = hasHeader
    }

    public func read(path: String) throws -> [LabeledSentence] {
        let lines = try DataFile.readLines(path: path)
        // The line that fixes the column count: the header, else the first example.
        var layout: (columns: Int, line: Int)?
        var columns: (label: Int, text: Int)?
        var firstExample = 0
        if hasHeader {
            guard let headerLine = lines.first else { throw TextError.noExamples(path: path) }
            let header = Self.fields(headerLine).map { $0.trimmingCharacters(in: .whitespaces) }
            layout = (header.count, 1)
            columns = (try resolve(labelColumn, header: header, path: path),
                       try resolve(textColumn, header: header, path: path))
            firstExample = 1
        }
        var examples: [LabeledSentence] = []
        for index in firstExample..<lines.count {
            let line = lines[index]
            let lineNumber = index + 1
            if line.allSatisfy(\.isWhitespace) { continue }
            let fields = Self.fields(line)
            if layout == nil {
                layout = (fields.count, lineNumber)
                columns = (try resolve(labelColumn, header: nil, path: path),
                           try resolve(textColumn, header: nil, path: path))
            }
            guard let layout, let columns else { preconditionFailure("layout is set before the first example") }
            if columns.label == columns.text { throw TextError.sameColumn(path: path, column: columns.label) }
            guard fields.count == layout.columns else {
                throw TextError.columnCountMismatch(path: path, line: lineNumber, found: fields.count,
                                                    expected: layout.columns, layoutLine: layout.line)
            }
            for column in [columns.label, columns.text] where column >= layout.columns {
                throw TextError.columnOutOfRange(path: path, line: layout.line, column: column,
                                                 columnCount: layout.columns)
            }
            let label = fields[columns.label].trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty else { throw TextError.emptyLabel(path: path, line: lineNumber) }
            let tokens = DataFile.tokens(fields[columns.text])
            guard !tokens.isEmpty else { throw TextError.emptyText(path: path, line: lineNumber) }
            examples.append(LabeledSentence(label: label, tokens: tokens, line: lineNumber))
        }
        guard !examples.isEmpty else { throw TextError.noExamples(path: path) }
        return examples
    }

    private static func fields(_ line: String) -> [Substring] {
        line.split(separator: "\t", omittingEmptySubsequences: false)
    }

    /// A column spec as an index: a non-negative integer is taken as is (range-checked against the layout by the
    /// caller); anything else must be a header name.
    private func resolve(_ spec: String, header: [String]?, path: String) throws -> Int {
        if let index = Int(spec) {
            guard index >= 0 else { throw TextError.invalidColumn(spec) }
            return index
        }
        guard let header else { throw TextError.columnNameWithoutHeader(name: spec) }
        guard let index = header.firstIndex(of: spec) else {
            throw TextError.unknownColumnName(path: path, name: spec, header: header)
        }
        return index
    }
}
