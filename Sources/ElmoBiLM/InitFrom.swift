import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation

/// `pretrain --init-from CHECKPOINT`: a new run (step 0, fresh optimizer and schedule) that starts from the weights
/// of another biLM. The config may change training keys (learning rate, dropout, optimizer, batch, unroll, negatives,
/// clipping) but not the architecture; the vocabulary follows `--vocab-mode` (`VocabularyAdaptation`). The source is
/// only read; its path and CRC-32 go into the new run's `trainer.json`.
public struct InitFrom {
    /// The source checkpoint file (absolute) and the CRC-32 of the whole file when the run started.
    public let path: String
    public let crc32: UInt32
    public let model: BiLanguageModel
    public let vocabulary: Vocabulary
    /// Lines for the user (vocabulary mode, a fresh softmax for an imported model).
    public let notes: [String]

    /// The architecture keys, which must be equal in the source and the config, with printable values.
    static func architecture(_ o: BiLMOptions) -> [(key: String, value: String)] {
        func text<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "absent" }
        let c = o.charCNN, l = o.lstm
        return [("char_cnn.embedding.dim", "\(c.embedding.dimension)"), ("char_cnn.filters", "\(c.filters)"),
                ("char_cnn.n_highway", "\(c.highwayLayers)"), ("char_cnn.activation", c.activation.rawValue),
                ("char_cnn.max_characters_per_token", "\(c.maxCharactersPerToken)"),
                ("lstm.dim", "\(l.cellSize)"), ("lstm.projection_dim", "\(l.projectionSize)"), ("lstm.n_layers", "\(l.layerCount)"),
                ("lstm.cell_clip", text(l.cellClip)), ("lstm.proj_clip", text(l.projectionClip)),
                ("lstm.use_skip_connections", text(l.useSkipConnections ?? false))]
    }

    /// Throws `BiLMError.architectureChanged` for the first architecture key whose value differs.
    public static func checkArchitecture(source: BiLMOptions, config: BiLMOptions, sourcePath: String) throws {
        for (s, c) in zip(architecture(source), architecture(config)) where s.value != c.value {
            throw BiLMError.architectureChanged(key: s.key, source: s.value, config: c.value, checkpoint: sourcePath)
        }
    }

    /// Loads `source` (a checkpoint file or run folder) and builds the model of the new run: every encoder and LSTM
    /// weight copied, the softmax adapted to the vocabulary of `mode` over `trainFiles`.
    public init(source: String, options: BiLMOptions, trainFiles: [String], mode: VocabularyMode?, maxVocabularySize: Int?,
                vocabularyFile: String?, newRows: NewRowInitialisation, seed: UInt64) throws {
        let contents = try BiLMCheckpoint.load(source)
        path = URL(fileURLWithPath: contents.path).standardizedFileURL.path
        crc32 = try FileChecksum.crc32(path: contents.path)
        let old = contents.model
        try Self.checkArchitecture(source: old.options, config: options, sourcePath: contents.path)
        let plan = try VocabularyAdaptation.plan(old: contents.vocabulary, textFiles: trainFiles, mode: mode,
                                                 maxSize: maxVocabularySize, vocabularyFile: vocabularyFile)
        let model = BiLanguageModel(options: options, vocabularySize: plan.vocabulary.count, seed: seed)
        for (target, value) in zip(model.parameters, old.parameters) where !target.name.hasPrefix("softmax") {
            precondition(target.name == value.name && target.shape == value.shape,
                         "InitFrom: parameter \(target.name) \(target.shape) does not match \(value.name) \(value.shape).")
            target.value = value.value
        }
        let rows = plan.softmaxRows(oldWeight: old.softmax?.weight.value, oldBias: old.softmax?.bias.value,
                                    oldVocabulary: contents.vocabulary, encoder: model.encoder,
                                    maxCharacters: model.maxCharacters, initialisation: newRows)
        model.softmax!.weight.value = rows.weight
        model.softmax!.bias.value = rows.bias
        var notes = ["init-from: \(path) (CRC-32 \(String(format: "%08x", crc32)), step \(contents.trainer.step)); a new run from step 0 with a fresh optimizer",
                     plan.summary(oldCount: contents.vocabulary.count)]
        if old.softmax == nil {
            notes.append("init-from: the source has no softmax (imported weights); a fresh softmax of \(plan.vocabulary.count) rows was built from the char-CNN encodings of its words (pass --softmax-weights to import-weights to keep the original one)")
        } else if plan.newRowCount > 0 {
            notes.append("init-from: \(plan.newRowCount) new softmax rows start from \(newRows == .mean ? "the mean of the old rows" : "the char-CNN encodings of their words")")
        }
        self.model = model
        self.vocabulary = plan.vocabulary
        self.notes = notes
    }
}
