import ElmoReporting
import ElmoText
import Foundation

/// Validation perplexity as the PyTorch reference and bilm-tf report it: the whole file is one stream (batch 1),
/// scored in windows of T steps with the LSTM states carried and no dropout.
/// ppl_fwd = exp(ΣNLL_fwd / N), ppl_bwd likewise, ppl_mean = exp((ΣNLL_fwd + ΣNLL_bwd) / 2N).
public struct Perplexities: Codable, Equatable {
    public var forward: Double
    public var backward: Double
    public var mean: Double
    public var targets: Int
}

public enum PerplexityEvaluator {
    /// `progress` (if given) is updated after each window with the windows done, the rate and the time left.
    public static func evaluate(model: BiLanguageModel, streams: TokenStreams, progress: ProgressLine? = nil) throws -> Perplexities {
        var states = model.zeroStates(batch: streams.batchSize)
        var nllForward = 0.0, nllBackward = 0.0, count = 0
        let started = Date()
        for step in 0..<streams.stepCount {
            let (f, b, n) = model.score(try streams.batch(step: step), states: &states)
            nllForward += f
            nllBackward += b
            count += n
            if let progress {
                let elapsed = Date().timeIntervalSince(started), done = Double(step + 1)
                progress.update(String(format: "scored %d of %d windows  %.0f tokens/s  ETA %@", step + 1, streams.stepCount,
                                       Double(count) / max(elapsed, 1e-9),
                                       ProgressLine.duration(elapsed / done * (Double(streams.stepCount) - done))))
            }
        }
        progress?.finish()
        return perplexities(nllForward: nllForward, nllBackward: nllBackward, count: count)
    }

    /// `perplexity --reset-each-line`: each line of `file` is its own stream (batch 1) starting from a zero state,
    /// scored in windows of the model's unroll T with the state carried inside the line; empty lines are skipped.
    /// Equals exp(−Σ logprob / Σ tokens) over `elmo score`'s lines (which score each line in one padded batch).
    public static func evaluateEachLine(model: BiLanguageModel, file: String, vocabulary: Vocabulary) throws -> Perplexities {
        let reader = try LineReader(path: file)
        let t = model.options.unrollSteps
        var nllForward = 0.0, nllBackward = 0.0, count = 0
        while let line = try reader.nextLine() {
            let words = Corpus.tokens(of: line)
            if words.isEmpty { continue }
            let pairs = SentencePairs(words: words, vocabulary: vocabulary)
            var states = model.zeroStates(batch: 1)
            for first in stride(from: 0, to: pairs.count, by: t) {
                let columns = first..<min(first + t, pairs.count)
                let batch = SentencePairs.batch([pairs], columns: columns, steps: columns.count, maxCharacters: model.maxCharacters)
                let (f, b, n) = model.score(batch, states: &states)
                nllForward += f
                nllBackward += b
                count += n
            }
        }
        guard count > 0 else { throw TextError.emptyCorpus(file) }
        return perplexities(nllForward: nllForward, nllBackward: nllBackward, count: count)
    }

    static func perplexities(nllForward: Double, nllBackward: Double, count: Int) -> Perplexities {
        let n = Double(max(count, 1))
        return Perplexities(forward: exp(nllForward / n), backward: exp(nllBackward / n),
                            mean: exp((nllForward + nllBackward) / (2 * n)), targets: count)
    }

    /// Streams for scoring `file`: batch 1, the model's unroll, scratch space in a temp folder.
    public static func streams(file: String, vocabulary: Vocabulary, model: BiLanguageModel, scratchDirectory: String) throws -> TokenStreams {
        try TokenStreams(files: [file], vocabulary: vocabulary, batchSize: 1, unroll: model.options.unrollSteps,
                         maxCharacters: model.maxCharacters, scratchDirectory: scratchDirectory)
    }
}
