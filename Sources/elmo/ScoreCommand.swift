import ArgumentParser
import ElmoBiLM
import ElmoReporting
import Foundation

/// `--json` (default) or `--tsv`.
enum ScoreFormat: String, EnumerableFlag {
    case json, tsv

    static func help(for value: ScoreFormat) -> ArgumentHelp? {
        value == .json ? "One JSON object per line (default)." : "A tab-separated table with a header row."
    }
}

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score each input line with a biLM: forward, backward and mean log-probability, and perplexity.",
        discussion: """
        One output line per input line, in input order: {"line", "tokens", "forward_logprob", "backward_logprob", \
        "logprob", "perplexity"}. line is the 1-based input line number; log-probabilities are natural logs summed over \
        the line; tokens counts one direction's predictions (the words plus </S> forward, plus <S> backward), so \
        exp(-forward_logprob / tokens) is the line's forward perplexity, and perplexity = exp(-logprob / tokens) with \
        logprob the mean of both directions. Each line is scored on its own from a zero LSTM state (as `embed` \
        does), so results do not depend on --batch-size; `perplexity --reset-each-line` gives \
        exp(-Σ logprob / Σ tokens) over the same file. An empty line gets tokens 0 and perplexity null. \
        --per-token adds "forward_token_logprobs" (of w1 … wn, </S>) and "backward_token_logprobs" (of <S>, w1 … wn), \
        both in sentence order. Input is streamed a chunk at a time (sorted by length inside it); progress goes to stderr.
        """)

    @Option(help: "A biLM checkpoint file or run folder (it needs a softmax: a pre-trained model, or an import with --softmax-weights).")
    var checkpoint: String

    @Argument(help: "Text file, one tokenised sentence per line (.gz read transparently), or - for stdin.")
    var file: String

    @Flag(help: "Add each token's forward and backward log-probability.")
    var perToken = false

    @Flag var format: ScoreFormat = .json

    @OptionGroup var batch: BatchSizeOption

    @OptionGroup var threads: ThreadOptions

    func run() throws {
        threads.apply()
        try reportingErrors {
            let scorer = try SentenceScorer(checkpoint: checkpoint)
            if format == .tsv {
                print((["line", "tokens", "forward_logprob", "backward_logprob", "logprob", "perplexity"]
                    + (perToken ? ["forward_token_logprobs", "backward_token_logprobs"] : [])).joined(separator: "\t"))
            }
            let summary = try scorer.scoreFile(file, batchSize: batch.batchSize, perToken: perToken,
                                               progress: ProgressLine(every: 10)) { line, score in
                print(format == .json ? jsonLine(line, score) : tsvLine(line, score))
            }
            FileHandle.standardError.write(Data(String(format: "scored %d lines, %d tokens in %.1f s (%.0f tokens/s)\n",
                                                       summary.lines, summary.tokens, summary.seconds,
                                                       Double(summary.tokens) / max(summary.seconds, 1e-9)).utf8))
        }
    }

    private func jsonLine(_ line: Int, _ score: SentenceScore) -> String {
        var object: [String: Any] = ["line": line, "tokens": score.tokens, "forward_logprob": score.forwardLogProbability,
                                     "backward_logprob": score.backwardLogProbability, "logprob": score.logProbability,
                                     "perplexity": score.perplexity ?? NSNull()]
        if let f = score.forwardTokenLogProbabilities, let b = score.backwardTokenLogProbabilities {
            object["forward_token_logprobs"] = f.map(Double.init)
            object["backward_token_logprobs"] = b.map(Double.init)
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private func tsvLine(_ line: Int, _ score: SentenceScore) -> String {
        var fields = ["\(line)", "\(score.tokens)", "\(score.forwardLogProbability)", "\(score.backwardLogProbability)",
                      "\(score.logProbability)", score.perplexity.map { "\($0)" } ?? ""]
        if let f = score.forwardTokenLogProbabilities, let b = score.backwardTokenLogProbabilities {
            fields += [f.map { "\($0)" }.joined(separator: " "), b.map { "\($0)" }.joined(separator: " ")]
        }
        return fields.joined(separator: "\t")
    }
}
