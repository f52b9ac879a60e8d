import ElmoText
import XCTest

final class TokenStreamsTests: XCTestCase {
    /// The streams' semantics computed the obvious way, in memory:
    /// all forward (input, target) words, cut into B rows, each step's columns, backward rows reversed and swapped.
    private func referenceBatches(_ sentences: [[String]], vocabulary: Vocabulary, b: Int, t: Int, w: Int) -> [StreamBatch] {
        var pairs = [(input: String, target: String)]()
        for sentence in sentences {
            let tokens = ["<S>"] + sentence + ["</S>"]
            for k in 0..<(tokens.count - 1) { pairs.append((tokens[k], tokens[k + 1])) }
        }
        let n = pairs.count / b
        let rows = (0..<b).map { Array(pairs[($0 * n)..<(($0 + 1) * n)]) }
        let backwardRows = rows.map { $0.reversed().map { (input: $0.target, target: $0.input) } }
        return stride(from: 0, to: n, by: t).map { start in
            let columns = start..<min(start + t, n)
            func chars(_ rows: [[(input: String, target: String)]]) -> [Int32] {
                rows.flatMap { row in columns.flatMap { CharacterIds.ids(for: row[$0].input, maxCharacters: w) } }
            }
            func targets(_ rows: [[(input: String, target: String)]]) -> [Int32] {
                rows.flatMap { row in columns.map { vocabulary.id(of: row[$0].target) } }
            }
            return StreamBatch(batchSize: b, steps: columns.count, maxCharacters: w,
                               forwardCharacters: chars(rows), forwardTargets: targets(rows),
                               backwardCharacters: chars(backwardRows), backwardTargets: targets(backwardRows))
        }
    }

    func testHandWorkedExample() throws {
        // Pairs: (<S>,a) (a,b) (b,</S>) (<S>,c) (c,</S>); B = 2 gives n = 2 and drops the last pair, but pair 3
        // still takes its target c from the dropped part.
        let dir = try makeTemporaryDirectory(self)
        let file = try writeFile(dir, "c.txt", "a b\n\nc\n")
        let vocabulary = try Vocabulary(words: ["<S>", "</S>", "<UNK>", "a", "b", "c"])
        let streams = try TokenStreams(files: [file], vocabulary: vocabulary, batchSize: 2, unroll: 3, maxCharacters: 5,
                                       scratchDirectory: dir)
        XCTAssertEqual([streams.pairCount, streams.rowLength, streams.stepCount, streams.targetsPerEpoch], [5, 2, 1, 4])
        let batch = try streams.batch(step: 0)
        XCTAssertEqual(batch.steps, 2)
        XCTAssertEqual(batch.forwardTargets, [3, 4, 1, 5])              // a b | </S> c
        XCTAssertEqual(batch.backwardTargets, [3, 0, 0, 4])             // a <S> | <S> b
        let ids = { (word: String) in CharacterIds.ids(for: word, maxCharacters: 5) }
        XCTAssertEqual(batch.forwardCharacters, ids("<S>") + ids("a") + ids("b") + ids("<S>"))
        XCTAssertEqual(batch.backwardCharacters, ids("b") + ids("a") + ids("c") + ids("</S>"))
        XCTAssertTrue(FileManager.default.subpaths(atPath: dir)!.allSatisfy { !$0.hasPrefix("elmo-stream") },
                      "the scratch file is unlinked once open")
    }

