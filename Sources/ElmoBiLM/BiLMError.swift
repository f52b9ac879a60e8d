import Foundation

/// What can go wrong using a biLM that a user can cause (file-level failures are `StorageError`s).
public enum BiLMError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The checkpoint holds no softmax (a model imported from a bilm-tf / AllenNLP weight file), but `use` needs one.
    case noSoftmax(path: String, use: String, importedFrom: String?)

    public var description: String {
        switch self {
        case .noSoftmax(let path, let use, let importedFrom):
            let origin = importedFrom.map { " (imported from '\($0)')" } ?? ""
            return "'\(path)'\(origin) has no softmax: bilm-tf / AllenNLP weight files do not carry one, so it cannot be "
                + "used for \(use). It can be used with `elmo embed`, `elmo finetune` and `elmo inspect`; for \(use), "
                + "import it again with `--softmax-weights` (bilm-tf's *_softmax_weights.hdf5) and its `--vocab`, or "
                + "pre-train a model with `elmo pretrain`."
        }
    }

    public var errorDescription: String? { description }
}
