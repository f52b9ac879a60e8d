import ArgumentParser
import ElmoBiLM
import ElmoReporting
import ElmoTasks
import ElmoText
import Foundation

extension TaggerDataFormat: ExpressibleByArgument {}
extension TaggerMetric: ExpressibleByArgument {}
extension TaggerEncoderKind: ExpressibleByArgument {}

/// `--scheme`: a chunk scheme, or `none` for plain tags.
enum TaggerSchemeArgument: String, ExpressibleByArgument, CaseIterable {
    case bio, bioes, iob1, none
}

/// `elmo finetune tagger`: trains a sequence tagger and keeps the best model (by dev span F1 or token accuracy).
struct FinetuneTaggerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tagger",
        abstract: "Train a sequence tagger (POS, chunking, NER) on ELMo representations.",
        discussion: """
        Head: a trainable ScalarMix over the biLM layers -> dropout (--mix-dropout) -> biLSTM or biGRU (--encoder, --hidden per \
        direction, masked) -> dropout (--dropout) -> linear -> CRF (Viterbi decoding, constrained by the tag scheme) or, with --no-crf, a softmax \
        per token. Data: --format conll (token and tag columns, blank line between sentences), conllu (FORM with \
        UPOS, or XPOS with --xpos) or slash (word/TAG word/TAG ..., one sentence per line). The tag scheme is \
        detected from the training tags unless --scheme is given; early stopping uses span F1 for chunk tags and \
        token accuracy for plain tags unless --metric is given. Writes best.npz (the model), metrics.jsonl and \
        learning-curve.svg to --output and prints a JSON summary; use `elmo evaluate --model <output>` on a test file.
        """)

    @OptionGroup var files: TaskFileOptions

    @Option(help: "conll, conllu or slash (default: conllu for .conllu files, else conll).")
    var format: TaggerDataFormat?

    @Option(help: "conll: the 0-based token column.")
    var tokenColumn = 0

    @Option(help: "conll: the 0-based tag column; negative counts from the end.")
    var tagColumn = -1

    @Flag(help: "conllu: tag with XPOS instead of UPOS.")
    var xpos = false

    @Option(help: "bio, bioes, iob1, or none for plain tags (default: detected from the training tags).")
    var scheme: TaggerSchemeArgument?

    @Option(help: "Early stopping metric: f1 (spans) or accuracy (tokens) (default: f1 with a scheme, else accuracy).")
    var metric: TaggerMetric?

    @Option(help: "bilstm or gru.")
    var encoder: TaggerEncoderKind = .bilstm

    @Option(help: "biLSTM / biGRU state size per direction.")
    var hidden = 64

    @Option(help: "Dropout on the mixed ELMo vectors.")
    var mixDropout: Float = 0.5

    @Option(help: "Dropout on the encoder output.")
    var dropout: Float = 0.2

    @Flag(help: "A softmax per token instead of the CRF.")
    var noCrf = false

    @Option(help: "Train on the first N training sentences only (default: all).")
    var maxTrainSentences: Int?

    @OptionGroup var training: TaskTrainingOptions

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if hidden < 1 { throw ValidationError("--hidden must be at least 1, not \(hidden).") }
        for (name, p) in [("mix-dropout", mixDropout), ("dropout", dropout)] where !(p >= 0 && p < 1) {
            throw ValidationError("--\(name) must be in [0, 1), not \(p).")
        }
        if let n = maxTrainSentences, n < 1 { throw ValidationError("--max-train-sentences must be at least 1, not \(n).") }
        if format != nil && format != .conll && (tokenColumn != 0 || tagColumn != -1) {
            throw ValidationError("--token-column and --tag-column apply to --format conll only.")
        }
        if xpos && format != .conllu && !files.train.lowercased().hasSuffix(".conllu") {
            throw ValidationError("--xpos applies to CoNLL-U data (--format conllu) only.")
        }
    }

    func run() throws {
        threads.apply()
        StopSignal.install()
        try reportingErrors {
            var settings = TaggerFinetuneSettings(checkpoint: files.checkpoint, trainPath: files.train, devPath: files.dev, output: files.output)
            settings.mode = training.mode
            settings.taskEncoder = training.taskEncoder
            settings.training = training.settings
            settings.maxLength = training.maxLength.maxLength
            settings.options.encoder = encoder
            settings.options.hidden = hidden
            settings.options.crf = !noCrf
            settings.options.mixDropout = mixDropout
            settings.options.dropout = dropout
            settings.options.data.format = format ?? (files.train.lowercased().hasSuffix(".conllu") ? .conllu : .conll)
            settings.options.data.tokenColumn = tokenColumn
            settings.options.data.tagColumn = tagColumn
            settings.options.data.useXPOS = xpos
            switch scheme {
            case .none?: settings.plainTags = true
            case let given?: settings.scheme = TagScheme(rawValue: given.rawValue)
            case nil: break
            }
            settings.metric = metric
            settings.maxTrainSentences = maxTrainSentences
            let outcome = try TaggerFinetuning.run(settings, progress: ProgressLine(every: 50))
            for note in outcome.notes { FileHandle.standardError.write(Data("Note: \(note)\n".utf8)) }
            let model = outcome.model, result = outcome.result
            var summary = finetuneSummary(output: files.output, mode: model.features.mode, result: result)
            summary.merge(["tags": model.tagger.labels.count, "scheme": model.options.scheme?.rawValue ?? "none",
                           "metric": model.options.metric.rawValue, "crf": model.options.crf,
                           "train_sentences": outcome.trainSentences, "dev_sentences": outcome.devSentences]) { $1 }
            printJSON(summary)
        }
    }
}
