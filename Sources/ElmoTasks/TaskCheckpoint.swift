import ElmoBiLM
import ElmoLayers
import ElmoStorage
import ElmoTensor
import Foundation

/// The biLM checkpoint a task model was trained on: its path (absolute) and the CRC-32 of the whole file, so a
/// replaced or modified biLM is refused instead of silently giving other features.
public struct BiLMReference: Codable, Equatable {
    public var path: String
    public var crc32: UInt32

    /// References the checkpoint `path` (a file or run folder, resolved as `--checkpoint` is).
    public init(checkpoint path: String) throws {
        let file = try BiLMCheckpoint.resolve(path)
        self.path = URL(fileURLWithPath: file).standardizedFileURL.path
        self.crc32 = try FileChecksum.crc32(path: file)
    }
}

/// The common part of `task.json`: enough to tell a task model from other archives and to dispatch on its kind.
public struct TaskManifestHeader: Codable, Equatable {
    public static let currentFormat = "elmokit-task"
    public static let currentVersion = 1

    public var format: String
    public var version: Int
    /// `"classifier"` or `"tagger"`.
    public var kind: String
}

/// `task.json` of a task model: format and version, the head's kind and options (`Options`, e.g.
/// `ClassifierOptions`), its label set, how the features were made and the training settings.
public struct TaskManifest<Options: Codable>: Codable {
    public var format = TaskManifestHeader.currentFormat
    public var version = TaskManifestHeader.currentVersion
    public var kind: String
    public var mode: TaskFeatures.Mode
    public var labels: [String]
    public var options: Options
    /// The biLM's model options (to rebuild a stored biLM or the scratch token encoder).
    public var bilmOptions: BiLMOptions
    /// The pre-trained biLM (frozen: the features come from it; finetune: where the stored biLM started); nil for
    /// `no-pretrained`.
    public var bilm: BiLMReference?
    /// Whether a task encoder is concatenated to the biLM's layers (`TaskFeatures.taskEncoder`); absent (false) in
    /// models written before it existed.
    public var taskEncoder: Bool?
    public var training: TaskTrainingSettings

    public init(kind: String, features: TaskFeatures, labels: [String], options: Options, bilm: BiLMReference?,
                training: TaskTrainingSettings) {
        self.kind = kind
        self.mode = features.mode
        self.labels = labels
        self.options = options
        self.bilmOptions = features.options
        self.bilm = bilm
        self.taskEncoder = features.taskEncoder != nil
        self.training = training
    }
}

/// Reads and writes task models: one `.npz`-compatible archive (like biLM checkpoints) holding `task.json`, the
/// head's parameters under their own names (ScalarMix included), and, when the biLM was fine-tuned or not
/// pre-trained, the feature parameters under `features/<name>` (a frozen biLM is referenced, not copied).
///
/// A task model has `task.json` and no `trainer.json`, a biLM checkpoint the reverse; each loader refuses the other
/// kind with `StorageError.wrongKind` naming both.
public enum TaskCheckpoint {
    public static let manifestMember = "task.json"
    static let featurePrefix = "features/"

