import Foundation

/// Errors a user can cause with the pre-training text: missing or unreadable files, bad encoding,
/// a malformed vocabulary file, a corpus too small for the batch. Each message names the file (and line
/// where there is one) and says what to do.
public enum TextError: Error, CustomStringConvertible, Equatable {
    /// The file does not exist (or is not a regular file).
    case fileNotFound(String)
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
    /// Reading failed at the system level (`reason` is the system's message).
    case readFailed(path: String, reason: String)
    /// Writing failed at the system level (`reason` is the system's message).
    case writeFailed(path: String, reason: String)
    /// The corpus has fewer (input, target) pairs than the batch has rows, so no row would hold a pair.
    case tooFewPairs(pairs: Int, batchSize: Int, files: [String])

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "File not found: \(path). Check the path (relative paths are taken from the current folder)."
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
        case let .readFailed(path, reason):
            return "\(path): cannot read: \(reason)."
        case let .writeFailed(path, reason):
            return "\(path): cannot write: \(reason). Check the folder exists, is writable and the disk has room."
        case let .tooFewPairs(pairs, batchSize, files):
            return "\(files.joined(separator: ", ")): only \(pairs) training pairs for a batch of \(batchSize) rows. "
                + "Lower the config key batch_size, or give more text."
        }
    }

    /// The system's message for the current `errno`.
    static func systemMessage() -> String { String(cString: strerror(errno)) }
}
