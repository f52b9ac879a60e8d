import ElmoBiLM
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation
import XCTest

/// `elmo score`'s library call (issue 16): each line scored on its own, agreeing with `perplexity` run line by line
/// from a zero state, independent of batching, and refusing models that cannot score.
final class SentenceScorerTests: XCTestCase {
    /// Lines longer than the unroll (4), an out-of-vocabulary word, a literal `<S>`, an empty line and a Korean line.
    private let lines = ["the cat sat on the mat in the park today", "a dog", "", "zebras like the cat", "the <S> end",
                         "고양이 가 잔다", "dogs run and birds fly and the sun is hot"]

    /// A model trained a few steps on the tiny shards (so its probabilities are far from uniform) and its vocabulary.
    private func trainedModel() throws -> (BiLanguageModel, Vocabulary, String) {
        let folder = try makeTemporaryFolder(self, "score")
        let a = try writeTextFile(folder, "a.txt", tinyShardA), b = try writeTextFile(folder, "b.txt", tinyShardB)
        let run = (folder as NSString).appendingPathComponent("run")
        let trainer = try Pretrainer(settings: tinySettings(try tinyPretrainOptions(), train: [a, b], output: run, steps: 7))
        try trainer.train()
        return (trainer.model, trainer.vocabulary, folder)
    }

