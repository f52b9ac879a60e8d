import Foundation

/// The compute boundary: every operation the layers, losses, optimizers, ScalarMix and the CRF perform on tensor
/// storage. Layers hold tensors and call `Backends.current`; they do no pointer work, so a new backend (a GPU one)
/// replaces the implementations here, not the layers. `Sources/ElmoTensor/README.md` lists what an implementation
/// must provide and how it is tested against `ReferenceBackend`.
///
/// Conventions (all operations):
/// - Matrices are row-major windows (`MatrixWindow`) inside a tensor; the layer names the window, the backend does
///   the addressing. Time-major recurrent buffers are `[T·B, ·]` (`[(T+1)·B, ·]` when they also hold the initial
///   state), and a fused step kernel takes the step t and the batch B.
/// - "accumulates" means `+=` into the destination; everything else overwrites it.
/// - Shapes are checked by the caller (the layers state them); a backend checks only what keeps it memory-safe.
/// - Given the same inputs an operation is deterministic, whatever the thread budget (`BLAS.threads`).
public protocol Backend: AnyObject {
    /// `"cpu"` or `"reference"`, the value of `ELMO_BACKEND` that selects it.
    var name: String { get }

    // MARK: - Matrix products

    /// c[window] = alpha · op(a) · op(b) + beta · c[window], op = transpose when asked; `a` is `[M, K]` after op,
    /// `b` `[K, N]`, the window `[M, N]`. With beta = 0 the window's old contents are never read (NaN-safe).
    func gemm(_ a: MatrixView, transposeA: Bool, _ b: MatrixView, transposeB: Bool, alpha: Float, beta: Float,
              into c: inout Tensor, _ window: MatrixWindow)

    /// W = op(w) (`[K, N]`, op = transpose when asked) in the layout `gemm(_:packed:…)` reads.
    func pack(_ w: MatrixView, transpose: Bool) -> PackedWeight
    /// c[window] = a · W + beta · c[window] (beta 0: the old contents are never read), a `[M, K]`, W packed by this
    /// backend. Row i of the result depends only on row i of `a`, W and c's row i — bitwise, not on M, the row's
    /// position or the thread budget — so a token's encoding is the same in every batch (the token cache relies on it).
    func gemm(_ a: MatrixView, packed w: PackedWeight, beta: Float, into c: inout Tensor, _ window: MatrixWindow)

    // MARK: - Rows, columns, windows

    /// x[window][r, c] += v[c] (a bias on every row); v holds `window.columns` elements.
    func addRowVector(_ v: Tensor, to x: inout Tensor, _ window: MatrixWindow)
    /// v[c] += Σ_r x[r, c] (a bias gradient), rows in order; v holds `x.columns` elements.
    func addColumnSums(_ x: MatrixView, into v: inout Tensor)
    /// y[window] += alpha · x (equal window sizes).
    func axpy(_ alpha: Float, _ x: MatrixView, into y: inout Tensor, _ window: MatrixWindow)
    /// y[window] = x (equal window sizes).
    func copy(_ x: MatrixView, into y: inout Tensor, _ window: MatrixWindow)
    /// y[window] = value.
    func fill(_ y: inout Tensor, _ window: MatrixWindow, with value: Float)
    /// y[b, a, :] = x[offset + (a·B + b)·F ...] for x holding `[A, B, F]` from element `offset`, y `[B, A, F]`
    /// (the batch-major ↔ time-major transposition at the recurrent layers' boundaries).
    func swapLeadingAxes(_ x: Tensor, offset: Int, _ a: Int, _ b: Int, features: Int, into y: inout Tensor)
    /// x[b, t, :] = 0 for t ≥ lengths[b] (x `[B, T, ...]`).
    func zeroPadding(_ x: inout Tensor, lengths: [Int])
    /// x[indices[i]] = values[i].
    func setElements(_ x: inout Tensor, indices: [Int], values: [Float])

