import Foundation
import XCTest

/// What one run of the `elmo` binary printed and how it ended.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
    /// True when the process ended by a signal (a crash or a kill), not by exiting.
    var signaled: Bool

    /// The last stdout line parsed as a JSON object (the commands print their summary last).
    func json(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let last = stdout.split(separator: "\n").last.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(last.utf8))
        return try XCTUnwrap(object as? [String: Any], "stdout's last line is a JSON object: \(stdout)", file: file, line: line)
    }
}

/// The `elmo` executable of the same build as the test bundle: next to it in `.build/<config>/` (the README's test
/// command builds the `elmo` product first), or `ELMO_BINARY` when set.
func elmoBinary() throws -> URL {
    var candidates: [URL] = []
    if let path = ProcessInfo.processInfo.environment["ELMO_BINARY"] { candidates.append(URL(fileURLWithPath: path)) }
    let bundle = Bundle(for: CLIFixture.self).bundleURL
    candidates += [bundle.deletingLastPathComponent(), Bundle.main.bundleURL, bundle.appendingPathComponent("Contents/MacOS")]
        .map { $0.appendingPathComponent("elmo") }
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw XCTSkip("The elmo binary is not built (looked at \(candidates.map(\.path))). Run `swift build --product elmo` "
                      + "(same configuration as the tests) first, or set ELMO_BINARY.")
    }
    return binary
}

/// Starts `elmo arguments…` with stdout and stderr going to files in `folder` (no pipe can fill up and block it).
func startElmo(_ arguments: [String], in folder: String) throws -> (process: Process, stdout: String, stderr: String) {
    try startProcess(try elmoBinary(), arguments, in: folder)
}

/// Starts `executable arguments…` (with `environment` when given) as `startElmo` does.
func startProcess(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                  in folder: String) throws -> (process: Process, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    let tag = UUID().uuidString
    let out = (folder as NSString).appendingPathComponent(".stdout-\(tag)")
    let err = (folder as NSString).appendingPathComponent(".stderr-\(tag)")
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    _ = FileManager.default.createFile(atPath: err, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return (process, out, err)
}

/// Collects a started process's result (after it ended) and removes its output files.
func finishElmo(_ started: (process: Process, stdout: String, stderr: String)) -> CLIResult {
    started.process.waitUntilExit()
    defer {
        try? FileManager.default.removeItem(atPath: started.stdout)
        try? FileManager.default.removeItem(atPath: started.stderr)
    }
    func read(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
    return CLIResult(status: started.process.terminationStatus, stdout: read(started.stdout), stderr: read(started.stderr),
                     signaled: started.process.terminationReason == .uncaughtSignal)
}

/// Runs `elmo arguments…` in `folder` to completion.
func runElmo(_ arguments: [String], in folder: String) throws -> CLIResult {
    finishElmo(try startElmo(arguments, in: folder))
}

/// Fails unless the run failed cleanly: non-zero exit (not a signal), stderr exactly one line `Error: …` containing
/// each of `parts`, and no crash report or stack trace.
func assertCleanError(_ result: CLIResult, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(result.signaled, "crashed: \(result.stderr)", file: file, line: line)
    XCTAssertNotEqual(result.status, 0, file: file, line: line)
    let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
    XCTAssertEqual(lines.count, 1, "one line on stderr: \(result.stderr)", file: file, line: line)
    XCTAssertTrue(result.stderr.hasPrefix("Error: "), result.stderr, file: file, line: line)
    for part in parts { XCTAssertTrue(result.stderr.contains(part), "\(result.stderr)\n  lacks: \(part)", file: file, line: line) }
    for crash in ["Fatal error", "Stack dump", "stack trace", "Illegal instruction", "Segmentation"] {
        XCTAssertFalse(result.stderr.contains(crash), result.stderr, file: file, line: line)
    }
}

/// The tiny biLM config of the CLI tests (as the library tests' `tinyPretrainOptions`).
let tinyConfigJSON = """
{"char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 4]], "n_highway": 1, "activation": "relu",
              "max_characters_per_token": 10},
 "lstm": {"dim": 12, "projection_dim": 5, "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
 "dropout": 0.1, "batch_size": 2, "unroll_steps": 4, "n_negative_samples_batch": 0, "all_clip_norm_val": 1}
"""

/// Two shards giving exactly 7 full steps of 8 tokens per epoch at batch 2, unroll 4.
let tinyShards = [
    "the cat sat on the mat\na dog ran in the park\nthe bird sang a song\n고양이 가 잔다\ncats and dogs play\n",
    "the sun is hot today\nwe like the cat\na mat is on the floor\ndogs run and birds fly\nthe end\n",
]
let tinyValid = "the cat sat on the floor\nthe dog ran\n"

/// A folder with the tiny config, corpus and validation text, and one finished `elmo pretrain` run in `run/`,
/// made once for all CLI tests (they only read it).
final class CLIFixture {
    let folder: String
    let pretrain: CLIResult

    private static var shared: CLIFixture?

    /// Removes the shared run (call from a test class's class tearDown).
    static func release() { shared = nil }

    static func get() throws -> CLIFixture {
        if let shared { return shared }
        let fixture = try CLIFixture()
        shared = fixture
        return fixture
    }

    private init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("elmo-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (name, text) in [("tiny.json", tinyConfigJSON), ("a.txt", tinyShards[0]), ("b.txt", tinyShards[1]), ("valid.txt", tinyValid)] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
        }
        pretrain = try runElmo(["pretrain", "--config", "tiny.json", "--train", "a.txt", "b.txt", "--valid", "valid.txt",
                                "--output", "run", "--epochs", "2", "--checkpoint-every", "3", "--validate-every", "5",
                                "--log-every", "2", "--threads", "1", "--seed", "3"], in: folder)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
}

/// A fresh empty folder under the system temporary directory, removed when the test ends.
func makeCLITestFolder(_ test: XCTestCase) throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("elmo-cli-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
    return folder
}

/// A one-epoch classifier `cls` in `folder` on the fixture's biLM (`train.tsv`: "pos the cat sat" / "neg a dog ran in
/// the park", also its dev set), with `extra` finetune options.
func trainTinyClassifier(_ fixture: CLIFixture, in folder: String, _ extra: [String] = [],
                         file: StaticString = #filePath, line: UInt = #line) throws {
    let rows = (0..<8).map { $0 % 2 == 0 ? "pos\tthe cat sat" : "neg\ta dog ran in the park" }.joined(separator: "\n") + "\n"
    try Data(rows.utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("train.tsv")))
    let trained = try runElmo(["finetune", "classifier", "--checkpoint", fixture.path("run"), "--train", "train.tsv", "--dev", "train.tsv",
                               "--output", "cls", "--epochs", "1", "--hidden", "4", "--threads", "1"] + extra, in: folder)
    XCTAssertEqual(trained.status, 0, trained.stderr, file: file, line: line)
}
