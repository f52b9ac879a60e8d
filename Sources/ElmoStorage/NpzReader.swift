import ElmoTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a `.npz` archive written by `NpzWriter` or by numpy (`np.savez`: stored members,
/// `np.savez_compressed`: deflated members).
///
/// `init` parses only the central directory; each accessor reads and decompresses one member on demand and
/// checks its length and CRC-32 before returning anything, so a corrupted member is refused with an error
/// naming it. Archives that need ZIP64 (over 4 GiB or 65,535 members) or are encrypted are refused.
public final class NpzReader {
    public let path: String
    /// Member names in archive order, as stored (`"lstm/weight.npy"`, `"config.json"`).
    public let memberNames: [String]
    private let entries: [String: Entry]
    private let fd: Int32

    /// One central-directory record.
    struct Entry {
        var name: String
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int
        var uncompressedSize: Int
        var localHeaderOffset: Int
    }

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { throw StorageError.fileNotFound(path) }
            throw StorageError.readFailed(path: path, reason: errnoText())
        }
        do {
            let parsed = try Self.readCentralDirectory(fd: fd, path: path)
            memberNames = parsed.map(\.name)
            entries = Dictionary(parsed.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        } catch {
            close(fd)
            throw error
        }
    }

    deinit {
        close(fd)
    }

    /// Names of the `.npy` members without the suffix, in archive order (what `numpy.load(p).files` lists
    /// for them).
    public var tensorNames: [String] {
        memberNames.filter { $0.hasSuffix(".npy") }.map { String($0.dropLast(4)) }
    }

    /// Whether a member is stored under exactly this name (with its suffix, e.g. `"a/b.npy"`).
    public func contains(_ member: String) -> Bool {
        entries[member] != nil
    }

    /// The header of `"\(name).npy"` (dtype and shape) without reading its data, so without a CRC check.
    public func header(_ name: String) throws -> NpyHeader {
        try openArray(name).header
    }

    /// `"\(name).npy"` as Float32: `'<f4'` as is, `'<f2'` widened exactly.
    public func tensor(_ name: String) throws -> Tensor {
        let (header, stream) = try openArray(name)
        switch header.dtype {
        case .float32?:
            return Tensor(shape: header.shape, scalars: try stream.readArray(of: Float.self, count: header.elementCount))
        case .float16?:
            let bits = try stream.readArray(of: UInt16.self, count: header.elementCount)
            return Tensor(shape: header.shape, scalars: bits.map { Float(Float16(bitPattern: $0)) })
        default:
            try refuse(.badDType(member: stream.entry.name, found: header.descr), member: stream.entry.name)
        }
    }

    /// `"\(name).npy"` flattened: `'<i8'` as is, `'<i4'` widened.
    public func int64(_ name: String) throws -> [Int64] {
        let (header, stream) = try openArray(name)
        switch header.dtype {
        case .int64?:
            return try stream.readArray(of: Int64.self, count: header.elementCount)
        case .int32?:
            return try stream.readArray(of: Int32.self, count: header.elementCount).map(Int64.init)
        default:
            try refuse(.badDType(member: stream.entry.name, found: header.descr), member: stream.entry.name)
        }
    }

    /// `"\(name).npy"` flattened; must be `'<u8'`.
    public func uint64(_ name: String) throws -> [UInt64] {
        let (header, stream) = try openArray(name)
        guard header.dtype == .uint64 else {
            try refuse(.badDType(member: stream.entry.name, found: header.descr), member: stream.entry.name)
        }
        return try stream.readArray(of: UInt64.self, count: header.elementCount)
    }

    /// The raw bytes of `member` (full name, e.g. `"config.json"`), CRC verified.
    public func bytes(_ member: String) throws -> [UInt8] {
        let stream = try MemberStream(fd: fd, path: path, entry: try entry(member))
        return try stream.readArray(of: UInt8.self, count: stream.entry.uncompressedSize)
    }

    private func entry(_ member: String) throws -> Entry {
        guard let entry = entries[member] else { throw StorageError.missingMember(path: path, member: member) }
        return entry
    }

    /// `error` about member `name`, unless the member fails its CRC-32 (or does not inflate): then that error, which
    /// names the root cause. A flipped byte usually shows first as a garbled NPY header or dtype, long before the
    /// member's end, where the CRC is checked.
    private func refuse(_ error: StorageError, member name: String) throws -> Never {
        if entries[name] != nil { _ = try bytes(name) }
        throw error
    }

    /// Opens `"\(name).npy"` and consumes its NPY header (see `openArrayUnchecked`); a header error of a member whose
    /// data fail the CRC check is reported as the CRC failure.
    private func openArray(_ name: String) throws -> (header: NpyHeader, stream: MemberStream) {
        do {
            return try openArrayUnchecked(name)
        } catch let error as StorageError {
            if case .missingMember = error { throw error }
            try refuse(error, member: "\(name).npy")
        }
    }

    /// Opens `"\(name).npy"` and consumes its NPY header; the stream is positioned at the elements, whose
    /// byte count is checked against the header.
    private func openArrayUnchecked(_ name: String) throws -> (header: NpyHeader, stream: MemberStream) {
        let stream = try MemberStream(fd: fd, path: path, entry: try entry("\(name).npy"))
        let member = stream.entry.name
        guard stream.entry.uncompressedSize >= NpyFormat.prefixLength else {
            throw StorageError.corruptMember(path: path, member: member,
                                                reason: "it is \(stream.entry.uncompressedSize) bytes, too short for an NPY header")
        }
        var headerBytes = try stream.readArray(of: UInt8.self, count: NpyFormat.prefixLength, last: false)
        let size = try NpyFormat.headerSize(prefix: headerBytes, path: path, member: member)
        guard size >= NpyFormat.prefixLength, size <= stream.entry.uncompressedSize else {
            throw StorageError.corruptMember(path: path, member: member,
                                                reason: "its NPY header length (\(size)) does not fit the member")
        }
        headerBytes += try stream.readArray(of: UInt8.self, count: size - NpyFormat.prefixLength, last: false)
        let header = try NpyFormat.decodeHeader(headerBytes, path: path, member: member)
        if header.fortranOrder && header.shape.filter({ $0 > 1 }).count > 1 {
            throw StorageError.badDType(member: member, found: "\(header.descr) in Fortran order (save it with np.ascontiguousarray)")
        }
        if let dtype = header.dtype, size + header.elementCount * dtype.itemSize != stream.entry.uncompressedSize {
            throw StorageError.corruptMember(
                path: path, member: member,
                reason: "its shape \(header.shape) of \(header.descr) needs \(header.elementCount * dtype.itemSize) data bytes, "
                    + "but the member holds \(stream.entry.uncompressedSize - size)")
        }
        return (header, stream)
    }

    /// Finds the end record (searching back over a possible archive comment), refuses ZIP64 and
    /// multi-disk archives, and parses every central-directory record.
    private static func readCentralDirectory(fd: Int32, path: String) throws -> [Entry] {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw StorageError.readFailed(path: path, reason: errnoText()) }
        let fileSize = Int(info.st_size)
        func read(_ count: Int, at offset: Int) throws -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            let got = try bytes.withUnsafeMutableBytes { raw in
                do { return try preadAll(fd, into: raw, at: offset) } catch let failure as ArchiveFailure {
                    throw StorageError.readFailed(path: path, reason: failure.reason)
                }
            }
            guard got == count else {
                throw StorageError.corruptArchive(path: path, reason: "it ends early (truncated at \(fileSize) bytes)")
            }
            return bytes
        }
        func corrupt(_ reason: String) -> StorageError { .corruptArchive(path: path, reason: reason) }

        let tailSize = min(fileSize, ZipFormat.endRecordSize + ZipFormat.maxCommentLength)
        let tail = try read(tailSize, at: fileSize - tailSize)
        var endAt: Int?
        var i = tailSize - ZipFormat.endRecordSize
        while i >= 0 {
            if tail.u32(at: i) == ZipFormat.endRecordSignature,
               i + ZipFormat.endRecordSize + Int(tail.u16(at: i + 20)) == tailSize {
                endAt = i
                break
            }
            i -= 1
        }
        guard let endAt else {
            let head = try read(min(fileSize, 4), at: 0)
            if head.count == 4, head.u32(at: 0) == ZipFormat.localHeaderSignature {
                throw corrupt("its end-of-central-directory record is missing, so the file is truncated "
                              + "(an interrupted write or copy?)")
            }
            throw StorageError.notAZip(path: path)
        }
        let endOffset = fileSize - tailSize + endAt
        let disk = tail.u16(at: endAt + 4), directoryDisk = tail.u16(at: endAt + 6)
        let countOnDisk = Int(tail.u16(at: endAt + 8)), count = Int(tail.u16(at: endAt + 10))
        let directorySize = Int(tail.u32(at: endAt + 12)), directoryOffset = Int(tail.u32(at: endAt + 16))
        var hasLocator = false
        if endOffset >= ZipFormat.zip64LocatorSize {
            hasLocator = try read(4, at: endOffset - ZipFormat.zip64LocatorSize).u32(at: 0) == ZipFormat.zip64LocatorSignature
        }
        if hasLocator || count == 0xFFFF || directorySize == ZipFormat.maxField || directoryOffset == ZipFormat.maxField {
            throw corrupt("it is a ZIP64 archive (over 4 GiB or 65,535 members), which is not supported")
        }
        guard disk == 0, directoryDisk == 0, countOnDisk == count else {
            throw corrupt("it is a multi-disk (split) archive, which is not supported")
        }
        guard directoryOffset + directorySize <= endOffset else {
            throw corrupt("its central directory (\(directorySize) bytes at \(directoryOffset)) lies beyond its end record")
        }
        let directory = try read(directorySize, at: directoryOffset)
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var at = 0
        for index in 0..<count {
            guard at + ZipFormat.centralHeaderSize <= directory.count,
                  directory.u32(at: at) == ZipFormat.centralHeaderSignature else {
                throw corrupt("central-directory record \(index) of \(count) is damaged")
            }
            let nameLength = Int(directory.u16(at: at + 28))
            let extraLength = Int(directory.u16(at: at + 30)), commentLength = Int(directory.u16(at: at + 32))
            guard at + ZipFormat.centralHeaderSize + nameLength <= directory.count else {
                throw corrupt("central-directory record \(index) of \(count) is cut short")
            }
            let nameStart = at + ZipFormat.centralHeaderSize
            let entry = Entry(name: String(decoding: directory[nameStart..<(nameStart + nameLength)], as: UTF8.self),
                              method: directory.u16(at: at + 10),
                              crc: directory.u32(at: at + 16),
                              compressedSize: Int(directory.u32(at: at + 20)),
                              uncompressedSize: Int(directory.u32(at: at + 24)),
                              localHeaderOffset: Int(directory.u32(at: at + 42)))
            if directory.u16(at: at + 8) & ZipFormat.flagEncrypted != 0 {
                throw corrupt("member '\(entry.name)' is encrypted, which is not supported")
            }
            if entry.compressedSize == ZipFormat.maxField || entry.uncompressedSize == ZipFormat.maxField
                || entry.localHeaderOffset == ZipFormat.maxField {
                throw corrupt("member '\(entry.name)' uses ZIP64 sizes (over 4 GiB), which are not supported")
            }
            entries.append(entry)
            at = nameStart + nameLength + extraLength + commentLength
        }
        return entries
    }
}

