/// One classification example: a label and the whitespace-split tokens of its text.
public struct LabeledSentence: Equatable {
    public var label: String
    public var tokens: [String]
    /// Where the example starts in its file (1-based): the line for TSV, the record number for CSV.
    public var line: Int

    public init(label: String, tokens: [String], line: Int) {
        self.label = label
        self.tokens = tokens
        self.line = line
    }
}
