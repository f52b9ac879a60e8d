/// A labelled chunk of a tagged sentence: tokens `start..<end` of type `type` (e.g. `PER`).
public struct Span: Hashable, Codable {
    public var type: String
    public var start: Int
    /// Exclusive.
    public var end: Int

    public init(type: String, start: Int, end: Int) {
        self.type = type
        self.start = start
        self.end = end
    }
}

/// Chunk decoding exactly as conlleval does it, so that span F1 matches conlleval's numbers on any input,
/// well-formed or not (model predictions need not obey the tag scheme).
///
/// A tag is split at its first `-` into a prefix and a type (`B-PER` → `B`, `PER`; `O` → `O`, `""`), and a chunk
/// boundary between two tags follows `endOfChunk` / `startOfChunk` of conlleval.pl: `B` starts a chunk; `I` after
/// `O` or after a different type starts one (so IOB1, BIO and sloppy predictions all decode); a type change ends
/// the running chunk; `[` and `]` are one-token chunks. conlleval.pl predates BIOES, so `E-`/`S-` follow the
/// widely used conlleval.py port (PyPI `conlleval`) that adds them (a chunk ends after `E` or `S`; `S` starts one; `E`/`I` after
/// `E`/`S` start one). For IOB1 and BIO input the two agree exactly. A chunk that starts while another is still
/// open closes the open one there.
///
/// At the end of a sentence every open chunk ends (conlleval's boundary line ends all chunks of B/I/E/S tags;
/// only a chunk of odd tags such as `.` could stay open there). `SpanF1Report` counts with conlleval's own state
/// machine on top of `startOfChunk` / `endOfChunk`, so its numbers match conlleval even on such tags.
public enum SpanDecoder {
    public static func spans(_ tags: [String]) -> [Span] {
        var spans: [Span] = []
        var open: (type: Substring, start: Int)?
        var previous: (prefix: Substring, type: Substring) = ("O", "")
        for (position, tag) in tags.enumerated() {
            let current = split(tag)
            if let chunk = open, endOfChunk(previous: previous, current: current) {
                spans.append(Span(type: String(chunk.type), start: chunk.start, end: position))
                open = nil
            }
            if startOfChunk(previous: previous, current: current) {
                if let chunk = open {
                    spans.append(Span(type: String(chunk.type), start: chunk.start, end: position))
                }
                open = (current.type, position)
            }
            previous = current
        }
        if let chunk = open {
            spans.append(Span(type: String(chunk.type), start: chunk.start, end: tags.count))
        }
        return spans
    }

    /// conlleval's `/^([^-]*)-(.*)$/`: prefix before the first `-`, type after it; no `-` → the whole tag, type "".
    public static func split(_ tag: String) -> (prefix: Substring, type: Substring) {
        guard let dash = tag.firstIndex(of: "-") else { return (tag[...], "") }
        return (tag[..<dash], tag[tag.index(after: dash)...])
    }

    /// conlleval's `endOfChunk`: whether a chunk ends between `previous` and `current` (extended for E-/S-).
    public static func endOfChunk(previous: (prefix: Substring, type: Substring),
                           current: (prefix: Substring, type: Substring)) -> Bool {
        switch (previous.prefix, current.prefix) {
        case ("E", _), ("S", _), ("[", _), ("]", _): return true
        case ("B", "B"), ("B", "S"), ("B", "O"), ("I", "B"), ("I", "S"), ("I", "O"): return true
        default: return previous.prefix != "O" && previous.prefix != "." && previous.type != current.type
        }
    }

    /// conlleval's `startOfChunk`: whether a chunk starts at `current` (extended for E-/S-).
    public static func startOfChunk(previous: (prefix: Substring, type: Substring),
                             current: (prefix: Substring, type: Substring)) -> Bool {
        switch (previous.prefix, current.prefix) {
        case (_, "B"), (_, "S"), (_, "["), (_, "]"): return true
        case ("E", "E"), ("E", "I"), ("S", "E"), ("S", "I"), ("O", "E"), ("O", "I"): return true
        default: return current.prefix != "O" && current.prefix != "." && previous.type != current.type
        }
    }
}
