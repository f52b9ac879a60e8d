import ElmoLayers
import ElmoOptim
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation

/// Reads and writes biLM checkpoints: one `.npz`-compatible ZIP holding every parameter as `<name>.npy`,
/// optimizer slots as `optimizer/<slot>/<param>.npy`, the carried LSTM states as `state/<dir>/layer_<k>/{h,c}.npy`,
/// plus `config.json` (bilm-tf options), `vocab.txt` and `trainer.json` (`TrainerState`).
public enum BiLMCheckpoint {
    public static let kind = "bilm"

    /// What a checkpoint holds once loaded.
    public struct Contents {
        /// The checkpoint file (a run folder resolved to its file).
        public var path: String
        public var model: BiLanguageModel
        public var vocabulary: Vocabulary
        public var trainer: TrainerState
        public var optimizerTensors: [String: Tensor]
        public var states: BiLanguageModel.States?

        /// Refuses a model without a softmax (imported from a bilm-tf / AllenNLP weight file) for `use`, e.g.
        /// "perplexity", with `BiLMError.noSoftmax`.
        public func requireSoftmax(for use: String) throws {
            if model.softmax == nil { throw BiLMError.noSoftmax(path: path, use: use, importedFrom: trainer.importedFrom) }
        }
    }

    /// A checkpoint file, a run folder (meaning its `best.npz`, else the checkpoint named by `latest`), or a run
    /// folder's `latest` pointer.
    public static func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StorageError.fileNotFound(path)
        }
        guard isDirectory.boolValue else {
            // A run folder's `latest` pointer names the checkpoint beside it.
            if (path as NSString).lastPathComponent == "latest" {
                return try latestCheckpoint(inRunFolder: (path as NSString).deletingLastPathComponent)
            }
            return path
        }
        let best = (path as NSString).appendingPathComponent("best.npz")
        if FileManager.default.fileExists(atPath: best) { return best }
        if let latest = try? latestCheckpoint(inRunFolder: path) { return latest }
        throw StorageError.fileNotFound("\(path)/best.npz (and no usable `latest` pointer)")
    }

    /// The checkpoint named by a run folder's `latest` file.
    public static func latestCheckpoint(inRunFolder folder: String) throws -> String {
        let pointer = (folder as NSString).appendingPathComponent("latest")
        guard let name = try? String(contentsOfFile: pointer, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty else {
            throw StorageError.fileNotFound(pointer)
        }
        let file = (folder as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: file) else { throw StorageError.fileNotFound(file) }
        return file
    }

    public static func save(model: BiLanguageModel, vocabulary: Vocabulary, trainer: TrainerState,
                            optimizer: Optimizer?, states: BiLanguageModel.States?, to path: String) throws {
        let writer = try NpzWriter(path: path)
        var trainer = trainer
        trainer.hasSoftmax = model.softmax != nil
        for p in model.parameters { try writer.add(p.name, tensor: p.value) }
        if let optimizer {
            let slots = optimizer.stateTensors()
            trainer.optimizerSlots = slots.keys.sorted()
            trainer.optimizerScalars = optimizer.scalarState
            trainer.optimizer = optimizer.name
            trainer.learningRate = optimizer.learningRate
            for key in trainer.optimizerSlots { try writer.add("optimizer/\(key)", tensor: slots[key]!) }
        }
        if let states {
            for (direction, list) in [("forward", states.forward), ("backward", states.backward)] {
                for (k, s) in list.enumerated() {
                    try writer.add("state/\(direction)/layer_\(k)/h", tensor: s.h)
                    try writer.add("state/\(direction)/layer_\(k)/c", tensor: s.c)
                }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writer.add("config.json", bytes: Array(try encoder.encode(model.options)))
        try writer.add("trainer.json", bytes: Array(try encoder.encode(trainer)))
        try writer.add("vocab.txt", bytes: Array((vocabulary.words.joined(separator: "\n") + "\n").utf8))
        try writer.finish()
    }

    /// Loads a checkpoint (file or run folder), refusing other formats and versions with both named.
    public static func load(_ path: String) throws -> Contents {
        let file = try resolve(path)
        let reader = try NpzReader(path: file)
        let trainer = try readTrainerState(reader, path: file)
        let options = try BiLMOptions.decode(Data(try reader.bytes("config.json")), source: "\(file):config.json")
        let vocabText = String(decoding: try reader.bytes("vocab.txt"), as: UTF8.self)
        let vocabulary = try Vocabulary(words: vocabText.split(separator: "\n", omittingEmptySubsequences: true).map(String.init))
        let model = BiLanguageModel(options: options, vocabularySize: vocabulary.count, seed: trainer.seed,
                                    withSoftmax: trainer.hasSoftmax ?? true)
        for p in model.parameters {
            let t = try reader.tensor(p.name)
            guard t.shape == p.shape else { throw StorageError.shapeMismatch(name: p.name, expected: p.shape, found: t.shape) }
            p.value = t
        }
        var optimizerTensors: [String: Tensor] = [:]
        for key in trainer.optimizerSlots { optimizerTensors[key] = try reader.tensor("optimizer/\(key)") }
        var states: BiLanguageModel.States?
        if reader.contains("state/forward/layer_0/h.npy") {
            func read(_ direction: String) throws -> [LSTMWithProjection.State] {
                try (0..<model.layerCount).map { k in
                    LSTMWithProjection.State(h: try reader.tensor("state/\(direction)/layer_\(k)/h"),
                                             c: try reader.tensor("state/\(direction)/layer_\(k)/c"))
                }
            }
            states = BiLanguageModel.States(forward: try read("forward"), backward: try read("backward"))
        }
        return Contents(path: file, model: model, vocabulary: vocabulary, trainer: trainer, optimizerTensors: optimizerTensors, states: states)
    }

    /// `trainer.json`, checked for our format name and a version we can read.
    public static func readTrainerState(_ reader: NpzReader, path: String) throws -> TrainerState {
        guard reader.contains("trainer.json") else {
            if reader.contains("task.json") {
                throw StorageError.wrongKind(
                    path: path,
                    expected: "biLM checkpoint (from `elmo pretrain` or `elmo import-weights`; pass the biLM the task model was fine-tuned from)",
                    found: "fine-tuned task model (a classifier or tagger from `elmo finetune`, with no language-model softmax; "
                        + "use it with `elmo predict --model` or `elmo evaluate --model`; `elmo inspect` shows it)")
            }
            throw StorageError.wrongKind(path: path, expected: "biLM checkpoint (with trainer.json)", found: "archive without trainer.json")
        }
        let trainer: TrainerState
        do {
            trainer = try JSONDecoder().decode(TrainerState.self, from: Data(try reader.bytes("trainer.json")))
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.corruptMember(path: path, member: "trainer.json", reason: "\(error)")
        }
        guard trainer.format == TrainerState.currentFormat else {
            throw StorageError.wrongKind(path: path, expected: TrainerState.currentFormat, found: trainer.format)
        }
        guard trainer.version <= TrainerState.currentVersion else {
            throw StorageError.unsupportedVersion(found: trainer.version, supported: TrainerState.currentVersion)
        }
        return trainer
    }
}
