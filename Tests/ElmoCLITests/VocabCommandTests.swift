import Foundation
import XCTest

/// `elmo vocab build`: bilm-tf's format (`<S>`, `</S>`, `<UNK>`, then words by descending count, ties in order of first
/// occurrence), `--min-count`, `--max-size`, several files and globs.
final class VocabCommandTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = try makeCLITestFolder(self)
        // Counts: b 3, a 2, c 2, d 2, e 1; first occurrences b, a, c, d, e. Specials in the text are not counted.
        try Data("b a c a\n\n  c b <UNK>\n".utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("f1.txt")))
        try Data("d e d\n<S> b </S>\n".utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("f2.txt")))
    }

    private func build(_ arguments: [String]) throws -> String {
        let result = try runElmo(["vocab", "build"] + arguments + ["--output", "vocab.txt"], in: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try String(contentsOfFile: (folder as NSString).appendingPathComponent("vocab.txt"), encoding: .utf8)
    }

    func testOrderIsSpecialsThenDescendingCountThenFirstOccurrence() throws {
        XCTAssertEqual(try build(["f1.txt", "f2.txt"]), "<S>\n</S>\n<UNK>\nb\na\nc\nd\ne\n")
        // The files' order decides first occurrence: d now comes first among the words seen twice.
        XCTAssertEqual(try build(["f2.txt", "f1.txt"]), "<S>\n</S>\n<UNK>\nb\nd\na\nc\ne\n")
        XCTAssertEqual(try build(["f*.txt"]), "<S>\n</S>\n<UNK>\nb\na\nc\nd\ne\n", "a glob expands in sorted order")
    }

    func testMinCountAndMaxSize() throws {
        XCTAssertEqual(try build(["f1.txt", "f2.txt", "--min-count", "2"]), "<S>\n</S>\n<UNK>\nb\na\nc\nd\n")
        XCTAssertEqual(try build(["f1.txt", "f2.txt", "--max-size", "5"]), "<S>\n</S>\n<UNK>\nb\na\n", "specials included")
        XCTAssertEqual(try build(["f1.txt", "f2.txt", "--min-count", "3", "--max-size", "100"]), "<S>\n</S>\n<UNK>\nb\n")
    }

    func testBadArgumentsAndFilesAreRefused() throws {
        for bad in [["f1.txt", "--min-count", "0"], ["f1.txt", "--max-size", "2"]] {
            let result = try runElmo(["vocab", "build"] + bad + ["--output", "v.txt"], in: folder)
            XCTAssertNotEqual(result.status, 0, "\(bad)")
            XCTAssertTrue(result.stderr.hasPrefix("Error: "), result.stderr)
        }
        assertCleanError(try runElmo(["vocab", "build", "missing.txt", "--output", "v.txt"], in: folder), ["missing.txt"])
        try Data([0x61, 0x0A, 0x62, 0x0A, 0xC3, 0x28, 0x0A]).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("bad.txt")))
        assertCleanError(try runElmo(["vocab", "build", "f1.txt", "bad.txt", "--output", "v.txt"], in: folder), ["bad.txt:3", "UTF-8"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("v.txt")), "nothing written")
    }
}
