import Foundation

/// `perplexity = exp(mean negative log-likelihood per token)`, natural log.
///
/// For a biLM the reported number is bilm-tf's: the training loss is the mean of the forward and backward mean
/// losses, and the perplexity is `exp` of that, i.e. the geometric mean of the two directions' perplexities
/// (not their arithmetic mean).
public enum Perplexity {
    /// `exp(meanNLL)`.
    public static func fromMeanNLL(_ meanNLL: Double) -> Double { exp(meanNLL) }

    /// `exp(totalNLL / tokens)` for a sum of per-token losses.
    public static func fromTotalNLL(_ totalNLL: Double, tokens: Int) -> Double {
        precondition(tokens > 0, "Perplexity needs at least one token, got \(tokens).")
        return exp(totalNLL / Double(tokens))
    }

    /// `exp((forward + backward) / 2)` for the two directions' mean losses, as bilm-tf reports it.
    public static func bidirectional(forwardMeanNLL: Double, backwardMeanNLL: Double) -> Double {
        exp((forwardMeanNLL + backwardMeanNLL) / 2)
    }
}
