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

    /// Rows `rows` of a batch of `words.count` rows of T tokens (a row's backward direction reads it reversed).
    func streamBatch(_ words: [[String]], rows: Range<Int>, maxCharacters: Int) -> StreamBatch {
        let part = Array(words[rows]), t = words[0].count
        var forward: [Int32] = [], backward: [Int32] = []
        for row in part {
            for word in row { CharacterIds.append(word, maxCharacters: maxCharacters, to: &forward) }
            for word in row.reversed() { CharacterIds.append(word, maxCharacters: maxCharacters, to: &backward) }
        }
        let targets = part.indices.flatMap { b in (0..<t).map { Int32(3 + (b + rows.lowerBound + $0) % 9) } }
        return StreamBatch(batchSize: part.count, steps: t, maxCharacters: maxCharacters, forwardCharacters: forward,
                           forwardTargets: targets, backwardCharacters: backward, backwardTargets: targets.reversed())
    }

    /// Keyed draws (pre-training's): two "ranks" holding rows 0..<2 and 2..<4 of a 4-row batch, dropout and sampled
    /// softmax on, get together the loss, gradients and carried states of one process with all 4 rows.
    func testKeyedDrawsGiveTheWholeBatchResultWhenTheBatchIsSplit() throws {
        let model = BiLanguageModel(options: try options(negatives: 4), vocabularySize: 12, seed: 1)
        let words = [["the", "cat", "sat"], ["on", "a", "mat"], ["a", "dog", "ran"], ["in", "the", "park"]]
        let w = model.maxCharacters
        func step(_ rows: Range<Int>, firstRow: Int, seed: UInt64 = 5) -> (loss: Double, gradients: [[Float]], states: BiLanguageModel.States) {
            var states = model.zeroStates(batch: rows.count)
            model.zeroGradients()
            let loss = model.trainStep(streamBatch(words, rows: rows, maxCharacters: w), states: &states,
                                       draws: BiLMPass.KeyedDraws(seed: seed, step: 3, firstRow: firstRow))
            return (loss, model.parameters.map(\.gradient.scalars), states)
        }
        let whole = step(0..<4, firstRow: 0), first = step(0..<2, firstRow: 0), second = step(2..<4, firstRow: 2)
        XCTAssertEqual((first.loss + second.loss) / 2, whole.loss, accuracy: 1e-6 * whole.loss)
        for (p, parameter) in model.parameters.enumerated() {
            let joined = zip(first.gradients[p], second.gradients[p]).map { ($0 + $1) / 2 }
            let scale = whole.gradients[p].map(abs).max() ?? 0
            for (a, b) in zip(joined, whole.gradients[p]) {
                XCTAssertEqual(a, b, accuracy: 1e-5 * scale + 1e-7, "gradient of \(parameter.name)")
            }
        }
        func joined(_ pick: (BiLanguageModel.States) -> [Tensor]) -> [[Float]] {
            zip(pick(first.states), pick(second.states)).map { $0.scalars + $1.scalars }
        }
        for pick in [{ $0.forward.map(\.h) }, { $0.forward.map(\.c) }, { $0.backward.map(\.h) },
                     { (s: BiLanguageModel.States) in s.backward.map(\.c) }] as [(BiLanguageModel.States) -> [Tensor]] {
            for (a, b) in zip(joined(pick), pick(whole.states).map(\.scalars)) {
                XCTAssertEqual(a.count, b.count)
                for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5, "carried states") }
            }
        }
        // The second half keyed as rows 0..<2 gets other masks: the global row index is what the draws depend on.
        XCTAssertNotEqual(step(2..<4, firstRow: 0).loss, second.loss)
        XCTAssertNotEqual(step(0..<4, firstRow: 0, seed: 6).loss, whole.loss)
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
