import ElmoLayers
import ElmoTensor
import ElmoText

/// How one run of `BiLanguageModel.forward` goes: what the two directions read, what runs on top of them, and what is
/// kept. Every caller of the biLM (pre-training, perplexity, scoring, embedding, cell traces, fine-tuning, generation)
/// describes its needs with one of these instead of having its own forward pass.
public struct BiLMPass {
    /// What the two directions read. B batch, T steps, W characters per token.
    public enum Input {
        /// Training and scoring windows: each direction reads its own token stream (the backward one already reversed
        /// by the data layer), both encoded in one char-CNN call, from the carried `states`; targets come with it.
        case streams(StreamBatch, states: BiLanguageModel.States)
        /// Padded sentences `[B * T * W]`, `lengths[b]` ≤ T, both directions from a zero state. The tokens are
        /// encoded once; the backward direction reads each sentence's encodings reversed within its length.
        case sentences(characters: [Int32], batchSize: Int, steps: Int, lengths: [Int])
    }

    /// Which LSTM stacks run. Generation only needs the forward LM.
    public enum Directions {
        case both
        case forwardOnly
    }

    /// What runs on the top layer. Whenever a softmax runs, it reads the top layer through the biLM's output
    /// dropout (active only while training).
    public enum Softmax {
        /// Nothing: the layer outputs are the result (embedding, cell traces, fine-tuning).
        case none
        /// The training loss over both directions' targets: full softmax, or the sampled one when the options ask
        /// for it (its negatives are drawn from the caller's generator after the dropout seeds, or keyed by the step
        /// with `.keyed` draws).
        case loss
        /// Each position's −log p(target), per direction, full softmax (perplexity and sentence scores).
        case targetNegativeLogLikelihoods
        /// Each position's log-probabilities over the vocabulary `[B * T, V]`, per direction (generation).
        case logProbabilities
    }

    /// Where the dropout masks come from while training.
    public enum DropoutDraws {
        /// Each direction draws from its own generator, seeded from the caller's (forward's seed first), so the two
        /// directions run concurrently and the result does not depend on timing (`trainStep(_:states:rng:)`, e.g.
        /// elmo-bench).
        case perDirection
        /// Both directions draw from the caller's generator, the forward direction's masks first (fine-tuning's
        /// order since its first release). With dropout active the directions then run one after the other.
        case sharedStream
        /// Keyed (`KeyedDraws`): no generator state at all, so a global row's masks and the batch's sampled-softmax
        /// negatives are the same however many processes share the batch (data-parallel pre-training).
        case keyed(KeyedDraws)
    }

    /// Pre-training's draws as pure functions of the run's seed and step: dropout element e at time t of global row
    /// r in direction d at site s (layer k's input dropout is site k, the output dropout site L) keeps iff
    /// `stepKey.derived(d).derived(s).derived(r).uniform(at: t·P + e) ≥ p`; the sampled softmax's negatives come from
    /// `stepKey.derived(negativesKey).generator()`, the same on every process.
    public struct KeyedDraws: Sendable {
        public var seed: UInt64
        public var step: Int
        /// The global index of this process's first row of the batch.
        public var firstRow: Int

        public init(seed: UInt64, step: Int, firstRow: Int) {
            self.seed = seed
            self.step = step
            self.firstRow = firstRow
        }

        /// Direction keys are 0 (forward) and 1 (backward); the negatives' key differs from both.
        static let negativesKey = 2

        var stepKey: CounterRandom { CounterRandom(key: seed).derived(step) }

        func masks(direction: Int) -> Dropout.MaskSource { .rows(stepKey.derived(direction), firstRow: firstRow) }

        func negatives() -> RandomGenerator { stepKey.derived(Self.negativesKey).generator() }
    }

    public var input: Input
    public var directions: Directions
    public var softmax: Softmax
    /// Dropout on (training) or off (inference).
    public var training: Bool
    /// Keep what `BiLanguageModel.backward` reads (`BiLMPassResult.tape`); off, the caches are dropped after use.
    public var keepForBackward: Bool
    /// Keep every LSTM layer's memory cells c_t (`BiLMPassResult.forwardCells`, `backwardCells`).
    public var keepCells: Bool
    public var dropoutDraws: DropoutDraws
    /// Inference on `.sentences` only: the token encodings come from this cache (a frozen copy of the encoder, so
    /// each token's encoding does not depend on its batch) instead of `encoder.forward`.
    public var tokenEncodings: TokenEncodingCache?

