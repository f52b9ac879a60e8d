import Foundation
import XCTest

/// OpenMPI's `mpirun`, or a skip naming the package that provides it.
func mpirunPath() throws -> String {
    let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map { "\($0)/mpirun" }
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw XCTSkip("OpenMPI's mpirun is not installed (Debian package openmpi-bin; `bash .ci/install-deps` installs it).")
    }
    return found
}

/// The test's environment plus what OpenMPI needs to start as root (CI runs as root).
var mpiEnvironment: [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return environment
}

/// Starts `mpirun -np ranks … elmo arguments…` in `folder` (one host, ranks may outnumber cores).
func startUnderMPI(ranks: Int, _ arguments: [String], in folder: String) throws -> (process: Process, stdout: String, stderr: String) {
    let arguments = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", try elmoBinary().path] + arguments
    return try startProcess(URL(fileURLWithPath: try mpirunPath()), arguments, environment: mpiEnvironment, in: folder)
}

func runUnderMPI(ranks: Int, _ arguments: [String], in folder: String) throws -> CLIResult {
    finishElmo(try startUnderMPI(ranks: ranks, arguments, in: folder))
}

/// `train_loss` of every `train` record in `run/metrics.jsonl` (under `folder`), by step.
func stepLosses(_ run: String, in folder: String) throws -> [Int: Double] {
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

/// The tiny config (dropout 0.1: masks are keyed by global row, so N ranks draw what one process draws) with
/// `batchSize` rows, as `tiny.json`, and the two tiny shards as `a.txt` and `b.txt`, in `folder`.
func writeMPIInputs(_ folder: String, batchSize: Int) throws {
    let config = tinyConfigJSON.replacingOccurrences(of: "\"batch_size\": 2", with: "\"batch_size\": \(batchSize)")
    for (name, text) in [("tiny.json", config), ("a.txt", tinyShards[0]), ("b.txt", tinyShards[1])] {
        try Data(text.utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
    }
}

/// Asserts that every step both runs logged has the same loss to ≤ 1e-4 relative (summation order differs).
func assertSameLosses(_ one: [Int: Double], _ other: [Int: Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(Set(other.keys), Set(one.keys), file: file, line: line)
    for (step, loss) in one.sorted(by: { $0.key < $1.key }) {
        guard let value = other[step] else { continue }
        XCTAssertLessThanOrEqual(abs(value - loss) / abs(loss), 1e-4, "step \(step): one process \(loss), \(what) \(value)",
                                 file: file, line: line)
    }
}
