import ElmoKit
import Foundation
import XCTest

/// `import ElmoKit` alone is enough for what a library user does: build or load a biLM, embed sentences, mix layers,
/// read task data and load task models. (This file imports nothing else of the project's.)
final class UmbrellaModuleTests: XCTestCase {
    func testCheckpointRoundTripEmbeddingAndMixThroughTheUmbrellaModule() throws {
        let json = """
        {"char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 4]], "n_highway": 1, "activation": "relu",
                      "max_characters_per_token": 10},
         "lstm": {"dim": 12, "projection_dim": 5, "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
         "dropout": 0, "batch_size": 2, "unroll_steps": 4}
        """
        let options = try BiLMOptions.decode(Data(json.utf8), source: "test")
        let vocabulary = try Vocabulary(words: ["<S>", "</S>", "<UNK>", "the", "cat", "sat"])
        let model = BiLanguageModel(options: options, vocabularySize: vocabulary.count, seed: 7)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("elmokit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = (folder as NSString).appendingPathComponent("best.npz")
        try BiLMCheckpoint.save(model: model, vocabulary: vocabulary, trainer: TrainerState(), optimizer: nil, states: nil, to: path)

        let sentences = [["the", "cat", "sat"], ["고양이", "가"]]
        let direct = ContextualEmbedder(model: model, vocabulary: vocabulary).embed(sentences)
        let loaded = try ContextualEmbedder(checkpoint: folder)
        let reloaded = loaded.embed(sentences)
        XCTAssertEqual(reloaded.map(\.shape), [[3, 3, 10], [3, 2, 10]])
        XCTAssertEqual(reloaded, direct, "a saved and reloaded biLM embeds exactly as the model it was saved from")

        let mix = ScalarMix(mixtureSize: loaded.layerCount, initialScalarParameters: [0, 0, 0], trainable: false)
        let mixed = loaded.embed(sentences, mix: mix)
        XCTAssertEqual(mixed.map(\.shape), [[3, 10], [2, 10]])
        XCTAssertThrowsError(try NpzReader(path: folder + "/missing.npz")) { error in
            XCTAssertEqual(error as? StorageError, .fileNotFound(folder + "/missing.npz"))
            XCTAssertTrue(error.localizedDescription.contains("missing.npz"), "errors are LocalizedError: \(error.localizedDescription)")
        }
    }
}
