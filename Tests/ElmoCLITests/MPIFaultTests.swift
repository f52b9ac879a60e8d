import Foundation
import XCTest

/// Faults of `mpirun … elmo pretrain`: ranks that disagree refuse to start, naming what differs (rank 0 says it once,
/// nothing is written); a rank that cannot read its input, hits bad input mid-training or is killed ends the whole
/// job within 30 s naming the rank; the last good checkpoint then resumes; a missing libmpi says what to install.
final class MPIFaultTests: XCTestCase {
    private func arguments(output: String, epochs: Int = 1, checkpointEvery: Int = 100, train: [String] = ["a.txt", "b.txt"]) -> [String] {
        ["pretrain", "--config", "tiny.json", "--train"] + train + ["--output", output, "--epochs", "\(epochs)",
         "--log-every", "1", "--checkpoint-every", "\(checkpointEvery)", "--threads", "1", "--seed", "3"]
    }

    /// Two "hosts" on one machine as far as files go: rank 0 works in `folder/host0`, rank 1 in `folder/host1`, each
    /// with its own copy of the inputs under the same relative names (mpirun's per-rank `-wdir`).
    private func startTwoHosts(_ arguments: [String], in folder: String) throws -> (process: Process, stdout: String, stderr: String) {
        let elmo = try elmoBinary().path
        let host = { (index: Int) in ["-np", "1", "-wdir", (folder as NSString).appendingPathComponent("host\(index)"), elmo] + arguments }
        return try startProcess(URL(fileURLWithPath: try mpirunPath()),
                                ["--oversubscribe", "--bind-to", "none"] + host(0) + [":"] + host(1),
                                environment: mpiEnvironment, in: folder)
    }

    private func makeHosts(_ folder: String, batchSize: Int = 2) throws -> (String, String) {
        let hosts = (0..<2).map { (folder as NSString).appendingPathComponent("host\($0)") }
        for host in hosts {
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            try writeMPIInputs(host, batchSize: batchSize)
        }
        return (hosts[0], hosts[1])
    }

