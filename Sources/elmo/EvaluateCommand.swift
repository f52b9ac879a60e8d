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
            let kind = try TaskCheckpoint.kind(of: model)
            warnIfIncomplete(model)
            switch kind {
            case ClassifierModel.kind:
                let classifier = try ClassifierModel.load(model)
                let examples = try dataOptions.apply(to: classifier.classifier.options.data).read(path: data)
                if let warning = try ClassificationDataSettings.checkLabels(examples, known: classifier.labels, path: data,
                                                                            policy: unknownLabel) {
                    FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8))
                }
                let report = classifier.evaluate(examples, batchSize: batch.batchSize, maxBatchTokens: tokenBudget.maxBatchTokens)
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(report), as: UTF8.self))
                } else {
                    print(report.table, terminator: "")
                }
            case TaggerModel.kind:
                print(try TaggerPrediction.evaluate(model: model, data: data, json: json, batchSize: batch.batchSize,
                                                        maxBatchTokens: tokenBudget.maxBatchTokens), terminator: "")
            default:
                throw TaskError.wrongTaskKind(path: model, expected: "classifier or tagger", found: kind)
            }
        }
    }
}
