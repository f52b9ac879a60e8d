import ArgumentParser
import ElmoBiLM
import ElmoLayers
import ElmoReporting
import ElmoTasks
import Foundation

/// `elmo finetune classifier`: trains a sentence classifier and keeps the best model (by dev accuracy).
struct FinetuneClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train a sentence classifier on ELMo representations.",
        discussion: """
        Head: a trainable ScalarMix over the biLM layers (dropout 0.5) -> encoder (bilstm | gru | cnn | none) -> pooling \
        (max | mean | last | concat) -> MLP -> softmax. Data: label<TAB>text per line by default (see --text-column, \
        --label-column, --header, --format). Writes best.npz (the model), metrics.jsonl and learning-curve.svg to \
        --output and prints a JSON summary; use `elmo evaluate --model <output>` on a test file.
        """)

    @OptionGroup var files: TaskFileOptions

    @OptionGroup var data: ClassificationDataOptions

    @Option(help: "A dev label not seen in training: error (naming the line) or warn (counted as wrong).")
    var unknownLabel: UnknownLabelPolicy = .error

    @Option(help: "bilstm, gru, cnn or none.")
    var encoder: ClassifierEncoderKind = .bilstm

    @Option(help: "max, mean, last or concat (the cnn encoder always max-pools).")
    var pooling: PoolingMode = .max

    @Option(help: "biLSTM / biGRU state size per direction and MLP hidden size.")
    var hidden = 64

    @Option(help: "CNN filters per width 3, 4, 5.")
    var filters = 100

    @OptionGroup var training: TaskTrainingOptions

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if hidden < 1 { throw ValidationError("--hidden must be at least 1, not \(hidden).") }
        if filters < 1 { throw ValidationError("--filters must be at least 1, not \(filters).") }
        if encoder == .cnn && pooling != .max {
            throw ValidationError("--pooling \(pooling.rawValue) does not apply to --encoder cnn, which max-pools over time itself.")
        }
    }

    func run() throws {
        threads.apply()
        StopSignal.install()
        try reportingErrors {
            var settings = ClassifierFinetuneSettings(checkpoint: files.checkpoint, trainFile: files.train, devFile: files.dev, output: files.output)
            settings.mode = training.mode
            settings.taskEncoder = training.taskEncoder
            settings.training = training.settings
            settings.unknownLabels = unknownLabel
            settings.maxLength = training.maxLength.maxLength
            settings.options.encoder = encoder
            settings.options.pooling = pooling
            settings.options.hidden = hidden
            settings.options.filters = filters
            settings.options.data = data.apply(to: ClassificationDataSettings())
            let (model, result) = try ClassifierFinetuning.run(settings, progress: ProgressLine(every: 50)) {
                FileHandle.standardError.write(Data("Warning: \($0)\n".utf8))
            }
            var summary = finetuneSummary(output: files.output, mode: model.features.mode, result: result)
            summary["labels"] = model.labels
            printJSON(summary)
        }
    }
}
