import Foundation

/// A training run's folder: `checkpoint-<step>.npz` files (the last K kept), `best.npz`, a `latest` pointer
/// (replaced atomically), `metrics.jsonl` and the learning-curve plot.
public struct RunFolder {
    public let path: String
    public let keepLast: Int

    /// This process's exclusive hold on the folder (released when the last copy of the `RunFolder` goes).
    public let lock: RunLock

    /// Creates the folder if needed and locks it (`StorageError.locked` names the PID of another writer).
    public init(path: String, keepLast: Int = 3) throws {
        self.path = path
        self.keepLast = max(1, keepLast)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StorageError.writeFailed(path: path, reason: "cannot create the run folder (\(error.localizedDescription))")
        }
        lock = try RunLock.forFolder(path)
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    public var metricsPath: String { file("metrics.jsonl") }
    public var plotPath: String { file("learning-curve.svg") }
    public var bestPath: String { file("best.npz") }

    /// Saves through `write` (which must write atomically to the path it is given) as `checkpoint-<step>.npz`,
    /// points `latest` at it, copies it to `best.npz` when `isBest`, and removes checkpoints beyond the last K.
    public func saveCheckpoint(step: Int, isBest: Bool, write: (String) throws -> Void) throws {
        let name = "checkpoint-\(step).npz"
        try write(file(name))
        if isBest { try write(bestPath) }
        try Self.writeAtomically(Data((name + "\n").utf8), to: file("latest"))
        let steps = checkpointSteps().sorted()
        for old in steps.dropLast(keepLast) { try? FileManager.default.removeItem(atPath: file("checkpoint-\(old).npz")) }
    }

    /// Steps of the `checkpoint-<step>.npz` files present.
    public func checkpointSteps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".npz") else { return nil }
            return Int(name.dropFirst("checkpoint-".count).dropLast(".npz".count))
        }
    }

    /// Removes the hidden temporary files (`.<name>.<pid>.<…>.tmp`, see `NpzWriter` and `writeAtomically`) that a
    /// killed process left behind; files of a process that is still alive are kept. Returns the names removed.
    @discardableResult
    public func removeAbandonedTemporaryFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { name in
            guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return false }
            let fields = name.dropLast(".tmp".count).split(separator: ".")
            guard let pid = fields.compactMap({ Int32($0) }).first, pid > 0 else { return false }
            return !Self.processIsAlive(pid) && unlink(file(name)) == 0
        }
    }

    /// Whether process `pid` still exists (signal 0 probes without sending; EPERM means it exists but is not ours),
    /// so that the temporary files of a live writer are never taken for a killed one's.
    public static func processIsAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// Hidden temp file in the same folder, fsync, rename: a reader never sees a partial file, and a killed
    /// writer leaves only a dot-file (`removeAbandonedTemporaryFiles` cleans it up).
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temp = (folder as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).\(getpid()).tmp")
        // POSIX calls, not `FileManager.createFile`: that writes through a temporary file of its own
        // (`.dat.nosync…`), which a kill would leave behind under a name we do not recognise.
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: "cannot create \(temp): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard written && synced else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw StorageError.writeFailed(path: path, reason: "cannot write \(temp): \(reason)")
        }
        guard rename(temp, path) == 0 else {
            unlink(temp)
            throw StorageError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
