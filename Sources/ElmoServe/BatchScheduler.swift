import Foundation

/// One kind of batched work (embedding, one task model's predictions, scoring): how a batch of sentences is run.
/// Only jobs of the same kind share a batch.
final class BatchKind: @unchecked Sendable {
    /// One result per sentence, in order. Called on a compute thread, one batch at a time per thread.
    let compute: ([[String]]) -> [Any]

    init(compute: @escaping ([[String]]) -> [Any]) { self.compute = compute }
}

/// Dynamic batching: requests wait in one FIFO queue; a fixed pool of compute threads takes the oldest request and
/// the queued requests of its kind after it, up to `maxBatchTokens` tokens, and runs them as one batch, then hands
/// each request its own results. A thread waits for more requests until the batch is full or the oldest has waited
/// `maxWait`, whichever comes first, so a lone request is delayed by at most `maxWait`.
///
/// Batching changes no result beyond float rounding: every sentence is computed from a zero state, on its own,
/// whatever shares its batch (only the shapes of the matrix products change, so the last bits may; ≤ 1e-6 in tests).
/// Compute runs on plain threads, never on Swift's cooperative pool, so the HTTP side keeps answering (health,
/// metrics, refusals) while a batch runs.
final class BatchScheduler: @unchecked Sendable {
    struct QueueFull: Error {}

    private struct Job {
        let kind: BatchKind
        let sentences: [[String]]
        let tokens: Int
        let enqueued: Date
        let done: (Result<[Any], Error>) -> Void
    }

    private let condition = NSCondition()
    private var queue: [Job] = []
    private var queuedTokens = 0
    private var stopping = false
    private var threads: [Thread] = []
    private var running = 0

    let maxBatchTokens: Int
    let maxWait: TimeInterval
    let maxQueuedRequests: Int
    let metrics: ServeMetrics

    init(threads count: Int, maxBatchTokens: Int, maxWait: TimeInterval, maxQueuedRequests: Int, metrics: ServeMetrics) {
        self.maxBatchTokens = maxBatchTokens
        self.maxWait = maxWait
        self.maxQueuedRequests = maxQueuedRequests
        self.metrics = metrics
        for k in 0..<max(count, 1) {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "elmo-compute-\(k)"
            thread.stackSize = 8 << 20
            threads.append(thread)
        }
        running = threads.count
        threads.forEach { $0.start() }
    }

    /// Queues `sentences` and returns their results once their batch has run; throws `QueueFull` at once when
    /// `maxQueuedRequests` requests are already waiting.
    func run(_ kind: BatchKind, _ sentences: [[String]]) async throws -> [Any] {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard queue.count < maxQueuedRequests, !stopping else {
                continuation.resume(throwing: QueueFull())
                return
            }
            let tokens = sentences.reduce(0) { $0 + $1.count }
            queue.append(Job(kind: kind, sentences: sentences, tokens: tokens, enqueued: Date()) { continuation.resume(with: $0) })
            queuedTokens += tokens
            metrics.queueDepth(queue.count)
            condition.broadcast()
        }
    }

    /// Lets the threads finish every queued job, then ends them (returns once they have).
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func work() {
        while let batch = nextBatch() {
            let started = Date()
            let all = batch.flatMap(\.sentences)
            let results = batch[0].kind.compute(all)
            let seconds = Date().timeIntervalSince(started)
            metrics.batch(requests: batch.count, sentences: all.count, tokens: batch.reduce(0) { $0 + $1.tokens },
                          seconds: seconds, queueSeconds: batch.map { started.timeIntervalSince($0.enqueued) })
            var offset = 0
            for job in batch {
                job.done(.success(Array(results[offset..<(offset + job.sentences.count)])))
                offset += job.sentences.count
            }
        }
        condition.lock()
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until there is work; nil once stopping with an empty queue.
    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty { return nil }
            // Wait for company until the oldest request has waited maxWait or the batch is full.
            let deadline = queue[0].enqueued.addingTimeInterval(maxWait)
            if queuedTokens < maxBatchTokens && !stopping && Date() < deadline {
                condition.wait(until: deadline)
                continue  // re-check: another thread may have taken the queue meanwhile
            }
            let kind = queue[0].kind
            var batch: [Job] = [], rest: [Job] = [], tokens = 0
            for job in queue {
                if job.kind === kind && (batch.isEmpty || tokens + job.tokens <= maxBatchTokens) {
                    batch.append(job)
                    tokens += job.tokens
                } else {
                    rest.append(job)
                }
            }
            queue = rest
            queuedTokens -= tokens
            metrics.queueDepth(queue.count)
            return batch
        }
    }
}
