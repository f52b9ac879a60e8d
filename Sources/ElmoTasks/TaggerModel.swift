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
    public func predict(_ sentences: [[String]], batchSize: Int? = nil, maxBatchTokens: Int? = nil) -> [[String]] {
        guard !sentences.isEmpty else { return [] }
        return tagger.predictAll(TaskFeatures.Sentences(sentences, cacheable: false), features: features,
                                 batchSize: batchSize ?? manifest.training.batchSize, maxBatchTokens: maxBatchTokens)
    }

    /// Predictions for `sentences` scored against their tags (with the model's scheme).
    public func evaluate(_ sentences: [TaggedSentence], batchSize: Int? = nil,
                         maxBatchTokens: Int? = nil) -> (predictions: [[String]], evaluation: TaggerEvaluation) {
        let predictions = predict(sentences.map(\.tokens), batchSize: batchSize, maxBatchTokens: maxBatchTokens)
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
