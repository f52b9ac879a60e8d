import ElmoTensor

/// A bidirectional LSTM over a padded batch: `y[b, t] = [→h_t; ←h_t]`, where →h runs over x[b, 0..<n_b] and ←h over
/// the same steps reversed *within the sentence's length* n_b, so the padding after a sentence never reaches its
/// real steps in either direction. Outputs (and input gradients) at padding are exactly zero.
///
/// B batch, T steps, I = `inputSize`, H = `hiddenSize`. x `[B, T, I]`, lengths `[B]` (each ≤ T) → y `[B, T, 2H]`.
/// Each direction is an `LSTMWithProjection` with projection size H and no clipping: a plain LSTM with an extra
/// `[H, H]` output projection (reused rather than duplicating the fused LSTM kernels; the projection costs one
/// small gemm per step and adds capacity, not a different function class). Forget bias +1 (Jozefowicz 2015).
///
/// Why padding cannot leak: both directions read their real steps first (the backward direction reads the
/// reversed sentence, padding still at the end), an LSTM step depends only on earlier steps, and the gradient at
/// padded outputs is zeroed before it enters the recurrence.
public final class MaskedBiLSTM: Layer {
    public let inputSize: Int
    public let hiddenSize: Int
    public let forwardLSTM: LSTMWithProjection
    public let backwardLSTM: LSTMWithProjection

    /// - Parameters:
    ///   - inputSize: features per step, I.
    ///   - hiddenSize: state size of each direction, H (the output has 2H features).
    public init(inputSize: Int, hiddenSize: Int, name: String, rng: inout RandomGenerator) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        forwardLSTM = LSTMWithProjection(inputSize: inputSize, cellSize: hiddenSize, projectionSize: hiddenSize,
                                         cellClip: nil, projectionClip: nil, name: "\(name)/forward", rng: &rng)
        backwardLSTM = LSTMWithProjection(inputSize: inputSize, cellSize: hiddenSize, projectionSize: hiddenSize,
                                          cellClip: nil, projectionClip: nil, name: "\(name)/backward", rng: &rng)
    }

    public var parameters: [Parameter] { forwardLSTM.parameters + backwardLSTM.parameters }
    public var outputSize: Int { 2 * hiddenSize }

    /// What backward reads: both directions' caches and the lengths.
    public struct Cache {
        var forward = LSTMWithProjection.Cache()
        var backward = LSTMWithProjection.Cache()
        var lengths: [Int] = []
        public init() {}
    }

    /// x `[B, T, I]`, lengths `[B]` → `[B, T, 2H]`, zero at padding.
    public func forward(_ x: Tensor, lengths: [Int], cache: inout Cache) -> Tensor {
        precondition(x.shape.count == 3 && x.shape[2] == inputSize && lengths.count == x.shape[0],
                     "MaskedBiLSTM expects x [B, T, \(inputSize)] and B lengths, but got \(x.shape) and \(lengths.count) lengths.")
        let b = x.shape[0], t = x.shape[1]
        precondition(lengths.allSatisfy { $0 >= 1 && $0 <= t }, "MaskedBiLSTM lengths must be in 1...\(t), but are \(lengths).")
        cache.lengths = lengths
        // The directions are independent: run them concurrently, one BLAS thread each (their products are too small
        // for a multi-threaded gemm to pay).
        var forwardCache = LSTMWithProjection.Cache(), backwardCache = LSTMWithProjection.Cache()
        let ((forwardOutput, _), (reversedOutput, _)) = Parallel.both(
            { self.forwardLSTM.forward(x, initial: self.forwardLSTM.zeroState(batch: b), cache: &forwardCache) },
            { self.backwardLSTM.forward(x.reversingSteps(lengths: lengths), initial: self.backwardLSTM.zeroState(batch: b),
                                        cache: &backwardCache) })
        cache.forward = forwardCache
        cache.backward = backwardCache
        return Tensor.concatenatingColumns(forwardOutput, reversedOutput.reversingSteps(lengths: lengths)).zeroingPadding(lengths: lengths)
    }

    /// dy `[B, T, 2H]` → dx `[B, T, I]` (zero at padding); accumulates both directions' parameter gradients.
    ///
    /// In the forward pass this was y = zeroPad([→h; reverse(←LSTM(reverse(x)))]), so: dy is zeroed at padding and
    /// split, the backward half is reversed before its LSTM's backward and the resulting dx reversed back.
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        let lengths = cache.lengths
        let (dForward, dBackward) = dy.zeroingPadding(lengths: lengths).splittingColumns(at: hiddenSize)
        var (dx, dxReversed) = Parallel.both(
            { self.forwardLSTM.backward(dForward, cache: cache.forward) },
            { self.backwardLSTM.backward(dBackward.reversingSteps(lengths: lengths), cache: cache.backward) })
        dx.add(dxReversed.reversingSteps(lengths: lengths))
        return dx.zeroingPadding(lengths: lengths)
    }
}
