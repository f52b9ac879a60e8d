import ElmoTensor

/// One GRU layer (Cho et al. 2014) running from a zero state, in the formulation of cuDNN and PyTorch's `nn.GRU`
/// (the reset gate multiplies the recurrent product, so all three recurrent products are one gemm per step):
///
///     a = x_t·Wx + bx                      [B, 3H], gate order r, z, n
///     g = h_{t-1}·Wh + bh                  [B, 3H]
///     r = σ(a_r + g_r),  z = σ(a_z + g_z)
///     n = tanh(a_n + r ⊙ g_n)
///     h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}      [B, H]
///
/// B batch, T steps, I = `inputSize`, H = `hiddenSize`. The input products of all B·T rows are one gemm; internal
/// buffers are time-major (`[T, B, ·]`) so each step's operands are contiguous. Weights `[in, out]` as the other
/// layers; init uniform in ±1/√H (PyTorch's GRU default).
public final class GRU: Layer {
    public let inputSize: Int
    public let hiddenSize: Int
    /// `[I, 3H]`
    public let inputWeight: Parameter
    /// `[3H]`
    public let inputBias: Parameter
    /// `[H, 3H]`
    public let recurrentWeight: Parameter
    /// `[3H]`
    public let recurrentBias: Parameter

    public init(inputSize: Int, hiddenSize: Int, name: String, rng: inout RandomGenerator) {
        precondition(inputSize > 0 && hiddenSize > 0, "GRU sizes must be positive: input \(inputSize), hidden \(hiddenSize).")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let limit = 1 / Float(hiddenSize).squareRoot(), g = 3 * hiddenSize
        inputWeight = Parameter(name: "\(name)/input_weight", value: .uniform([inputSize, g], limit: limit, rng: &rng))
        inputBias = Parameter(name: "\(name)/input_bias", value: .uniform([g], limit: limit, rng: &rng))
        recurrentWeight = Parameter(name: "\(name)/recurrent_weight", value: .uniform([hiddenSize, g], limit: limit, rng: &rng))
        recurrentBias = Parameter(name: "\(name)/recurrent_bias", value: .uniform([g], limit: limit, rng: &rng))
    }

    public var parameters: [Parameter] { [inputWeight, inputBias, recurrentWeight, recurrentBias] }

    /// What backward reads, all time-major.
    public struct Cache {
        var batch = 0
        var steps = 0
        /// The input, `[T·B, I]`.
        var input = Tensor(zeros: [0])
        /// r, z, n per step, `[T·B, 3H]`.
        var gates = Tensor(zeros: [0])
        /// g_n = (h_{t-1}·Wh + bh)_n per step, `[T·B, H]` (the reset gate's gradient needs it).
        var recurrentCandidate = Tensor(zeros: [0])
        /// h_{-1} = 0 followed by h_0 … h_{T-1}, `[(T+1)·B, H]`.
        var hidden = Tensor(zeros: [0])

        public init() {}
    }

    /// x `[B, T, I]` → h `[B, T, H]`, from a zero state.
    public func forward(_ x: Tensor, cache: inout Cache) -> Tensor {
        precondition(x.shape.count == 3 && x.shape[2] == inputSize, "GRU expects input [B, T, \(inputSize)], but got \(x.shape).")
        let B = x.shape[0], T = x.shape[1], I = inputSize, H = hiddenSize, G = 3 * H
        var input = Tensor(zeros: [T * B, I])
        var gates = Tensor(zeros: [T * B, G])  // first the input products a, then overwritten by r, z, n
        var candidate = Tensor(zeros: [T * B, H])
        var hidden = Tensor(zeros: [(T + 1) * B, H])
        var recurrent = Tensor(zeros: [B, G])
        let backend = Backends.current
        let wh = recurrentWeight.value.matrix
        backend.swapLeadingAxes(x, offset: 0, B, T, features: I, into: &input)
        backend.gemm(input.matrix, inputWeight.value.matrix, into: &gates, gates.wholeWindow)
        backend.addRowVector(inputBias.value, to: &gates, gates.wholeWindow)
        for t in 0..<T {
            backend.gemm(hidden.rowBlock(t * B..<(t + 1) * B, columns: H), wh, into: &recurrent, recurrent.wholeWindow)
            backend.addRowVector(recurrentBias.value, to: &recurrent, recurrent.wholeWindow)
            backend.gruGatesForward(gates: &gates, recurrent: recurrent, candidate: &candidate, hidden: &hidden, step: t, batch: B,
                                    hiddenSize: H)
        }
        var output = Tensor(zeros: [B, T, H])
        backend.swapLeadingAxes(hidden, offset: B * H, T, B, features: H, into: &output)
        cache.batch = B
        cache.steps = T
        cache.input = input
        cache.gates = gates
        cache.recurrentCandidate = candidate
        cache.hidden = hidden
        return output
    }

