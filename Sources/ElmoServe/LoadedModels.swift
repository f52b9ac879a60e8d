import ElmoBiLM
import ElmoEmbeddings
import ElmoStorage
import ElmoTasks
import Foundation

/// Everything `elmo serve` computes with, loaded once at start (off the HTTP threads, so `/health` answers
/// "loading" meanwhile): the embedder, the scorer when the checkpoint has a softmax, and the task models.
final class LoadedModels: @unchecked Sendable {
    /// A task model for `/v1/predict`.
    enum TaskModel {
        case classifier(ClassifierModel)
        case tagger(TaggerModel)
    }

    let embedder: ContextualEmbedder
    let scorer: SentenceScorer?
    /// Names a response carries: the checkpoint's last two path components and its CRC-32 (`run/best.npz@1a2b3c4d`).
    let modelID: String
    /// By the name a request gives: the path as on the command line, and its last path component.
    let taskModels: [(names: [String], model: TaskModel)]

    init(settings: ServeSettings) throws {
        let contents = try BiLMCheckpoint.load(settings.checkpoint)
        embedder = ContextualEmbedder(model: contents.model, vocabulary: contents.vocabulary)
        scorer = contents.model.softmax == nil ? nil : SentenceScorer(model: contents.model, vocabulary: contents.vocabulary)
        let components = (contents.path as NSString).pathComponents.suffix(2)
        modelID = components.joined(separator: "/") + "@" + String(format: "%08x", try FileChecksum.crc32(path: contents.path))
        taskModels = try settings.taskModels.map { path in
            let kind = try TaskCheckpoint.kind(of: path)
            let model: TaskModel
            switch kind {
            case ClassifierModel.kind: model = .classifier(try ClassifierModel.load(path))
            case TaggerModel.kind: model = .tagger(try TaggerModel.load(path))
            default: throw TaskError.wrongTaskKind(path: path, expected: "classifier or tagger", found: kind)
            }
            let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
            return ([trimmed, (trimmed as NSString).lastPathComponent], model)
        }
    }

    func taskModel(named name: String?) throws -> (name: String, model: TaskModel) {
        guard !taskModels.isEmpty else {
            throw APIError(status: .notFound, message: "no task model is loaded; start the server with --model TASK_MODEL")
        }
        guard let name else {
            guard taskModels.count == 1 else {
                throw APIError.badField("model", "\(taskModels.count) task models are loaded; name one in \"model\": \(taskModels.map { $0.names[1] })")
            }
            return (taskModels[0].names[1], taskModels[0].model)
        }
        guard let found = taskModels.first(where: { $0.names.contains(name) }) else {
            throw APIError.badField("model", "no task model \"\(name)\" is loaded; loaded: \(taskModels.map { $0.names[1] })")
        }
        return (found.names[1], found.model)
    }
}
