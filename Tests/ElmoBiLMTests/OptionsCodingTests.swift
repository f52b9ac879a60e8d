import ElmoBiLM
import Foundation
import XCTest

/// `BiLMOptions` has Swift names in code and bilm-tf's key names on disk; the file format does not change.
final class OptionsCodingTests: XCTestCase {
    /// An options.json as bilm-tf's training script writes it (its README's, with smaller sizes).
    private let bilmTf = """
    {"bidirectional": true,
     "char_cnn": {"activation": "relu", "embedding": {"dim": 16},
                  "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]],
                  "max_characters_per_token": 50, "n_characters": 261, "n_highway": 2},
     "dropout": 0.1,
     "lstm": {"cell_clip": 3, "dim": 4096, "n_layers": 2, "proj_clip": 3, "projection_dim": 512, "use_skip_connections": true},
     "all_clip_norm_val": 10.0, "n_epochs": 10, "n_train_tokens": 768648884, "batch_size": 128, "n_tokens_vocab": 793471,
     "unroll_steps": 20, "n_negative_samples_batch": 8192}
    """

    private func object(_ data: Data) throws -> NSDictionary {
        try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }

    func testBilmTfOptionsRoundTripWithTheirKeyNames() throws {
        let options = try BiLMOptions.decode(Data(bilmTf.utf8), source: "options.json")
        XCTAssertEqual(options.charCNN.embedding.dimension, 16)
        XCTAssertEqual(options.charCNN.highwayLayers, 2)
        XCTAssertEqual(options.charCNN.characterVocabularySize, 261)
        XCTAssertEqual(options.charCNN.activation, .relu)
        XCTAssertEqual(options.lstm.cellSize, 4096)
        XCTAssertEqual(options.lstm.projectionSize, 512)
        XCTAssertEqual(options.lstm.layerCount, 2)
        XCTAssertEqual(options.lstm.projectionClip, 3)
        XCTAssertEqual(options.negativeSamples, 8192)
        XCTAssertEqual(options.vocabularySize, 793_471)
        XCTAssertNil(options.optimizer, "absent training keys stay absent")

        // Written back, it is the same JSON object minus the bilm-tf keys we read past.
        let written = try JSONEncoder().encode(options)
        let expected = try object(Data(bilmTf.utf8)).mutableCopy() as! NSMutableDictionary
        expected.removeObjects(forKeys: ["bidirectional", "n_epochs", "n_train_tokens"])
        XCTAssertEqual(try object(written), expected)
        XCTAssertEqual(try BiLMOptions.decode(written, source: "written"), options)
    }

    /// Our own training keys and enums are written with their on-disk names too, and a shipped config round-trips.
    func testTrainingKeysAndEnumsKeepTheirNames() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("Pretrain/tiny-adam.json").path
        let options = try BiLMOptions.load(path: path)
        XCTAssertEqual(options.optimizer, .adam)
        let written = try object(JSONEncoder().encode(options))
        XCTAssertEqual(written, try object(try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(written["optimizer"] as? String, "adam")
        XCTAssertNil(written["charCNN"], "Swift names never reach the file")
    }

    func testUnknownEnumValuesNameTheKeyAndTheAllowedValues() {
        var json = try! JSONSerialization.jsonObject(with: Data(bilmTf.utf8)) as! [String: Any]
        json["optimizer"] = "rmsprop"
        XCTAssertThrowsError(try BiLMOptions.decode(try JSONSerialization.data(withJSONObject: json), source: "bad.json")) { error in
            XCTAssertEqual("\(error)", "Config bad.json: key 'optimizer' is \"rmsprop\"; it must be \"adagrad\", \"adam\", \"adamw\" or \"sgd\".")
        }
        json["optimizer"] = nil
        var cnn = json["char_cnn"] as! [String: Any]
        cnn["activation"] = "gelu"
        json["char_cnn"] = cnn
        XCTAssertThrowsError(try BiLMOptions.decode(try JSONSerialization.data(withJSONObject: json), source: "bad.json")) { error in
            XCTAssertEqual("\(error)", "Config bad.json: key 'char_cnn.activation' is \"gelu\"; it must be \"relu\" or \"tanh\".")
        }
    }
}
