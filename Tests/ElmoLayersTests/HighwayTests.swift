import ElmoLayers
import ElmoTensor
import Foundation
import XCTest
import _TestSupport

final class HighwayTests: XCTestCase {
    func testInitSetsGateBiasAndNames() {
        var rng = RandomGenerator(seed: 1)
        let highway = Highway(size: 3, layerCount: 2, name: "hw", rng: &rng)
        XCTAssertEqual(highway.parameters.map(\.name), ["hw/layer_0/weight", "hw/layer_0/bias", "hw/layer_1/weight", "hw/layer_1/bias"])
        for layer in highway.layers {
            XCTAssertEqual(layer.weight.shape, [3, 6])
            XCTAssertEqual(Array(layer.bias!.value.scalars[3..<6]), [-2, -2, -2])
            XCTAssertTrue(layer.bias!.value.scalars[0..<3].allSatisfy { abs($0) <= 1 / Float(3).squareRoot() })
        }
    }

    func testForwardMatchesHandComputedValues() {
        var rng = RandomGenerator(seed: 2)
        let highway = Highway(size: 1, layerCount: 1, name: "hw", rng: &rng)
        // Columns: [A | B]; u = 2x + 0.5, v = -x + 0 (gate).
        highway.layers[0].weight.value = Tensor(shape: [1, 2], scalars: [2, -1])
        highway.layers[0].bias!.value = Tensor(shape: [2], scalars: [0.5, 0])
        var cache = Highway.Cache()
        let y = highway.forward(Tensor(shape: [2, 1], scalars: [1, -1]), cache: &cache)
        // x = 1: u = 2.5, g = sigmoid(-1); x = -1: u = -1.5 (relu → 0), g = sigmoid(1).
        let g1 = 1 / (1 + exp(Float(1))), g2 = 1 / (1 + exp(Float(-1)))
        let expected: [Float] = [g1 * 1 + (1 - g1) * 2.5, g2 * -1 + (1 - g2) * 0]
        assertTensorsClose(y, Tensor(shape: [2, 1], scalars: expected), "highway forward")
    }

    /// Checks dx and every parameter of a 2-layer highway against central differences.
    private func checkGradients(activation: Kernels.Activation, seed: UInt64, epsilon: Float) {
        var rng = RandomGenerator(seed: seed)
        // Gate bias 0 keeps g near 0.5, so both the carry and the transform paths carry real gradient.
        let highway = Highway(size: 4, layerCount: 2, activation: activation, gateBias: 0, name: "hw", rng: &rng)
        var x = Tensor.gaussian([3, 4], std: 1, rng: &rng)
        let w = Tensor.gaussian([3, 4], std: 1, rng: &rng)
        func loss(_ input: Tensor) -> Double {
            var cache = Highway.Cache()
            return GradientCheck.project(highway.forward(input, cache: &cache), w)
        }
        var cache = Highway.Cache()
        _ = highway.forward(x, cache: &cache)
        highway.zeroGradients()
        let dx = highway.backward(w, cache: cache)
        if activation == .relu {
            // Finite differences are only valid away from relu's kink: keep every pre-activation u clear of 0.
            for (k, layer) in highway.layers.enumerated() {
                var linearCache = Linear.Cache()
                let h = layer.forward(cache.linear[k].input, cache: &linearCache)
                let margin = (0..<3).flatMap { r in (0..<4).map { abs(h.scalars[r * 8 + $0]) } }.min()!
                XCTAssertGreaterThan(margin, 10 * epsilon, "layer \(k): a pre-activation is too close to relu's kink")
            }
        }

        let xi = Array(0..<x.count)
        GradientCheck.assertClose(xi.map { Double(dx.scalars[$0]) },
                                  GradientCheck.numeric(&x, indices: xi, epsilon: epsilon, loss: loss), "\(activation) dx")
        for p in highway.parameters {
            let idx = Array(0..<p.value.count)
            let numeric = GradientCheck.numeric(p, indices: idx, epsilon: epsilon) { loss(x) }
            GradientCheck.assertClose(idx.map { Double(p.gradient.scalars[$0]) }, numeric, "\(activation) \(p.name)")
        }
    }

    func testGradientsMatchFiniteDifferencesTanh() {
        checkGradients(activation: .tanh, seed: 7, epsilon: 1e-2)
    }

    /// relu has a kink at 0, where finite differences disagree with any one-sided derivative. With this fixed
    /// seed and a small ε no pre-activation lies within reach of the kink; `checkGradients` asserts that margin.
    func testGradientsMatchFiniteDifferencesRelu() {
        checkGradients(activation: .relu, seed: 11, epsilon: 1e-3)
    }
}
