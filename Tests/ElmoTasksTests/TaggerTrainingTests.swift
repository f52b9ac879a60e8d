import ElmoBiLM
import ElmoTasks
import ElmoTensor
import ElmoText
import Foundation
import XCTest

final class TaggerTrainingTests: XCTestCase {
    /// A toy POS task that needs context (`fish` is a noun or a verb by position) is learnt almost perfectly from
    /// frozen features of a random tiny biLM, with the CRF and without.
    func testTrainingOnAToyTaskReachesHighAccuracy() throws {
        let train = TaggerFixtures.toyPOS(count: 120, seed: 1), dev = TaggerFixtures.toyPOS(count: 30, seed: 2)
        for crf in [true, false] {
            let features = TaskFeatures(bilm: try tinyBiLM().0, mode: .frozen)
            var options = TaggerOptions()
            options.hidden = 12
            options.crf = crf
            options.mixDropout = 0
            options.dropout = 0
            let tagger = Tagger(options: options, labels: TaggerFinetuning.tagSet(train), mixtureSize: features.mixtureSize,
                                inputSize: features.dimension, seed: 2)
            var settings = TaskTrainingSettings()
            settings.epochs = 10
            settings.patience = 3
            settings.batchSize = 16
            settings.learningRate = 2e-2
            let trainer = TaskTrainer(head: tagger, features: features, settings: settings, run: nil, saveBest: nil)
            let before = tagger.score(tagger.predictAll(TaskFeatures.Sentences(dev.map(\.tokens)), features: features, batchSize: 16),
                                      examples: dev).primary
            let result = try trainer.train(train: train, dev: dev)
            XCTAssertEqual(result.bestScore.primaryName, "accuracy")
            XCTAssertGreaterThanOrEqual(result.bestScore.primary, 0.97, "crf: \(crf), history \(result.history.map(\.primary))")
            XCTAssertLessThan(before, 0.9, "the untrained tagger must not already solve the task")
            // The model holds the best epoch's parameters.
            let after = tagger.score(tagger.predictAll(TaskFeatures.Sentences(dev.map(\.tokens)), features: features, batchSize: 16),
                                     examples: dev)
            XCTAssertEqual(after.primary, result.bestScore.primary, accuracy: 1e-12)
        }
    }

    /// Every features mode: the run folder's `best.npz` loads back into a model with exactly the same predictions;
    /// a token far longer than `max_characters_per_token` is cut, not rejected, in training and prediction.
    func testSaveLoadRoundTripGivesIdenticalPredictions() throws {
        let folder = try temporaryFolder(self)
        let checkpoint = try savedTinyBiLM(in: folder)
        var sentences = TaggerFixtures.toyPOS(count: 24, seed: 5)
        sentences[0].tokens[1] = String(repeating: "dog", count: 70)
        let trainPath = try writeFile(TaggerFixtures.conll(sentences), "train.conll", in: folder)
        let devPath = try writeFile(TaggerFixtures.conll(TaggerFixtures.toyPOS(count: 8, seed: 6)), "dev.conll", in: folder)
        for mode in TaskFeatures.Mode.allCases {
            var settings = TaggerFinetuneSettings(checkpoint: checkpoint, trainPath: trainPath, devPath: devPath,
                                                  output: (folder as NSString).appendingPathComponent("run-\(mode.rawValue)"))
            settings.mode = mode
            settings.options.hidden = 4
            settings.options.encoder = mode == .finetune ? .gru : .bilstm
            settings.training.epochs = 2
            settings.training.patience = 2
            settings.training.batchSize = 8
            let outcome = try TaggerFinetuning.run(settings)
            XCTAssertEqual(outcome.model.options.metric, .accuracy)
            XCTAssertNil(outcome.model.options.scheme)
            for name in ["best.npz", "metrics.jsonl", "learning-curve.svg"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(settings.output!)/\(name)"), "\(mode): \(name) missing")
            }
            let loaded = try TaggerModel.load(settings.output!)
            XCTAssertEqual(loaded.manifest.mode, mode)
            XCTAssertEqual(loaded.options.encoder, settings.options.encoder)
            XCTAssertEqual(loaded.tagger.labels, outcome.model.tagger.labels)
            let tokens = sentences.map(\.tokens) + [["a", String(repeating: "x", count: 300), "fish"]]
            let expected = outcome.model.predict(tokens)
            XCTAssertEqual(loaded.predict(tokens), expected, "\(mode)")
            XCTAssertEqual(expected.map(\.count), tokens.map(\.count))
            for (a, b) in zip(loaded.tagger.parameters + loaded.features.storedParameters,
                              outcome.model.tagger.parameters + outcome.model.features.storedParameters) {
                XCTAssertEqual(a.value.scalars, b.value.scalars, "\(mode): \(a.name)")
            }
        }
    }

