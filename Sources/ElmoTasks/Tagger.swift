import ElmoEmbeddings
import ElmoLayers
import ElmoMetrics
import ElmoTensor
import ElmoText

/// What early stopping (and the reported score) of a tagger looks at.
public enum TaggerMetric: String, Codable, CaseIterable, Sendable {
    /// conlleval's micro-averaged span F1 (chunking, NER).
    case f1
    /// Token accuracy (POS).
    case accuracy
}

/// The tagger's recurrent encoder (`--encoder`).
public enum TaggerEncoderKind: String, Codable, CaseIterable, Sendable {
    case bilstm, gru
}

/// Options of the tagger head (stored in `task.json`).
public struct TaggerOptions: Codable, Equatable {
    /// The recurrent encoder; nil in models written before GRUs existed, which are biLSTMs.
    public var encoder: TaggerEncoderKind? = .bilstm
    /// Recurrent state size per direction.
    public var hidden = 64
    /// A CRF on top of the emissions (else an independent softmax per token).
    public var crf = true
    /// The chunk scheme of the tags (decode constraints, span F1); nil for plain tags such as POS.
    public var scheme: TagScheme?
    public var metric: TaggerMetric = .accuracy
    /// Dropout on the ScalarMix output (0.5, as AllenNLP advises for ELMo).
    public var mixDropout: Float = 0.5
    /// Dropout on the encoder output, before the emission layer.
    public var dropout: Float = 0.2
    /// How the data files were read.
    public var data = TaggerDataSettings()

    public init() {}

    /// Option values that cannot work, named as the CLI spells them.
    public func validate() throws {
        if hidden < 1 { throw TaskError.invalidOption(name: "hidden", value: "\(hidden)", reason: "must be at least 1.") }
        for (name, p) in [("mix-dropout", mixDropout), ("dropout", dropout)] where !(p >= 0 && p < 1) {
            throw TaskError.invalidOption(name: name, value: "\(p)", reason: "must be in [0, 1).")
        }
    }
}

/// A sequence tagger on ELMo representations (Peters et al. 2018's tagging setup, Lample et al. 2016's head):
///
///     e = dropout(ScalarMix(layers))          [B, T, D]
///     h = dropout(biLSTM(e) | biGRU(e))       [B, T, 2H]   masked: padding never reaches real steps
///     s = h · W + b                           [B, T, K]    emission scores
///     CRF:     NLL = log Z − score(gold tags), decoded by (constrained) Viterbi
///     no CRF:  softmax cross-entropy per token, decoded by argmax
///
/// Trained with the loss summed over the batch and divided by its tokens. B batch, T steps, D features per layer,
/// H `hidden`, K tags. With a tag scheme and a CRF, Viterbi never returns a sequence the scheme forbids (e.g. BIO
/// `O I-PER`), provided the tag set has `O` (which keeps every length decodable); otherwise it decodes freely.
public final class Tagger: TaskHead {
    public typealias Example = TaggedSentence
    /// One tag per token.
    public typealias Prediction = [String]

    public let options: TaggerOptions
    /// The tag set, K entries (index = emission column = CRF tag).
    public let labels: [String]
    private let labelIndex: [String: Int]
    public let mix: ScalarMix
    let mixDropout: Dropout
    public let encoder: MaskedRecurrentEncoder
    let dropout: Dropout
    public let output: Linear
    public let crf: CRF?
    /// Decode constraints from the scheme (nil without a CRF, a scheme, or an `O` tag).
    public let constraints: CRFConstraints?

    /// - Parameters:
    ///   - mixtureSize: K, the layers per token (`TaskFeatures.mixtureSize`).
    ///   - inputSize: D, their features (`TaskFeatures.dimension`).
    public init(options: TaggerOptions, labels: [String], mixtureSize: Int, inputSize: Int, seed: UInt64) {
        precondition(!labels.isEmpty && Set(labels).count == labels.count, "Tagger needs distinct tags, got \(labels).")
        var rng = RandomGenerator(seed: seed)
        self.options = options
        self.labels = labels
        labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        mix = ScalarMix(mixtureSize: mixtureSize, name: "tagger/scalar_mix")
        mixDropout = Dropout(probability: options.mixDropout)
        let gru = options.encoder == .gru
        encoder = MaskedRecurrentEncoder(gru: gru, inputSize: inputSize, hiddenSize: options.hidden,
                                         name: gru ? "tagger/bigru" : "tagger/bilstm", rng: &rng)
        dropout = Dropout(probability: options.dropout)
        output = Linear(inputSize: encoder.outputSize, outputSize: labels.count, name: "tagger/output", rng: &rng)
        crf = options.crf ? CRF(tagCount: labels.count, name: "tagger/crf", rng: &rng) : nil
        if options.crf, let scheme = options.scheme, labels.contains("O") {
            constraints = Self.constraints(labels: labels, scheme: scheme)
        } else {
            constraints = nil
        }
    }

