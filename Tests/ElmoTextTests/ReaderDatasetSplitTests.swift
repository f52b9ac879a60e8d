import ElmoText
import XCTest

final class ReaderDatasetSplitTests: XCTestCase {
    func testSplitIsDeterministicAndAPartition() {
        let items = Array(0..<1000)
        let split = DatasetSplit.split(items, seed: 42, fractions: (0.8, 0.1))
        XCTAssertEqual([split.train.count, split.dev.count, split.test.count], [800, 100, 100])
        XCTAssertEqual((split.train + split.dev + split.test).sorted(), items)
        let again = DatasetSplit.split(items, seed: 42, fractions: (0.8, 0.1))
        XCTAssertEqual(again.train, split.train)
        XCTAssertEqual(again.test, split.test)
        XCTAssertNotEqual(DatasetSplit.split(items, seed: 43, fractions: (0.8, 0.1)).train, split.train)
        XCTAssertNotEqual(split.train, Array(items[..<800]), "the split must shuffle")
    }

    func testShufflePinnedForSeed() {
        // Pinned so that a change of generator (which would silently change every published split) fails here.
        XCTAssertEqual(DatasetSplit.shuffled(Array(0..<10), seed: 7), Self.pinnedShuffle)
    }

    func testRoundingAndEdgeCases() {
        let split = DatasetSplit.split(Array(0..<7), seed: 1, fractions: (0.8, 0.1))
        XCTAssertEqual([split.train.count, split.dev.count, split.test.count], [6, 1, 0])
        let empty = DatasetSplit.split([Int](), seed: 1, fractions: (0.8, 0.1))
        XCTAssertTrue(empty.train.isEmpty && empty.dev.isEmpty && empty.test.isEmpty)
    }

    // Computed independently with a Python transcription of SplitMix64 + Lemire + Fisher–Yates.
    static let pinnedShuffle = [9, 5, 8, 6, 1, 2, 4, 7, 0, 3]
}