    /// BIO tags are detected as such: early stopping on span F1, constrained decoding, `O` first in the tag set.
    func testChunkTagsAreDetectedAndScoredBySpanF1() throws {
        let folder = try temporaryFolder(self)
        let checkpoint = try savedTinyBiLM(in: folder)
        let text = "John\tB-PER\nSmith\tI-PER\nlives\tO\nin\tO\nParis\tB-LOC\n\nMary\tB-PER\nsleeps\tO\n\n"
        let trainPath = try writeFile(String(repeating: text, count: 4), "train.conll", in: folder)
        var settings = TaggerFinetuneSettings(checkpoint: checkpoint, trainPath: trainPath, devPath: trainPath, output: nil)
        settings.options.hidden = 4
        settings.training.epochs = 1
        let outcome = try TaggerFinetuning.run(settings)
        let model = outcome.model
        XCTAssertEqual(model.options.scheme, .bio)
        XCTAssertEqual(model.options.metric, .f1)
        XCTAssertEqual(model.tagger.labels, ["O", "B-LOC", "B-PER", "I-PER"])
        XCTAssertNotNil(model.tagger.constraints)
        XCTAssertEqual(outcome.result.bestScore.primaryName, "f1")
        XCTAssertNotNil(outcome.result.bestScore.values["accuracy"])
        for tags in model.predict([["Mary", "Smith", "in", "Paris"], ["x"]]) {
            XCTAssertNoThrow(try TagScheme.bio.validate(tags), "\(tags)")
        }
        // --scheme none: the same tags as plain tags, scored by accuracy and decoded freely.
        settings.plainTags = true
        let plain = try TaggerFinetuning.run(settings).model
        XCTAssertNil(plain.options.scheme)
        XCTAssertEqual(plain.options.metric, .accuracy)
        XCTAssertNil(plain.tagger.constraints)
    }

    /// A token longer than the biLM's limit gets the same features as its first W − 2 = 8 bytes.
    func testLongTokensAreCutToTheCharacterLimit() throws {
        let features = TaskFeatures(bilm: try tinyBiLM().0, mode: .frozen)
        var rng = RandomGenerator(seed: 0)
        let long = TaskFeatures.Sentences([["the", String(repeating: "abcdefgh", count: 40) + "tail"]], cacheable: false)
        let cut = TaskFeatures.Sentences([["the", "abcdefgh"]], cacheable: false)
        let other = TaskFeatures.Sentences([["the", "abcdefgi"]], cacheable: false)
        let a = features.batch(long, indices: [0], training: false, rng: &rng).layers
        let b = features.batch(cut, indices: [0], training: false, rng: &rng).layers
        let c = features.batch(other, indices: [0], training: false, rng: &rng).layers
        XCTAssertEqual(a.map(\.scalars), b.map(\.scalars))
        XCTAssertNotEqual(b.map(\.scalars), c.map(\.scalars), "the 8th byte must still matter")
    }

    func testPredictionsAreWrittenAsCoNLL() {
        XCTAssertEqual(TaggerModel.conll(tokens: [["a", "b"], ["c"]], tags: [["X", "Y"], ["Z"]]), "a\tX\nb\tY\n\nc\tZ\n\n")
    }
}
