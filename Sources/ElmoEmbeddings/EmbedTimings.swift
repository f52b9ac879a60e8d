import Dispatch
import Foundation

/// Seconds `elmo embed` spent in each stage, collected from the real export code (`EmbeddingExporter.timings`) so
/// that `elmo-bench --input` reports where the time of the path users run goes. With I/O overlapped the stages run
/// on three threads at once, so their sum exceeds the wall time: each is the busy time of its stage.
public final class EmbedTimings: @unchecked Sendable {
    public enum Stage: String, CaseIterable, Sendable {
        /// Reading lines (UTF-8 check, `.gz`), splitting tokens, checking lengths.
        case read
        /// Windows of long lines, batching by length and the character ids of each batch.
        case characterIds = "char_ids"
        /// Char CNN, highway and projection of the biLM pass.
        case encoder
        /// Both LSTM stacks (and assembling the layer outputs) of the biLM pass.
        case lstms
        /// Cutting each sentence's `[L+1, n, D]` out of its batch and joining split windows.
        case outputs
        /// Selecting the layers or pooling, and the writer (HDF5, npz, npy) up to closing the file.
        case write
    }

    private let lock = NSLock()
    private var seconds: [Stage: Double] = [:]

    public init() {}

    public func add(_ stage: Stage, _ value: Double) {
        lock.lock()
        seconds[stage, default: 0] += value
        lock.unlock()
    }

    /// Runs `body`, adding its wall-clock time to `stage`.
    @discardableResult
    public func measure<T>(_ stage: Stage, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { add(stage, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        return try body()
    }

    public subscript(stage: Stage) -> Double {
        lock.lock()
        defer { lock.unlock() }
        return seconds[stage, default: 0]
    }

    /// `{"read": s, "char_ids": s, …}` for JSON output.
    public var dictionary: [String: Double] {
        Dictionary(uniqueKeysWithValues: Stage.allCases.map { ($0.rawValue, self[$0]) })
    }
}

extension Optional where Wrapped == EmbedTimings {
    /// `body`, timed when a collector is present (the product path passes none and pays nothing).
    func measure<T>(_ stage: EmbedTimings.Stage, _ body: () throws -> T) rethrows -> T {
        guard let timings = self else { return try body() }
        return try timings.measure(stage, body)
    }
}
