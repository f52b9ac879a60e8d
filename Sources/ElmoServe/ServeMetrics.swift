import Foundation
import Metrics
import Prometheus

/// The server's metrics, through swift-metrics into one Prometheus registry that `GET /metrics` prints:
/// requests and errors by route and status, batch sizes (requests, sentences, tokens), time in the queue, compute
/// time, tokens embedded and the tokens/s of the last batch, and the queue depth.
final class ServeMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    private let batchRequests, batchSentences, batchTokens: Metrics.Recorder
    private let queueTime, computeTime: Metrics.Timer
    private let tokens: Metrics.Counter
    private let tokensPerSecond, queued: Metrics.Gauge

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let counts: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        factory.valueHistogramBuckets = ["elmo_batch_requests": counts, "elmo_batch_sentences": counts,
                                         "elmo_batch_tokens": [16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384]]
        let times: [Duration] = [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                 .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                 .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
        factory.durationHistogramBuckets = ["elmo_queue_seconds": times, "elmo_batch_compute_seconds": times,
                                            "elmo_request_seconds": times]
        self.factory = factory
        batchRequests = Metrics.Recorder(label: "elmo_batch_requests", factory: factory)
        batchSentences = Metrics.Recorder(label: "elmo_batch_sentences", factory: factory)
        batchTokens = Metrics.Recorder(label: "elmo_batch_tokens", factory: factory)
        queueTime = Metrics.Timer(label: "elmo_queue_seconds", factory: factory)
        computeTime = Metrics.Timer(label: "elmo_batch_compute_seconds", factory: factory)
        tokens = Metrics.Counter(label: "elmo_tokens_total", factory: factory)
        tokensPerSecond = Metrics.Gauge(label: "elmo_tokens_per_second", factory: factory)
        queued = Metrics.Gauge(label: "elmo_queue_requests", factory: factory)
    }

    /// One answered request (errors are the 4xx and 5xx statuses).
    func request(route: String, status: Int, seconds: Double) {
        Metrics.Counter(label: "elmo_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory).increment()
        if status >= 400 {
            Metrics.Counter(label: "elmo_request_errors_total", dimensions: [("route", route), ("status", String(status))], factory: factory).increment()
        }
        Metrics.Timer(label: "elmo_request_seconds", dimensions: [("route", route)], factory: factory).recordSeconds(seconds)
    }

    func batch(requests: Int, sentences: Int, tokens count: Int, seconds: Double, queueSeconds: [Double]) {
        batchRequests.record(requests)
        batchSentences.record(sentences)
        batchTokens.record(count)
        computeTime.recordSeconds(seconds)
        for wait in queueSeconds { queueTime.recordSeconds(wait) }
        tokens.increment(by: count)
        tokensPerSecond.record(Double(count) / max(seconds, 1e-9))
    }

    func queueDepth(_ requests: Int) { queued.record(requests) }

    /// The Prometheus text exposition of everything recorded so far.
    func exposition() -> String { registry.emitToString() }
}
