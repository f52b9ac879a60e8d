import ElmoMetrics
import XCTest

final class ClassificationMetricsTests: XCTestCase {
    // gold  pos pos pos neg neg neu
    // pred  pos pos neg neg pos neu
    // pos: TP 2, predicted 3, support 3 → P 2/3, R 2/3, F1 2/3
    // neg: TP 1, predicted 2, support 2 → P 1/2, R 1/2, F1 1/2
    // neu: TP 1, predicted 1, support 1 → P 1,   R 1,   F1 1
    // macro-F1 = (2/3 + 1/2 + 1) / 3 = 13/18; accuracy = 4/6.
    let gold = ["pos", "pos", "pos", "neg", "neg", "neu"]
    let predicted = ["pos", "pos", "neg", "neg", "pos", "neu"]

    func testHandExample() {
        let report = ClassificationReport(gold: gold, predicted: predicted, labels: ["pos", "neg", "neu"])
        XCTAssertEqual(report.accuracy, 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(report.macroF1, 13.0 / 18, accuracy: 1e-12)
        XCTAssertEqual(report.perClass.map(\.f1), [2.0 / 3, 0.5, 1], accuracy: 1e-12)
        XCTAssertEqual(report.perClass.map(\.precision), [2.0 / 3, 0.5, 1], accuracy: 1e-12)
        XCTAssertEqual(report.perClass.map(\.support), [3, 2, 1])
        XCTAssertEqual(report.confusion, [[2, 1, 0], [1, 1, 0], [0, 0, 1]])
    }

    func testUnlistedLabelIsAppendedAndZeroDivisionIsZero() {
        // b is never predicted (P = 0 by convention, R = 0); c is never gold (R = 0, P = 0): macro-F1 = (1+0+0)/3.
        let report = ClassificationReport(gold: ["a", "b"], predicted: ["a", "c"], labels: ["a", "b"])
        XCTAssertEqual(report.labels, ["a", "b", "c"])
        XCTAssertEqual(report.macroF1, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(report.confusion, [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    }

    func testTableAndJSON() throws {
        let report = ClassificationReport(gold: gold, predicted: predicted, labels: ["pos", "neg", "neu"])
        XCTAssertEqual(report.table, """
                         precision    recall        f1   support
            pos             0.6667    0.6667    0.6667         3
            neg             0.5000    0.5000    0.5000         2
            neu             1.0000    1.0000    1.0000         1

            accuracy                            0.6667         6
            macro avg       0.7222    0.7222    0.7222         6

            confusion matrix (rows gold, columns predicted):
                             pos     neg     neu
            pos                2       1       0
            neg                1       1       0
            neu                0       0       1

            """)
        let decoded = try JSONDecoder().decode(ClassificationReport.self, from: JSONEncoder().encode(report))
        XCTAssertEqual(decoded, report)
    }

    func testPerplexity() {
        XCTAssertEqual(Perplexity.fromMeanNLL(log(50)), 50, accuracy: 1e-9)
        XCTAssertEqual(Perplexity.fromTotalNLL(4 * log(8), tokens: 4), 8, accuracy: 1e-9)
        // exp((ln 40 + ln 90) / 2) = sqrt(40 · 90) = 60: the geometric mean of the two directions.
        XCTAssertEqual(Perplexity.bidirectional(forwardMeanNLL: log(40), backwardMeanNLL: log(90)), 60, accuracy: 1e-9)
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double,
                            file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "lengths differ: \(a) vs \(b)", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line) }
}