    // MARK: - Element-wise and reductions

    /// x *= alpha.
    func scale(_ x: inout Tensor, by alpha: Float)
    /// x[i] = clamp(x[i], −limit, limit) for i in `elements`.
    func clip(_ x: inout Tensor, elements: Range<Int>, limit: Float)
    /// g[i] = 0 where |values[valueOffset + i − elements.lowerBound]| ≥ limit (a clip passes no gradient there).
    func zeroWhereClipped(_ g: inout Tensor, elements: Range<Int>, values: Tensor, valueOffset: Int, limit: Float)
    /// Σ x[i]², accumulated in Double.
    func sumOfSquares(_ x: Tensor) -> Double
    /// Σ x[i]·y[i] (Float products, Double sum).
    func dot(_ x: Tensor, _ y: Tensor) -> Double
    /// x[i] *= mask[i] (dropout, both directions).
    func multiply(_ x: inout Tensor, byMask mask: Tensor)
    /// x = act(x).
    func activate(_ activation: Kernels.Activation, _ x: inout Tensor)
    /// dx += dy · act'(·), written in terms of the activation's output y.
    func activateBackward(_ activation: Kernels.Activation, output y: Tensor, gradient dy: Tensor, into dx: inout Tensor)

    // MARK: - Softmax family (row-wise over `matrixShape`)

    func softmaxRows(_ x: inout Tensor)
    func logSoftmaxRows(_ x: inout Tensor)
    /// Replaces each row with a target ≥ 0 by its softmax; returns (Σ −log p(target) in Double, such rows).
    /// Rows with a negative target are left as they are.
    func softmaxCrossEntropy(_ logits: inout Tensor, targets: [Int32]) -> (lossSum: Double, count: Int)
    /// Each row's −log p(target) (0 where the target is < 0); `logits` is used as scratch.
    func negativeLogLikelihoods(_ logits: inout Tensor, targets: [Int32]) -> [Float]
    /// Softmax rows → scale · (softmax − onehot(target)); rows with a negative target become 0.
    func softmaxCrossEntropyGradient(_ probabilities: inout Tensor, targets: [Int32], scale: Float)
    /// out[n] = a[n, :] · table[ids[n], :] (0 where ids[n] < 0): the sampled softmax's true-class logits.
    func rowDots(_ a: Tensor, _ table: Tensor, ids: [Int32]) -> [Float]

    // MARK: - Gathers and scatters (embeddings, sampled softmax)

    /// out[n, :] = table[ids[n], :] → `[N, D]` (D = table's row width).
    func gatherRows(_ table: Tensor, ids: [Int32]) -> Tensor
    /// table[ids[n], :] += scales[n] · x[n, :] (scale 1 when `scales` is nil), n in order; ids < 0 are skipped.
    /// The row width is x.count / ids.count.
    func scatterAddRows(_ x: Tensor, scales: [Float]?, ids: [Int32], into table: inout Tensor)
    /// y[n, :] += scales[n] · table[ids[n], :]; ids < 0 are skipped.
    func addGatheredRows(_ table: Tensor, ids: [Int32], scales: [Float], into y: inout Tensor)

    // MARK: - Fused recurrent steps (time-major buffers)

