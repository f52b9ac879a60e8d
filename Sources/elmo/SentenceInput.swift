import ElmoText

/// Reads one tokenised sentence per line (whitespace tokens, `.gz` read transparently), skipping blank
/// lines, up to `maxTokens` tokens in all (the sentence that would pass the limit is not read). Throws when the file
/// holds no tokens.
func readSentences(_ path: String, maxTokens: Int? = nil) throws -> [[String]] {
    var sentences: [[String]] = []
    var tokens = 0
    let reader = try LineReader(path: path)
    while let line = try reader.nextLine() {
        let sentence = Corpus.tokens(of: line)
        if sentence.isEmpty { continue }
        if let maxTokens, tokens + sentence.count > maxTokens, !sentences.isEmpty { break }
        sentences.append(sentence)
        tokens += sentence.count
    }
    guard !sentences.isEmpty else { throw TextError.emptyCorpus(path) }
    return sentences
}
