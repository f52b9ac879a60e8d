import ElmoText
import XCTest

/// A data-parallel rank's share of the global batch: rows r·B/N ..< (r+1)·B/N of exactly what one process reads.
final class TokenStreamsRankRowsTests: XCTestCase {
    func testRankRowsJoinToTheGlobalBatch() throws {
        let dir = try makeTemporaryDirectory(self)
        let text = (0..<60).map { k in (0..<(k % 5 + 1)).map { "w\(($0 * 17 + k) % 19)" }.joined(separator: " ") }.joined(separator: "\n")
        let file = try writeFile(dir, "c.txt", text)
        let vocabulary = try Vocabulary.build(files: [file], maxSize: 12)
        let streams = try TokenStreams(files: [file], vocabulary: vocabulary, batchSize: 6, unroll: 4, maxCharacters: 7,
                                       scratchDirectory: dir)
        XCTAssertGreaterThan(streams.stepCount, 2)
        for ranks in [1, 2, 3, 6] {
            for step in [0, streams.stepCount - 1] {
                let global = try streams.batch(step: step)
                let parts = try (0..<ranks).map { try streams.batch(step: step, rows: TokenStreams.rows(rank: $0, of: ranks, batchSize: 6)) }
                XCTAssertTrue(parts.allSatisfy { $0.batchSize == 6 / ranks && $0.steps == global.steps })
                XCTAssertEqual(parts.flatMap(\.forwardCharacters), global.forwardCharacters, "N \(ranks) step \(step)")
                XCTAssertEqual(parts.flatMap(\.forwardTargets), global.forwardTargets, "N \(ranks) step \(step)")
                XCTAssertEqual(parts.flatMap(\.backwardCharacters), global.backwardCharacters, "N \(ranks) step \(step)")
                XCTAssertEqual(parts.flatMap(\.backwardTargets), global.backwardTargets, "N \(ranks) step \(step)")
            }
        }
    }

    func testRowsOfEachRank() throws {
        XCTAssertEqual(try (0..<4).map { try TokenStreams.rows(rank: $0, of: 4, batchSize: 32) }, [0..<8, 8..<16, 16..<24, 24..<32])
        XCTAssertEqual(try TokenStreams.rows(rank: 0, of: 1, batchSize: 5), 0..<5)
    }

    func testBatchNotDivisibleByRanksNamesBoth() {
        XCTAssertThrowsError(try TokenStreams.rows(rank: 1, of: 3, batchSize: 32)) { error in
            XCTAssertEqual(error as? TextError, .batchNotDivisible(batchSize: 32, ranks: 3))
            let message = "\(error)"
            XCTAssertTrue(message.contains("batch_size 32") && message.contains("3 ranks"), message)
        }
    }
}
