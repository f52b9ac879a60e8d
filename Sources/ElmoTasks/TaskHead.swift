import ElmoEmbeddings
import ElmoLayers
import ElmoTensor

/// A trainable task head on top of `TaskFeatures` (the classifier; the tagger): what `TaskTrainer` needs to train
/// it, keep its best state and score it, independent of the task.
///
/// A head owns its ScalarMix (its parameters are among `parameters`), takes a batch's K layers `[B, T, D]` and
/// returns, in `trainStep`, the gradient with respect to them, so the trainer can pass it on to the features.
public protocol TaskHead: AnyObject {
    associatedtype Example
    associatedtype Prediction

    /// Every trainable tensor of the head, ScalarMix included, in a stable order (checkpoints rely on it).
    var parameters: [Parameter] { get }

    /// The tokens of an example (what the features represent).
    func tokens(of example: Example) -> [String]

    /// Forward (with dropout), loss and backward for one batch of `examples` (in the batch's order): accumulates
    /// into the head's gradients and returns the loss of the batch and ∂(lossSum / count)/∂`batch.layers`.
    func trainStep(_ batch: TaskFeatures.Batch, examples: [Example], rng: inout RandomGenerator) -> TaskStepResult

    /// Predictions for a batch, without dropout, in the batch's order.
    func predict(_ batch: TaskFeatures.Batch) -> [Prediction]

    /// Scores predictions against the examples' gold annotation (early stopping keeps the best `primary`).
    func score(_ predictions: [Prediction], examples: [Example]) -> TaskScore
}

/// The outcome of one training batch.
public struct TaskStepResult {
    /// Σ loss over the batch's items (sentences for the classifier, tokens for a tagger), in Double.
    public var lossSum: Double
    /// Items summed in `lossSum`; the gradient is that of the mean, lossSum / count.
    public var count: Int
    /// ∂(lossSum / count)/∂ each of the batch's K layers, `[B, T, D]`, zero at padding.
    public var dLayers: [Tensor]

    public init(lossSum: Double, count: Int, dLayers: [Tensor]) {
        self.lossSum = lossSum
        self.count = count
        self.dLayers = dLayers
    }
}

/// Dev or test scores of a head: one primary metric where higher is better (accuracy, span F1), plus others.
public struct TaskScore: Equatable {
    /// Name of the primary metric, e.g. `"accuracy"` (a key of `values`).
    public var primaryName: String
    /// All metrics by name, e.g. `["accuracy": 0.91, "macro_f1": 0.90]`, fractions in [0, 1].
    public var values: [String: Double]

    public init(primaryName: String, values: [String: Double]) {
        precondition(values[primaryName] != nil, "TaskScore: the primary metric '\(primaryName)' is not among \(values.keys.sorted()).")
        self.primaryName = primaryName
        self.values = values
    }

    public var primary: Double { values[primaryName]! }
}

extension TaskHead {
    /// Predictions for every sentence of `sentences`, in their order; batches group sentences of similar length, at
    /// most `batchSize` of them and `maxBatchTokens` padded tokens.
    public func predictAll(_ sentences: TaskFeatures.Sentences, features: TaskFeatures, batchSize: Int,
                           maxBatchTokens: Int? = nil) -> [Prediction] {
        var results = [Prediction?](repeating: nil, count: sentences.count)
        var rng = RandomGenerator(seed: 0)  // unused without training; the features API takes one
        for indices in ContextualEmbedder.buckets(lengths: sentences.tokens.map(\.count), batchSize: batchSize, maxTokens: maxBatchTokens) {
            let batch = features.batch(sentences, indices: indices, training: false, rng: &rng)
            for (k, prediction) in predict(batch).enumerated() { results[indices[k]] = prediction }
        }
        return results.map { $0! }
    }
}
