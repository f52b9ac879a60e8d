import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation
import XCTest
@testable import ElmoEmbeddings

/// `elmo embed` reads and writes on their own threads while the biLM computes (`EmbeddingExporter.overlapsIO`):
/// the output must be the serial path's bit for bit, and failures must surface as they do there.
final class OverlappedExportTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("elmo-overlap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    /// 60 lines of 1–9 tokens, one empty line (19) and one of 23 tokens (line 41), deterministic.
    static let text: String = {
        let words = ["the", "cat", "sat", "on", "a", "mat", "고양이", "dog", "ran", "away", "quickly", "."]
        var rng = RandomGenerator(seed: 7)
        return (1...60).map { line -> String in
            if line == 19 { return "   " }
            let count = line == 41 ? 23 : 1 + rng.nextInt(below: 9)
            return (0..<count).map { _ in words[rng.nextInt(below: words.count)] }.joined(separator: " ")
        }.joined(separator: "\n") + "\n"
    }()

    /// Small chunks and batches, so that many chunks pass through the queues.
    @discardableResult
    func export(_ settings: EmbedSettings, overlapped: Bool) throws -> EmbeddingExporter.Summary {
        let exporter = EmbeddingExporter(embedder: try makeEmbedder(), settings: settings)
        exporter.chunkSize = 7
        exporter.chunkTokens = 25
        exporter.overlapsIO = overlapped
        return try exporter.run()
    }

    func makeEmbedder() throws -> ContextualEmbedder {
        let (model, vocabulary) = try tinyModel()
        return ContextualEmbedder(model: model, vocabulary: vocabulary)
    }

    func settings(output: String, format: EmbeddingFormat = .hdf5, pooling: SentencePooling = .none) throws -> EmbedSettings {
        let input = path("in.txt")
        try Self.text.write(toFile: input, atomically: true, encoding: .utf8)
        var settings = EmbedSettings(input: input, output: path(output))
        settings.format = format
        settings.pooling = pooling
        settings.batchSize = 3
        settings.skipEmpty = true
        settings.maxLength = 10
        settings.overlong = .split
        return settings
    }

    func testOverlappedHDF5EqualsSerialBitForBit() throws {
        let overlapped = try export(try settings(output: "overlapped.hdf5"), overlapped: true)
        let serial = try export(try settings(output: "serial.hdf5"), overlapped: false)
        XCTAssertEqual(overlapped.sentences, 59)
        XCTAssertEqual(overlapped.sentences, serial.sentences)
        XCTAssertEqual(overlapped.tokens, serial.tokens)
        XCTAssertEqual(overlapped.skippedLines, [18])
        XCTAssertEqual(overlapped.overlongLines, [40])
        XCTAssertEqual(serial.skippedLines, [18])
        XCTAssertEqual(serial.overlongLines, [40])

        let a = try HDF5Reader(path: path("overlapped.hdf5")), b = try HDF5Reader(path: path("serial.hdf5"))
        defer { a.close(); b.close() }
        XCTAssertEqual(a.datasetNames, b.datasetNames)
        XCTAssertEqual(a.datasetNames.count, 60)  // 59 lines + sentence_to_index
        for name in a.datasetNames where name != "sentence_to_index" {
            XCTAssertEqual(try a.shape(name), try b.shape(name), name)
            XCTAssertEqual(try a.floats(name).map(\.bitPattern), try b.floats(name).map(\.bitPattern), "dataset \(name)")
        }
        XCTAssertEqual(try a.shape("40"), [3, 23, 10])  // the split line keeps every token
        XCTAssertEqual(try a.string("sentence_to_index"), try b.string("sentence_to_index"))
        XCTAssertEqual(try a.intsAttribute("skipped_lines"), [18])
    }

    func testOverlappedPooledNpzEqualsSerialBitForBitInInputOrder() throws {
        try export(try settings(output: "overlapped.npz", format: .npz, pooling: .mean), overlapped: true)
        try export(try settings(output: "serial.npz", format: .npz, pooling: .mean), overlapped: false)
        let a = try NpzReader(path: path("overlapped.npz")), b = try NpzReader(path: path("serial.npz"))
        XCTAssertEqual(a.memberNames, b.memberNames)
        let lines = try a.int64("lines")
        XCTAssertEqual(lines, (0..<60).filter { $0 != 18 }.map(Int64.init))
        XCTAssertEqual(lines, try b.int64("lines"))
        XCTAssertEqual(try a.tensor("embeddings").scalars.map(\.bitPattern), try b.tensor("embeddings").scalars.map(\.bitPattern))
        XCTAssertEqual(try a.bytes("sentence_to_index.json"), try b.bytes("sentence_to_index.json"))
    }

    /// The overlapped vectors are the embedder's own, computed directly for each line.
    func testOverlappedVectorsEqualTheEmbeddersVectors() throws {
        try export(try settings(output: "out.hdf5"), overlapped: true)
        let lines = Self.text.split(separator: "\n", omittingEmptySubsequences: false).map { Corpus.tokens(of: String($0)) }
        let reader = try HDF5Reader(path: path("out.hdf5"))
        defer { reader.close() }
        let embedder = try makeEmbedder()
        for (index, tokens) in lines.enumerated() where !tokens.isEmpty {
            let direct = embedder.embed([tokens], maxLength: 10, overlong: .split, batchSize: 1)[0]
            XCTAssertEqual(try reader.shape(String(index)), direct.shape)
            let written = try reader.floats(String(index))
            let difference = zip(written, direct.scalars).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(difference, 1e-5, "line \(index + 1)")
        }
    }

    /// stdin is not pre-scanned, so a bad line is met by the reader thread after chunks were computed and written:
    /// the error is the serial path's, naming the line, and no output (not even a partial file) is left.
    func testAReaderErrorInTheOverlappedPathNamesTheLineAndLeavesNoOutput() throws {
        for overlapped in [true, false] {
            var settings = try settings(output: "stdin-\(overlapped).hdf5")
            settings.input = "-"
            settings.skipEmpty = false
            settings.maxLength = 100
            XCTAssertThrowsError(try withStandardInput(Self.text) { try export(settings, overlapped: overlapped) }) { error in
                // Line 19 holds only spaces: the first empty line.
                XCTAssertEqual(error as? EmbedError, .emptyLine(path: "<stdin>", line: 19), "overlapped \(overlapped)")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("stdin-") }, [],
                           "overlapped \(overlapped)")
        }
    }

    /// Runs `body` with `text` as this process's standard input.
    func withStandardInput<T>(_ text: String, _ body: () throws -> T) throws -> T {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        let bytes = Array(text.utf8)
        XCTAssertEqual(write(ends[1], bytes, bytes.count), bytes.count)  // fits the pipe's buffer
        close(ends[1])
        let saved = dup(STDIN_FILENO)
        dup2(ends[0], STDIN_FILENO)
        close(ends[0])
        defer {
            dup2(saved, STDIN_FILENO)
            close(saved)
        }
        return try body()
    }
}
