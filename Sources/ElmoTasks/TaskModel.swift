import ElmoText
import Foundation

/// A fine-tuned task model as `elmo predict` and `elmo evaluate` use it: loaded from its file whatever its kind,
/// it turns text into the commands' output. A new kind of task model conforms and joins `TaskModels.kinds`.
public protocol TaskModel: AnyObject {
    /// `task.json`'s `kind`.
    static var kind: String { get }
    static func load(_ path: String) throws -> Self
    /// `elmo predict`'s output for sentences (none empty), in order; sentences longer than `options.maxLength` are
    /// handled as `options.overlong` says (`error` is the caller's check).
    func predictionText(_ sentences: [[String]], options: TaskPredictionOptions) throws -> String
    /// `elmo evaluate`'s output for a labelled file, and the warnings to show beside it.
    func evaluationText(_ request: TaskEvaluationRequest) throws -> (text: String, warnings: [String])
}

/// How `elmo predict` prints.
public struct TaskPredictionOptions {
    public var batchSize: Int
    /// Batches filled up to this many padded tokens instead of `batchSize` sentences.
    public var maxBatchTokens: Int?
    /// Classifiers: every class's probability after the label's.
    public var probabilities: Bool
    /// Longer sentences are truncated or split into windows of this many tokens, as `overlong` says.
    public var maxLength: Int
    public var overlong: OverlongPolicy

    public init(batchSize: Int, maxBatchTokens: Int? = nil, probabilities: Bool = false, maxLength: Int = .max,
                overlong: OverlongPolicy = .error) {
        self.batchSize = batchSize
        self.maxBatchTokens = maxBatchTokens
        self.probabilities = probabilities
        self.maxLength = maxLength
        self.overlong = overlong
    }
}

/// What `elmo evaluate` was asked to do.
public struct TaskEvaluationRequest {
    /// The labelled file.
    public var data: String
    public var json: Bool
    public var batchSize: Int
    /// Batches filled up to this many padded tokens instead of `batchSize` sentences.
    public var maxBatchTokens: Int?
    /// Classifiers: what a label the model does not know does (taggers warn and count unknown tags as wrong).
    public var unknownLabels: UnknownLabelPolicy
    /// Classifiers: how to read `data`, given how the training data was read (the command's overrides).
    public var classificationData: (ClassificationDataSettings) -> ClassificationDataSettings

    public init(data: String, json: Bool = false, batchSize: Int = 32, maxBatchTokens: Int? = nil,
                unknownLabels: UnknownLabelPolicy = .error,
                classificationData: @escaping (ClassificationDataSettings) -> ClassificationDataSettings = { $0 }) {
        self.data = data
        self.json = json
        self.batchSize = batchSize
        self.maxBatchTokens = maxBatchTokens
        self.unknownLabels = unknownLabels
        self.classificationData = classificationData
    }
}

/// The kinds of task model, for loading one whose kind the caller does not know.
public enum TaskModels {
    public static let kinds: [any TaskModel.Type] = [ClassifierModel.self, TaggerModel.self]

    /// The kind of task model at `path` (a file or run folder); anything else is refused naming what it is.
    public static func type(of path: String) throws -> any TaskModel.Type {
        let kind = try TaskCheckpoint.kind(of: path)
        guard let type = kinds.first(where: { $0.kind == kind }) else {
            throw TaskError.wrongTaskKind(path: path, expected: kinds.map { $0.kind }.joined(separator: " or "), found: kind)
        }
        return type
    }
}

/// Sorted keys, one line: the JSON `elmo evaluate --json` prints.
func evaluationJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
}

extension ClassifierModel: TaskModel {
    /// `label<TAB>probability` per sentence; with `probabilities` then `<TAB>label=probability` for every class.
    /// A sentence over `maxLength` is classified on its first `maxLength` tokens (`--overlong truncate`); one label
    /// per line cannot be joined from windows, so `split` is refused.
    public func predictionText(_ sentences: [[String]], options: TaskPredictionOptions) throws -> String {
        if options.overlong == .split { throw TaskError.splitNeedsTokenOutputs }
        let sentences = sentences.map { options.overlong.pieces($0, maxLength: options.maxLength)[0] }
        var out = ""
        for prediction in predict(sentences, batchSize: options.batchSize, maxBatchTokens: options.maxBatchTokens) {
            out += prediction.label + "\t" + String(format: "%.4f", prediction.probability)
            if options.probabilities {
                for (label, p) in zip(labels, prediction.probabilities) { out += "\t\(label)=" + String(format: "%.4f", p) }
            }
            out += "\n"
        }
        return out
    }

    /// The classification report's table (or JSON); the data is read as the training data was unless overridden.
    public func evaluationText(_ request: TaskEvaluationRequest) throws -> (text: String, warnings: [String]) {
        let examples = try request.classificationData(classifier.options.data).read(path: request.data)
        let warning = try ClassificationDataSettings.checkLabels(examples, known: labels, path: request.data, policy: request.unknownLabels)
        let report = evaluate(examples, batchSize: request.batchSize, maxBatchTokens: request.maxBatchTokens)
        return (request.json ? try evaluationJSON(report) : report.table, warning.map { [$0] } ?? [])
    }
}

extension TaggerModel: TaskModel {
    /// CoNLL text: `token TAB predicted tag` per line, a blank line after each sentence. A sentence over
    /// `maxLength` is tagged on its first `maxLength` tokens (truncate), or window by window with the windows' tags
    /// joined (split).
    public func predictionText(_ sentences: [[String]], options: TaskPredictionOptions) throws -> String {
        let pieces = sentences.map { options.overlong.pieces($0, maxLength: options.maxLength) }
        var tags = predict(pieces.flatMap { $0 }, batchSize: options.batchSize, maxBatchTokens: options.maxBatchTokens)[...]
        let joined: [[String]] = pieces.map { windows in
            defer { tags = tags.dropFirst(windows.count) }
            return tags.prefix(windows.count).flatMap { $0 }
        }
        return Self.conll(tokens: pieces.map { $0.flatMap { $0 } }, tags: joined)
    }

    /// conlleval's table (for chunk tags) and the token accuracy, or the `TaggerEvaluation` as JSON; the data is read
    /// as the training data was (format, columns, UPOS/XPOS) and checked against the tag scheme; a warning names tags
    /// the model never saw (they count as wrong).
    public func evaluationText(_ request: TaskEvaluationRequest) throws -> (text: String, warnings: [String]) {
        let gold = try readGold(path: request.data)
        let warnings = unknownTagWarning(gold, path: request.data).map { [$0] } ?? []
        let evaluation = evaluate(gold, batchSize: request.batchSize, maxBatchTokens: request.maxBatchTokens).evaluation
        if request.json { return (try evaluationJSON(evaluation), warnings) }
        let text = (evaluation.spans?.conllevalTable ?? "")
            + String(format: "token accuracy: %.2f%% (%d of %d tokens)\n", 100 * evaluation.accuracy, evaluation.correctTokens,
                     evaluation.tokens)
        return (text, warnings)
    }
}
