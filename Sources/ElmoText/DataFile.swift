import ElmoStorage
import Foundation

/// Loads a whole data file as UTF-8, so that every reader refuses bad encodings the same way: with the number of
/// the first line that is not valid UTF-8 (never a lossy decode that would silently change the text).
/// A leading byte-order mark is dropped. Fine-tuning files are small (a few MB), so reading them whole is cheap.
enum DataFile {
    static func readBytes(path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw StorageError.fileNotFound(path) }
        if isDirectory.boolValue { throw StorageError.readFailed(path: path, reason: "it is a folder; give the data file inside it") }
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw StorageError.readFailed(path: path, reason: error.localizedDescription)
        }
    }

    /// The file's lines without their terminators (`\n` or `\r\n`); element `i` is line `i + 1`.
    /// A final newline does not make an extra empty line.
    static func readLines(path: String) throws -> [String] {
        try lines(of: readBytes(path: path), path: path)
    }

    /// The whole file as one string (for parsers that span lines, such as CSV with multi-line fields).
    static func readText(path: String) throws -> String {
        let bytes = try readBytes(path: path)
        if let text = String(validating: bytes[(hasByteOrderMark(bytes) ? 3 : 0)...], as: UTF8.self) { return text }
        // Only on failure, to name the line: a newline byte never occurs inside a multi-byte UTF-8 sequence, so
        // invalid text always has an invalid line.
        _ = try lines(of: bytes, path: path)
        preconditionFailure("\(path) is invalid UTF-8 as a whole but every line of it is valid.")
    }

    private static func lines(of bytes: [UInt8], path: String) throws -> [String] {
        var lines: [String] = []
        var start = hasByteOrderMark(bytes) ? 3 : 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            var end = newline
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }
            guard let line = String(validating: bytes[start..<end], as: UTF8.self) else {
                throw TextError.invalidUTF8(path: path, line: lines.count + 1)
            }
            lines.append(line)
            start = newline + 1
        }
        return lines
    }

    private static func hasByteOrderMark(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
    }

    /// Whitespace tokenization shared by the readers: `Corpus.tokens` (Python's `str.split()`, as AllenNLP
    /// tokenizes), so a sentence gets the same tokens in fine-tuning as in `elmo embed`.
    static func tokens(_ text: Substring) -> [String] {
        Corpus.tokens(of: String(text))
    }
}
