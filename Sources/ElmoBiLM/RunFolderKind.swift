import ElmoStorage
import Foundation

extension RunFolder {
    /// Files a pre-training run writes before its first checkpoint (a run killed that early is started afresh).
    static let pretrainFiles: Set<String> = ["options.json", "vocab.txt", "metrics.jsonl", "learning-curve.svg", incompleteMarker]

    /// Refuses to start a pre-training run in a folder that holds anything else (a task model's best.npz, data, …):
    /// starting a run there would replace files that are not ours. Hidden files (locks, temporary files) are ignored.
    package func requirePretrainFolder() throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }
        let foreign = names.filter { !Self.pretrainFiles.contains($0) }.sorted()
        if !foreign.isEmpty { throw BiLMError.foreignFolder(folder: path, files: foreign) }
    }
}
