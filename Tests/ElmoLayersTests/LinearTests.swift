import ElmoLayers
import ElmoTensor
import XCTest
import _TestSupport

final class LinearTests: XCTestCase {
    func testForwardMatchesHandComputedValues() {
        var rng = RandomGenerator(seed: 1)
        let layer = Linear(inputSize: 2, outputSize: 3, name: "l", rng: &rng)
        layer.weight.value = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        layer.bias!.value = Tensor(shape: [3], scalars: [0.5, -0.5, 1])
        var cache = Linear.Cache()
        let y = layer.forward(Tensor(shape: [1, 2], scalars: [1, -1]), cache: &cache)
        // [1, -1] · [[1,2,3],[4,5,6]] = [-3, -3, -3], plus bias.
        assertTensorsClose(y, Tensor(shape: [1, 3], scalars: [-2.5, -3.5, -2]), "linear forward")
    }

    func testGradientsMatchFiniteDifferences() {
        var rng = RandomGenerator(seed: 7)
        let layer = Linear(inputSize: 5, outputSize: 4, name: "l", rng: &rng)
        var x = Tensor.gaussian([2, 3, 5], std: 1, rng: &rng)
        let w = Tensor.gaussian([2, 3, 4], std: 1, rng: &rng)
        func loss(_ input: Tensor) -> Double {
            var cache = Linear.Cache()
            return GradientCheck.project(layer.forward(input, cache: &cache), w)
        }
        var cache = Linear.Cache()
        _ = layer.forward(x, cache: &cache)
        layer.zeroGradients()
        let dx = layer.backward(w, cache: cache)

        let xi = Array(0..<x.count)
        GradientCheck.assertClose(xi.map { Double(dx.scalars[$0]) },
                                  GradientCheck.numeric(&x, indices: xi, epsilon: 1e-2, loss: loss), "dx")
        for p in layer.parameters {
            let idx = Array(0..<p.value.count)
            let numeric = GradientCheck.numeric(p, indices: idx, epsilon: 1e-2) { loss(x) }
            GradientCheck.assertClose(idx.map { Double(p.gradient.scalars[$0]) }, numeric, p.name)
        }
    }
}
