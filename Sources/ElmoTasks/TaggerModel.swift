import ElmoBiLM
import ElmoTensor
import ElmoText
import Foundation

/// A trained tagger with the features it was trained on: what `elmo finetune tagger` writes and `elmo predict` /
/// `elmo evaluate` read back (a task model of kind `"tagger"`, see `TaskCheckpoint`; its `task.json` holds the
/// tag set, the scheme and how the data was read).
public final class TaggerModel {
    public static let kind = "tagger"

    public let tagger: Tagger
    public let features: TaskFeatures
    public let manifest: TaskManifest<TaggerOptions>

    public init(tagger: Tagger, features: TaskFeatures, manifest: TaskManifest<TaggerOptions>) {
        precondition(manifest.labels == tagger.labels && manifest.mode == features.mode,
                     "TaggerModel: the manifest (\(manifest.labels), \(manifest.mode)) does not describe the tagger "
                        + "(\(tagger.labels)) and features (\(features.mode)).")
        self.tagger = tagger
        self.features = features
        self.manifest = manifest
    }

    public var options: TaggerOptions { tagger.options }

    /// Writes the model (atomically).
    public func save(to path: String) throws {
        try TaskCheckpoint.save(manifest: manifest, head: tagger.parameters, features: features, to: path)
    }

    /// Loads a tagger model (a file, or a run folder meaning its `best.npz`); a classifier model or a biLM
    /// checkpoint is refused, naming what it is.
    public static func load(_ path: String) throws -> TaggerModel {
        let (reader, file, _) = try TaskCheckpoint.open(path)
        let manifest = try TaskCheckpoint.manifest(reader, file: file, kind: kind, as: TaggerOptions.self)
        guard !manifest.labels.isEmpty && Set(manifest.labels).count == manifest.labels.count else {
            throw TaskError.invalidManifest(path: file, reason: "has tags \(manifest.labels); a tagger needs one or more distinct ones")
        }
        let features = try TaskCheckpoint.loadFeatures(manifest, reader: reader, file: file)
        let tagger = Tagger(options: manifest.options, labels: manifest.labels, mixtureSize: features.mixtureSize,
                            inputSize: features.dimension, seed: manifest.training.seed)
        try TaskCheckpoint.loadParameters(tagger.parameters, from: reader)
        return TaggerModel(tagger: tagger, features: features, manifest: manifest)
    }

    /// Predicted tags for each sentence (each needs at least one token), in order. Tokens longer than the biLM's
    /// `max_characters_per_token` are cut to fit, as in pre-training.
    public func predict(_ sentences: [[String]], batchSize: Int? = nil) -> [[String]] {
        guard !sentences.isEmpty else { return [] }
        return tagger.predictAll(TaskFeatures.Sentences(sentences, cacheable: false), features: features,
                                 batchSize: batchSize ?? manifest.training.batchSize)
    }

    /// Predictions for `sentences` scored against their tags (with the model's scheme).
    public func evaluate(_ sentences: [TaggedSentence], batchSize: Int? = nil) -> (predictions: [[String]], evaluation: TaggerEvaluation) {
        let predictions = predict(sentences.map(\.tokens), batchSize: batchSize)
        return (predictions, TaggerEvaluation(gold: sentences.map(\.tags), predicted: predictions, scheme: options.scheme))
    }

    /// Reads a gold file as the model's training data was read (or with `data`), checking its tags against the
    /// model's scheme.
    public func readGold(path: String, data: TaggerDataSettings? = nil) throws -> [TaggedSentence] {
        try (data ?? options.data).read(path: path, scheme: options.scheme)
    }

    /// A warning when gold tags of `sentences` are not in the model's tag set (they can only be predicted wrong).
    public func unknownTagWarning(_ sentences: [TaggedSentence], path: String) -> String? {
        TaggerFinetuning.unknownTagWarning(sentences, known: tagger.labels, path: path)
    }

    /// CoNLL output: `token TAB tag` per line, a blank line after each sentence.
    public static func conll(tokens: [[String]], tags: [[String]]) -> String {
        precondition(tokens.count == tags.count, "TaggerModel.conll: \(tokens.count) sentences but \(tags.count) tag sequences.")
        var text = ""
        for (sentence, sentenceTags) in zip(tokens, tags) {
            for (token, tag) in zip(sentence, sentenceTags) { text += token + "\t" + tag + "\n" }
            text += "\n"
        }
        return text
    }
}

/// What `TaggerFinetuning.run` needs: the biLM, the data, the head's options and the training settings.
public struct TaggerFinetuneSettings {
    /// The pre-trained biLM checkpoint (file or run folder). With `no-pretrained` only its options are used.
    public var checkpoint: String
    public var trainPath: String
    public var devPath: String
    /// Run folder (`best.npz`, `metrics.jsonl`, `learning-curve.svg`); nil writes nothing.
    public var output: String?
    public var mode: TaskFeatures.Mode = .frozen
    /// Head options; `scheme` and `metric` are filled in by `run` (see `scheme`, `metric`).
    public var options = TaggerOptions()
    /// The tags' chunk scheme; nil: detected from the training tags (`TaggerDataSettings.detectScheme`).
    public var scheme: TagScheme?
    /// Treat the tags as plain tags (no scheme, no constraints) even if they look like chunk tags.
    public var plainTags = false
    /// nil: span F1 when the tags have a scheme, token accuracy otherwise.
    public var metric: TaggerMetric?
    /// Use at most this many training sentences (the first ones); nil: all.
    public var maxTrainSentences: Int?
    public var training = TaskTrainingSettings()

