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
}

/// One process: the gradients already are the global ones.
public final class SingleProcessReducer: GradientReducer {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func reduce(_ gradients: GradientBuffer, loss: Double, targetCount: Int) throws -> Double { loss }
}

/// A reducer that combines the gradients bucket by bucket while backward still runs (PyTorch DDP's overlap), so
/// that communication hides behind the rest of the backward pass. One training step is `startStep` (after forward,
/// when the local loss is known), `bucketFinal` for each of `gradients.buckets` as backward finishes it, then
/// `finishStep`, which waits for the rest and returns the global mean loss. The sums are those of `reduce`.
public protocol OverlappingGradientReducer: GradientReducer {
    func startStep(_ gradients: GradientBuffer, loss: Double, targetCount: Int)
    /// Bucket `index` of the step's buffer holds its final local gradients; may be called from any thread.
    func bucketFinal(_ index: Int)
    func finishStep() throws -> Double
}
