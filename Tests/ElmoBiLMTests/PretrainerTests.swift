import ElmoBiLM
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation
import XCTest

/// The pre-training loop on the tiny config: exact resume (issue 4, "Exact resume"), the run folder's files, and the
/// training text's faults (invalid UTF-8, blank lines, a 10,000-character token).
final class PretrainerTests: XCTestCase {
    private var folder = ""
    private var shards: [String] = []

    override func setUpWithError() throws {
        folder = try makeTemporaryFolder(self)
        shards = [try writeTextFile(folder, "shard-a.txt", tinyShardA), try writeTextFile(folder, "shard-b.txt", tinyShardB)]
    }

    private func run(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    /// The resume tests rely on an epoch of exactly 7 full steps (a short last step would change the token counts).
    func testTinyCorpusEpochIsSevenFullSteps() throws {
        let vocabulary = try Vocabulary.build(files: shards)
        let streams = try TokenStreams(files: shards, vocabulary: vocabulary, batchSize: 2, unroll: 4, maxCharacters: 10,
                                       scratchDirectory: run("scratch"))
        XCTAssertEqual(streams.pairCount, 56)
        XCTAssertEqual(streams.stepCount, tinyStepsPerEpoch)
        XCTAssertEqual(streams.rowLength % 4, 0)
    }

    /// Trains `total` steps in one go, and again interrupted after each of `stops` (a new Pretrainer resuming from the
    /// run folder's `latest`); the final weights must be bitwise equal.
    private func assertExactResume(_ options: BiLMOptions, stops: [Int], total: Int, _ label: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let straight = try Pretrainer(settings: tinySettings(options, train: shards, output: run("\(label)-straight"), steps: total))
        try straight.train()
        XCTAssertEqual(straight.trainer.step, total, file: file, line: line)
        XCTAssertEqual(straight.trainer.epoch, total / tinyStepsPerEpoch, file: file, line: line)
        for stop in stops {
            let output = run("\(label)-stop-\(stop)")
            let first = try Pretrainer(settings: tinySettings(options, train: shards, output: output, steps: stop))
            try first.train()
            XCTAssertEqual(first.trainer.step, stop, file: file, line: line)
            var settings = tinySettings(options, train: shards, output: output, steps: total)
            settings.resume = true
            let resumed = try Pretrainer(settings: settings)
            XCTAssertEqual(resumed.trainer.step, stop, "resumed at the checkpoint's step", file: file, line: line)
            try resumed.train()
            XCTAssertEqual(resumed.trainer.step, total, file: file, line: line)
            XCTAssertEqual(resumed.trainer.tokensTrained, straight.trainer.tokensTrained, file: file, line: line)
            assertBitwiseEqualParameters(resumed.model, straight.model, "\(label), interrupted after step \(stop)",
                                         file: file, line: line)
        }
    }

    /// Adagrad with dropout: the dropout RNG, the accumulators, the carried LSTM states and the data position are
    /// restored, inside epoch 0, exactly at its end (the checkpoint before the epoch's state reset) and in epoch 1.
    func testResumeIsBitwiseExactWithDropoutAcrossAnEpochBoundary() throws {
        try assertExactResume(try tinyPretrainOptions(dropout: 0.3), stops: [3, 7, 9], total: 12, "adagrad")
    }

    /// Adam (scalar step counts besides slots) and sampled softmax (negatives drawn from the same RNG).
    func testResumeIsBitwiseExactWithAdamAndSampledSoftmax() throws {
        try assertExactResume(try tinyPretrainOptions(dropout: 0.2, negatives: 8, optimizer: "adam"), stops: [5], total: 10, "adam")
    }

    /// A run killed after a mid-run checkpoint (`--checkpoint-every 1`): point `latest` at an earlier checkpoint, as if
    /// the process had died right after writing it, and resume from there — including the checkpoint written at the
    /// last step of epoch 0 (position: epoch 0, step 7 of 7, states not yet reset).
    func testResumeFromMidRunCheckpointsIsBitwiseExact() throws {
        let options = try tinyPretrainOptions(dropout: 0.3)
        let straight = try Pretrainer(settings: tinySettings(options, train: shards, output: run("straight"), steps: 11))
        try straight.train()
        var settings = tinySettings(options, train: shards, output: run("every-step"), steps: 9)
        settings.checkpointEvery = 1
        try Pretrainer(settings: settings).train()
        for step in [4, 7] {
            let copy = run("killed-after-\(step)")
            try FileManager.default.copyItem(atPath: run("every-step"), toPath: copy)
            try Data("checkpoint-\(step).npz\n".utf8).write(to: URL(fileURLWithPath: (copy as NSString).appendingPathComponent("latest")))
            var resume = tinySettings(options, train: shards, output: copy, steps: 11)
            resume.resume = true
            resume.checkpointEvery = 1
            let resumed = try Pretrainer(settings: resume)
            XCTAssertEqual(resumed.trainer.step, step)
            XCTAssertEqual(resumed.trainer.epoch, 0)
            XCTAssertEqual(resumed.trainer.stepInEpoch, step)
            try resumed.train()
            assertBitwiseEqualParameters(resumed.model, straight.model, "resumed from checkpoint-\(step).npz")
        }
    }

    /// Records a killed run logged after its last checkpoint are dropped on resume, so the history (and the learning
    /// curve) has each step once.
    func testResumeDropsMetricsLoggedAfterTheCheckpoint() throws {
        let output = run("metrics")
        var settings = tinySettings(try tinyPretrainOptions(), train: shards, output: output, steps: 9)
        settings.logEvery = 1
        settings.checkpointEvery = 1
        try Pretrainer(settings: settings).train()
        try Data("checkpoint-4.npz\n".utf8).write(to: URL(fileURLWithPath: (output as NSString).appendingPathComponent("latest")))
        settings.maxTokens = 11 * tinyTokensPerStep
        settings.resume = true
        try Pretrainer(settings: settings).train()
        let steps = MetricsLog.read(path: (output as NSString).appendingPathComponent("metrics.jsonl"))
            .filter { ($0["kind"] as? String) == "train" }.compactMap { $0["step"] as? Int }
        XCTAssertEqual(steps, Array(1...11))
    }

    func testResumeWithoutCheckpointAndFreshRunOverExistingRunAreRefused() throws {
        let options = try tinyPretrainOptions()
        var settings = tinySettings(options, train: shards, output: run("empty"), steps: 1)
        settings.resume = true
        XCTAssertThrowsError(try Pretrainer(settings: settings)) { error in
            XCTAssertTrue("\(error)".contains("--resume"), "\(error)")
        }
        try Pretrainer(settings: tinySettings(options, train: shards, output: run("done"), steps: 1)).train()
        XCTAssertThrowsError(try Pretrainer(settings: tinySettings(options, train: shards, output: run("done"), steps: 1))) { error in
            XCTAssertTrue("\(error)".contains("already holds a run"), "\(error)")
        }
    }

    /// The run folder as Checkpoints/README.md lays it out, `metrics.jsonl` with train and valid records, the SVG learning curve.
    func testRunFolderHoldsCheckpointsBestLatestMetricsAndLearningCurve() throws {
        let valid = try writeTextFile(folder, "valid.txt", "the cat sat on the floor\nthe dog ran\n")
        var settings = tinySettings(try tinyPretrainOptions(), train: shards, output: run("full"), steps: 9)
        settings.validFile = valid
        settings.validateEvery = 3
        settings.checkpointEvery = 2
        settings.logEvery = 2
        settings.keepLast = 2
        var records: [[String: Any]] = []
        let trainer = try Pretrainer(settings: settings)
        trainer.onRecord = { records.append($0) }
        let ppl = try XCTUnwrap(try trainer.train())
        XCTAssertTrue(ppl.forward.isFinite && ppl.backward.isFinite && ppl.mean > 1, "\(ppl)")
        XCTAssertEqual(ppl.targets, 11, "valid has 7 + 4 forward targets (</S> included)")

        let output = run("full")
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: output))
        XCTAssertEqual(Set(names.filter { !$0.hasPrefix(".") }),
                       Set(["checkpoint-8.npz", "checkpoint-9.npz", "best.npz", "latest", "metrics.jsonl", "learning-curve.svg",
                        "options.json", "vocab.txt"]), "the last 2 checkpoints are kept")
        XCTAssertTrue(names.filter { $0.hasSuffix(".tmp") }.isEmpty, "no temporary file is left: \(names)")
        XCTAssertEqual(try String(contentsOfFile: (output as NSString).appendingPathComponent("latest"), encoding: .utf8), "checkpoint-9.npz\n")

