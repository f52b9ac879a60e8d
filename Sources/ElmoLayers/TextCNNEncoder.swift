import ElmoTensor

/// Kim (2014)'s sentence CNN: for each width w (3, 4, 5), `c_w[b, p, :] = relu(x[b, p..<p+w, :]·W_w + b_w)` over the
/// window start positions p, then a masked max over p; the outputs of all widths are concatenated.
///
/// B batch, T steps, D = `inputSize`, N = `filtersPerWidth`, K = `widths.count`. x `[B, T, D]`, lengths `[B]` →
/// `[B, K·N]`. A sentence of length n has max(n − w + 1, 1) windows: one shorter than w still gets one window,
/// holding the sentence and zeros after it (the input is zeroed at padding), as Kim's zero padding does. So
/// neither the padding nor the batch's other sentences change a sentence's output.
/// `weights[k]` is `[w·D, N]` (a window's rows flattened, so each width is one im2col + gemm), `biases[k]` `[N]`;
/// init uniform in ±1/√(w·D) (PyTorch's Conv1d default).
public final class TextCNNEncoder: Layer {
    public let inputSize: Int
    public let filtersPerWidth: Int
    public let widths: [Int]
    public let weights: [Parameter]
    public let biases: [Parameter]

    public init(inputSize: Int, filtersPerWidth: Int, widths: [Int] = [3, 4, 5], name: String, rng: inout RandomGenerator) {
        precondition(inputSize > 0 && filtersPerWidth > 0 && !widths.isEmpty && widths.allSatisfy { $0 > 0 },
                     "TextCNNEncoder needs positive sizes, but input is \(inputSize), filters \(filtersPerWidth), widths \(widths).")
        self.inputSize = inputSize
        self.filtersPerWidth = filtersPerWidth
        self.widths = widths
        var weights: [Parameter] = [], biases: [Parameter] = []
        for w in widths {
            let limit = 1 / Float(w * inputSize).squareRoot()
            weights.append(Parameter(name: "\(name)/conv_\(w)/weight", value: .uniform([w * inputSize, filtersPerWidth], limit: limit, rng: &rng)))
            biases.append(Parameter(name: "\(name)/conv_\(w)/bias", value: .uniform([filtersPerWidth], limit: limit, rng: &rng)))
        }
        self.weights = weights
        self.biases = biases
    }

    public var parameters: [Parameter] { zip(weights, biases).flatMap { [$0, $1] } }
    public var outputSize: Int { widths.count * filtersPerWidth }

    /// What backward reads, per width: the im2col windows and the relu outputs; the argmax of each max-pool.
    public struct Cache {
        var batch = 0
        var steps = 0
        /// Steps after padding up to the widest window, max(T, max width).
        var paddedSteps = 0
        var lengths: [Int] = []
        /// `[B·P_w, w·D]` per width, P_w = paddedSteps − w + 1.
        var columns: [Tensor] = []
        /// relu(columns·W + b), `[B·P_w, N]` per width.
        var activations: [Tensor] = []
        /// Winning window per sentence and filter, `[B·N]` per width.
        var argmax: [[Int32]] = []
        public init() {}
    }

    /// Windows of width w that sentence b has: max(n − w + 1, 1).
    static func windowCount(length: Int, width: Int) -> Int { max(length - width + 1, 1) }

