import Foundation
import XCTest

/// The `elmo` command line, run as a separate process: help, `pretrain`'s outputs, `perplexity --json`, `inspect`,
/// `generate`, and clean one-line errors (issue 4).
final class ElmoCommandTests: XCTestCase {
    override class func tearDown() {
        CLIFixture.release()
        super.tearDown()
    }

    func testHelpOfEveryCommandExitsZeroAndNamesItsKeyOptions() throws {
        let folder = try makeCLITestFolder(self)
        let expected: [([String], [String])] = [
            ([], ["vocab", "pretrain", "perplexity", "generate", "inspect", "embed", "score", "import-weights", "export-weights"]),
            (["vocab", "build"], ["--output", "--min-count", "--max-size", "<S>"]),
            (["pretrain"], ["--config", "--train", "--valid", "--vocab", "--output", "--epochs", "--max-tokens", "--seed",
                            "--threads", "--checkpoint-every", "--resume", "--init-from", "--vocab-mode", "--new-word-init"]),
            (["perplexity"], ["--checkpoint", "--json", "--reset-each-line"]),
            (["score"], ["--checkpoint", "--per-token", "--json", "--tsv", "--batch-size", "forward_logprob", "perplexity"]),
            (["generate"], ["--checkpoint", "--prompt", "--temperature", "--top-k", "--max-tokens", "--seed", "</S>"]),
            (["inspect"], ["<checkpoint>", "--json", "CRC"]),
            (["embed"], ["--checkpoint", "--input", "--output", "--layers"]),
            (["import-weights"], ["--options", "--weights", "--vocab", "--output", "no softmax", "--softmax-weights"]),
            (["export-weights"], ["--checkpoint", "--output", "--overwrite", "AllenNLP"]),
        ]
        for (command, options) in expected {
            let result = try runElmo(command + ["--help"], in: folder)
            XCTAssertEqual(result.status, 0, "elmo \(command) --help: \(result.stderr)")
            for option in options {
                XCTAssertTrue(result.stdout.contains(option), "elmo \(command.joined(separator: " ")) --help lacks \(option):\n\(result.stdout)")
            }
        }
    }

