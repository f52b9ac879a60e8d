/// What a command does with a sentence longer than `--max-length` tokens (`--overlong`).
///
/// Memory and time of a sentence grow with its length, and a biLM saw sentences, not documents, in training, so a
/// limit keeps one huge line from taking all memory. `split` cuts the sentence into consecutive windows of at most
/// `--max-length` tokens, runs each on its own (from a zero state, with its own `<S>` and `</S>`) and joins the
/// results in token order: every token gets a vector, but tokens near a window's edge see only their own window's
/// context (as if the sentence ended there).
public enum OverlongPolicy: String, CaseIterable, Sendable {
    /// Refuse the input, naming the line (the default).
    case error
    /// Keep the first `--max-length` tokens; the rest get no vectors (or tags).
    case truncate
    /// Run windows of `--max-length` tokens and stitch them (see the type's comment).
    case split

    /// The pieces to run for `tokens` under `maxLength`: the sentence itself when it fits; else its first
    /// `maxLength` tokens (`truncate`) or its windows in order (`split`). `error` never gets here with a long one.
    public func pieces(_ tokens: [String], maxLength: Int) -> [[String]] {
        precondition(maxLength >= 1, "OverlongPolicy.pieces: maxLength must be >= 1, not \(maxLength).")
        guard tokens.count > maxLength else { return [tokens] }
        switch self {
        case .error, .truncate: return [Array(tokens.prefix(maxLength))]
        case .split: return stride(from: 0, to: tokens.count, by: maxLength).map { Array(tokens[$0..<min($0 + maxLength, tokens.count)]) }
        }
    }
}
