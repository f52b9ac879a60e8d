import ElmoBiLM
import ElmoEmbeddings
import ElmoTensor
import ElmoText
import Foundation
import XCTest

/// `Tests/Fixtures/AllenNLP/` (written by its `make_allennlp_fixture.py`, which runs AllenNLP 2.10.1 itself).
let allenNLPFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/AllenNLP").path

/// What AllenNLP computed for the fixture sentences: tokens (`str.split()`), `batch_to_ids` char ids, every layer of
/// `_ElmoBiLm` without the boundary rows (`[L+1][n·2P]`), and `Elmo`'s default average (`[n·2P]`).
struct AllenNLPOutput: Decodable {
    struct Sentence: Decodable {
        var line: String
        var tokens: [String]
        var char_ids: [[Int32]]
        var layers: [[Float]]
        var elmo_average: [Float]
    }

    var layer_count: Int
    var dimension: Int
    var clipped_cells: Int
    var clipped_projections: Int
    var sentences: [Sentence]

    init(_ path: String) throws {
        self = try JSONDecoder().decode(AllenNLPOutput.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// ELMoKit against AllenNLP's ELMo on the same weight files (issue 8): tokens, char ids, every layer and the default
/// scalar mix, for a bilm-tf model imported by `BilmTfWeights` and for an ELMoKit model exported by it.
final class AllenNLPInteropTests: XCTestCase {
    private let bilmTf = (allenNLPFixtures as NSString).appendingPathComponent("bilm_tf")
    private let native = (allenNLPFixtures as NSString).appendingPathComponent("native")

    private func importFixture() throws -> BiLanguageModel {
        let options = try BilmTfWeights.readOptions(path: (bilmTf as NSString).appendingPathComponent("options.json"))
        return try BilmTfWeights.importModel(options: options, weightsPath: (bilmTf as NSString).appendingPathComponent("weights.hdf5"),
                                             vocabularySize: 3)
    }

    /// Our tokens, char ids, layers and default mix for `model` against AllenNLP's `expected`, within `tolerance`;
    /// returns the largest difference per layer.
    @discardableResult
    private func assertMatchesAllenNLP(_ model: BiLanguageModel, _ expected: AllenNLPOutput, tolerance: Float = 1e-4,
                                       file: StaticString = #filePath, line: UInt = #line) throws -> [Float] {
        XCTAssertGreaterThan(expected.clipped_cells, 0, "the fixture exercises the cell clip", file: file, line: line)
        XCTAssertGreaterThan(expected.clipped_projections, 0, "the fixture exercises the projection clip", file: file, line: line)
        for sentence in expected.sentences {
            XCTAssertEqual(Corpus.tokens(of: sentence.line), sentence.tokens, "tokens of \(sentence.line.debugDescription)",
                           file: file, line: line)
            for (token, ids) in zip(sentence.tokens, sentence.char_ids) {
                XCTAssertEqual(CharacterIds.ids(for: token, maxCharacters: model.maxCharacters), ids, "char ids of \(token)",
                               file: file, line: line)
            }
        }
        let embedder = ContextualEmbedder(model: model, vocabulary: try Vocabulary(words: ["<S>", "</S>", "<UNK>"]))
        XCTAssertEqual(embedder.layerCount, expected.layer_count, file: file, line: line)
        XCTAssertEqual(embedder.dimension, expected.dimension, file: file, line: line)
        // Batches of 4 mix lengths, so padding is exercised as well.
        let outputs = embedder.embed(expected.sentences.map(\.tokens), batchSize: 4)
        let mix = ScalarMix(mixtureSize: embedder.layerCount)
        var worst = [Float](repeating: 0, count: expected.layer_count + 1)
        for (sentence, output) in zip(expected.sentences, outputs) {
            let n = sentence.tokens.count, d = expected.dimension
            XCTAssertEqual(output.shape, [expected.layer_count, n, d], file: file, line: line)
            for k in 0..<expected.layer_count {
                let ours = Array(output.scalars[(k * n * d)..<((k + 1) * n * d)])
                worst[k] = max(worst[k], zip(ours, sentence.layers[k]).map { abs($0 - $1) }.max() ?? 0)
            }
            var cache = ScalarMix.Cache()
            let mixed = mix.forward((0..<expected.layer_count).map { output.rows($0..<($0 + 1), shape: [n, d]) }, cache: &cache)
            worst[expected.layer_count] = max(worst.last!, zip(mixed.scalars, sentence.elmo_average).map { abs($0 - $1) }.max() ?? 0)
        }
        for (k, difference) in worst.enumerated() {
            let name = k < expected.layer_count ? "layer \(k)" : "Elmo average"
            XCTAssertLessThanOrEqual(difference, tolerance, "\(name): max |ELMoKit − AllenNLP|", file: file, line: line)
        }
        print("max |ELMoKit − AllenNLP| per layer (last: Elmo average): \(worst)")
        return worst
    }

    /// bilm-tf weights (random, both clips active) imported by us give AllenNLP's `_ElmoBiLm` activations on
    /// punctuation, a 60-byte token, 48/49-byte tokens, Korean and emoji cut inside a character, literal `<S>`/`</S>`,
    /// Unicode whitespace and a one-token sentence.
    func testImportedBilmTfWeightsMatchAllenNLPOnEveryLayer() throws {
        let model = try importFixture()
        XCTAssertNil(model.softmax)
        try assertMatchesAllenNLP(model, try AllenNLPOutput((bilmTf as NSString).appendingPathComponent("allennlp.json")))
    }

    /// An ELMoKit-trained model (our highway convention, softmax, clips active): exporting it again gives exactly the
    /// files AllenNLP read for the fixture, and AllenNLP's vectors from those files are ours.
    func testExportedNativeModelIsWhatAllenNLPLoadedAndGivesOurVectors() throws {
        let contents = try BiLMCheckpoint.load((native as NSString).appendingPathComponent("model.npz"))
        XCTAssertNotNil(contents.model.softmax)
        let folder = try temporaryFolder()
        try BilmTfWeights.export(model: contents.model, vocabulary: contents.vocabulary, to: folder)
        let committed = (native as NSString).appendingPathComponent("export")
        try assertSameWeightFiles(folder, committed)
        XCTAssertEqual(try String(contentsOfFile: (folder as NSString).appendingPathComponent("options.json"), encoding: .utf8),
                       try String(contentsOfFile: (committed as NSString).appendingPathComponent("options.json"), encoding: .utf8))
        XCTAssertEqual(try String(contentsOfFile: (folder as NSString).appendingPathComponent("vocab.txt"), encoding: .utf8),
                       contents.vocabulary.words.joined(separator: "\n") + "\n")
        try assertMatchesAllenNLP(contents.model, try AllenNLPOutput((native as NSString).appendingPathComponent("allennlp.json")))

        // And back: importing the export restores every parameter exactly (the softmax is not in the file).
        let reimported = try BilmTfWeights.importModel(options: try BilmTfWeights.readOptions(path: (folder as NSString).appendingPathComponent("options.json")),
                                                       weightsPath: (folder as NSString).appendingPathComponent("weights.hdf5"),
                                                       vocabularySize: contents.vocabulary.count)
        let original = Dictionary(uniqueKeysWithValues: contents.model.parameters.map { ($0.name, $0.value) })
        XCTAssertEqual(reimported.parameters.count, contents.model.parameters.count - (contents.model.softmax?.parameters.count ?? 0))
        for p in reimported.parameters { XCTAssertEqual(p.value, original[p.name], p.name) }
    }

    /// bilm-tf file → ELMoKit → bilm-tf file is lossless (the highway sign flip and the char-embedding row shift undone).
    func testImportThenExportReproducesTheBilmTfFile() throws {
        let folder = try temporaryFolder()
        try BilmTfWeights.export(model: try importFixture(), vocabulary: nil, to: folder)
        try assertSameWeightFiles(folder, bilmTf)
        XCTAssertFalse(FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("vocab.txt")))
        let options = try jsonObject((folder as NSString).appendingPathComponent("options.json"))
        let lstm = try XCTUnwrap(options["lstm"] as? [String: Any])
        XCTAssertEqual(lstm["use_skip_connections"] as? Bool, true)
        XCTAssertEqual(lstm["cell_clip"] as? Double, 3)
        XCTAssertEqual((options["char_cnn"] as? [String: Any])?["n_characters"] as? Int, 262)
    }

    /// The carry gate really is flipped: the file's `b_carry` is minus our gate bias (a test that fails if both
    /// directions forgot the flip, which the round trip alone would not notice).
    func testHighwayCarryGateChangesSignAndCharEmbeddingShiftsByOneRow() throws {
        let model = try importFixture()
        let reader = try HDF5Reader(path: (bilmTf as NSString).appendingPathComponent("weights.hdf5"))
        let f = model.encoder.charCNN.outputSize
        let bCarry = try reader.floats("CNN_high_1/b_carry"), bTransform = try reader.floats("CNN_high_1/b_transform")
        let bias = try XCTUnwrap(model.encoder.highway.layers[1].bias).value.scalars
        XCTAssertEqual(Array(bias[f...]), bCarry.map { -$0 })
        XCTAssertEqual(Array(bias[..<f]), bTransform)
        let embed = try reader.floats("char_embed"), d = model.encoder.charCNN.config.embeddingDimension
        let ours = model.encoder.charCNN.characterEmbedding.weight.value.scalars
        XCTAssertEqual(Array(ours[..<d]), [Float](repeating: 0, count: d), "row 0 is the mask")
        XCTAssertEqual(Array(ours[d..<(2 * d)]), Array(embed[..<d]), "id 1 uses file row 0")
        XCTAssertEqual(ours.count, embed.count + d)
    }

    // MARK: - Refusals

    func testMissingOptionKeyIsRefusedNamingIt() throws {
        let folder = try temporaryFolder()
        let path = try writeOptions(folder) { lstm, _ in lstm["dim"] = nil }
        XCTAssertThrowsError(try BilmTfWeights.readOptions(path: path)) { error in
            XCTAssertTrue("\(error)".contains("lstm.dim"), "\(error)")
            XCTAssertTrue("\(error)".contains("missing"), "\(error)")
        }
    }

    func testShapeMismatchIsRefusedNamingDatasetAndBothShapes() throws {
        let folder = try temporaryFolder()
        let path = try writeOptions(folder) { _, cnn in cnn["filters"] = [[1, 4], [2, 8], [3, 9]] }
        let options = try BilmTfWeights.readOptions(path: path)
        XCTAssertThrowsError(try BilmTfWeights.importModel(options: options, weightsPath: (bilmTf as NSString).appendingPathComponent("weights.hdf5"),
                                                           vocabularySize: 3)) { error in
            XCTAssertEqual(error as? EmbedError,
                           .weightFileMismatch(path: (self.bilmTf as NSString).appendingPathComponent("weights.hdf5"), dataset: "CNN/W_cnn_2",
                                          expected: [1, 3, 4, 9], found: [1, 3, 4, 8], keys: "char_cnn.filters[2], char_cnn.embedding.dim"))
            for part in ["CNN/W_cnn_2", "[1, 3, 4, 9]", "[1, 3, 4, 8]", "char_cnn.filters[2]"] {
                XCTAssertTrue("\(error)".contains(part), "\(error) lacks \(part)")
            }
        }
    }

    func testMissingDatasetIsRefusedNamingIt() throws {
        let folder = try temporaryFolder()
        let path = try writeOptions(folder) { _, cnn in cnn["n_highway"] = 3 }
        let options = try BilmTfWeights.readOptions(path: path)
        XCTAssertThrowsError(try BilmTfWeights.importModel(options: options, weightsPath: (bilmTf as NSString).appendingPathComponent("weights.hdf5"),
                                                           vocabularySize: 3)) { error in
            guard case .weightFileMismatch(_, let dataset, let expected, nil, _)? = error as? EmbedError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(dataset, "CNN_high_2/W_transform")
            XCTAssertEqual(expected, [20, 20])
        }
    }

    /// bilm-tf writes no `CNN_proj` when the filters add up to the projection size; the projection is then the identity.
    func testAbsentProjectionWithEqualSizesIsTheIdentity() throws {
        let folder = try temporaryFolder()
        let optionsPath = try writeOptions(folder) { lstm, _ in lstm["projection_dim"] = 20 }
        let options = try BilmTfWeights.readOptions(path: optionsPath)
        let full = BiLanguageModel(options: options, vocabularySize: 3, seed: 4, withSoftmax: false)
        try BilmTfWeights.export(model: full, vocabulary: nil, to: folder, overwrite: true)
        let weights = (folder as NSString).appendingPathComponent("weights.hdf5")
        let trimmed = (folder as NSString).appendingPathComponent("trimmed.hdf5")
        let reader = try HDF5Reader(path: weights)
        let writer = try HDF5Writer(path: trimmed)
        for name in reader.datasetNames where !name.hasPrefix("CNN_proj/") {
            try writer.writeDataset(name, shape: try reader.shape(name), values: try reader.floats(name))
        }
        try writer.close()
        let model = try BilmTfWeights.importModel(options: options, weightsPath: trimmed, vocabularySize: 3)
        XCTAssertEqual(model.encoder.projection.weight.value.scalars, (0..<400).map { $0 / 20 == $0 % 20 ? 1 : 0 })
        XCTAssertEqual(model.encoder.projection.bias?.value.scalars, [Float](repeating: 0, count: 20))
    }

    func testExportRefusesToReplaceFilesUnlessAsked() throws {
        let folder = try temporaryFolder()
        let model = try importFixture()
        try BilmTfWeights.export(model: model, vocabulary: nil, to: folder)
        XCTAssertThrowsError(try BilmTfWeights.export(model: model, vocabulary: nil, to: folder)) { error in
            XCTAssertEqual(error as? EmbedError, .outputExists((folder as NSString).appendingPathComponent("options.json")))
        }
        XCTAssertNoThrow(try BilmTfWeights.export(model: model, vocabulary: nil, to: folder, overwrite: true))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["options.json", "weights.hdf5"],
                       "no temporary files left")
    }

    func testAllenNLPLimitationsAreNamed() throws {
        XCTAssertEqual(BilmTfWeights.allenNLPLimitations(try importFixture().options), [])
        var options = try tinyModel().0.options
        options.lstm.useSkipConnections = false
        let reasons = BilmTfWeights.allenNLPLimitations(options)
        XCTAssertEqual(reasons.count, 2, "\(reasons)")
        XCTAssertTrue(reasons[0].contains("use_skip_connections") && reasons[1].contains("max_characters_per_token is 10"), "\(reasons)")
    }

    // MARK: - Helpers

    private func temporaryFolder() throws -> String {
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("elmo-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }

    /// The fixture's options.json with `edit(lstm, char_cnn)` applied, written to `folder`.
    private func writeOptions(_ folder: String, _ edit: (inout [String: Any], inout [String: Any]) -> Void) throws -> String {
        var object = try jsonObject((bilmTf as NSString).appendingPathComponent("options.json"))
        var lstm = object["lstm"] as! [String: Any], cnn = object["char_cnn"] as! [String: Any]
        edit(&lstm, &cnn)
        object["lstm"] = lstm
        object["char_cnn"] = cnn
        let path = (folder as NSString).appendingPathComponent("options.json")
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func jsonObject(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any], path)
    }

    /// Same dataset names, shapes and values (bit for bit) in `folder/weights.hdf5` and `reference/weights.hdf5`.
    private func assertSameWeightFiles(_ folder: String, _ reference: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ours = try HDF5Reader(path: (folder as NSString).appendingPathComponent("weights.hdf5"))
        let theirs = try HDF5Reader(path: (reference as NSString).appendingPathComponent("weights.hdf5"))
        XCTAssertEqual(ours.datasetNames, theirs.datasetNames, file: file, line: line)
        for name in theirs.datasetNames {
            XCTAssertEqual(try ours.shape(name), try theirs.shape(name), name, file: file, line: line)
            XCTAssertEqual(try ours.floats(name), try theirs.floats(name), name, file: file, line: line)
        }
    }
}
