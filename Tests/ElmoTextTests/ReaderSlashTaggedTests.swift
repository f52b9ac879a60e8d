import ElmoText
import XCTest

final class ReaderSlashTaggedTests: XCTestCase {
    func testSplitsAtLastSlash() throws {
        let path = try temporaryFile("Has/VBZ the/DT Net/NN 's/POS ?/.\n\n1/2/CD and/or/CC ///:\n")
        XCTAssertEqual(try SlashTaggedReader.read(path: path), [
            TaggedSentence(tokens: ["Has", "the", "Net", "'s", "?"], tags: ["VBZ", "DT", "NN", "POS", "."], line: 1),
            TaggedSentence(tokens: ["1/2", "and/or", "//"], tags: ["CD", "CC", ":"], line: 3),
        ])
    }

    func testTokenWithoutTagNamesLine() throws {
        let path = try temporaryFile("Has/VBZ the/DT\nInternet abandoned/VBD\n")
        assertThrows(try SlashTaggedReader.read(path: path),
                     .malformedTaggedToken(path: path, line: 2, token: "Internet"),
                     mentions: ["\(path):2", "'Internet'"])
    }

    func testEmptyWordOrTagIsMalformed() throws {
        for token in ["word/", "/NN"] {
            let path = try temporaryFile("ok/UH \(token)\n")
            assertThrows(try SlashTaggedReader.read(path: path),
                         .malformedTaggedToken(path: path, line: 1, token: token), mentions: ["\(path):1"])
        }
    }

    func testEmptyFileHasNoExamples() throws {
        let path = try temporaryFile("\n \n")
        assertThrows(try SlashTaggedReader.read(path: path), .noExamples(path: path), mentions: [path])
    }
}
