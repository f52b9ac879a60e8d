import ElmoMetrics
import XCTest

final class SpanF1Tests: XCTestCase {
    // Hand-computed fixture (conlleval.pl 2004-01-26 prints exactly `expectedTable` for it):
    // sentence 1: gold PER 0..<2, LOC 3..<6; predicted PER 0..<2 (I- after the start), LOC 3..<4 (I- after O),
    //             ORG 4..<6 (type change inside a run, ending at the sentence end)      → 1 correct (PER)
    // sentence 2: gold ORG 0..<1, ORG 1..<2 (B-B adjacent), MISC 3..<4 (I- after O, at the end);
    //             predicted ORG 0..<2, MISC 3..<4                                        → 1 correct (MISC)
    // sentence 3: gold none; predicted PER 0..<1                                         → 0 correct
    // gold 5, found 6, correct 2: precision 33.33, recall 40.00, FB1 = 2·(1/3)·0.4/(1/3+0.4) = 36.36;
    // tags equal at 1, 2 | 0, 2 | 1 → 5 of 12 tokens = 41.67%.
    let gold = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC"], ["B-ORG", "B-ORG", "O", "I-MISC"], ["O", "O"]]
    let predicted = [["I-PER", "I-PER", "O", "I-LOC", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "O", "B-MISC"],
                     ["B-PER", "O"]]
    let expectedTable = """
        processed 12 tokens with 5 phrases; found: 6 phrases; correct: 2.
        accuracy:  41.67%; precision:  33.33%; recall:  40.00%; FB1:  36.36
                      LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  1
                     MISC: precision: 100.00%; recall: 100.00%; FB1: 100.00  1
                      ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  2
                      PER: precision:  50.00%; recall: 100.00%; FB1:  66.67  2

        """

    func testHandFixtureCounts() {
        let report = SpanF1Report(gold: gold, predicted: predicted)
        XCTAssertEqual([report.tokens, report.correctTags], [12, 5])
        XCTAssertEqual([report.goldPhrases, report.foundPhrases, report.correctPhrases], [5, 6, 2])
        XCTAssertEqual(report.precision, 100.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(report.recall, 40, accuracy: 1e-9)
        XCTAssertEqual(report.f1, 2 * (100.0 / 3) * 40 / (100.0 / 3 + 40), accuracy: 1e-9)
        XCTAssertEqual(report.accuracy, 500.0 / 12, accuracy: 1e-9)
        XCTAssertEqual(report.perType.map(\.type), ["LOC", "MISC", "ORG", "PER"])
        let per = report.perType.first { $0.type == "PER" }!
        XCTAssertEqual([per.gold, per.found, per.correct], [1, 2, 1])
    }

    func testConllevalTableMatchesConllevalOutput() {
        XCTAssertEqual(SpanF1Report(gold: gold, predicted: predicted).conllevalTable, expectedTable)
    }

    func testOddTagsCountAsConllevalCountsThem() {
        // conlleval.pl prints "found: 3 phrases; correct: 1." here: the untyped chunk opened by the bare `I` is
        // never ended (`.` after it is not an end) before I-PER starts, so conlleval does not count it as
        // correct even though gold and prediction agree; span-set intersection would say 2.
        let report = SpanF1Report(gold: [["I", ".", "I-PER", "O"], ["B-LOC", "I-LOC"]],
                                  predicted: [["I", ".", "I-PER", "O"], ["B-LOC", "."]])
        XCTAssertEqual([report.goldPhrases, report.foundPhrases, report.correctPhrases], [3, 3, 1])
        XCTAssertEqual(report.correctTags, 5)
    }

    func testPerfectAndEmpty() {
        let perfect = SpanF1Report(gold: gold, predicted: gold)
        XCTAssertEqual([perfect.precision, perfect.recall, perfect.f1, perfect.accuracy], [100, 100, 100, 100])
        let empty = SpanF1Report(gold: [], predicted: [])
        XCTAssertEqual([empty.precision, empty.recall, empty.f1], [0, 0, 0])
        XCTAssertEqual(empty.conllevalTable, "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n")
    }

    func testJSONRoundTrip() throws {
        let report = SpanF1Report(gold: gold, predicted: predicted)
        let decoded = try JSONDecoder().decode(SpanF1Report.self, from: JSONEncoder().encode(report))
        XCTAssertEqual(decoded, report)
    }
}