        let metrics = MetricsLog.read(path: (output as NSString).appendingPathComponent("metrics.jsonl"))
        let train = metrics.filter { ($0["kind"] as? String) == "train" }
        let validRecords = metrics.filter { ($0["kind"] as? String) == "valid" }
        XCTAssertEqual(train.compactMap { $0["step"] as? Int }, [2, 4, 6, 8, 9])
        XCTAssertEqual(validRecords.compactMap { $0["step"] as? Int }, [3, 6, 9], "every 3 steps; the end (step 9) only once")
        XCTAssertTrue(train.allSatisfy { ($0["train_loss"] as? Double).map(\.isFinite) ?? false })
        XCTAssertEqual(records.count, 7, "onRecord saw the 4 periodic train and 3 valid records")
        // metrics.jsonl gives back the very Double that was logged (MetricsLogTests).
        XCTAssertEqual(validRecords.last?["valid_ppl_mean"] as? Double, ppl.mean)

        let svg = try String(contentsOfFile: (output as NSString).appendingPathComponent("learning-curve.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg"), String(svg.prefix(40)))
        XCTAssertTrue(svg.contains("train loss") && svg.contains("valid perplexity"))
        XCTAssertTrue(svg.contains("<polyline") || svg.contains("<path"), "the curves are drawn")

