import ElmoStorage
import ElmoText
import XCTest

final class CorpusTests: XCTestCase {
    func testTokensSplitOnPythonWhitespace() {
        // U+00A0, U+3000, U+2028, U+0085 and U+001F separate (Python str.isspace); U+200B and U+FEFF do not.
        XCTAssertEqual(Corpus.tokens(of: "  a\u{00A0}b\u{3000}c\u{200B}d \t e\u{85}f\u{2028}\u{1F}g\u{FEFF} "),
                       ["a", "b", "c\u{200B}d", "e", "f", "g\u{FEFF}"])
        XCTAssertEqual(Corpus.tokens(of: "한국어  문장\t입니다"), ["한국어", "문장", "입니다"])
        XCTAssertEqual(Corpus.tokens(of: " \u{2003} "), [])
    }

    func testGlobExpansionSortedPerPatternWithoutDuplicates() throws {
        let dir = try makeTemporaryDirectory(self)
        let b = try writeFile(dir, "b.txt", "x"), a = try writeFile(dir, "a.txt", "x"), c = try writeFile(dir, "c.dat", "x")
        try FileManager.default.createDirectory(atPath: (dir as NSString).appendingPathComponent("d.txt"), withIntermediateDirectories: true)
        XCTAssertEqual(try Corpus(patterns: ["\(dir)/*.txt"]).files, [a, b], "sorted; the folder d.txt is skipped")
        XCTAssertEqual(try Corpus(patterns: [c, "\(dir)/*.txt", b]).files, [c, a, b])
        XCTAssertThrowsError(try Corpus(patterns: ["\(dir)/*.txt", "\(dir)/*.csv"])) { error in
            XCTAssertEqual(error as? TextError, .noFilesMatch(pattern: "\(dir)/*.csv"))
        }
        XCTAssertThrowsError(try Corpus(patterns: ["\(dir)/none.txt"])) { error in
            XCTAssertEqual(error as? StorageError, .fileNotFound("\(dir)/none.txt"))
        }
    }

    func testShardOrderIsSeededPermutation() throws {
        let dir = try makeTemporaryDirectory(self)
        for k in 0..<8 { try writeFile(dir, "shard-\(k).txt", "w\(k)") }
        let corpus = try Corpus(patterns: ["\(dir)/shard-*.txt"])
        XCTAssertEqual(corpus.files.count, 8)
        XCTAssertEqual(corpus.shardOrder(epoch: 0, seed: 1, shuffle: false), corpus.files)
        XCTAssertEqual(corpus.shardOrder(epoch: 3, seed: 1, shuffle: false), corpus.files)
        let orders = (0..<4).map { corpus.shardOrder(epoch: $0, seed: 42, shuffle: true) }
        for order in orders { XCTAssertEqual(order.sorted(), corpus.files) }
        XCTAssertEqual(orders[2], corpus.shardOrder(epoch: 2, seed: 42, shuffle: true), "same (seed, epoch), same order")
        XCTAssertGreaterThan(Set(orders).count, 1, "epochs differ")
        XCTAssertNotEqual(orders[0], corpus.shardOrder(epoch: 0, seed: 43, shuffle: true))
    }
}
