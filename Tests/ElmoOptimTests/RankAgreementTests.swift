import ElmoOptim
import XCTest

/// The ranks-must-agree check's wording: a failed rank first, else the first item (rank 0's order) some rank differs on.
final class RankAgreementTests: XCTestCase {
    private let reference = [AgreementItem("config key lstm.dim", "12"), AgreementItem("training file b.txt", "size 90, CRC-32 0000abcd"),
                             AgreementItem("--seed", "3")]

    func testAgreeingRanksPass() {
        XCTAssertNil(RankReport.disagreement([RankReport(items: reference), RankReport(items: reference), RankReport(items: reference)]))
        XCTAssertNil(RankReport.disagreement([RankReport(items: reference)]))
    }

    func testFirstDifferingItemIsNamedWithBothValues() {
        var other = reference
        other[1].value = "size 91, CRC-32 0000ffff"
        other[2].value = "4"
        XCTAssertEqual(RankReport.disagreement([RankReport(items: reference), RankReport(items: reference), RankReport(items: other)]),
                       "rank 2's training file b.txt differs from rank 0's (size 91, CRC-32 0000ffff vs size 90, CRC-32 0000abcd); "
                       + "all ranks must start with the same options, vocabulary and files")
    }

    func testItemMissingOnEitherSideIsAbsent() {
        let fewer = Array(reference.prefix(1)) + [reference[2]]
        XCTAssertEqual(RankReport.disagreement([RankReport(items: reference), RankReport(items: fewer)])?.hasPrefix(
            "rank 1's training file b.txt differs from rank 0's (absent vs size 90"), true)
        let more = reference + [AgreementItem("training file c.txt", "size 5, CRC-32 00000001")]
        XCTAssertEqual(RankReport.disagreement([RankReport(items: reference), RankReport(items: more)])?.hasPrefix(
            "rank 1's training file c.txt differs from rank 0's (size 5, CRC-32 00000001 vs absent)"), true)
    }

    func testFailedRankIsReportedBeforeDifferences() {
        let failed = RankReport(items: [], failure: "File not found: b.txt")
        XCTAssertEqual(RankReport.disagreement([RankReport(items: reference), failed]), "rank 1 cannot start: File not found: b.txt")
    }
}
