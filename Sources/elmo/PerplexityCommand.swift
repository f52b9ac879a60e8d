import ArgumentParser
import ElmoBiLM
import ElmoReporting
import Foundation

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Score a text file with a checkpoint: forward, backward and mean perplexity.",
        discussion: "The file is one stream (batch 1) scored with states carried and no dropout; mean = exp of the average of both directions' mean NLL (as bilm-tf reports). With --reset-each-line every line starts from a zero state instead (as `elmo score` scores lines).")

    @Option(help: "A checkpoint file or a run folder (its best.npz, else latest).")
    var checkpoint: String

    @Argument(help: "Text file, one sentence per line.")
    var file: String

    @Flag(help: "Print {\"forward\", \"backward\", \"mean\", \"tokens\"} as JSON.")
    var json = false

    @Flag(help: "Score each line on its own from a zero LSTM state (empty lines skipped), instead of the file as one stream.")
    var resetEachLine = false

    @OptionGroup var threads: ThreadOptions

    func run() throws {
        threads.apply()
        try reportingErrors {
            let contents = try BiLMCheckpoint.load(checkpoint)
            try contents.requireSoftmax(for: "perplexity")
            let ppl = resetEachLine
                ? try PerplexityEvaluator.evaluateEachLine(model: contents.model, file: file, vocabulary: contents.vocabulary)
                : try streamPerplexity(contents)
            if json {
                printJSON(["forward": ppl.forward, "backward": ppl.backward, "mean": ppl.mean, "tokens": ppl.targets])
            } else {
                print(String(format: "perplexity forward %.2f  backward %.2f  mean %.2f  (%d tokens)",
                             ppl.forward, ppl.backward, ppl.mean, ppl.targets))
            }
        }
    }

    private func streamPerplexity(_ contents: BiLMCheckpoint.Contents) throws -> Perplexities {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("elmo-ppl-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let streams = try PerplexityEvaluator.streams(file: file, vocabulary: contents.vocabulary, model: contents.model,
                                                      scratchDirectory: scratch)
        // About ten progress lines in a log file (a terminal gets one line updated in place).
        return try PerplexityEvaluator.evaluate(model: contents.model, streams: streams,
                                                progress: ProgressLine(every: max(1, streams.stepCount / 10)))
    }
}
