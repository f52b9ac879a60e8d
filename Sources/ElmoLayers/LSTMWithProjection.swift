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
/// kernel and one projection gemm. Internal buffers are time-major (`[T, B, ·]`) so every step's gemm operands
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
            cells.withPointer { pc in out.withMutablePointer { TimeMajor.swapLeadingAxes(pc + batch * c, $0, steps, batch, c) } }
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
        // Moved out of the cache so the pointer closures below never overlap an access to `cache`.
        var input = Self.reuse(&cache.input, [T * B, I])
        var gates = Self.reuse(&cache.gates, [T * B, G])
        var cells = Self.reuse(&cache.cells, [(T + 1) * B, C])
        var cellOutputs = Self.reuse(&cache.cellOutputs, [T * B, C])
        var hidden = Self.reuse(&cache.hidden, [(T + 1) * B, P])
        var output = Tensor(zeros: [B, T, P])
        let cellClipValue = cellClip ?? 0

        x.withPointer { px in
            input.withMutablePointer { TimeMajor.swapLeadingAxes(px, $0, B, T, I) }
        }
        input.withPointer { pin in
            gates.withMutablePointer { pg in
                inputWeight.value.withPointer { wx in
                    BLAS.gemm(m: T * B, n: G, k: I, a: pin, lda: I, b: wx, ldb: G, c: pg, ldc: G)
                }
                bias.value.withPointer { Kernels.addBias(pg, bias: $0, rows: T * B, cols: G) }
            }
        }
        cells.withMutablePointer { pc in
            initial.c.withPointer { pc.update(from: $0, count: B * C) }
            hidden.withMutablePointer { ph in
                initial.h.withPointer { ph.update(from: $0, count: B * P) }
                gates.withMutablePointer { pg in
                    cellOutputs.withMutablePointer { pm in
                        recurrentWeight.value.withPointer { wh in
                            projectionWeight.value.withPointer { wp in
                                for t in 0..<T {
                                    let gt = pg + t * B * G, mt = pm + t * B * C
                                    BLAS.gemm(m: B, n: G, k: P, a: ph + t * B * P, lda: P, b: wh, ldb: G,
                                              beta: 1, c: gt, ldc: G)
                                    Kernels.lstmGatesForward(gates: gt, cPrev: pc + t * B * C, c: pc + (t + 1) * B * C,
                                                             m: mt, batch: B, cellSize: C, forgetBias: forgetBias,
                                                             cellClip: cellClipValue)
                                    let ht = ph + (t + 1) * B * P
                                    BLAS.gemm(m: B, n: P, k: C, a: mt, lda: C, b: wp, ldb: P, c: ht, ldc: P)
                                    if let projectionClip { Kernels.clip(ht, limit: projectionClip, B * P) }
                                }
                            }
                        }
                    }
                }
                output.withMutablePointer { py in
                    TimeMajor.swapLeadingAxes(ph + B * P, py, T, B, P)
                    if residual { x.withPointer { Kernels.axpy(1, $0, py, B * T * P) } }
                }
            }
        }

        let final = State(h: Tensor(shape: [B, P], data: Array(hidden.data[(T * B * P)...])),
                          c: Tensor(shape: [B, C], data: Array(cells.data[(T * B * C)...])))
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

        dy.withPointer { pdy in dh.withMutablePointer { TimeMajor.swapLeadingAxes(pdy, $0, B, T, P) } }
        dh.withMutablePointer { pdh in
            dGates.withMutablePointer { pdg in
                dc.withMutablePointer { pdc in
                    dm.withMutablePointer { pdm in
                        cache.gates.withPointer { pg in
                            cache.cells.withPointer { pc in
                                cache.hidden.withPointer { ph in
                                    recurrentWeight.value.withPointer { wh in
                                        projectionWeight.value.withPointer { wp in
                                            for t in stride(from: T - 1, through: 0, by: -1) {
                                                let dht = pdh + t * B * P, dgt = pdg + t * B * G
                                                if let projectionClip {
                                                    Self.maskClipped(dht, values: ph + (t + 1) * B * P, limit: projectionClip, B * P)
                                                }
                                                BLAS.gemm(transB: true, m: B, n: C, k: P, a: dht, lda: P, b: wp, ldb: P,
                                                          c: pdm, ldc: C)
                                                Kernels.lstmGatesBackward(gates: pg + t * B * G, cPrev: pc + t * B * C,
                                                                          c: pc + (t + 1) * B * C, dm: pdm, dc: pdc,
                                                                          dGates: dgt, batch: B, cellSize: C,
                                                                          cellClip: cellClipValue)
                                                if t > 0 {
                                                    BLAS.gemm(transB: true, m: B, n: P, k: G, a: dgt, lda: G, b: wh, ldb: G,
                                                              beta: 1, c: pdh + (t - 1) * B * P, ldc: P)
                                                }
                                            }
                                        }
                                    }
                                    recurrentWeight.gradient.withMutablePointer { dwh in
                                        BLAS.gemm(transA: true, m: P, n: G, k: T * B, a: ph, lda: P, b: pdg, ldb: G,
                                                  beta: 1, c: dwh, ldc: G)
                                    }
                                }
                            }
                        }
                    }
                }
                cache.cellOutputs.withPointer { pm in
                    projectionWeight.gradient.withMutablePointer { dwp in
                        BLAS.gemm(transA: true, m: C, n: P, k: T * B, a: pm, lda: C, b: pdh, ldb: P, beta: 1, c: dwp, ldc: P)
                    }
                }
                cache.input.withPointer { pin in
                    inputWeight.gradient.withMutablePointer { dwx in
                        BLAS.gemm(transA: true, m: I, n: G, k: T * B, a: pin, lda: I, b: pdg, ldb: G, beta: 1, c: dwx, ldc: G)
                    }
                }
                bias.gradient.withMutablePointer { Kernels.addColumnSums(pdg, into: $0, rows: T * B, cols: G) }
                var dxTimeMajor = Tensor(zeros: [T * B, I])
                dxTimeMajor.withMutablePointer { pdx in
                    inputWeight.value.withPointer { wx in
                        BLAS.gemm(transB: true, m: T * B, n: I, k: G, a: pdg, lda: G, b: wx, ldb: G, c: pdx, ldc: I)
                    }
                    dx.withMutablePointer { TimeMajor.swapLeadingAxes(pdx, $0, T, B, I) }
                }
            }
        }
        if residual {
            dy.withPointer { pdy in dx.withMutablePointer { Kernels.axpy(1, pdy, $0, B * T * I) } }
        }
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

    /// d[i] = 0 where the forward clip was active (|value| at the limit): clipping passes no gradient there.
    private static func maskClipped(_ d: UnsafeMutablePointer<Float>, values: UnsafePointer<Float>, limit: Float, _ n: Int) {
        for i in 0..<n { d[i] = abs(values[i]) >= limit ? 0 : d[i] }
    }
}
