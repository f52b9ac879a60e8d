import Foundation
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
        x.withPointer { px in input.withMutablePointer { TimeMajor.swapLeadingAxes(px, $0, B, T, I) } }
        input.withPointer { pin in
            gates.withMutablePointer { pg in
                inputWeight.value.withPointer { BLAS.gemm(m: T * B, n: G, k: I, a: pin, lda: I, b: $0, ldb: G, c: pg, ldc: G) }
                inputBias.value.withPointer { Kernels.addBias(pg, bias: $0, rows: T * B, cols: G) }
            }
        }
        gates.withMutablePointer { pg in
            candidate.withMutablePointer { pcand in
                hidden.withMutablePointer { ph in
                    recurrent.withMutablePointer { prec in
                        recurrentWeight.value.withPointer { wh in
                            recurrentBias.value.withPointer { bh in
                                for t in 0..<T {
                                    let hPrev = ph + t * B * H, hNext = ph + (t + 1) * B * H
                                    BLAS.gemm(m: B, n: G, k: H, a: hPrev, lda: H, b: wh, ldb: G, c: prec, ldc: G)
                                    Kernels.addBias(prec, bias: bh, rows: B, cols: G)
                                    for b in 0..<B {
                                        let a = pg + (t * B + b) * G, g = prec + b * G, cand = pcand + (t * B + b) * H
                                        let hp = hPrev + b * H, hn = hNext + b * H
                                        for j in 0..<H {
                                            let r = Kernels.sigmoid(a[j] + g[j])
                                            let z = Kernels.sigmoid(a[H + j] + g[H + j])
                                            let n = tanhf(a[2 * H + j] + r * g[2 * H + j])
                                            cand[j] = g[2 * H + j]
                                            a[j] = r
                                            a[H + j] = z
                                            a[2 * H + j] = n
                                            hn[j] = (1 - z) * n + z * hp[j]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var output = Tensor(zeros: [B, T, H])
        hidden.withPointer { ph in output.withMutablePointer { TimeMajor.swapLeadingAxes(ph + B * H, $0, T, B, H) } }
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
        dy.withPointer { pdy in dh.withMutablePointer { TimeMajor.swapLeadingAxes(pdy, $0, B, T, H) } }
        dh.withMutablePointer { pdh in
            dInput.withMutablePointer { pda in
                dRecurrent.withMutablePointer { pdg in
                    cache.gates.withPointer { pg in
                        cache.recurrentCandidate.withPointer { pcand in
                            cache.hidden.withPointer { ph in
                                recurrentWeight.value.withPointer { wh in
                                    for t in stride(from: T - 1, through: 0, by: -1) {
                                        for b in 0..<B {
                                            let row = t * B + b
                                            let gate = pg + row * G, cand = pcand + row * H, hp = ph + row * H
                                            let d = pdh + row * H, da = pda + row * G, dg = pdg + row * G
                                            for j in 0..<H {
                                                let r = gate[j], z = gate[H + j], n = gate[2 * H + j]
                                                let dn = d[j] * (1 - z), dz = d[j] * (hp[j] - n)
                                                let dan = dn * (1 - n * n)
                                                let dar = dan * cand[j] * r * (1 - r)
                                                let daz = dz * z * (1 - z)
                                                da[j] = dar
                                                da[H + j] = daz
                                                da[2 * H + j] = dan
                                                dg[j] = dar
                                                dg[H + j] = daz
                                                dg[2 * H + j] = dan * r
                                                if t > 0 { (pdh + (row - B) * H)[j] += d[j] * z }
                                            }
                                        }
                                        if t > 0 {
                                            BLAS.gemm(transB: true, m: B, n: H, k: G, a: pdg + t * B * G, lda: G, b: wh, ldb: G,
                                                      beta: 1, c: pdh + (t - 1) * B * H, ldc: H)
                                        }
                                    }
                                }
                                recurrentWeight.gradient.withMutablePointer { dwh in
                                    BLAS.gemm(transA: true, m: H, n: G, k: T * B, a: ph, lda: H, b: pdg, ldb: G, beta: 1, c: dwh, ldc: G)
                                }
                            }
                        }
                    }
                    recurrentBias.gradient.withMutablePointer { Kernels.addColumnSums(pdg, into: $0, rows: T * B, cols: G) }
                }
                cache.input.withPointer { pin in
                    inputWeight.gradient.withMutablePointer { dwx in
                        BLAS.gemm(transA: true, m: I, n: G, k: T * B, a: pin, lda: I, b: pda, ldb: G, beta: 1, c: dwx, ldc: G)
                    }
                }
                inputBias.gradient.withMutablePointer { Kernels.addColumnSums(pda, into: $0, rows: T * B, cols: G) }
            }
        }
        var dxTimeMajor = Tensor(zeros: [T * B, I])
        var dx = Tensor(zeros: [B, T, I])
        dInput.withPointer { pda in
            dxTimeMajor.withMutablePointer { pdx in
                inputWeight.value.withPointer { wx in
                    BLAS.gemm(transB: true, m: T * B, n: I, k: G, a: pda, lda: G, b: wx, ldb: G, c: pdx, ldc: I)
                }
            }
        }
        dxTimeMajor.withPointer { pdx in dx.withMutablePointer { TimeMajor.swapLeadingAxes(pdx, $0, T, B, I) } }
        return dx
    }
}
