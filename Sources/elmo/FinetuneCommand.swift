import ArgumentParser
import ElmoLayers
import ElmoTasks
import Foundation

/// `elmo finetune <task>`: one subcommand per task head.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a task head on a pre-trained biLM (or, for a baseline, on a token encoder trained from scratch).",
        subcommands: [FinetuneClassifierCommand.self, FinetuneTaggerCommand.self])
}

extension PoolingMode: ExpressibleByArgument {}
extension ClassifierEncoderKind: ExpressibleByArgument {}
extension ClassificationFormat: ExpressibleByArgument {}
extension UnknownLabelPolicy: ExpressibleByArgument {}

/// `--bilm frozen|finetune`.
enum BiLMTraining: String, ExpressibleByArgument, CaseIterable {
    case frozen, finetune
}

/// Training options shared by the task subcommands.
struct TaskTrainingOptions: ParsableArguments {
    @Option(help: "Epochs at most.")
    var epochs = 10

    @Option(help: "Stop after this many epochs without a better dev score.")
    var patience = 3

    @Option(help: "Sentences per batch.")
    var batchSize = 32

    @OptionGroup var tokenBudget: TokenBudgetOption

    @Option(name: .customLong("lr"), help: "Adam learning rate of the head.")
    var learningRate: Float = 1e-3

    @Option(help: "frozen: the biLM's layer outputs are computed once and cached; finetune: the biLM is trained too, with discriminative learning rates and gradual unfreezing.")
    var bilm: BiLMTraining = .frozen

    @Flag(help: "Baseline: replace the pre-trained biLM by a randomly initialised token encoder (same options) trained with the head.")
    var noPretrained = false

    @Flag(inversion: .prefixedNo,
          help: "With the biLM (frozen or finetune), also train a token encoder from scratch (the --no-pretrained baseline's) and concatenate its vectors to ELMo's, as Peters et al. (2018) add ELMo to a task model's own token representation.")
    var taskEncoder = true

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @OptionGroup var maxLength: MaxLengthOption

    func validate() throws {
        for (name, value) in [("epochs", epochs), ("patience", patience), ("batch-size", batchSize)] where value < 1 {
            throw ValidationError("--\(name) must be at least 1, not \(value).")
        }
        if !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--lr must be a positive number, not \(learningRate).") }
        if noPretrained && bilm == .finetune {
            throw ValidationError("--no-pretrained has no biLM to fine-tune; leave out --bilm finetune.")
        }
    }

    var mode: TaskFeatures.Mode { noPretrained ? .noPretrained : (bilm == .finetune ? .finetune : .frozen) }

    var settings: TaskTrainingSettings {
        var s = TaskTrainingSettings()
        s.epochs = epochs
        s.patience = patience
        s.batchSize = batchSize
        s.maxBatchTokens = tokenBudget.maxBatchTokens
        s.learningRate = learningRate
        s.seed = seed
        return s
    }
}

/// How classification files are read: `--format`, `--label-column`, `--text-column`, `--header`.
struct ClassificationDataOptions: ParsableArguments {
    @Option(help: "tsv or csv (default: from the file name, .csv is csv).")
    var format: ClassificationFormat?

    @Option(help: "The text column: a 0-based index, or a header name with --header (default: 1).")
    var textColumn: String?

    @Option(help: "The label column: a 0-based index, or a header name with --header (default: 0).")
    var labelColumn: String?

    @Flag(help: "The first line (CSV: record) names the columns.")
    var header = false

    /// `base` with the options given on the command line applied.
    func apply(to base: ClassificationDataSettings) -> ClassificationDataSettings {
        var s = base
        if let format { s.format = format }
        if let textColumn { s.textColumn = textColumn }
        if let labelColumn { s.labelColumn = labelColumn }
        if header { s.header = true }
        return s
    }
}

/// The biLM and files every `elmo finetune` task takes.
struct TaskFileOptions: ParsableArguments {
    @Option(help: "The pre-trained biLM: a checkpoint file or run folder (with --no-pretrained only its options are used).")
    var checkpoint: String

    @Option(help: "Training data file.")
    var train: String

    @Option(help: "Dev data file (early stopping and model selection).")
    var dev: String

    @Option(help: "Run folder to create, e.g. Checkpoints/<run>.")
    var output: String
}

/// The JSON both `elmo finetune` subcommands print: the model file, its mode, how training went and the best epoch's
/// dev scores (`dev_<metric>`); each task adds its own keys.
func finetuneSummary(output: String, mode: TaskFeatures.Mode, result: TaskTrainingResult) -> [String: Any] {
    var summary: [String: Any] = [
        "model": (output as NSString).appendingPathComponent("best.npz"), "mode": mode.rawValue,
        "best_epoch": result.bestEpoch, "epochs_run": result.epochsRun, "stopped_early": result.stoppedEarly,
        "seconds": result.seconds,
    ]
    for (name, value) in result.bestScore.values { summary["dev_\(name)"] = value }
    return summary
}
