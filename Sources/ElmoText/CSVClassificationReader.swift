import Foundation
import SwiftCSV

/// Reads a quoted, comma-separated classification file (RFC 4180 style: fields may be quoted, span lines, and
/// hold doubled quotes `""`) into `LabeledSentence`s whose tokens are the whitespace-split text. This is the
/// layout of the default sentiment data, `"label","text"` per record (e.g. `"1","a fine film"`).
///
/// Parsing is SwiftCSV's; records are numbered from 1 in file order, header included, and that number is the
/// `line` of each example and the place named in errors (a record may span several physical lines).
/// Blank records are skipped; extra columns are allowed (quoting makes them unambiguous).
public enum CSVClassificationReader {
    public static func read(path: String, labelColumn: Int = 0, textColumn: Int = 1,
                            hasHeader: Bool = false) throws -> [LabeledSentence] {
        for column in [labelColumn, textColumn] where column < 0 { throw TextError.invalidColumn(String(column)) }
        let records = try parse(text: DataFile.readText(path: path), path: path)
        var examples: [LabeledSentence] = []
        for (index, fields) in records.enumerated() where !(hasHeader && index == 0) {
            let record = index + 1
            if fields.allSatisfy({ $0.allSatisfy(\.isWhitespace) }) { continue }
            for column in [labelColumn, textColumn] where column >= fields.count {
                throw TextError.missingCSVColumn(path: path, record: record, column: column, found: fields.count)
            }
            let label = fields[labelColumn].trimmingCharacters(in: .whitespacesAndNewlines)
            guard !label.isEmpty else { throw TextError.emptyCSVField(path: path, record: record, column: "label") }
            let tokens = DataFile.tokens(fields[textColumn][...])
            guard !tokens.isEmpty else { throw TextError.emptyCSVField(path: path, record: record, column: "text") }
            examples.append(LabeledSentence(label: label, tokens: tokens, line: record))
        }
        guard !examples.isEmpty else { throw TextError.noExamples(path: path) }
        return examples
    }

    /// Every record's raw fields, the first one included, for callers that need the text as written (e.g. the
    /// sentence lines of a review).
    public static func records(path: String) throws -> [[String]] {
        try parse(text: DataFile.readText(path: path), path: path)
    }

    /// All records, the first one included (SwiftCSV would take it as the header and skip it).
    private static func parse(text: String, path: String) throws -> [[String]] {
        var records: [[String]] = []
        do {
            // `rowLimit: 0`: parse only the header here; the full pass below streams every record once.
            let csv = try CSV<Enumerated>(string: text, delimiter: .comma, loadColumns: false, rowLimit: 0)
            try csv.enumerateAsArray(startAt: 0, rowLimit: nil) { records.append($0) }
        } catch let error as CSVParseError {
            let message: String
            switch error {
            case let .generic(text), let .quotation(text): message = text
            }
            throw TextError.malformedCSV(path: path, record: records.count + 1, message: message)
        }
        return records
    }
}
