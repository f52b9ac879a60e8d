import ElmoReporting
import ElmoText
import Foundation

/// The biLM's log-probability of one sentence, in natural log, each sentence scored on its own from a zero state.
///
/// `tokens` counts one direction's predictions (the words plus `</S>` forward, the words plus `<S>` backward), the
/// count `perplexity` uses, so `exp(-forwardLogProbability / tokens)` is the sentence's forward perplexity.
public struct SentenceScore: Equatable {
    public var tokens: Int
    /// Σ log p(w_i | w_<i) over w1 … wn, `</S>`.
    public var forwardLogProbability: Double
    /// Σ log p(w_i | w_>i) over `<S>`, w1 … wn.
    public var backwardLogProbability: Double
    /// With `perToken`: forward log p of `w1 … wn, </S>` (n + 1 values, in sentence order).
    public var forwardTokenLogProbabilities: [Float]?
    /// With `perToken`: backward log p of `<S>, w1 … wn` (n + 1 values, in sentence order, so word i is
    /// `forward[i - 1]` and `backward[i]`).
    public var backwardTokenLogProbabilities: [Float]?

    /// Mean of the two directions.
    public var logProbability: Double { (forwardLogProbability + backwardLogProbability) / 2 }
    /// exp(−logProbability / tokens), what `perplexity` reports as "mean" for this sentence alone; nil for an empty line.
    public var perplexity: Double? { tokens > 0 ? exp(-logProbability / Double(tokens)) : nil }

    /// The score of an empty line: no predictions (perplexity also skips empty lines).
    public static let empty = SentenceScore(tokens: 0, forwardLogProbability: 0, backwardLogProbability: 0)
}

/// Scores sentences with a biLM's softmax: batched, sorted by length inside each chunk (little padding), results in
/// input order and independent of batching (padding positions are masked; each row starts from a zero state).
/// One forward pass per batch, `BiLanguageModel.targetNegativeLogLikelihoods`, the same one `perplexity` uses.
///
///     let scorer = try SentenceScorer(checkpoint: "Checkpoints/my-run")
///     let scores = scorer.score([["the", "cat", "sat"]])      // scores[0].logProbability, .perplexity, .tokens
public final class SentenceScorer {
    public let model: BiLanguageModel
    public let vocabulary: Vocabulary

    /// The model needs a softmax (`BiLMCheckpoint.Contents.requireSoftmax` says why one is missing).
    public init(model: BiLanguageModel, vocabulary: Vocabulary) {
        precondition(model.softmax != nil, "SentenceScorer needs a model with a softmax (check requireSoftmax first).")
        self.model = model
        self.vocabulary = vocabulary
    }

    /// Loads a checkpoint file or run folder, refusing a model without softmax (imported weights) or a task model.
    public convenience init(checkpoint: String) throws {
        let contents = try BiLMCheckpoint.load(checkpoint)
        try contents.requireSoftmax(for: "elmo score")
        self.init(model: contents.model, vocabulary: contents.vocabulary)
    }

    /// One score per sentence, in input order; empty sentences get `SentenceScore.empty`.
    public func score(_ sentences: [[String]], batchSize: Int = 32, perToken: Bool = false) -> [SentenceScore] {
        var results = [SentenceScore](repeating: .empty, count: sentences.count)
        let nonEmpty = sentences.indices.filter { !sentences[$0].isEmpty }
        for batch in LengthBuckets.batches(lengths: nonEmpty.map { sentences[$0].count }, batchSize: batchSize) {
            let indices = batch.map { nonEmpty[$0] }
            for (index, score) in zip(indices, scoreBatch(indices.map { sentences[$0] }, perToken: perToken)) {
                results[index] = score
            }
        }
        return results
    }

    /// Sentences padded to the longest (+1 for the sentence marker), one forward pass, each row's sums in order.
    func scoreBatch(_ sentences: [[String]], perToken: Bool) -> [SentenceScore] {
        let pairs = sentences.map { SentencePairs(words: $0, vocabulary: vocabulary) }
        let steps = pairs.map(\.count).max() ?? 0
        let batch = SentencePairs.batch(pairs, columns: 0..<steps, steps: steps, maxCharacters: model.maxCharacters)
        var states = model.zeroStates(batch: pairs.count)
        let (forward, backward) = model.targetNegativeLogLikelihoods(batch, states: &states)
        return pairs.enumerated().map { row, sentence in
            let n = sentence.count, start = row * steps
            let f = forward[start..<(start + n)], b = backward[start..<(start + n)]
            var score = SentenceScore(tokens: n, forwardLogProbability: -f.reduce(0.0) { $0 + Double($1) },
                                      backwardLogProbability: -b.reduce(0.0) { $0 + Double($1) })
            if perToken {
                score.forwardTokenLogProbabilities = f.map { -$0 }
                score.backwardTokenLogProbabilities = b.reversed().map { -$0 }
            }
            return score
        }
    }

    /// What `scoreFile` read.
    public struct Summary {
        public var lines = 0
        public var tokens = 0
        public var seconds = 0.0
    }

    /// Streams `path` (`-`: stdin; `.gz` read transparently) a chunk of `chunkSize` lines at a time, calling `body`
    /// with each line's 1-based number and score in input order, so memory stays flat however long the input is.
    /// An empty line gets `SentenceScore.empty`; an input without any token is refused.
    @discardableResult
    public func scoreFile(_ path: String, batchSize: Int = 32, perToken: Bool = false, chunkSize: Int = 2048,
                          progress: ProgressLine? = nil, _ body: (Int, SentenceScore) throws -> Void) throws -> Summary {
        let name = path == "-" ? "<stdin>" : path
        let reader = try LineReader(path: path == "-" ? "/dev/stdin" : path)
        var summary = Summary()
        let started = Date()
        var chunk: [[String]] = []
        func flush() throws {
            guard !chunk.isEmpty else { return }
            for (k, score) in score(chunk, batchSize: batchSize, perToken: perToken).enumerated() {
                try body(summary.lines + k + 1, score)
                summary.tokens += score.tokens
            }
            summary.lines += chunk.count
            chunk.removeAll(keepingCapacity: true)
            let elapsed = Date().timeIntervalSince(started)
            progress?.update(String(format: "%d lines  %.0f lines/s  %.0f tokens/s", summary.lines,
                                    Double(summary.lines) / max(elapsed, 1e-9), Double(summary.tokens) / max(elapsed, 1e-9)))
        }
        while let line = try reader.nextLine() {
            chunk.append(Corpus.tokens(of: line))
            if chunk.count >= chunkSize { try flush() }
        }
        try flush()
        progress?.finish()
        guard summary.tokens > 0 else { throw TextError.emptyCorpus(name) }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }
}
