import ElmoText
import Foundation

/// The unigram floor a language model must beat: valid perplexity under the add-one smoothed unigram
/// p(w) = (c(w) + 1) / (N + V) of the training targets (OOV words count as `<UNK>`, `</S>` once per sentence,
/// `<S>` never), scored on the valid file's forward targets — the PyTorch reference's `unigram_ppl`. (The reference
/// counts only the targets inside its B rows, leaving out the last N mod B; that difference is negligible.)
public enum UnigramBaseline {
    public static func perplexity(trainFiles: [String], validFile: String, vocabulary: Vocabulary) throws -> Double {
        var counts = [Double](repeating: 0, count: vocabulary.count)
        var total = 0.0
        try forEachTarget(in: trainFiles, vocabulary: vocabulary) { counts[Int($0)] += 1; total += 1 }
        let denominator = total + Double(vocabulary.count)
        var nll = 0.0, n = 0.0
        try forEachTarget(in: [validFile], vocabulary: vocabulary) { id in
            nll -= log((counts[Int(id)] + 1) / denominator)
            n += 1
        }
        return exp(nll / max(n, 1))
    }

    /// Forward targets of each sentence: its words (as vocabulary ids), then `</S>`.
    static func forEachTarget(in files: [String], vocabulary: Vocabulary, _ body: (Int32) -> Void) throws {
        for file in files {
            try LineReader(path: file).forEachLine { line, _ in
                var any = false
                Corpus.forEachToken(in: line) { any = true; body(vocabulary.id(of: $0)) }
                if any { body(vocabulary.eosId) }
            }
        }
    }
}
