import ElmoStorage
import ElmoText
import XCTest

final class LineReaderTests: XCTestCase {
    private func lines(_ path: String, bufferSize: Int) throws -> [String] {
        let reader = try LineReader(path: path, bufferSize: bufferSize)
        var lines = [String]()
        while let line = try reader.nextLine() {
            lines.append(line)
            XCTAssertEqual(reader.lineNumber, lines.count)
        }
        XCTAssertNil(try reader.nextLine(), "stays at the end")
        return lines
    }

    func testBufferBoundariesInsideMultiByteCharactersAndLineEnds() throws {
        let dir = try makeTemporaryDirectory(self)
        // Multi-byte characters (2, 3 and 4 bytes), \n, \r\n, a lone \r, an empty line, no final line end.
        let text = "가나 é\n다라마 😀\r\n바\r\rsa\r\n\nlast"
        let expected = ["가나 é", "다라마 😀", "바", "", "sa", "", "last"]
        let path = try writeFile(dir, "t.txt", text)
        for bufferSize in [2, 3, 4, 5, 7, 11, 1 << 20] {
            XCTAssertEqual(try lines(path, bufferSize: bufferSize), expected, "bufferSize \(bufferSize)")
        }
        XCTAssertEqual(try lines(try writeFile(dir, "nl.txt", "a\n"), bufferSize: 2), ["a"], "a final line end adds no line")
        XCTAssertEqual(try lines(try writeFile(dir, "cr.txt", "a\r"), bufferSize: 2), ["a"])
        XCTAssertEqual(try lines(try writeFile(dir, "empty.txt", ""), bufferSize: 4), [])
    }

    func testLineLongerThanBuffer() throws {
        let long = String(repeating: "한국어 ", count: 1000)
        let path = try writeFile(try makeTemporaryDirectory(self), "long.txt", "x\n" + long + "\ny")
        XCTAssertEqual(try lines(path, bufferSize: 16), ["x", long, "y"])
    }

    func testInvalidUTF8ThrowsWithLineNumber() throws {
        let dir = try makeTemporaryDirectory(self)
        let bad = try writeFile(dir, "bad.txt", bytes: Array("ok\nfine\n".utf8) + [0x61, 0xFF, 0x62, 0x0A, 0x63])
        let reader = try LineReader(path: bad, bufferSize: 3)
        XCTAssertEqual(try reader.nextLine(), "ok")
        XCTAssertEqual(try reader.nextLine(), "fine")
        XCTAssertThrowsError(try reader.nextLine()) { error in
            XCTAssertEqual(error as? TextError, .invalidUTF8(path: bad, line: 3))
            XCTAssertTrue("\(error)".hasPrefix("\(bad):3:"), "\(error)")
        }
        // A surrogate code point (ED A0 80) and a character cut by the end of the file are invalid too.
        for (name, bytes) in [("surrogate.txt", [0x61, 0xED, 0xA0, 0x80]), ("cut.txt", [0x61, 0x0A, 0xED, 0x95])] as [(String, [UInt8])] {
            let path = try writeFile(dir, name, bytes: bytes)
            XCTAssertThrowsError(try LineReader(path: path).forEachLine { _, _ in }) { error in
                guard case TextError.invalidUTF8 = error else { return XCTFail("\(name): \(error)") }
            }
        }
    }

    /// gzip input is inflated transparently (through zlib's gzread), with the same lines and line numbers.
    func testGzipFilesReadTransparently() throws {
        let dir = try makeTemporaryDirectory(self)
        let text = "first line\n두 번째 줄\n\nlast"
        let plain = try writeFile(dir, "corpus.txt", text)
        var lines: [String] = []
        try LineReader(path: try gzipFile(plain)).forEachLine { line, _ in lines.append(line) }
        XCTAssertEqual(lines, ["first line", "두 번째 줄", "", "last"])
    }

    func testMissingFileThrows() throws {
        let dir = try makeTemporaryDirectory(self)
        let missing = (dir as NSString).appendingPathComponent("missing.txt")
        XCTAssertThrowsError(try LineReader(path: missing)) { XCTAssertEqual($0 as? StorageError, .fileNotFound(missing)) }
        XCTAssertThrowsError(try LineReader(path: dir)) {
            XCTAssertEqual($0 as? TextError, .isFolder(dir), "a folder is not reported as a missing file")
            XCTAssertTrue("\($0)".contains("is a folder"), "\($0)")
        }
    }

    /// Issue 15: a gzip file cut short was read up to the cut and accepted; now it is an error naming the file.
    func testTruncatedGzipIsAnErrorNamingTheFile() throws {
        let dir = try makeTemporaryDirectory(self)
        let text = (0..<2000).map { "line \($0) of a corpus with some words in it" }.joined(separator: "\n") + "\n"
        let plain = try writeFile(dir, "corpus.txt", text)
        let whole = try Data(contentsOf: URL(fileURLWithPath: try gzipFile(plain)))
        let cut = try writeFile(dir, "cut.txt.gz", bytes: Array(whole.prefix(whole.count / 2)))
        var count = 0
        XCTAssertThrowsError(try LineReader(path: cut).forEachLine { _, _ in count += 1 }) {
            XCTAssertEqual($0 as? TextError, .truncatedGzip(cut))
            XCTAssertTrue("\($0)".contains("truncated"), "\($0)")
        }
        XCTAssertLessThan(count, 2000)
        var all = 0
        try LineReader(path: plain + ".gz").forEachLine { _, _ in all += 1 }
        XCTAssertEqual(all, 2000, "the whole file still reads")
    }

    /// Issue 15: a UTF-8 byte-order mark stayed in the first token.
    func testByteOrderMarkAtTheStartIsDropped() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = try writeFile(dir, "bom.txt", bytes: [0xEF, 0xBB, 0xBF] + Array("the cat\n\u{FEFF}kept\n".utf8))
        for bufferSize in [2, 3, 1 << 20] {
            XCTAssertEqual(try lines(path, bufferSize: bufferSize), ["the cat", "\u{FEFF}kept"],
                           "only the mark at the file start is dropped (bufferSize \(bufferSize))")
        }
        XCTAssertEqual(Corpus.tokens(of: try lines(path, bufferSize: 8)[0]), ["the", "cat"])
    }
}