    /// Writes a task model (atomically: temporary file, fsync, rename).
    public static func save<Options: Codable>(manifest: TaskManifest<Options>, head: [Parameter], features: TaskFeatures,
                                              to path: String) throws {
        let writer = try NpzWriter(path: path)
        for p in head { try writer.add(p.name, tensor: p.value) }
        for p in features.storedParameters { try writer.add(featurePrefix + p.name, tensor: p.value) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writer.add(manifestMember, bytes: Array(try encoder.encode(manifest)))
        try writer.finish()
    }

    /// Opens a task model (a file, or a run folder meaning its `best.npz`) and reads its header; a biLM checkpoint
    /// or any other archive without `task.json` is refused.
    public static func open(_ path: String) throws -> (reader: NpzReader, file: String, header: TaskManifestHeader) {
        let file = try BiLMCheckpoint.resolve(path)
        let reader = try NpzReader(path: file)
        guard reader.contains(manifestMember) else {
            let found = reader.contains("trainer.json") ? "biLM pre-training checkpoint (it has trainer.json, no task.json)"
                : "archive without task.json"
            throw StorageError.wrongKind(path: file, expected: "task model written by `elmo finetune` (with task.json)", found: found)
        }
        let header: TaskManifestHeader = try decode(reader, file: file)
        guard header.format == TaskManifestHeader.currentFormat else {
            throw StorageError.wrongKind(path: file, expected: TaskManifestHeader.currentFormat, found: header.format)
        }
        guard header.version <= TaskManifestHeader.currentVersion else {
            throw StorageError.unsupportedVersion(found: header.version, supported: TaskManifestHeader.currentVersion)
        }
        return (reader, file, header)
    }

    /// The kind (`"classifier"`, `"tagger"`) of the task model at `path`.
    public static func kind(of path: String) throws -> String { try open(path).header.kind }

    /// The full manifest, after checking that the model is of `kind`.
    public static func manifest<Options: Codable>(_ reader: NpzReader, file: String, kind: String,
                                                  as: Options.Type = Options.self) throws -> TaskManifest<Options> {
        let header: TaskManifestHeader = try decode(reader, file: file)
        guard header.kind == kind else { throw TaskError.wrongTaskKind(path: file, expected: kind, found: header.kind) }
        return try decode(reader, file: file)
    }

    /// Rebuilds the features a model was trained with: the referenced biLM (CRC-checked) when frozen, the stored
    /// biLM or scratch encoder otherwise.
    public static func loadFeatures<Options: Codable>(_ manifest: TaskManifest<Options>, reader: NpzReader, file: String) throws -> TaskFeatures {
        let features: TaskFeatures
        switch manifest.mode {
        case .frozen:
            guard let reference = manifest.bilm else {
                throw TaskError.invalidManifest(path: file, reason: "has mode 'frozen' but no 'bilm' reference")
            }
            guard FileManager.default.fileExists(atPath: reference.path) else {
                throw TaskError.bilmNotFound(model: file, bilm: reference.path)
            }
            let crc = try FileChecksum.crc32(path: reference.path)
            guard crc == reference.crc32 else {
                throw TaskError.bilmChanged(model: file, bilm: reference.path, expectedCRC: reference.crc32, foundCRC: crc)
            }
            features = TaskFeatures(bilm: try BiLMCheckpoint.load(reference.path).model, mode: .frozen,
                                    taskEncoderSeed: manifest.taskEncoder == true ? 0 : nil)
        case .finetune:
            // The softmax is not part of the features, so the stored biLM is rebuilt without one.
            let bilm = BiLanguageModel(options: manifest.bilmOptions, vocabularySize: 1, seed: 0, withSoftmax: false)
            features = TaskFeatures(bilm: bilm, mode: .finetune,
                                    taskEncoderSeed: manifest.taskEncoder == true ? 0 : nil)
        case .noPretrained:
            features = TaskFeatures(scratchOptions: manifest.bilmOptions, seed: 0)
        }
        try loadParameters(features.storedParameters, from: reader, prefix: featurePrefix)
        return features
    }

    /// Sets each parameter from the member `<prefix><name>.npy`, checking shapes.
    public static func loadParameters(_ parameters: [Parameter], from reader: NpzReader, prefix: String = "") throws {
        for p in parameters {
            let t = try reader.tensor(prefix + p.name)
            guard t.shape == p.shape else { throw StorageError.shapeMismatch(name: prefix + p.name, expected: p.shape, found: t.shape) }
            p.value = t
        }
    }

    private static func decode<T: Decodable>(_ reader: NpzReader, file: String) throws -> T {
        let data = Data(try reader.bytes(manifestMember))
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            let path = (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            throw TaskError.invalidManifest(path: file, reason: "lacks the key '\(path)'")
        } catch {
            throw TaskError.invalidManifest(path: file, reason: "is not valid (\(error))")
        }
    }
}
