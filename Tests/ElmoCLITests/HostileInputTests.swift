import Foundation
import XCTest

/// Issue 15: bad input and faults that crashed, lost data or gave silent wrong results. Each test runs the `elmo`
/// binary the way the report did and checks the new behaviour.
final class HostileInputTests: XCTestCase {
    override class func tearDown() {
        CLIFixture.release()
        super.tearDown()
    }

    private func write(_ text: String, _ name: String, in folder: String) throws -> String {
        let path = (folder as NSString).appendingPathComponent(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Waits (at most a minute) until `path` exists or `process` ends.
    private func wait(for path: String, while process: Process) {
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: path) && process.isRunning && Date() < deadline { usleep(5_000) }
    }

        private func assertRefused(_ result: CLIResult, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(result.signaled, "crashed: \(result.stderr)", file: file, line: line)
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("Error: "), result.stderr, file: file, line: line)
        for part in parts { XCTAssertTrue(result.stderr.contains(part), "\(result.stderr)\n  lacks: \(part)", file: file, line: line) }
    }

    // MARK: - Crashes

    func testMaxVocabBelowTheThreeSpecialsIsRefused() throws {
        let fixture = try CLIFixture.get()
        for size in ["2", "0"] {
            let result = try runElmo(["pretrain", "--config", "tiny.json", "--train", "a.txt", "--output", "mv-\(size)", "--max-vocab", size],
                                     in: fixture.folder)
            assertRefused(result, ["--max-vocab", "at least 3"])
        }
    }

