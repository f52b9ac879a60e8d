/// The longest sentence a fine-tuning run accepts. Activations (and, for the finetuned biLM, its caches) grow with
/// the longest sentence of a batch, so one huge example could take all memory; it is refused naming its line instead.
public enum SentenceLengthLimit {
    /// The default of `--max-length`, as for `embed` and `predict`.
    public static let defaultTokens = 1000

    /// Throws `TaskError.sentenceTooLong` for the first example longer than `limit` tokens.
    public static func check<Example>(_ examples: [Example], path: String, limit: Int,
                                      tokens: (Example) -> Int, line: (Example) -> Int) throws {
        if let long = examples.first(where: { tokens($0) > limit }) {
            throw TaskError.sentenceTooLong(path: path, line: line(long), tokens: tokens(long), limit: limit)
        }
    }
}
