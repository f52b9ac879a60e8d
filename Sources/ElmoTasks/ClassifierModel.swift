import ElmoBiLM
import ElmoEmbeddings
import ElmoMetrics
import ElmoReporting
import ElmoStorage
import ElmoText
import Foundation

/// A trained sentence classifier: its features (how tokens become layers) and its head, saved as one task model
/// (`TaskCheckpoint`, kind `"classifier"`).
public final class ClassifierModel {
    public static let kind = "classifier"

    public let features: TaskFeatures
    public let classifier: Classifier
    /// The pre-trained biLM it was trained on (nil for `no-pretrained`).
    public let bilm: BiLMReference?
    public let training: TaskTrainingSettings

    public init(features: TaskFeatures, classifier: Classifier, bilm: BiLMReference?, training: TaskTrainingSettings) {
        precondition(features.mode == .noPretrained || bilm != nil, "A \(features.mode.rawValue) classifier needs its biLM reference.")
        self.features = features
        self.classifier = classifier
        self.bilm = bilm
        self.training = training
    }

    public var labels: [String] { classifier.labels }

    public var manifest: TaskManifest<ClassifierOptions> {
        TaskManifest(kind: Self.kind, features: features, labels: classifier.labels, options: classifier.options,
                     bilm: bilm, training: training)
    }

    public func save(to path: String) throws {
        try TaskCheckpoint.save(manifest: manifest, head: classifier.parameters, features: features, to: path)
    }

    /// Loads a classifier (a file, or a run folder meaning its `best.npz`); other archives are refused naming both kinds.
    public static func load(_ path: String) throws -> ClassifierModel {
        let (reader, file, _) = try TaskCheckpoint.open(path)
        let manifest: TaskManifest<ClassifierOptions> = try TaskCheckpoint.manifest(reader, file: file, kind: kind)
        guard manifest.labels.count >= 2 && Set(manifest.labels).count == manifest.labels.count else {
            throw TaskError.invalidManifest(path: file, reason: "has labels \(manifest.labels); a classifier needs two or more distinct ones")
        }
        let features = try TaskCheckpoint.loadFeatures(manifest, reader: reader, file: file)
        let classifier = Classifier(options: manifest.options, labels: manifest.labels, mixtureSize: features.mixtureSize,
                                    inputSize: features.dimension, seed: 0)
        try TaskCheckpoint.loadParameters(classifier.parameters, from: reader)
        return ClassifierModel(features: features, classifier: classifier, bilm: manifest.bilm, training: manifest.training)
    }

    /// One prediction per sentence (each must have a token), in order.
    public func predict(_ sentences: [[String]], batchSize: Int = 32, maxBatchTokens: Int? = nil) -> [Classifier.Prediction] {
        classifier.predictAll(TaskFeatures.Sentences(sentences, cacheable: false), features: features, batchSize: batchSize,
                              maxBatchTokens: maxBatchTokens)
    }

    /// Accuracy, macro-F1, per-class scores and the confusion matrix on labelled examples.
    public func evaluate(_ examples: [LabeledSentence], batchSize: Int = 32, maxBatchTokens: Int? = nil) -> ClassificationReport {
        classifier.report(predict(examples.map(\.tokens), batchSize: batchSize, maxBatchTokens: maxBatchTokens), examples: examples)
    }
}

/// What `elmo finetune classifier` was asked to do.
public struct ClassifierFinetuneSettings {
    /// The pre-trained biLM (file or run folder); with `no-pretrained` only its model options are used.
    public var checkpoint: String
    public var trainFile: String
    public var devFile: String
    /// The run folder (`best.npz`, `metrics.jsonl`, `learning-curve.svg`).
    public var output: String
    public var mode: TaskFeatures.Mode = .frozen
    /// Concatenate a task encoder trained from scratch to the biLM's layers (`TaskFeatures.taskEncoder`).
    public var taskEncoder = true
    public var options = ClassifierOptions()
    public var training = TaskTrainingSettings()
    public var unknownLabels: UnknownLabelPolicy = .error
    /// Longest training or dev example accepted, in tokens.
    public var maxLength = EmbedSettings.defaultMaxLength

    public init(checkpoint: String, trainFile: String, devFile: String, output: String) {
        self.checkpoint = checkpoint
        self.trainFile = trainFile
        self.devFile = devFile
        self.output = output
    }
}

/// Fine-tunes a classifier end to end: reads and checks the data, builds features and head, trains with
/// `TaskTrainer` and leaves the best model in `<output>/best.npz`.
public enum ClassifierFinetuning {
    public static func run(_ settings: ClassifierFinetuneSettings, progress: ProgressLine? = nil,
                           warn: (String) -> Void = { _ in }) throws -> (model: ClassifierModel, result: TaskTrainingResult) {
        try settings.options.validate()
        let data = settings.options.data
        let train = try data.read(path: settings.trainFile)
        try SentenceLengthLimit.check(train, path: settings.trainFile, limit: settings.maxLength, tokens: \.tokens.count, line: \.line)
        let labels = Set(train.map(\.label)).sorted()
        guard labels.count >= 2 else { throw TaskError.tooFewLabels(path: settings.trainFile, labels: labels) }
        let dev = try data.read(path: settings.devFile)
        try SentenceLengthLimit.check(dev, path: settings.devFile, limit: settings.maxLength, tokens: \.tokens.count, line: \.line)
        if let warning = try ClassificationDataSettings.checkLabels(dev, known: labels, path: settings.devFile,
                                                                    policy: settings.unknownLabels) {
            warn(warning)
        }
        let run = try RunFolder(path: settings.output)
        if FileManager.default.fileExists(atPath: run.bestPath) {
            throw TaskError.invalidOption(name: "output", value: settings.output,
                                          reason: "already holds a model (best.npz); choose another folder or remove it.")
        }

        let (features, reference) = try TaskFeatures.forTraining(checkpoint: settings.checkpoint, mode: settings.mode,
                                                                 taskEncoder: settings.taskEncoder, seed: settings.training.seed)
        let classifier = Classifier(options: settings.options, labels: labels, mixtureSize: features.mixtureSize,
                                    inputSize: features.dimension, seed: settings.training.seed &+ 1)
        let model = ClassifierModel(features: features, classifier: classifier, bilm: reference, training: settings.training)
        let trainer = TaskTrainer(head: classifier, features: features, settings: settings.training, run: run,
                                  saveBest: { try model.save(to: $0) })
        trainer.progress = progress
        let result = try trainer.train(train: train, dev: dev)
        return (model, result)
    }
}
