/// How chunk tags mark spans. Every non-`O` tag is `PREFIX-TYPE`, split at the first `-`:
///
/// - `iob1` (CoNLL-2003 original): `I-X` inside a chunk, `B-X` only to start a chunk right after one of the same
///   type; a chunk otherwise starts with `I-X`.
/// - `bio` (IOB2): every chunk starts with `B-X`, continues with `I-X`.
/// - `bioes` (BIOUL): `S-X` single-token chunk; longer chunks are `B-X I-X… E-X`.
///
/// The transition rules are AllenNLP's `allowed_transitions` (IOB1, BIO, BIOUL), used as CRF decode constraints.
public enum TagScheme: String, CaseIterable, Codable {
    case iob1, bio, bioes

    /// The chunk prefixes the scheme uses besides `O`.
    public var prefixes: [Character] {
        switch self {
        case .iob1: return ["I", "B"]
        case .bio: return ["B", "I"]
        case .bioes: return ["B", "I", "E", "S"]
        }
    }

    /// The tag forms, for messages.
    public var tagForms: String {
        let forms = prefixes.map { "\($0)-TYPE" }
        return "O, " + forms.dropLast().joined(separator: ", ") + " or " + forms.last!
    }

    /// `(prefix, type)` of a valid tag, prefix `O` with empty type for outside; `nil` if the scheme has no such tag.
    private func parse(_ tag: String) -> (prefix: Character, type: Substring)? {
        if tag == "O" { return ("O", "") }
        let (prefix, type) = SpanDecoder.split(tag)
        guard prefix.count == 1, let character = prefix.first, prefixes.contains(character), !type.isEmpty else {
            return nil
        }
        return (character, type)
    }

    public func isValidTag(_ tag: String) -> Bool { parse(tag) != nil }

    /// Whether `to` may directly follow `from` inside a sentence (false if either is not a tag of this scheme).
    public func isAllowedTransition(from: String, to: String) -> Bool {
        guard let from = parse(from), let to = parse(to) else { return false }
        let sameType = from.type == to.type
        switch self {
        case .iob1:
            return to.prefix == "O" || to.prefix == "I" || (to.prefix == "B" && from.prefix != "O" && sameType)
        case .bio:
            return to.prefix == "O" || to.prefix == "B" || (to.prefix == "I" && from.prefix != "O" && sameType)
        case .bioes:
            let fromClosed = from.prefix == "O" || from.prefix == "E" || from.prefix == "S"
            let toOpens = to.prefix == "O" || to.prefix == "B" || to.prefix == "S"
            let fromOpen = from.prefix == "B" || from.prefix == "I"
            let toContinues = to.prefix == "I" || to.prefix == "E"
            return (fromClosed && toOpens) || (fromOpen && toContinues && sameType)
        }
    }

    /// Whether a sentence may start with `tag`.
    public func isAllowedStart(_ tag: String) -> Bool {
        guard let tag = parse(tag) else { return false }
        switch self {
        case .iob1: return tag.prefix != "B"
        case .bio: return tag.prefix != "I"
        case .bioes: return tag.prefix == "O" || tag.prefix == "B" || tag.prefix == "S"
        }
    }

    /// Whether a sentence may end with `tag`.
    public func isAllowedEnd(_ tag: String) -> Bool {
        guard let tag = parse(tag) else { return false }
        switch self {
        case .iob1, .bio: return true
        case .bioes: return tag.prefix == "O" || tag.prefix == "E" || tag.prefix == "S"
        }
    }

    /// Throws `TextError.invalidTag` / `.invalidTransition` (naming the tag and its 0-based position) unless
    /// every tag belongs to the scheme and every neighbour pair, start and end are allowed.
    public func validate(_ tags: [String]) throws {
        for (position, tag) in tags.enumerated() where !isValidTag(tag) {
            throw TextError.invalidTag(tag: tag, position: position, scheme: rawValue)
        }
        guard let first = tags.first, let last = tags.last else { return }
        if !isAllowedStart(first) {
            throw TextError.invalidTransition(from: nil, to: first, position: 0, scheme: rawValue)
        }
        for position in tags.indices.dropFirst()
            where !isAllowedTransition(from: tags[position - 1], to: tags[position]) {
            throw TextError.invalidTransition(from: tags[position - 1], to: tags[position], position: position,
                                              scheme: rawValue)
        }
        if !isAllowedEnd(last) {
            throw TextError.invalidTransition(from: last, to: nil, position: tags.count - 1, scheme: rawValue)
        }
    }

    /// The chunks of a tag sequence. Every tag must be of the scheme's forms (else `TextError.invalidTag`), but
    /// transitions are read leniently, the way conlleval scores them (e.g. a BIO `I-X` after `O` starts a chunk):
    /// real corpora have the odd ill-formed sequence (CoNLL-2002 Spanish has one per file), and converting it
    /// as the evaluation reads it keeps training and scoring consistent. Use `validate` for a strict check.
    public func spans(_ tags: [String]) throws -> [Span] {
        for (position, tag) in tags.enumerated() where !isValidTag(tag) {
            throw TextError.invalidTag(tag: tag, position: position, scheme: rawValue)
        }
        return SpanDecoder.spans(tags)
    }

    /// Tags for `count` tokens carrying `spans` (sorted, non-overlapping, inside `0..<count`).
    public func tags(for spans: [Span], count: Int) -> [String] {
        var tags = [String](repeating: "O", count: count)
        var previous: Span?
        for span in spans {
            precondition(span.start >= (previous?.end ?? 0) && span.start < span.end && span.end <= count,
                         "Span \(span) overlaps \(String(describing: previous)) or lies outside 0..<\(count).")
            let length = span.end - span.start
            for position in span.start..<span.end { tags[position] = "I-" + span.type }
            switch self {
            case .iob1:
                // B- only separates a chunk from an adjacent one of the same type.
                if let previous, previous.end == span.start, previous.type == span.type {
                    tags[span.start] = "B-" + span.type
                }
            case .bio:
                tags[span.start] = "B-" + span.type
            case .bioes:
                if length == 1 {
                    tags[span.start] = "S-" + span.type
                } else {
                    tags[span.start] = "B-" + span.type
                    tags[span.end - 1] = "E-" + span.type
                }
            }
            previous = span
        }
        return tags
    }

    /// Re-tags a sentence from one scheme to another through its spans (see `spans` for how ill-formed
    /// transitions are read); throws if a tag is not of `from`'s forms.
    public static func convert(_ tags: [String], from: TagScheme, to: TagScheme) throws -> [String] {
        to.tags(for: try from.spans(tags), count: tags.count)
    }
}