        let best = try BiLMCheckpoint.load((output as NSString).appendingPathComponent("best.npz"))
        XCTAssertEqual(best.trainer.bestValidPerplexity, validRecords.compactMap { $0["valid_ppl_mean"] as? Double }.min())
    }

    /// Temporary files of a killed writer (hidden dot-files) are removed when a run resumes; a live process's stay.
    func testAbandonedTemporaryFilesAreRemovedOnResume() throws {
        let output = run("temps")
        try Pretrainer(settings: tinySettings(try tinyPretrainOptions(), train: shards, output: output, steps: 1)).train()
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        let abandoned = [".checkpoint-5.npz.\(dead).12345.tmp", ".latest.\(dead).tmp"]
        let live = ".checkpoint-6.npz.\(getpid()).99.tmp"
        for name in abandoned + [live] { try writeTextFile(output, name, "partial") }
        var settings = tinySettings(try tinyPretrainOptions(), train: shards, output: output, steps: 1)
        settings.resume = true
        _ = try Pretrainer(settings: settings)
        let names = try FileManager.default.contentsOfDirectory(atPath: output)
        for name in abandoned { XCTAssertFalse(names.contains(name), "\(name) was removed") }
        XCTAssertTrue(names.contains(live), "a live process's temporary file is kept")
    }

    // MARK: - Bad training text

    func testInvalidUTF8NamesTheFileAndLine() throws {
        var bytes = Array("good line here\nanother good one\n".utf8)
        bytes += [0x62, 0x61, 0x64, 0x20, 0xC3, 0x28, 0x0A]  // "bad " + an invalid two-byte sequence, line 3
        let bad = (folder as NSString).appendingPathComponent("latin1.txt")
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        let options = try tinyPretrainOptions()
        // Building the vocabulary reads the file first.
        XCTAssertThrowsError(try Pretrainer(settings: tinySettings(options, train: [shards[0], bad], output: run("u1"), steps: 1))) { error in
            XCTAssertEqual(error as? TextError, .invalidUTF8(path: bad, line: 3))
            XCTAssertTrue("\(error)".contains("\(bad):3"), "\(error)")
        }
        // With a given vocabulary, the token streams meet it when training starts.
        let vocab = (folder as NSString).appendingPathComponent("vocab.txt")
        try Vocabulary.build(files: shards).write(to: vocab)
        var settings = tinySettings(options, train: [shards[0], bad], output: run("u2"), steps: 1)
        settings.vocabularyFile = vocab
        settings.shuffleShards = false
        let trainer = try Pretrainer(settings: settings)
        XCTAssertThrowsError(try trainer.train()) { error in
            XCTAssertEqual(error as? TextError, .invalidUTF8(path: bad, line: 3))
        }
    }

    /// Blank and whitespace-only lines are skipped: the same text with them trains to bitwise the same weights.
    func testBlankLinesAreSkipped() throws {
        let spaced = try writeTextFile(folder, "spaced-a.txt", "\n   \n" + tinyShardA.replacingOccurrences(of: "\n", with: "\n\n\t \n"))
        let spacedB = try writeTextFile(folder, "spaced-b.txt", tinyShardB.replacingOccurrences(of: "\n", with: "\r\n\r\n"))
        let options = try tinyPretrainOptions()
        var plainSettings = tinySettings(options, train: shards, output: run("plain"), steps: 3)
        plainSettings.shuffleShards = false
        var spacedSettings = tinySettings(options, train: [spaced, spacedB], output: run("spaced"), steps: 3)
        spacedSettings.shuffleShards = false
        let plain = try Pretrainer(settings: plainSettings)
        try plain.train()
        let withBlanks = try Pretrainer(settings: spacedSettings)
        try withBlanks.train()
        XCTAssertEqual(withBlanks.vocabulary, plain.vocabulary)
        assertBitwiseEqualParameters(withBlanks.model, plain.model, "blank lines change nothing")
    }

    /// A 10,000-character token is cut to max_characters_per_token (BOW and EOW kept) and trains without error.
    func testTenThousandCharacterTokenIsCutWithoutError() throws {
        let long = String(repeating: "가", count: 10_000)
        let ids = CharacterIds.ids(for: long, maxCharacters: 10)
        // 가 = EA B0 80: 8 bytes fit between BOW and EOW (ids +1).
        let expected: [Int32] = [259, 235, 177, 129, 235, 177, 129, 235, 177, 260]
        XCTAssertEqual(ids, expected)
        let text = try writeTextFile(folder, "long.txt", tinyShardA + "a \(long) token\n" + String(repeating: "x", count: 10_000) + "\n")
        var settings = tinySettings(try tinyPretrainOptions(), train: [text, shards[1]], output: run("long"), steps: 8)
        settings.shuffleShards = false
        let trainer = try Pretrainer(settings: settings)
        XCTAssertTrue(trainer.vocabulary.words.contains(long), "the vocabulary keeps the whole word")
        try trainer.train()
        XCTAssertGreaterThanOrEqual(trainer.trainer.tokensTrained, 8 * tinyTokensPerStep)
        XCTAssertGreaterThanOrEqual(trainer.trainer.epoch, 1, "the epoch holding the long tokens was trained through")
        XCTAssertTrue(trainer.model.parameters.allSatisfy { $0.value.scalars.allSatisfy(\.isFinite) })
    }
}
