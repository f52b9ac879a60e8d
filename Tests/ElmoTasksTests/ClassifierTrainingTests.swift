import ElmoBiLM
import ElmoLayers
import ElmoTasks
import ElmoTensor
import ElmoText
import XCTest
import _TestSupport

/// Features in each mode, training on a toy task, save/load round trips and end-to-end gradients into the biLM.
final class ClassifierTrainingTests: XCTestCase {
    private func fastSettings(epochs: Int = 6) -> TaskTrainingSettings {
        var settings = TaskTrainingSettings()
        settings.epochs = epochs
        settings.patience = epochs
        settings.batchSize = 8
        settings.learningRate = 1e-2
        settings.seed = 4
        return settings
    }

    private func smallOptions(_ encoder: ClassifierEncoderKind = .bilstm) -> ClassifierOptions {
        var options = ClassifierOptions()
        options.encoder = encoder
        options.hidden = 8
        options.filters = 4
        options.mixDropout = 0.1
        options.dropout = 0
        return options
    }

    func testBatchesCoverEveryIndexOnceAndGroupSimilarLengths() {
        var rng = RandomGenerator(seed: 1)
        let lengths = (0..<50).map { _ in 1 + rng.nextInt(below: 20) }
        let batches = TaskTrainer<Classifier>.batches(lengths: lengths, batchSize: 8, rng: &rng)
        XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(0..<50))
        XCTAssertEqual(batches.map(\.count).filter { $0 != 8 }, [2])
        let spread = batches.map { b in b.map { lengths[$0] }.max()! - b.map { lengths[$0] }.min()! }
        XCTAssertLessThanOrEqual(spread.max()!, 6, "bucketing keeps batches to similar lengths")
    }

    /// The finetune path (with cache and boundaries stripped) gives the frozen (embedder) values; frozen values are
    /// cached per sentence and do not depend on batch companions.
    func testFinetuneAndFrozenFeaturesAgree() throws {
        let (bilm, _) = try tinyBiLM()
        let sentences = TaskFeatures.Sentences([["good", "film"], ["a", "bad", "film", "indeed"], ["ok"]])
        var rng = RandomGenerator(seed: 1)
        let frozen = TaskFeatures(bilm: bilm, mode: .frozen).batch(sentences, indices: [0, 1, 2], training: false, rng: &rng)
        let tuned = TaskFeatures(bilm: bilm, mode: .finetune).batch(sentences, indices: [0, 1, 2], training: false, rng: &rng)
        XCTAssertEqual(frozen.layers.map(\.shape), [[3, 4, 8], [3, 4, 8], [3, 4, 8]])
        for (a, b) in zip(frozen.layers, tuned.layers) { assertTensorsClose(a, b, rtol: 0, atol: 1e-6, "frozen vs finetune layers") }
        XCTAssertEqual(Array(frozen.layers[2].scalars[(2 * 32 + 8)..<(3 * 32)]), [Float](repeating: 0, count: 24), "zero padding")
        let cachedAgain = TaskFeatures(bilm: bilm, mode: .frozen).batch(sentences, indices: [2], training: false, rng: &rng)
        assertValuesClose(cachedAgain.layers[1].scalars, Array(frozen.layers[1].scalars[64..<72]), rtol: 0, atol: 1e-6, "alone vs in a batch")
    }

    /// With a task encoder, layer k is `[ELMo_k; x]`: the biLM's columns unchanged, then the same x (the task
    /// encoder's output, the baseline's layer `[x; x]` halved) in every layer, zero at padding.
    func testTaskEncoderVectorsAreAppendedToEveryLayer() throws {
        let (bilm, _) = try tinyBiLM()
        let sentences = TaskFeatures.Sentences([["good", "film"], ["a", "bad", "film", "indeed"]])
        var rng = RandomGenerator(seed: 1)
        let plain = TaskFeatures(bilm: bilm, mode: .frozen).batch(sentences, indices: [0, 1], training: false, rng: &rng)
        let features = TaskFeatures(bilm: bilm, mode: .frozen, taskEncoderSeed: 7)
        XCTAssertEqual(features.dimension, 12)
        XCTAssertEqual(features.taskParameters.map(\.name).filter { !$0.hasPrefix(TaskFeatures.taskEncoderPrefix) }, [])
        let joined = features.batch(sentences, indices: [0, 1], training: false, rng: &rng)
        let baseline = TaskFeatures(scratchOptions: bilm.options, seed: 7).batch(sentences, indices: [0, 1], training: false, rng: &rng)
        let (x, _) = baseline.layers[0].splittingColumns(at: 4)
        for k in 0..<3 {
            XCTAssertEqual(joined.layers[k].shape, [2, 4, 12])
            let (elmo, task) = joined.layers[k].splittingColumns(at: 8)
            assertTensorsClose(elmo, plain.layers[k], rtol: 0, atol: 0, "layer \(k): biLM columns")
            assertTensorsClose(task, x, rtol: 0, atol: 0, "layer \(k): task encoder columns = the baseline encoder's x")
        }
        XCTAssertEqual(Array(joined.layers[1].scalars[(2 * 12)..<(4 * 12)]), [Float](repeating: 0, count: 24), "zero padding")
    }

    /// End to end, loss → head → features: finite differences on biLM (finetune) and scratch-encoder parameters.
    func testGradientsReachFeatureParameters() throws {
        let (bilm, _) = try tinyBiLM()
        for features in [TaskFeatures(bilm: bilm, mode: .finetune), TaskFeatures(scratchOptions: bilm.options, seed: 2),
                         TaskFeatures(bilm: bilm, mode: .frozen, taskEncoderSeed: 5),
                         TaskFeatures(bilm: bilm, mode: .finetune, taskEncoderSeed: 5)] {
            var options = smallOptions(.none)
            options.pooling = .mean
            let classifier = Classifier(options: options, labels: ["neg", "pos"], mixtureSize: features.mixtureSize,
                                        inputSize: features.dimension, seed: 1)
            let examples = [LabeledSentence(label: "pos", tokens: ["good", "film"], line: 1),
                            LabeledSentence(label: "neg", tokens: ["bad"], line: 2)]
            let sentences = TaskFeatures.Sentences(examples.map(\.tokens))
            func run(backward: Bool) -> Double {
                var rng = RandomGenerator(seed: 3)
                let batch = features.batch(sentences, indices: [0, 1], training: true, rng: &rng)
                let result = classifier.trainStep(batch, examples: examples, rng: &rng)
                if backward { features.backward(result.dLayers, batch: batch) }
                return result.lossSum / Double(result.count)
            }
            for p in features.storedParameters { p.zeroGradient() }
            _ = run(backward: true)
            var rng = RandomGenerator(seed: 6)
            for group in features.parameterGroups + [features.taskParameters] where !group.isEmpty {
                for p in [group.first!, group.last!] {
                    let idx = GradientCheck.sampleIndices(count: p.value.count, limit: 6, rng: &rng)
                    let numeric = GradientCheck.numeric(p, indices: idx, epsilon: 1e-3) { run(backward: false) }
                    GradientCheck.assertClose(idx.map { Double(p.gradient.scalars[$0]) }, numeric, "\(features.mode) \(p.name)")
                }
            }
        }
    }

    /// The toy task's cue words are only separable once the token encoder learns them, so this trains the
    /// `no-pretrained` features and the biLSTM head together (random frozen features of a tiny biLM are too weak).
    func testTrainingOnSeparableToyTaskReachesHighAccuracy() throws {
        let (bilm, _) = try tinyBiLM()
        let features = TaskFeatures(scratchOptions: bilm.options, seed: 1)
        let classifier = Classifier(options: smallOptions(), labels: ["neg", "pos"], mixtureSize: features.mixtureSize,
                                    inputSize: features.dimension, seed: 1)
        var settings = fastSettings(epochs: 12)
        settings.learningRate = 5e-3
        let trainer = TaskTrainer(head: classifier, features: features, settings: settings, run: nil, saveBest: nil)
        let result = try trainer.train(train: toySentiment(count: 64, seed: 1), dev: toySentiment(count: 24, seed: 2))
        XCTAssertGreaterThanOrEqual(result.bestScore.primary, 0.9, "dev accuracy per epoch: \(result.history.map(\.primary))")
        XCTAssertEqual(result.history[result.bestEpoch - 1], result.bestScore)
        let test = toySentiment(count: 24, seed: 3)
        let report = classifier.report(classifier.predictAll(TaskFeatures.Sentences(test.map(\.tokens)), features: features, batchSize: 8),
                                       examples: test)
        XCTAssertGreaterThanOrEqual(report.accuracy, 0.85, "test accuracy after restoring the best epoch")
    }

    /// Early stopping: with patience 1 and a zero learning-rate-like setting that cannot improve, training stops
    /// after the first epoch without a better dev score, and reports it.
    func testEarlyStoppingKeepsBestEpoch() throws {
        let (bilm, _) = try tinyBiLM()
        let features = TaskFeatures(bilm: bilm, mode: .frozen)
        let classifier = Classifier(options: smallOptions(.none), labels: ["neg", "pos"], mixtureSize: features.mixtureSize,
                                    inputSize: features.dimension, seed: 1)
        var settings = fastSettings(epochs: 20)
        settings.patience = 1
        settings.learningRate = 1e-9
        let trainer = TaskTrainer(head: classifier, features: features, settings: settings, run: nil, saveBest: nil)
        let result = try trainer.train(train: toySentiment(count: 16, seed: 1), dev: toySentiment(count: 8, seed: 2))
        XCTAssertTrue(result.stoppedEarly)
        XCTAssertEqual(result.epochsRun, 2, "a rate of 1e-9 cannot improve the dev accuracy, so epoch 2 ends the run")
        XCTAssertEqual(result.bestEpoch, 1)
    }

    func testDiscriminativeRatesAndGradualUnfreezing() throws {
        let (bilm, _) = try tinyBiLM()
        let classifier = Classifier(options: smallOptions(), labels: ["neg", "pos"], mixtureSize: 3, inputSize: 8, seed: 1)
        let tuned = TaskTrainer(head: classifier, features: TaskFeatures(bilm: bilm, mode: .finetune), settings: fastSettings(),
                                run: nil, saveBest: nil)
        XCTAssertEqual(tuned.parameterGroups.count, 4, "token encoder, LSTM layer 0, LSTM layer 1, head")
        assertValuesClose(tuned.rateScales, [1 / (2.6 * 2.6 * 2.6), 1 / (2.6 * 2.6), 1 / 2.6, 1], "rate scales")
        XCTAssertEqual(tuned.trainedGroups(epoch: 1), 3..<4)
        XCTAssertEqual(tuned.trainedGroups(epoch: 2), 2..<4)
        XCTAssertEqual(tuned.trainedGroups(epoch: 9), 0..<4)
        let withTask = TaskFeatures(bilm: bilm, mode: .finetune, taskEncoderSeed: 1)
        let tunedWithTask = TaskTrainer(head: classifier, features: withTask, settings: fastSettings(), run: nil, saveBest: nil)
        XCTAssertEqual(tunedWithTask.parameterGroups.count, 4, "the task encoder trains with the head, from epoch 1")
        XCTAssertEqual(tunedWithTask.parameterGroups[3].map(\.name), (withTask.taskParameters + classifier.parameters).map(\.name))
        let frozen = TaskTrainer(head: classifier, features: TaskFeatures(bilm: bilm, mode: .frozen), settings: fastSettings(),
                                 run: nil, saveBest: nil)
        XCTAssertEqual(frozen.parameterGroups.count, 1)
        XCTAssertEqual(frozen.trainedGroups(epoch: 1), 0..<1)
    }

    /// Fine-tune from files in every mode through `ClassifierFinetuning`, reload `best.npz`, get identical predictions.
    func testSaveLoadRoundTripGivesIdenticalPredictionsInEveryMode() throws {
        let folder = try temporaryFolder(self)
        let bilmPath = try savedTinyBiLM(in: folder)
        let train = try writeFile(tsv(toySentiment(count: 16, seed: 1)), "train.tsv", in: folder)
        let dev = try writeFile(tsv(toySentiment(count: 8, seed: 2)), "dev.tsv", in: folder)
        let probe = toySentiment(count: 6, seed: 9).map(\.tokens)
        for (mode, encoder, taskEncoder) in [(TaskFeatures.Mode.frozen, ClassifierEncoderKind.bilstm, true), (.finetune, .cnn, true),
                                             (.noPretrained, .gru, false), (.frozen, .none, false)] {
            var settings = ClassifierFinetuneSettings(checkpoint: bilmPath, trainFile: train, devFile: dev,
                                                      output: (folder as NSString).appendingPathComponent("run-\(mode.rawValue)-\(taskEncoder)"))
            settings.mode = mode
            settings.taskEncoder = taskEncoder
            settings.options = smallOptions(encoder)
            settings.training = fastSettings(epochs: 2)
            let (model, _) = try ClassifierFinetuning.run(settings)
            let loaded = try ClassifierModel.load(settings.output)  // the run folder means its best.npz
            XCTAssertEqual(loaded.features.mode, mode)
            XCTAssertEqual(loaded.features.taskEncoder != nil, taskEncoder)
            XCTAssertEqual(loaded.labels, ["neg", "pos"])
            XCTAssertEqual(loaded.predict(probe), model.predict(probe), "\(mode) predictions after reload")
            XCTAssertEqual(try TaskCheckpoint.kind(of: settings.output), "classifier")
            let files = try FileManager.default.contentsOfDirectory(atPath: settings.output)
            XCTAssertTrue(Set(files).isSuperset(of: ["best.npz", "metrics.jsonl", "learning-curve.svg"]), "\(files)")
        }
    }
}
