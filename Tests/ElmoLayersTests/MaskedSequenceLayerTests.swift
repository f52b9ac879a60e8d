import ElmoLayers
import ElmoTensor
import XCTest
import _TestSupport

/// Checks dx (at sampled coordinates) and every parameter gradient of `forward` against finite differences,
/// with the loss L = Σ w·y; `backward` is given dy = w.
func checkGradients(x: Tensor, parameters: [Parameter], projection w: Tensor, forward: (Tensor) -> Tensor,
                    backward: (Tensor) -> Tensor, epsilon: Float = 1e-2, label: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    var rng = RandomGenerator(seed: 99)
    var input = x
    for p in parameters { p.zeroGradient() }
    _ = forward(input)
    let dx = backward(w)
    let xi = GradientCheck.sampleIndices(count: input.count, limit: 60, rng: &rng)
    let numeric = GradientCheck.numeric(&input, indices: xi, epsilon: epsilon) { GradientCheck.project(forward($0), w) }
    GradientCheck.assertClose(xi.map { Double(dx.scalars[$0]) }, numeric, "\(label) dx", file: file, line: line)
    for p in parameters {
        let idx = GradientCheck.sampleIndices(count: p.value.count, limit: 30, rng: &rng)
        let numericP = GradientCheck.numeric(p, indices: idx, epsilon: epsilon) { GradientCheck.project(forward(x), w) }
        GradientCheck.assertClose(idx.map { Double(p.gradient.scalars[$0]) }, numericP, "\(label) \(p.name)", file: file, line: line)
    }
}

/// Gradient and masking checks for the padded-batch layers: MaskedBiLSTM, TextCNNEncoder, SequencePooling.
final class MaskedSequenceLayerTests: XCTestCase {
    func testBiLSTMGradientsMatchFiniteDifferences() {
        var rng = RandomGenerator(seed: 3)
        let layer = MaskedBiLSTM(inputSize: 3, hiddenSize: 4, name: "bilstm", rng: &rng)
        let lengths = [4, 2, 3]
        let x = Tensor.gaussian([3, 4, 3], std: 1, rng: &rng)
        let w = Tensor.gaussian([3, 4, 8], std: 1, rng: &rng)
        var cache = MaskedBiLSTM.Cache()
        checkGradients(x: x, parameters: layer.parameters, projection: w,
                       forward: { layer.forward($0, lengths: lengths, cache: &cache) },
                       backward: { layer.backward($0, cache: cache) }, label: "bilstm")
    }

    /// A sentence's outputs are the same alone and padded in a batch with a longer one; padding outputs and the
    /// input gradient at padding are exactly zero, and garbage in the padded input changes nothing.
    func testBiLSTMPaddingDoesNotLeak() {
        var rng = RandomGenerator(seed: 4)
        let layer = MaskedBiLSTM(inputSize: 3, hiddenSize: 4, name: "bilstm", rng: &rng)
        let sentence = Tensor.gaussian([1, 2, 3], std: 1, rng: &rng)
        var cache = MaskedBiLSTM.Cache()
        let alone = layer.forward(sentence, lengths: [2], cache: &cache)

        var batch = Tensor.gaussian([2, 5, 3], std: 1, rng: &rng)  // sentence 0 gets random "padding" at steps 2..<5
        for i in 0..<6 { batch[flat: i] = sentence.scalars[i] }
        let padded = layer.forward(batch, lengths: [2, 5], cache: &cache)
        assertValuesClose(Array(padded.scalars[0..<16]), alone.scalars, rtol: 0, atol: 1e-6, "real steps of the padded sentence")
        XCTAssertEqual(Array(padded.scalars[16..<40]), [Float](repeating: 0, count: 24), "outputs at padding")
        let dx = layer.backward(Tensor.gaussian([2, 5, 8], std: 1, rng: &rng), cache: cache)
        XCTAssertEqual(Array(dx.scalars[6..<15]), [Float](repeating: 0, count: 9), "dx at padding")
        XCTAssertTrue(dx.scalars[15..<30].contains { $0 != 0 }, "dx of the full-length sentence is not all zero")
    }

