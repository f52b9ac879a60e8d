import ElmoLayers
import ElmoTensor
import XCTest
import _TestSupport

/// The GRU layer and the biGRU built from it: forward against the GRU equations written out per element,
/// backward against finite differences, and padding that never leaks.
final class GRUTests: XCTestCase {
    /// h_t computed from the equations in scalar code, for x `[1, T, I]`.
    private func referenceForward(_ layer: GRU, _ x: Tensor) -> [Float] {
        let T = x.shape[1], I = layer.inputSize, H = layer.hiddenSize
        let wx = layer.inputWeight.value.scalars, bx = layer.inputBias.value.scalars
        let wh = layer.recurrentWeight.value.scalars, bh = layer.recurrentBias.value.scalars
        func sigmoid(_ v: Float) -> Float { 1 / (1 + exp(-v)) }
        var h = [Float](repeating: 0, count: H), out: [Float] = []
        for t in 0..<T {
            func a(_ col: Int) -> Float { bx[col] + (0..<I).reduce(0) { $0 + x.scalars[t * I + $1] * wx[$1 * 3 * H + col] } }
            func g(_ col: Int) -> Float { bh[col] + (0..<H).reduce(0) { $0 + h[$1] * wh[$1 * 3 * H + col] } }
            h = (0..<H).map { j in
                let r = sigmoid(a(j) + g(j)), z = sigmoid(a(H + j) + g(H + j))
                let n = tanh(a(2 * H + j) + r * g(2 * H + j))
                return (1 - z) * n + z * h[j]
            }
            out += h
        }
        return out
    }

    func testForwardMatchesTheEquations() {
        var rng = RandomGenerator(seed: 11)
        let layer = GRU(inputSize: 3, hiddenSize: 4, name: "gru", rng: &rng)
        let x = Tensor.gaussian([1, 5, 3], std: 1, rng: &rng)
        var cache = GRU.Cache()
        let y = layer.forward(x, cache: &cache)
        XCTAssertEqual(y.shape, [1, 5, 4])
        assertValuesClose(y.scalars, referenceForward(layer, x), rtol: 1e-5, atol: 1e-6, "GRU forward vs equations")
    }

    func testGradientsMatchFiniteDifferences() {
        var rng = RandomGenerator(seed: 12)
        let layer = GRU(inputSize: 3, hiddenSize: 4, name: "gru", rng: &rng)
        let x = Tensor.gaussian([2, 5, 3], std: 1, rng: &rng)
        let w = Tensor.gaussian([2, 5, 4], std: 1, rng: &rng)
        var cache = GRU.Cache()
        checkGradients(x: x, parameters: layer.parameters, projection: w, forward: { layer.forward($0, cache: &cache) },
                       backward: { layer.backward($0, cache: cache) }, label: "gru")
    }

    func testBiGRUGradientsMatchFiniteDifferencesWithPadding() {
        var rng = RandomGenerator(seed: 13)
        let layer = MaskedBiGRU(inputSize: 3, hiddenSize: 4, name: "bigru", rng: &rng)
        let lengths = [4, 2, 3]
        let x = Tensor.gaussian([3, 4, 3], std: 1, rng: &rng)
        let w = Tensor.gaussian([3, 4, 8], std: 1, rng: &rng)
        var cache = MaskedBiGRU.Cache()
        checkGradients(x: x, parameters: layer.parameters, projection: w,
                       forward: { layer.forward($0, lengths: lengths, cache: &cache) },
                       backward: { layer.backward($0, cache: cache) }, label: "bigru")
    }

    /// A sentence gives the same outputs alone and padded next to a longer one; outputs at padding are zero.
    func testBiGRUPaddingDoesNotLeak() {
        var rng = RandomGenerator(seed: 14)
        let layer = MaskedBiGRU(inputSize: 3, hiddenSize: 4, name: "bigru", rng: &rng)
        let sentence = Tensor.gaussian([1, 2, 3], std: 1, rng: &rng)
        var cache = MaskedBiGRU.Cache()
        let alone = layer.forward(sentence, lengths: [2], cache: &cache)
        var batch = Tensor.gaussian([2, 5, 3], std: 1, rng: &rng)
        for i in 0..<6 { batch[flat: i] = sentence.scalars[i] }
        let padded = layer.forward(batch, lengths: [2, 5], cache: &cache)
        assertValuesClose(Array(padded.scalars[0..<16]), alone.scalars, rtol: 0, atol: 1e-6, "real steps of the padded sentence")
        XCTAssertEqual(Array(padded.scalars[16..<40]), [Float](repeating: 0, count: 24), "outputs at padding")
    }
}
