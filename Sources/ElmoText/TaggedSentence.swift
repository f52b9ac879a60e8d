/// One sequence-labelling example: tokens and one tag per token.
public struct TaggedSentence: Equatable {
    public var tokens: [String]
    public var tags: [String]
    /// The 1-based line of the sentence's first token in its file.
    public var line: Int

    public init(tokens: [String], tags: [String], line: Int) {
        precondition(tokens.count == tags.count,
                     "TaggedSentence needs one tag per token, got \(tokens.count) tokens and \(tags.count) tags.")
        self.tokens = tokens
        self.tags = tags
        self.line = line
    }
}
