/// What `elmo serve` was asked to do: the models, the address, the batching and the limits.
public struct ServeSettings: Sendable {
    public var checkpoint: String
    /// Task models (classifiers, taggers) for `/v1/predict`, named by their path as given or its last component.
    public var taskModels: [String] = []
    /// 127.0.0.1 unless told otherwise: the server has no TLS, and an API key would travel in clear text.
    public var host = "127.0.0.1"
    /// 0 picks a free port (the `listening` log line names it).
    public var port = 8080
    /// Bearer token every `/v1/*` request must carry (compared in constant time); nil: no authentication.
    public var apiKey: String?

    /// Dynamic batching: a batch is cut when its requests hold this many tokens, or the oldest request has waited
    /// `maxWaitMilliseconds`, whichever comes first; within a batch, sub-batches hold at most this many padded tokens.
    public var maxBatchTokens = 4096
    public var maxWaitMilliseconds = 5
    /// Sentences per sub-batch at most (as `elmo embed --batch-size`).
    public var batchSize = 32
    /// Threads that run batches (each batch itself uses the `--threads` matrix-product threads).
    public var computeThreads = 1

    /// Limits; going over one is answered 413 (429 for the queue) with a JSON error naming it.
    public var maxBodyBytes = 1 << 20
    public var maxSentencesPerRequest = 256
    public var maxTokensPerRequest = 8192
    /// Longest sentence, in tokens (as `elmo embed --max-length`).
    public var maxLength = 1000
    /// Requests waiting for a compute thread at most.
    public var maxQueuedRequests = 256

    public init(checkpoint: String) { self.checkpoint = checkpoint }
}
