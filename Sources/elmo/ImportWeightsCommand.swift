import ArgumentParser
import ElmoBiLM
import ElmoEmbeddings
import ElmoText
import Foundation

struct ImportWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-weights",
        abstract: "Turn a published ELMo model (bilm-tf / AllenNLP options.json + weights.hdf5) into a checkpoint.",
        discussion: """
        The checkpoint gives the vectors AllenNLP's Elmo gives for these files. Weight files carry no softmax, so the \
        model works with `embed`, `finetune`, `inspect` and `pretrain --init-from` (which then builds a fresh softmax \
        from char-CNN encodings), while `score`, `perplexity`, `generate` and `pretrain --resume` refuse it; with \
        --softmax-weights (bilm-tf's *_softmax_weights.hdf5, datasets softmax/W and softmax/b) and the --vocab its \
        rows follow, the model keeps its softmax and can do all of these. Unknown keys in options.json are ignored; a missing required key, or a dataset whose shape differs \
        from what the options imply, is refused naming the key or dataset and both shapes.
        """)

    @Option(help: "bilm-tf options file (options.json).")
    var options: String

    @Option(help: "bilm-tf / AllenNLP weight file (weights.hdf5).")
    var weights: String

    @Option(help: "The model's bilm-tf vocabulary, kept in the checkpoint (default: <S>, </S>, <UNK> only); required with --softmax-weights, whose rows follow it.")
    var vocab: String?

    @Option(help: "bilm-tf softmax file (*_softmax_weights.hdf5 with softmax/W [V, P] and softmax/b [V]); needs --vocab.")
    var softmaxWeights: String?

    @Option(help: "Checkpoint to write (.npz).")
    var output: String

    @Flag(help: "Replace --output if it exists.")
    var overwrite = false

    func validate() throws {
        if softmaxWeights != nil && vocab == nil {
            throw ValidationError("--softmax-weights needs --vocab: the vocabulary file (vocab.txt) whose words the softmax rows follow.")
        }
    }

    func run() throws {
        try reportingErrors {
            if !overwrite && FileManager.default.fileExists(atPath: output) {
                throw ValidationError("--output \(output) already exists; pass --overwrite to replace it.")
            }
            let started = Date()
            let options = try BilmTfWeights.readOptions(path: self.options)
            let vocabulary = try vocab.map { try Vocabulary(contentsOf: $0) }
                ?? Vocabulary(words: [Vocabulary.bos, Vocabulary.eos, Vocabulary.unk])
            var model = try BilmTfWeights.importModel(options: options, weightsPath: weights, vocabularySize: vocabulary.count)
            if let softmaxWeights {
                model = try BilmTfSoftmax.attach(to: model, softmaxPath: softmaxWeights, vocabularySize: vocabulary.count)
            }
            var trainer = TrainerState()
            trainer.importedFrom = weights
            try BiLMCheckpoint.save(model: model, vocabulary: vocabulary, trainer: trainer, optimizer: nil, states: nil, to: output)
            printJSON(["output": output, "parameters": model.parameterCount, "seconds": Date().timeIntervalSince(started),
                       "vocabulary": vocabulary.count, "has_softmax": model.softmax != nil])
        }
    }
}