    /// One finished run: JSON summary, quiet progress (one line per --log-every steps, no terminal control codes when
    /// stderr is a file), and the run folder's files.
    func testPretrainWritesSummaryProgressMetricsPlotAndCheckpoints() throws {
        let fixture = try CLIFixture.get()
        let result = fixture.pretrain
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try result.json()
        XCTAssertEqual(summary["steps"] as? Int, 14, "2 epochs of 7 steps")
        XCTAssertEqual(summary["tokens"] as? Int, 112)
        for key in ["valid_ppl_fwd", "valid_ppl_bwd", "valid_ppl_mean"] {
            let value = try XCTUnwrap(summary[key] as? Double, key)
            XCTAssertTrue(value.isFinite && value > 1, "\(key) \(value)")
        }
        XCTAssertFalse(result.stderr.contains("\r") || result.stderr.contains("\u{1B}"), "no in-place updates into a file")
        let progress = result.stderr.split(separator: "\n").filter { $0.hasPrefix("step ") }
        XCTAssertEqual(progress.count, 7, "one progress line per 2 of 14 steps:\n\(result.stderr)")
        XCTAssertTrue(progress.allSatisfy { $0.contains("tok/s") && $0.contains("loss") && $0.contains("valid ppl") && $0.contains("ETA") },
                      "\(progress)")
        XCTAssertTrue(result.stderr.contains("vocabulary ") && result.stderr.contains("threads 1"), result.stderr)

        let run = fixture.path("run")
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: run))
        for name in ["best.npz", "latest", "metrics.jsonl", "learning-curve.svg", "options.json", "vocab.txt", "checkpoint-14.npz"] {
            XCTAssertTrue(names.contains(name), "\(name) in \(names.sorted())")
        }
        XCTAssertEqual(names.filter { $0.hasPrefix("checkpoint-") }.count, 3, "the last 3 (--keep) step checkpoints")
        XCTAssertTrue(names.allSatisfy { !$0.hasPrefix(".") }, "no temporary files or scratch folder left: \(names.sorted())")
        let metrics = try String(contentsOfFile: (run as NSString).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(metrics.contains("\"kind\":\"train\"") && metrics.contains("\"kind\":\"valid\""), metrics)
        let vocabulary = try String(contentsOfFile: (run as NSString).appendingPathComponent("vocab.txt"), encoding: .utf8)
        XCTAssertTrue(vocabulary.hasPrefix("<S>\n</S>\n<UNK>\nthe\n"), vocabulary)
    }

    func testPerplexityJSONHasTheFourKeys() throws {
        let fixture = try CLIFixture.get()
        let result = try runElmo(["perplexity", "--checkpoint", "run", "valid.txt", "--json", "--threads", "1"], in: fixture.folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try result.json()
        XCTAssertEqual(Set(json.keys), ["forward", "backward", "mean", "tokens"])
        XCTAssertEqual(json["tokens"] as? Int, 11, "7 + 4 forward targets")
        let forward = try XCTUnwrap(json["forward"] as? Double), backward = try XCTUnwrap(json["backward"] as? Double)
        let mean = try XCTUnwrap(json["mean"] as? Double)
        XCTAssertEqual(mean, (forward * backward).squareRoot(), accuracy: 1e-9 * mean, "mean = exp(mean of both NLLs)")
        let text = try runElmo(["perplexity", "--checkpoint", "run/best.npz", "valid.txt"], in: fixture.folder)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("forward") && text.stdout.contains("mean") && text.stdout.contains("(11 tokens)"), text.stdout)
    }

    func testInspectShowsParametersPerComponentAndVerifiesCRC() throws {
        let fixture = try CLIFixture.get()
        let result = try runElmo(["inspect", "run"], in: fixture.folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        for part in ["CRC verified", "parameters", "char_cnn", "highway", "projection", "forward_lstm", "backward_lstm", "softmax",
                     "step 14", "best ppl", "ratio"] {
            XCTAssertTrue(result.stdout.contains(part), "inspect lacks \(part):\n\(result.stdout)")
        }
        let file = try runElmo(["inspect", "run/checkpoint-14.npz", "--json"], in: fixture.folder)
        XCTAssertEqual(file.status, 0, file.stderr)
        let summary = try file.json()
        XCTAssertEqual(summary["crc"] as? String, "verified")
        XCTAssertEqual(summary["step"] as? Int, 14)
        let components = try XCTUnwrap(summary["parameters_by_component"] as? [String: Int])
        XCTAssertEqual(Set(components.keys), ["char_cnn", "highway", "projection", "forward_lstm", "backward_lstm", "softmax"])
        XCTAssertEqual(components.values.reduce(0, +), summary["parameters"] as? Int, "components add up to the total")
        XCTAssertEqual(components["projection"], 8 * 5 + 5, "filters 4 + 4 -> projection 5")
        let ratio = try XCTUnwrap(summary["compression_ratio"] as? Double)
        XCTAssertTrue(ratio > 0 && ratio < 1.2, "\(ratio)")
    }

    func testGenerateIsSeededBoundedAndPrintsNoSpecials() throws {
        let fixture = try CLIFixture.get()
        let arguments = ["generate", "--checkpoint", "run", "--prompt", "the cat", "--max-tokens", "3", "--seed", "4"]
        let first = try runElmo(arguments, in: fixture.folder)
        XCTAssertEqual(first.status, 0, first.stderr)
        let words = first.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        XCTAssertEqual(Array(words.prefix(2)), ["the", "cat"], "the prompt comes first")
        XCTAssertLessThanOrEqual(words.count, 5, "at most --max-tokens 3 after the prompt: \(words)")
        XCTAssertFalse(words.contains { ["<S>", "</S>", "<UNK>"].contains($0) }, "\(words)")
        XCTAssertEqual(try runElmo(arguments, in: fixture.folder).stdout, first.stdout, "same seed, same text")
        let greedy = try runElmo(["generate", "--checkpoint", "run", "--temperature", "0", "--max-tokens", "50"], in: fixture.folder)
        XCTAssertEqual(greedy.status, 0, greedy.stderr)
        XCTAssertLessThanOrEqual(greedy.stdout.split(whereSeparator: \.isWhitespace).count, 50)
    }

    // MARK: - Errors: one line, non-zero exit, never a crash

    func testMissingOrDamagedCheckpointIsAOneLineError() throws {
        let fixture = try CLIFixture.get()
        assertCleanError(try runElmo(["perplexity", "--checkpoint", "nowhere/ckpt.npz", "valid.txt"], in: fixture.folder),
                         ["nowhere/ckpt.npz"])
        assertCleanError(try runElmo(["generate", "--checkpoint", "valid.txt"], in: fixture.folder), ["valid.txt", "not a ZIP"])
        var bytes = Array(FileManager.default.contents(atPath: fixture.path("run/best.npz"))!)
        bytes[bytes.count / 2] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: fixture.path("flipped.npz")))
        assertCleanError(try runElmo(["inspect", "flipped.npz"], in: fixture.folder), ["flipped.npz", "Member '", "not loaded"])
        try Data(bytes[..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: fixture.path("cut.npz")))
        assertCleanError(try runElmo(["inspect", "cut.npz"], in: fixture.folder), ["cut.npz", "truncated"])
    }

    func testBadConfigAndBadTextAreOneLineErrors() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        try Data(tinyConfigJSON.replacingOccurrences(of: "\"dropout\": 0.1", with: "\"dropout\": 1.5").utf8)
            .write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("bad.json")))
        try Data(tinyConfigJSON.replacingOccurrences(of: "\"n_layers\": 2", with: "\"n_layers\": 0").utf8)
            .write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("layers.json")))
        try Data(tinyConfigJSON.replacingOccurrences(of: "\"batch_size\": 2, ", with: "").utf8)
            .write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("missing.json")))
        try Data([0x61, 0x20, 0x62, 0x0A, 0x63, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("bad.txt")))
        try FileManager.default.copyItem(atPath: fixture.path("tiny.json"), toPath: (folder as NSString).appendingPathComponent("tiny.json"))
        func pretrain(_ config: String, _ text: String) throws -> CLIResult {
            try runElmo(["pretrain", "--config", config, "--train", text, "--output", "out-\(UUID().uuidString)", "--threads", "1"],
                        in: folder)
        }
        assertCleanError(try pretrain("bad.json", fixture.path("a.txt")), ["bad.json", "'dropout'", "1.5", "[0, 1)"])
        assertCleanError(try pretrain("layers.json", fixture.path("a.txt")), ["layers.json", "'lstm.n_layers'", "[1, 32]"])
        assertCleanError(try pretrain("missing.json", fixture.path("a.txt")), ["missing.json", "'batch_size'", "is missing"])
        assertCleanError(try pretrain("nonexistent.json", fixture.path("a.txt")), ["nonexistent.json"])
        assertCleanError(try pretrain("tiny.json", "bad.txt"), ["bad.txt:2", "not valid UTF-8"])
        assertCleanError(try pretrain("tiny.json", "no-such-*.txt"), ["no-such-*.txt"])
        assertCleanError(try runElmo(["pretrain", "--config", "tiny.json", "--train", fixture.path("a.txt"), "--output", "fresh",
                                      "--resume"], in: folder), ["--resume", "no checkpoint"])
    }

    func testArgumentErrorsExitNonZeroWithUsage() throws {
        let folder = try makeCLITestFolder(self)
        for arguments in [["pretrain"], ["generate", "--checkpoint", "x", "--top-k", "0"], ["no-such-command"]] {
            let result = try runElmo(arguments, in: folder)
            XCTAssertFalse(result.signaled)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.stderr.hasPrefix("Error: "), "\(arguments): \(result.stderr)")
        }
    }
}
