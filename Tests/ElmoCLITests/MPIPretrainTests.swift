import Foundation
import XCTest

/// `mpirun -np 2 elmo pretrain` on one host: the same loss at every step as one process with dropout and sampled
/// softmax on, bitwise equal between reruns, resume across numbers of ranks, all ranks stopping together on a signal,
/// and a clear error when B is not divisible by N.
final class MPIPretrainTests: XCTestCase {
    /// The tiny config (dropout 0.1) with `batchSize` rows and `negatives` sampled-softmax negatives, and its corpus.
    private func writeInputs(_ folder: String, batchSize: Int, negatives: Int = 0) throws {
        let config = tinyConfigJSON.replacingOccurrences(of: "\"batch_size\": 2", with: "\"batch_size\": \(batchSize)")
            .replacingOccurrences(of: "\"n_negative_samples_batch\": 0", with: "\"n_negative_samples_batch\": \(negatives)")
        for (name, text) in [("tiny.json", config), ("a.txt", tinyShards[0]), ("b.txt", tinyShards[1])] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
        }
    }

    private func pretrainArguments(_ output: String, _ extra: [String] = ["--epochs", "2"]) -> [String] {
        ["pretrain", "--config", "tiny.json", "--train", "a.txt", "b.txt", "--output", output,
         "--log-every", "1", "--checkpoint-every", "100", "--threads", "1", "--seed", "3"] + extra
    }

    /// Runs the pre-training under `mpirun -np ranks`, or as one plain process for `ranks` 1.
    private func pretrain(ranks: Int, _ arguments: [String], in folder: String,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let result = ranks == 1 ? try runElmo(arguments, in: folder) : try runUnderMPI(ranks: ranks, arguments, in: folder)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains("ranks \(ranks)"), result.stderr, file: file, line: line)
    }

    private func assertClose(_ losses: [Int: Double], _ reference: [Int: Double], _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(Set(losses.keys), Set(reference.keys), what, file: file, line: line)
        for (step, loss) in reference {
            let other = try XCTUnwrap(losses[step], file: file, line: line)
            XCTAssertLessThanOrEqual(abs(other - loss) / abs(loss), 1e-4, "\(what), step \(step): \(other) vs \(loss)",
                                     file: file, line: line)
        }
    }

    /// With the model's dropout on (0.1), 2 ranks give one process's loss at every step to 1e-4, and two 2-rank runs
    /// are bitwise equal.
    func testTwoRanksGiveTheLossOfOneProcessAtEveryStep() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        try writeInputs(folder, batchSize: 2)
        try pretrain(ranks: 1, pretrainArguments("one"), in: folder)
        try pretrain(ranks: 2, pretrainArguments("two"), in: folder)
        try pretrain(ranks: 2, pretrainArguments("again"), in: folder)

        let one = try stepLosses("one", in: folder), two = try stepLosses("two", in: folder), again = try stepLosses("again", in: folder)
        XCTAssertEqual(one.count, 14, "7 steps per epoch, 2 epochs, every step logged")
        try assertClose(two, one, "two ranks vs one process")
        XCTAssertEqual(two, again, "two -np 2 runs are bitwise equal")
    }

    /// Sampled softmax: every rank draws the batch's negatives one process draws.
    func testSampledSoftmaxTwoRanksGiveTheLossOfOneProcess() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        try writeInputs(folder, batchSize: 2, negatives: 6)
        try pretrain(ranks: 1, pretrainArguments("one"), in: folder)
        try pretrain(ranks: 2, pretrainArguments("two"), in: folder)
        try assertClose(try stepLosses("two", in: folder), try stepLosses("one", in: folder), "sampled softmax, two ranks vs one process")
    }

    /// A run stopped at step 5 (--max-tokens 40: 8 tokens a step) and resumed with another number of ranks continues
    /// to an uninterrupted run's losses: 2 → 1 and 1 → 2 to 1e-4, 2 → 2 bitwise. The checkpoint holds all rows' states.
    func testResumeWithAnotherNumberOfRanksContinuesTheRun() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        try writeInputs(folder, batchSize: 2)
        try pretrain(ranks: 1, pretrainArguments("one"), in: folder)
        try pretrain(ranks: 2, pretrainArguments("two"), in: folder)
        let one = try stepLosses("one", in: folder), two = try stepLosses("two", in: folder)
        for (name, first, then) in [("two-one", 2, 1), ("one-two", 1, 2), ("two-two", 2, 2)] {
            try pretrain(ranks: first, pretrainArguments(name, ["--max-tokens", "40"]), in: folder)
            XCTAssertEqual(try stepLosses(name, in: folder).keys.max(), 5, name)
            try pretrain(ranks: then, pretrainArguments(name, ["--epochs", "2", "--resume"]), in: folder)
            let resumed = try stepLosses(name, in: folder)
            if first == then {
                XCTAssertEqual(resumed, two, "\(name): resumed with the same ranks is bitwise the uninterrupted run")
            } else {
                try assertClose(resumed, one, "\(name) vs one uninterrupted process")
            }
        }
    }

    /// The processes whose parent is `parent` (mpirun's ranks on this host).
    private func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // Fields after "(comm)": state, ppid, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    /// SIGTERM to one rank only: the stop travels with the next step's loss all-reduce, so both ranks stop after the
    /// same step, rank 0 writes that step's checkpoint (with both ranks' states), and a resumed run continues to the
    /// losses of an uninterrupted one.
    func testStopSignalToOneRankStopsAllRanksAtTheSameStep() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        try writeInputs(folder, batchSize: 2)
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        let arguments = ["-np", "2", "--oversubscribe", "--bind-to", "none", try elmoBinary().path]
            + pretrainArguments("stopped", ["--epochs", "1000"])
        let started = try startProcess(URL(fileURLWithPath: try mpirunPath()), arguments, environment: environment, in: folder)
        let metrics = (folder as NSString).appendingPathComponent("stopped/metrics.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "").split(separator: "\n").count < 3 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let ranks = children(of: started.process.processIdentifier)
        XCTAssertEqual(ranks.count, 2, "mpirun's two ranks")
        kill(try XCTUnwrap(ranks.last), SIGTERM)
        let result = finishElmo(started)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.components(separatedBy: "Stopped by SIGTERM").count - 1, 2, result.stderr)
        XCTAssertFalse(result.stderr.contains("MPI_ABORT"), result.stderr)
        let losses = try stepLosses("stopped", in: folder)
        let step = try XCTUnwrap(losses.keys.max())
        XCTAssertLessThan(step, 7000, "stopped early")
        let latest = try String(contentsOfFile: (folder as NSString).appendingPathComponent("stopped/latest"), encoding: .utf8)
        XCTAssertEqual(latest.trimmingCharacters(in: .whitespacesAndNewlines), "checkpoint-\(step).npz")

        let tokens = ["--max-tokens", "\(8 * (step + 3))"]
        try pretrain(ranks: 2, pretrainArguments("stopped", tokens + ["--resume"]), in: folder)
        try pretrain(ranks: 1, pretrainArguments("uninterrupted", tokens), in: folder)
        try assertClose(try stepLosses("stopped", in: folder), try stepLosses("uninterrupted", in: folder),
                        "stopped at step \(step) and resumed vs uninterrupted")
    }

    /// Reducing each gradient bucket on the communication thread during backward adds the same numbers as one
    /// all-reduce after backward: every step's loss is bitwise equal, and both record compute and communication time.
    func testOverlappedReductionGivesTheLossesOfTheBlockingOne() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        try writeInputs(folder, batchSize: 2)
        try pretrain(ranks: 2, pretrainArguments("overlapped") + ["--overlap-communication"], in: folder)
        try pretrain(ranks: 2, pretrainArguments("blocking") + ["--no-overlap-communication"], in: folder)
        let a = try stepLosses("overlapped", in: folder), b = try stepLosses("blocking", in: folder)
        XCTAssertEqual(a.count, 14)
        XCTAssertEqual(a, b)
        let text = try String(contentsOfFile: (folder as NSString).appendingPathComponent("overlapped/metrics.jsonl"), encoding: .utf8)
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.split(separator: "\n")[0].utf8)) as? [String: Any])
        let compute = try XCTUnwrap(record["compute_s"] as? Double), comm = try XCTUnwrap(record["comm_s"] as? Double)
        XCTAssertTrue(compute > 0 && comm >= 0, "\(record)")
    }

    func testBatchNotDivisibleByRanksIsRefusedNamingBoth() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        try writeInputs(folder, batchSize: 3)
        let result = try runUnderMPI(ranks: 2, pretrainArguments("odd"), in: folder)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("batch_size 3 is not divisible by the 2 ranks"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("odd/latest")))
    }
}
