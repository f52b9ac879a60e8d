import ElmoTensor

/// The point between backward and clipping where data-parallel ranks combine their gradients, and the few other
/// collectives a data-parallel run needs (checkpoint states to rank 0, rank 0's checkpoint to every rank).
///
/// Each rank computes the mean loss and gradients over its own rows' targets; `reduce` turns them into the mean
/// over every rank's targets (the gradient one process with the whole batch would get, up to summation order),
/// in place in the parameters' gradients, and returns the global mean loss. With one process it changes nothing.
public protocol GradientReducer: AnyObject {
    /// This process's index, 0 ..< worldSize; rank 0 is the one that writes files.
    var rank: Int { get }
    var worldSize: Int { get }
    /// Combines `gradients` (this rank's mean over `targetCount` targets, loss `loss`) across ranks. `stopRequested`
    /// (this rank got a stop signal) travels with the loss totals, so every rank learns at the same step whether any
    /// rank wants to stop, and all stop there together instead of some waiting for ever in the next all-reduce.
    func reduce(_ gradients: GradientBuffer, loss: Double, targetCount: Int, stopRequested: Bool) throws -> ReducedStep
    /// Rank 0 gets every rank's `values` laid end to end in rank order; the other ranks get `[]`. Every rank passes
    /// the same count.
    func gatherToRankZero(_ values: [Float]) throws -> [Float]
    /// Every rank gets rank 0's `bytes` (what the other ranks pass is ignored).
    func broadcastFromRankZero(_ bytes: [UInt8]) throws -> [UInt8]
    /// Compares every rank's `report` before anything is written; throws on every rank when one failed or they
    /// differ (a job whose ranks read different data or options would train nonsense, or hang).
    func requireAgreement(_ report: RankReport) throws
}

extension GradientReducer {
    /// One process agrees with itself (its own failure is for the caller to throw).
    public func requireAgreement(_ report: RankReport) throws {}
}

/// Ranks that cannot train together: every rank throws it, rank 0 reports `message`.
public struct RankDisagreement: Error, CustomStringConvertible {
    public var message: String
    /// The rank that throws it.
    public var rank: Int
    public init(message: String, rank: Int) {
        self.message = message
        self.rank = rank
    }
    public var description: String { message }
}

/// What `GradientReducer.reduce` agreed on.
public struct ReducedStep: Equatable {
    /// The mean loss over every rank's targets.
    public var loss: Double
    /// Whether any rank asked to stop after this step.
    public var stop: Bool

    public init(loss: Double, stop: Bool) {
        self.loss = loss
        self.stop = stop
    }
}

/// One process: the gradients already are the global ones.
public final class SingleProcessReducer: GradientReducer {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func reduce(_ gradients: GradientBuffer, loss: Double, targetCount: Int, stopRequested: Bool) throws -> ReducedStep {
        ReducedStep(loss: loss, stop: stopRequested)
    }
    public func gatherToRankZero(_ values: [Float]) throws -> [Float] { values }
    public func broadcastFromRankZero(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
}

/// A reducer that combines the gradients bucket by bucket while backward still runs (PyTorch DDP's overlap), so
/// that communication hides behind the rest of the backward pass. One training step is `startStep` (after forward,
/// when the local loss is known), `bucketFinal` for each of `gradients.buckets` as backward finishes it, then
/// `finishStep`, which waits for the rest and returns what `reduce` would (the same sums).
public protocol OverlappingGradientReducer: GradientReducer {
    /// Whether every rank runs on this host (their all-reduce is memory copies, not a network's wait): then the
    /// overlap only moves that CPU work onto the cores backward needs, and one all-reduce after backward is faster.
    var allRanksOnOneHost: Bool { get }
    func startStep(_ gradients: GradientBuffer, loss: Double, targetCount: Int, stopRequested: Bool)
    /// Bucket `index` of the step's buffer holds its final local gradients; may be called from any thread.
    func bucketFinal(_ index: Int)
    func finishStep() throws -> ReducedStep
}
