import ElmoLayers
import ElmoTasks
import ElmoTensor
import ElmoText
import XCTest
import _TestSupport

final class TaggerHeadTests: XCTestCase {
    /// loss / tokens through ScalarMix → biLSTM → linear → CRF or softmax, against finite differences, for every
    /// input element (padding included: its gradient must be zero) and a sample of every parameter.
    private func checkGradients(crf: Bool, encoder: TaggerEncoderKind = .bilstm) {
        var options = TaggerOptions()
        options.encoder = encoder
        options.hidden = 3
        options.crf = crf
        options.scheme = .bio
        let labels = ["O", "B-X", "I-X"]
        let tagger = Tagger(options: options, labels: labels, mixtureSize: 2, inputSize: 4, seed: 5)
        var rng = RandomGenerator(seed: 11)
        let lengths = [4, 2]
        var layers = (0..<2).map { _ in Tensor.gaussian([2, 4, 4], std: 1, rng: &rng).zeroingPadding(lengths: lengths) }
        // Not an equal mix, so the mix weights get a non-trivial gradient.
        tagger.mix.scalarParameters.value = Tensor(shape: [2], scalars: [0.3, -0.2])
        let targets: [Int32] = [1, 2, 0, 1, 0, 1, 0, 0]  // sentence 2's last two entries are padding
        func loss() -> Double {
            var scratch = RandomGenerator(seed: 0)
            let r = tagger.lossAndGradients(layers: layers, lengths: lengths, targets: targets, training: false, rng: &scratch)
            return r.lossSum / Double(r.count)
        }
        for p in tagger.parameters { p.zeroGradient() }
        var scratch = RandomGenerator(seed: 0)
        let result = tagger.lossAndGradients(layers: layers, lengths: lengths, targets: targets, training: false, rng: &scratch)
        XCTAssertEqual(result.count, 6)
        let analytic = tagger.parameters.map { $0.gradient }
        for k in 0..<2 {
            let all = Array(0..<layers[k].count)
            var values = layers[k]
            let numeric = GradientCheck.numeric(&values, indices: all, epsilon: 1e-2) { nudged in
                let saved = layers[k]
                layers[k] = nudged
                defer { layers[k] = saved }
                return loss()
            }
            GradientCheck.assertClose(all.map { Double(result.dLayers[k].scalars[$0]) }, numeric, "dLayer \(k) (crf: \(crf))")
            for t in 2..<4 { for j in 0..<4 { XCTAssertEqual(result.dLayers[k].scalars[(4 + t) * 4 + j], 0, "padding gradient") } }
        }
        for (p, gradient) in zip(tagger.parameters, analytic) {
            let indices = GradientCheck.sampleIndices(count: p.value.count, limit: 12, rng: &rng)
            let numeric = GradientCheck.numeric(p, indices: indices, epsilon: 1e-2, loss: loss)
            GradientCheck.assertClose(indices.map { Double(gradient.scalars[$0]) }, numeric, "\(p.name) (crf: \(crf))")
        }
    }

    func testGradientsWithCRFMatchFiniteDifferences() { checkGradients(crf: true) }

    func testGradientsWithSoftmaxMatchFiniteDifferences() { checkGradients(crf: false) }

    func testGRUEncoderGradientsMatchFiniteDifferences() { checkGradients(crf: true, encoder: .gru) }

    func testParametersCoverEveryStage() {
        var options = TaggerOptions()
        options.hidden = 2
        let names = Set(Tagger(options: options, labels: ["A", "B"], mixtureSize: 3, inputSize: 4, seed: 1).parameters.map(\.name))
        for expected in ["tagger/scalar_mix/scalar_parameters", "tagger/output/weight", "tagger/crf/transitions"] {
            XCTAssertTrue(names.contains(expected), "\(expected) missing from \(names.sorted())")
        }
        options.crf = false
        let withoutCRF = Tagger(options: options, labels: ["A", "B"], mixtureSize: 3, inputSize: 4, seed: 1).parameters.map(\.name)
        XCTAssertFalse(withoutCRF.contains { $0.hasPrefix("tagger/crf") })
    }

