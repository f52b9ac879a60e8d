import ElmoLayers
import ElmoTasks
import ElmoTensor
import ElmoText
import XCTest
import _TestSupport

/// Finite-difference checks of the classifier head (ScalarMix → dropout → encoder → pooling → MLP → cross-entropy),
/// for every encoder and pooling, and the masking property: padding never changes a prediction.
final class ClassifierHeadTests: XCTestCase {
    private let labels = ["a", "b", "c"]

    private func head(_ encoder: ClassifierEncoderKind, _ pooling: PoolingMode, dropout: Bool = true) -> Classifier {
        var options = ClassifierOptions()
        options.encoder = encoder
        options.pooling = pooling
        options.hidden = 4
        options.filters = 3
        if !dropout { (options.mixDropout, options.dropout) = (0, 0) }
        return Classifier(options: options, labels: labels, mixtureSize: 3, inputSize: 6, seed: 9)
    }

    private func checkGradients(_ classifier: Classifier, label: String, file: StaticString = #filePath, line: UInt = #line) {
        var rng = RandomGenerator(seed: 21)
        let lengths = [5, 2, 3]  // 2 is shorter than the CNN's widest window
        let layers = (0..<3).map { _ in Tensor.gaussian([3, 5, 6], std: 1, rng: &rng).zeroingPadding(lengths: lengths) }
        let examples = ["a", "c", "b"].map { LabeledSentence(label: $0, tokens: ["x"], line: 1) }
        // The same dropout masks in every evaluation: each pass starts from the same generator state.
        func loss(_ current: [Tensor]) -> Double {
            var r = RandomGenerator(seed: 5)
            for p in classifier.parameters { p.zeroGradient() }
            let result = classifier.trainStep(TaskFeatures.Batch(layers: current, lengths: lengths), examples: examples, rng: &r)
            return result.lossSum / Double(result.count)
        }
        var r = RandomGenerator(seed: 5)
        for p in classifier.parameters { p.zeroGradient() }
        let result = classifier.trainStep(TaskFeatures.Batch(layers: layers, lengths: lengths), examples: examples, rng: &r)
        XCTAssertEqual(result.count, 3)
        let analytic = classifier.parameters.map(\.gradient)
        for k in 0..<3 {
            let idx = GradientCheck.sampleIndices(count: layers[k].count, limit: 12, rng: &rng)
            let fixed = layers
            var layer = layers[k]
            let numeric = GradientCheck.numeric(&layer, indices: idx, epsilon: 1e-3) { nudged in
                var all = fixed
                all[k] = nudged
                return loss(all)
            }
            GradientCheck.assertClose(idx.map { Double(result.dLayers[k].scalars[$0]) }, numeric, "\(label) dLayer \(k)", file: file, line: line)
        }
        for (p, gradient) in zip(classifier.parameters, analytic) {
            let idx = GradientCheck.sampleIndices(count: p.value.count, limit: 8, rng: &rng)
            let numeric = GradientCheck.numeric(p, indices: idx, epsilon: 1e-3) { loss(layers) }
            GradientCheck.assertClose(idx.map { Double(gradient.scalars[$0]) }, numeric, "\(label) \(p.name)", file: file, line: line)
        }
    }

    func testBiLSTMHeadGradientsForEveryPooling() {
        for pooling in PoolingMode.allCases { checkGradients(head(.bilstm, pooling), label: "bilstm/\(pooling)") }
    }

    func testGRUHeadGradients() {
        for pooling in [PoolingMode.max, .concat] { checkGradients(head(.gru, pooling), label: "gru/\(pooling)") }
    }

    func testCNNHeadGradients() {
        checkGradients(head(.cnn, .max), label: "cnn")
    }

    func testNoEncoderHeadGradientsForEveryPooling() {
        for pooling in PoolingMode.allCases { checkGradients(head(.none, pooling), label: "none/\(pooling)") }
    }

    /// A sentence's probabilities are the same alone and padded next to a longer sentence, for every encoder.
    func testPaddingDoesNotChangePredictions() {
        var rng = RandomGenerator(seed: 8)
        let sentence = (0..<3).map { _ in Tensor.gaussian([1, 2, 6], std: 1, rng: &rng) }
        let other = (0..<3).map { _ in Tensor.gaussian([1, 7, 6], std: 1, rng: &rng) }
        let padded = (0..<3).map { k -> Tensor in
            var t = Tensor(zeros: [2, 7, 6])
            for i in 0..<12 { t[flat: i] = sentence[k].scalars[i] }
            for i in 0..<42 { t[flat: 42 + i] = other[k].scalars[i] }
            return t
        }
        for (encoder, pooling) in [(ClassifierEncoderKind.bilstm, PoolingMode.concat), (.gru, .last), (.cnn, .max), (.none, .mean), (.none, .last)] {
            let classifier = head(encoder, pooling)
            let alone = classifier.predict(TaskFeatures.Batch(layers: sentence, lengths: [2]))[0]
            let inBatch = classifier.predict(TaskFeatures.Batch(layers: padded, lengths: [2, 7]))[0]
            XCTAssertEqual(alone.label, inBatch.label, "\(encoder)/\(pooling)")
            assertValuesClose(inBatch.probabilities, alone.probabilities, rtol: 0, atol: 1e-6, "\(encoder)/\(pooling) probabilities")
            XCTAssertEqual(alone.probabilities.reduce(0, +), 1, accuracy: 1e-5)
        }
    }

    func testCNNWithOtherPoolingIsRefused() {
        var options = ClassifierOptions()
        options.encoder = .cnn
        options.pooling = .mean
        assertThrowsMentioning(["--pooling mean", "cnn"]) { try options.validate() }
    }
}
