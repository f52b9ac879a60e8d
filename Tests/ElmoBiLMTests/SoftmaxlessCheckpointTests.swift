import ElmoBiLM
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation
import XCTest

/// Checkpoints of models imported from bilm-tf / AllenNLP weight files, which carry no softmax (issue 8): they save
/// and load without softmax members, refuse scoring, generation and `--resume` by name, and version-1 checkpoints
/// (written before `hasSoftmax` existed) still load with their softmax.
final class SoftmaxlessCheckpointTests: XCTestCase {
    private func importedCheckpoint(in folder: String, name: String = "imported.npz") throws -> String {
        let model = BiLanguageModel(options: try tinyPretrainOptions(), vocabularySize: 3, seed: 2, withSoftmax: false)
        var trainer = TrainerState()
        trainer.importedFrom = "/models/weights.hdf5"
        let path = (folder as NSString).appendingPathComponent(name)
        try BiLMCheckpoint.save(model: model, vocabulary: try Vocabulary(words: ["<S>", "</S>", "<UNK>"]), trainer: trainer,
                                optimizer: nil, states: nil, to: path)
        return path
    }

    func testSavesAndLoadsWithoutSoftmaxMembers() throws {
        let folder = try makeTemporaryFolder(self, "softmaxless")
        let path = try importedCheckpoint(in: folder)
        let reader = try NpzReader(path: path)
        XCTAssertFalse(reader.memberNames.contains { $0.hasPrefix("softmax") }, "\(reader.memberNames)")
        let contents = try BiLMCheckpoint.load(path)
        XCTAssertNil(contents.model.softmax)
        XCTAssertNil(contents.model.sampledSoftmax)
        XCTAssertEqual(contents.trainer.hasSoftmax, false)
        XCTAssertEqual(contents.trainer.version, 2)
        XCTAssertEqual(contents.trainer.importedFrom, "/models/weights.hdf5")
        XCTAssertFalse(contents.model.parameters.contains { $0.name.hasPrefix("softmax") })
        let reference = BiLanguageModel(options: try tinyPretrainOptions(), vocabularySize: 3, seed: 2, withSoftmax: false)
        assertBitwiseEqualParameters(contents.model, reference, "loaded vs saved")
        // It still embeds.
        let chars = ["<S>", "the", "cat", "</S>"].flatMap { CharacterIds.ids(for: $0, maxCharacters: contents.model.maxCharacters) }
        XCTAssertEqual(contents.model.layerOutputs(characters: chars, batchSize: 1, steps: 4, lengths: [4]).count, 3)
    }

    func testUsesThatNeedASoftmaxAreRefusedByName() throws {
        let folder = try makeTemporaryFolder(self, "softmaxless")
        let contents = try BiLMCheckpoint.load(try importedCheckpoint(in: folder))
        XCTAssertThrowsError(try contents.requireSoftmax(for: "perplexity")) { error in
            XCTAssertEqual(error as? BiLMError,
                           .noSoftmax(path: contents.path, use: "perplexity", importedFrom: "/models/weights.hdf5"))
            for part in ["has no softmax", "perplexity", "/models/weights.hdf5", "elmo embed", "elmo finetune"] {
                XCTAssertTrue("\(error)".contains(part), "\(error) lacks \(part)")
            }
        }
        let trained = BiLanguageModel(options: try tinyPretrainOptions(), vocabularySize: 3, seed: 2)
        let path = (folder as NSString).appendingPathComponent("trained.npz")
        try BiLMCheckpoint.save(model: trained, vocabulary: try Vocabulary(words: ["<S>", "</S>", "<UNK>"]), trainer: TrainerState(),
                                optimizer: nil, states: nil, to: path)
        XCTAssertNoThrow(try BiLMCheckpoint.load(path).requireSoftmax(for: "perplexity"))
    }

    func testResumeRefusesAnImportedModel() throws {
        let folder = try makeTemporaryFolder(self, "softmaxless")
        let run = (folder as NSString).appendingPathComponent("run")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        _ = try importedCheckpoint(in: run, name: "checkpoint-0.npz")
        try writeTextFile(run, "latest", "checkpoint-0.npz\n")
        let train = try writeTextFile(folder, "train.txt", tinyShardA)
        var settings = tinySettings(try tinyPretrainOptions(), train: [train], output: run, steps: 1)
        settings.resume = true
        XCTAssertThrowsError(try Pretrainer(settings: settings)) { error in
            guard case .noSoftmax(_, let use, _)? = error as? BiLMError else { return XCTFail("\(error)") }
            XCTAssertTrue(use.contains("--resume"), use)
        }
    }

    /// A checkpoint written before `trainer.json` version 2 (no `hasSoftmax` key) loads with its softmax.
    func testVersionOneCheckpointStillLoadsWithSoftmax() throws {
        let folder = try makeTemporaryFolder(self, "softmaxless")
        let model = BiLanguageModel(options: try tinyPretrainOptions(), vocabularySize: 4, seed: 3)
        let path = (folder as NSString).appendingPathComponent("v1.npz")
        let writer = try NpzWriter(path: path)
        for p in model.parameters { try writer.add(p.name, tensor: p.value) }
        var trainer = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainerState())) as! [String: Any]
        trainer["version"] = 1
        trainer["hasSoftmax"] = nil
        try writer.add("config.json", bytes: Array(try JSONEncoder().encode(model.options)))
        try writer.add("trainer.json", bytes: Array(try JSONSerialization.data(withJSONObject: trainer)))
        try writer.add("vocab.txt", bytes: Array("<S>\n</S>\n<UNK>\nthe\n".utf8))
        try writer.finish()
        XCTAssertFalse(String(decoding: try NpzReader(path: path).bytes("trainer.json"), as: UTF8.self).contains("hasSoftmax"))
        let contents = try BiLMCheckpoint.load(path)
        XCTAssertEqual(contents.trainer.version, 1)
        XCTAssertNil(contents.trainer.hasSoftmax)
        XCTAssertNotNil(contents.model.softmax)
        assertBitwiseEqualParameters(contents.model, model, "version 1 checkpoint")
    }
}
