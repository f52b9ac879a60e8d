import ElmoText
import XCTest

final class ReaderCSVTests: XCTestCase {
    func testQuotedMultiLineFieldsAndEscapedQuotes() throws {
        // The default sentiment layout: a byte-order mark, quoted "label","text", a text spanning lines with a
        // doubled quote inside, CRLF record ends, and no newline after the last record.
        let csv = "\u{FEFF}\"1\",\"the rock is \"\"back\"\" .\n\"\r\n\"-1\",\"two\nlines , here\"\r\n\"1\",plain text"
        let path = try temporaryFile(csv, name: "polarity.csv")
        let examples = try CSVClassificationReader.read(path: path)
        XCTAssertEqual(examples, [
            LabeledSentence(label: "1", tokens: ["the", "rock", "is", "\"back\"", "."], line: 1),
            LabeledSentence(label: "-1", tokens: ["two", "lines", ",", "here"], line: 2),
            LabeledSentence(label: "1", tokens: ["plain", "text"], line: 3),
        ])
    }

    func testHeaderAndColumnChoice() throws {
        let path = try temporaryFile("text,id,label\n\"good, really\",1,pos\n\n\"bad\",2,neg\n")
        let examples = try CSVClassificationReader.read(path: path, labelColumn: 2, textColumn: 0, hasHeader: true)
        XCTAssertEqual(examples, [LabeledSentence(label: "pos", tokens: ["good,", "really"], line: 2),
                                  LabeledSentence(label: "neg", tokens: ["bad"], line: 4)])
    }

    func testMissingColumnNamesRecord() throws {
        let path = try temporaryFile("\"1\",\"fine\"\n\"-1\"\n")
        assertThrows(try CSVClassificationReader.read(path: path),
                     .missingCSVColumn(path: path, record: 2, column: 1, found: 1), mentions: [path, "record 2"])
    }

    func testEmptyTextNamesRecord() throws {
        let path = try temporaryFile("\"1\",\"fine\"\n\"-1\",\"  \"\n")
        assertThrows(try CSVClassificationReader.read(path: path),
                     .emptyCSVField(path: path, record: 2, column: "text"), mentions: [path, "record 2"])
    }

    func testStrayQuoteIsMalformed() throws {
        let path = try temporaryFile("\"1\",\"fine\"\n\"-1\",\"a \"quoted\" word\"\n")
        XCTAssertThrowsError(try CSVClassificationReader.read(path: path)) { error in
            guard case .malformedCSV(let errorPath, let record, _)? = error as? TextError else {
                return XCTFail("expected malformedCSV, got \(error)")
            }
            XCTAssertEqual(errorPath, path)
            XCTAssertEqual(record, 2)
            XCTAssertTrue(String(describing: error).contains("record 2"))
        }
    }

    func testEmptyFileAndInvalidUTF8() throws {
        let empty = try temporaryFile("")
        assertThrows(try CSVClassificationReader.read(path: empty), .noExamples(path: empty), mentions: [empty])
        let invalid = try temporaryFile(bytes: Array("\"1\",\"ok\"\n\"1\",\"".utf8) + [0xFF] + Array("\"\n".utf8))
        assertThrows(try CSVClassificationReader.read(path: invalid), .invalidUTF8(path: invalid, line: 2),
                     mentions: ["\(invalid):2"])
    }
}
