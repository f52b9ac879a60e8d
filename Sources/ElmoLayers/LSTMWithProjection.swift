import ElmoTensor

/// One LSTM layer with a projected (and clipped) recurrent state: TensorFlow's `LSTMCell(num_proj, cell_clip,
/// proj_clip)` as bilm-tf uses it, and `LSTMPLayer` of the PyTorch reference.
///
/// Per time step, with B batch, I = `inputSize`, C = `cellSize`, P = `projectionSize`:
///
///     gates = x_t·Wx + bx + h_{t-1}·Wh                     [B, 4C], gate order i, j, f, o
///     c_t   = clip(σ(f + forgetBias)·c_{t-1} + σ(i)·tanh(j), cellClip)
///     m_t   = σ(o)·tanh(c_t)                                [B, C]
///     h_t   = clip(m_t·Wp, projectionClip)                  [B, P]  (the recurrent state)
///     y_t   = h_t (+ x_t if `residual`)
///
/// The input projection of all B·T rows is one gemm; each step then adds one recurrent gemm, the fused gate
/// kernel and one projection gemm, both over weights packed once per pass (`Backend.pack`). Internal buffers are time-major (`[T, B, ·]`) so every step's gemm operands
/// are contiguous. Weights use TF's `[in, out]` layout; init as PyTorch's `nn.Linear` default, uniform in
/// ±1/√fan_in (I for `inputWeight` and `bias`, P for `recurrentWeight`, C for `projectionWeight`).
public final class LSTMWithProjection: Layer {
    public let inputSize: Int
    public let cellSize: Int
    public let projectionSize: Int
    public let cellClip: Float?
    public let projectionClip: Float?
    public let forgetBias: Float
    public let residual: Bool
    /// `[I, 4C]`
    public let inputWeight: Parameter
    /// `[4C]`
    public let bias: Parameter
    /// `[P, 4C]`
    public let recurrentWeight: Parameter
    /// `[C, P]`
    public let projectionWeight: Parameter

    public init(inputSize: Int, cellSize: Int, projectionSize: Int, cellClip: Float? = 3, projectionClip: Float? = 3,
                forgetBias: Float = 1, residual: Bool = false, name: String, rng: inout RandomGenerator) {
        precondition(inputSize > 0 && cellSize > 0 && projectionSize > 0,
                     "LSTMWithProjection sizes must be positive: input \(inputSize), cell \(cellSize), projection \(projectionSize).")
        precondition(!residual || inputSize == projectionSize,
                     "A residual LSTM needs inputSize == projectionSize, but they are \(inputSize) and \(projectionSize).")
        precondition((cellClip ?? 1) > 0 && (projectionClip ?? 1) > 0,
                     "Clip values must be positive (or nil for none): cellClip \(String(describing: cellClip)), projectionClip \(String(describing: projectionClip)).")
        self.inputSize = inputSize
        self.cellSize = cellSize
        self.projectionSize = projectionSize
        self.cellClip = cellClip
        self.projectionClip = projectionClip
        self.forgetBias = forgetBias
        self.residual = residual
        let gates = 4 * cellSize
        let inputLimit = 1 / Float(inputSize).squareRoot()
        inputWeight = Parameter(name: "\(name)/input_weight", value: .uniform([inputSize, gates], limit: inputLimit, rng: &rng))
        bias = Parameter(name: "\(name)/bias", value: .uniform([gates], limit: inputLimit, rng: &rng))
        recurrentWeight = Parameter(name: "\(name)/recurrent_weight",
                                    value: .uniform([projectionSize, gates], limit: 1 / Float(projectionSize).squareRoot(), rng: &rng))
        projectionWeight = Parameter(name: "\(name)/projection_weight",
                                     value: .uniform([cellSize, projectionSize], limit: 1 / Float(cellSize).squareRoot(), rng: &rng))
    }

    public var parameters: [Parameter] { [inputWeight, bias, recurrentWeight, projectionWeight] }

    /// The recurrent state carried between calls: projected output `h` `[B, P]` and cell `c` `[B, C]`.
    public struct State {
        public var h: Tensor
        public var c: Tensor

        public init(h: Tensor, c: Tensor) {
            self.h = h
            self.c = c
        }

        public static func zeros(batch: Int, cellSize: Int, projectionSize: Int) -> State {
            State(h: Tensor(zeros: [batch, projectionSize]), c: Tensor(zeros: [batch, cellSize]))
        }
    }

    public func zeroState(batch: Int) -> State {
        State.zeros(batch: batch, cellSize: cellSize, projectionSize: projectionSize)
    }