    /// Emissions that favour `I-PER` everywhere: argmax would start a sentence with it and put it after `O`; the
    /// constrained Viterbi must return a valid BIO sequence anyway.
    func testViterbiRespectsTheSchemeConstraints() throws {
        let labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
        for scheme in [TagScheme.bio, .bioes] {
            let schemeLabels = scheme == .bio ? labels : labels + ["E-PER", "S-PER", "E-LOC", "S-LOC"]
            var options = TaggerOptions()
            options.hidden = 2
            options.scheme = scheme
            let tagger = Tagger(options: options, labels: schemeLabels, mixtureSize: 1, inputSize: 2, seed: 3)
            var free = options
            free.crf = false
            let softmax = Tagger(options: free, labels: schemeLabels, mixtureSize: 1, inputSize: 2, seed: 3)
            for head in [tagger, softmax] {
                head.output.weight.value = Tensor(zeros: head.output.weight.shape)
                var bias = [Float](repeating: 0, count: schemeLabels.count)
                bias[2] = 10     // I-PER
                bias[4] = 9      // I-LOC
                head.output.bias!.value = Tensor(shape: [schemeLabels.count], scalars: bias)
            }
            var rng = RandomGenerator(seed: 4)
            let layers = [Tensor.gaussian([3, 5, 2], std: 1, rng: &rng).zeroingPadding(lengths: [5, 1, 3])]
            let decoded = tagger.decode(layers: layers, lengths: [5, 1, 3]).map { $0.map { schemeLabels[$0] } }
            XCTAssertEqual(decoded.map(\.count), [5, 1, 3])
            for tags in decoded {
                XCTAssertNoThrow(try scheme.validate(tags), "\(scheme): \(tags)")
            }
            let unconstrained = softmax.decode(layers: layers, lengths: [5, 1, 3]).map { $0.map { schemeLabels[$0] } }
            XCTAssertEqual(unconstrained[0], Array(repeating: "I-PER", count: 5))
            XCTAssertThrowsError(try scheme.validate(unconstrained[0]), "the emissions alone must break the scheme")
        }
    }

    func testConstraintsFollowTheScheme() {
        let labels = ["O", "B-PER", "I-PER", "I-LOC"]
        let bio = Tagger.constraints(labels: labels, scheme: .bio)
        XCTAssertEqual(bio.allowedStart, [true, true, false, false])
        XCTAssertFalse(bio.allowed[0][2], "O → I-PER")
        XCTAssertTrue(bio.allowed[1][2], "B-PER → I-PER")
        XCTAssertFalse(bio.allowed[1][3], "B-PER → I-LOC")
        let iob1 = Tagger.constraints(labels: labels, scheme: .iob1)
        XCTAssertTrue(iob1.allowed[0][2], "IOB1 allows O → I-PER")
        XCTAssertFalse(iob1.allowed[0][1], "IOB1: B-PER only right after a PER chunk")
    }

    func testSchemeDetection() {
        func sentences(_ rows: [[String]]) -> [TaggedSentence] {
            rows.enumerated().map { TaggedSentence(tokens: $1.map { _ in "w" }, tags: $1, line: $0 + 1) }
        }
        XCTAssertNil(TaggerDataSettings.detectScheme(sentences([["DT", "NN"], ["-LRB-", "PRP$"]])))
        XCTAssertEqual(TaggerDataSettings.detectScheme(sentences([["B-PER", "I-PER", "O"], ["O", "B-LOC"]])), .bio)
        XCTAssertEqual(TaggerDataSettings.detectScheme(sentences([["I-PER", "I-PER", "O"], ["O", "I-LOC"]])), .iob1)
        XCTAssertEqual(TaggerDataSettings.detectScheme(sentences([["S-PER", "O"], ["B-LOC", "E-LOC"]])), .bioes)
        XCTAssertNil(TaggerDataSettings.detectScheme(sentences([["O", "O"]])))
    }

    func testEvaluationCountsTokensAndSpans() {
        let gold = [["B-PER", "I-PER", "O"], ["B-LOC"]]
        let predicted = [["B-PER", "I-PER", "O"], ["B-PER"]]
        let withScheme = TaggerEvaluation(gold: gold, predicted: predicted, scheme: .bio)
        XCTAssertEqual(withScheme.correctTokens, 3)
        XCTAssertEqual(withScheme.accuracy, 0.75, accuracy: 1e-12)
        XCTAssertEqual(withScheme.values["f1"]!, 0.5, accuracy: 1e-12)  // 1 of 2 found, 1 of 2 gold
        XCTAssertNil(TaggerEvaluation(gold: gold, predicted: predicted, scheme: nil).values["f1"])
    }
}
