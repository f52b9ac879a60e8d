import Foundation

/// Errors a user can cause with text and task data: bad encoding, a malformed vocabulary file, a corpus too small
/// for the batch, a malformed TSV/CSV/CoNLL/`word/TAG` file or a tag sequence its scheme forbids. Each message names
/// the file and line (or the tag and its position) and says what to do. (A missing or unreadable file is a
/// `StorageError`.)
public enum TextError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// A folder was given where a file is needed.
    case isFolder(String)
    /// A gzip file ends before its stream does (an interrupted download or copy).
    case truncatedGzip(String)
    /// A glob pattern (or plain path) matched no regular file.
    case noFilesMatch(pattern: String)
    /// The bytes of the 1-based line `line` are not valid UTF-8.
    case invalidUTF8(path: String, line: Int)
    /// The files hold no token at all.
    case emptyCorpus(String)
    /// The vocabulary (file or word list) is unusable.
    case badVocabulary(path: String, reason: String)
    /// The corpus has fewer (input, target) pairs than the batch has rows, so no row would hold a pair.
    case tooFewPairs(pairs: Int, batchSize: Int, files: [String])
    /// Data-parallel training: the global batch of B rows cannot be split evenly among the N ranks.
    case batchNotDivisible(batchSize: Int, ranks: Int)
    /// The label and the text were given the same column.
    case sameColumn(path: String, column: Int)
    /// A file read as CoNLL columns holds `word/TAG` sentences (one per line).
    case looksSlashTagged(path: String, line: Int)
    /// The file holds no examples at all (empty, or only blank / comment lines).
    case noExamples(path: String)
    /// A line has a different number of columns than the line that fixed the file's layout.
    case columnCountMismatch(path: String, line: Int, found: Int, expected: Int, layoutLine: Int)
    /// A column given by index is outside the columns the file has (as fixed by line `line`).
    case columnOutOfRange(path: String, line: Int, column: Int, columnCount: Int)
    /// A column given by name is not in the header.
    case unknownColumnName(path: String, name: String, header: [String])
    /// A column was given by name, but the file is read without a header to look it up in.
    case columnNameWithoutHeader(name: String)
    /// A column specification is neither a non-negative index nor a name.
    case invalidColumn(String)
    /// A classification example has an empty text field.
    case emptyText(path: String, line: Int)
    /// A classification example has an empty label field.
    case emptyLabel(path: String, line: Int)
    /// A CSV record lacks a column (records counted from 1, header included).
    case missingCSVColumn(path: String, record: Int, column: Int, found: Int)
    /// A CSV record has an empty label or text field.
    case emptyCSVField(path: String, record: Int, column: String)
    /// The CSV parser rejected a record (counted from 1, header included).
    case malformedCSV(path: String, record: Int, message: String)
    /// A `word/TAG` token has no `/`, or nothing before or after its last `/`.
    case malformedTaggedToken(path: String, line: Int, token: String)
    /// A CoNLL-U token line does not have the 10 tab-separated columns.
    case conlluColumnCount(path: String, line: Int, found: Int)
    /// A CoNLL-U ID is not `N`, `N-M` or `N.M`, or does not continue the sentence's numbering.
    case malformedConlluID(path: String, line: Int, id: String, expected: Int)
    /// A CoNLL-U tag column holds `_` (unspecified).
    case unspecifiedTag(path: String, line: Int, column: String)
    /// A tag is not of a form the scheme allows (e.g. `X-PER` in BIO).
    case invalidTag(tag: String, position: Int, scheme: String)
    /// Two neighbouring tags (or the first / last tag of a sentence, `nil` standing for the boundary)
    /// break the scheme's rules.
    case invalidTransition(from: String?, to: String?, position: Int, scheme: String)

    public var description: String {
        switch self {
        case let .isFolder(path):
            return "\(path) is a folder, not a text file. Give the files in it, e.g. '\((path as NSString).appendingPathComponent("*.txt"))' (quoted)."
        case let .truncatedGzip(path):
            return "\(path): the gzip data ends early (the file is truncated, e.g. an interrupted download or copy). Get the whole file again; `gzip -t` checks it."
        case let .noFilesMatch(pattern):
            return "No file matches \"\(pattern)\". Check the path or glob pattern (quote it so the shell does not expand it)."
        case let .invalidUTF8(path, line):
            return "\(path):\(line): the line is not valid UTF-8. Convert the file to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8)."
        case let .emptyCorpus(path):
            return "\(path): no tokens found (every line is blank). Give a text file with one sentence per line."
        case let .badVocabulary(path, reason):
            return "\(path): bad vocabulary: \(reason). A vocabulary file has one token per line and must hold <S>, </S> and <UNK>; "
                + "rebuild it with `elmo vocab`."
        case let .tooFewPairs(pairs, batchSize, files):
            return "\(files.joined(separator: ", ")): only \(pairs) training pairs for a batch of \(batchSize) rows. "
                + "Lower the config key batch_size, or give more text."
        case let .batchNotDivisible(batchSize, ranks):
            return "batch_size \(batchSize) is not divisible by the \(ranks) ranks (mpirun -np \(ranks)): each rank trains "
                + "batch_size / ranks rows. Choose a rank count that divides \(batchSize), or a batch_size divisible by \(ranks)."
        case let .sameColumn(path, column):
            return "\(path): the label and the text are both column \(column); give different --label-column and --text-column."
        case let .looksSlashTagged(path, line):
            return "\(path):\(line): this looks like word/TAG sentences (one per line), not CoNLL columns; pass --format slash."
        case let .noExamples(path):
            return "\(path): no examples found; the file is empty or holds only blank or comment lines."
        case let .columnCountMismatch(path, line, found, expected, layoutLine):
            return "\(path):\(line): \(found) columns, but line \(layoutLine) has \(expected); "
                + "is a column missing, or is there a stray separator (e.g. a tab inside the text)?"
        case let .columnOutOfRange(path, line, column, columnCount):
            return "\(path):\(line): column \(column) (0-based) does not exist; the file has \(columnCount) "
                + "column\(columnCount == 1 ? "" : "s")."
        case let .unknownColumnName(path, name, header):
            let names = header.map { "'\($0)'" }.joined(separator: ", ")
            return "\(path):1: no column named '\(name)' in the header; it has \(names)."
        case let .columnNameWithoutHeader(name):
            return "column '\(name)' is given by name, but the file is read without a header; "
                + "give a 0-based column index, or read the first line as a header."
        case let .invalidColumn(spec):
            return "column '\(spec)' is neither a 0-based index nor a header name."
        case let .emptyText(path, line):
            return "\(path):\(line): the text is empty; remove the line or give it a text."
        case let .emptyLabel(path, line):
            return "\(path):\(line): the label is empty; every example needs a label."
        case let .missingCSVColumn(path, record, column, found):
            return "\(path): record \(record): has \(found) field\(found == 1 ? "" : "s"), so column \(column) "
                + "(0-based) is missing."
        case let .emptyCSVField(path, record, column):
            return "\(path): record \(record): the \(column) is empty; every example needs a label and a text."
        case let .malformedCSV(path, record, message):
            return "\(path): record \(record): not valid CSV (\(message)); "
                + "a quote inside a quoted field must be doubled (\"\")."
        case let .malformedTaggedToken(path, line, token):
            return "\(path):\(line): token '\(token)' is not of the form word/TAG (split at the last '/')."
        case let .conlluColumnCount(path, line, found):
            return "\(path):\(line): \(found) tab-separated columns, but CoNLL-U token lines have 10; "
                + "are the columns separated by spaces, or is this plain CoNLL?"
        case let .malformedConlluID(path, line, id, expected):
            return "\(path):\(line): ID '\(id)' is not valid here; expected \(expected) "
                + "(or a range N-M, or an empty node N.M); is a blank line missing between sentences?"
        case let .unspecifiedTag(path, line, column):
            return "\(path):\(line): the \(column) column is '_' (unspecified); tag with the other POS column."
        case let .invalidTag(tag, position, scheme):
            let forms = TagScheme(rawValue: scheme)?.tagForms ?? "an unknown scheme"
            return "tag '\(tag)' at position \(position) is not a valid \(scheme) tag; \(scheme) allows \(forms)."
        case let .invalidTransition(from, to, position, scheme):
            let what: String
            switch (from, to) {
            case let (nil, to?): what = "a sentence cannot start with '\(to)'"
            case let (from?, nil): what = "a sentence cannot end with '\(from)'"
            case let (from?, to?): what = "'\(to)' cannot follow '\(from)'"
            case (nil, nil): what = "an empty transition is meaningless"
            }
            return "position \(position): \(what) in \(scheme); is the data in another tag scheme?"
        }
    }

    /// The system's message for the current `errno`.
    static func systemMessage() -> String { String(cString: strerror(errno)) }

    public var errorDescription: String? { description }
}
