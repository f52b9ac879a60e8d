#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ElmoStorage
import Foundation
import _CZlib

/// Streams the lines of a UTF-8 text file of any size through one fixed-size buffer, so memory stays flat however
/// large the file is (the buffer grows only for a single line longer than it). Reads go through zlib's `gzread`,
/// which inflates gzip files and passes other files through unchanged, so `.gz` input works everywhere.
///
/// Line ends follow Python's universal newlines (`open(path)` in text mode): `\n`, `\r\n` and a lone `\r` each end a
/// line and are not part of it; a last line without a line end is still a line. Matching Python keeps sentence
/// boundaries identical to the PyTorch reference's. Each line is checked as UTF-8 as a whole, so a multi-byte character
/// split across two reads is fine, and a bad one throws `TextError.invalidUTF8` with its 1-based line number.
///
///     let reader = try LineReader(path: "train.txt")
///     while let line = try reader.nextLine() { ... reader.lineNumber ... }
public final class LineReader {
    /// The file being read.
    public let path: String
    /// 1-based number of the line last returned by `nextLine()` (0 before the first call).
    public private(set) var lineNumber = 0

    private let file: gzFile
    private var buffer: UnsafeMutableBufferPointer<UInt8>
    /// Unconsumed bytes are `buffer[start..<end]`.
    private var start = 0
    private var end = 0
    private var reachedEndOfFile = false

    /// Opens `path`; `bufferSize` bytes are read per read(2) call (default 1 MiB).
    public init(path: String, bufferSize: Int = 1 << 20) throws {
        precondition(bufferSize >= 2, "LineReader bufferSize must be at least 2, but is \(bufferSize).")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw StorageError.fileNotFound(path) }
        if isDirectory.boolValue { throw TextError.isFolder(path) }
        guard let handle = gzopen(path, "rb") else { throw StorageError.readFailed(path: path, reason: TextError.systemMessage()) }
        gzbuffer(handle, UInt32(min(max(bufferSize, 8192), 1 << 20)))
        self.path = path
        file = handle
        buffer = .allocate(capacity: bufferSize)
    }

    deinit {
        gzclose(file)
        buffer.deallocate()
    }

    /// The next line without its line end, or nil at the end of the file.
    public func nextLine() throws -> String? {
        guard var range = try nextLineRange() else { return nil }
        lineNumber += 1
        // A UTF-8 byte-order mark (Windows editors write one) is not text: left in, it would be part of the first token.
        if lineNumber == 1, range.count >= 3, buffer[range.lowerBound] == 0xEF, buffer[range.lowerBound + 1] == 0xBB,
           buffer[range.lowerBound + 2] == 0xBF {
            range = (range.lowerBound + 3)..<range.upperBound
        }
        guard let line = String(validating: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self) else {
            throw TextError.invalidUTF8(path: path, line: lineNumber)
        }
        return line
    }

    /// Calls `body` with each remaining line and its 1-based line number.
    public func forEachLine(_ body: (String, Int) throws -> Void) throws {
        while let line = try nextLine() {
            try body(line, lineNumber)
        }
    }

    /// Byte range of the next line in `buffer`, valid until the next call; consumes the line and its line end.
    private func nextLineRange() throws -> Range<Int>? {
        var scan = start
        while true {
            while scan < end, buffer[scan] != 0x0A, buffer[scan] != 0x0D {
                scan += 1
            }
            if scan < end {
                if buffer[scan] == 0x0D, scan + 1 == end, !reachedEndOfFile {
                    // A `\r` as the last byte read: the next read decides whether it is `\r\n`.
                    scan -= start
                    try fill()
                    scan += start
                    continue
                }
                let lineEndLength = buffer[scan] == 0x0D && scan + 1 < end && buffer[scan + 1] == 0x0A ? 2 : 1
                let line = start..<scan
                start = scan + lineEndLength
                return line
            }
            if reachedEndOfFile {
                guard start < end else { return nil }
                let line = start..<end
                start = end
                return line
            }
            scan -= start
            try fill()
            scan += start
        }
    }

    /// Moves the unconsumed bytes to the front (growing the buffer only if a line fills it) and reads more.
    private func fill() throws {
        if start > 0 {
            let remaining = end - start
            if remaining > 0 {
                memmove(buffer.baseAddress!, buffer.baseAddress! + start, remaining)
            }
            start = 0
            end = remaining
        }
        if end == buffer.count {
            let larger = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: buffer.count * 2)
            memcpy(larger.baseAddress!, buffer.baseAddress!, end)
            buffer.deallocate()
            buffer = larger
        }
        while true {
            let got = Int(gzread(file, buffer.baseAddress! + end, UInt32(min(buffer.count - end, Int(Int32.max)))))
            if got > 0 {
                end += got
                return
            }
            var zlibError: Int32 = 0
            if got == 0 {
                // zlib reports a gzip stream cut short (Z_BUF_ERROR, "unexpected end of file") only through gzerror,
                // and still returns the bytes before the cut: without this check the rest would be silently missing.
                _ = gzerror(file, &zlibError)
                if zlibError == Z_BUF_ERROR { throw TextError.truncatedGzip(path) }
                reachedEndOfFile = true
                return
            }
            let message = gzerror(file, &zlibError).map { String(cString: $0) } ?? "read error"
            if zlibError != Z_ERRNO || errno != EINTR {
                throw StorageError.readFailed(path: path, reason: zlibError == Z_ERRNO ? TextError.systemMessage() : message)
            }
        }
    }
}