    /// LSTM step t (gate order i, j, f, o): gates rows t·B..<(t+1)·B of `[T·B, 4C]` hold pre-activations and
    /// receive σ(i), tanh(j), σ(f + forgetBias), σ(o); cells `[(T+1)·B, C]` rows t are c_{t−1}, rows t+1 receive
    /// c_t = clip(f·c_{t−1} + i·j); cellOutputs `[T·B, C]` rows t receive m_t = o·tanh(c_t). cellClip ≤ 0: none.
    func lstmGatesForward(gates: inout Tensor, cells: inout Tensor, cellOutputs: inout Tensor, step: Int, batch: Int,
                          cellSize: Int, forgetBias: Float, cellClip: Float)
    /// Backward of step t: given dm `[B, C]` and dc `[B, C]` (from step t+1), writes dGates rows t and overwrites dc
    /// with the gradient for c_{t−1}. A clipped cell passes no gradient.
    func lstmGatesBackward(gates: Tensor, cells: Tensor, dm: Tensor, dc: inout Tensor, dGates: inout Tensor, step: Int,
                           batch: Int, cellSize: Int, cellClip: Float)
    /// GRU step t (gate order r, z, n; `GRU.swift` has the formulas): gates rows t of `[T·B, 3H]` hold the input
    /// products a and receive r, z, n; recurrent `[B, 3H]` holds h_{t−1}·Wh + bh; candidate rows t receive its
    /// n-part; hidden `[(T+1)·B, H]` rows t+1 receive h_t.
    func gruGatesForward(gates: inout Tensor, recurrent: Tensor, candidate: inout Tensor, hidden: inout Tensor,
                         step: Int, batch: Int, hiddenSize: Int)
    /// Backward of GRU step t: reads dHidden rows t, writes dInput and dRecurrent rows t, and adds dh·z into
    /// dHidden rows t−1 (when t > 0).
    func gruGatesBackward(gates: Tensor, candidate: Tensor, hidden: Tensor, dHidden: inout Tensor, dInput: inout Tensor,
                          dRecurrent: inout Tensor, step: Int, batch: Int, hiddenSize: Int)

    // MARK: - Char CNN and highway

    /// The char convolution fused with its max over positions (`Kernels.charConvolutionMax`): tables `[width, V, F]`,
    /// chars `[N, W]`; writes y[n, columnOffset + f] and argmax[n, columnOffset + f] (row stride: y's columns).
    /// The backend may split the tokens across threads.
    func charConvolutionMax(tables: Tensor, chars: [Int32], tokens: Int, charsPerToken: Int, width: Int,
                            into y: inout Tensor, argmax: inout [Int32], columnOffset: Int)
    /// dTables[o, chars[n, argmax + o], f] += dy[n, columnOffset + f] (dTables `[width, V, F]`).
    func charConvolutionMaxBackward(_ dy: Tensor, argmax: [Int32], columnOffset: Int, chars: [Int32], tokens: Int,
                                    charsPerToken: Int, width: Int, into dTables: inout Tensor)
    /// Highway: h `[N, 2F]` holds [u | v], receives [f(u) | g]; y = g·x + (1 − g)·f(u).
    func highwayForward(_ h: inout Tensor, input x: Tensor, into y: inout Tensor, activation: Kernels.Activation)
    /// Backward of `highwayForward`: dx += dy·g; dh (overwritten) = [dy·(1 − g)·f'(u) | dy·(x − f(u))·g·(1 − g)].
    func highwayBackward(_ h: Tensor, input x: Tensor, gradient dy: Tensor, dh: inout Tensor, dx: inout Tensor,
                         activation: Kernels.Activation)

    // MARK: - Pooling and windows over time

    /// y[window] (one row of F) = max over the rows of x (`[steps, F]`); argmax[argmaxOffset + f] = winning row
    /// (first on ties).
    func maxOverRows(_ x: MatrixView, into y: inout Tensor, _ window: MatrixWindow, argmax: inout [Int32], argmaxOffset: Int)
    /// dx[window][argmax[argmaxOffset + f], f] += dy[f].
    func maxOverRowsBackward(_ dy: MatrixView, argmax: [Int32], argmaxOffset: Int, into dx: inout Tensor, _ window: MatrixWindow)
    /// columns `[N·P, width·D]` = windows of `width` consecutive steps of x `[N, steps, D]`, P = steps − width + 1.
    func im2col(_ x: Tensor, sequences: Int, steps: Int, features: Int, width: Int, into columns: inout Tensor)
    /// Adjoint of `im2col`: dx += fold(columns).
    func col2imAdd(_ columns: Tensor, sequences: Int, steps: Int, features: Int, width: Int, into dx: inout Tensor)

