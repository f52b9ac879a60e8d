import ElmoEmbeddings
import ElmoLayers
import ElmoMetrics
import ElmoTensor
import ElmoText

/// The sentence encoder between the ScalarMix and the pooling.
public enum ClassifierEncoderKind: String, Codable, CaseIterable, Sendable {
    /// A masked bidirectional LSTM (`hidden` per direction), then `pooling`.
    case bilstm
    /// A masked bidirectional GRU (`hidden` per direction), then `pooling`.
    case gru
    /// Kim (2014)'s CNN: widths 3, 4, 5 with `filters` each, and its own masked max-pooling (`pooling` must be max).
    case cnn
    /// The mixed ELMo vectors pooled directly.
    case none
}

/// Options of the classifier head (stored in `task.json`).
public struct ClassifierOptions: Codable, Equatable {
    public var encoder: ClassifierEncoderKind = .bilstm
    public var pooling: PoolingMode = .max
    /// biLSTM / biGRU state size per direction, and the MLP's hidden size.
    public var hidden = 64
    /// CNN filters per width.
    public var filters = 100
    public var widths = [3, 4, 5]
    /// Dropout on the ScalarMix output (0.5, as AllenNLP advises for ELMo).
    public var mixDropout: Float = 0.5
    /// Dropout before the MLP's output layer.
    public var dropout: Float = 0.2
    /// How the data files were read (evaluation reads test files the same way unless told otherwise).
    public var data = ClassificationDataSettings()

    public init() {}

    /// Option combinations that cannot work, named as the CLI spells them.
    public func validate() throws {
        if hidden < 1 { throw TaskError.invalidOption(name: "hidden", value: "\(hidden)", reason: "must be at least 1.") }
        if filters < 1 { throw TaskError.invalidOption(name: "filters", value: "\(filters)", reason: "must be at least 1.") }
        if encoder == .cnn && pooling != .max {
            throw TaskError.invalidOption(name: "pooling", value: pooling.rawValue,
                                          reason: "the cnn encoder max-pools over time itself; use --pooling max or another --encoder.")
        }
    }
}

/// A sentence classifier on ELMo representations:
///
///     e = dropout(ScalarMix(layers))           [B, T, D]
///     h = encoder(e)                           bilstm, gru [B, T, 2H] | none: e     (cnn: [B, 3N] directly)
///     v = pool(h)                              max | mean | last | concat, masked
///     logits = W₂ · dropout(relu(W₁ v + b₁)) + b₂,   p = softmax(logits)       [B, C]
///
/// Trained with the mean cross-entropy over the batch's sentences. B batch, T steps, D features per layer, H
/// `hidden`, N `filters`, C classes. Padding never affects a sentence's prediction (every stage is masked).
public final class Classifier: TaskHead {
    public typealias Example = LabeledSentence

    public struct Prediction: Equatable {
        public var label: String
        /// The probability of `label`.
        public var probability: Float
        /// All class probabilities, in `labels` order.
        public var probabilities: [Float]
    }

    public let options: ClassifierOptions
    public let labels: [String]
    private let labelIndex: [String: Int]
    public let mix: ScalarMix
    let mixDropout: Dropout
    let recurrent: MaskedRecurrentEncoder?
    let cnn: TextCNNEncoder?
    let pooling: SequencePooling?
    let hiddenLayer: Linear
    let dropout: Dropout
    let outputLayer: Linear

    /// - Parameters:
    ///   - mixtureSize: K, the layers per token (`TaskFeatures.mixtureSize`).
    ///   - inputSize: D, their features (`TaskFeatures.dimension`).
    public init(options: ClassifierOptions, labels: [String], mixtureSize: Int, inputSize: Int, seed: UInt64) {
        precondition(labels.count >= 2 && Set(labels).count == labels.count, "Classifier needs at least two distinct labels, got \(labels).")
        var rng = RandomGenerator(seed: seed)
        self.options = options
        self.labels = labels
        labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        mix = ScalarMix(mixtureSize: mixtureSize, name: "classifier/scalar_mix")
        mixDropout = Dropout(probability: options.mixDropout)
        let pooledSize: Int
        switch options.encoder {
        case .bilstm, .gru:
            let gru = options.encoder == .gru
            let encoder = MaskedRecurrentEncoder(gru: gru, inputSize: inputSize, hiddenSize: options.hidden,
                                                 name: gru ? "classifier/bigru" : "classifier/bilstm", rng: &rng)
            let pool = SequencePooling(mode: options.pooling, backwardFeatures: options.hidden)
            (recurrent, cnn, pooling) = (encoder, nil, pool)
            pooledSize = pool.outputSize(inputSize: encoder.outputSize)
        case .cnn:
            let encoder = TextCNNEncoder(inputSize: inputSize, filtersPerWidth: options.filters, widths: options.widths,
                                         name: "classifier/cnn", rng: &rng)
            (recurrent, cnn, pooling) = (nil, encoder, nil)
            pooledSize = encoder.outputSize
        case .none:
            // ELMo vectors are [forward; backward], so the second half's final state is at step 0.
            let pool = SequencePooling(mode: options.pooling, backwardFeatures: inputSize / 2)
            (recurrent, cnn, pooling) = (nil, nil, pool)
            pooledSize = pool.outputSize(inputSize: inputSize)
        }
        hiddenLayer = Linear(inputSize: pooledSize, outputSize: options.hidden, name: "classifier/mlp_hidden", rng: &rng)
        dropout = Dropout(probability: options.dropout)
        outputLayer = Linear(inputSize: options.hidden, outputSize: labels.count, name: "classifier/mlp_output", rng: &rng)
    }