    /// What backward reads, all time-major. Reusing one cache across calls of equal shape reuses its storage.
    public struct Cache {
        var batch = 0
        var steps = 0
        /// The input, `[T·B, I]`.
        var input = Tensor(zeros: [0])
        /// Gate activations σ(i), tanh(j), σ(f + forgetBias), σ(o), `[T·B, 4C]`.
        var gates = Tensor(zeros: [0])
        /// c_{-1} (the initial cell) followed by c_0 … c_{T-1}, `[(T+1)·B, C]`.
        var cells = Tensor(zeros: [0])
        /// m_0 … m_{T-1}, `[T·B, C]`.
        var cellOutputs = Tensor(zeros: [0])
        /// h_{-1} (the initial state) followed by the clipped h_0 … h_{T-1}, `[(T+1)·B, P]`; rows 0..<T·B are
        /// the recurrent gemm inputs, rows B..<(T+1)·B the outputs.
        var hidden = Tensor(zeros: [0])

        public init() {}

        /// The memory cells c_0 … c_{T-1} of the last forward pass, batch-major `[B, T, C]` (after the cell clip),
        /// for looking inside the LSTM (interpretable cells).
        public var memoryCells: Tensor {
            let c = cells.count / max((steps + 1) * batch, 1)
            var out = Tensor(zeros: [batch, steps, c])
            Backends.current.swapLeadingAxes(cells, offset: batch * c, steps, batch, features: c, into: &out)
            return out
        }
    }

    /// x `[B, T, I]` → (output `[B, T, P]`, final state). `initial` is the carried state (truncated BPTT: no
    /// gradient flows into it).
    public func forward(_ x: Tensor, initial: State, cache: inout Cache) -> (output: Tensor, final: State) {
        precondition(x.shape.count == 3 && x.shape[2] == inputSize,
                     "LSTMWithProjection expects input [B, T, \(inputSize)], but got \(x.shape).")
        let B = x.shape[0], T = x.shape[1], I = inputSize, C = cellSize, P = projectionSize, G = 4 * C
        precondition(initial.h.count == B * P && initial.c.count == B * C,
                     "LSTMWithProjection initial state h \(initial.h.shape), c \(initial.c.shape) does not match batch \(B) (want [\(B), \(P)] and [\(B), \(C)]).")
        cache.batch = B
        cache.steps = T
        // Moved out of the cache so each buffer is uniquely referenced while the backend writes it.
        var input = Self.reuse(&cache.input, [T * B, I])
        var gates = Self.reuse(&cache.gates, [T * B, G])
        var cells = Self.reuse(&cache.cells, [(T + 1) * B, C])
        var cellOutputs = Self.reuse(&cache.cellOutputs, [T * B, C])
        var hidden = Self.reuse(&cache.hidden, [(T + 1) * B, P])
        var output = Tensor(zeros: [B, T, P])
        let cellClipValue = cellClip ?? 0
        let backend = Backends.current
        let wx = inputWeight.value.matrix
        // The per-step products have only B rows: packing their weights once per pass (not inside every step's
        // sgemm) is what makes small batches fast, and the packed product's rows do not depend on B.
        let wh = backend.pack(recurrentWeight.value), wp = backend.pack(projectionWeight.value)

        backend.swapLeadingAxes(x, offset: 0, B, T, features: I, into: &input)
        backend.gemm(input.matrix, wx, into: &gates, gates.wholeWindow)
        backend.addRowVector(bias.value, to: &gates, gates.wholeWindow)
        backend.copy(initial.c.rowBlock(0..<B, columns: C), into: &cells, .rows(0..<B, columns: C))
        backend.copy(initial.h.rowBlock(0..<B, columns: P), into: &hidden, .rows(0..<B, columns: P))
        for t in 0..<T {
            let step = t * B..<(t + 1) * B, next = (t + 1) * B..<(t + 2) * B
            backend.gemm(hidden.rowBlock(step, columns: P), packed: wh, beta: 1, into: &gates, .rows(step, columns: G))
            backend.lstmGatesForward(gates: &gates, cells: &cells, cellOutputs: &cellOutputs, step: t, batch: B, cellSize: C,
                                     forgetBias: forgetBias, cellClip: cellClipValue)
            backend.gemm(cellOutputs.rowBlock(step, columns: C), packed: wp, beta: 0, into: &hidden, .rows(next, columns: P))
            if let projectionClip { backend.clip(&hidden, elements: next.lowerBound * P..<next.upperBound * P, limit: projectionClip) }
        }
        backend.swapLeadingAxes(hidden, offset: B * P, T, B, features: P, into: &output)
        if residual { backend.axpy(1, x, into: &output) }

        let final = State(h: hidden.rows(T * B..<(T + 1) * B, shape: [B, P]), c: cells.rows(T * B..<(T + 1) * B, shape: [B, C]))
        cache.input = input
        cache.gates = gates
        cache.cells = cells
        cache.cellOutputs = cellOutputs
        cache.hidden = hidden
        return (output, final)
    }

