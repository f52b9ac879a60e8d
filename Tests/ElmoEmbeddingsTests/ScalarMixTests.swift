import ElmoEmbeddings
import ElmoTensor
import XCTest
import _TestSupport

final class ScalarMixTests: XCTestCase {
    func testEqualWeightsAverageTheLayers() {
        let mix = ScalarMix(mixtureSize: 2)
        var cache = ScalarMix.Cache()
        let y = mix.forward([Tensor(shape: [1, 2], scalars: [1, 3]), Tensor(shape: [1, 2], scalars: [3, 5])], cache: &cache)
        assertTensorsClose(y, Tensor(shape: [1, 2], scalars: [2, 4]), "softmax(0, 0) = (½, ½), gamma 1")
    }

    func checkGradients(doLayerNorm: Bool, mask: [Bool]?) {
        var rng = RandomGenerator(seed: 21)
        let mix = ScalarMix(mixtureSize: 3, doLayerNorm: doLayerNorm, initialScalarParameters: [0.3, -0.2, 0.5])
        mix.gamma.value[flat: 0] = 1.3
        var layers = (0..<3).map { _ in Tensor.gaussian([4, 5], std: 1, rng: &rng) }
        let w = Tensor.gaussian([4, 5], std: 1, rng: &rng)
        func loss() -> Double {
            var cache = ScalarMix.Cache()
            return GradientCheck.project(mix.forward(layers, mask: mask, cache: &cache), w)
        }
        var cache = ScalarMix.Cache()
        _ = mix.forward(layers, mask: mask, cache: &cache)
        mix.zeroGradients()
        let dLayers = mix.backward(w, cache: cache)
        for p in mix.parameters {
            let idx = Array(0..<p.value.count)
            GradientCheck.assertClose(idx.map { Double(p.gradient.scalars[$0]) },
                                      GradientCheck.numeric(p, indices: idx, epsilon: 1e-2, loss: loss), "\(p.name) norm \(doLayerNorm)")
        }
        for k in 0..<3 {
            let idx = Array(0..<layers[k].count)
            var values = layers[k]
            let numeric = GradientCheck.numeric(&values, indices: idx, epsilon: 1e-2) { nudged in
                let saved = layers[k]
                layers[k] = nudged
                defer { layers[k] = saved }
                return loss()
            }
            GradientCheck.assertClose(idx.map { Double(dLayers[k].scalars[$0]) }, numeric, "dlayer \(k) norm \(doLayerNorm)")
        }
    }

    func testGradientsMatchFiniteDifferences() { checkGradients(doLayerNorm: false, mask: nil) }
    func testGradientsWithMaskedLayerNormMatchFiniteDifferences() { checkGradients(doLayerNorm: true, mask: [true, true, false, true]) }

    func testLayerNormUsesOnlyUnmaskedPositions() {
        let mix = ScalarMix(mixtureSize: 1, doLayerNorm: true)
        var cache = ScalarMix.Cache()
        // Unmasked values 1, 3 → mean 2, std 1; the masked 100 must not move the statistics.
        let y = mix.forward([Tensor(shape: [3, 1], scalars: [1, 3, 100])], mask: [true, true, false], cache: &cache)
        XCTAssertEqual(y.scalars[0], -1, accuracy: 1e-5)
        XCTAssertEqual(y.scalars[1], 1, accuracy: 1e-5)
    }

    func testFixedMixHasNoTrainableParametersAndL2Penalty() {
        let fixed = ScalarMix(mixtureSize: 2, trainable: false)
        XCTAssertTrue(fixed.parameters.isEmpty)
        let penalised = ScalarMix(mixtureSize: 2, initialScalarParameters: [1, -2], l2Coefficient: 0.1)
        XCTAssertEqual(penalised.penalty(accumulateGradient: 1), 0.5, accuracy: 1e-6)
        XCTAssertEqual(penalised.scalarParameters.gradient.scalars, [0.2, -0.4])
    }
}
