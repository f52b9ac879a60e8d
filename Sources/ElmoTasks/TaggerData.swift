import ElmoText

/// The layout of a tagging data file.
public enum TaggerDataFormat: String, Codable, CaseIterable, Sendable {
    /// Whitespace-separated columns, one token per line, blank line between sentences (`ConllReader`, `.conll`).
    case conll
    /// CoNLL-U: FORM with UPOS (or XPOS) (`ConllReader`, `.conllu`).
    case conllu
    /// `word/TAG word/TAG …`, one sentence per line (`SlashTaggedReader`; the default POS data).
    case slash
}

/// How tagging files are read (stored in `task.json`, so evaluation reads test files the same way unless told
/// otherwise): the format, and for `conll` the token and tag columns (0-based, negative counts from the end),
/// for `conllu` UPOS or XPOS.
public struct TaggerDataSettings: Codable, Equatable {
    public var format: TaggerDataFormat = .conll
    public var tokenColumn = 0
    public var tagColumn = -1
    public var useXPOS = false

    public init() {}

    /// Every sentence of the file; errors (`TextError`) name the file and line.
    public func read(path: String) throws -> [TaggedSentence] {
        switch format {
        case .conll:
            return try ConllReader(format: .conll, tokenColumn: tokenColumn, tagColumn: tagColumn).read(path: path)
        case .conllu:
            return try ConllReader(format: .conllu, useXPOS: useXPOS).read(path: path)
        case .slash:
            return try SlashTaggedReader.read(path: path)
        }
    }

    /// The 1-based line of token `position` of `sentence`: exact for `conll` (one token per line) and `slash` (one
    /// sentence per line); for `conllu` the sentence's first token line (multiword ranges may sit in between).
    public func line(of position: Int, in sentence: TaggedSentence) -> Int {
        format == .conll ? sentence.line + position : sentence.line
    }

    /// Reads a file and checks every tag against `scheme` (nil: any tag goes): a tag outside the scheme's forms
    /// (e.g. `X-PER` in BIO) is a `TaskError.invalidTag` naming the file and line. Transitions are not checked:
    /// real corpora have the odd ill-formed sequence, which training and conlleval read leniently.
    public func read(path: String, scheme: TagScheme?) throws -> [TaggedSentence] {
        let sentences = try read(path: path)
        if let scheme { try check(sentences, scheme: scheme, path: path) }
        return sentences
    }

    /// Throws `TaskError.invalidTag` for the first tag of `sentences` that `scheme` has no form for.
    public func check(_ sentences: [TaggedSentence], scheme: TagScheme, path: String) throws {
        for sentence in sentences {
            for (position, tag) in sentence.tags.enumerated() where !scheme.isValidTag(tag) {
                throw TaskError.invalidTag(path: path, line: line(of: position, in: sentence), token: sentence.tokens[position],
                                             tag: tag, scheme: scheme)
            }
        }
    }

    /// The scheme of chunk tags, or nil for plain tags (POS): nil unless every tag is `O` or `PREFIX-TYPE` of one
    /// scheme. `E-`/`S-` tags mean BIOES; otherwise BIO or IOB1, whichever leaves fewer sentences breaking its
    /// transition rules (IOB1 starts most chunks with `I-`, BIO never after `O`); ties go to BIO.
    public static func detectScheme(_ sentences: [TaggedSentence]) -> TagScheme? {
        let tags = Set(sentences.lazy.flatMap(\.tags))
        guard tags.contains(where: { $0 != "O" }) else { return nil }
        if tags.allSatisfy(TagScheme.bio.isValidTag) {
            func violations(_ scheme: TagScheme) -> Int {
                sentences.reduce(0) { count, sentence in count + ((try? scheme.validate(sentence.tags)) == nil ? 1 : 0) }
            }
            return violations(.iob1) < violations(.bio) ? .iob1 : .bio
        }
        return tags.allSatisfy(TagScheme.bioes.isValidTag) ? .bioes : nil
    }
}
