import ElmoText
import Foundation
import XCTest

extension XCTestCase {
    /// Writes `bytes` to a new file in a fresh temporary folder (removed when the test ends); returns its path.
    func temporaryFile(bytes: [UInt8], name: String = "data.txt") throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("elmo-readers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func temporaryFile(_ contents: String, name: String = "data.txt") throws -> String {
        try temporaryFile(bytes: Array(contents.utf8), name: name)
    }

    /// Asserts that `body` throws exactly `expected`, and that its message contains each of `mentions`
    /// (typically `path:line`).
    func assertThrows<T>(_ body: @autoclosure () throws -> T, _ expected: TextError, mentions: [String],
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? TextError, expected, file: file, line: line)
            let message = String(describing: error)
            for text in mentions {
                XCTAssertTrue(message.contains(text), "'\(message)' does not mention '\(text)'", file: file, line: line)
            }
        }
    }
}
