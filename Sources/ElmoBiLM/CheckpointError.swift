/// Everything that can go wrong reading or writing a checkpoint (`.npz` archive) that a user can cause:
/// a missing, truncated, corrupted or foreign file, or a full disk.
///
/// Each message names the file and member and says what to do; a corrupted file is always refused, never
/// partially loaded.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
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
    /// The checkpoint holds no softmax (a model imported from a bilm-tf / AllenNLP weight file), but `use` needs one.
    case noSoftmax(path: String, use: String, importedFrom: String?)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "No checkpoint file at '\(path)'. Check the path, or pass the run folder that holds best.npz."
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
        case .noSoftmax(let path, let use, let importedFrom):
            let origin = importedFrom.map { " (imported from '\($0)')" } ?? ""
            return "'\(path)'\(origin) has no softmax: bilm-tf / AllenNLP weight files do not carry one, so it cannot be "
                + "used for \(use). It can be used with `elmo embed`, `elmo finetune` and `elmo inspect`; for \(use), "
                + "import it again with `--softmax-weights` (bilm-tf's *_softmax_weights.hdf5) and its `--vocab`, or "
                + "pre-train a model with `elmo pretrain`."
        }
    }
}
