import ElmoLayers
import ElmoTensor
import Foundation
import XCTest
import _TestSupport

final class CharCNNTests: XCTestCase {
    func testParametersHaveNamesShapesAndPaddingRow() {
        var rng = RandomGenerator(seed: 1)
        let cnn = CharCNN(config: CharCNNConfig(filters: [[1, 32], [2, 32], [3, 64]]), name: "cnn", rng: &rng)
        XCTAssertEqual(cnn.outputSize, 128)
        XCTAssertEqual(cnn.parameters.map(\.name), ["cnn/char_embed/weight", "cnn/conv_0/weight", "cnn/conv_0/bias",
                                                    "cnn/conv_1/weight", "cnn/conv_1/bias", "cnn/conv_2/weight", "cnn/conv_2/bias"])
        XCTAssertEqual(cnn.parameters.map(\.shape), [[262, 16], [16, 32], [32], [32, 32], [32], [48, 64], [64]])
        XCTAssertEqual(Array(cnn.characterEmbedding.weight.value.scalars[0..<16]), [Float](repeating: 0, count: 16))
        let limit = 1 / Float(48).squareRoot()
        XCTAssertTrue(cnn.convolutions[2].value.scalars.allSatisfy { abs($0) <= limit })
        XCTAssertTrue(cnn.convolutions[2].value.scalars.contains { abs($0) > 0.9 * limit }, "init should span ±1/√(w·D)")
    }

