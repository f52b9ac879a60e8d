import Foundation

/// The LSTM and GRU step formulas of the reference backend, one cell at a time in Double.
extension ReferenceBackend {
    public func lstmGatesForward(gates: inout Tensor, cells: inout Tensor, cellOutputs: inout Tensor, step t: Int, batch B: Int,
                                 cellSize C: Int, forgetBias: Float, cellClip: Float) {
        checkRecurrentStep(t, B, gates: gates, 4 * C, cells: cells, C, cellOutputs, "lstmGatesForward")
        let clip = cellClip > 0 ? Double(cellClip) : .infinity
        for b in 0..<B {
            let g = (t * B + b) * 4 * C, cPrev = (t * B + b) * C, cNext = ((t + 1) * B + b) * C, m = (t * B + b) * C
            for k in 0..<C {
                let i = sigmoid(Double(gates.storage[g + k]))
                let j = Foundation.tanh(Double(gates.storage[g + C + k]))
                let f = sigmoid(Double(gates.storage[g + 2 * C + k]) + Double(forgetBias))
                let o = sigmoid(Double(gates.storage[g + 3 * C + k]))
                let c = min(max(f * Double(cells.storage[cPrev + k]) + i * j, -clip), clip)
                gates.storage[g + k] = Float(i)
                gates.storage[g + C + k] = Float(j)
                gates.storage[g + 2 * C + k] = Float(f)
                gates.storage[g + 3 * C + k] = Float(o)
                cells.storage[cNext + k] = Float(c)
                cellOutputs.storage[m + k] = Float(o * Foundation.tanh(c))
            }
        }
    }

    public func lstmGatesBackward(gates: Tensor, cells: Tensor, dm: Tensor, dc: inout Tensor, dGates: inout Tensor, step t: Int,
                                  batch B: Int, cellSize C: Int, cellClip: Float) {
        checkRecurrentStep(t, B, gates: gates, 4 * C, cells: cells, C, dGates, "lstmGatesBackward")
        precondition(dm.count == B * C && dc.count == B * C, "lstmGatesBackward: dm \(dm.shape), dc \(dc.shape) for [\(B), \(C)].")
        let clip = cellClip > 0 ? Double(cellClip) : .infinity
        for b in 0..<B {
            let g = (t * B + b) * 4 * C, cPrev = (t * B + b) * C, cNext = ((t + 1) * B + b) * C
            for k in 0..<C {
                let i = Double(gates.storage[g + k]), j = Double(gates.storage[g + C + k])
                let f = Double(gates.storage[g + 2 * C + k]), o = Double(gates.storage[g + 3 * C + k])
                let c = Double(cells.storage[cNext + k]), dmk = Double(dm.storage[b * C + k])
                let tc = Foundation.tanh(c)
                // c = clip(f·cPrev + i·j), m = o·tanh(c): a clipped cell passes no gradient.
                var dck = Double(dc.storage[b * C + k]) + dmk * o * (1 - tc * tc)
                if c >= clip || c <= -clip { dck = 0 }
                dGates.storage[g + k] = Float(dck * j * i * (1 - i))
                dGates.storage[g + C + k] = Float(dck * i * (1 - j * j))
                dGates.storage[g + 2 * C + k] = Float(dck * Double(cells.storage[cPrev + k]) * f * (1 - f))
                dGates.storage[g + 3 * C + k] = Float(dmk * tc * o * (1 - o))
                dc.storage[b * C + k] = Float(dck * f)
            }
        }
    }

    public func gruGatesForward(gates: inout Tensor, recurrent: Tensor, candidate: inout Tensor, hidden: inout Tensor,
                                step t: Int, batch B: Int, hiddenSize H: Int) {
        let G = 3 * H
        checkRecurrentStep(t, B, gates: gates, G, cells: hidden, H, candidate, "gruGatesForward")
        precondition(recurrent.count == B * G, "gruGatesForward: recurrent \(recurrent.shape) for [\(B), \(G)].")
        for b in 0..<B {
            let a = (t * B + b) * G, g = b * G, cand = (t * B + b) * H, hp = (t * B + b) * H, hn = ((t + 1) * B + b) * H
            for j in 0..<H {
                let r = sigmoid(Double(gates.storage[a + j]) + Double(recurrent.storage[g + j]))
                let z = sigmoid(Double(gates.storage[a + H + j]) + Double(recurrent.storage[g + H + j]))
                let n = Foundation.tanh(Double(gates.storage[a + 2 * H + j]) + r * Double(recurrent.storage[g + 2 * H + j]))
                candidate.storage[cand + j] = recurrent.storage[g + 2 * H + j]
                gates.storage[a + j] = Float(r)
                gates.storage[a + H + j] = Float(z)
                gates.storage[a + 2 * H + j] = Float(n)
                hidden.storage[hn + j] = Float((1 - z) * n + z * Double(hidden.storage[hp + j]))
            }
        }
    }

    public func gruGatesBackward(gates: Tensor, candidate: Tensor, hidden: Tensor, dHidden: inout Tensor, dInput: inout Tensor,
                                 dRecurrent: inout Tensor, step t: Int, batch B: Int, hiddenSize H: Int) {
        let G = 3 * H
        checkRecurrentStep(t, B, gates: gates, G, cells: hidden, H, candidate, "gruGatesBackward")
        for b in 0..<B {
            let row = t * B + b
            for j in 0..<H {
                let r = Double(gates.storage[row * G + j]), z = Double(gates.storage[row * G + H + j])
                let n = Double(gates.storage[row * G + 2 * H + j])
                let d = Double(dHidden.storage[row * H + j]), hp = Double(hidden.storage[row * H + j])
                let dan = d * (1 - z) * (1 - n * n)
                let dar = dan * Double(candidate.storage[row * H + j]) * r * (1 - r)
                let daz = d * (hp - n) * z * (1 - z)
                dInput.storage[row * G + j] = Float(dar)
                dInput.storage[row * G + H + j] = Float(daz)
                dInput.storage[row * G + 2 * H + j] = Float(dan)
                dRecurrent.storage[row * G + j] = Float(dar)
                dRecurrent.storage[row * G + H + j] = Float(daz)
                dRecurrent.storage[row * G + 2 * H + j] = Float(dan * r)
                if t > 0 { dHidden.storage[(row - B) * H + j] = Float(Double(dHidden.storage[(row - B) * H + j]) + d * z) }
            }
        }
    }

    private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
}
