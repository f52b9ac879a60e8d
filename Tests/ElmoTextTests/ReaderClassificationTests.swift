import ElmoStorage
import ElmoText
import XCTest

final class ReaderClassificationTests: XCTestCase {
    func testDefaultLayoutSplitsTextOnWhitespaceAndSkipsBlankLines() throws {
        let path = try temporaryFile("pos\ta  fine film\n\nneg \tdull ,  slow\r\nneg\tcafé\u{00A0}noir\n")
        let examples = try ClassificationReader().read(path: path)
        XCTAssertEqual(examples, [
            LabeledSentence(label: "pos", tokens: ["a", "fine", "film"], line: 1),
            LabeledSentence(label: "neg", tokens: ["dull", ",", "slow"], line: 3),
            LabeledSentence(label: "neg", tokens: ["café", "noir"], line: 4),
        ])
    }

    /// Text is split as Python's `str.split()` (as `elmo embed` and AllenNLP split): U+001C separates, a combining
    /// mark after a space starts the next token, U+200B is not whitespace.
    func testTextSplitsLikePythonStrSplit() throws {
        let path = try temporaryFile("pos\tgood\u{1C}film a \u{301}b c\u{200B}d\n")
        XCTAssertEqual(try ClassificationReader().read(path: path).first?.tokens, ["good", "film", "a", "\u{301}b", "c\u{200B}d"])
    }

    func testHeaderColumnsByNameAndByIndex() throws {
        let path = try temporaryFile("id\ttext\tlabel\n7\tgood one\tpos\n8\tbad\tneg\n")
        let byName = try ClassificationReader(labelColumn: "label", textColumn: "text", hasHeader: true)
            .read(path: path)
        XCTAssertEqual(byName, [LabeledSentence(label: "pos", tokens: ["good", "one"], line: 2),
                                LabeledSentence(label: "neg", tokens: ["bad"], line: 3)])
        let byIndex = try ClassificationReader(labelColumn: "2", textColumn: "1", hasHeader: true).read(path: path)
        XCTAssertEqual(byIndex, byName)
    }

    func testLineWithMissingColumnNamesFileAndLine() throws {
        let path = try temporaryFile("pos\tgood\nneg\tbad\nneutral\n")
        assertThrows(try ClassificationReader().read(path: path),
                     .columnCountMismatch(path: path, line: 3, found: 1, expected: 2, layoutLine: 1),
                     mentions: ["\(path):3"])
    }

    /// Issue 15: the same column for label and text gave a 6.7 KB error listing every text as a label.
    func testSameColumnForLabelAndTextIsAShortError() throws {
        let path = try temporaryFile("pos\tgood\nneg\tbad\n")
        assertThrows(try ClassificationReader(labelColumn: "1", textColumn: "1").read(path: path), .sameColumn(path: path, column: 1),
                     mentions: [path, "--label-column"])
    }

    func testTabInsideTextIsAnErrorNotASilentCut() throws {
        let path = try temporaryFile("pos\tgood\nneg\tbad\tand worse\n")
        assertThrows(try ClassificationReader().read(path: path),
                     .columnCountMismatch(path: path, line: 2, found: 3, expected: 2, layoutLine: 1),
                     mentions: ["\(path):2"])
    }

    func testEmptyTextAndEmptyLabel() throws {
        let emptyText = try temporaryFile("pos\tgood\nneg\t   \n")
        assertThrows(try ClassificationReader().read(path: emptyText), .emptyText(path: emptyText, line: 2),
                     mentions: ["\(emptyText):2"])
        let emptyLabel = try temporaryFile("pos\tgood\n \tbad\n")
        assertThrows(try ClassificationReader().read(path: emptyLabel), .emptyLabel(path: emptyLabel, line: 2),
                     mentions: ["\(emptyLabel):2"])
    }

    func testLabelColumnThatDoesNotExist() throws {
        let path = try temporaryFile("pos\tgood\nneg\tbad\n")
        assertThrows(try ClassificationReader(labelColumn: "2").read(path: path),
                     .columnOutOfRange(path: path, line: 1, column: 2, columnCount: 2), mentions: [path, "column 2"])
        let withHeader = try temporaryFile("label\ttext\npos\tgood\n")
        assertThrows(try ClassificationReader(labelColumn: "sentiment", textColumn: "text", hasHeader: true)
                        .read(path: withHeader),
                     .unknownColumnName(path: withHeader, name: "sentiment", header: ["label", "text"]),
                     mentions: [withHeader, "'sentiment'", "'label'"])
        assertThrows(try ClassificationReader(labelColumn: "label").read(path: path),
                     .columnNameWithoutHeader(name: "label"), mentions: ["'label'"])
        assertThrows(try ClassificationReader(labelColumn: "-1").read(path: path), .invalidColumn("-1"),
                     mentions: ["'-1'"])
    }

    func testEmptyFileAndHeaderOnlyFileHaveNoExamples() throws {
        let empty = try temporaryFile("")
        assertThrows(try ClassificationReader().read(path: empty), .noExamples(path: empty), mentions: [empty])
        let headerOnly = try temporaryFile("label\ttext\n\n")
        assertThrows(try ClassificationReader(hasHeader: true).read(path: headerOnly), .noExamples(path: headerOnly),
                     mentions: [headerOnly])
    }

    func testInvalidUTF8NamesTheLine() throws {
        let path = try temporaryFile(bytes: Array("pos\tgood\n".utf8) + [0x6E, 0x65, 0x67, 0x09, 0xC3, 0x28, 0x0A])
        assertThrows(try ClassificationReader().read(path: path), .invalidUTF8(path: path, line: 2),
                     mentions: ["\(path):2", "UTF-8"])
    }

    func testMissingFileIsNotFound() {
        XCTAssertThrowsError(try ClassificationReader().read(path: "/nonexistent/elmo/train.tsv")) { error in
            XCTAssertEqual(error as? StorageError, .fileNotFound("/nonexistent/elmo/train.tsv"))
        }
    }
}
