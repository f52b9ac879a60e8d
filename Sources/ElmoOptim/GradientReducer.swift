import ElmoTensor

/// The point between backward and clipping where data-parallel ranks combine their gradients.
///
/// Each rank computes the mean loss and gradients over its own rows' targets; `reduce` turns them into the mean
/// over every rank's targets (the gradient one process with the whole batch would get, up to summation order),
/// in place in the parameters' gradients, and returns the global mean loss. With one process it changes nothing.
public protocol GradientReducer: AnyObject {
    /// This process's index, 0 ..< worldSize; rank 0 is the one that writes files.
    var rank: Int { get }
    var worldSize: Int { get }
    /// Combines `gradients` (this rank's mean over `targetCount` targets, loss `loss`) across ranks.
    func reduce(_ gradients: GradientBuffer, loss: Double, targetCount: Int) throws -> Double
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

/// One process: the gradients already are the global ones.
public final class SingleProcessReducer: GradientReducer {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func reduce(_ gradients: GradientBuffer, loss: Double, targetCount: Int) throws -> Double { loss }
}
