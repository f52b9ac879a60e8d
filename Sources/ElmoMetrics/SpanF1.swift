import ElmoText
import Foundation

/// Chunk-level precision, recall and F1, computed as conlleval does (so numbers compare with published
/// CoNLL results): chunk boundaries are `SpanDecoder`'s (conlleval's `startOfChunk` / `endOfChunk`), a predicted
/// chunk is correct when a gold chunk has the same type, start and end; precision = correct / found,
/// recall = correct / gold, FB1 = 2PR/(P+R), all in percent; accuracy = tokens whose full tag matches / all
/// tokens (`O` included). The counting is conlleval's own state machine rather than a comparison of span sets:
/// the two agree on every tag sequence made of `O`, `B-`, `I-`, `E-`, `S-` tags, and the state machine also
/// matches conlleval on odd tags (`.`, tags without a type) where a chunk can start before the previous one ends.
public struct SpanF1Report: Codable, Equatable {
    public struct TypeScores: Codable, Equatable {
        public var type: String
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// Gold chunks of this type.
        public var gold: Int
        /// Predicted chunks of this type.
        public var found: Int
        public var correct: Int
    }

    public var tokens: Int
    public var correctTags: Int
    public var goldPhrases: Int
    public var foundPhrases: Int
    public var correctPhrases: Int
    /// Percentages, as conlleval prints them.
    public var accuracy: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// One entry per chunk type seen in gold or predictions, in conlleval's order (byte-wise sorted).
    public var perType: [TypeScores]

    /// - Parameters:
    ///   - gold: per sentence, the gold tags.
    ///   - predicted: per sentence, the predicted tags (same lengths as `gold`).
    public init(gold: [[String]], predicted: [[String]]) {
        precondition(gold.count == predicted.count, "SpanF1Report needs predictions for every sentence, "
                     + "got \(gold.count) gold and \(predicted.count) predicted sentences.")
        var tokens = 0
        var correctTags = 0
        var goldByType: [String: Int] = [:]
        var foundByType: [String: Int] = [:]
        var correctByType: [String: Int] = [:]
        // conlleval's correct-chunk state machine, run over all sentences as one stream with an `O O` boundary
        // token after each (as conlleval reads a file), so that even ill-formed input counts exactly as there.
        var inCorrect = false
        var lastGold: (prefix: Substring, type: Substring) = ("O", "")
        var lastPredicted = lastGold
        func step(_ goldTag: (prefix: Substring, type: Substring),
                  _ predictedTag: (prefix: Substring, type: Substring)) {
            let goldEnds = SpanDecoder.endOfChunk(previous: lastGold, current: goldTag)
            let predictedEnds = SpanDecoder.endOfChunk(previous: lastPredicted, current: predictedTag)
            if inCorrect {
                if goldEnds && predictedEnds && lastGold.type == lastPredicted.type {
                    inCorrect = false
                    correctByType[String(lastGold.type), default: 0] += 1
                } else if goldEnds != predictedEnds || goldTag.type != predictedTag.type {
                    inCorrect = false
                }
            }
            let goldStarts = SpanDecoder.startOfChunk(previous: lastGold, current: goldTag)
            let predictedStarts = SpanDecoder.startOfChunk(previous: lastPredicted, current: predictedTag)
            if goldStarts && predictedStarts && goldTag.type == predictedTag.type { inCorrect = true }
            if goldStarts { goldByType[String(goldTag.type), default: 0] += 1 }
            if predictedStarts { foundByType[String(predictedTag.type), default: 0] += 1 }
            (lastGold, lastPredicted) = (goldTag, predictedTag)
        }
        for (sentence, (goldTags, predictedTags)) in zip(gold, predicted).enumerated() {
            precondition(goldTags.count == predictedTags.count,
                         "Sentence \(sentence) has \(goldTags.count) gold tags but \(predictedTags.count) predicted.")
            tokens += goldTags.count
            for (goldTag, predictedTag) in zip(goldTags, predictedTags) {
                let (goldSplit, predictedSplit) = (SpanDecoder.split(goldTag), SpanDecoder.split(predictedTag))
                // conlleval compares prefix and type, not the raw strings.
                if goldSplit == predictedSplit { correctTags += 1 }
                step(goldSplit, predictedSplit)
            }
            step(("O", ""), ("O", ""))
        }
        if inCorrect { correctByType[String(lastGold.type), default: 0] += 1 }
        let types = Set(goldByType.keys).union(foundByType.keys)
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        perType = types.map { type in
            let (gold, found, correct) = (goldByType[type] ?? 0, foundByType[type] ?? 0, correctByType[type] ?? 0)
            let (precision, recall, f1) = Self.scores(correct: correct, found: found, gold: gold)
            return TypeScores(type: type, precision: precision, recall: recall, f1: f1,
                              gold: gold, found: found, correct: correct)
        }
        self.tokens = tokens
        self.correctTags = correctTags
        goldPhrases = goldByType.values.reduce(0, +)
        foundPhrases = foundByType.values.reduce(0, +)
        correctPhrases = correctByType.values.reduce(0, +)
        accuracy = tokens > 0 ? 100 * Double(correctTags) / Double(tokens) : 0
        (precision, recall, f1) = Self.scores(correct: correctPhrases, found: foundPhrases, gold: goldPhrases)
    }

    /// conlleval's formulas: 0 where a denominator is 0.
    private static func scores(correct: Int, found: Int, gold: Int) -> (Double, Double, Double) {
        let precision = found > 0 ? 100 * Double(correct) / Double(found) : 0
        let recall = gold > 0 ? 100 * Double(correct) / Double(gold) : 0
        let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        return (precision, recall, f1)
    }

    /// The report exactly as conlleval.pl prints it (same `printf` formats, same line order). One exception:
    /// conlleval.pl prints the line of the untyped chunk type (from tags without `-TYPE`) twice when it occurs in
    /// both gold and predictions; this prints it once.
    public var conllevalTable: String {
        func percent(_ value: Double) -> String { String(format: "%6.2f", value) }
        var text = "processed \(tokens) tokens with \(goldPhrases) phrases; "
            + "found: \(foundPhrases) phrases; correct: \(correctPhrases).\n"
        if tokens > 0 {
            text += "accuracy: \(percent(accuracy))%; precision: \(percent(precision))%; "
                + "recall: \(percent(recall))%; FB1: \(percent(f1))\n"
        }
        for scores in perType {
            // Perl's %17s pads by bytes.
            let name = String(repeating: " ", count: max(0, 17 - scores.type.utf8.count)) + scores.type
            text += "\(name): precision: \(percent(scores.precision))%; recall: \(percent(scores.recall))%; "
                + "FB1: \(percent(scores.f1))  \(scores.found)\n"
        }
        return text
    }
}
