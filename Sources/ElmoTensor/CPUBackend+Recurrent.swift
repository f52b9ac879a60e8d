import Foundation

/// The fused LSTM and GRU step kernels of the CPU backend.
extension CPUBackend {
    public func lstmGatesForward(gates: inout Tensor, cells: inout Tensor, cellOutputs: inout Tensor, step t: Int, batch B: Int,
                                 cellSize C: Int, forgetBias: Float, cellClip: Float) {
        checkRecurrentStep(t, B, gates: gates, 4 * C, cells: cells, C, cellOutputs, "lstmGatesForward")
        gates.withMutablePointer { pg in
            cells.withMutablePointer { pc in
                cellOutputs.withMutablePointer { pm in
                    Kernels.lstmGatesForward(gates: pg + t * B * 4 * C, cPrev: pc + t * B * C, c: pc + (t + 1) * B * C,
                                             m: pm + t * B * C, batch: B, cellSize: C, forgetBias: forgetBias, cellClip: cellClip)
                }
            }
        }
    }

    public func lstmGatesBackward(gates: Tensor, cells: Tensor, dm: Tensor, dc: inout Tensor, dGates: inout Tensor, step t: Int,
                                  batch B: Int, cellSize C: Int, cellClip: Float) {
        checkRecurrentStep(t, B, gates: gates, 4 * C, cells: cells, C, dGates, "lstmGatesBackward")
        precondition(dm.count == B * C && dc.count == B * C, "lstmGatesBackward: dm \(dm.shape), dc \(dc.shape) for [\(B), \(C)].")
        gates.withPointer { pg in
            cells.withPointer { pc in
                dm.withPointer { pdm in
                    dc.withMutablePointer { pdc in
                        dGates.withMutablePointer { pdg in
                            Kernels.lstmGatesBackward(gates: pg + t * B * 4 * C, cPrev: pc + t * B * C, c: pc + (t + 1) * B * C,
                                                      dm: pdm, dc: pdc, dGates: pdg + t * B * 4 * C, batch: B, cellSize: C,
                                                      cellClip: cellClip)
                        }
                    }
                }
            }
        }
    }

    public func gruGatesForward(gates: inout Tensor, recurrent: Tensor, candidate: inout Tensor, hidden: inout Tensor,
                                step t: Int, batch B: Int, hiddenSize H: Int) {
        let G = 3 * H
        checkRecurrentStep(t, B, gates: gates, G, cells: hidden, H, candidate, "gruGatesForward")
        precondition(recurrent.count == B * G, "gruGatesForward: recurrent \(recurrent.shape) for [\(B), \(G)].")
        gates.withMutablePointer { pg in
            recurrent.withPointer { prec in
                candidate.withMutablePointer { pcand in
                    hidden.withMutablePointer { ph in
                        let hPrev = ph + t * B * H, hNext = ph + (t + 1) * B * H
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

    public func gruGatesBackward(gates: Tensor, candidate: Tensor, hidden: Tensor, dHidden: inout Tensor, dInput: inout Tensor,
                                 dRecurrent: inout Tensor, step t: Int, batch B: Int, hiddenSize H: Int) {
        let G = 3 * H
        checkRecurrentStep(t, B, gates: gates, G, cells: hidden, H, candidate, "gruGatesBackward")
        precondition(dHidden.count == candidate.count && dInput.count == gates.count && dRecurrent.count == gates.count,
                     "gruGatesBackward: dHidden \(dHidden.shape), dInput \(dInput.shape), dRecurrent \(dRecurrent.shape).")
        gates.withPointer { pg in
            candidate.withPointer { pcand in
                hidden.withPointer { ph in
                    dHidden.withMutablePointer { pdh in
                        dInput.withMutablePointer { pda in
                            dRecurrent.withMutablePointer { pdg in
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
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Step t of a time-major recurrent layer: gates `[T·B, G]`, the state buffer `[(T+1)·B, S]`, a per-step `[T·B, S]`.
func checkRecurrentStep(_ t: Int, _ b: Int, gates: Tensor, _ g: Int, cells: Tensor, _ s: Int, _ perStep: Tensor, _ label: String) {
    let steps = gates.count / max(b * g, 1)
    precondition(t >= 0 && t < steps && gates.count == steps * b * g && cells.count == (steps + 1) * b * s
                 && perStep.count >= steps * b * min(s, g),
                 "\(label): step \(t) of buffers gates \(gates.shape), state \(cells.shape), \(perStep.shape) for batch \(b).")
}