/// One member's data, decompressed on demand into caller buffers with a running CRC-32. The last read of a
/// member checks that the data ends exactly at the recorded size and that the CRC matches.
final class MemberStream {
    let entry: Entry
    typealias Entry = NpzReader.Entry
    private let path: String
    private let compressed: UnsafeMutableRawBufferPointer
    private var inflater: Inflater?
    private var storedPosition = 0
    private var produced = 0
    private var crc: UInt32 = 0

    init(fd: Int32, path: String, entry: Entry) throws {
        self.path = path
        self.entry = entry
        func corrupt(_ reason: String) -> StorageError {
            .corruptMember(path: path, member: entry.name, reason: reason)
        }
        guard entry.method == ZipFormat.methodStored || entry.method == ZipFormat.methodDeflate else {
            throw corrupt("it uses ZIP compression method \(entry.method); only stored (0) and deflate (8) are supported")
        }
        if entry.method == ZipFormat.methodStored && entry.compressedSize != entry.uncompressedSize {
            throw corrupt("it is stored uncompressed but its sizes differ (\(entry.compressedSize) vs \(entry.uncompressedSize))")
        }
        var local = [UInt8](repeating: 0, count: ZipFormat.localHeaderSize)
        let got = try local.withUnsafeMutableBytes { try Self.pread(fd, $0, at: entry.localHeaderOffset, path: path) }
        guard got == local.count, local.u32(at: 0) == ZipFormat.localHeaderSignature else {
            throw corrupt("its local header at offset \(entry.localHeaderOffset) is missing or damaged")
        }
        // Sizes come from the central directory: numpy's zipfile writes ZIP64 extras and placeholder sizes
        // into local headers; only the name and extra lengths are needed here.
        let dataOffset = entry.localHeaderOffset + ZipFormat.localHeaderSize + Int(local.u16(at: 26)) + Int(local.u16(at: 28))
        compressed = .allocate(byteCount: max(entry.compressedSize, 1), alignment: 16)
        let read = try Self.pread(fd, UnsafeMutableRawBufferPointer(rebasing: compressed[..<entry.compressedSize]),
                                  at: dataOffset, path: path)
        // Every stored property is set by now, so a throw runs deinit, which frees `compressed` (freeing it here
        // as well was a double free, found by Fuzz/fuzz-npz).
        guard read == entry.compressedSize else {
            throw corrupt("its data ends early (\(read) of \(entry.compressedSize) bytes; the file is truncated)")
        }
        if entry.method == ZipFormat.methodDeflate {
            inflater = Inflater(input: UnsafeRawBufferPointer(rebasing: compressed[..<entry.compressedSize]))
        }
    }

