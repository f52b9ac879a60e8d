import ElmoLayers
import ElmoTensor
import Foundation
import XCTest
import _TestSupport

final class LSTMWithProjectionTests: XCTestCase {
    // B batch, T steps, I input, C cell, P projection: small enough to check every coordinate.
    let B = 2, T = 4, I = 3, C = 5, P = 4

    private func makeLayer(input: Int, cellClip: Float?, projectionClip: Float?, residual: Bool, seed: UInt64) -> LSTMWithProjection {
        var rng = RandomGenerator(seed: seed)
        let layer = LSTMWithProjection(inputSize: input, cellSize: C, projectionSize: P, cellClip: cellClip,
                                       projectionClip: projectionClip, residual: residual, name: "lstm", rng: &rng)
        // Larger weights than the default init, so that clips of 0.5 are hit by some (not all) elements.
        for p in layer.parameters { for i in 0..<p.value.count { p.value[flat: i] *= 2.5 } }
        return layer
    }

    private func randomState(seed: UInt64) -> LSTMWithProjection.State {
        var rng = RandomGenerator(seed: seed)
        return .init(h: .gaussian([B, P], std: 0.3, rng: &rng), c: .gaussian([B, C], std: 0.3, rng: &rng))
    }

    /// Direct per-element evaluation of the documented formulas in Double: (output [B, T, P], final h, final c).
    private func naiveForward(_ layer: LSTMWithProjection, _ x: Tensor, _ initial: LSTMWithProjection.State)
        -> (y: [Double], h: [Double], c: [Double]) {
        let steps = x.shape[1], inputs = layer.inputSize, G = 4 * C
        func sig(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        func clip(_ v: Double, _ limit: Float?) -> Double { limit.map { min(max(v, -Double($0)), Double($0)) } ?? v }
        let wx = layer.inputWeight.value.scalars.map(Double.init), bx = layer.bias.value.scalars.map(Double.init)
        let wh = layer.recurrentWeight.value.scalars.map(Double.init), wp = layer.projectionWeight.value.scalars.map(Double.init)
        var h = initial.h.scalars.map(Double.init), c = initial.c.scalars.map(Double.init)
        var y = [Double](repeating: 0, count: B * steps * P)
        for t in 0..<steps {
            var newH = h
            for b in 0..<B {
                var g = bx
                for k in 0..<G {
                    for i in 0..<inputs { g[k] += Double(x.scalars[(b * steps + t) * inputs + i]) * wx[i * G + k] }
                    for p in 0..<P { g[k] += h[b * P + p] * wh[p * G + k] }
                }
                var m = [Double](repeating: 0, count: C)
                for k in 0..<C {
                    let cv = sig(g[2 * C + k] + Double(layer.forgetBias)) * c[b * C + k] + sig(g[k]) * tanh(g[C + k])
                    c[b * C + k] = clip(cv, layer.cellClip)
                    m[k] = sig(g[3 * C + k]) * tanh(c[b * C + k])
                }
                for p in 0..<P {
                    var s = 0.0
                    for k in 0..<C { s += m[k] * wp[k * P + p] }
                    newH[b * P + p] = clip(s, layer.projectionClip)
                    y[(b * steps + t) * P + p] = newH[b * P + p] + (layer.residual ? Double(x.scalars[(b * steps + t) * inputs + p]) : 0)
                }
            }
            h = newH
        }
        return (y, h, c)
    }

    func testForwardMatchesDirectFormulas() {
        for (clips, residual) in [(nil, false), (Float(0.5), false), (Float(0.5), true)] as [(Float?, Bool)] {
            let inputs = residual ? P : I
            let layer = makeLayer(input: inputs, cellClip: clips, projectionClip: clips, residual: residual, seed: 3)
            var rng = RandomGenerator(seed: 4)
            let x = Tensor.gaussian([B, T, inputs], std: 1, rng: &rng)
            let initial = randomState(seed: 5)
            var cache = LSTMWithProjection.Cache()
            let (y, final) = layer.forward(x, initial: initial, cache: &cache)
            let ref = naiveForward(layer, x, initial)
            let label = "clip \(String(describing: clips)) residual \(residual)"
            XCTAssertEqual(y.shape, [B, T, P])
            assertValuesClose(y.scalars, ref.y.map(Float.init), rtol: 1e-4, atol: 1e-5, "output, \(label)")
            assertValuesClose(final.h.scalars, ref.h.map(Float.init), rtol: 1e-4, atol: 1e-5, "final h, \(label)")
            assertValuesClose(final.c.scalars, ref.c.map(Float.init), rtol: 1e-4, atol: 1e-5, "final c, \(label)")
            if clips != nil && !residual {
                let hitY = ref.y.filter { abs($0) >= 0.5 }.count, hitC = ref.c.filter { abs($0) >= 0.5 }.count
                XCTAssertTrue(hitY > 0 && hitY < ref.y.count && hitC > 0 && hitC < ref.c.count,
                              "clip 0.5 should bind for some but not all elements (y \(hitY)/\(ref.y.count), c \(hitC)/\(ref.c.count))")
            }
        }
    }

    func testStateCarryMatchesOneStepCalls() {
        let layer = makeLayer(input: I, cellClip: 0.5, projectionClip: 0.5, residual: false, seed: 11)
        var rng = RandomGenerator(seed: 12)
        let x = Tensor.gaussian([B, T, I], std: 1, rng: &rng)
        var cache = LSTMWithProjection.Cache()
        let (whole, final) = layer.forward(x, initial: randomState(seed: 13), cache: &cache)

        var state = randomState(seed: 13)
        var stepCache = LSTMWithProjection.Cache()  // reused on purpose: storage reuse must not leak values
        for t in 0..<T {
            var xt = Tensor(zeros: [B, 1, I])
            for b in 0..<B { for i in 0..<I { xt[flat: b * I + i] = x.scalars[(b * T + t) * I + i] } }
            let (yt, next) = layer.forward(xt, initial: state, cache: &stepCache)
            var expected: [Float] = []
            for b in 0..<B { expected += whole.scalars[((b * T + t) * P)..<((b * T + t + 1) * P)] }
            assertValuesClose(yt.scalars, expected, rtol: 1e-6, atol: 1e-6, "step \(t) output")
            state = next
        }
        assertTensorsClose(state.h, final.h, rtol: 1e-6, atol: 1e-6, "final h")
        assertTensorsClose(state.c, final.c, rtol: 1e-6, atol: 1e-6, "final c")
    }

    /// Which elements of every c_t and h_t are at a clip limit, found by running one step at a time.
    private func clipPattern(_ layer: LSTMWithProjection, _ x: Tensor, _ initial: LSTMWithProjection.State) -> [Bool] {
        let steps = x.shape[1], inputs = x.shape[2]
        var state = initial, pattern: [Bool] = []
        var cache = LSTMWithProjection.Cache()
        for t in 0..<steps {
            var xt = Tensor(zeros: [B, 1, inputs])
            for b in 0..<B { for i in 0..<inputs { xt[flat: b * inputs + i] = x.scalars[(b * steps + t) * inputs + i] } }
            state = layer.forward(xt, initial: state, cache: &cache).final
            let cellLimit = layer.cellClip ?? .infinity, projectionLimit = layer.projectionClip ?? .infinity
            pattern += state.c.scalars.map { abs($0) >= cellLimit }
            pattern += state.h.scalars.map { abs($0) >= projectionLimit }
        }
        return pattern
    }

    /// Central differences for every coordinate of `values`, skipping those whose nudge changes the clip pattern
    /// (the loss has a kink there). Returns the checked indices and their numeric gradients.
    private func numericAwayFromClips(_ values: inout Tensor, epsilon: Float, basePattern: [Bool],
                                      loss: (Tensor) -> (Double, [Bool])) -> (indices: [Int], numeric: [Double]) {
        var indices: [Int] = [], numeric: [Double] = []
        for i in 0..<values.count {
            let saved = values.scalars[i]
            values[flat: i] = saved + epsilon
            let (plus, patternPlus) = loss(values)
            values[flat: i] = saved - epsilon
            let (minus, patternMinus) = loss(values)
            values[flat: i] = saved
            if patternPlus == basePattern && patternMinus == basePattern {
                indices.append(i)
                numeric.append((plus - minus) / (2 * Double(epsilon)))
            }
        }
        return (indices, numeric)
    }

    private func checkGradients(cellClip: Float?, projectionClip: Float?, residual: Bool, seed: UInt64,
                                file: StaticString = #filePath, line: UInt = #line) {
        let inputs = residual ? P : I
        let layer = makeLayer(input: inputs, cellClip: cellClip, projectionClip: projectionClip, residual: residual, seed: seed)
        var rng = RandomGenerator(seed: seed + 1)
        var x = Tensor.gaussian([B, T, inputs], std: 1, rng: &rng)
        let w = Tensor.gaussian([B, T, P], std: 1, rng: &rng)
        let initial = randomState(seed: seed + 2)
        let clipped = cellClip != nil || projectionClip != nil
        func loss(_ input: Tensor) -> (Double, [Bool]) {
            var cache = LSTMWithProjection.Cache()
            let y = layer.forward(input, initial: initial, cache: &cache).output
            return (GradientCheck.project(y, w), clipped ? clipPattern(layer, input, initial) : [])
        }
        var cache = LSTMWithProjection.Cache()
        _ = layer.forward(x, initial: initial, cache: &cache)
        layer.zeroGradients()
        let dx = layer.backward(w, cache: cache)
        XCTAssertEqual(dx.shape, x.shape, file: file, line: line)

        let base = loss(x).1
        if clipped {
            let hits = base.filter { $0 }.count
            XCTAssertTrue(hits > 0 && hits < base.count, "clips should bind for some elements: \(hits) of \(base.count)",
                          file: file, line: line)
        }
        // Float forward passes: a smaller step near clips keeps nudges from crossing a limit.
        let epsilon: Float = clipped ? 2e-3 : 1e-2
        var checked = 0, total = 0
        let (xi, xn) = numericAwayFromClips(&x, epsilon: epsilon, basePattern: base, loss: loss)
        GradientCheck.assertClose(xi.map { Double(dx.scalars[$0]) }, xn, "dx", file: file, line: line)
        checked += xi.count; total += x.count
        for p in layer.parameters {
            let original = p.value
            var values = original
            let (pi, pn) = numericAwayFromClips(&values, epsilon: epsilon, basePattern: base) { nudged in
                p.value = nudged
                return loss(x)
            }
            p.value = original
            GradientCheck.assertClose(pi.map { Double(p.gradient.scalars[$0]) }, pn, p.name, file: file, line: line)
            checked += pi.count; total += p.value.count
        }
        XCTAssertGreaterThan(Double(checked), 0.8 * Double(total), "too many coordinates skipped near clip limits",
                             file: file, line: line)
    }

    func testGradientsWithoutClipping() {
        checkGradients(cellClip: nil, projectionClip: nil, residual: false, seed: 21)
    }

    func testGradientsWithActiveClips() {
        checkGradients(cellClip: 0.5, projectionClip: 0.5, residual: false, seed: 31)
    }

    func testGradientsWithResidualAndClips() {
        checkGradients(cellClip: 0.5, projectionClip: 0.5, residual: true, seed: 41)
    }

    func testGradientsAccumulateAcrossCalls() {
        let layer = makeLayer(input: I, cellClip: 3, projectionClip: 3, residual: false, seed: 51)
        var rng = RandomGenerator(seed: 52)
        let x = Tensor.gaussian([B, T, I], std: 1, rng: &rng)
        let w = Tensor.gaussian([B, T, P], std: 1, rng: &rng)
        var cache = LSTMWithProjection.Cache()
        _ = layer.forward(x, initial: randomState(seed: 53), cache: &cache)
        layer.zeroGradients()
        _ = layer.backward(w, cache: cache)
        let once = layer.parameters.map { $0.gradient }
        _ = layer.backward(w, cache: cache)
        for (p, g) in zip(layer.parameters, once) {
            assertValuesClose(p.gradient.scalars, g.scalars.map { 2 * $0 }, rtol: 1e-5, atol: 1e-6, "\(p.name) accumulates")
        }
    }
}
