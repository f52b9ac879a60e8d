import ArgumentParser
import ElmoBiLM
import ElmoEmbeddings
import ElmoTasks
import ElmoText
import Foundation

/// `elmo predict`: applies a task model to raw text, one output line per input line.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Apply a fine-tuned task model to text: one output line per input line.",
        discussion: """
        Classifier: `label<TAB>probability`; with --probabilities followed by `<TAB>label=probability` for every class \
        (in the model's label order). Input: one whitespace-tokenised sentence per line; an empty line is an error \
        naming it. A line longer than --max-length: --overlong truncate reads its first --max-length tokens (a tagger \
        tags only those); --overlong split (taggers) tags each window of --max-length tokens on its own and joins \
        the tags, so every token gets one.
        """)

    @Option(help: "A task model (best.npz) or its run folder.")
    var model: String

    @Option(help: "Text file (.gz read transparently), or - for stdin.")
    var input: String

    @Flag(help: "Print every class's probability.")
    var probabilities = false

    @OptionGroup var batch: BatchSizeOption

    @OptionGroup var tokenBudget: TokenBudgetOption

    @OptionGroup var maxLength: MaxLengthOption

    @OptionGroup var overlong: OverlongOption

    @OptionGroup var threads: ThreadOptions

    func run() throws {
        threads.apply()
        try reportingErrors {
            let type = try TaskModels.type(of: model)
            warnIfIncomplete(model)
            let loaded = try type.load(model)
            let options = TaskPredictionOptions(batchSize: batch.batchSize, maxBatchTokens: tokenBudget.maxBatchTokens,
                                                probabilities: probabilities, maxLength: maxLength.maxLength, overlong: overlong.overlong)
            FileHandle.standardOutput.write(Data(try loaded.predictionText(try readSentences(), options: options).utf8))
        }
    }

    /// Whitespace-split lines of --input; an empty line is refused with its number.
    private func readSentences() throws -> [[String]] {
        let name = input == "-" ? "<stdin>" : input
        var lines: [String] = []
        if input == "-" {
            let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
        } else {
            try LineReader(path: input).forEachLine { line, _ in lines.append(line) }
        }
        return try lines.enumerated().map { index, line in
            let tokens = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard !tokens.isEmpty else { throw TextError.emptyText(path: name, line: index + 1) }
            if tokens.count > maxLength.maxLength && overlong.overlong == .error {
                throw EmbedError.lineTooLong(path: name, line: index + 1, tokens: tokens.count, limit: maxLength.maxLength)
            }
            return tokens
        }
    }
}
