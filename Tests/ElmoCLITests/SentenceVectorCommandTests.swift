import ElmoStorage
import ElmoTensor
import Foundation
import XCTest

/// Issue 17: `embed --pooling`, `--max-batch-tokens` and `--overlong` on the command line, and the token budget of
/// `predict`, `evaluate` and `finetune`.
final class SentenceVectorCommandTests: XCTestCase {
    override class func tearDown() {
        CLIFixture.release()
        super.tearDown()
    }

    private let lines = ["the cat sat on the mat", "고양이 가 잔다", "dogs", "a bird sang a song in the park today", "the end"]

    private func write(_ text: String, _ name: String, in folder: String) throws -> String {
        let path = (folder as NSString).appendingPathComponent(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func embed(_ extra: [String], input: String, output: String, folder: String) throws -> CLIResult {
        try runElmo(["embed", "--checkpoint", "run", "--input", input, "--output", output, "--threads", "1"] + extra,
                    in: folder)
    }

    /// Refused before any work, as argument errors are (with the usage after the `Error:` line).
    private func assertRefused(_ result: CLIResult, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(result.signaled, result.stderr, file: file, line: line)
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("Error: "), result.stderr, file: file, line: line)
        for part in parts { XCTAssertTrue(result.stderr.contains(part), "\(result.stderr)\n  lacks: \(part)", file: file, line: line) }
    }

    private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
    }

    func testPooledMatrixRowsArePooledTokenVectorsAndTheTokenBudgetChangesNothing() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let input = try write(lines.joined(separator: "\n") + "\n\n", "s.txt", in: folder)
        let tokens = (folder as NSString).appendingPathComponent("tokens.npz")
        XCTAssertEqual(try embed(["--format", "npz", "--layers", "top", "--skip-empty"], input: input, output: tokens, folder: fixture.folder).status, 0)
        let perToken = try NpzReader(path: tokens)

        let pooled = (folder as NSString).appendingPathComponent("max.npz")
        let result = try embed(["--format", "npz", "--layers", "top", "--pooling", "max", "--skip-empty"], input: input, output: pooled,
                               folder: fixture.folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try result.json()["pooling"] as? String, "max")
        let matrix = try NpzReader(path: pooled)
        let embeddings = try matrix.tensor("embeddings")
        XCTAssertEqual(embeddings.shape, [lines.count, 10])
        XCTAssertEqual(try matrix.int64("lines"), lines.indices.map(Int64.init))
        XCTAssertEqual(try matrix.int64("skipped_lines"), [Int64(lines.count)])
        for i in lines.indices {
            let vectors = try perToken.tensor(String(i))
            var expected = [Float](repeating: -.infinity, count: 10)
            for t in 0..<vectors.shape[0] { for j in 0..<10 { expected[j] = max(expected[j], vectors.scalars[t * 10 + j]) } }
            XCTAssertEqual(Array(embeddings.scalars[(i * 10)..<((i + 1) * 10)]), expected, "row \(i) is the max over line \(i)'s tokens")
        }

