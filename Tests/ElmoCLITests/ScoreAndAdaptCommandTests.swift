import Foundation
import XCTest

/// `elmo score`, `perplexity --reset-each-line` and `pretrain --init-from` from the command line (issue 16).
final class ScoreAndAdaptCommandTests: XCTestCase {
    override class func tearDown() {
        CLIFixture.release()
        super.tearDown()
    }

    private let lines = "the cat sat on the mat in the park\n\nzebras like the cat\nthe dog ran\n"

    private func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    func testScoreJSONLinesAgreeWithPerplexityResetEachLine() throws {
        let fixture = try CLIFixture.get()
        try Data(lines.utf8).write(to: URL(fileURLWithPath: fixture.path("score.txt")))
        let result = try runElmo(["score", "--checkpoint", "run", "score.txt", "--batch-size", "2", "--threads", "1"], in: fixture.folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("scored 4 lines"), result.stderr)
        let rows = try jsonLines(result.stdout)
        XCTAssertEqual(rows.count, 4, "one line per input line")
        XCTAssertEqual(rows.map { $0["line"] as? Int }, [1, 2, 3, 4])
        XCTAssertEqual(Set(rows[0].keys), ["line", "tokens", "forward_logprob", "backward_logprob", "logprob", "perplexity"])
        XCTAssertEqual(rows.map { $0["tokens"] as? Int }, [10, 0, 5, 4])
        XCTAssertTrue(rows[1]["perplexity"] is NSNull, "an empty line has no perplexity")
        var sum = 0.0, tokens = 0
        for row in rows {
            let f = try XCTUnwrap(row["forward_logprob"] as? Double), b = try XCTUnwrap(row["backward_logprob"] as? Double)
            let logprob = try XCTUnwrap(row["logprob"] as? Double), n = try XCTUnwrap(row["tokens"] as? Int)
            XCTAssertEqual(logprob, (f + b) / 2, accuracy: 1e-9 * max(1, abs(logprob)))
            if n > 0 { XCTAssertEqual(try XCTUnwrap(row["perplexity"] as? Double), exp(-logprob / Double(n)), accuracy: 1e-6 * exp(-logprob / Double(n))) }
            sum += logprob
            tokens += n
        }
        let ppl = try runElmo(["perplexity", "--checkpoint", "run", "score.txt", "--reset-each-line", "--json"], in: fixture.folder)
        XCTAssertEqual(ppl.status, 0, ppl.stderr)
        let json = try ppl.json()
        XCTAssertEqual(json["tokens"] as? Int, tokens)
        let mean = try XCTUnwrap(json["mean"] as? Double)
        XCTAssertLessThan(abs(exp(-sum / Double(tokens)) - mean) / mean, 1e-4, "score vs perplexity --reset-each-line")
    }

    func testScoreTSVPerTokenAndStdin() throws {
        let fixture = try CLIFixture.get()
        try Data(lines.utf8).write(to: URL(fileURLWithPath: fixture.path("score.txt")))
        let tsv = try runElmo(["score", "--checkpoint", "run", "score.txt", "--tsv", "--per-token"], in: fixture.folder)
        XCTAssertEqual(tsv.status, 0, tsv.stderr)
        let table = tsv.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        XCTAssertEqual(table.first?.map(String.init), ["line", "tokens", "forward_logprob", "backward_logprob", "logprob", "perplexity",
                                                       "forward_token_logprobs", "backward_token_logprobs"])
        XCTAssertEqual(table.count, 5)
        XCTAssertEqual(table[4][6].split(separator: " ").count, 4, "the dog ran </S>")

        // stdin: the same numbers as the file.
        let process = Process()
        process.executableURL = try elmoBinary()
        process.arguments = ["score", "--checkpoint", "run", "-", "--per-token"]
        process.currentDirectoryURL = URL(fileURLWithPath: fixture.folder)
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: fixture.path("score.txt")))
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let fromStdin = try jsonLines(String(decoding: data, as: UTF8.self))
        let fromFile = try jsonLines(try runElmo(["score", "--checkpoint", "run", "score.txt", "--per-token"], in: fixture.folder).stdout)
        XCTAssertEqual(fromStdin.count, 4)
        XCTAssertEqual(fromStdin.map { $0["logprob"] as? Double }, fromFile.map { $0["logprob"] as? Double })
        XCTAssertEqual((fromStdin[3]["backward_token_logprobs"] as? [Double])?.count, 4, "<S> the dog ran")
    }

    func testInitFromRecordsTheSourceAndRefusesAnArchitectureChange() throws {
        let fixture = try CLIFixture.get()
        try Data("the cat saw a zebra\na zebra ran in the park\nthe zebra and the cat\nzebras like the sun\n".utf8)
            .write(to: URL(fileURLWithPath: fixture.path("domain.txt")))
        let folder = try makeCLITestFolder(self)
        let adapt = try runElmo(["pretrain", "--init-from", fixture.path("run"), "--train", fixture.path("domain.txt"),
                                 "--output", "adapted", "--max-tokens", "16", "--threads", "1"], in: folder)
        XCTAssertEqual(adapt.status, 0, adapt.stderr)
        XCTAssertTrue(adapt.stderr.contains("vocabulary: extend: added 3 words"), adapt.stderr)   // zebra, saw, zebras
        XCTAssertTrue(adapt.stderr.contains("init-from: \(fixture.path("run/best.npz"))"), adapt.stderr)
        XCTAssertEqual(try adapt.json()["steps"] as? Int, 2, "a new run from step 0")
        let inspect = try runElmo(["inspect", "adapted", "--json"], in: folder)
        let summary = try inspect.json()
        XCTAssertEqual(summary["init_from"] as? String, fixture.path("run/best.npz"))
        XCTAssertEqual((summary["init_from_crc32"] as? String)?.count, 8)
        XCTAssertTrue(try runElmo(["inspect", "adapted"], in: folder).stdout.contains("init from   \(fixture.path("run/best.npz"))"))

        let wide = tinyConfigJSON.replacingOccurrences(of: "\"dim\": 12", with: "\"dim\": 20")
        try Data(wide.utf8).write(to: URL(fileURLWithPath: "\(folder)/wide.json"))
        assertCleanError(try runElmo(["pretrain", "--init-from", fixture.path("run"), "--config", "wide.json", "--train",
                                      fixture.path("domain.txt"), "--output", "refused"], in: folder),
                         ["'lstm.dim' is 12", "but 20 in --config"])
    }
}