    public init(checkpoint: String, trainPath: String, devPath: String, output: String?) {
        self.checkpoint = checkpoint
        self.trainPath = trainPath
        self.devPath = devPath
        self.output = output
    }
}

/// Fine-tunes a tagger end to end: reads and checks the data, builds the features and the head, trains with the
/// shared `TaskTrainer` (early stopping on the dev metric, `best.npz` in the run folder) and returns the model
/// holding the best epoch's parameters.
public enum TaggerFinetuning {
    public struct Outcome {
        public var model: TaggerModel
        public var result: TaskTrainingResult
        public var trainSentences: Int
        public var devSentences: Int
        /// Things the user should know (detected scheme, dev tags unseen in training).
        public var notes: [String]
    }

    public static func run(_ settings: TaggerFinetuneSettings, progress: ProgressLine? = nil,
                           onRecord: (([String: Any]) -> Void)? = nil) throws -> Outcome {
        var options = settings.options
        try options.validate()
        var notes: [String] = []
        let data = options.data
        var train = try data.read(path: settings.trainPath)
        if let limit = settings.maxTrainSentences, limit < train.count {
            guard limit >= 1 else { throw TaskError.invalidOption(name: "max-train-sentences", value: "\(limit)", reason: "must be at least 1.") }
            train = Array(train.prefix(limit))
        }
        if settings.plainTags {
            options.scheme = nil
        } else if let scheme = settings.scheme {
            try data.check(train, scheme: scheme, path: settings.trainPath)
            options.scheme = scheme
        } else {
            options.scheme = TaggerDataSettings.detectScheme(train)
            notes.append(options.scheme.map { "tags look like \($0.rawValue) chunks (pass --scheme to say otherwise)" }
                         ?? "plain tags (no chunk scheme)")
        }
        let dev = try data.read(path: settings.devPath, scheme: options.scheme)
        options.metric = settings.metric ?? (options.scheme == nil ? .accuracy : .f1)
        if options.metric == .f1 && options.scheme == nil {
            throw TaggerError.spanMetricWithoutScheme(path: settings.trainPath, example: train.lazy.flatMap(\.tags).first { $0 != "O" } ?? "O")
        }
        let labels = tagSet(train)
        if let warning = unknownTagWarning(dev, known: labels, path: settings.devPath) { notes.append(warning) }

        let loaded = try BiLMCheckpoint.load(settings.checkpoint)
        let features: TaskFeatures
        let reference: BiLMReference?
        switch settings.mode {
        case .frozen, .finetune:
            features = TaskFeatures(bilm: loaded.model, mode: settings.mode)
            reference = try BiLMReference(checkpoint: settings.checkpoint)
        case .noPretrained:
            features = TaskFeatures(scratchOptions: loaded.model.options, seed: settings.training.seed)
            reference = nil
        }
        let tagger = Tagger(options: options, labels: labels, mixtureSize: features.mixtureSize, inputSize: features.dimension,
                            seed: settings.training.seed)
        let manifest = TaskManifest(kind: TaggerModel.kind, mode: settings.mode, labels: labels, options: options,
                                    bilmOptions: loaded.model.options, bilm: reference, training: settings.training)
        let model = TaggerModel(tagger: tagger, features: features, manifest: manifest)
        let run = try settings.output.map { try RunFolder(path: $0) }
        let trainer = TaskTrainer(head: tagger, features: features, settings: settings.training, run: run,
                                  saveBest: { try model.save(to: $0) })
        trainer.progress = progress
        trainer.onRecord = onRecord
        let result = try trainer.train(train: train, dev: dev)
        return Outcome(model: model, result: result, trainSentences: train.count, devSentences: dev.count, notes: notes)
    }

    /// The distinct tags of `sentences`: `O` first when present, then the others sorted (a stable, readable order).
    public static func tagSet(_ sentences: [TaggedSentence]) -> [String] {
        let tags = Set(sentences.lazy.flatMap(\.tags))
        return (tags.contains("O") ? ["O"] : []) + tags.subtracting(["O"]).sorted()
    }

    /// A warning naming how many tokens carry tags outside `known`, and the first (they count as wrong), or nil.
    public static func unknownTagWarning(_ sentences: [TaggedSentence], known: [String], path: String) -> String? {
        let knownSet = Set(known)
        var count = 0
        var first: (tag: String, sentence: TaggedSentence)?
        for sentence in sentences {
            for tag in sentence.tags where !knownSet.contains(tag) {
                count += 1
                if first == nil { first = (tag, sentence) }
            }
        }
        guard let first else { return nil }
        return "\(path): \(count) token\(count == 1 ? " has a tag" : "s have tags") not seen in training (first: '\(first.tag)' "
            + "in the sentence at line \(first.sentence.line)); they count as wrong."
    }
}