    /// Viterbi constraints from the scheme's rules (`TagScheme.isAllowedTransition`, `isAllowedStart`, `isAllowedEnd`).
    public static func constraints(labels: [String], scheme: TagScheme) -> CRFConstraints {
        CRFConstraints(allowed: labels.map { from in labels.map { scheme.isAllowedTransition(from: from, to: $0) } },
                       allowedStart: labels.map(scheme.isAllowedStart), allowedEnd: labels.map(scheme.isAllowedEnd))
    }

    public var parameters: [Parameter] { mix.parameters + encoder.parameters + output.parameters + (crf?.parameters ?? []) }

    public func tokens(of example: TaggedSentence) -> [String] { example.tokens }

    /// What backward reads: every stage's cache.
    public struct Cache {
        var mix = ScalarMix.Cache()
        var mixDropout = Dropout.Cache()
        var encoder = MaskedRecurrentEncoder.Cache()
        var dropout = Dropout.Cache()
        var output = Linear.Cache()
        var crf = CRF.Cache()
        public init() {}
    }

    /// layers: K × `[B, T, D]` (zero at padding), lengths `[B]` → emission scores `[B, T, K]` (undefined at padding).
    public func emissions(layers: [Tensor], lengths: [Int], training: Bool, rng: inout RandomGenerator, cache: inout Cache) -> Tensor {
        let steps = layers[0].shape[1]
        let mask = lengths.flatMap { n in (0..<steps).map { $0 < n } }
        let mixed = mix.forward(layers, mask: mask, cache: &cache.mix)
        let e = mixDropout.forward(mixed, training: training, rng: &rng, cache: &cache.mixDropout)
        let h = encoder.forward(e, lengths: lengths, cache: &cache.encoder)
        return output.forward(dropout.forward(h, training: training, rng: &rng, cache: &cache.dropout), cache: &cache.output)
    }

    /// dEmissions `[B, T, K]` (zero at padding) → K layer gradients `[B, T, D]`; accumulates every head parameter's
    /// gradient (the forward stages, reversed).
    public func backward(_ dEmissions: Tensor, cache: Cache) -> [Tensor] {
        let dH = dropout.backward(output.backward(dEmissions, cache: cache.output), cache: cache.dropout)
        let dE = encoder.backward(dH, cache: cache.encoder)
        return mix.backward(mixDropout.backward(dE, cache: cache.mixDropout), cache: cache.mix)
    }

    /// Loss and gradients for layers `[B, T, D]` and gold tag indices `targets` `[B · T]` (anything at padding):
    /// returns Σ loss over the tokens (CRF: Σ NLL over the sentences), the token count, and ∂(loss / tokens)/∂layers;
    /// accumulates ∂(loss / tokens)/∂parameters.
    public func lossAndGradients(layers: [Tensor], lengths: [Int], targets: [Int32], training: Bool,
                                 rng: inout RandomGenerator) -> TaskStepResult {
        let (b, steps, k) = (layers[0].shape[0], layers[0].shape[1], labels.count)
        precondition(targets.count == b * steps, "Tagger: \(targets.count) targets for a batch of \(b) × \(steps) steps.")
        var cache = Cache()
        let scores = emissions(layers: layers, lengths: lengths, training: training, rng: &rng, cache: &cache)
        let tokens = lengths.reduce(0, +)
        let scale = 1 / Float(max(tokens, 1))
        let lossSum: Double
        var dEmissions: Tensor
        if let crf {
            lossSum = crf.negativeLogLikelihood(emissions: scores, tags: targets, lengths: lengths, cache: &cache.crf)
            dEmissions = crf.backward(scale: scale, cache: cache.crf)
        } else {
            var kept = targets
            for s in 0..<b { for t in lengths[s]..<steps { kept[s * steps + t] = -1 } }
            let result = CrossEntropy.forwardBackward(logits: scores.reshaped([b * steps, k]), targets: kept)
            lossSum = result.lossSum
            dEmissions = result.dLogits.reshaped([b, steps, k])
            Backends.current.scale(&dEmissions, by: scale)
        }
        return TaskStepResult(lossSum: lossSum, count: tokens, dLayers: backward(dEmissions, cache: cache))
    }

