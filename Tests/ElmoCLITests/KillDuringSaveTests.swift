import Foundation
import XCTest

/// A process killed (SIGKILL) while it writes checkpoints (issue 4, "Bad input and faults"): the checkpoint `latest`
/// names is intact, no partial `.npz` is visible, and `--resume` reaches bitwise the same checkpoint as a run that was
/// never interrupted.
final class KillDuringSaveTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = try makeCLITestFolder(self)
        try Data(tinyConfigJSON.utf8).write(to: URL(fileURLWithPath: path("tiny.json")))
        try Data(tinyShards[0].utf8).write(to: URL(fileURLWithPath: path("a.txt")))
        try Data(tinyShards[1].utf8).write(to: URL(fileURLWithPath: path("b.txt")))
    }

    private func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    private func pretrain(_ output: String, maxTokens: Int, resume: Bool = false) -> [String] {
        ["pretrain", "--config", "tiny.json", "--train", "a.txt", "b.txt", "--output", output, "--max-tokens", "\(maxTokens)",
         "--checkpoint-every", "1", "--threads", "1", "--seed", "5", "--log-every", "1000"] + (resume ? ["--resume"] : [])
    }

    func testKilledWhileCheckpointingLeavesLatestIntactAndResumeIsExact() throws {
        // Checkpoints every step of an endless run: most of the time goes to saving, so the kill usually lands inside
        // a save (of a checkpoint or of `latest`).
        let started = try startElmo(pretrain("run", maxTokens: 1_000_000_000), in: folder)
        let latest = path("run/latest")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: latest) && started.process.isRunning && Date() < deadline {
            usleep(2_000)
        }
        usleep(UInt32.random(in: 0...30_000))
        XCTAssertTrue(started.process.isRunning, "the run is still going when it is killed")
        kill(started.process.processIdentifier, SIGKILL)
        let killed = finishElmo(started)
        XCTAssertTrue(killed.signaled, "killed by SIGKILL: status \(killed.status), \(killed.stderr)")

        // What a reader sees: `latest` names a complete checkpoint; every visible .npz passes the CRC check.
        let names = try FileManager.default.contentsOfDirectory(atPath: path("run"))
        let visible = names.filter { !$0.hasPrefix(".") }
        let allowed = ["latest", "metrics.jsonl", "options.json", "vocab.txt", "INCOMPLETE"]
        for name in visible where !allowed.contains(name) {
            XCTAssertTrue(name.hasPrefix("checkpoint-") && name.hasSuffix(".npz"), "unexpected visible file \(name)")
            let inspect = try runElmo(["inspect", "run/\(name)"], in: folder)
            XCTAssertEqual(inspect.status, 0, "\(name) is complete: \(inspect.stderr)")
            XCTAssertTrue(inspect.stdout.contains("CRC verified"), inspect.stdout)
        }
        let pointer = try String(contentsOfFile: latest, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(visible.contains(pointer), "latest names \(pointer), which exists")
        let state = try runElmo(["inspect", "run/\(pointer)", "--json"], in: folder)
        XCTAssertEqual(state.status, 0, state.stderr)
        let step = try XCTUnwrap(try state.json()["step"] as? Int)
        let tokens = try XCTUnwrap(try state.json()["tokens_trained"] as? Int)
        XCTAssertGreaterThanOrEqual(step, 1)

        // Resume three steps further (8 tokens a step), and train the same from scratch without interruption.
        let target = tokens + 24
        let resumed = try runElmo(pretrain("run", maxTokens: target, resume: true), in: folder)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let finalStep = try XCTUnwrap(try resumed.json()["steps"] as? Int)
        XCTAssertEqual(finalStep, step + 3)
        let after = try FileManager.default.contentsOfDirectory(atPath: path("run"))
        XCTAssertTrue(after.allSatisfy { !$0.hasPrefix(".") }, "the killed run's temporary files are gone: \(after.sorted())")

        let straight = try runElmo(pretrain("straight", maxTokens: target), in: folder)
        XCTAssertEqual(straight.status, 0, straight.stderr)
        let name = "checkpoint-\(finalStep).npz"
        let a = try Data(contentsOf: URL(fileURLWithPath: path("run/\(name)")))
        let b = try Data(contentsOf: URL(fileURLWithPath: path("straight/\(name)")))
        XCTAssertTrue(a == b, "\(name): the resumed run's checkpoint is byte-identical to the uninterrupted run's")
    }
}
