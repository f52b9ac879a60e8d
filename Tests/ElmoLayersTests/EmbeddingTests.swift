import ElmoLayers
import ElmoTensor
import XCTest
import _TestSupport

final class EmbeddingTests: XCTestCase {
    func testForwardLooksUpRowsAndPaddingRowStartsAtZero() {
        var rng = RandomGenerator(seed: 3)
        let layer = Embedding(vocabularySize: 4, dimension: 2, paddingIndex: 0, name: "e", rng: &rng)
        XCTAssertEqual(layer.weight.name, "e/weight")
        XCTAssertEqual(Array(layer.weight.value.scalars[0..<2]), [0, 0], "padding row must start at zero")
        layer.weight.value = Tensor(shape: [4, 2], scalars: [0, 0, 1, 2, 3, 4, 5, 6])
        var cache = Embedding.Cache()
        let y = layer.forward([2, 0, 3, 2], cache: &cache)
        assertTensorsClose(y, Tensor(shape: [4, 2], scalars: [3, 4, 0, 0, 5, 6, 3, 4]), "embedding forward")
    }

    func testInitIsStandardNormal() {
        var rng = RandomGenerator(seed: 5)
        let layer = Embedding(vocabularySize: 200, dimension: 50, name: "e", rng: &rng)
        let n = Double(layer.weight.value.count)
        let mean = Kernels.sum(layer.weight.value.scalars, layer.weight.value.count) / n
        let variance = Kernels.sumOfSquares(layer.weight.value.scalars, layer.weight.value.count) / n - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.03)
    }

    func testBackwardWritesOnlyLookedUpRowsAndSkipsPadding() {
        var rng = RandomGenerator(seed: 4)
        let layer = Embedding(vocabularySize: 5, dimension: 3, paddingIndex: 1, name: "e", rng: &rng)
        var cache = Embedding.Cache()
        _ = layer.forward([3, 1, 3, 0], cache: &cache)
        layer.zeroGradients()
        layer.backward(Tensor(shape: [4, 3], scalars: [1, 2, 3, 9, 9, 9, 10, 20, 30, -1, -2, -3]), cache: cache)
        // Row 3 was looked up twice (sums), row 1 is padding (no gradient), rows 2 and 4 untouched.
        let expected: [Float] = [-1, -2, -3, 0, 0, 0, 0, 0, 0, 11, 22, 33, 0, 0, 0]
        assertValuesClose(layer.weight.gradient.scalars, expected, "embedding gradient")
    }

    func testGradientsMatchFiniteDifferences() {
        var rng = RandomGenerator(seed: 8)
        // No padding index here: the padding row's gradient is blocked by design, so it would not match.
        let layer = Embedding(vocabularySize: 6, dimension: 4, name: "e", rng: &rng)
        let ids: [Int32] = [5, 0, 2, 5, 3, 2, 2]
        let w = Tensor.gaussian([ids.count, 4], std: 1, rng: &rng)
        func loss() -> Double {
            var cache = Embedding.Cache()
            return GradientCheck.project(layer.forward(ids, cache: &cache), w)
        }
        var cache = Embedding.Cache()
        _ = layer.forward(ids, cache: &cache)
        layer.zeroGradients()
        layer.backward(w, cache: cache)
        let idx = Array(0..<layer.weight.value.count)
        let numeric = GradientCheck.numeric(layer.weight, indices: idx, epsilon: 1e-2, loss: loss)
        GradientCheck.assertClose(idx.map { Double(layer.weight.gradient.scalars[$0]) }, numeric, "dW")
    }
}
