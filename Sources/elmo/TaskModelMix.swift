import ElmoEmbeddings
import ElmoTasks

/// `--mix-from MODEL`: the ScalarMix a classifier or tagger learned over its biLM's layers, to mix another run's
/// (normally the same checkpoint's) layers with the weights the task found useful.
enum TaskModelMix {
    static func load(_ path: String, layerCount: Int) throws -> ScalarMix {
        let kind = try TaskCheckpoint.kind(of: path)
        let mix: ScalarMix
        switch kind {
        case ClassifierModel.kind: mix = try ClassifierModel.load(path).classifier.mix
        case TaggerModel.kind: mix = try TaggerModel.load(path).tagger.mix
        default: throw TaskError.wrongTaskKind(path: path, expected: "classifier or tagger", found: kind)
        }
        guard mix.mixtureSize == layerCount else {
            throw CommandError("--mix-from \(path): its ScalarMix mixes \(mix.mixtureSize) layers, but --checkpoint has \(layerCount) "
                + "(a --no-pretrained model has no biLM mix); use a task model trained on this biLM.")
        }
        return mix
    }
}
