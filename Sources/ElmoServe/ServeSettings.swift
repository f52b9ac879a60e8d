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
    public var maxWaitMilliseconds = 2
    /// Sentences per sub-batch at most (as `elmo embed --batch-size`): a batch's sentences are sorted by length and
    /// run in groups of this many. Requests arrive in any order of length, so one large group would be padded to its
    /// longest; small groups of similar length waste less (4 measured fastest for `tiny-adam` on 2 threads, 8 about
    /// 15 % slower at 32 concurrent requests; larger models gain more from larger groups).
    public var batchSize = 4
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