    public var parameters: [Parameter] {
        mix.parameters + (recurrent?.parameters ?? []) + (cnn?.parameters ?? []) + hiddenLayer.parameters + outputLayer.parameters
    }

    public func tokens(of example: LabeledSentence) -> [String] { example.tokens }

    /// What backward reads: every stage's cache, and the relu output of the hidden layer.
    public struct Cache {
        var mix = ScalarMix.Cache()
        var mixDropout = Dropout.Cache()
        var recurrent = MaskedRecurrentEncoder.Cache()
        var cnn = TextCNNEncoder.Cache()
        var pooling = SequencePooling.Cache()
        var hidden = Linear.Cache()
        var activation = Tensor(zeros: [0])
        var dropout = Dropout.Cache()
        var output = Linear.Cache()
        var shape: [Int] = []
        public init() {}
    }

    /// layers: K × `[B, T, D]` → logits `[B, C]`.
    public func forward(_ batch: TaskFeatures.Batch, training: Bool, rng: inout RandomGenerator, cache: inout Cache) -> Tensor {
        let lengths = batch.lengths
        cache.shape = batch.layers[0].shape
        // The mix is linear in its inputs (no layer norm), so zero padding stays zero.
        let mixed = mix.forward(batch.layers, mask: batch.mask, cache: &cache.mix)
        let e = mixDropout.forward(mixed, training: training, rng: &rng, cache: &cache.mixDropout)
        let pooled: Tensor
        if let cnn {
            pooled = cnn.forward(e, lengths: lengths, cache: &cache.cnn)
        } else if let recurrent {
            pooled = pooling!.forward(recurrent.forward(e, lengths: lengths, cache: &cache.recurrent), lengths: lengths, cache: &cache.pooling)
        } else {
            pooled = pooling!.forward(e, lengths: lengths, cache: &cache.pooling)
        }
        var activation = hiddenLayer.forward(pooled, cache: &cache.hidden)
        Backends.current.activate(.relu, &activation)
        cache.activation = activation
        return outputLayer.forward(dropout.forward(activation, training: training, rng: &rng, cache: &cache.dropout), cache: &cache.output)
    }

    /// dLogits `[B, C]` → K layer gradients `[B, T, D]`; accumulates into every head parameter (forward, reversed).
    public func backward(_ dLogits: Tensor, cache: Cache) -> [Tensor] {
        let dDropped = outputLayer.backward(dLogits, cache: cache.output)
        let dActivation = dropout.backward(dDropped, cache: cache.dropout)
        var dHidden = Tensor(zeros: dActivation.shape)
        Backends.current.activateBackward(.relu, output: cache.activation, gradient: dActivation, into: &dHidden)
        let dPooled = hiddenLayer.backward(dHidden, cache: cache.hidden)
        let dE: Tensor
        if let cnn {
            dE = cnn.backward(dPooled, cache: cache.cnn)
        } else if let recurrent {
            dE = recurrent.backward(pooling!.backward(dPooled, cache: cache.pooling), cache: cache.recurrent)
        } else {
            dE = pooling!.backward(dPooled, cache: cache.pooling)
        }
        return mix.backward(mixDropout.backward(dE, cache: cache.mixDropout), cache: cache.mix)
    }

    public func trainStep(_ batch: TaskFeatures.Batch, examples: [LabeledSentence], rng: inout RandomGenerator) -> TaskStepResult {
        precondition(examples.count == batch.lengths.count, "Classifier.trainStep: \(examples.count) examples for a batch of \(batch.lengths.count).")
        var cache = Cache()
        let logits = forward(batch, training: true, rng: &rng, cache: &cache)
        let targets = examples.map { example -> Int32 in
            guard let index = labelIndex[example.label] else {
                preconditionFailure("Classifier.trainStep: label '\(example.label)' is not among \(labels).")
            }
            return Int32(index)
        }
        var (lossSum, count, dLogits) = CrossEntropy.forwardBackward(logits: logits, targets: targets)
        Backends.current.scale(&dLogits, by: 1 / Float(max(count, 1)))
        return TaskStepResult(lossSum: lossSum, count: count, dLayers: backward(dLogits, cache: cache))
    }

    /// Softmax probabilities `[B, C]` without dropout.
    public func probabilities(_ batch: TaskFeatures.Batch) -> Tensor {
        var rng = RandomGenerator(seed: 0)  // no dropout is drawn when not training
        var cache = Cache()
        var p = forward(batch, training: false, rng: &rng, cache: &cache)
        Backends.current.softmaxRows(&p)
        return p
    }

    public func predict(_ batch: TaskFeatures.Batch) -> [Prediction] {
        let p = probabilities(batch), c = labels.count
        return (0..<p.shape[0]).map { b in
            let row = Array(p.scalars[(b * c)..<((b + 1) * c)])
            let best = row.indices.max { row[$0] < row[$1] }!  // ties: the first label
            return Prediction(label: labels[best], probability: row[best], probabilities: row)
        }
    }

    /// Accuracy (primary) and macro-F1 over the examples; a gold label unknown to the model counts as wrong.
    public func score(_ predictions: [Prediction], examples: [LabeledSentence]) -> TaskScore {
        let report = report(predictions, examples: examples)
        return TaskScore(primaryName: "accuracy", values: ["accuracy": report.accuracy, "macro_f1": report.macroF1])
    }

    /// The full classification report (per-class precision, recall, F1 and the confusion matrix).
    public func report(_ predictions: [Prediction], examples: [LabeledSentence]) -> ClassificationReport {
        ClassificationReport(gold: examples.map(\.label), predicted: predictions.map(\.label), labels: labels)
    }
}