    func testEveryBatchMatchesReferenceSemantics() throws {
        let dir = try makeTemporaryDirectory(self)
        let texts = ["the cat sat on the mat\n\nthe dog 한국어 ran\n  \n", "a b\r\nthe zebra <S> quietly left\nend"]
        let files = try texts.enumerated().map { try writeFile(dir, "part-\($0.offset).txt", $0.element) }
        let sentences = texts.flatMap { $0.split(whereSeparator: \.isNewline).map { $0.split(separator: " ").map(String.init) } }
            .filter { !$0.isEmpty }
        // 6 entries: the, then cat sat on mat dog 한국어 ... tie in order; so e.g. "zebra" is out of the vocabulary.
        let vocabulary = try Vocabulary.build(files: files, maxSize: 6)
        XCTAssertEqual(vocabulary.id(of: "zebra"), vocabulary.unkId)

        for (b, t) in [(2, 3), (3, 4), (1, 5)] {
            let streams = try TokenStreams(files: files, vocabulary: vocabulary, batchSize: b, unroll: t, maxCharacters: 12,
                                           scratchDirectory: dir)
            let expected = referenceBatches(sentences, vocabulary: vocabulary, b: b, t: t, w: 12)
            let pairCount = sentences.reduce(0) { $0 + $1.count + 1 }
            XCTAssertEqual(streams.pairCount, pairCount)
            XCTAssertEqual(streams.rowLength, pairCount / b)
            XCTAssertEqual(streams.targetsPerEpoch, b * (pairCount / b))
            XCTAssertEqual(streams.stepCount, expected.count)
            XCTAssertNotEqual(streams.rowLength % t, 0, "the test corpus must give a shorter last step")
            XCTAssertLessThan(expected.last!.steps, t)
            for step in 0..<streams.stepCount {
                XCTAssertEqual(try streams.batch(step: step), expected[step], "B \(b) T \(t) step \(step)")
            }
        }
    }

    func testOutOfVocabularyTargetIsUnkButCharactersKeepTheWord() throws {
        let dir = try makeTemporaryDirectory(self)
        let file = try writeFile(dir, "c.txt", "known rare\n")
        let vocabulary = try Vocabulary(words: ["<S>", "</S>", "<UNK>", "known"])
        let streams = try TokenStreams(files: [file], vocabulary: vocabulary, batchSize: 1, unroll: 10, maxCharacters: 8,
                                       scratchDirectory: dir)
        let batch = try streams.batch(step: 0)
        XCTAssertEqual(batch.forwardTargets, [3, 2, 1])                  // known <UNK> </S>
        XCTAssertEqual(Array(batch.forwardCharacters[16..<24]), CharacterIds.ids(for: "rare", maxCharacters: 8))
        XCTAssertEqual(batch.backwardTargets, [2, 3, 0])                 // <UNK> known <S>
        XCTAssertEqual(Array(batch.backwardCharacters[8..<16]), CharacterIds.ids(for: "rare", maxCharacters: 8))
    }

    func testRandomAccessEqualsSequential() throws {
        let dir = try makeTemporaryDirectory(self)
        let text = (0..<40).map { k in (0..<(k % 7 + 1)).map { "w\(($0 * 31 + k) % 23)" }.joined(separator: " ") }.joined(separator: "\n")
        let file = try writeFile(dir, "c.txt", text)
        let vocabulary = try Vocabulary.build(files: [file], maxSize: 15)
        let streams = try TokenStreams(files: [file], vocabulary: vocabulary, batchSize: 3, unroll: 4, scratchDirectory: dir)
        XCTAssertGreaterThan(streams.stepCount, 5)
        let sequential = try (0..<streams.stepCount).map { try streams.batch(step: $0) }
        var generator = SystemRandomNumberGenerator()
        for step in (0..<streams.stepCount).shuffled(using: &generator) {
            XCTAssertEqual(try streams.batch(step: step), sequential[step], "step \(step)")
        }
        let reopened = try TokenStreams(files: [file], vocabulary: vocabulary, batchSize: 3, unroll: 4, scratchDirectory: dir)
        XCTAssertEqual(try reopened.batch(step: streams.stepCount - 1), sequential.last)
    }

    func testTooSmallOrEmptyCorpusThrows() throws {
        let dir = try makeTemporaryDirectory(self)
        let vocabulary = try Vocabulary(words: ["<S>", "</S>", "<UNK>"])
        let small = try writeFile(dir, "small.txt", "a b\n")
        XCTAssertThrowsError(try TokenStreams(files: [small], vocabulary: vocabulary, batchSize: 4, unroll: 2, scratchDirectory: dir)) {
            XCTAssertEqual($0 as? TextError, .tooFewPairs(pairs: 3, batchSize: 4, files: [small]))
        }
        let blank = try writeFile(dir, "blank.txt", "\n \n")
        XCTAssertThrowsError(try TokenStreams(files: [blank], vocabulary: vocabulary, batchSize: 1, unroll: 2, scratchDirectory: dir)) {
            XCTAssertEqual($0 as? TextError, .emptyCorpus(blank))
        }
    }
}
