import ElmoStorage
import ElmoText
import XCTest

final class VocabularyTests: XCTestCase {
    private let specials = ["<S>", "</S>", "<UNK>"]

    /// Counts: e 3; b, a, c, d 2 each (first seen in that order); f 1. `<S>` in the text is not counted.
    private func writeCorpus(_ dir: String) throws -> [String] {
        [try writeFile(dir, "one.txt", "b a c a\n\n  \t\nc b d <S>\n"),
         try writeFile(dir, "two.txt", "e e f e d")]
    }

    func testOrderIsDescendingCountWithTiesInFirstOccurrenceOrder() throws {
        let files = try writeCorpus(try makeTemporaryDirectory(self))
        let vocabulary = try Vocabulary.build(files: files)
        XCTAssertEqual(vocabulary.words, specials + ["e", "b", "a", "c", "d", "f"])
        XCTAssertEqual([vocabulary.bosId, vocabulary.eosId, vocabulary.unkId], [0, 1, 2])
        XCTAssertEqual(vocabulary.id(of: "a"), 5)
        XCTAssertEqual(vocabulary.id(of: "zzz"), vocabulary.unkId)
        XCTAssertEqual(vocabulary[5], "a")
        XCTAssertEqual(vocabulary.count, 9)
        // File order matters for ties: reading two.txt first makes d precede b, a, c.
        XCTAssertEqual(try Vocabulary.build(files: files.reversed()).words, specials + ["e", "d", "b", "a", "c", "f"])
    }

    func testMinCountAndMaxSize() throws {
        let files = try writeCorpus(try makeTemporaryDirectory(self))
        XCTAssertEqual(try Vocabulary.build(files: files, minCount: 2).words, specials + ["e", "b", "a", "c", "d"])
        XCTAssertEqual(try Vocabulary.build(files: files, minCount: 3).words, specials + ["e"])
        XCTAssertEqual(try Vocabulary.build(files: files, maxSize: 5).words, specials + ["e", "b"])
        XCTAssertEqual(try Vocabulary.build(files: files, minCount: 3, maxSize: 5).words, specials + ["e"])
    }

    func testWriteReadRoundTripAndCountsColumn() throws {
        let dir = try makeTemporaryDirectory(self)
        let vocabulary = try Vocabulary.build(files: try writeCorpus(dir))
        let path = (dir as NSString).appendingPathComponent("vocab.txt")
        try vocabulary.write(to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), (specials + ["e", "b", "a", "c", "d", "f"]).joined(separator: "\n") + "\n")
        XCTAssertEqual(try Vocabulary(contentsOf: path), vocabulary)

        let withCounts = try writeFile(dir, "counts.txt", "<S>\t0\n</S>\t0\n\n<UNK>\t0\n한국어\t12\nthe 7\r\n")
        XCTAssertEqual(try Vocabulary(contentsOf: withCounts).words, specials + ["한국어", "the"])
    }

    func testMissingSpecialsDuplicatesAndBadLinesThrow() throws {
        XCTAssertThrowsError(try Vocabulary(words: ["<S>", "a"])) { error in
            guard case let TextError.badVocabulary(_, reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reason, "</S>, <UNK> missing")
        }
        XCTAssertThrowsError(try Vocabulary(words: specials + ["a", "a"]))
        let dir = try makeTemporaryDirectory(self)
        let noUnk = try writeFile(dir, "no-unk.txt", "<S>\n</S>\nthe\n")
        XCTAssertThrowsError(try Vocabulary(contentsOf: noUnk)) { error in
            XCTAssertEqual(error as? TextError, .badVocabulary(path: noUnk, reason: "<UNK> missing"))
            XCTAssertTrue("\(error)".contains(noUnk))
        }
        let threeFields = try writeFile(dir, "bad.txt", "<S>\n</S>\n<UNK>\nnew york 3\n")
        XCTAssertThrowsError(try Vocabulary(contentsOf: threeFields)) { error in
            XCTAssertTrue("\(error)".contains("line 4"), "\(error)")
        }
        XCTAssertThrowsError(try Vocabulary(contentsOf: (dir as NSString).appendingPathComponent("absent.txt"))) { error in
            guard case StorageError.fileNotFound = error else { return XCTFail("\(error)") }
        }
    }

    func testEmptyCorpusThrows() throws {
        let blank = try writeFile(try makeTemporaryDirectory(self), "blank.txt", "\n  \n\t\n")
        XCTAssertThrowsError(try Vocabulary.build(files: [blank])) { error in
            XCTAssertEqual(error as? TextError, .emptyCorpus(blank))
        }
    }
}
