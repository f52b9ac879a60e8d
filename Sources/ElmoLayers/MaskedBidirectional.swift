import ElmoTensor

/// One direction of a `MaskedBidirectional` encoder: a recurrent layer that reads `[B, T, I]` from a zero state
/// and returns `[B, T, H]`, each step depending only on earlier steps.
public protocol RecurrentDirection: Layer {
    associatedtype Cache
    init(inputSize: Int, hiddenSize: Int, name: String, rng: inout RandomGenerator)
    static func emptyCache() -> Cache
    func forward(_ x: Tensor, cache: inout Cache) -> Tensor
    func backward(_ dy: Tensor, cache: Cache) -> Tensor
}

/// A bidirectional recurrent encoder over a padded batch: `y[b, t] = [→h_t; ←h_t]`, where →h runs over
/// x[b, 0..<n_b] and ←h over the same steps reversed *within the sentence's length* n_b, so the padding after a
/// sentence never reaches its real steps in either direction. Outputs (and input gradients) at padding are exactly
/// zero. The two directions run concurrently.
///
/// B batch, T steps, I = `inputSize`, H = `hiddenSize`. x `[B, T, I]`, lengths `[B]` (each ≤ T) → y `[B, T, 2H]`.
///
/// Why padding cannot leak: both directions read their real steps first (the backward direction reads the
/// reversed sentence, padding still at the end), a recurrent step depends only on earlier steps, and the gradient
/// at padded outputs is zeroed before it enters the recurrence.
public final class MaskedBidirectional<Direction: RecurrentDirection>: Layer {
    public let inputSize: Int
    public let hiddenSize: Int
    public let forwardDirection: Direction
    public let backwardDirection: Direction

    /// - Parameters:
    ///   - inputSize: features per step, I.
    ///   - hiddenSize: state size of each direction, H (the output has 2H features).
    public init(inputSize: Int, hiddenSize: Int, name: String, rng: inout RandomGenerator) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        forwardDirection = Direction(inputSize: inputSize, hiddenSize: hiddenSize, name: "\(name)/forward", rng: &rng)
        backwardDirection = Direction(inputSize: inputSize, hiddenSize: hiddenSize, name: "\(name)/backward", rng: &rng)
    }

    public var parameters: [Parameter] { forwardDirection.parameters + backwardDirection.parameters }
    public var outputSize: Int { 2 * hiddenSize }

    /// What backward reads: both directions' caches and the lengths.
    public struct Cache {
        var forward = Direction.emptyCache()
        var backward = Direction.emptyCache()
        var lengths: [Int] = []
        public init() {}
    }

    /// x `[B, T, I]`, lengths `[B]` → `[B, T, 2H]`, zero at padding.
    public func forward(_ x: Tensor, lengths: [Int], cache: inout Cache) -> Tensor {
        precondition(x.shape.count == 3 && x.shape[2] == inputSize && lengths.count == x.shape[0],
                     "\(Self.self) expects x [B, T, \(inputSize)] and B lengths, but got \(x.shape) and \(lengths.count) lengths.")
        let t = x.shape[1]
        precondition(lengths.allSatisfy { $0 >= 1 && $0 <= t }, "\(Self.self) lengths must be in 1...\(t), but are \(lengths).")
        cache.lengths = lengths
        // The directions are independent: run them concurrently, one BLAS thread each (their products are too small
        // for a multi-threaded gemm to pay).
        var forwardCache = Direction.emptyCache(), backwardCache = Direction.emptyCache()
        let (forwardOutput, reversedOutput) = Parallel.both(
            { self.forwardDirection.forward(x, cache: &forwardCache) },
            { self.backwardDirection.forward(x.reversingSteps(lengths: lengths), cache: &backwardCache) })
        cache.forward = forwardCache
        cache.backward = backwardCache
        return Tensor.concatenatingColumns(forwardOutput, reversedOutput.reversingSteps(lengths: lengths)).zeroingPadding(lengths: lengths)
    }

    /// dy `[B, T, 2H]` → dx `[B, T, I]` (zero at padding); accumulates both directions' parameter gradients.
    ///
    /// In the forward pass this was y = zeroPad([→h; reverse(←RNN(reverse(x)))]), so: dy is zeroed at padding and
    /// split, the backward half is reversed before its direction's backward and the resulting dx reversed back.
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        let lengths = cache.lengths
        let (dForward, dBackward) = dy.zeroingPadding(lengths: lengths).splittingColumns(at: hiddenSize)
        var (dx, dxReversed) = Parallel.both(
            { self.forwardDirection.backward(dForward, cache: cache.forward) },
            { self.backwardDirection.backward(dBackward.reversingSteps(lengths: lengths), cache: cache.backward) })
        dx.add(dxReversed.reversingSteps(lengths: lengths))
        return dx.zeroingPadding(lengths: lengths)
    }
}

/// The task heads' biLSTM. Each direction is an `LSTMWithProjection` with projection size H and no clipping: a
/// plain LSTM with an extra `[H, H]` output projection (reused rather than duplicating the fused LSTM kernels; the
/// projection costs one small gemm per step and adds capacity, not a different function class). Forget bias +1
/// (Jozefowicz 2015).
public typealias MaskedBiLSTM = MaskedBidirectional<LSTMWithProjection>

/// The task heads' biGRU (`--encoder gru`).
public typealias MaskedBiGRU = MaskedBidirectional<GRU>

extension LSTMWithProjection: RecurrentDirection {
    public convenience init(inputSize: Int, hiddenSize: Int, name: String, rng: inout RandomGenerator) {
        self.init(inputSize: inputSize, cellSize: hiddenSize, projectionSize: hiddenSize, cellClip: nil, projectionClip: nil,
                  name: name, rng: &rng)
    }

    public static func emptyCache() -> Cache { Cache() }

    public func forward(_ x: Tensor, cache: inout Cache) -> Tensor {
        forward(x, initial: zeroState(batch: x.shape[0]), cache: &cache).output
    }
}

extension GRU: RecurrentDirection {
    public static func emptyCache() -> Cache { Cache() }
}
