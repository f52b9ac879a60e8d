import ElmoBiLM
import ElmoEmbeddings
import ElmoTensor
import ElmoText
import Foundation
import XCTest
import _TestSupport

final class ExportTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("elmo-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    func makeEmbedder() throws -> ContextualEmbedder {
        let (model, vocabulary) = try tinyModel()
        return ContextualEmbedder(model: model, vocabulary: vocabulary)
    }

    /// Runs python3 and returns its stdout; skips the test when numpy/h5py are missing.
    func python(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let pipe = Pipe(), errors = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = String(decoding: err, as: UTF8.self)
        if stderr.contains("No module named") { throw XCTSkip("python module missing: \(stderr)") }
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        return String(decoding: out, as: UTF8.self)
    }

    func testHDF5LayoutMatchesAllenNLPAndH5pyReadsTheVectors() throws {
        let embedder = try makeEmbedder()
        let input = try write("in.txt", Array("the cat sat\n고양이\nthe cat sat\n".utf8))
        let output = path("out.hdf5")
        let summary = try EmbeddingExporter(embedder: embedder, settings: EmbedSettings(input: input, output: output)).run()
        XCTAssertEqual(summary.sentences, 3)
        let expected = embedder.embed([["the", "cat", "sat"], ["고양이"], ["the", "cat", "sat"]])
        let reader = try HDF5Reader(path: output)
        XCTAssertEqual(Set(reader.datasetNames), ["0", "1", "2", "sentence_to_index"])
        for k in 0..<3 {
            XCTAssertEqual(try reader.shape(String(k)), expected[k].shape)
            assertValuesClose(try reader.floats(String(k)), expected[k].scalars, rtol: 0, atol: 0, "dataset \(k)")
        }
        let mapping = try JSONSerialization.jsonObject(with: Data(try reader.string("sentence_to_index").utf8)) as? [String: String]
        XCTAssertEqual(mapping, ["the cat sat": "2", "고양이": "1"])  // a repeated sentence maps to its last line, as AllenNLP's dict does
        reader.close()

        let report = try python("""
        import h5py, json
        f = h5py.File('\(output)', 'r')
        print(json.dumps({k: [list(f[k].shape), str(f[k].dtype), float(f[k][()].sum())] for k in f.keys() if k != 'sentence_to_index'}))
        print(json.loads(f['sentence_to_index'][0])['고양이'])
        """)
        let lines = report.split(separator: "\n")
        let shapes = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: [Any]]
        for k in 0..<3 {
            let entry = try XCTUnwrap(shapes[String(k)])
            XCTAssertEqual(entry[0] as? [Int], expected[k].shape)
            XCTAssertEqual(entry[1] as? String, "float32")
            XCTAssertEqual((entry[2] as! NSNumber).doubleValue, expected[k].scalars.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-3)
        }
        XCTAssertEqual(lines[1], "1")
    }

    func testTopLayerFloat16NpzLoadsWithNumpy() throws {
        let embedder = try makeEmbedder()
        let input = try write("in.txt", Array("the cat\nsat\n".utf8))
        var settings = EmbedSettings(input: input, output: path("out.npz"))
        settings.format = .npz
        settings.layers = .top
        settings.dtype = .float16
        try EmbeddingExporter(embedder: embedder, settings: settings).run()
        let report = try python("""
        import numpy as np, json
        z = np.load('\(settings.output)')
        print(json.dumps({k: [list(z[k].shape), str(z[k].dtype)] for k in z.files if k.isdigit()}))
        print(json.loads(z['sentence_to_index.json'])['sat'])
        """)
        let lines = report.split(separator: "\n")
        let shapes = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: [Any]]
        XCTAssertEqual(shapes["0"]?[0] as? [Int], [2, 10])
        XCTAssertEqual(shapes["1"]?[1] as? String, "float16")
        XCTAssertEqual(lines[1], "1")
    }

    func testEmptyAndWhitespaceLinesAreErrorsNamingTheLineOrSkipped() throws {
        let embedder = try makeEmbedder()
        let input = try write("in.txt", Array("the cat\n  \t \nsat\n".utf8))
        XCTAssertThrowsError(try EmbeddingExporter(embedder: embedder, settings: EmbedSettings(input: input, output: path("a.hdf5"))).run()) {
            XCTAssertEqual($0 as? EmbedError, .emptyLine(path: input, line: 2))
            XCTAssertTrue("\($0)".contains("--skip-empty"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("a.hdf5")), "no output is left behind")
        var settings = EmbedSettings(input: input, output: path("b.hdf5"))
        settings.skipEmpty = true
        let summary = try EmbeddingExporter(embedder: embedder, settings: settings).run()
        XCTAssertEqual(summary.skippedLines, [1], "0-based, as the keys")
        let reader = try HDF5Reader(path: settings.output)
        XCTAssertEqual(Set(reader.datasetNames), ["0", "2", "sentence_to_index"], "keys stay line numbers")
        reader.close()
    }

    func testInvalidUTF8NamesTheLine() throws {
        let embedder = try makeEmbedder()
        let input = try write("in.txt", Array("the cat\n".utf8) + [0x66, 0xFF, 0x0A])
        XCTAssertThrowsError(try EmbeddingExporter(embedder: embedder, settings: EmbedSettings(input: input, output: path("o.hdf5"))).run()) {
            XCTAssertTrue("\($0)".contains(":2"), "\($0)")
        }
    }

    func testExistingOrUnwritableOutputIsRefusedBeforeWork() throws {
        let existing = try write("exists.hdf5", [1, 2, 3])
        XCTAssertThrowsError(try EmbeddingExporter.checkOutput(existing, overwrite: false)) {
            XCTAssertEqual($0 as? EmbedError, .outputExists(existing))
        }
        XCTAssertNoThrow(try EmbeddingExporter.checkOutput(existing, overwrite: true))
        XCTAssertThrowsError(try EmbeddingExporter.checkOutput(path("missing/dir/out.hdf5"), overwrite: false)) {
            XCTAssertTrue("\($0)".contains("does not exist"), "\($0)")
        }
    }

    /// Issue 15: `--overwrite` replaced a folder given as --output, and everything in it.
    func testAFolderAsOutputIsRefusedEvenWithOverwrite() throws {
        let folderOutput = path("results")
        try FileManager.default.createDirectory(atPath: folderOutput, withIntermediateDirectories: true)
        let kept = try write("results/keep.txt", [1])
        for overwrite in [false, true] {
            XCTAssertThrowsError(try EmbeddingExporter.checkOutput(folderOutput, overwrite: overwrite)) {
                XCTAssertEqual($0 as? EmbedError, .outputIsFolder(folderOutput))
                XCTAssertTrue("\($0)".contains("is a folder"), "\($0)")
            }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept))
    }

    /// Issue 15: one very long line took gigabytes; past --max-length it is refused naming the line, before any work.
    func testALineLongerThanMaxLengthIsRefusedNamingIt() throws {
        let embedder = try makeEmbedder()
        let long = Array(repeating: "cat", count: 30).joined(separator: " ")
        let input = try write("in.txt", Array("the cat\n\(long)\nsat\n".utf8))
        var settings = EmbedSettings(input: input, output: path("o.hdf5"))
        settings.maxLength = 29
        XCTAssertThrowsError(try EmbeddingExporter(embedder: embedder, settings: settings).run()) {
            XCTAssertEqual($0 as? EmbedError, .lineTooLong(path: input, line: 2, tokens: 30, limit: 29))
            XCTAssertTrue("\($0)".contains("--max-length"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: settings.output))
        settings.maxLength = 30
        XCTAssertEqual(try EmbeddingExporter(embedder: embedder, settings: settings).run().sentences, 3)
    }

    func testCheckpointOfNewerFormatVersionIsRefusedNamingBothVersions() throws {
        let (model, vocabulary) = try tinyModel()
        var trainer = TrainerState()
        trainer.version = 99
        let file = path("future.npz")
        try BiLMCheckpoint.save(model: model, vocabulary: vocabulary, trainer: trainer, optimizer: nil, states: nil, to: file)
        XCTAssertThrowsError(try ContextualEmbedder(checkpoint: file)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("99") && message.contains("\(TrainerState.currentVersion)"), message)
        }
    }
}