    /// dy `[B, T, P]` → dx `[B, T, I]`; accumulates all four parameter gradients (backprop through the T steps).
    ///
    /// In the forward pass each step was `gates += h_{t-1}·Wh`, the gate kernel, `h_t = clip(m_t·Wp)`. Going
    /// back: dh_t = dy_t + dGates_{t+1}·Whᵀ (zero where h_t was clipped), dm_t = dh_t·Wpᵀ, the gate kernel's
    /// backward (which also carries dc to step t-1). Weight gradients and dx are then one gemm each over all
    /// T·B rows, because the per-step dh and dGates are kept.
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        let B = cache.batch, T = cache.steps, I = inputSize, C = cellSize, P = projectionSize, G = 4 * C
        precondition(dy.shape == [B, T, P], "LSTMWithProjection backward got dy \(dy.shape), but forward produced [\(B), \(T), \(P)].")
        var dh = Tensor(zeros: [T * B, P])  // dy_t, then the full (masked) dh_t, time-major
        var dGates = Tensor(zeros: [T * B, G])
        var dc = Tensor(zeros: [B, C])
        var dm = Tensor(zeros: [B, C])
        var dx = Tensor(zeros: [B, T, I])
        let cellClipValue = cellClip ?? 0
        let backend = Backends.current
        let wx = inputWeight.value.matrix
        let whT = backend.pack(recurrentWeight.value.matrix, transpose: true)
        let wpT = backend.pack(projectionWeight.value.matrix, transpose: true)

        backend.swapLeadingAxes(dy, offset: 0, B, T, features: P, into: &dh)
        for t in stride(from: T - 1, through: 0, by: -1) {
            let step = t * B..<(t + 1) * B
            if let projectionClip {
                backend.zeroWhereClipped(&dh, elements: step.lowerBound * P..<step.upperBound * P, values: cache.hidden,
                                         valueOffset: (t + 1) * B * P, limit: projectionClip)
            }
            backend.gemm(dh.rowBlock(step, columns: P), packed: wpT, beta: 0, into: &dm, dm.wholeWindow)
            backend.lstmGatesBackward(gates: cache.gates, cells: cache.cells, dm: dm, dc: &dc, dGates: &dGates, step: t, batch: B,
                                      cellSize: C, cellClip: cellClipValue)
            if t > 0 {
                backend.gemm(dGates.rowBlock(step, columns: G), packed: whT, beta: 1, into: &dh,
                             .rows((t - 1) * B..<t * B, columns: P))
            }
        }
        backend.gemm(cache.hidden.rowBlock(0..<T * B, columns: P), transposeA: true, dGates.matrix, beta: 1,
                     into: &recurrentWeight.gradient, recurrentWeight.gradient.wholeWindow)
        backend.gemm(cache.cellOutputs.matrix, transposeA: true, dh.matrix, beta: 1,
                     into: &projectionWeight.gradient, projectionWeight.gradient.wholeWindow)
        backend.gemm(cache.input.matrix, transposeA: true, dGates.matrix, beta: 1, into: &inputWeight.gradient,
                     inputWeight.gradient.wholeWindow)
        backend.addColumnSums(dGates.matrix, into: &bias.gradient)
        var dxTimeMajor = Tensor(zeros: [T * B, I])
        backend.gemm(dGates.matrix, wx, transposeB: true, into: &dxTimeMajor, dxTimeMajor.wholeWindow)
        backend.swapLeadingAxes(dxTimeMajor, offset: 0, T, B, features: I, into: &dx)
        if residual { backend.axpy(1, dy, into: &dx) }
        return dx
    }

    // MARK: - Helpers

    /// Takes `tensor` out of its slot (leaving an empty one), shaped `shape`; keeps the storage when the count matches.
    private static func reuse(_ tensor: inout Tensor, _ shape: [Int]) -> Tensor {
        var taken = tensor
        tensor = Tensor(zeros: [0])
        if taken.count == shape.reduce(1, *) {
            taken.reshape(shape)
            return taken
        }
        return Tensor(zeros: shape)
    }

}
