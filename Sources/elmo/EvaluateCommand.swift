import ArgumentParser
import ElmoBiLM
import ElmoTasks
import Foundation

/// `elmo evaluate`: scores a task model on labelled data.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a fine-tuned task model on labelled data.",
        discussion: """
        Classifier: accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix. The data is read as \
        the training data was (columns, header, format) unless overridden.
        """)

    @Option(help: "A task model (best.npz) or its run folder.")
    var model: String

    @Option(help: "Labelled data file.")
    var data: String

    @OptionGroup var dataOptions: ClassificationDataOptions

    @Option(help: "A label the model does not know: error (naming the line) or warn (counted as wrong).")
    var unknownLabel: UnknownLabelPolicy = .error

    @Flag(help: "Print the scores as JSON.")
    var json = false

    @OptionGroup var batch: BatchSizeOption

    @OptionGroup var tokenBudget: TokenBudgetOption

    @OptionGroup var threads: ThreadOptions

    func run() throws {
        threads.apply()
        try reportingErrors {
            let type = try TaskModels.type(of: model)
            warnIfIncomplete(model)
            let loaded = try type.load(model)
            let request = TaskEvaluationRequest(data: data, json: json, batchSize: batch.batchSize,
                                                maxBatchTokens: tokenBudget.maxBatchTokens, unknownLabels: unknownLabel,
                                                classificationData: dataOptions.apply(to:))
            let (text, warnings) = try loaded.evaluationText(request)
            for warning in warnings { FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8)) }
            print(text, terminator: "")
        }
    }
}
