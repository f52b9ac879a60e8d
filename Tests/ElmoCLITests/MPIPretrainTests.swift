import Foundation
import XCTest

/// `mpirun -np 2 elmo pretrain` on one host: the same loss at every step as one process (dropout off until the
/// per-row random draws exist), bitwise equal between reruns, and a clear error when B is not divisible by N.
final class MPIPretrainTests: XCTestCase {
    private func mpirun() throws -> String {
        let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map { "\($0)/mpirun" }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("OpenMPI's mpirun is not installed (Debian package openmpi-bin; `bash .ci/install-deps` installs it).")
        }
        return found
    }

    /// Runs `mpirun -np ranks elmo arguments…` in `folder`.
    private func runUnderMPI(ranks: Int, _ arguments: [String], in folder: String) throws -> CLIResult {
        var environment = ProcessInfo.processInfo.environment
        // OpenMPI refuses to start as root (CI) without both.
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        let arguments = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", try elmoBinary().path] + arguments
        return finishElmo(try startProcess(URL(fileURLWithPath: try mpirun()), arguments, environment: environment, in: folder))
    }

    private func stepLosses(_ run: String, in folder: String) throws -> [Int: Double] {
        let text = try String(contentsOfFile: (folder as NSString).appendingPathComponent("\(run)/metrics.jsonl"), encoding: .utf8)
        var losses: [Int: Double] = [:]
        for line in text.split(separator: "\n") {
            let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if record["kind"] as? String == "train", let step = record["step"] as? Int, let loss = record["train_loss"] as? Double {
                losses[step] = loss
            }
        }
        return losses
    }

    private func writeInputs(_ folder: String, batchSize: Int) throws {
        let config = tinyConfigJSON.replacingOccurrences(of: "\"dropout\": 0.1", with: "\"dropout\": 0")
            .replacingOccurrences(of: "\"batch_size\": 2", with: "\"batch_size\": \(batchSize)")
        for (name, text) in [("tiny.json", config), ("a.txt", tinyShards[0]), ("b.txt", tinyShards[1])] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
        }
    }

    private func pretrainArguments(_ output: String) -> [String] {
        ["pretrain", "--config", "tiny.json", "--train", "a.txt", "b.txt", "--output", output, "--epochs", "2",
         "--log-every", "1", "--checkpoint-every", "100", "--threads", "1", "--seed", "3"]
    }

    func testTwoRanksGiveTheLossOfOneProcessAtEveryStep() throws {
        _ = try mpirun()
        let folder = try makeCLITestFolder(self)
        try writeInputs(folder, batchSize: 2)
        let single = try runElmo(pretrainArguments("one"), in: folder)
        XCTAssertEqual(single.status, 0, single.stderr)
        let first = try runUnderMPI(ranks: 2, pretrainArguments("two"), in: folder)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("ranks 2"), first.stderr)
        let second = try runUnderMPI(ranks: 2, pretrainArguments("again"), in: folder)
        XCTAssertEqual(second.status, 0, second.stderr)

        let one = try stepLosses("one", in: folder), two = try stepLosses("two", in: folder), again = try stepLosses("again", in: folder)
        XCTAssertEqual(one.count, 14, "7 steps per epoch, 2 epochs, every step logged")
        XCTAssertEqual(Set(two.keys), Set(one.keys))
        for (step, loss) in one {
            let other = try XCTUnwrap(two[step])
            XCTAssertLessThanOrEqual(abs(other - loss) / abs(loss), 1e-4, "step \(step): one process \(loss), two ranks \(other)")
        }
        XCTAssertEqual(two, again, "two -np 2 runs are bitwise equal")
    }

    /// Reducing each gradient bucket on the communication thread during backward adds the same numbers as one
    /// all-reduce after backward: every step's loss is bitwise equal, and both record compute and communication time.
    func testOverlappedReductionGivesTheLossesOfTheBlockingOne() throws {
        _ = try mpirun()
        let folder = try makeCLITestFolder(self)
        try writeInputs(folder, batchSize: 2)
        let overlapped = try runUnderMPI(ranks: 2, pretrainArguments("overlapped"), in: folder)
        XCTAssertEqual(overlapped.status, 0, overlapped.stderr)
        let blocking = try runUnderMPI(ranks: 2, pretrainArguments("blocking") + ["--no-overlap-communication"], in: folder)
        XCTAssertEqual(blocking.status, 0, blocking.stderr)
        let a = try stepLosses("overlapped", in: folder), b = try stepLosses("blocking", in: folder)
        XCTAssertEqual(a.count, 14)
        XCTAssertEqual(a, b)
        let text = try String(contentsOfFile: (folder as NSString).appendingPathComponent("overlapped/metrics.jsonl"), encoding: .utf8)
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.split(separator: "\n")[0].utf8)) as? [String: Any])
        let compute = try XCTUnwrap(record["compute_s"] as? Double), comm = try XCTUnwrap(record["comm_s"] as? Double)
        XCTAssertTrue(compute > 0 && comm >= 0, "\(record)")
    }

    func testBatchNotDivisibleByRanksIsRefusedNamingBoth() throws {
        _ = try mpirun()
        let folder = try makeCLITestFolder(self)
        try writeInputs(folder, batchSize: 3)
        let result = try runUnderMPI(ranks: 2, pretrainArguments("odd"), in: folder)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("batch_size 3 is not divisible by the 2 ranks"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("odd/latest")))
    }
}
