import ArgumentParser
import ElmoServe
import Foundation

/// `elmo serve`: the embedder (and task models) over HTTP with dynamic batching.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve contextual embeddings, task predictions and sentence scores over HTTP (JSON), with dynamic batching.",
        discussion: """
        POST /v1/embed {"sentences": [["tok", ...], ...]} or {"texts": ["raw text", ...]} (split on whitespace, as \
        `embed`), options "layers": "all"|"top"|"average" (default top) and "pooling": "none"|"mean"|"max" (default \
        none). Answer: {"model", "dim", "layers", "pooling", "embeddings"}, embeddings[i] being [L+1][n_i][D] for all, \
        [n_i][D] for top/average, [D] when pooled: the numbers `elmo embed` writes. With pooling, \
        `Accept: application/x-npy` returns one (N, D) .npy array instead.

        POST /v1/predict (same body, plus "model" when several --model are loaded): {"model", "kind", \
        "predictions"}, a classifier's {"label", "probability", "probabilities"} or a tagger's {"tokens", "tags"} per \
        sentence, as `elmo predict`. POST /v1/score: {"model", "scores"}, each {"tokens", "forward_logprob", \
        "backward_logprob", "logprob", "perplexity"} as `elmo score` (checkpoints with a softmax).

        GET /health: 200 once the models are loaded (503 before). GET /metrics: Prometheus text (requests, errors, \
        batch sizes, queue time, tokens/s).

        Concurrent requests are queued and run together: a batch is cut at --max-batch-tokens tokens or when its \
        oldest request has waited --max-wait-ms, on --compute-threads threads. Each sentence is computed from a zero \
        state on its own, so batching changes its vectors only by float rounding (matrix products of other shapes; \
        within 1e-6 of `elmo embed`, as the tests check).

        Over a limit: 413 (429 when --max-queue requests wait, with \
        Retry-After) and a JSON error naming the limit; malformed JSON or wrong types: 400 naming the field; with \
        --api-key, /v1/* answers 401 without `Authorization: Bearer KEY`. Logs are JSON lines on stderr (the \
        "listening" line names the port, useful with --port 0). SIGTERM or SIGINT: stop accepting, finish the \
        requests in flight, exit 0.
        """)

    @Option(help: "A checkpoint file or a run folder (the biLM to embed with).")
    var checkpoint: String

    @Option(name: .customLong("model"), help: "A fine-tuned classifier or tagger for /v1/predict (repeat for several).")
    var models: [String] = []

    @Option(help: "Address to bind: 127.0.0.1 (this machine only) unless you mean to expose the server; there is no TLS.")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0: any free port, named in the `listening` log line).")
    var port = 8080

    @Option(help: "Require `Authorization: Bearer KEY` on /v1/* (compared in constant time).")
    var apiKey: String?

    @Option(help: "Tokens per dynamic batch at most (requests are joined up to this; a larger request runs alone); also the padded-token budget of its sub-batches.")
    var maxBatchTokens = 4096

    @Option(help: "How long a request may wait for others to join its batch, in milliseconds.")
    var maxWaitMs = 2

    @Option(help: "Sentences per sub-batch: a dynamic batch is sorted by length and run in groups of at most this many (small groups of similar length waste less padding than one large batch of mixed lengths).")
    var batchSize = 4

    @Option(help: "Threads running batches (each uses --threads for its matrix products).")
    var computeThreads = 1

    @Option(help: "Largest request body, in bytes (413 past it).")
    var maxBodyBytes = 1 << 20

    @Option(help: "Sentences per request at most (413 past it).")
    var maxSentencesPerRequest = 256

    @Option(help: "Tokens per request at most (413 past it).")
    var maxTokensPerRequest = 8192

    @OptionGroup var maxLength: MaxLengthOption

    @Option(help: "Requests waiting for a compute thread at most (429 past it).")
    var maxQueue = 256

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, not \(port).") }
        for (name, value) in [("batch-size", batchSize), ("max-batch-tokens", maxBatchTokens), ("compute-threads", computeThreads), ("max-body-bytes", maxBodyBytes),
                              ("max-sentences-per-request", maxSentencesPerRequest), ("max-tokens-per-request", maxTokensPerRequest),
                              ("max-queue", maxQueue)] where value < 1 {
            throw ValidationError("--\(name) must be at least 1, not \(value).")
        }
        if maxWaitMs < 0 { throw ValidationError("--max-wait-ms must be at least 0, not \(maxWaitMs).") }
        if apiKey?.isEmpty == true { throw ValidationError("--api-key must not be empty.") }
    }

    func run() throws {
        threads.apply()
        var settings = ServeSettings(checkpoint: checkpoint)
        settings.taskModels = models
        settings.host = host
        settings.port = port
        settings.apiKey = apiKey
        settings.maxBatchTokens = maxBatchTokens
        settings.maxWaitMilliseconds = maxWaitMs
        settings.batchSize = batchSize
        settings.computeThreads = computeThreads
        settings.maxBodyBytes = maxBodyBytes
        settings.maxSentencesPerRequest = maxSentencesPerRequest
        settings.maxTokensPerRequest = maxTokensPerRequest
        settings.maxLength = maxLength.maxLength
        settings.maxQueuedRequests = maxQueue
        warnIfIncomplete(checkpoint)
        models.forEach(warnIfIncomplete)
        let server = EmbeddingServer(settings: settings)
        // The commands are synchronous; the server runs on Swift's concurrency pool while this thread waits.
        let finished = DispatchSemaphore(value: 0)
        let failure = ServeFailure()
        Task {
            do { try await server.run() } catch { failure.error = error }
            finished.signal()
        }
        finished.wait()
        if let error = failure.error {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    private final class ServeFailure: @unchecked Sendable { var error: Error? }
}
