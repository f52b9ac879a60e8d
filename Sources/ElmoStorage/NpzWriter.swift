import ElmoTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a numpy-compatible `.npz` (a ZIP archive of `NAME.npy` members plus raw members such as
/// `config.json`), atomically: everything goes to a temporary file in the destination's folder, which
/// `finish()` syncs and renames over `path`. A writer dropped before `finish()` removes its temporary file,
/// so a crash or an error never leaves a partial checkpoint under the real name.
///
/// Members are deflated (raw zlib stream, CRC-32 per member) at `compressionLevel`: 1 by default, because
/// trained float weights barely compress (~7 % at level 6) and level 1 is several times faster; `.npy` members
/// are Huffman-coded only (no string matching, which finds nothing in floats); 0 stores members uncompressed like
/// `np.savez`. Timestamps are fixed (1980-01-01), so equal content gives equal files.
/// Archives are limited to 4 GiB and 65,535 members (no ZIP64). Assumes a little-endian host.
public final class NpzWriter {
    /// The final path; nothing exists there from this writer until `finish()` returns.
    public let path: String
    public let compressionLevel: Int32
    /// Where the archive is written until `finish()` renames it.
    public let temporaryPath: String
    private var fd: Int32
    private var offset = 0
    private var centralDirectory: [UInt8] = []
    private var memberCount = 0
    private var names = Set<String>()
    /// For raw members (JSON, text) and for `.npy` arrays (Huffman only, see `Deflater`); nil when storing.
    private let deflater: Deflater?
    private let arrayDeflater: Deflater?
    private var finished = false
    /// The first write error; the archive is unusable after it, so every later call rethrows it.
    private var writeError: StorageError?

    /// Creates the temporary file next to `path`. `compressionLevel` is 0 (stored) … 9.
    public init(path: String, compressionLevel: Int32 = 1) throws {
        precondition((0...9).contains(compressionLevel), "compressionLevel must be 0…9, but is \(compressionLevel).")
        self.path = path
        self.compressionLevel = compressionLevel
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        // Hidden and not ending in .npz, so globs for checkpoints never pick up an unfinished file.
        temporaryPath = "\(folder).\(base).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw StorageError.writeFailed(path: path,
                                              reason: "cannot create the temporary file '\(temporaryPath)' (\(errnoText()))")
        }
        deflater = compressionLevel > 0 ? Deflater(level: compressionLevel) : nil
        arrayDeflater = compressionLevel > 0 ? Deflater(level: compressionLevel, huffmanOnly: true) : nil
    }

    deinit {
        if !finished {
            if fd >= 0 { close(fd) }
            unlink(temporaryPath)
        }
    }

    /// Adds `"\(name).npy"`: `tensor` as `'<f4'` with its shape.
    public func add(_ name: String, tensor: Tensor) throws {
        let header = NpyFormat.encodeHeader(dtype: .float32, shape: tensor.shape)
        try tensor.scalars.withUnsafeBytes { try addMember("\(name).npy", header: header, body: $0) }
    }

    /// Adds `"\(name).npy"`: `tensor` rounded to `'<f2'` (half the size, for exported embeddings).
    public func add(_ name: String, float16 tensor: Tensor) throws {
        let header = NpyFormat.encodeHeader(dtype: .float16, shape: tensor.shape)
        let halves = tensor.scalars.map { Float16($0) }
        try halves.withUnsafeBytes { try addMember("\(name).npy", header: header, body: $0) }
    }

    /// Adds `"\(name).npy"`: `int64` as `'<i8'` with `shape`.
    public func add(_ name: String, int64: [Int64], shape: [Int]) throws {
        precondition(shape.reduce(1, *) == int64.count, "Shape \(shape) holds \(shape.reduce(1, *)) elements, but \(int64.count) were given for '\(name)'.")
        let header = NpyFormat.encodeHeader(dtype: .int64, shape: shape)
        try int64.withUnsafeBytes { try addMember("\(name).npy", header: header, body: $0) }
    }

    /// Adds `"\(name).npy"`: `uint64` as `'<u8'` with `shape` (e.g. random-generator state).
    public func add(_ name: String, uint64: [UInt64], shape: [Int]) throws {
        precondition(shape.reduce(1, *) == uint64.count, "Shape \(shape) holds \(shape.reduce(1, *)) elements, but \(uint64.count) were given for '\(name)'.")
        let header = NpyFormat.encodeHeader(dtype: .uint64, shape: shape)
        try uint64.withUnsafeBytes { try addMember("\(name).npy", header: header, body: $0) }
    }

    /// Adds a raw member under exactly `name` (e.g. `"config.json"`); numpy returns it as `bytes`.
    public func add(_ name: String, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try addMember(name, header: [], body: $0) }
    }

    /// Writes the central directory, syncs the file, renames it to `path` and syncs the folder, so the
    /// new archive survives a power cut once this returns.
    public func finish() throws {
        precondition(!finished, "NpzWriter.finish() called twice for '\(path)'.")
        if let writeError { throw writeError }
        let directoryOffset = offset
        var end = centralDirectory
        end.appendLE(ZipFormat.endRecordSignature)
        end.appendLE(UInt16(0))                   // this disk
        end.appendLE(UInt16(0))                   // disk where the central directory starts
        end.appendLE(UInt16(memberCount))         // entries on this disk
        end.appendLE(UInt16(memberCount))         // entries in total
        end.appendLE(UInt32(centralDirectory.count))
        end.appendLE(UInt32(directoryOffset))
        end.appendLE(UInt16(0))                   // comment length
        try end.withUnsafeBytes { try write($0) }
        if fsync(fd) != 0 { throw failure("fsync failed (\(errnoText()))") }
        let closed = close(fd)
        fd = -1
        if closed != 0 { throw failure("close failed (\(errnoText()))") }
        if rename(temporaryPath, path) != 0 { throw failure("renaming '\(temporaryPath)' failed (\(errnoText()))") }
        finished = true
        // The rename lives in the folder's metadata; sync the folder too. Best effort: some file systems
        // refuse fsync on directories, and the archive itself is already complete.
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let dirFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// One member: local header (patched once CRC and sizes are known), then `header` + `body`, stored
    /// or deflated as one stream.
    private func addMember(_ name: String, header: [UInt8], body: UnsafeRawBufferPointer) throws {
        precondition(!finished, "NpzWriter for '\(path)' is finished; cannot add '\(name)'.")
        precondition(!name.isEmpty && name.utf8.count <= Int(UInt16.max) && names.insert(name).inserted,
                     "Member name '\(name)' is empty, too long or used twice in '\(path)'.")
        if let writeError { throw writeError }
        guard memberCount < Int(UInt16.max) else {
            throw failure("more than 65,535 members needs ZIP64, which is not supported; merge small tensors")
        }
        let nameBytes = Array(name.utf8)
        let flags = name.utf8.allSatisfy { $0 < 0x80 } ? 0 : ZipFormat.flagUTF8Name
        let method = deflater == nil ? ZipFormat.methodStored : ZipFormat.methodDeflate
        let localOffset = offset
        let uncompressedSize = header.count + body.count

        var crc = header.withUnsafeBytes { crc32Update(0, $0) }
        crc = crc32Update(crc, body)
        var fields = Self.fields(flags: flags, method: method, crc: 0, compressed: 0, uncompressed: 0, name: nameBytes)
        try (Self.localPrefix(fields) + nameBytes).withUnsafeBytes { try write($0) }
        let dataStart = offset
        if let deflater = name.hasSuffix(".npy") ? arrayDeflater : deflater {
            deflater.reset()
            try header.withUnsafeBytes { try deflater.compress($0, finish: false, sink: write) }
            try deflater.compress(body, finish: true, sink: write)
        } else {
            try header.withUnsafeBytes { try write($0) }
            try write(body)
        }
        let compressedSize = offset - dataStart
        guard offset <= ZipFormat.maxField, uncompressedSize <= ZipFormat.maxField else {
            throw failure("the archive passes 4 GiB at member '\(name)', which needs ZIP64 (not supported); "
                          + "store fewer or smaller tensors per file")
        }
        fields = Self.fields(flags: flags, method: method, crc: crc, compressed: compressedSize,
                             uncompressed: uncompressedSize, name: nameBytes)
        if let error = pwriteAll(fd, Self.localPrefix(fields), at: localOffset) {
            throw failure("writing the header of '\(name)' failed (\(error))")
        }
        centralDirectory.appendLE(ZipFormat.centralHeaderSignature)
        centralDirectory.appendLE(ZipFormat.versionMadeBy)
        centralDirectory += fields
        centralDirectory.appendLE(UInt16(0))      // file comment length
        centralDirectory.appendLE(UInt16(0))      // disk number start
        centralDirectory.appendLE(UInt16(0))      // internal attributes
        centralDirectory.appendLE(ZipFormat.externalAttributes)
        centralDirectory.appendLE(UInt32(localOffset))
        centralDirectory += nameBytes
        memberCount += 1
    }

    /// The 26 bytes shared by local and central headers: version needed … extra-field length.
    private static func fields(flags: UInt16, method: UInt16, crc: UInt32, compressed: Int, uncompressed: Int,
                               name: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(26)
        out.appendLE(ZipFormat.versionNeeded)
        out.appendLE(flags)
        out.appendLE(method)
        out.appendLE(ZipFormat.dosTime)
        out.appendLE(ZipFormat.dosDate)
        out.appendLE(crc)
        out.appendLE(UInt32(truncatingIfNeeded: compressed))
        out.appendLE(UInt32(truncatingIfNeeded: uncompressed))
        out.appendLE(UInt16(name.count))
        out.appendLE(UInt16(0))                   // extra-field length
        return out
    }

    private static func localPrefix(_ fields: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(ZipFormat.localHeaderSignature)
        return out + fields
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let error = writeAll(fd, bytes) { throw failure("writing failed (\(error))") }
        offset += bytes.count
    }

    /// Records the first failure (see `writeError`) and returns it for throwing.
    private func failure(_ reason: String) -> StorageError {
        let error = StorageError.writeFailed(path: path, reason: reason)
        if writeError == nil { writeError = error }
        return error
    }
}
