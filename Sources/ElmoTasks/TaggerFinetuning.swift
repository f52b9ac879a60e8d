import ElmoBiLM
import ElmoEmbeddings
import ElmoReporting
import ElmoStorage
import ElmoText

/// What `TaggerFinetuning.run` needs: the biLM, the data, the head's options and the training settings.
public struct TaggerFinetuneSettings {
    /// The pre-trained biLM checkpoint (file or run folder). With `no-pretrained` only its options are used.
    public var checkpoint: String
    public var trainPath: String
    public var devPath: String
    /// Run folder (`best.npz`, `metrics.jsonl`, `learning-curve.svg`); nil writes nothing.
    public var output: String?
    public var mode: TaskFeatures.Mode = .frozen
    /// Concatenate a task encoder trained from scratch to the biLM's layers (`TaskFeatures.taskEncoder`).
    public var taskEncoder = true
    /// Longest training or dev sentence accepted, in tokens.
    public var maxLength = EmbedSettings.defaultMaxLength
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
        try SentenceLengthLimit.check(train, path: settings.trainPath, limit: settings.maxLength, tokens: \.tokens.count, line: \.line)
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
        try SentenceLengthLimit.check(dev, path: settings.devPath, limit: settings.maxLength, tokens: \.tokens.count, line: \.line)
        options.metric = settings.metric ?? (options.scheme == nil ? .accuracy : .f1)
        if options.metric == .f1 && options.scheme == nil {
            throw TaskError.spanMetricWithoutScheme(path: settings.trainPath, example: train.lazy.flatMap(\.tags).first { $0 != "O" } ?? "O")
        }
        let labels = tagSet(train)
        if let warning = unknownTagWarning(dev, known: labels, path: settings.devPath) { notes.append(warning) }

        let (features, reference) = try TaskFeatures.forTraining(checkpoint: settings.checkpoint, mode: settings.mode,
                                                                 taskEncoder: settings.taskEncoder, seed: settings.training.seed)
        let tagger = Tagger(options: options, labels: labels, mixtureSize: features.mixtureSize, inputSize: features.dimension,
                            seed: settings.training.seed)
        let manifest = TaskManifest(kind: TaggerModel.kind, features: features, labels: labels, options: options,
                                    bilm: reference, training: settings.training)
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
