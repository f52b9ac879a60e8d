import ElmoEmbeddings

/// `--max-length` for fine-tuning data: activations (and, for the fine-tuned biLM, its caches) grow with the longest
/// sentence of a batch, so one huge example could take all memory. It is refused naming its line instead, with the
/// error and default (`EmbedSettings.defaultMaxLength`) that `embed` and `predict` use.
enum SentenceLengthLimit {
    /// Throws `EmbedError.lineTooLong` for the first example longer than `limit` tokens.
    static func check<Example>(_ examples: [Example], path: String, limit: Int,
                               tokens: (Example) -> Int, line: (Example) -> Int) throws {
        if let long = examples.first(where: { tokens($0) > limit }) {
            throw EmbedError.lineTooLong(path: path, line: line(long), tokens: tokens(long), limit: limit)
        }
    }
}