    private func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func testRankWithADifferentTrainingFileRefusesToStartNamingIt() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        let (_, host1) = try makeHosts(folder)
        try Data(tinyShards[1].replacingOccurrences(of: "hot", with: "warm").utf8)
            .write(to: URL(fileURLWithPath: (host1 as NSString).appendingPathComponent("b.txt")))
        let output = (folder as NSString).appendingPathComponent("run")
        let result = finishElmo(try startTwoHosts(arguments(output: output), in: folder))
        XCTAssertNotEqual(result.status, 0)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        XCTAssertEqual(errors.count, 1, "rank 0 alone reports it: \(result.stderr)")
        XCTAssertTrue(errors.first?.contains("rank 1's training file b.txt differs from rank 0's (size 91, CRC-32 ") == true,
                      result.stderr)
        XCTAssertFalse(exists(output), "nothing is written when the ranks disagree")
    }

    func testRankWithADifferentConfigRefusesToStartNamingTheKey() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        let (_, host1) = try makeHosts(folder)
        let config = (host1 as NSString).appendingPathComponent("tiny.json")
        try Data(try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "\"dim\": 12", with: "\"dim\": 16").utf8)
            .write(to: URL(fileURLWithPath: config))
        let output = (folder as NSString).appendingPathComponent("run")
        let result = finishElmo(try startTwoHosts(arguments(output: output), in: folder))
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("Error: rank 1's config key lstm.dim differs from rank 0's (16 vs 12)"), result.stderr)
        XCTAssertFalse(exists(output))
    }

    func testRankThatCannotReadItsTrainingFileStopsTheJobNamingRankAndFile() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        let (_, host1) = try makeHosts(folder)
        try FileManager.default.removeItem(atPath: (host1 as NSString).appendingPathComponent("b.txt"))
        let output = (folder as NSString).appendingPathComponent("run")
        let started = Date()
        let result = finishElmo(try startTwoHosts(arguments(output: output), in: folder))
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        XCTAssertEqual(errors.count, 1, result.stderr)
        XCTAssertTrue(errors.first?.contains("rank 1 cannot start: ") == true && errors.first?.contains("b.txt") == true, result.stderr)
        XCTAssertFalse(exists(output))
    }

    /// `repeats` copies of a tiny shard, so an epoch lasts long enough to act on the job mid-training.
    private func longShard(_ index: Int, repeats: Int) -> String {
        String(repeating: tinyShards[index], count: repeats)
    }

    private func gzip(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-f", "-n", path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    /// Waits until `path` exists (true) or `seconds` pass, or `process` ends (false).
    private func wait(for path: String, seconds: Double, while process: Process) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && process.isRunning {
            if exists(path) { return true }
            usleep(20_000)
        }
        return exists(path)
    }

    /// Waits for `process` to end; the seconds it took from now, or nil (and kills it) after `seconds`.
    private func secondsUntilExit(_ process: Process, within seconds: Double) -> Double? {
        let started = Date()
        while process.isRunning {
            if Date().timeIntervalSince(started) > seconds {
                process.terminate()
                return nil
            }
            usleep(20_000)
        }
        return Date().timeIntervalSince(started)
    }

    /// The job ends, non-zero, within 30 s, and its stderr holds each of `parts`.
    private func assertJobEndsWithin30Seconds(_ job: (process: Process, stdout: String, stderr: String), saying parts: [String],
                                              file: StaticString = #filePath, line: UInt = #line) throws {
        let seconds = secondsUntilExit(job.process, within: 90)
        let result = finishElmo(job)
        XCTAssertLessThan(try XCTUnwrap(seconds, "the job ends: \(result.stderr)", file: file, line: line), 30, result.stderr, file: file, line: line)
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        for part in parts { XCTAssertTrue(result.stderr.contains(part), "\(part) in: \(result.stderr)", file: file, line: line) }
    }

    /// The run folder's last checkpoint resumes with one process and finishes the run.
    private func assertResumes(_ output: String, in host: String, train: [String], epochs: Int,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(exists((output as NSString).appendingPathComponent("INCOMPLETE")), "the run says it did not finish", file: file, line: line)
        // Files being written are hidden temporaries until renamed: every model file there is whole.
        for name in try FileManager.default.contentsOfDirectory(atPath: output) where name.hasSuffix(".npz") && !name.hasPrefix(".") {
            let inspected = try runElmo(["inspect", (output as NSString).appendingPathComponent(name)], in: host)
            XCTAssertEqual(inspected.status, 0, "\(name): \(inspected.stderr)", file: file, line: line)
        }
        let resumed = try runElmo(arguments(output: output, epochs: epochs, checkpointEvery: 10, train: train) + ["--resume"], in: host)
        XCTAssertEqual(resumed.status, 0, resumed.stderr, file: file, line: line)
        XCTAssertFalse(exists((output as NSString).appendingPathComponent("INCOMPLETE")), file: file, line: line)
    }

    func testBadInputOnOneRankMidTrainingEndsTheJobNamingRankAndFile() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        let (host0, host1) = try makeHosts(folder)
        for host in [host0, host1] {
            for index in 0..<2 { try gzip(longShard(index, repeats: 150), to: (host as NSString).appendingPathComponent(index == 0 ? "a.txt" : "b.txt")) }
        }
        let output = (folder as NSString).appendingPathComponent("run")
        let train = ["a.txt.gz", "b.txt.gz"]
        let job = try startTwoHosts(arguments(output: output, epochs: 2, checkpointEvery: 10, train: train), in: folder)
        // 1,050 steps per epoch: near its end, rank 1's copy of b.txt.gz is cut short, so it fails reading it for the
        // second epoch a few seconds later.
        XCTAssertTrue(wait(for: (output as NSString).appendingPathComponent("checkpoint-1000.npz"), seconds: 240, while: job.process),
                      "checkpoints are written during the first epoch")
        let bad = (host1 as NSString).appendingPathComponent("b.txt.gz")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: bad))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: bad))
        try assertJobEndsWithin30Seconds(job, saying: ["Error: rank 1 of 2 failed, ending the whole mpirun job: ", "b.txt.gz"])
        try assertResumes(output, in: host0, train: train, epochs: 2)
    }

    func testKilledRankEndsTheJobWithin30SecondsNamingIt() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        try writeMPIInputs(folder, batchSize: 2)
        for (index, name) in ["a.txt", "b.txt"].enumerated() {
            try Data(longShard(index, repeats: 150).utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
        }
        let output = (folder as NSString).appendingPathComponent("run")
        let job = try startUnderMPI(ranks: 2, arguments(output: output, epochs: 3, checkpointEvery: 10), in: folder)
        XCTAssertTrue(wait(for: (output as NSString).appendingPathComponent("checkpoint-10.npz"), seconds: 120, while: job.process))
        let rank1 = try XCTUnwrap(Self.pid(ofRank: 1, withArgument: output), "rank 1's process")
        kill(rank1, SIGKILL)
        // mpirun's own line; OpenMPI 4.1 prints "PID 0" there.
        try assertJobEndsWithin30Seconds(job, saying: ["mpirun noticed that process rank 1 with PID", "exited on signal 9"])
        try assertResumes(output, in: folder, train: ["a.txt", "b.txt"], epochs: 3)
    }

    /// The process that mpirun started as `rank` (its environment says so) with `argument` on its command line.
    static func pid(ofRank rank: Int, withArgument argument: String) -> pid_t? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry),
                  let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                  let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let words = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") && words.contains(argument) && words.contains("pretrain") {
                return pid
            }
        }
        return nil
    }

    func testMissingLibmpiUnderMPIRunSaysWhatToInstall() throws {
        _ = try mpirunPath()
        guard getuid() == 0 else { throw XCTSkip("needs root (hides libmpi.so.40 with a bind mount in a private mount namespace)") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { throw XCTSkip("needs unshare (Debian package util-linux)") }
        let library = try XCTUnwrap(Self.libmpiPath(), "libmpi.so.40 is installed with mpirun")
        let folder = try makeCLITestFolder(self)
        try writeMPIInputs(folder, batchSize: 2)
        let output = (folder as NSString).appendingPathComponent("run")
        // Only this mount namespace sees /dev/null in place of the library; mpirun itself does not load libmpi.
        let script = "mount --bind /dev/null '\(library)' && exec '\(try mpirunPath())' -np 1 '\(try elmoBinary().path)' "
            + arguments(output: output).map { "'\($0)'" }.joined(separator: " ")
        let result = finishElmo(try startProcess(URL(fileURLWithPath: "/usr/bin/unshare"), ["-m", "/bin/sh", "-c", script],
                                                 environment: mpiEnvironment, in: folder))
        XCTAssertNotEqual(result.status, 0)
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        XCTAssertEqual(lines.count, 1, result.stderr)
        XCTAssertTrue(lines.first?.contains("libmpi.so.40 could not be loaded") == true
                      && lines.first?.contains("apt-get install openmpi-bin") == true, result.stderr)
        XCTAssertFalse(exists(output))
    }

    /// The file libmpi.so.40 resolves to, as the dynamic loader finds it (ldconfig's cache).
    static func libmpiPath() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/sbin/ldconfig")
        process.arguments = ["-p"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        for line in text.split(separator: "\n") where line.contains("libmpi.so.40 ") {
            if let arrow = line.range(of: "=> ") {
                return (String(line[arrow.upperBound...]) as NSString).resolvingSymlinksInPath
            }
        }
        return nil
    }
}