    func testConfigDecodingFillsDefaultsAndRejectsBadFilters() throws {
        let config = try JSONDecoder().decode(CharCNNConfig.self, from: Data(#"{"filters": [[1, 4], [2, 8]]}"#.utf8))
        XCTAssertEqual(config, CharCNNConfig(filters: [[1, 4], [2, 8]]))
        let roundTrip = try JSONDecoder().decode(CharCNNConfig.self, from: JSONEncoder().encode(config))
        XCTAssertEqual(roundTrip, config)
        XCTAssertThrowsError(try JSONDecoder().decode(CharCNNConfig.self, from: Data(#"{"filters": [[1, 4], [60, 8]]}"#.utf8))) {
            XCTAssertEqual($0 as? CharCNNConfigError, .badFilter(index: 1, filter: [60, 8], maxCharacters: 50))
            XCTAssertTrue("\($0)".contains("filters[1] is [60, 8]"), "\($0)")
        }
    }

    /// One hand-computed example: V = 4, D = 2, W = 3, a width-1 filter with 1 channel and a width-2 filter with 2.
    func testForwardMatchesHandComputedValues() {
        var rng = RandomGenerator(seed: 2)
        let config = CharCNNConfig(filters: [[1, 1], [2, 2]], embeddingDimension: 2, maxCharacters: 3, characterVocabularySize: 4)
        let cnn = CharCNN(config: config, name: "c", rng: &rng)
        // Rows: id 0 (mask, zero), 1, 2, 3.
        cnn.characterEmbedding.weight.value = Tensor(shape: [4, 2], scalars: [0, 0, 1, 2, -1, 0.5, 3, -2])
        // Width 1: channel = e0 + e1.
        cnn.convolutions[0].value = Tensor(shape: [2, 1], scalars: [1, 1])
        cnn.convolutionBiases[0].value = Tensor(shape: [1], scalars: [0.5])
        // Width 2, rows (offset 0, d 0), (0, 1), (1, 0), (1, 1): channel 0 = e[p].0 + e[p+1].1,
        // channel 1 = −e[p].1 − e[p+1].0.
        cnn.convolutions[1].value = Tensor(shape: [4, 2], scalars: [1, 0, 0, -1, 0, -1, 1, 0])
        cnn.convolutionBiases[1].value = Tensor(shape: [2], scalars: [0, -0.25])
        var cache = CharCNN.Cache()
        let y = cnn.forward([1, 2, 3, 3, 0, 0], tokenCount: 2, cache: &cache)
        // Token [1, 2, 3]: width 1 sums 3, −0.5, 1 → max 3 + 0.5 = 3.5.
        //   Width 2 channel 0: 1 + 0.5 = 1.5, −1 − 2 = −3 → 1.5; channel 1: −2 + 1 = −1, −0.5 − 3 = −3.5 → −1 − 0.25 → relu 0.
        // Token [3, 0, 0]: width 1: 1, 0, 0 → 1 + 0.5 = 1.5. Width 2: channel 0: 3 + 0, 0 → 3; channel 1: 2, 0 → 2 − 0.25.
        assertTensorsClose(y, Tensor(shape: [2, 3], scalars: [3.5, 1.5, 0, 1.5, 3, 1.75]), "char CNN forward")
    }

    func testForwardMatchesIm2colReference() {
        var rng = RandomGenerator(seed: 3)
        let config = CharCNNConfig(filters: [[1, 32], [2, 32], [3, 64], [4, 16], [5, 8]], activation: .tanh)
        let cnn = CharCNN(config: config, name: "c", rng: &rng)
        let chars = Self.elmoLikeChars(tokens: 20, config: config, rng: &rng)
        var cache = CharCNN.Cache()
        let y = cnn.forward(chars, tokenCount: 20, cache: &cache)
        var expected = Self.referencePreActivation(cnn, chars: chars, tokens: 20).preActivation
        expected.withMutablePointer { Kernels.activate(.tanh, $0, $0, 20 * cnn.outputSize) }
        assertTensorsClose(y, expected, rtol: 1e-5, atol: 1e-5, "table conv vs im2col + gemm")
    }

    /// With two BLAS threads, large batches are split across two threads; the output must not change.
    func testTwoThreadForwardEqualsOneThread() {
        var rng = RandomGenerator(seed: 4)
        let cnn = CharCNN(config: CharCNNConfig(filters: [[1, 3], [2, 4], [3, 5]], embeddingDimension: 4, maxCharacters: 8),
                          name: "cnn", rng: &rng)
        let tokens = 101
        let chars = (0..<(tokens * 8)).map { _ in Int32(1 + rng.nextInt(below: 261)) }
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        var cache = CharCNN.Cache()
        BLAS.setThreads(1)
        let serial = cnn.forward(chars, tokenCount: tokens, cache: &cache)
        BLAS.setThreads(2)
        let split = cnn.forward(chars, tokenCount: tokens, cache: &cache)
        XCTAssertEqual(serial.scalars, split.scalars)
    }

    func testGradientsMatchFiniteDifferencesTanh() {
        checkGradients(activation: .tanh, seed: 3)
    }

    func testGradientsMatchFiniteDifferencesRelu() {
        checkGradients(activation: .relu, seed: 7)
    }

    // MARK: - Helpers

    /// Checks every parameter at sampled coordinates against central differences, on a small config with
    /// ELMo-like tokens: word chars, a run of padding (tied windows) and one fully masked token (id 0).
    ///
    /// The max over positions and relu have kinks where finite differences are meaningless, so the fixed
    /// seed is chosen such that no winning window is within reach of a runner-up with different characters
    /// and no relu input is near 0; the check asserts those margins so a failure says which one broke.
    private func checkGradients(activation: Kernels.Activation, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        let config = CharCNNConfig(filters: [[1, 3], [2, 4], [3, 5]], embeddingDimension: 4, maxCharacters: 8,
                                   characterVocabularySize: 10, activation: activation)
        let cnn = CharCNN(config: config, name: "c", rng: &rng)
        let tokens = 4
        var chars = Self.elmoLikeChars(tokens: tokens - 1, config: config, rng: &rng)
        chars += [Int32](repeating: 0, count: config.maxCharacters)
        let epsilon: Float = 1e-3
        let reference = Self.referencePreActivation(cnn, chars: chars, tokens: tokens)
        XCTAssertGreaterThan(reference.maxMargin, 10 * epsilon, "a max over positions is too close to a tie")
        if activation == .relu {
            XCTAssertGreaterThan(reference.preActivation.scalars.map(abs).min()!, 10 * epsilon, "a relu input is too close to 0")
        }

        let w = Tensor.gaussian([tokens, cnn.outputSize], std: 1, rng: &rng)
        func loss() -> Double {
            var cache = CharCNN.Cache()
            return GradientCheck.project(cnn.forward(chars, tokenCount: tokens, cache: &cache), w)
        }
        var cache = CharCNN.Cache()
        _ = cnn.forward(chars, tokenCount: tokens, cache: &cache)
        cnn.zeroGradients()
        cnn.backward(w, cache: cache)

        let D = config.embeddingDimension
        XCTAssertEqual(Array(cnn.characterEmbedding.weight.gradient.scalars[0..<D]), [Float](repeating: 0, count: D),
                       "the mask row must receive no gradient")
        for p in cnn.parameters {
            var idx = GradientCheck.sampleIndices(count: p.value.count, limit: 40, rng: &rng)
            // The mask row's gradient is blocked by design (checked above), so finite differences would disagree.
            if p === cnn.characterEmbedding.weight { idx.removeAll { $0 < D } }
            let numeric = GradientCheck.numeric(p, indices: idx, epsilon: epsilon, loss: loss)
            GradientCheck.assertClose(idx.map { Double(p.gradient.scalars[$0]) }, numeric, "\(activation) \(p.name)")
        }
        XCTAssertTrue(cnn.parameters.allSatisfy { $0.gradient.scalars.contains { $0 != 0 } }, "every parameter should get gradient")
    }

    /// Tokens laid out like ELMo's: begin-of-word, 1–4 random chars, end-of-word, then padding (the last id) to W.
    static func elmoLikeChars(tokens: Int, config: CharCNNConfig, rng: inout RandomGenerator) -> [Int32] {
        let V = config.characterVocabularySize, W = config.maxCharacters
        let (bow, eow, pad) = (Int32(V - 3), Int32(V - 2), Int32(V - 1))
        var chars: [Int32] = []
        for _ in 0..<tokens {
            let length = 1 + rng.nextInt(below: min(4, W - 2))
            var token = [bow] + (0..<length).map { _ in Int32(1 + rng.nextInt(below: V - 4)) } + [eow]
            token += [Int32](repeating: pad, count: W - token.count)
            chars += token
        }
        return chars
    }

    /// The textbook path: embedding lookup, `Kernels.im2col`, one gemm per filter, `Kernels.maxOverTime`, bias.
    /// Returns the `[N, F]` pre-activation and the smallest gap between a winning window and the best window
    /// with a different value (gaps under 1e-5 count as ties of identical windows, which are harmless).
    static func referencePreActivation(_ cnn: CharCNN, chars: [Int32], tokens N: Int) -> (preActivation: Tensor, maxMargin: Float) {
        let config = cnn.config
        let W = config.maxCharacters, D = config.embeddingDimension, F = cnn.outputSize
        var embedCache = Embedding.Cache()
        let x = cnn.characterEmbedding.forward(chars, cache: &embedCache)
        var pre = Tensor(zeros: [N, F])
        var margin = Float.infinity
        var column = 0
        for (k, filter) in config.filters.enumerated() {
            let (width, count) = (filter[0], filter[1])
            let P = W - width + 1
            var cols = Tensor(zeros: [N * P, width * D])
            x.withPointer { px in cols.withMutablePointer { Kernels.im2col(px, tokens: N, chars: W, dim: D, width: width, columns: $0) } }
            var conv = Tensor(zeros: [N * P, count])
            CPUBackend().matmul(cols, cnn.convolutions[k].value, into: &conv)
            var argmax = [Int32](repeating: 0, count: N * count)
            conv.withPointer { pc in
                pre.withMutablePointer { py in
                    Kernels.maxOverTime(pc, tokens: N, steps: P, features: count, y: py + column, yStride: F, argmax: &argmax)
                }
            }
            for n in 0..<N {
                for c in 0..<count {
                    let best = pre.scalars[n * F + column + c]
                    let others = (0..<P).map { conv.scalars[(n * P + $0) * count + c] }.filter { best - $0 > 1e-5 }
                    if let runnerUp = others.max() { margin = min(margin, best - runnerUp) }
                    pre[flat: n * F + column + c] += cnn.convolutionBiases[k].value.scalars[c]
                }
            }
            column += count
        }
        return (pre, margin)
    }
}