    public init(input: Input, directions: Directions = .both, softmax: Softmax = .none, training: Bool = false,
                keepForBackward: Bool = false, keepCells: Bool = false, dropoutDraws: DropoutDraws = .perDirection,
                tokenEncodings: TokenEncodingCache? = nil) {
        self.input = input
        self.directions = directions
        self.softmax = softmax
        self.training = training
        self.keepForBackward = keepForBackward
        self.keepCells = keepCells
        self.dropoutDraws = dropoutDraws
        self.tokenEncodings = tokenEncodings
    }
}

/// What one `BiLanguageModel.forward` computed. P projection size, L layers, V vocabulary; "per direction" values
/// of a stack that did not run are empty.
public struct BiLMPassResult {
    /// Each stack's L layer outputs `[B, T, P]`, in the order that stack read its input (the backward stack's reversed).
    public var forwardOutputs: [Tensor] = []
    public var backwardOutputs: [Tensor] = []
    /// `.sentences` input, both directions: ELMo's L+1 representations `[B, T, 2P]`, layer 0 = `[x; x]` (the token
    /// encodings), layer k = `[fwd_k; bwd_k]` in sentence order; positions beyond a sentence's length are unspecified.
    public var layers: [Tensor] = []
    /// The final LSTM states, to carry into the next window (a stack that did not run keeps the given ones).
    public var states: BiLanguageModel.States
    /// `.loss`: Σ cross-entropy over the targets ≥ 0 of both directions, and their count.
    public var lossSum = 0.0
    public var targetCount = 0
    /// `.targetNegativeLogLikelihoods`: `[B * T]` per direction, 0 where the target is < 0 (padding).
    public var forwardNegativeLogLikelihoods: [Float] = []
    public var backwardNegativeLogLikelihoods: [Float] = []
    /// `.logProbabilities`: `[B * T, V]` per direction.
    public var forwardLogProbabilities: Tensor?
    public var backwardLogProbabilities: Tensor?
    /// With `keepCells`: layer k's memory cells `[B, T, C]` per direction; for `.sentences` input both in sentence
    /// order (the backward stack's reversed back within each length), for `.streams` each in its stream's order.
    public var forwardCells: [Tensor] = []
    public var backwardCells: [Tensor] = []
    /// With `keepForBackward`: what `BiLanguageModel.backward` reads.
    public var tape: BiLMTape?
}

/// What `BiLanguageModel.backward` reads from its forward pass: every layer's cache and how the batch was laid out.
public struct BiLMTape {
    enum Layout {
        case streams(batch: Int, steps: Int)
        case sentences(batch: Int, steps: Int, lengths: [Int])
    }
    enum SoftmaxCache {
        case none
        case full(SoftmaxCrossEntropyLoss.Cache)
        case sampled(SampledSoftmaxLoss.Cache)
    }

    var layout = Layout.streams(batch: 0, steps: 0)
    var directions = BiLMPass.Directions.both
    var encoder = TokenEncoder.Cache()
    var forward = LSTMStack.Cache()
    var backward = LSTMStack.Cache()
    var forwardOutputDropout = Dropout.Cache()
    var backwardOutputDropout = Dropout.Cache()
    var softmax = SoftmaxCache.none
    var targetCount = 0

    /// An empty tape, filled by a forward pass (`BiLanguageModel.LayerOutputsCache` callers start from this).
    public init() {}
}

/// Which gradient `BiLanguageModel.backward` sends down through the biLM.
public enum BiLMGradient {
    /// Of the mean training loss, lossSum / targetCount, of a `.loss` pass.
    case meanLoss
    /// ∂loss/∂ each of the L+1 `layers` of a `.sentences` pass, `[B, T, 2P]` (zero at padding): what a task head
    /// sends when it fine-tunes the biLM.
    case layers([Tensor])
}
