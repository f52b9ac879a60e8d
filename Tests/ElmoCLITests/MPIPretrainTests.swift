import Foundation
import XCTest

/// `mpirun -np 2 elmo pretrain` on one host: the same loss at every step as one process (dropout off until the
/// per-row random draws exist), bitwise equal between reruns, and a clear error when B is not divisible by N.
final class MPIPretrainTests: XCTestCase {
    private func pretrainArguments(_ output: String) -> [String] {
        ["pretrain", "--config", "tiny.json", "--train", "a.txt", "b.txt", "--output", output, "--epochs", "2",
         "--log-every", "1", "--checkpoint-every", "100", "--threads", "1", "--seed", "3"]
    }

    func testTwoRanksGiveTheLossOfOneProcessAtEveryStep() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        try writeMPIInputs(folder, batchSize: 2)
        let single = try runElmo(pretrainArguments("one"), in: folder)
        XCTAssertEqual(single.status, 0, single.stderr)
        let first = try runUnderMPI(ranks: 2, pretrainArguments("two"), in: folder)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("ranks 2"), first.stderr)
        let second = try runUnderMPI(ranks: 2, pretrainArguments("again"), in: folder)
        XCTAssertEqual(second.status, 0, second.stderr)

        let one = try stepLosses("one", in: folder), two = try stepLosses("two", in: folder), again = try stepLosses("again", in: folder)
        XCTAssertEqual(one.count, 14, "7 steps per epoch, 2 epochs, every step logged")
        assertSameLosses(one, two, "two ranks")
        XCTAssertEqual(two, again, "two -np 2 runs are bitwise equal")
    }

    func testBatchNotDivisibleByRanksIsRefusedNamingBoth() throws {
        _ = try mpirunPath()
        let folder = try makeCLITestFolder(self)
        try writeMPIInputs(folder, batchSize: 3)
        let result = try runUnderMPI(ranks: 2, pretrainArguments("odd"), in: folder)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("batch_size 3 is not divisible by the 2 ranks"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("odd/latest")))
    }
}
