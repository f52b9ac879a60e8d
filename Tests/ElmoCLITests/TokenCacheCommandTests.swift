import ElmoStorage
import Foundation
import XCTest

/// `embed --token-cache N`: the vectors are bitwise the same for every N (0: no cache), and a negative N is refused.
final class TokenCacheCommandTests: XCTestCase {
    override class func tearDown() {
        CLIFixture.release()
        super.tearDown()
    }

    func testEveryCacheSizeWritesTheSameBits() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let input = (folder as NSString).appendingPathComponent("repeats.txt")
        let text = ["the cat sat on the mat", "the dog sat on the cat", "고양이 가 잔다", "the the the end", "a mat , a cat"]
        try Data((text + text.reversed()).joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: input))
        var outputs: [NpzReader] = []
        for capacity in ["0", "2", "100000"] {
            let output = (folder as NSString).appendingPathComponent("cache-\(capacity).npz")
            let result = try runElmo(["embed", "--checkpoint", "run", "--input", input, "--output", output, "--format", "npz",
                                      "--batch-size", "3", "--threads", "2", "--token-cache", capacity], in: fixture.folder)
            XCTAssertEqual(result.status, 0, result.stderr)
            outputs.append(try NpzReader(path: output))
        }
        for line in 0..<(2 * text.count) {
            let vectors = try outputs.map { try $0.tensor(String(line)).scalars }
            XCTAssertEqual(vectors[1], vectors[0], "line \(line): --token-cache 2 differs from 0")
            XCTAssertEqual(vectors[2], vectors[0], "line \(line): --token-cache 100000 differs from 0")
        }

        let refused = try runElmo(["embed", "--checkpoint", "run", "--input", input, "--output", "x.npz", "--token-cache=-1"],
                                  in: fixture.folder)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--token-cache must be >= 0"), refused.stderr)
    }
}