    func testHugeSizesAndFractionsInAConfigAreRefusedNamingKeyValueAndRange() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let cases: [(String, String, [String])] = [
            ("\"dim\": 12,", "\"dim\": 1000000000,", ["'lstm.dim'", "1000000000", "[1, 32768]"]),
            ("\"dim\": 12,", "\"dim\": 2147483648,", ["'lstm.dim'", "2147483648", "[1, 32768]"]),
            ("\"batch_size\": 2,", "\"batch_size\": 1e12,", ["'batch_size'", "1000000000000", "[1, 16384]"]),
            ("\"dim\": 12,", "\"dim\": 256.5,", ["'lstm.dim'", "256.5", "not an integer"]),
            ("\"batch_size\": 2, \"unroll_steps\": 4,", "\"batch_size\": 16000, \"unroll_steps\": 10000,", ["'lstm.dim'", "GB", "lower lstm.dim"]),
        ]
        for (k, (from, to, parts)) in cases.enumerated() {
            let config = tinyConfigJSON.replacingOccurrences(of: from, with: to)
            let path = try write(config, "c\(k).json", in: folder)
            let started = Date()
            assertCleanError(try runElmo(["pretrain", "--config", path, "--train", fixture.path("a.txt"), "--output", "out\(k)"], in: folder),
                             parts)
            XCTAssertLessThan(Date().timeIntervalSince(started), 10, "refused before allocating")
            XCTAssertFalse(FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("out\(k)")))
        }
    }

    /// A full disk during `embed` (simulated with a file-size limit: writes fail with EFBIG as with ENOSPC) ended in
    /// SIGSEGV inside libhdf5 after the error message.
    func testEmbedOnAFullDiskFailsCleanlyAndLeavesNothing() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        _ = try write(String(repeating: "the cat sat on the mat and the dog ran in the park\n", count: 3000), "many.txt", in: folder)
        let binary = try elmoBinary().path
        for format in ["hdf5", "npz"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            // 100 blocks of 512 bytes: a few hundred sentences fit, then every write fails.
            process.arguments = ["-c", "trap '' XFSZ; ulimit -f 100; exec \"$0\" embed --checkpoint \"$1\" --input many.txt --output out.\(format) --format \(format) --threads 1",
                                 binary, fixture.path("run")]
            process.currentDirectoryURL = URL(fileURLWithPath: folder)
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .exit, "\(format): no crash: \(stderr)")
            XCTAssertEqual(process.terminationStatus, 1, "\(format): \(stderr)")
            XCTAssertTrue(stderr.contains("Error: "), stderr)
            XCTAssertFalse(stderr.contains("crashed") || stderr.contains("Backtrac"), stderr)
            let left = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("out.") || $0.hasPrefix(".out.") }
            XCTAssertEqual(left, [], "\(format): no output, partial file or lock left")
        }
    }

    func testAVeryLongLineIsRefusedNamingItsLine() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let long = Array(repeating: "cat", count: 1001).joined(separator: " ")
        let input = try write("the cat\n\(long)\n", "long.txt", in: folder)
        assertCleanError(try runElmo(["embed", "--checkpoint", fixture.path("run"), "--input", input, "--output", "o.hdf5"], in: folder),
                         ["long.txt:2", "1001 tokens", "--max-length 1000"])
        let raised = try runElmo(["embed", "--checkpoint", fixture.path("run"), "--input", input, "--output", "o.hdf5", "--max-length", "2000",
                                  "--threads", "1"], in: folder)
        XCTAssertEqual(raised.status, 0, raised.stderr)
    }

    // MARK: - Data loss

    func testEmbedOverwriteNeverDeletesAFolder() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let results = (folder as NSString).appendingPathComponent("results")
        try FileManager.default.createDirectory(atPath: results, withIntermediateDirectories: true)
        _ = try write("keep", "results/notes.txt", in: folder)
        assertCleanError(try runElmo(["embed", "--checkpoint", fixture.path("run"), "--input", fixture.path("valid.txt"), "--output", "results",
                                      "--overwrite"], in: folder), ["results is a folder"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: (results as NSString).appendingPathComponent("notes.txt")))
    }

    func testVocabBuildRefusesItsOwnInputAndAFolderAsOutput() throws {
        let folder = try makeCLITestFolder(self)
        let corpus = try write("the cat\nthe dog\n", "corpus.txt", in: folder)
        assertCleanError(try runElmo(["vocab", "build", "corpus.txt", "--output", "corpus.txt"], in: folder), ["also an input file"])
        XCTAssertEqual(try String(contentsOfFile: corpus, encoding: .utf8), "the cat\nthe dog\n", "the corpus is untouched")
        try FileManager.default.createDirectory(atPath: (folder as NSString).appendingPathComponent("out"), withIntermediateDirectories: true)
        assertCleanError(try runElmo(["vocab", "build", "corpus.txt", "--output", "out"], in: folder), ["out is a folder", "out/vocab.txt"])
    }

    func testPretrainRefusesAFolderThatIsNotAPretrainingRun() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let model = (folder as NSString).appendingPathComponent("cls")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        let best = try write("a task model", "cls/best.npz", in: folder)
        assertCleanError(try runElmo(["pretrain", "--config", fixture.path("tiny.json"), "--train", fixture.path("a.txt"), "--output", "cls",
                                      "--max-tokens", "8"], in: folder), ["cls is not empty", "best.npz"])
        XCTAssertEqual(try String(contentsOfFile: best, encoding: .utf8), "a task model")
    }

    /// A second writer is refused naming the PID holding the lock; a lock left by a dead process is taken over.
    func testASecondWriterIsRefusedAndAStaleLockIsTakenOver() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let run = (folder as NSString).appendingPathComponent("run")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let lockPath = (run as NSString).appendingPathComponent(".lock")
        let arguments = ["pretrain", "--config", fixture.path("tiny.json"), "--train", fixture.path("a.txt"), "--output", "run",
                         "--max-tokens", "8", "--threads", "1"]

        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        _ = "\(getpid())\n".withCString { Glibc.write(fd, $0, strlen($0)) }
        assertCleanError(try runElmo(arguments, in: folder), ["run is being written by another process", "PID \(getpid())"])
        close(fd)  // as if the holder was killed: the kernel drops the lock, the file stays with its PID

        let taken = try runElmo(arguments, in: folder)
        XCTAssertEqual(taken.status, 0, taken.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: lockPath), "the lock file is removed at the end")
    }

    func testSIGINTAndSIGTERMDuringPretrainSaveAndSayHowToResume() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        for (signal, code, name) in [(SIGINT, 130, "SIGINT"), (SIGTERM, 143, "SIGTERM")] {
            let output = "run-\(name)"
            let started = try startElmo(["pretrain", "--config", fixture.path("tiny.json"), "--train", fixture.path("a.txt"), fixture.path("b.txt"),
                                         "--output", output, "--max-tokens", "1000000000", "--checkpoint-every", "1000000", "--threads", "1",
                                         "--log-every", "1000000"], in: folder)
            let marker = (folder as NSString).appendingPathComponent("\(output)/INCOMPLETE")
            wait(for: marker, while: started.process)
            usleep(200_000)
            kill(started.process.processIdentifier, signal)
            let result = finishElmo(started)
            XCTAssertFalse(result.signaled, "\(name): exits, not killed: \(result.stderr)")
            XCTAssertEqual(result.status, Int32(code), "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("Stopped by \(name)") && result.stderr.contains("--resume"), result.stderr)
            let latest = try String(contentsOfFile: (folder as NSString).appendingPathComponent("\(output)/latest"), encoding: .utf8)
            XCTAssertTrue(result.stderr.contains(latest.trimmingCharacters(in: .whitespacesAndNewlines)), "names the checkpoint: \(result.stderr)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: marker), "an interrupted run stays marked incomplete")
        }
    }

    /// kill -9 during finetune left a best.npz that looked complete; now the run folder says it is not, and
    /// `evaluate` warns. SIGTERM stops after the batch with exit 143.
    func testKilledOrStoppedFinetuneIsMarkedIncompleteAndEvaluateWarns() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let rows = (0..<40).map { $0 % 2 == 0 ? "pos\tthe cat sat \($0 % 3)" : "neg\ta dog ran \($0 % 3)" }
        _ = try write(rows.joined(separator: "\n") + "\n", "train.tsv", in: folder)
        _ = try write(rows.prefix(10).joined(separator: "\n") + "\n", "dev.tsv", in: folder)
        func finetune(_ output: String, epochs: Int) -> [String] {
            ["finetune", "classifier", "--checkpoint", fixture.path("run"), "--train", "train.tsv", "--dev", "dev.tsv", "--output", output,
             "--epochs", "\(epochs)", "--patience", "\(epochs)", "--hidden", "4", "--batch-size", "4", "--threads", "1"]
        }
        let finished = try runElmo(finetune("done", epochs: 2), in: folder)
        XCTAssertEqual(finished.status, 0, finished.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("done/INCOMPLETE")))
        XCTAssertTrue(finished.stderr.contains("done: 2 of 2 epochs"), "the last progress line is the final state: \(finished.stderr)")
        let quiet = try runElmo(["evaluate", "--model", "done", "--data", "dev.tsv"], in: folder)
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertFalse(quiet.stderr.contains("did not finish"), quiet.stderr)

        for (signal, output) in [(SIGKILL, "killed"), (SIGTERM, "stopped")] {
            let started = try startElmo(finetune(output, epochs: 1_000_000), in: folder)
            wait(for: (folder as NSString).appendingPathComponent("\(output)/best.npz"), while: started.process)
            usleep(100_000)
            kill(started.process.processIdentifier, signal)
            let result = finishElmo(started)
            if signal == SIGTERM {
                XCTAssertEqual(result.status, 143, result.stderr)
                XCTAssertTrue(result.stderr.contains("Stopped by SIGTERM") && result.stderr.contains("marked incomplete"), result.stderr)
            }
            let evaluate = try runElmo(["evaluate", "--model", output, "--data", "dev.tsv"], in: folder)
            XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
            XCTAssertTrue(evaluate.stderr.contains("did not finish"), "\(output): \(evaluate.stderr)")
        }
    }

    // MARK: - Silent wrong results

    func testTruncatedGzipIsAnErrorAndAByteOrderMarkIsNotAToken() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let text = (0..<1500).map { "the cat sat on the mat number \($0)" }.joined(separator: "\n") + "\n"
        let plain = try write(text, "corpus.txt", in: folder)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", plain]
        try gzip.run()
        gzip.waitUntilExit()
        let whole = try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("cut.txt.gz")))
        assertCleanError(try runElmo(["vocab", "build", "cut.txt.gz", "--output", "v.txt"], in: folder), ["cut.txt.gz", "truncated"])
        assertCleanError(try runElmo(["embed", "--checkpoint", fixture.path("run"), "--input", "cut.txt.gz", "--output", "o.hdf5"], in: folder),
                         ["cut.txt.gz", "truncated"])

        try Data([0xEF, 0xBB, 0xBF] + Array("zebra cat\n".utf8)).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("bom.txt")))
        let vocab = try runElmo(["vocab", "build", "bom.txt", "--output", "bom-vocab.txt"], in: folder)
        XCTAssertEqual(vocab.status, 0, vocab.stderr)
        XCTAssertEqual(try String(contentsOfFile: (folder as NSString).appendingPathComponent("bom-vocab.txt"), encoding: .utf8),
                       "<S>\n</S>\n<UNK>\nzebra\ncat\n")
    }

    func testUnknownConfigKeysAreRefusedWithASuggestionUnlessAllowed() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let typo = try write(tinyConfigJSON.replacingOccurrences(of: "\"dropout\": 0.1,", with: "\"dropout\": 0.1, \"optimiser\": \"adam\", \"learnin_rate\": 0.01,"),
                             "typo.json", in: folder)
        assertCleanError(try runElmo(["pretrain", "--config", typo, "--train", fixture.path("a.txt"), "--output", "t1"], in: folder),
                         ["'learnin_rate'", "did you mean 'learning_rate'", "--allow-unknown-keys"])
        let nested = try write(tinyConfigJSON.replacingOccurrences(of: "\"n_layers\": 2", with: "\"n_layer\": 2, \"n_layers\": 2"), "nested.json", in: folder)
        assertCleanError(try runElmo(["pretrain", "--config", nested, "--train", fixture.path("a.txt"), "--output", "t2"], in: folder),
                         ["'lstm.n_layer'", "did you mean 'lstm.n_layers'"])
        let allowed = try runElmo(["pretrain", "--config", typo, "--train", fixture.path("a.txt"), "--output", "t3", "--allow-unknown-keys",
                                   "--max-tokens", "8", "--threads", "1"], in: folder)
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
    }

    func testResumeWithAnotherSeedOrTextIsRefusedAndAChangedConfigNamesTheKeys() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let base = ["pretrain", "--config", fixture.path("tiny.json"), "--output", "run", "--threads", "1", "--seed", "3"]
        let first = try runElmo(base + ["--train", fixture.path("a.txt"), "--max-tokens", "8"], in: folder)
        XCTAssertEqual(first.status, 0, first.stderr)
        assertCleanError(try runElmo(["pretrain", "--config", fixture.path("tiny.json"), "--output", "run", "--train", fixture.path("a.txt"),
                                      "--max-tokens", "16", "--seed", "4", "--resume"], in: folder), ["--seed 3", "--seed 4"])
        assertCleanError(try runElmo(base + ["--train", fixture.path("b.txt"), "--max-tokens", "16", "--resume"], in: folder),
                         ["--train", "b.txt"])
        let changed = try write(tinyConfigJSON.replacingOccurrences(of: "\"dropout\": 0.1", with: "\"dropout\": 0.2"), "changed.json", in: folder)
        let resumed = try runElmo(["pretrain", "--config", changed, "--output", "run", "--threads", "1", "--seed", "3", "--train",
                                   fixture.path("a.txt"), "--max-tokens", "16", "--resume"], in: folder)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("dropout 0.1 -> 0.2") || resumed.stderr.contains("dropout 0.10000000149011612 -> 0.20000000298023224"),
                      resumed.stderr)
    }

    func testPerplexityShowsProgress() throws {
        let fixture = try CLIFixture.get()
        let result = try runElmo(["perplexity", "--checkpoint", "run", "valid.txt", "--threads", "1"], in: fixture.folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("scored ") && $0.contains(" windows") && $0.contains("ETA") }
        XCTAssertFalse(lines.isEmpty, result.stderr)
        let words = lines.last!.split(separator: " ")
        XCTAssertEqual(words[1], words[3], "the last line is the end: \(result.stderr)")
    }

    func testGenerateRefusesANaNTemperature() throws {
        let fixture = try CLIFixture.get()
        let result = try runElmo(["generate", "--checkpoint", "run", "--temperature", "nan"], in: fixture.folder)
        assertRefused(result, ["--temperature", "nan"])
    }

    // MARK: - Unclear errors

    func testThreadsOutOfRangeIsARangeError() throws {
        let fixture = try CLIFixture.get()
        for threads in ["-1", "0", "1000"] {
            let result = try runElmo(["perplexity", "--checkpoint", "run", "valid.txt", "--threads", threads], in: fixture.folder)
            assertRefused(result, ["--threads must be between 1 and 256, not \(threads)"])
        }
    }

    func testMisspeltCommandsAndOptionsGetASuggestion() throws {
        let folder = try makeCLITestFolder(self)
        let cases: [([String], String)] = [
            (["pretran"], "Did you mean 'pretrain'?"), (["finetune", "clasifier"], "Did you mean 'classifier'?"),
            (["pretrain", "--confg", "x.json"], "Did you mean '--config'?"),
            (["embed", "--inptu", "x.txt"], "Did you mean '--input'?"),
            (["pretrain", "--shuffle-shard"], "Did you mean '--shuffle-shards'?"),
        ]
        for (arguments, hint) in cases {
            let result = try runElmo(arguments, in: folder)
            assertCleanError(result, [hint])
        }
        let help = try runElmo(["pretrain", "--help"], in: folder)
        XCTAssertEqual(help.status, 0, "known options pass: \(help.stderr)")
    }

    func testAFolderAsInputAndATaskModelAsCheckpointSayWhatTheyAre() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        try FileManager.default.createDirectory(atPath: (folder as NSString).appendingPathComponent("texts"), withIntermediateDirectories: true)
        assertCleanError(try runElmo(["embed", "--checkpoint", fixture.path("run"), "--input", "texts", "--output", "o.hdf5"], in: folder),
                         ["texts is a folder"])
        assertCleanError(try runElmo(["pretrain", "--config", fixture.path("tiny.json"), "--train", "texts", "--output", "r"], in: folder),
                         ["texts is a folder", "texts/*.txt"])

        let rows = (0..<8).map { $0 % 2 == 0 ? "pos\tthe cat" : "neg\ta dog" }.joined(separator: "\n") + "\n"
        _ = try write(rows, "train.tsv", in: folder)
        let trained = try runElmo(["finetune", "classifier", "--checkpoint", fixture.path("run"), "--train", "train.tsv", "--dev", "train.tsv",
                                   "--output", "cls", "--epochs", "1", "--hidden", "4", "--threads", "1"], in: folder)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        for command in [["embed", "--checkpoint", "cls", "--input", "train.tsv", "--output", "o.hdf5"], ["perplexity", "--checkpoint", "cls", "train.tsv"],
                        ["generate", "--checkpoint", "cls"], ["export-weights", "--checkpoint", "cls", "--output", "w"]] {
            let result = try runElmo(command, in: folder)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains("is a fine-tuned task model") && result.stderr.contains("elmo predict --model"),
                          "\(command[0]): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("a a "), result.stderr)
        }
        let inspect = try runElmo(["inspect", "cls", "--json"], in: folder)
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let summary = try inspect.json()
        XCTAssertEqual(summary["kind"] as? String, "classifier")
        XCTAssertEqual(summary["labels"] as? [String], ["neg", "pos"])
        XCTAssertEqual(summary["crc"] as? String, "verified")
    }
}
