import ElmoText
import Foundation

/// The layout of a classification data file.
public enum ClassificationFormat: String, Codable, CaseIterable, Sendable {
    /// Tab-separated, one example per line (`ClassificationReader`).
    case tsv
    /// Quoted comma-separated, fields may span lines (`CSVClassificationReader`).
    case csv
}

/// What to do with a dev/test example whose label the training data never had.
public enum UnknownLabelPolicy: String, Codable, CaseIterable, Sendable {
    /// Refuse the file, naming the line.
    case error
    /// Keep the example (it can only be predicted wrong) and warn once per file.
    case warn
}

/// How classification files are read: format, label and text columns (0-based indices, or header names with
/// `header`). Defaults: `label<TAB>text`, no header, the format from the file name (`.csv` → csv, else tsv).
public struct ClassificationDataSettings: Codable, Equatable {
    /// nil: from the file name.
    public var format: ClassificationFormat?
    public var labelColumn = "0"
    public var textColumn = "1"
    public var header = false

    public init() {}

    public func format(of path: String) -> ClassificationFormat {
        format ?? (path.lowercased().hasSuffix(".csv") || path.lowercased().hasSuffix(".csv.gz") ? .csv : .tsv)
    }

    /// Every example of the file; errors name the file and line (TSV) or record (CSV).
    public func read(path: String) throws -> [LabeledSentence] {
        switch format(of: path) {
        case .tsv:
            return try ClassificationReader(labelColumn: labelColumn, textColumn: textColumn, hasHeader: header).read(path: path)
        case .csv:
            let headerNames = try header && (Int(labelColumn) == nil || Int(textColumn) == nil)
                ? (CSVClassificationReader.records(path: path).first ?? []).map { $0.trimmingCharacters(in: .whitespaces) } : nil
            func index(_ spec: String) throws -> Int {
                if let i = Int(spec) {
                    guard i >= 0 else { throw TextError.invalidColumn(spec) }
                    return i
                }
                guard let headerNames else { throw TextError.columnNameWithoutHeader(name: spec) }
                guard let i = headerNames.firstIndex(of: spec) else {
                    throw TextError.unknownColumnName(path: path, name: spec, header: headerNames)
                }
                return i
            }
            return try CSVClassificationReader.read(path: path, labelColumn: try index(labelColumn), textColumn: try index(textColumn),
                                                    hasHeader: header)
        }
    }

    /// Checks dev/test labels against the model's: with `.error` the first unknown one throws (naming its line);
    /// with `.warn` returns a warning naming how many examples and the first line, or nil when all are known.
    public static func checkLabels(_ examples: [LabeledSentence], known: [String], path: String,
                                   policy: UnknownLabelPolicy) throws -> String? {
        let knownSet = Set(known)
        let unknown = examples.filter { !knownSet.contains($0.label) }
        guard let first = unknown.first else { return nil }
        switch policy {
        case .error:
            throw TaskError.unknownLabel(path: path, line: first.line, label: first.label, known: known)
        case .warn:
            return "\(path): \(unknown.count) example\(unknown.count == 1 ? " has a label" : "s have labels") not seen in training "
                + "(first: line \(first.line), '\(first.label)'); they count as wrong."
        }
    }
}
