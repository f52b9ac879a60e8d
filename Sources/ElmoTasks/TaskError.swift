import ElmoText
import Foundation

/// What a user can get wrong when fine-tuning, saving, loading or applying a task model. Every message names the
/// file, line or key and says what to do (errors about the data files themselves are `TextError`s, about the
/// checkpoint archive `StorageError`s).
public enum TaskError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// A dev/test example's label was never seen in training (with `--unknown-label error`).
    case unknownLabel(path: String, line: Int, label: String, known: [String])
    /// The training data has fewer than two distinct labels: there is nothing to classify.
    case tooFewLabels(path: String, labels: [String])
    /// A task model's `task.json` names a kind this command cannot use (e.g. a tagger given to a classifier API).
    case wrongTaskKind(path: String, expected: String, found: String)
    /// The biLM a frozen task model refers to is no longer at its path.
    case bilmNotFound(model: String, bilm: String)
    /// The biLM file at the referenced path differs from the one the task model was trained on.
    case bilmChanged(model: String, bilm: String, expectedCRC: UInt32, foundCRC: UInt32)
    /// A task model's `task.json` is unreadable or lacks a key.
    case invalidManifest(path: String, reason: String)
    /// An option value that cannot work (e.g. `--pooling mean` with the CNN encoder, which max-pools itself).
    case invalidOption(name: String, value: String, reason: String)

    /// A tag is not of the forms the tag scheme allows (e.g. `X-PER` in BIO).
    case invalidTag(path: String, line: Int, token: String, tag: String, scheme: TagScheme)
    /// `--metric f1` on tags that have no chunk scheme (plain POS-like tags).
    case spanMetricWithoutScheme(path: String, example: String)

    /// `--overlong split` for a model that gives one output per sentence (a classifier).
    case splitNeedsTokenOutputs

    public var description: String {
        switch self {
        case .splitNeedsTokenOutputs:
            return "--overlong split joins per-token outputs, but a classifier gives one label per line; use --overlong truncate (or error)."
        case let .unknownLabel(path, line, label, known):
            return "\(path):\(line): label '\(label)' does not occur in the training data (labels: "
                + "\(known.map { "'\($0)'" }.joined(separator: ", "))); fix the label, or pass --unknown-label warn to count such "
                + "examples as wrong."
        case let .tooFewLabels(path, labels):
            return "\(path): the training data has \(labels.count) distinct label\(labels.count == 1 ? "" : "s") "
                + "(\(labels.map { "'\($0)'" }.joined(separator: ", "))); a classifier needs at least two. "
                + "Check --label-column."
        case let .wrongTaskKind(path, expected, found):
            return "'\(path)' is a \(found) model, but a \(expected) model is needed here. Check which model you passed."
        case let .bilmNotFound(model, bilm):
            return "The task model '\(model)' was trained on the frozen biLM '\(bilm)', which is no longer there. "
                + "Put the biLM checkpoint back at that path (a frozen task model stores only a reference to it)."
        case let .bilmChanged(model, bilm, expectedCRC, foundCRC):
            return "The task model '\(model)' was trained on the biLM '\(bilm)' with CRC-32 "
                + "\(Self.hex(expectedCRC)), but that file now has CRC-32 \(Self.hex(foundCRC)): it was replaced or "
                + "modified. Restore the original checkpoint, or fine-tune the task model again."
        case let .invalidManifest(path, reason):
            return "'\(path)': member task.json \(reason). The file may be damaged or written by another version."
        case let .invalidOption(name, value, reason):
            return "--\(name) \(value): \(reason)"
        case let .invalidTag(path, line, token, tag, scheme):
            return "\(path):\(line): token '\(token)' has the tag '\(tag)', which is not a \(scheme.rawValue) tag "
                + "(\(scheme.rawValue) allows \(scheme.tagForms)). Fix the tag, or pass the --scheme the data uses."
        case let .spanMetricWithoutScheme(path, example):
            return "\(path): --metric f1 needs chunk tags (O, B-TYPE, I-TYPE, …), but tags such as '\(example)' are not; "
                + "pass --scheme if the data is chunked, or use --metric accuracy."
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    public var errorDescription: String? { description }
}
