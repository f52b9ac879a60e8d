import ElmoBiLM
import ElmoTensor
import ElmoText
import Foundation
import XCTest
import _TestSupport

/// The one forward pass, seen from its different callers: where two of them compute the same thing, they agree.
final class BiLMPassTests: XCTestCase {
    private let words = ["<S>", "the", "cat", "sat", "</S>"]

    private func model(dropout: Float) throws -> BiLanguageModel {
        BiLanguageModel(options: try tinyPretrainOptions(dropout: dropout), vocabularySize: 7, seed: 3)
    }

    private func characters(_ tokens: [String], maxCharacters w: Int) -> [Int32] {
        var chars: [Int32] = []
        for token in tokens { CharacterIds.append(token, maxCharacters: w, to: &chars) }
        return chars
    }

    /// One sentence as a training window: forward reads it in order, backward reversed, as the data layer lays out.
    private func window(_ model: BiLanguageModel) -> StreamBatch {
        let w = model.maxCharacters
        return StreamBatch(batchSize: 1, steps: words.count, maxCharacters: w, forwardCharacters: characters(words, maxCharacters: w),
                           forwardTargets: [3, 4, 5, 6, 1], backwardCharacters: characters(words.reversed(), maxCharacters: w),
                           backwardTargets: [6, 5, 4, 3, 0])
    }

    /// The training forward (streams, loss, caches kept) with dropout off gives the layer outputs the embedding forward
    /// (sentences, no softmax) gives, in both directions.
    func testTrainingForwardWithoutDropoutGivesTheEmbeddingLayers() throws {
        let model = try model(dropout: 0.1)
        let batch = window(model)
        var rng = RandomGenerator(seed: 1)
        let training = model.forward(BiLMPass(input: .streams(batch, states: model.zeroStates(batch: 1)), softmax: .loss,
                                              training: false, keepForBackward: true), rng: &rng)
        let embedding = model.forward(BiLMPass(input: .sentences(characters: batch.forwardCharacters, batchSize: 1, steps: words.count,
                                                                 lengths: [words.count])))
        XCTAssertEqual(training.forwardOutputs.count, model.layerCount)
        for k in 0..<model.layerCount {
            assertTensorsClose(training.forwardOutputs[k], embedding.forwardOutputs[k], rtol: 0, atol: 1e-6, "forward layer \(k)")
            assertTensorsClose(training.backwardOutputs[k], embedding.backwardOutputs[k], rtol: 0, atol: 1e-6, "backward layer \(k)")
        }
        XCTAssertEqual(embedding.layers, model.layerOutputs(characters: batch.forwardCharacters, batchSize: 1, steps: words.count,
                                                            lengths: [words.count]), "layerOutputs is the embedding pass")
        XCTAssertNotNil(training.tape)
        XCTAssertNil(embedding.tape, "nothing is kept for backward unless asked")
    }

    /// The training loss without dropout is the mean of the scoring pass's per-target NLLs, and `trainStep` returns it.
    func testLossAndTargetLikelihoodsAgree() throws {
        let model = try model(dropout: 0)
        let batch = window(model)
        let scored = model.forward(BiLMPass(input: .streams(batch, states: model.zeroStates(batch: 1)),
                                            softmax: .targetNegativeLogLikelihoods))
        let nll = (scored.forwardNegativeLogLikelihoods + scored.backwardNegativeLogLikelihoods).reduce(0.0) { $0 + Double($1) }
        var rng = RandomGenerator(seed: 1)
        let trained = model.forward(BiLMPass(input: .streams(batch, states: model.zeroStates(batch: 1)), softmax: .loss,
                                             training: true), rng: &rng)
        XCTAssertEqual(trained.targetCount, 2 * words.count)
        XCTAssertEqual(trained.lossSum, nll, accuracy: 1e-4)
        var states = model.zeroStates(batch: 1)
        model.zeroGradients()
        XCTAssertEqual(model.trainStep(batch, states: &states, rng: &rng), nll / Double(2 * words.count), accuracy: 1e-5)
        for k in 0..<model.layerCount {
            XCTAssertEqual(states.forward[k].h, scored.states.forward[k].h, "carried state of forward layer \(k)")
            XCTAssertEqual(states.backward[k].c, scored.states.backward[k].c, "carried state of backward layer \(k)")
        }
    }

