// The ZIP and zlib plumbing under NpzWriter/NpzReader: record layouts, little-endian fields, raw deflate
// streams and POSIX file I/O. Internal; the public surface is the two archive classes.
import _CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ZIP record layouts (PKWARE APPNOTE), only the subset a numpy-compatible `.npz` needs:
/// one disk, no ZIP64, no encryption, methods 0 (stored) and 8 (deflate).
enum ZipFormat {
    static let localHeaderSignature: UInt32 = 0x0403_4B50
    static let centralHeaderSignature: UInt32 = 0x0201_4B50
    static let endRecordSignature: UInt32 = 0x0605_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    static let localHeaderSize = 30
    static let centralHeaderSize = 46
    static let endRecordSize = 22
    static let zip64LocatorSize = 20
    static let maxCommentLength = 0xFFFF
    static let methodStored: UInt16 = 0
    static let methodDeflate: UInt16 = 8
    static let flagEncrypted: UInt16 = 1 << 0
    static let flagUTF8Name: UInt16 = 1 << 11
    /// Version needed to extract: 2.0 (deflate).
    static let versionNeeded: UInt16 = 20
    /// Made by Unix (3) with spec 2.0, so the external attributes below are read as a Unix mode.
    static let versionMadeBy: UInt16 = 3 << 8 | 20
    /// Regular file, mode 0644, in the high 16 bits (Unix convention).
    static let externalAttributes: UInt32 = 0o100644 << 16
    /// Every member is stamped 1980-01-01 00:00 (the DOS epoch), so identical content gives identical bytes.
    static let dosDate: UInt16 = 1 << 5 | 1
    static let dosTime: UInt16 = 0
    /// Largest size or offset a non-ZIP64 record can hold.
    static let maxField = Int(UInt32.max)
}

extension Array where Element == UInt8 {
    mutating func appendLE(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value))
        append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func appendLE(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    func u16(at i: Int) -> UInt16 { UInt16(self[i]) | UInt16(self[i + 1]) << 8 }

    func u32(at i: Int) -> UInt32 {
        UInt32(self[i]) | UInt32(self[i + 1]) << 8 | UInt32(self[i + 2]) << 16 | UInt32(self[i + 3]) << 24
    }
}

/// CRC-32 (the ZIP polynomial) continued over `bytes`; start from 0.
func crc32Update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc = uLong(crc)
    var rest = bytes
    while !rest.isEmpty {
        // zlib takes a 32-bit length; feed huge buffers in pieces.
        let n = Swift.min(rest.count, 1 << 30)
        crc = crc32(crc, rest.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(n))
        rest = UnsafeRawBufferPointer(rebasing: rest[n...])
    }
    return UInt32(truncatingIfNeeded: crc)
}

/// A raw deflate stream (no zlib/gzip wrapper, window bits -15, as ZIP wants), reused across members.
final class Deflater {
    // Heap-allocated: zlib stores the z_stream's address in its state and checks it on every call.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)

    /// `huffmanOnly` skips the LZ77 string matching (zlib's Z_HUFFMAN_ONLY): float arrays have almost no repeated
    /// byte strings, so matching costs two thirds of the time and gains nothing (ref-small weights: ratio 0.913
    /// either way, 3.5 times faster); text members keep the default strategy.
    init(level: Int32, huffmanOnly: Bool = false) {
        stream.initialize(to: z_stream())
        let rc = deflateInit2_(stream, level, Z_DEFLATED, -MAX_WBITS, 8, huffmanOnly ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK, "deflateInit2 failed with \(rc) for level \(level).")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Starts a new member.
    func reset() {
        deflateReset(stream)
    }

    /// Compresses `input`; `finish` ends the member's stream. Hands each piece of output to `sink`.
    func compress(_ input: UnsafeRawBufferPointer, finish: Bool, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var rest = input
        repeat {
            let n = Swift.min(rest.count, 1 << 30)
            let last = n == rest.count
            stream.pointee.next_in = n == 0 ? nil
                : UnsafeMutablePointer(mutating: rest.baseAddress!.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(n)
            let flush = last && finish ? Z_FINISH : Z_NO_FLUSH
            repeat {
                stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(output.count)
                let rc = deflate(stream, flush)
                precondition(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR, "deflate failed with \(rc).")
                let produced = output.count - Int(stream.pointee.avail_out)
                if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[..<produced])) }
            } while stream.pointee.avail_out == 0
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        } while !rest.isEmpty
    }
}

/// A raw inflate stream over one member's compressed bytes, filling caller buffers piece by piece.
final class Inflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private(set) var ended = false

    /// `input` must stay valid for the Inflater's life.
    init(input: UnsafeRawBufferPointer) {
        stream.initialize(to: z_stream())
        let rc = inflateInit2_(stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK, "inflateInit2 failed with \(rc).")
        stream.pointee.next_in = input.isEmpty ? nil
            : UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)   // members are < 4 GiB (no ZIP64)
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Fills `buffer` as far as the stream allows; returns the bytes written, or throws a reason string.
    func inflate(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count && !ended {
            let want = Swift.min(buffer.count - filled, 1 << 30)
            stream.pointee.next_out = (buffer.baseAddress! + filled).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(want)
            let rc = _CZlib.inflate(stream, Z_NO_FLUSH)
            filled += want - Int(stream.pointee.avail_out)
            switch rc {
            case Z_STREAM_END:
                ended = true
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                throw ArchiveFailure(reason: "the compressed data ends early")
            default:
                let detail = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw ArchiveFailure(reason: "invalid deflate data (\(detail))")
            }
        }
        return filled
    }
}

/// A low-level failure (bad deflate data, an I/O error) that the archive classes rewrap with the path and member.
struct ArchiveFailure: Error {
    let reason: String
}

/// The text of the current `errno`.
func errnoText() -> String {
    String(cString: strerror(errno))
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR; returns an errno text on failure.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> String? {
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            return errnoText()
        }
        done += n
    }
    return nil
}

/// `pwrite` of all of `bytes` at `offset`.
func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int) -> String? {
    bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return errnoText()
            }
            done += n
        }
        return nil
    }
}

/// Reads exactly `buffer.count` bytes at `offset`; returns how many were read before end of file, or
/// throws an errno text.
func preadAll(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
    var done = 0
    while done < buffer.count {
        let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
        if n < 0 {
            if errno == EINTR { continue }
            throw ArchiveFailure(reason: errnoText())
        }
        if n == 0 { break }
        done += n
    }
    return done
}