    // MARK: - Optimizer updates (fused, element-wise over one parameter)

    /// p −= lr · (g + wd·p).
    func sgdUpdate(_ p: inout Tensor, gradient: Tensor, learningRate: Float, weightDecay: Float)
    /// torch SGD with momentum: b = μ·b + g + wd·p; p −= lr · (nesterov ? g + μ·b : b).
    func sgdMomentumUpdate(_ p: inout Tensor, gradient: Tensor, buffer: inout Tensor, learningRate: Float, momentum: Float,
                           nesterov: Bool, weightDecay: Float)
    /// g = ∇ + wd·p; a += g²; p −= lr · g / (√a + ε).
    func adagradUpdate(_ p: inout Tensor, gradient: Tensor, accumulator: inout Tensor, learningRate: Float, epsilon: Float,
                       weightDecay: Float)
    /// g = ∇ + l2·p; m = β₁m + (1 − β₁)g; v = β₂v + (1 − β₂)g²; p = p·shrink − stepSize · m / (√v · invRootC2 + ε).
    func adamUpdate(_ p: inout Tensor, gradient: Tensor, firstMoment: inout Tensor, secondMoment: inout Tensor, _ step: AdamStep)

    // MARK: - ScalarMix layer norm

    /// x̂ = (x − μ)/σ, μ and σ² over the elements of rows whose mask is true (all rows when nil), σ² + 1e-12;
    /// returns (x̂, 1/σ).
    func maskedLayerNorm(_ x: Tensor, rowMask: [Bool]?, features: Int) -> (Tensor, Float)
    /// Backward of `maskedLayerNorm` given x̂ and 1/σ.
    func maskedLayerNormBackward(_ g: Tensor, normalized: Tensor, inverseStd: Float, rowMask: [Bool]?, features: Int) -> Tensor

    // MARK: - Linear-chain CRF (recursions in Double)

    /// Σ over sentences of NLL = log Z − score(gold); also α `[B, T, K]` and log Z per sentence for backward.
    func crfNegativeLogLikelihood(emissions: Tensor, tags: [Int32], lengths: [Int], transitions: Tensor, start: Tensor,
                                  end: Tensor) -> CRFForwardResult
    /// Gradient of scale · Σ NLL: returns dEmissions `[B, T, K]` (0 at padding), accumulates the parameter gradients.
    func crfBackward(emissions: Tensor, tags: [Int32], lengths: [Int], forward: CRFForwardResult, transitions: Tensor,
                     start: Tensor, end: Tensor, scale: Float, transitionsGradient: inout Tensor,
                     startGradient: inout Tensor, endGradient: inout Tensor) -> Tensor
    /// Best path per sentence. `transitions` `[K·K]` from → to, `start`, `end` `[K]`, −∞ where forbidden; ties go to
    /// the lower tag. Returns nil for a sentence no allowed path reaches (the caller reports it).
    func crfViterbi(emissions: Tensor, lengths: [Int], transitions: [Double], start: [Double], end: [Double]) -> [[Int32]?]
}

/// The scalars of one Adam step (`Backend.adamUpdate`).
public struct AdamStep: Sendable {
    public var beta1: Float, beta2: Float, epsilon: Float
    /// Coupled L2 (Adam) or 0 (AdamW).
    public var l2: Float
    /// 1 − lr·weightDecay (AdamW) or 1 (Adam).
    public var shrink: Float
    /// lr / (1 − β₁ᵗ).
    public var stepSize: Float
    /// 1 / √(1 − β₂ᵗ).
    public var inverseRootCorrection2: Float

    public init(beta1: Float, beta2: Float, epsilon: Float, l2: Float, shrink: Float, stepSize: Float, inverseRootCorrection2: Float) {
        (self.beta1, self.beta2, self.epsilon, self.l2, self.shrink) = (beta1, beta2, epsilon, l2, shrink)
        (self.stepSize, self.inverseRootCorrection2) = (stepSize, inverseRootCorrection2)
    }
}

