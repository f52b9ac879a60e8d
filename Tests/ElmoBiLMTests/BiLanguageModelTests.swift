import ElmoBiLM
import ElmoOptim
import ElmoTensor
import ElmoText
import Foundation
import XCTest

final class BiLanguageModelTests: XCTestCase {
    func options(negatives: Int) throws -> BiLMOptions {
        let json = """
        {"char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 4]], "n_highway": 1, "activation": "relu",
                      "max_characters_per_token": 10},
         "lstm": {"dim": 12, "projection_dim": 5, "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
         "dropout": 0.1, "batch_size": 2, "unroll_steps": 3, "n_negative_samples_batch": \(negatives)}
        """
        return try BiLMOptions.decode(Data(json.utf8), source: "test")
    }

    func batch(maxCharacters: Int) -> StreamBatch {
        let words = ["the", "cat", "sat", "on", "a", "mat"]
        var chars: [Int32] = []
        for k in 0..<6 { CharacterIds.append(words[k], maxCharacters: maxCharacters, to: &chars) }
        return StreamBatch(batchSize: 2, steps: 3, maxCharacters: maxCharacters, forwardCharacters: chars,
                           forwardTargets: [4, 5, 6, 7, 8, 9], backwardCharacters: chars.reversed(), backwardTargets: [9, 8, 7, 6, 5, 4])
    }

    /// Sampled softmax trains the same weight objects the full softmax scores with, and the full-softmax loss falls.
    func testSampledSoftmaxTrainingSharesWeightsAndLearns() throws {
        let model = BiLanguageModel(options: try options(negatives: 4), vocabularySize: 12, seed: 1)
        let sampled = try XCTUnwrap(model.sampledSoftmax)
        XCTAssertTrue(sampled.weight === model.softmax?.weight && sampled.bias === model.softmax?.bias)
        XCTAssertEqual(model.parameters.filter { $0.name == "softmax/weight" }.count, 1)
        let optimizer = Adagrad(learningRate: 0.2, initialAccumulatorValue: 1)
        var rng = RandomGenerator(seed: 2)
        let b = batch(maxCharacters: model.maxCharacters)
        func fullSoftmaxNLL() -> Double {
            var states = model.zeroStates(batch: 2)
            let scored = model.score(b, states: &states)
            XCTAssertEqual(scored.count, 6)
            return (scored.forward + scored.backward) / 12
        }
        let before = fullSoftmaxNLL()
        for _ in 0..<120 {
            var states = model.zeroStates(batch: 2)
            model.zeroGradients()
            _ = model.trainStep(b, states: &states, rng: &rng)
            optimizer.step(model.parameters)
        }
        let after = fullSoftmaxNLL()
        XCTAssertLessThan(after, before - 0.4, "full-softmax NLL before \(before), after \(after)")
    }

    /// Same seed, same batches → bitwise the same weights (training is deterministic with concurrent directions).
    func testTrainingIsDeterministic() throws {
        func train() throws -> [[Float]] {
            let model = BiLanguageModel(options: try options(negatives: 0), vocabularySize: 12, seed: 1)
            let optimizer = Adagrad(learningRate: 0.2, initialAccumulatorValue: 1)
            var rng = RandomGenerator(seed: 2)
            var states = model.zeroStates(batch: 2)
            for _ in 0..<5 {
                model.zeroGradients()
                _ = model.trainStep(batch(maxCharacters: model.maxCharacters), states: &states, rng: &rng)
                optimizer.step(model.parameters)
            }
            return model.parameters.map(\.value.scalars)
        }
        XCTAssertEqual(try train(), try train())
    }
}