    private func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-30) }

    func testLineScoresAgreeWithPerplexityResetEachLine() throws {
        let (model, vocabulary, folder) = try trainedModel()
        let file = try writeTextFile(folder, "lines.txt", lines.joined(separator: "\n") + "\n")
        let scorer = SentenceScorer(model: model, vocabulary: vocabulary)
        var scores: [SentenceScore] = []
        try scorer.scoreFile(file, batchSize: 3) { line, score in
            XCTAssertEqual(line, scores.count + 1, "lines in input order")
            scores.append(score)
        }
        XCTAssertEqual(scores.count, lines.count)
        XCTAssertEqual(scores.map(\.tokens), lines.map { Corpus.tokens(of: $0).isEmpty ? 0 : Corpus.tokens(of: $0).count + 1 })
        XCTAssertNil(scores[2].perplexity, "an empty line has no perplexity")
        let tokens = Double(scores.map(\.tokens).reduce(0, +))
        let ppl = try PerplexityEvaluator.evaluateEachLine(model: model, file: file, vocabulary: vocabulary)
        XCTAssertEqual(ppl.targets, Int(tokens))
        XCTAssertLessThan(relative(exp(-scores.map(\.forwardLogProbability).reduce(0, +) / tokens), ppl.forward), 1e-4)
        XCTAssertLessThan(relative(exp(-scores.map(\.backwardLogProbability).reduce(0, +) / tokens), ppl.backward), 1e-4)
        XCTAssertLessThan(relative(exp(-scores.map(\.logProbability).reduce(0, +) / tokens), ppl.mean), 1e-4)
        XCTAssertGreaterThan(ppl.mean, 1.5, "a trained but tiny model is far from certain")
    }

    /// A one-line file through `TokenStreams` (the `perplexity` command's own pair construction, independent of
    /// `SentencePairs`) gives that line's score.
    func testOneLineMatchesTheStreamPerplexity() throws {
        let (model, vocabulary, folder) = try trainedModel()
        for line in [lines[0], lines[3], lines[4]] {
            let file = try writeTextFile(folder, "one.txt", line + "\n")
            let streams = try PerplexityEvaluator.streams(file: file, vocabulary: vocabulary, model: model,
                                                          scratchDirectory: (folder as NSString).appendingPathComponent("scratch"))
            let ppl = try PerplexityEvaluator.evaluate(model: model, streams: streams)
            let score = SentenceScorer(model: model, vocabulary: vocabulary).score([Corpus.tokens(of: line)])[0]
            XCTAssertEqual(score.tokens, ppl.targets)
            XCTAssertLessThan(relative(exp(-score.forwardLogProbability / Double(score.tokens)), ppl.forward), 1e-4, line)
            XCTAssertLessThan(relative(exp(-score.backwardLogProbability / Double(score.tokens)), ppl.backward), 1e-4, line)
            XCTAssertLessThan(relative(try XCTUnwrap(score.perplexity), ppl.mean), 1e-4, line)
        }
    }

    func testScoresDoNotDependOnBatchingAndPerTokenValuesSumToTheTotals() throws {
        let (model, vocabulary, _) = try trainedModel()
        let sentences = lines.map(Corpus.tokens(of:))
        let scorer = SentenceScorer(model: model, vocabulary: vocabulary)
        let alone = sentences.map { scorer.score([$0], perToken: true)[0] }
        for batchSize in [1, 2, 3, 32] {
            let batched = scorer.score(sentences, batchSize: batchSize, perToken: true)
            for (k, (a, b)) in zip(alone, batched).enumerated() {
                XCTAssertEqual(a.tokens, b.tokens)
                XCTAssertEqual(a.forwardLogProbability, b.forwardLogProbability, accuracy: 1e-5 * max(1, abs(a.forwardLogProbability)),
                               "line \(k), batch \(batchSize)")
                XCTAssertEqual(a.backwardLogProbability, b.backwardLogProbability, accuracy: 1e-5 * max(1, abs(a.backwardLogProbability)),
                               "line \(k), batch \(batchSize)")
            }
        }
        for (sentence, score) in zip(sentences, alone) where !sentence.isEmpty {
            let f = try XCTUnwrap(score.forwardTokenLogProbabilities), b = try XCTUnwrap(score.backwardTokenLogProbabilities)
            XCTAssertEqual(f.count, sentence.count + 1)
            XCTAssertEqual(b.count, sentence.count + 1)
            XCTAssertTrue((f + b).allSatisfy { $0 < 0 }, "log-probabilities are negative")
            XCTAssertEqual(f.reduce(0.0) { $0 + Double($1) }, score.forwardLogProbability, accuracy: 1e-4)
            XCTAssertEqual(b.reduce(0.0) { $0 + Double($1) }, score.backwardLogProbability, accuracy: 1e-4)
        }
        // Backward values are in sentence order: <S> is predicted last by the backward LM, after seeing the whole line.
        let whole = scorer.score([["a", "dog"]], perToken: true)[0]
        let prefix = scorer.score([["dog"]], perToken: true)[0]
        XCTAssertEqual(whole.backwardTokenLogProbabilities![2], prefix.backwardTokenLogProbabilities![1], accuracy: 1e-5,
                       "log p(dog | </S>) is the same in both lines: the last word is read first")
    }

    func testModelsThatCannotScoreAreRefusedWithTheReason() throws {
        let folder = try makeTemporaryFolder(self, "score")
        let imported = (folder as NSString).appendingPathComponent("imported.npz")
        let vocabulary = try Vocabulary(words: ["<S>", "</S>", "<UNK>"])
        try BiLMCheckpoint.save(model: BiLanguageModel(options: try tinyPretrainOptions(), vocabularySize: 3, seed: 1, withSoftmax: false),
                                vocabulary: vocabulary, trainer: TrainerState(), optimizer: nil, states: nil, to: imported)
        XCTAssertThrowsError(try SentenceScorer(checkpoint: imported)) { error in
            XCTAssertTrue("\(error)".contains("has no softmax") && "\(error)".contains("elmo score"), "\(error)")
        }
        // A task model (what `elmo finetune` writes: a `task.json` manifest, no `trainer.json`).
        let task = (folder as NSString).appendingPathComponent("task.npz")
        let writer = try NpzWriter(path: task)
        try writer.add("task.json", bytes: Array(#"{"format": "elmokit-task", "version": 1, "kind": "classifier"}"#.utf8))
        try writer.finish()
        XCTAssertThrowsError(try SentenceScorer(checkpoint: task)) { error in
            for part in ["task model", "elmo finetune", "biLM checkpoint", "fine-tuned from"] {
                XCTAssertTrue("\(error)".contains(part), "\(error) lacks \(part)")
            }
        }
        let empty = try writeTextFile(folder, "empty.txt", "\n  \n")
        let model = BiLanguageModel(options: try tinyPretrainOptions(), vocabularySize: 3, seed: 1)
        XCTAssertThrowsError(try SentenceScorer(model: model, vocabulary: vocabulary).scoreFile(empty) { _, _ in }) { error in
            XCTAssertEqual(error as? TextError, .emptyCorpus(empty))
        }
    }
}