    deinit {
        inflater = nil
        compressed.deallocate()
    }

    /// Reads the next `count` elements of `T`. With `last` (the default) they must be the member's final
    /// bytes, and the CRC is checked.
    func readArray<T: BitwiseCopyable>(of type: T.Type, count: Int, last: Bool = true) throws -> [T] {
        let values = try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try read(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
        if last { try finish() }
        return values
    }

    private func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard produced + buffer.count <= entry.uncompressedSize else {
            throw corrupt("it holds \(entry.uncompressedSize) bytes, fewer than its header promises")
        }
        let filled: Int
        if let inflater {
            do { filled = try inflater.inflate(into: buffer) } catch let failure as ArchiveFailure {
                throw corrupt(failure.reason)
            }
        } else {
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: compressed[storedPosition..<(storedPosition + buffer.count)]))
            storedPosition += buffer.count
            filled = buffer.count
        }
        guard filled == buffer.count else {
            throw corrupt("its data decompresses to \(produced + filled) bytes, but \(entry.uncompressedSize) are recorded")
        }
        crc = crc32Update(crc, UnsafeRawBufferPointer(buffer))
        produced += filled
    }

    /// Checks that the data ends at the recorded size and that its CRC-32 matches the recorded one.
    private func finish() throws {
        guard produced == entry.uncompressedSize else {
            throw corrupt("only \(produced) of its \(entry.uncompressedSize) bytes were read")
        }
        if let inflater, !inflater.ended {
            // The stream must end exactly here: one more byte of output means the recorded size is wrong.
            var extra: UInt8 = 0
            let more: Int
            do { more = try withUnsafeMutableBytes(of: &extra) { try inflater.inflate(into: $0) } } catch let failure as ArchiveFailure {
                throw corrupt(failure.reason)
            }
            guard more == 0, inflater.ended else {
                throw corrupt("its data decompresses to more than the \(entry.uncompressedSize) bytes recorded")
            }
        }
        guard crc == entry.crc else {
            throw corrupt("CRC-32 mismatch (recorded \(hex(entry.crc)), computed \(hex(crc)))")
        }
    }

    private func corrupt(_ reason: String) -> StorageError {
        .corruptMember(path: path, member: entry.name, reason: reason)
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    private static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws -> Int {
        do { return try preadAll(fd, into: buffer, at: offset) } catch let failure as ArchiveFailure {
            throw StorageError.readFailed(path: path, reason: failure.reason)
        }
    }
}