        // A budget of 6 padded tokens puts the 9-token line alone and the others in small batches: same numbers.
        let budgeted = (folder as NSString).appendingPathComponent("budget.npz")
        XCTAssertEqual(try embed(["--format", "npz", "--layers", "top", "--skip-empty", "--max-batch-tokens", "6"], input: input,
                                 output: budgeted, folder: fixture.folder).status, 0)
        let budget = try NpzReader(path: budgeted)
        for i in lines.indices {
            XCTAssertLessThanOrEqual(maxDifference(try budget.tensor(String(i)), try perToken.tensor(String(i))), 1e-6, "line \(i)")
        }
        assertRefused(try embed(["--max-batch-tokens", "0"], input: input, output: "x.hdf5", folder: folder), ["--max-batch-tokens", "at least 1"])
        assertRefused(try embed(["--format", "npy"], input: input, output: "x.npy", folder: folder), ["--format npy", "--pooling"])
    }

    func testOverlongLinesAreRefusedTruncatedOrSplitIntoWindows() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let input = try write("the cat\nthe cat sat on the mat today\n", "long.txt", in: folder)
        assertCleanError(try embed(["--max-length", "3"], input: input, output: (folder as NSString).appendingPathComponent("x.hdf5"),
                                   folder: fixture.folder),
                         ["long.txt:2", "7 tokens", "--max-length 3"])
        let whole = (folder as NSString).appendingPathComponent("whole.npz")
        XCTAssertEqual(try embed(["--format", "npz"], input: input, output: whole, folder: fixture.folder).status, 0)
        let truncated = (folder as NSString).appendingPathComponent("truncated.npz")
        let cut = try embed(["--format", "npz", "--max-length", "3", "--overlong", "truncate"], input: input, output: truncated, folder: fixture.folder)
        XCTAssertEqual(cut.status, 0, cut.stderr)
        XCTAssertEqual(try cut.json()["overlong_lines"] as? [Int], [1])
        XCTAssertEqual(try NpzReader(path: truncated).tensor("1").shape, [3, 3, 10])
        let split = (folder as NSString).appendingPathComponent("split.npz")
        XCTAssertEqual(try embed(["--format", "npz", "--max-length", "3", "--overlong", "split"], input: input, output: split,
                                 folder: fixture.folder).status, 0)
        let windows = try NpzReader(path: split).tensor("1")
        XCTAssertEqual(windows.shape, [3, 7, 10], "every token of the long line has its vectors")
        XCTAssertLessThanOrEqual(maxDifference(try NpzReader(path: split).tensor("0"), try NpzReader(path: whole).tensor("0")), 1e-6)
        // The first window is the truncated line (to float rounding: it shared a batch with the other windows).
        let first = try NpzReader(path: truncated).tensor("1")
        for layer in 0..<3 {
            let a = windows.scalars[(layer * 70)..<(layer * 70 + 30)], b = first.scalars[(layer * 30)..<(layer * 30 + 30)]
            XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max()!, 1e-6, "layer \(layer)")
        }
    }

    func testPredictEvaluateAndFinetuneTakeATokenBudget() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        try trainTinyClassifier(fixture, in: folder, ["--max-batch-tokens", "7"])
        _ = try write("the cat sat\na dog ran in the park\nthe cat sat on the mat in the park today\n", "in.txt", in: folder)
        let plain = try runElmo(["predict", "--model", "cls", "--input", "in.txt", "--threads", "1", "--max-length", "20"], in: folder)
        let budget = try runElmo(["predict", "--model", "cls", "--input", "in.txt", "--threads", "1", "--max-batch-tokens", "5", "--max-length", "20"],
                                 in: folder)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(budget.stdout, plain.stdout)
        let evaluated = try runElmo(["evaluate", "--model", "cls", "--data", "train.tsv", "--json", "--max-batch-tokens", "5", "--threads", "1"],
                                    in: folder)
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let truncated = try runElmo(["predict", "--model", "cls", "--input", "in.txt", "--threads", "1", "--max-length", "3", "--overlong", "truncate"],
                                    in: folder)
        XCTAssertEqual(truncated.status, 0, truncated.stderr)
        XCTAssertEqual(truncated.stdout.split(separator: "\n").count, 3)
        assertCleanError(try runElmo(["predict", "--model", "cls", "--input", "in.txt", "--max-length", "3", "--overlong", "split"], in: folder),
                         ["--overlong split", "classifier", "truncate"])

        // --mix-from: the classifier's learned mix over the 3 layers, one (dim) vector per line.
        let mixed = (folder as NSString).appendingPathComponent("mixed.npy")
        let embedded = try runElmo(["embed", "--checkpoint", fixture.path("run"), "--input", "in.txt", "--output", mixed, "--mix-from", "cls",
                                    "--pooling", "mean", "--format", "npy", "--threads", "1"], in: folder)
        XCTAssertEqual(embedded.status, 0, embedded.stderr)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: mixed)))
        let size = try NpyFormat.headerSize(prefix: Array(bytes.prefix(NpyFormat.prefixLength)), path: mixed, member: "npy")
        let header = try NpyFormat.decodeHeader(Array(bytes[..<size]), path: mixed, member: "npy")
        XCTAssertEqual(header.shape, [3, 10])
    }

    func testATaggerTagsEveryTokenOfASplitLine() throws {
        let fixture = try CLIFixture.get()
        let folder = try makeCLITestFolder(self)
        let conll = (0..<6).map { _ in "the\tO\ncat\tB-ANIMAL\nsat\tO\n" }.joined(separator: "\n") + "\n"
        _ = try write(conll, "train.conll", in: folder)
        let trained = try runElmo(["finetune", "tagger", "--checkpoint", fixture.path("run"), "--train", "train.conll", "--dev", "train.conll",
                                   "--format", "conll", "--output", "tag", "--epochs", "1", "--hidden", "4", "--threads", "1",
                                   "--max-batch-tokens", "6"], in: folder)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        _ = try write("the cat sat on the mat\nthe cat\n", "in.txt", in: folder)
        let split = try runElmo(["predict", "--model", "tag", "--input", "in.txt", "--max-length", "4", "--overlong", "split", "--threads", "1"],
                                in: folder)
        XCTAssertEqual(split.status, 0, split.stderr)
        let sentences = split.stdout.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        XCTAssertEqual(sentences.map { $0.split(separator: "\n").map { String($0.split(separator: "\t")[0]) } },
                       [["the", "cat", "sat", "on", "the", "mat"], ["the", "cat"]], "one tag per token, windows joined in order")
        let truncated = try runElmo(["predict", "--model", "tag", "--input", "in.txt", "--max-length", "4", "--overlong", "truncate",
                                     "--threads", "1"], in: folder)
        XCTAssertEqual(truncated.stdout.components(separatedBy: "\n\n").first?.split(separator: "\n").count, 4)
        XCTAssertEqual(Array(split.stdout.split(separator: "\n").prefix(4)), Array(truncated.stdout.split(separator: "\n").prefix(4)),
                       "the first window is tagged as the truncated line")
    }
}
