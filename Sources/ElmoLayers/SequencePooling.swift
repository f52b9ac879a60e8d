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
        x.withPointer { px in
            y.withMutablePointer { py in
                cache.argmax.withUnsafeMutableBufferPointer { am in
                    for s in 0..<b {
                        let n = lengths[s], base = px + s * t * d
                        for (k, part) in parts.enumerated() {
                            let out = py + s * width + k * d
                            switch part {
                            case .max:
                                Kernels.maxOverTime(base, tokens: 1, steps: n, features: d, y: out, yStride: d, argmax: am.baseAddress! + s * d)
                            case .mean:
                                for step in 0..<n { Kernels.axpy(1 / Float(n), base + step * d, out, d) }
                            case .last:
                                out.update(from: base + (n - 1) * d, count: forwardFeatures)
                                (out + forwardFeatures).update(from: base + forwardFeatures, count: backwardFeatures)
                            case .concat:
                                preconditionFailure("concat is expanded into its parts")
                            }
                        }
                    }
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
        dy.withPointer { pdy in
            dx.withMutablePointer { pdx in
                cache.argmax.withUnsafeBufferPointer { am in
                    for s in 0..<b {
                        let n = cache.lengths[s], base = pdx + s * t * d
                        for (k, part) in parts.enumerated() {
                            let g = pdy + s * width + k * d
                            switch part {
                            case .max:
                                Kernels.maxOverTimeBackward(g, dyStride: d, argmax: am.baseAddress! + s * d, tokens: 1, steps: n,
                                                            features: d, dx: base)
                            case .mean:
                                for step in 0..<n { Kernels.axpy(1 / Float(n), g, base + step * d, d) }
                            case .last:
                                Kernels.axpy(1, g, base + (n - 1) * d, forwardFeatures)
                                Kernels.axpy(1, g + forwardFeatures, base + forwardFeatures, backwardFeatures)
                            case .concat:
                                preconditionFailure("concat is expanded into its parts")
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
