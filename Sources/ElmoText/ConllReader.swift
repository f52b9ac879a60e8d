/// Reads tagged sentences from CoNLL-style column files.
///
/// - `.conll`: whitespace-separated columns, one token per line, a blank line between sentences, `-DOCSTART-`
///   lines skipped (CoNLL-2000/2002/2003 layout). The first token line of the file fixes the column count;
///   every other token line must match it, so a shifted or missing column is an error naming file:line rather
///   than a wrong tag. `tokenColumn` and `tagColumn` are 0-based; negative values count from the end
///   (`-1` = last column, where these files keep the gold tag).
/// - `.conllu`: CoNLL-U, 10 tab-separated columns `ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC`.
///   The token is FORM, the tag UPOS (or XPOS with `useXPOS`); `#` comment lines, multiword-token ranges
///   (`1-2`) and empty nodes (`1.1`) are skipped, since their words are already covered by the plain
///   integer-ID lines. Integer IDs must count 1, 2, 3, … within a sentence.
public struct ConllReader {
    public enum Format: String, CaseIterable {
        case conll, conllu
    }

    public var format: Format
    public var tokenColumn: Int
    public var tagColumn: Int
    public var useXPOS: Bool

    public init(format: Format = .conll, tokenColumn: Int = 0, tagColumn: Int = -1, useXPOS: Bool = false) {
        self.format = format
        self.tokenColumn = tokenColumn
        self.tagColumn = tagColumn
        self.useXPOS = useXPOS
    }

    public func read(path: String) throws -> [TaggedSentence] {
        let lines = try DataFile.readLines(path: path)
        let sentences = try format == .conll ? readConll(lines, path: path) : readConllu(lines, path: path)
        guard !sentences.isEmpty else { throw TextError.noExamples(path: path) }
        return sentences
    }

    /// Collects tokens until a sentence boundary, then emits the sentence if it has any.
    private struct SentenceBuilder {
        var tokens: [String] = []
        var tags: [String] = []
        var firstLine = 0
        var sentences: [TaggedSentence] = []

        mutating func add(token: String, tag: String, line: Int) {
            if tokens.isEmpty { firstLine = line }
            tokens.append(token)
            tags.append(tag)
        }

        mutating func finishSentence() {
            guard !tokens.isEmpty else { return }
            sentences.append(TaggedSentence(tokens: tokens, tags: tags, line: firstLine))
            tokens.removeAll(keepingCapacity: true)
            tags.removeAll(keepingCapacity: true)
        }
    }

    /// Whether most fields of a line are `word/TAG` pairs (a slash with text on both sides).
    static func looksSlashTagged(_ fields: [Substring]) -> Bool {
        let pairs = fields.filter { field in
            guard let slash = field.lastIndex(of: "/") else { return false }
            return slash != field.startIndex && field.index(after: slash) != field.endIndex
        }
        return fields.count >= 2 && pairs.count * 2 > fields.count
    }

    private func readConll(_ lines: [String], path: String) throws -> [TaggedSentence] {
        var builder = SentenceBuilder()
        var layout: (columns: Int, line: Int, token: Int, tag: Int)?
        for (index, line) in lines.enumerated() {
            let fields = line.split(whereSeparator: \.isWhitespace)
            if fields.isEmpty || fields[0] == "-DOCSTART-" {
                builder.finishSentence()
                continue
            }
            if layout == nil {
                let token = tokenColumn < 0 ? fields.count + tokenColumn : tokenColumn
                let tag = tagColumn < 0 ? fields.count + tagColumn : tagColumn
                for (given, resolved) in [(tokenColumn, token), (tagColumn, tag)]
                    where !fields.indices.contains(resolved) {
                    throw TextError.columnOutOfRange(path: path, line: index + 1, column: given,
                                                     columnCount: fields.count)
                }
                layout = (fields.count, index + 1, token, tag)
            }
            guard let layout else { preconditionFailure("layout is set on the first token line") }
            guard fields.count == layout.columns else {
                if Self.looksSlashTagged(fields) { throw TextError.looksSlashTagged(path: path, line: index + 1) }
                throw TextError.columnCountMismatch(path: path, line: index + 1, found: fields.count,
                                                    expected: layout.columns, layoutLine: layout.line)
            }
            builder.add(token: String(fields[layout.token]), tag: String(fields[layout.tag]), line: index + 1)
        }
        builder.finishSentence()
        return builder.sentences
    }

    private func readConllu(_ lines: [String], path: String) throws -> [TaggedSentence] {
        let tagIndex = useXPOS ? 4 : 3
        var builder = SentenceBuilder()
        for (index, line) in lines.enumerated() {
            let lineNumber = index + 1
            if line.allSatisfy(\.isWhitespace) {
                builder.finishSentence()
                continue
            }
            if line.hasPrefix("#") { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 10 else {
                throw TextError.conlluColumnCount(path: path, line: lineNumber, found: fields.count)
            }
            let expected = builder.tokens.count + 1
            switch Self.parseID(fields[0]) {
            case .word(let id) where id == expected:
                let tag = fields[tagIndex]
                guard tag != "_" else {
                    throw TextError.unspecifiedTag(path: path, line: lineNumber, column: useXPOS ? "XPOS" : "UPOS")
                }
                builder.add(token: String(fields[1]), tag: String(tag), line: lineNumber)
            case .range, .emptyNode:
                continue
            case .word, nil:
                throw TextError.malformedConlluID(path: path, line: lineNumber, id: String(fields[0]),
                                                  expected: expected)
            }
        }
        builder.finishSentence()
        return builder.sentences
    }

    private enum ConlluID {
        case word(Int), range, emptyNode
    }

    /// `N` (a word), `N-M` (a multiword token), `N.M` (an empty node); anything else is malformed (`nil`).
    private static func parseID(_ id: Substring) -> ConlluID? {
        let isNumber = { (part: Substring) in !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber } }
        if isNumber(id) { return Int(id).map(ConlluID.word) }
        for (separator, kind) in [("-", ConlluID.range), (".", ConlluID.emptyNode)] {
            let parts = id.split(separator: Character(separator), omittingEmptySubsequences: false)
            if parts.count == 2 && parts.allSatisfy(isNumber) { return kind }
        }
        return nil
    }
}
