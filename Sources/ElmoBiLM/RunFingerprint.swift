import ElmoOptim
import ElmoStorage
import ElmoText
import Foundation

/// What the ranks of `mpirun … elmo pretrain` must agree on before training, as items a rank compares with rank 0's:
/// every effective option, the vocabulary source, each training and validation file (size and CRC-32 of its bytes,
/// so a copy that differs on one host is found, not only a different name), the seed and schedule, and where the
/// run starts from (`--resume`, `--init-from` with the source's CRC-32). The threads per rank may differ.
enum RunFingerprint {
    static func items(settings: PretrainSettings, corpus: Corpus) throws -> [AgreementItem] {
        var items: [AgreementItem] = []
        if let version = settings.programVersion { items.append(.init("elmo program", version)) }
        let options = ResumeCheck.flattened(settings.options)
        items += options.keys.sorted().map { AgreementItem("config key \($0)", options[$0]!) }
        items.append(.init("vocabulary", try settings.vocabularyFile.map { "file \($0), \(try describe(file: $0))" }
            ?? "built from the training text, at most \(settings.maxVocabularySize.map(String.init) ?? "all") words"))
        items.append(.init("list of training files", corpus.files.joined(separator: " ")))
        for file in corpus.files { items.append(.init("training file \(file)", try describe(file: file))) }
        items.append(.init("validation file", try settings.validFile.map { "\($0), \(try describe(file: $0))" } ?? "none"))
        items.append(.init("--seed", "\(settings.seed)"))
        items.append(.init("--epochs", settings.epochs.map(String.init) ?? "none"))
        items.append(.init("--max-tokens", settings.maxTokens.map(String.init) ?? "none"))
        items.append(.init("--checkpoint-every", "\(settings.checkpointEvery)"))
        items.append(.init("--validate-every", "\(settings.validateEvery)"))
        items.append(.init("--log-every", "\(settings.logEvery)"))
        items.append(.init("--shuffle-shards", "\(settings.shuffleShards)"))
        items.append(.init("--resume", "\(settings.resume)"))
        items.append(.init("--init-from", try settings.initFrom.map { source in
            "\(source), \(try describe(file: try BiLMCheckpoint.resolve(source)))"
        } ?? "none"))
        items.append(.init("--vocab-mode", settings.vocabularyMode.map { "\($0)" } ?? "default"))
        items.append(.init("--new-word-init", "\(settings.newRowInitialisation)"))
        return items
    }

    /// "size 1240, CRC-32 9a0c41d2" of a file's bytes (StorageError.fileNotFound when it cannot be read).
    static func describe(file path: String) throws -> String {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        let crc = try FileChecksum.crc32(path: path)
        return "size \(size.map(String.init) ?? "?"), CRC-32 \(String(format: "%08x", crc))"
    }
}