    func testTextCNNGradientsMatchFiniteDifferencesIncludingShortSentences() {
        var rng = RandomGenerator(seed: 5)
        let layer = TextCNNEncoder(inputSize: 3, filtersPerWidth: 4, widths: [2, 3], name: "cnn", rng: &rng)
        let lengths = [5, 1, 2]  // 1 and 2 are shorter than width 3
        let x = Tensor.gaussian([3, 5, 3], std: 1, rng: &rng)
        let w = Tensor.gaussian([3, 8], std: 1, rng: &rng)
        var cache = TextCNNEncoder.Cache()
        checkGradients(x: x, parameters: layer.parameters, projection: w, forward: { layer.forward($0, lengths: lengths, cache: &cache) },
                       backward: { layer.backward($0, cache: cache) }, epsilon: 1e-3, label: "cnn")
    }

    /// Batches shorter than the widest window, and padding, do not change a sentence's features.
    func testTextCNNShortSentenceAndPaddingGiveSameFeatures() {
        var rng = RandomGenerator(seed: 6)
        let layer = TextCNNEncoder(inputSize: 2, filtersPerWidth: 3, name: "cnn", rng: &rng)
        let sentence = Tensor.gaussian([1, 2, 2], std: 1, rng: &rng)
        var cache = TextCNNEncoder.Cache()
        let alone = layer.forward(sentence, lengths: [2], cache: &cache)
        XCTAssertEqual(alone.shape, [1, 9])
        var batch = Tensor.gaussian([2, 7, 2], std: 1, rng: &rng)
        for i in 0..<4 { batch[flat: i] = sentence.scalars[i] }
        let padded = layer.forward(batch, lengths: [2, 7], cache: &cache)
        assertValuesClose(Array(padded.scalars[0..<9]), alone.scalars, rtol: 0, atol: 1e-6, "short sentence in a longer batch")
        let dx = layer.backward(Tensor.gaussian([2, 9], std: 1, rng: &rng), cache: cache)
        XCTAssertEqual(Array(dx.scalars[4..<14]), [Float](repeating: 0, count: 10), "dx at padding")
    }

    func testPoolingGradientsMatchFiniteDifferences() {
        var rng = RandomGenerator(seed: 7)
        let lengths = [3, 1, 4]
        let x = Tensor.gaussian([3, 4, 6], std: 1, rng: &rng)
        for mode in PoolingMode.allCases {
            let pooling = SequencePooling(mode: mode, backwardFeatures: 2)
            let w = Tensor.gaussian([3, pooling.outputSize(inputSize: 6)], std: 1, rng: &rng)
            var cache = SequencePooling.Cache()
            checkGradients(x: x, parameters: [], projection: w, forward: { pooling.forward($0, lengths: lengths, cache: &cache) },
                           backward: { pooling.backward($0, cache: cache) }, epsilon: 1e-3, label: "pooling \(mode)")
        }
    }

    func testPoolingValuesIgnorePadding() {
        // One sentence of 2 real steps and a padded third step holding large values.
        let x = Tensor(shape: [1, 3, 2], scalars: [1, -4, 3, 2, 100, 100])
        func pool(_ mode: PoolingMode, backward: Int = 0) -> [Float] {
            var cache = SequencePooling.Cache()
            return SequencePooling(mode: mode, backwardFeatures: backward).forward(x, lengths: [2], cache: &cache).scalars
        }
        XCTAssertEqual(pool(.max), [3, 2])
        XCTAssertEqual(pool(.mean), [2, -1])
        XCTAssertEqual(pool(.last), [3, 2])
        XCTAssertEqual(pool(.last, backward: 1), [3, -4], "the backward feature's final state is at step 0")
        XCTAssertEqual(pool(.concat), [3, 2, 3, 2, 2, -1])
    }
}