    /// Generation feeds one token at a time with the carried state; its log-probabilities are the window's.
    func testForwardOnlyStepsGiveTheWindowsLogProbabilities() throws {
        let model = try model(dropout: 0.1)
        let batch = window(model)
        let whole = model.forward(BiLMPass(input: .streams(batch, states: model.zeroStates(batch: 1)), softmax: .logProbabilities))
        let whole1 = try XCTUnwrap(whole.forwardLogProbabilities)
        XCTAssertNotNil(whole.backwardLogProbabilities)
        var states = model.zeroStates(batch: 1)
        let v = 7, w = model.maxCharacters
        for (t, word) in words.enumerated() {
            let ids = characters([word], maxCharacters: w)
            let step = StreamBatch(batchSize: 1, steps: 1, maxCharacters: w, forwardCharacters: ids, forwardTargets: [-1],
                                   backwardCharacters: ids, backwardTargets: [-1])
            let pass = model.forward(BiLMPass(input: .streams(step, states: states), directions: .forwardOnly, softmax: .logProbabilities))
            XCTAssertTrue(pass.backwardOutputs.isEmpty && pass.backwardLogProbabilities == nil, "the backward LM did not run")
            states = pass.states
            assertValuesClose(try XCTUnwrap(pass.forwardLogProbabilities).scalars, Array(whole1.scalars[(t * v)..<((t + 1) * v)]),
                              rtol: 0, atol: 1e-5, "step \(t)")
        }
    }

    /// Fine-tuning draws its dropout masks from one stream, forward direction first: the same masks as running the two
    /// stacks one after the other by hand, and the same every time.
    func testFineTuningDropoutKeepsItsOrder() throws {
        let model = try model(dropout: 0.3)
        let batch = window(model)
        let p = model.projectionSize, t = words.count
        func viaPass() -> [Tensor] {
            var rng = RandomGenerator(seed: 9)
            var cache = BiLanguageModel.LayerOutputsCache()
            return model.layerOutputsWithCache(characters: batch.forwardCharacters, batchSize: 1, steps: t, lengths: [t],
                                               training: true, rng: &rng, cache: &cache)
        }
        var rng = RandomGenerator(seed: 9)
        var encoderCache = TokenEncoder.Cache(), fc = LSTMStack.Cache(), bc = LSTMStack.Cache()
        let x = model.encoder.forward(batch.forwardCharacters, tokenCount: t, cache: &encoderCache).reshaped([1, t, p])
        let (forward, _) = model.forwardStack.forward(x, states: model.forwardStack.zeroStates(batch: 1), training: true, rng: &rng,
                                                      cache: &fc)
        let (backward, _) = model.backwardStack.forward(x.reversingSteps(lengths: [t]), states: model.backwardStack.zeroStates(batch: 1),
                                                        training: true, rng: &rng, cache: &bc)
        let layers = viaPass()
        XCTAssertEqual(layers, viaPass())
        for k in 0..<model.layerCount {
            XCTAssertEqual(layers[k + 1], Tensor.concatenatingColumns(forward[k], backward[k].reversingSteps(lengths: [t])), "layer \(k + 1)")
        }
        let inference = model.layerOutputs(characters: batch.forwardCharacters, batchSize: 1, steps: t, lengths: [t])
        XCTAssertNotEqual(layers[1], inference[1], "dropout was active")
    }

    /// The training step's gradient through the one backward against finite differences of the loss.
    func testMeanLossBackwardMatchesFiniteDifferences() throws {
        let model = try model(dropout: 0)
        let batch = window(model)
        func loss() -> Double {
            var rng = RandomGenerator(seed: 4)
            let pass = model.forward(BiLMPass(input: .streams(batch, states: model.zeroStates(batch: 1)), softmax: .loss, training: true),
                                     rng: &rng)
            return pass.lossSum / Double(pass.targetCount)
        }
        model.zeroGradients()
        var rng = RandomGenerator(seed: 4)
        let pass = model.forward(BiLMPass(input: .streams(batch, states: model.zeroStates(batch: 1)), softmax: .loss, training: true,
                                          keepForBackward: true), rng: &rng)
        model.backward(.meanLoss, tape: try XCTUnwrap(pass.tape))
        var sample = RandomGenerator(seed: 5)
        for parameter in model.parameters {
            let idx = GradientCheck.sampleIndices(count: parameter.value.count, limit: 6, rng: &sample)
            let numeric = GradientCheck.numeric(parameter, indices: idx, epsilon: 1e-2, loss: loss)
            GradientCheck.assertClose(idx.map { Double(parameter.gradient[flat: $0]) }, numeric, parameter.name)
        }
    }
}
