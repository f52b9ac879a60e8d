import Foundation

/// What a user can get wrong configuring, pre-training, adapting or using a biLM; each message says what to do.
/// (File-level failures are `StorageError`s, text and vocabulary problems `TextError`s.)
public enum BiLMError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The checkpoint holds no softmax (a model imported from a bilm-tf / AllenNLP weight file), but `use` needs one.
    case noSoftmax(path: String, use: String, importedFrom: String?)
    /// A config file or value that cannot be used (`key` empty for the file as a whole).
    case invalidConfig(path: String, key: String, reason: String)
    case nothingToResume(String)
    case runFolderNotEmpty(String)
    case corpusTooSmall(pairs: Int, batchSize: Int, unroll: Int)
    case diverged(step: Int, loss: Double)
    /// `--resume` under `mpirun`: rank 0 could not read the checkpoint it was to send to the other ranks.
    case resumeCheckpointNotReceived(rank: Int)
    /// The checkpoint's carried LSTM states are not for the model's batch of `batchSize` rows.
    case checkpointStatesMismatch(path: String, rows: Int, batchSize: Int)
    case resumeMismatch(folder: String, what: String, stored: String, given: String)
    case foreignFolder(folder: String, files: [String])
    case vocabularyFileNeedsReplace(mode: VocabularyMode)
    case allUnknown(files: [String], tokens: Int, mode: VocabularyMode)
    case architectureChanged(key: String, source: String, config: String, checkpoint: String)

    public var description: String {
        switch self {
        case .noSoftmax(let path, let use, let importedFrom):
            let origin = importedFrom.map { " (imported from '\($0)')" } ?? ""
            return "'\(path)'\(origin) has no softmax: bilm-tf / AllenNLP weight files do not carry one, so it cannot be "
                + "used for \(use). It can be used with `elmo embed`, `elmo finetune` and `elmo inspect`; for \(use), "
                + "import it again with `--softmax-weights` (bilm-tf's *_softmax_weights.hdf5) and its `--vocab`, or "
                + "pre-train a model with `elmo pretrain`."
        case let .invalidConfig(path, key, reason): return "Config \(path): \(key.isEmpty ? "the file" : "key '\(key)'") \(reason)."
        case .nothingToResume(let p): return "--resume: \(p) holds no checkpoint (no `latest` file). Start without --resume."
        case .runFolderNotEmpty(let p): return "\(p) already holds a run (a `latest` checkpoint). Pass --resume to continue it, or choose another --output."
        case let .corpusTooSmall(pairs, b, t): return "The training text gives \(pairs) token pairs, too few for batch \(b) (each of the \(b) rows needs at least 2). Add text or lower batch_size (unroll \(t))."
        case let .resumeCheckpointNotReceived(rank):
            return "--resume: rank \(rank) got no checkpoint from rank 0, which could not read its run folder's latest checkpoint (rank 0's error says why)."
        case let .checkpointStatesMismatch(path, rows, batchSize):
            return "\(path) holds LSTM states of \(rows) rows, but its model's batch_size is \(batchSize); the checkpoint cannot be resumed. Resume from an earlier checkpoint of the run."
        case let .diverged(step, loss): return "Training diverged at step \(step) (loss \(loss)). Lower the learning rate or the gradient clip."
        case let .resumeMismatch(folder, what, stored, given):
            return "--resume: the run in \(folder) was started with \(what) \(stored), this command gives \(what) \(given). Resume with the run's \(what), or start a new run in another --output."
        case let .foreignFolder(folder, files):
            return "\(folder) is not empty and is not a pre-training run folder (it holds \(files.prefix(5).joined(separator: ", "))\(files.count > 5 ? ", …" : "")). Choose a new or empty --output; nothing was changed."
        case .vocabularyFileNeedsReplace(let mode):
            return "--vocab with --init-from gives the adapted model a new vocabulary, which is --vocab-mode replace, not \(mode.rawValue). Drop --vocab, or pass --vocab-mode replace."
        case let .allUnknown(files, tokens, mode):
            return "Every one of the \(tokens) tokens of \(files.joined(separator: ", ")) is outside the vocabulary (--vocab-mode \(mode.rawValue)), so the model would learn only <UNK>. Use --vocab-mode extend or replace, raise --max-vocab, or check that this is the right text."
        case let .architectureChanged(key, source, config, checkpoint):
            return "--init-from: the architecture key '\(key)' is \(source) in \(checkpoint) but \(config) in --config; an adapted model keeps the source's architecture. Set '\(key)' to \(source) (only training keys such as learning_rate, dropout, optimizer, batch_size, unroll_steps and n_negative_samples_batch may change), or drop --config to use the checkpoint's options."
        }
    }

    public var errorDescription: String? { description }
}
