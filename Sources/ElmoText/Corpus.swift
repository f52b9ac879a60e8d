#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ElmoStorage
import Foundation

/// The pre-training corpus: one or more UTF-8 files (paths or glob(3) patterns such as `data/*.txt`), one sentence per
/// line, tokens separated by whitespace, blank lines skipped.
///
/// Tokenization is Python's `str.split()`: runs of Unicode whitespace (the 29 code points for which `str.isspace()` is
/// true, e.g. U+00A0 and U+3000 besides ASCII space, tab and the line/form feeds) separate tokens; everything else,
/// any script or symbol, stays inside a token. Matching Python exactly keeps our token streams identical to bilm-tf's and
/// AllenNLP's, which split with `str.split()`.
public struct Corpus {
    /// The files in reading order: each pattern's matches sorted by name, patterns in the order given, duplicates dropped.
    public let files: [String]

    /// Expands each pattern with glob(3) (a plain path is a pattern matching itself); directories are ignored.
    /// Throws `StorageError.fileNotFound` / `.noFilesMatch` if a pattern matches no regular file, so a typo in one of
    /// several patterns is not silently ignored.
    public init(patterns: [String]) throws {
        precondition(!patterns.isEmpty, "Corpus needs at least one file or pattern.")
        var files = [String]()
        var seen = Set<String>()
        for pattern in patterns {
            let matches = Corpus.expand(pattern).filter { path in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            }
            guard !matches.isEmpty else {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: pattern, isDirectory: &isDirectory), isDirectory.boolValue {
                    throw TextError.isFolder(pattern)
                }
                let isPattern = pattern.contains { "*?[".contains($0) }
                throw isPattern ? TextError.noFilesMatch(pattern: pattern) : StorageError.fileNotFound(pattern)
            }
            for path in matches where seen.insert(path).inserted {
                files.append(path)
            }
        }
        self.files = files
    }

    /// Shard (file) order for `epoch`: the given order when `shuffle` is false; otherwise a permutation drawn from
    /// (`seed`, `epoch`) alone, so a resumed run sees the same order as an uninterrupted one.
    public func shardOrder(epoch: Int, seed: UInt64, shuffle: Bool) -> [String] {
        guard shuffle else { return files }
        var generator = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0xD1B5_4A32_D192_ED03))
        var order = files
        // Fisher–Yates written out (not `shuffle(using:)`, whose algorithm the standard library may change).
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            let j = Int(generator.next().multipliedFullWidth(by: UInt64(i + 1)).high)
            order.swapAt(i, j)
        }
        return order
    }

    /// The whitespace tokens of `line` (Python's `line.split()`); empty for a blank line.
    public static func tokens(of line: String) -> [String] {
        var tokens = [String]()
        forEachToken(in: line) { tokens.append($0) }
        return tokens
    }

    /// Calls `body` with each whitespace token of `line`, in order, working on the UTF-8 bytes.
    public static func forEachToken(in line: String, _ body: (String) throws -> Void) rethrows {
        var line = line
        try line.withUTF8 { bytes in
            var index = 0
            var tokenStart = -1
            while index < bytes.count {
                let width = whitespaceWidth(bytes, at: index)
                if width > 0 {
                    if tokenStart >= 0 {
                        try body(String(decoding: UnsafeBufferPointer(rebasing: bytes[tokenStart..<index]), as: UTF8.self))
                        tokenStart = -1
                    }
                    index += width
                } else {
                    if tokenStart < 0 { tokenStart = index }
                    index += 1
                }
            }
            if tokenStart >= 0 {
                try body(String(decoding: UnsafeBufferPointer(rebasing: bytes[tokenStart...]), as: UTF8.self))
            }
        }
    }

    /// Byte length of the whitespace character starting at `index` of valid UTF-8 `bytes`, or 0 if it is not one.
    /// The set is Python's `str.isspace()`: U+0009–000D, U+001C–0020, U+0085, U+00A0, U+1680, U+2000–200A,
    /// U+2028, U+2029, U+202F, U+205F, U+3000.
    @inline(__always)
    static func whitespaceWidth(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let b0 = bytes[index]
        if b0 < 0x80 {
            return (0x09...0x0D).contains(b0) || (0x1C...0x20).contains(b0) ? 1 : 0
        }
        switch b0 {
        case 0xC2:
            let b1 = bytes[index + 1]
            return b1 == 0x85 || b1 == 0xA0 ? 2 : 0
        case 0xE1:
            return bytes[index + 1] == 0x9A && bytes[index + 2] == 0x80 ? 3 : 0
        case 0xE2:
            let b1 = bytes[index + 1], b2 = bytes[index + 2]
            if b1 == 0x80 { return b2 <= 0x8A || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF ? 3 : 0 }
            return b1 == 0x81 && b2 == 0x9F ? 3 : 0
        case 0xE3:
            return bytes[index + 1] == 0x80 && bytes[index + 2] == 0x80 ? 3 : 0
        default:
            return 0
        }
    }

    /// glob(3) matches of `pattern`, sorted (glob's default); `~` expands to the home folder.
    private static func expand(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, GLOB_TILDE, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { index in
            result.gl_pathv[index].map { String(cString: $0) }
        }
    }
}
