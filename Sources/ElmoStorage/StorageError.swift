import Foundation

/// Everything that can go wrong reading or writing a file of ELMoKit's (a checkpoint or other `.npz` archive, a run
/// folder, any input file) that a user can cause: a missing, truncated, corrupted or foreign file, a full disk, or a
/// folder another process is writing.
///
/// Each message names the file (and member) and says what to do; a corrupted file is always refused, never
/// partially loaded.
public enum StorageError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// No file at this path.
    case fileNotFound(String)
    /// The file exists but is not a ZIP archive (no ZIP signature at all).
    case notAZip(path: String)
    /// The archive's structure (end record, central directory) is damaged, truncated or uses an unsupported
    /// ZIP feature (ZIP64, encryption, multi-disk).
    case corruptArchive(path: String, reason: String)
    /// One member fails to decompress, has the wrong length or CRC32, or has an unreadable `.npy` header.
    case corruptMember(path: String, member: String, reason: String)
    /// A member the caller needs is not in the archive.
    case missingMember(path: String, member: String)
    /// An `.npy` member holds a dtype the caller cannot use (e.g. `'<f8'` where `'<f4'` is expected).
    case badDType(member: String, found: String)
    /// A tensor's shape differs from the one the model expects.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// A format version (e.g. of `trainer.json`) this build does not understand.
    case unsupportedVersion(found: Int, supported: Int)
    /// The file is a valid archive of another kind (e.g. an embedding export where a checkpoint is expected).
    case wrongKind(path: String, expected: String, found: String)
    /// Opening or reading the file failed at the operating-system level (permissions, I/O error).
    case readFailed(path: String, reason: String)
    /// Creating, writing, syncing or renaming the file failed; an existing file at `path` is left untouched.
    case writeFailed(path: String, reason: String)
    /// Another process holds the lock of the output folder or file `output` (`pid` when it could be read).
    case locked(output: String, pid: Int32?)
    /// The lock file for `output` cannot be created or locked.
    case cannotLock(output: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "No file at '\(path)'. Check the path (where a checkpoint is expected, a run folder holding best.npz also works)."
        case .notAZip(let path):
            return "'\(path)' is not a ZIP/.npz archive (no ZIP signature). Pass a checkpoint written by `elmo` "
                + "or by numpy's savez/savez_compressed."
        case .corruptArchive(let path, let reason):
            return "The archive '\(path)' is damaged: \(reason). Re-copy it, or use an earlier checkpoint."
        case .corruptMember(let path, let member, let reason):
            return "Member '\(member)' of '\(path)' is corrupted: \(reason). The file was not loaded; re-copy it, "
                + "or use an earlier checkpoint."
        case .missingMember(let path, let member):
            return "'\(path)' has no member '\(member)'. It may be from another tool or an older version; "
                + "list its members with `python3 -c \"import numpy; print(numpy.load('\(path)').files)\"`."
        case .badDType(let member, let found):
            return "Member '\(member)' has dtype '\(found)', which cannot be used here (tensors must be '<f4' or "
                + "'<f2', integer arrays '<i8'/'<i4' or '<u8'). Convert it with numpy's astype and save again."
        case .shapeMismatch(let name, let expected, let found):
            return "Tensor '\(name)' has shape \(found), but the model expects \(expected). The checkpoint was "
                + "written for a different model configuration; check its config.json."
        case .unsupportedVersion(let found, let supported):
            return "The checkpoint format version is \(found), but this build reads version \(supported) and "
                + "older. Use a newer `elmo` build, or re-export the checkpoint."
        case .wrongKind(let path, let expected, let found):
            return "'\(path)' is a \(found), but a \(expected) is needed here. Check which file you passed."
        case .readFailed(let path, let reason):
            return "Could not read '\(path)': \(reason). Check the file's permissions and the disk."
        case .writeFailed(let path, let reason):
            return "Could not write '\(path)': \(reason). Check free space and permissions; any earlier file at "
                + "that path is left as it was."
        case let .locked(output, pid):
            return "\(output) is being written by another process (PID \(pid.map(String.init) ?? "unknown")). Wait for it to end, "
                + "or choose another --output."
        case let .cannotLock(output, reason):
            return "Cannot lock \(output) for writing: \(reason)."
        }
    }

    public var errorDescription: String? { description }
}
