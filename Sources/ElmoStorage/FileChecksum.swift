import Foundation

/// CRC-32 (the ZIP polynomial, as `zlib.crc32` and `cksum -o 3` compute it) of a whole file, read in 4 MiB pieces:
/// how a task model names the exact biLM checkpoint it was trained on.
public enum FileChecksum {
    public static func crc32(path: String) throws -> UInt32 {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StorageError.fileNotFound(path)
        }
        defer { try? handle.close() }
        var crc: UInt32 = 0
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 4 << 20) ?? Data()
            } catch {
                throw StorageError.readFailed(path: path, reason: error.localizedDescription)
            }
            if chunk.isEmpty { return crc }
            crc = chunk.withUnsafeBytes { crc32Update(crc, $0) }
        }
    }
}