/// What the CRF forward pass keeps for backward.
public struct CRFForwardResult: Sendable {
    public var total: Double
    /// `[B, T, K]`, α[b, t, j] = log Σ over prefixes ending in j at t of exp(score so far).
    public var alphas: [Double]
    /// `[B]`
    public var logPartitions: [Double]

    public init(total: Double, alphas: [Double], logPartitions: [Double]) {
        (self.total, self.alphas, self.logPartitions) = (total, alphas, logPartitions)
    }
}

extension Backend {
    /// c = alpha · op(a) · op(b) + beta · c for whole tensors seen as matrices (`matrixShape`).
    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1,
                       beta: Float = 0, into c: inout Tensor) {
        let (ar, ac) = a.matrixShape, (br, bc) = b.matrixShape
        let m = transposeA ? ac : ar, k = transposeA ? ar : ac
        let kb = transposeB ? bc : br, n = transposeB ? br : bc
        precondition(k == kb, "matmul inner sizes differ: a \(a.shape) (transposeA \(transposeA)), b \(b.shape) (transposeB \(transposeB)).")
        precondition(c.count == m * n, "matmul output \(c.shape) does not hold [\(m), \(n)].")
        gemm(a.matrix, transposeA: transposeA, b.matrix, transposeB: transposeB, alpha: alpha, beta: beta, into: &c,
             MatrixWindow(rows: m, columns: n))
    }

    /// gemm with the defaults spelled out once: no transposes, alpha 1, beta 0.
    public func gemm(_ a: MatrixView, transposeA: Bool = false, _ b: MatrixView, transposeB: Bool = false,
                     beta: Float = 0, into c: inout Tensor, _ window: MatrixWindow) {
        gemm(a, transposeA: transposeA, b, transposeB: transposeB, alpha: 1, beta: beta, into: &c, window)
    }

    /// W = w (`[K, N]`, a whole tensor as a matrix) packed for `gemm(_:packed:…)`.
    public func pack(_ w: Tensor) -> PackedWeight { pack(w.matrix, transpose: false) }

    /// y += alpha · x for whole tensors of equal element count.
    public func axpy(_ alpha: Float, _ x: Tensor, into y: inout Tensor) {
        precondition(x.count == y.count, "axpy: \(x.shape) and \(y.shape) hold different element counts.")
        let window = MatrixWindow(rows: 1, columns: x.count)
        axpy(alpha, x.view(window), into: &y, window)
    }
}

/// Which backend the process uses: `ELMO_BACKEND=reference|cpu` (default cpu), read once on first use; tests set
/// `current` directly (or run the suite with the variable set).
public enum Backends {
    nonisolated(unsafe) public static var current: any Backend = fromEnvironment()

    /// The backend `ELMO_BACKEND` names; an unknown name stops the process with the accepted values.
    public static func fromEnvironment() -> any Backend {
        let value = ProcessInfo.processInfo.environment["ELMO_BACKEND"] ?? "cpu"
        guard let backend = named(value) else {
            preconditionFailure("ELMO_BACKEND is \"\(value)\"; use cpu (the default) or reference.")
        }
        return backend
    }

    /// `"cpu"` → `CPUBackend`, `"reference"` → `ReferenceBackend`, anything else nil.
    public static func named(_ name: String) -> (any Backend)? {
        switch name {
        case "cpu", "": return CPUBackend()
        case "reference": return ReferenceBackend()
        default: return nil
        }
    }

    /// Runs `body` with `backend` as the current one, then restores the previous (for tests).
    public static func with<R>(_ backend: any Backend, _ body: () throws -> R) rethrows -> R {
        let saved = current
        current = backend
        defer { current = saved }
        return try body()
    }
}
