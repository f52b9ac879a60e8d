/// Reads `word/TAG word/TAG ...` text, one sentence per line (the layout of the default POS data,
/// `tagged-en-oanc.txt`). Each whitespace-separated token is split at its LAST `/`, so words may contain `/`
/// (`1/2/CD` is the word `1/2` with tag `CD`); a token without `/`, or with nothing on one side of it, is an
/// error naming the file and line. Blank lines are skipped.
public enum SlashTaggedReader {
    public static func read(path: String) throws -> [TaggedSentence] {
        var sentences: [TaggedSentence] = []
        for (index, line) in try DataFile.readLines(path: path).enumerated() {
            let pieces = DataFile.tokens(line[...])
            if pieces.isEmpty { continue }
            var tokens: [String] = []
            var tags: [String] = []
            tokens.reserveCapacity(pieces.count)
            tags.reserveCapacity(pieces.count)
            for piece in pieces {
                guard let slash = piece.lastIndex(of: "/"), slash != piece.startIndex,
                      piece.index(after: slash) != piece.endIndex else {
                    throw TextError.malformedTaggedToken(path: path, line: index + 1, token: piece)
                }
                tokens.append(String(piece[..<slash]))
                tags.append(String(piece[piece.index(after: slash)...]))
            }
            sentences.append(TaggedSentence(tokens: tokens, tags: tags, line: index + 1))
        }
        guard !sentences.isEmpty else { throw TextError.noExamples(path: path) }
        return sentences
    }
}
