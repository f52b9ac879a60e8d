import ElmoBiLM
import ElmoTensor
import ElmoText
import Foundation
import XCTest
import _TestSupport

/// The biLM's layer outputs with a cache, and their backward pass (what `--bilm finetune` trains through).
final class FinetuneBackwardTests: XCTestCase {
    private func tinyModel() throws -> BiLanguageModel {
        let json = """
        {"char_cnn": {"embedding": {"dim": 3}, "filters": [[1, 3], [2, 3]], "n_highway": 1, "activation": "relu",
                      "max_characters_per_token": 6},
         "lstm": {"dim": 5, "projection_dim": 3, "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
         "dropout": 0, "batch_size": 2, "unroll_steps": 4}
        """
        return BiLanguageModel(options: try BiLMOptions.decode(Data(json.utf8), source: "test"), vocabularySize: 4, seed: 11)
    }

    private func characters(_ sentences: [[String]], steps: Int, maxCharacters w: Int) -> [Int32] {
        var chars: [Int32] = []
        for sentence in sentences {
            for token in sentence { CharacterIds.append(token, maxCharacters: w, to: &chars) }
            chars.append(contentsOf: repeatElement(0, count: (steps - sentence.count) * w))
        }
        return chars
    }

    func testCachedOutputsEqualLayerOutputs() throws {
        let model = try tinyModel()
        let chars = characters([["<S>", "ab", "c", "</S>"], ["<S>", "d", "</S>"]], steps: 4, maxCharacters: model.maxCharacters)
        let plain = model.layerOutputs(characters: chars, batchSize: 2, steps: 4, lengths: [4, 3])
        var rng = RandomGenerator(seed: 1)
        var cache = BiLanguageModel.LayerOutputsCache()
        let cached = model.layerOutputsWithCache(characters: chars, batchSize: 2, steps: 4, lengths: [4, 3], training: false,
                                                 rng: &rng, cache: &cache)
        XCTAssertEqual(cached.count, 3)
        for (a, b) in zip(cached, plain) {
            // Padding positions are unspecified; compare the real ones (sentence 0: 4 steps, sentence 1: 3).
            assertValuesClose(Array(a.scalars[0..<(7 * 6)]), Array(b.scalars[0..<(7 * 6)]), rtol: 0, atol: 1e-6, "layer outputs")
        }
    }

    /// L = Σ_k Σ w_k · layer_k (zero weights at padding) against finite differences, for every parameter group.
    func testBackwardLayerOutputsMatchesFiniteDifferences() throws {
        let model = try tinyModel()
        let lengths = [4, 3]
        let chars = characters([["<S>", "ab", "c", "</S>"], ["<S>", "d", "</S>"]], steps: 4, maxCharacters: model.maxCharacters)
        var rng = RandomGenerator(seed: 2)
        let weights = (0..<3).map { _ in Tensor.gaussian([2, 4, 6], std: 1, rng: &rng).zeroingPadding(lengths: lengths) }
        func loss() -> Double {
            var r = RandomGenerator(seed: 0)
            var cache = BiLanguageModel.LayerOutputsCache()
            let layers = model.layerOutputsWithCache(characters: chars, batchSize: 2, steps: 4, lengths: lengths, training: false,
                                                     rng: &r, cache: &cache)
            return zip(layers, weights).reduce(0) { $0 + GradientCheck.project($1.0, $1.1) }
        }
        model.zeroGradients()
        var cache = BiLanguageModel.LayerOutputsCache()
        _ = model.layerOutputsWithCache(characters: chars, batchSize: 2, steps: 4, lengths: lengths, training: false, rng: &rng, cache: &cache)
        model.backwardLayerOutputs(weights, cache: cache)
        let groups = model.finetuneParameterGroups
        XCTAssertEqual(groups.count, 3, "token encoder + 2 LSTM layers")
        for parameter in groups.flatMap({ $0 }) {
            let idx = GradientCheck.sampleIndices(count: parameter.value.count, limit: 12, rng: &rng)
            let numeric = GradientCheck.numeric(parameter, indices: idx, epsilon: 1e-2, loss: loss)
            GradientCheck.assertClose(idx.map { Double(parameter.gradient.scalars[$0]) }, numeric, parameter.name)
        }
    }
}
