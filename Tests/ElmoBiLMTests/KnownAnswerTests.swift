import ElmoBiLM
import ElmoLayers
import ElmoTensor
import ElmoText
import Foundation
import XCTest
import _TestSupport

/// The biLM against numbers computed by a PyTorch model (`Fixtures/make_fixtures.py`, which builds the ref-tiny
/// model of `Fixtures/bilm_reference.py` with V = 40 and formula weights): embeddings, top-layer outputs of both
/// directions, the loss of two consecutive windows (states carried) and every parameter's gradient.
final class KnownAnswerTests: XCTestCase {
    struct Fixture: Decodable {
        struct ParameterSpec: Decodable { let name: String; let shape: [Int]; let scale: Double; let k: Int }
        struct GradientSample: Decodable { let indices: [Int]; let values: [Float]; let sum: Double; let abs_sum: Double }
        struct Window: Decodable {
            let loss: Double
            let embedding: [Float]?
            let forward_top: [Float]?
            let backward_top: [Float]?
            let gradients: [String: GradientSample]?
        }
        let vocab: Int, batch: Int, unroll: Int
        let params: [ParameterSpec]
        let forward_words: [[String]], backward_words: [[String]]
        let forward_targets: [[Int32]], backward_targets: [[Int32]]
        let windows: [Window]
    }

    func loadFixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "biLM_known_answer", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// The fixture's weight formula, evaluated exactly as the script does (Double, then rounded to Float).
    static func formulaWeights(count: Int, scale: Double, k: Int) -> [Float] {
        (0..<count).map { i -> Float in
            let residue = Double((i * 7919 + 13 * k) % 1009)
            return Float(scale * (residue / 504.5 - 1))
        }
    }

    func makeModel(_ fixture: Fixture) throws -> BiLanguageModel {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var options = try BiLMOptions.load(path: root.appendingPathComponent("Pretrain/tiny.json").path)
        options.dropout = 0
        let model = BiLanguageModel(options: options, vocabularySize: fixture.vocab, seed: 9)
        let byName = Dictionary(uniqueKeysWithValues: model.parameters.map { ($0.name, $0) })
        XCTAssertEqual(Set(byName.keys), Set(fixture.params.map(\.name)), "parameter names differ from the reference's")
        for spec in fixture.params {
            let p = try XCTUnwrap(byName[spec.name], spec.name)
            XCTAssertEqual(p.shape, spec.shape, "shape of \(spec.name)")
            var values = Self.formulaWeights(count: spec.shape.reduce(1, *), scale: spec.scale, k: spec.k)
            if spec.name == "char_cnn/char_embed/weight" { for d in 0..<spec.shape[1] { values[d] = 0 } }  // padding row
            if spec.name == "highway/layer_0/bias" { for j in (spec.shape[0] / 2)..<spec.shape[0] { values[j] = -2 } }  // gate bias
            p.value = Tensor(shape: spec.shape, scalars: values)
        }
        return model
    }

    func batch(_ fixture: Fixture, window: Int, maxCharacters: Int) -> StreamBatch {
        let t = fixture.unroll, range = (window * t)..<((window + 1) * t)
        func chars(_ rows: [[String]]) -> [Int32] {
            var out: [Int32] = []
            for row in rows { for w in row[range] { CharacterIds.append(w, maxCharacters: maxCharacters, to: &out) } }
            return out
        }
        return StreamBatch(batchSize: fixture.batch, steps: t, maxCharacters: maxCharacters,
                           forwardCharacters: chars(fixture.forward_words),
                           forwardTargets: fixture.forward_targets.flatMap { Array($0[range]) },
                           backwardCharacters: chars(fixture.backward_words),
                           backwardTargets: fixture.backward_targets.flatMap { Array($0[range]) })
    }

    func testLayerOutputsMatchPyTorch() throws {
        let fixture = try loadFixture()
        let model = try makeModel(fixture)
        let b = batch(fixture, window: 0, maxCharacters: model.maxCharacters)
        let n = fixture.batch * fixture.unroll, p = model.projectionSize
        var cache = TokenEncoder.Cache()
        let embedded = model.encoder.forward(b.forwardCharacters, tokenCount: n, cache: &cache)
        assertValuesClose(embedded.scalars, try XCTUnwrap(fixture.windows[0].embedding), rtol: 1e-4, atol: 1e-5, "token encoder output")
        var rng = RandomGenerator(seed: 0)
        var stackCache = LSTMStack.Cache()
        let forward = model.forwardStack.forward(embedded.reshaped([fixture.batch, fixture.unroll, p]),
                                                 states: model.forwardStack.zeroStates(batch: fixture.batch),
                                                 training: false, rng: &rng, cache: &stackCache)
        assertValuesClose(forward.outputs.last!.scalars, try XCTUnwrap(fixture.windows[0].forward_top), rtol: 1e-4, atol: 1e-5,
                          "forward LM top layer")
        let backwardEmbedded = model.encoder.forward(b.backwardCharacters, tokenCount: n, cache: &cache)
        let backward = model.backwardStack.forward(backwardEmbedded.reshaped([fixture.batch, fixture.unroll, p]),
                                                   states: model.backwardStack.zeroStates(batch: fixture.batch),
                                                   training: false, rng: &rng, cache: &stackCache)
        assertValuesClose(backward.outputs.last!.scalars, try XCTUnwrap(fixture.windows[0].backward_top), rtol: 1e-4, atol: 1e-5,
                          "backward LM top layer")
    }

    func testLossesAndEveryGradientMatchPyTorch() throws {
        let fixture = try loadFixture()
        let model = try makeModel(fixture)
        var states = model.zeroStates(batch: fixture.batch)
        var rng = RandomGenerator(seed: 0)
        model.zeroGradients()
        let loss1 = model.trainStep(batch(fixture, window: 0, maxCharacters: model.maxCharacters), states: &states, rng: &rng)
        XCTAssertEqual(loss1, fixture.windows[0].loss, accuracy: 1e-5 * fixture.windows[0].loss, "window 1 loss")

        let expected = try XCTUnwrap(fixture.windows[0].gradients)
        for p in model.parameters {
            let sample = try XCTUnwrap(expected[p.name], p.name)
            // Tolerance: float32 sums over up to ~10^3 terms in a different order than MKL's; 1e-3 relative plus a floor.
            assertValuesClose(sample.indices.map { p.gradient.scalars[$0] }, sample.values, rtol: 1e-3, atol: 1e-6,
                              "gradient of \(p.name)")
            let sum = p.gradient.scalars.reduce(0.0) { $0 + Double($1) }
            let absSum = p.gradient.scalars.reduce(0.0) { $0 + Double(abs($1)) }
            XCTAssertEqual(absSum, sample.abs_sum, accuracy: 1e-3 * sample.abs_sum + 1e-6, "Σ|grad| of \(p.name)")
            XCTAssertEqual(sum, sample.sum, accuracy: 1e-3 * sample.abs_sum + 1e-6, "Σ grad of \(p.name)")
        }

        // The second window continues from the carried states.
        model.zeroGradients()
        let loss2 = model.trainStep(batch(fixture, window: 1, maxCharacters: model.maxCharacters), states: &states, rng: &rng)
        XCTAssertEqual(loss2, fixture.windows[1].loss, accuracy: 1e-5 * fixture.windows[1].loss, "window 2 loss (carried state)")
    }
}
