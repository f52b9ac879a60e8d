import Foundation
import XCTest

/// `elmo import-weights` and `elmo export-weights` on the AllenNLP fixture (issue 8): an imported model embeds,
/// fine-tunes and inspects, while perplexity and generation refuse it by name; export writes the bilm-tf files.
final class WeightsCommandTests: XCTestCase {
    private let bilmTf = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/AllenNLP/bilm_tf").path

    private func importFixture(into folder: String) throws -> String {
        let result = try runElmo(["import-weights", "--options", "\(bilmTf)/options.json", "--weights", "\(bilmTf)/weights.hdf5",
                                  "--output", "imported.npz"], in: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try result.json()
        XCTAssertEqual(summary["vocabulary"] as? Int, 3)
        XCTAssertGreaterThan(summary["parameters"] as? Int ?? 0, 10_000)
        return "imported.npz"
    }

    func testImportedModelEmbedsFinetunesAndInspectsButDoesNotScoreOrGenerate() throws {
        let folder = try makeCLITestFolder(self)
        let checkpoint = try importFixture(into: folder)
        try Data("the cat sat .\n고양이 가 잔다\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/input.txt"))
        let embed = try runElmo(["embed", "--checkpoint", checkpoint, "--input", "input.txt", "--output", "vectors.hdf5"], in: folder)
        XCTAssertEqual(embed.status, 0, embed.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(folder)/vectors.hdf5"))

        let inspect = try runElmo(["inspect", checkpoint, "--json"], in: folder)
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let summary = try inspect.json()
        XCTAssertEqual(summary["has_softmax"] as? Bool, false)
        XCTAssertEqual(summary["imported_from"] as? String, "\(bilmTf)/weights.hdf5")
        XCTAssertEqual((summary["parameters_by_component"] as? [String: Int])?["softmax"], 0)

        let data = (0..<12).map { "\($0 % 2 == 0 ? "pos" : "neg")\t\($0 % 2 == 0 ? "good fine film" : "bad awful film") \($0)" }
        try Data((data.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: "\(folder)/train.tsv"))
        try Data((data.prefix(4).joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: "\(folder)/dev.tsv"))
        let finetune = try runElmo(["finetune", "classifier", "--checkpoint", checkpoint, "--train", "train.tsv", "--dev", "dev.tsv",
                                    "--output", "task", "--epochs", "1", "--bilm", "finetune", "--threads", "1"], in: folder)
        XCTAssertEqual(finetune.status, 0, finetune.stderr)
        let evaluate = try runElmo(["evaluate", "--model", "task", "--data", "dev.tsv"], in: folder)
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)

        try Data("the cat sat .\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/valid.txt"))
        assertCleanError(try runElmo(["perplexity", "--checkpoint", checkpoint, "valid.txt"], in: folder),
                         ["imported.npz", "has no softmax", "perplexity", "elmo embed"])
        assertCleanError(try runElmo(["generate", "--checkpoint", checkpoint], in: folder), ["has no softmax", "text generation"])
        assertCleanError(try runElmo(["score", "--checkpoint", checkpoint, "valid.txt"], in: folder),
                         ["has no softmax", "elmo score", "--softmax-weights"])
        assertCleanError(try runElmo(["score", "--checkpoint", "task", "valid.txt"], in: folder),
                         ["is a fine-tuned task model", "elmo finetune", "pass the biLM the task model was fine-tuned from"])
    }

    func testExportWritesBilmTfFilesAndRefusesToOverwrite() throws {
        let folder = try makeCLITestFolder(self)
        let checkpoint = try importFixture(into: folder)
        let export = try runElmo(["export-weights", "--checkpoint", checkpoint, "--output", "out"], in: folder)
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/out").sorted(),
                       ["options.json", "vocab.txt", "weights.hdf5"])
        assertCleanError(try runElmo(["export-weights", "--checkpoint", checkpoint, "--output", "out"], in: folder),
                         ["out/options.json", "already exists", "--overwrite"])
        XCTAssertEqual(try runElmo(["export-weights", "--checkpoint", checkpoint, "--output", "out", "--overwrite"], in: folder).status, 0)
        // The export imports again, and the second import's export is the same file set.
        let again = try runElmo(["import-weights", "--options", "out/options.json", "--weights", "out/weights.hdf5",
                                 "--vocab", "out/vocab.txt", "--output", "again.npz"], in: folder)
        XCTAssertEqual(again.status, 0, again.stderr)
    }

    func testMismatchedOptionsAreAOneLineErrorNamingDatasetAndShapes() throws {
        let folder = try makeCLITestFolder(self)
        var options = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(bilmTf)/options.json"))) as! [String: Any]
        var lstm = options["lstm"] as! [String: Any]
        lstm["dim"] = 32
        options["lstm"] = lstm
        try JSONSerialization.data(withJSONObject: options).write(to: URL(fileURLWithPath: "\(folder)/options.json"))
        assertCleanError(try runElmo(["import-weights", "--options", "options.json", "--weights", "\(bilmTf)/weights.hdf5",
                                      "--output", "x.npz"], in: folder),
                         ["RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0", "[16, 96]", "[16, 128]", "lstm.dim"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(folder)/x.npz"))
        options["lstm"] = nil
        try JSONSerialization.data(withJSONObject: options).write(to: URL(fileURLWithPath: "\(folder)/options.json"))
        assertCleanError(try runElmo(["import-weights", "--options", "options.json", "--weights", "\(bilmTf)/weights.hdf5",
                                      "--output", "x.npz"], in: folder), ["options.json", "'lstm'", "missing"])
    }
}