    public func trainStep(_ batch: TaskFeatures.Batch, examples: [TaggedSentence], rng: inout RandomGenerator) -> TaskStepResult {
        precondition(examples.count == batch.lengths.count, "Tagger.trainStep: \(examples.count) examples for a batch of \(batch.lengths.count).")
        let steps = batch.layers[0].shape[1]
        var targets = [Int32](repeating: 0, count: examples.count * steps)
        for (s, example) in examples.enumerated() {
            for (t, tag) in example.tags.enumerated() {
                guard let index = labelIndex[tag] else { preconditionFailure("Tagger.trainStep: tag '\(tag)' is not among \(labels).") }
                targets[s * steps + t] = Int32(index)
            }
        }
        return lossAndGradients(layers: batch.layers, lengths: batch.lengths, targets: targets, training: true, rng: &rng)
    }

    /// Tag indices per sentence (`lengths[b]` each), without dropout: Viterbi (constrained by the scheme) with a
    /// CRF, else the highest-scoring tag per token (ties: the first tag).
    public func decode(layers: [Tensor], lengths: [Int]) -> [[Int]] {
        var rng = RandomGenerator(seed: 0)  // no dropout is drawn when not training
        var cache = Cache()
        let scores = emissions(layers: layers, lengths: lengths, training: false, rng: &rng, cache: &cache)
        if let crf {
            return crf.viterbi(emissions: scores, lengths: lengths, constraints: constraints).map { $0.map(Int.init) }
        }
        let (steps, k) = (scores.shape[1], labels.count)
        let values = scores.scalars
        return lengths.enumerated().map { s, n in
            (0..<n).map { t in
                let row = (s * steps + t) * k
                var best = 0
                for j in 1..<max(k, 1) where values[row + j] > values[row + best] { best = j }
                return best
            }
        }
    }

    public func predict(_ batch: TaskFeatures.Batch) -> [[String]] {
        decode(layers: batch.layers, lengths: batch.lengths).map { $0.map { labels[$0] } }
    }

    /// Token accuracy, and with a scheme conlleval's span precision, recall and F1 (fractions in [0, 1]); the
    /// primary metric is `options.metric`. Gold tags the model never saw count as wrong.
    public func score(_ predictions: [[String]], examples: [TaggedSentence]) -> TaskScore {
        let evaluation = TaggerEvaluation(gold: examples.map(\.tags), predicted: predictions, scheme: options.scheme)
        return TaskScore(primaryName: options.metric.rawValue, values: evaluation.values)
    }
}

/// Scores of predicted tags against gold ones: token accuracy always, and conlleval's span report when the tags
/// have a chunk scheme.
public struct TaggerEvaluation: Codable, Equatable {
    public var tokens: Int
    public var correctTokens: Int
    /// Correct tokens / tokens, in [0, 1].
    public var accuracy: Double
    /// conlleval's report, percentages as conlleval prints them (nil for plain tags).
    public var spans: SpanF1Report?

    public init(gold: [[String]], predicted: [[String]], scheme: TagScheme?) {
        precondition(gold.count == predicted.count && zip(gold, predicted).allSatisfy { $0.count == $1.count },
                     "TaggerEvaluation needs one predicted tag per gold tag: \(gold.map(\.count)) vs \(predicted.map(\.count)).")
        tokens = gold.reduce(0) { $0 + $1.count }
        correctTokens = zip(gold, predicted).reduce(0) { sum, pair in sum + zip(pair.0, pair.1).filter { $0 == $1 }.count }
        accuracy = tokens > 0 ? Double(correctTokens) / Double(tokens) : 0
        spans = scheme == nil ? nil : SpanF1Report(gold: gold, predicted: predicted)
    }

    /// `accuracy`, and `f1`, `precision`, `recall` with a scheme, as fractions in [0, 1].
    public var values: [String: Double] {
        var values = ["accuracy": accuracy]
        if let spans {
            values["f1"] = spans.f1 / 100
            values["precision"] = spans.precision / 100
            values["recall"] = spans.recall / 100
        }
        return values
    }
}
