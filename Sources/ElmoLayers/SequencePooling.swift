import ElmoTensor

/// How a sequence of vectors becomes one vector.
public enum PoolingMode: String, Codable, CaseIterable, Sendable {
    /// Element-wise max over the real steps.
    case max
    /// Mean over the real steps.
    case mean
    /// The final state: step n − 1 (for the trailing `backwardFeatures`, which run right to left, step 0).
    case last
    /// `[last; max; mean]`, ULMFiT's concat pooling (Howard & Ruder 2018, §3.3).
    case concat
}

/// Masked pooling over time: `y[b] = pool(x[b, 0..<n_b])` — padding steps never take part.
///
/// B batch, T steps, D features. x `[B, T, D]`, lengths `[B]` (each in 1...T) → `[B, D]` (`[B, 3D]` for concat).
/// `backwardFeatures` marks the trailing features as a right-to-left direction (the second half of a biLSTM's or
/// biLM's `[→h; ←h]`): for `last` their final state is at step 0, not n − 1. Not a `Layer`: no parameters.
public struct SequencePooling {
    public let mode: PoolingMode
    public let backwardFeatures: Int

    public init(mode: PoolingMode, backwardFeatures: Int = 0) {
        precondition(backwardFeatures >= 0, "SequencePooling backwardFeatures must be >= 0, but is \(backwardFeatures).")
        self.mode = mode
        self.backwardFeatures = backwardFeatures
    }

    public func outputSize(inputSize: Int) -> Int { mode == .concat ? 3 * inputSize : inputSize }

    /// What backward reads: the shape, the lengths and the argmax of the max-pool.
    public struct Cache {
        var shape: [Int] = []
        var lengths: [Int] = []
        /// Winning step per sentence and feature, `[B·D]` (max and concat only).
        var argmax: [Int32] = []
        public init() {}
    }

    /// The parts of the output, in order.
    private var parts: [PoolingMode] { mode == .concat ? [.last, .max, .mean] : [mode] }

    /// x `[B, T, D]`, lengths `[B]` → `[B, D]` or `[B, 3D]`.
    public func forward(_ x: Tensor, lengths: [Int], cache: inout Cache) -> Tensor {
        precondition(x.shape.count == 3 && lengths.count == x.shape[0],
                     "SequencePooling expects x [B, T, D] and B lengths, but got \(x.shape) and \(lengths.count) lengths.")
        let b = x.shape[0], t = x.shape[1], d = x.shape[2], width = outputSize(inputSize: d)
        precondition(lengths.allSatisfy { $0 >= 1 && $0 <= t }, "SequencePooling lengths must be in 1...\(t), but are \(lengths).")
        precondition(backwardFeatures <= d, "SequencePooling: \(backwardFeatures) backward features of \(d).")
        cache.shape = x.shape
        cache.lengths = lengths
        cache.argmax = parts.contains(.max) ? [Int32](repeating: 0, count: b * d) : []
        var y = Tensor(zeros: [b, width])
        let forwardFeatures = d - backwardFeatures
        let backend = Backends.current
        for s in 0..<b {
            let n = lengths[s], sentence = MatrixWindow(offset: s * t * d, rows: n, columns: d)
            for (k, part) in parts.enumerated() {
                let out = MatrixWindow(offset: s * width + k * d, rows: 1, columns: d)
                switch part {
                case .max:
                    backend.maxOverRows(x.view(sentence), into: &y, out, argmax: &cache.argmax, argmaxOffset: s * d)
                case .mean:
                    for step in 0..<n { backend.axpy(1 / Float(n), x.view(.rows(step..<step + 1, columns: d, from: sentence)), into: &y, out) }
                case .last:
                    backend.copy(x.view(MatrixWindow(offset: sentence.offset + (n - 1) * d, rows: 1, columns: forwardFeatures)),
                                 into: &y, MatrixWindow(offset: out.offset, rows: 1, columns: forwardFeatures))
                    backend.copy(x.view(MatrixWindow(offset: sentence.offset + forwardFeatures, rows: 1, columns: backwardFeatures)),
                                 into: &y, MatrixWindow(offset: out.offset + forwardFeatures, rows: 1, columns: backwardFeatures))
                case .concat:
                    preconditionFailure("concat is expanded into its parts")
                }
            }
        }
        return y
    }

    /// dy `[B, D]` or `[B, 3D]` → dx `[B, T, D]`, zero at padding (each part's forward, differentiated: max routes
    /// to the winning step, mean spreads dy / n over the real steps, last copies to its step).
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        let b = cache.shape[0], t = cache.shape[1], d = cache.shape[2], width = outputSize(inputSize: d)
        precondition(dy.shape == [b, width], "SequencePooling backward got dy \(dy.shape), but forward produced [\(b), \(width)].")
        var dx = Tensor(zeros: cache.shape)
        let forwardFeatures = d - backwardFeatures
        let backend = Backends.current
        for s in 0..<b {
            let n = cache.lengths[s], sentence = MatrixWindow(offset: s * t * d, rows: n, columns: d)
            for (k, part) in parts.enumerated() {
                let g = dy.view(MatrixWindow(offset: s * width + k * d, rows: 1, columns: d))
                switch part {
                case .max:
                    backend.maxOverRowsBackward(g, argmax: cache.argmax, argmaxOffset: s * d, into: &dx, sentence)
                case .mean:
                    for step in 0..<n { backend.axpy(1 / Float(n), g, into: &dx, .rows(step..<step + 1, columns: d, from: sentence)) }
                case .last:
                    backend.axpy(1, dy.view(MatrixWindow(offset: g.window.offset, rows: 1, columns: forwardFeatures)), into: &dx,
                                 MatrixWindow(offset: sentence.offset + (n - 1) * d, rows: 1, columns: forwardFeatures))
                    backend.axpy(1, dy.view(MatrixWindow(offset: g.window.offset + forwardFeatures, rows: 1, columns: backwardFeatures)),
                                 into: &dx, MatrixWindow(offset: sentence.offset + forwardFeatures, rows: 1, columns: backwardFeatures))
                case .concat:
                    preconditionFailure("concat is expanded into its parts")
                }
            }
        }
        return dx
    }
}
