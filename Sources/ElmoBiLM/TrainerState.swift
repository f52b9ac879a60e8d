/// Everything besides tensors that a resumed run needs to continue bit-for-bit, stored as `trainer.json`
/// in every checkpoint. `format` and `version` let old or foreign files fail loudly.
public struct TrainerState: Codable, Equatable {
    public static let currentFormat = "elmokit-bilm"
    /// 2 added `hasSoftmax` and `importedFrom` (absent in version 1 files, which always hold a softmax).
    public static let currentVersion = 2

    public var format: String = TrainerState.currentFormat
    public var version: Int = TrainerState.currentVersion
    /// Optimizer steps taken so far (over all epochs).
    public var step: Int = 0
    /// The epoch in progress and the next step inside it (the data position).
    public var epoch: Int = 0
    public var stepInEpoch: Int = 0
    /// Forward targets trained on so far.
    public var tokensTrained: Int = 0
    public var seed: UInt64 = 0
    /// Empty: pre-training's draws are keyed by (seed, step) (`BiLMPass.KeyedDraws`), so seed and step are all a
    /// resumed run needs. Checkpoints written before that hold the xoshiro256** words of the generator then used.
    public var rngState: [UInt64] = []
    public var optimizer: String = "adagrad"
    public var learningRate: Float = 0.2
    public var optimizerScalars: [String: Double] = [:]
    public var optimizerSlots: [String] = []
    public var threads: Int = 1
    public var bestValidPerplexity: Double?
    public var lastValidPerplexity: Double?
    public var trainFiles: [String] = []
    public var shuffleShards: Bool = false
    /// False for a model imported from a bilm-tf / AllenNLP weight file, which carries no softmax: it can embed
    /// and be fine-tuned, but not score, generate or continue pre-training. nil (version 1) means true.
    public var hasSoftmax: Bool?
    /// The weight file an imported model came from (for `inspect`); nil for models pre-trained here.
    public var importedFrom: String?
    /// The checkpoint a `pretrain --init-from` run started from (absolute path) and its CRC-32 then; nil otherwise.
    public var initFrom: String?
    public var initFromCRC32: UInt32?

    public init() {}
}