    /// dy `[B, T, H]` → dx `[B, T, I]`; accumulates all four parameter gradients (backprop through the T steps).
    ///
    /// Per step, going back: dn = dh ⊙ (1 − z), dz = dh ⊙ (h_{t-1} − n); the pre-activation gradients are
    /// da_n = dn ⊙ (1 − n²), da_z = dz ⊙ z(1 − z), da_r = da_n ⊙ g_n ⊙ r(1 − r); the recurrent products get
    /// dg = [da_r, da_z, da_n ⊙ r], and dh_{t-1} = dh ⊙ z + dg·Whᵀ. The weight gradients and dx are then one gemm
    /// each over all T·B rows, because da and dg are kept for every step.
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        let B = cache.batch, T = cache.steps, I = inputSize, H = hiddenSize, G = 3 * H
        precondition(dy.shape == [B, T, H], "GRU backward got dy \(dy.shape), but forward produced [\(B), \(T), \(H)].")
        var dh = Tensor(zeros: [T * B, H])  // dy_t, then the full dh_t, time-major
        var dInput = Tensor(zeros: [T * B, G])  // da
        var dRecurrent = Tensor(zeros: [T * B, G])  // dg
        let backend = Backends.current
        let wh = recurrentWeight.value.matrix
        backend.swapLeadingAxes(dy, offset: 0, B, T, features: H, into: &dh)
        for t in stride(from: T - 1, through: 0, by: -1) {
            backend.gruGatesBackward(gates: cache.gates, candidate: cache.recurrentCandidate, hidden: cache.hidden, dHidden: &dh,
                                     dInput: &dInput, dRecurrent: &dRecurrent, step: t, batch: B, hiddenSize: H)
            if t > 0 {
                backend.gemm(dRecurrent.rowBlock(t * B..<(t + 1) * B, columns: G), wh, transposeB: true, beta: 1, into: &dh,
                             .rows((t - 1) * B..<t * B, columns: H))
            }
        }
        backend.gemm(cache.hidden.rowBlock(0..<T * B, columns: H), transposeA: true, dRecurrent.matrix, beta: 1,
                     into: &recurrentWeight.gradient, recurrentWeight.gradient.wholeWindow)
        backend.addColumnSums(dRecurrent.matrix, into: &recurrentBias.gradient)
        backend.gemm(cache.input.matrix, transposeA: true, dInput.matrix, beta: 1, into: &inputWeight.gradient,
                     inputWeight.gradient.wholeWindow)
        backend.addColumnSums(dInput.matrix, into: &inputBias.gradient)
        var dxTimeMajor = Tensor(zeros: [T * B, I])
        var dx = Tensor(zeros: [B, T, I])
        backend.gemm(dInput.matrix, inputWeight.value.matrix, transposeB: true, into: &dxTimeMajor, dxTimeMajor.wholeWindow)
        backend.swapLeadingAxes(dxTimeMajor, offset: 0, T, B, features: I, into: &dx)
        return dx
    }
}