    /// x `[B, T, D]`, lengths `[B]` (each in 1...T) → `[B, K·N]`.
    public func forward(_ x: Tensor, lengths: [Int], cache: inout Cache) -> Tensor {
        precondition(x.shape.count == 3 && x.shape[2] == inputSize && lengths.count == x.shape[0],
                     "TextCNNEncoder expects x [B, T, \(inputSize)] and B lengths, but got \(x.shape) and \(lengths.count) lengths.")
        let b = x.shape[0], t = x.shape[1], d = inputSize, n = filtersPerWidth, out = outputSize
        precondition(lengths.allSatisfy { $0 >= 1 && $0 <= t }, "TextCNNEncoder lengths must be in 1...\(t), but are \(lengths).")
        let padded = max(t, widths.max()!)
        let backend = Backends.current
        var xp = Tensor(zeros: [b, padded, d])
        var masked = x
        backend.zeroPadding(&masked, lengths: lengths)
        for s in 0..<b {
            backend.copy(masked.view(MatrixWindow(offset: s * t * d, rows: t, columns: d)), into: &xp,
                         MatrixWindow(offset: s * padded * d, rows: t, columns: d))
        }
        cache.batch = b
        cache.steps = t
        cache.paddedSteps = padded
        cache.lengths = lengths
        cache.columns = []
        cache.activations = []
        cache.argmax = []
        var y = Tensor(zeros: [b, out])
        for (k, w) in widths.enumerated() {
            let positions = padded - w + 1
            var columns = Tensor(zeros: [b * positions, w * d])
            backend.im2col(xp, sequences: b, steps: padded, features: d, width: w, into: &columns)
            var activation = Tensor(zeros: [b * positions, n])
            backend.matmul(columns, weights[k].value, into: &activation)
            backend.addRowVector(biases[k].value, to: &activation, activation.wholeWindow)
            backend.activate(.relu, &activation)
            var argmax = [Int32](repeating: 0, count: b * n)
            for s in 0..<b {
                let windows = MatrixWindow(offset: s * positions * n, rows: Self.windowCount(length: lengths[s], width: w), columns: n)
                backend.maxOverRows(activation.view(windows), into: &y, MatrixWindow(offset: s * out + k * n, rows: 1, columns: n),
                                    argmax: &argmax, argmaxOffset: s * n)
            }
            cache.columns.append(columns)
            cache.activations.append(activation)
            cache.argmax.append(argmax)
        }
        return y
    }

    /// dy `[B, K·N]` → dx `[B, T, D]` (zero at padding); accumulates dW, db of every width.
    ///
    /// In the forward pass this was y[b, k·N + f] = max_p relu(columns·W + b)[b, p, f], so: dy goes to the winning
    /// window, through relu (0 where the activation was 0), then dW += columnsᵀ·dPre, db += Σ dPre,
    /// dColumns = dPre·Wᵀ, folded back onto the padded input (col2im) and cropped to T.
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        let b = cache.batch, t = cache.steps, padded = cache.paddedSteps, d = inputSize, n = filtersPerWidth, out = outputSize
        precondition(dy.shape == [b, out], "TextCNNEncoder backward got dy \(dy.shape), but forward produced [\(b), \(out)].")
        let backend = Backends.current
        var dxp = Tensor(zeros: [b, padded, d])
        for (k, w) in widths.enumerated() {
            let positions = padded - w + 1
            var dActivation = Tensor(zeros: [b * positions, n])
            for s in 0..<b {
                let windows = MatrixWindow(offset: s * positions * n, rows: Self.windowCount(length: cache.lengths[s], width: w), columns: n)
                backend.maxOverRowsBackward(dy.view(MatrixWindow(offset: s * out + k * n, rows: 1, columns: n)), argmax: cache.argmax[k],
                                            argmaxOffset: s * n, into: &dActivation, windows)
            }
            var dPre = Tensor(zeros: [b * positions, n])
            backend.activateBackward(.relu, output: cache.activations[k], gradient: dActivation, into: &dPre)
            backend.matmul(cache.columns[k], dPre, transposeA: true, beta: 1, into: &weights[k].gradient)
            backend.addColumnSums(dPre.matrix, into: &biases[k].gradient)
            var dColumns = Tensor(zeros: [b * positions, w * d])
            backend.matmul(dPre, weights[k].value, transposeB: true, into: &dColumns)
            backend.col2imAdd(dColumns, sequences: b, steps: padded, features: d, width: w, into: &dxp)
        }
        var dx = Tensor(zeros: [b, t, d])
        for s in 0..<b {
            backend.copy(dxp.view(MatrixWindow(offset: s * padded * d, rows: t, columns: d)), into: &dx,
                         MatrixWindow(offset: s * t * d, rows: t, columns: d))
        }
        return dx.zeroingPadding(lengths: cache.lengths)
    }
}
