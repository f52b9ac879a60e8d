#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An exclusive lock on an output (a run folder, or a file being written), so that two processes never write one
/// run: `flock(2)` on a lock file holding the owner's PID. The kernel drops the lock when its process ends, however
/// it ends, so the lock file of a killed process is simply taken over by the next writer. The file is removed when
/// the lock is released.
public final class RunLock {
    public let path: String
    private var descriptor: Int32

    /// Takes the lock file `path` (created if missing); throws `StorageError.locked` naming the holder's PID.
    public init(path: String, output: String) throws {
        self.path = path
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw StorageError.cannotLock(output: output, reason: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let reason = errno
                let holder = Self.pid(in: fd)
                close(fd)
                if reason == EWOULDBLOCK { throw StorageError.locked(output: output, pid: holder) }
                throw StorageError.cannotLock(output: output, reason: String(cString: strerror(reason)))
            }
            // The previous holder may have removed the file between our open and flock: then we locked an
            // unlinked file nobody else will see, so start over on the current one.
            var opened = stat(), current = stat()
            if fstat(fd, &opened) == 0, stat(path, &current) == 0, opened.st_ino == current.st_ino, opened.st_dev == current.st_dev {
                descriptor = fd
                break
            }
            close(fd)
        }
        let text = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    /// The lock file of the run folder `folder`.
    public static func forFolder(_ folder: String) throws -> RunLock {
        try shared(path: (folder as NSString).appendingPathComponent(".lock"), output: folder)
    }

    /// The lock file beside the output file `file` (`.<name>.lock` in its folder).
    public static func forFile(_ file: String) throws -> RunLock {
        let folder = (file as NSString).deletingLastPathComponent
        let lock = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(".\((file as NSString).lastPathComponent).lock")
        return try shared(path: lock, output: file)
    }

    /// Locks this process holds, by absolute lock-file path: a second `RunFolder` on the same folder in one process
    /// (a library user resuming a run while the first `Pretrainer` is still alive) shares the lock instead of being
    /// refused by its own flock.
    private static var held: [String: WeakLock] = [:]
    private static let heldGuard = NSLock()

    private struct WeakLock { weak var lock: RunLock? }

    private static func shared(path: String, output: String) throws -> RunLock {
        let key = URL(fileURLWithPath: path).standardizedFileURL.path
        heldGuard.lock()
        defer { heldGuard.unlock() }
        if let existing = held[key]?.lock, existing.descriptor >= 0 { return existing }
        let lock = try RunLock(path: path, output: output)
        held[key] = WeakLock(lock: lock)
        return lock
    }

    private static func pid(in fd: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &bytes, bytes.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: bytes[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Removes the lock file and releases the lock (unlink first, so no one locks the file we are leaving).
    public func release() {
        guard descriptor >= 0 else { return }
        unlink(path)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
