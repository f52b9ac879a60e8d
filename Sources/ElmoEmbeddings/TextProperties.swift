/// Simple properties of each token of a text, the ones interpretable LSTM cells are known to track (Karpathy,
/// Johnson and Fei-Fei 2015): position in the sentence, inside quotes, inside brackets, capitalised, numeric,
/// punctuation, sentence end. Each is a number per token (0/1 for the yes-or-no ones) in reading order.
///
/// Quotes and brackets are tracked within a sentence (an unclosed one ends with it): `"` toggles, `` `` ``/`''`
/// (Penn/Brown style), `“`/`”`, `‘`/`’` and `«`/`»` open and close; `(`, `[`, `{` and `)`, `]`, `}` nest. The
/// quote and bracket tokens themselves count as inside.
public enum TextProperty: String, CaseIterable, Codable, Sendable {
    case position
    case insideQuotes = "inside_quotes"
    case insideBrackets = "inside_brackets"
    case capitalised
    case numeric
    case punctuation
    case sentenceEnd = "sentence_end"

    /// What the page and `--json` call it.
    public var label: String {
        switch self {
        case .position: return "position in sentence"
        case .insideQuotes: return "inside quotes"
        case .insideBrackets: return "inside brackets"
        case .capitalised: return "capitalised"
        case .numeric: return "numeric"
        case .punctuation: return "punctuation"
        case .sentenceEnd: return "sentence end"
        }
    }

    /// The property's value for every token of `sentences`, in reading order.
    public func values(_ sentences: [[String]]) -> [Float] {
        sentences.flatMap { sentence -> [Float] in
            switch self {
            case .position: return sentence.indices.map(Float.init)
            case .insideQuotes: return Self.insideQuotes(sentence)
            case .insideBrackets: return Self.insideBrackets(sentence)
            case .capitalised: return sentence.map { ($0.first?.isUppercase ?? false) ? 1 : 0 }
            case .numeric: return sentence.map { Self.isNumeric($0) ? 1 : 0 }
            case .punctuation: return sentence.map { $0.allSatisfy { $0.isPunctuation || $0.isSymbol } ? 1 : 0 }
            case .sentenceEnd: return sentence.indices.map { $0 == sentence.count - 1 ? 1 : 0 }
            }
        }
    }

    static let openingQuotes: Set<String> = ["``", "“", "‘", "«", "`"]
    static let closingQuotes: Set<String> = ["''", "”", "’", "»", "'"]
    static let toggleQuotes: Set<String> = ["\""]

    static func insideQuotes(_ sentence: [String]) -> [Float] {
        var depth = 0
        return sentence.map { token in
            if openingQuotes.contains(token) || (toggleQuotes.contains(token) && depth == 0) {
                depth += 1
                return 1
            }
            if closingQuotes.contains(token) || toggleQuotes.contains(token) {
                let inside: Float = depth > 0 ? 1 : 0
                depth = max(depth - 1, 0)
                return inside
            }
            return depth > 0 ? 1 : 0
        }
    }

    static func insideBrackets(_ sentence: [String]) -> [Float] {
        var depth = 0
        return sentence.map { token in
            if ["(", "[", "{", "-LRB-", "-LSB-", "-LCB-"].contains(token) { depth += 1; return 1 }
            if [")", "]", "}", "-RRB-", "-RSB-", "-RCB-"].contains(token) {
                let inside: Float = depth > 0 ? 1 : 0
                depth = max(depth - 1, 0)
                return inside
            }
            return depth > 0 ? 1 : 0
        }
    }

    /// Digits, possibly with `.,:/-%` between or around them ("3", "1,000", "12.5", "1960s" is not).
    static func isNumeric(_ token: String) -> Bool {
        token.contains { $0.isNumber } && token.allSatisfy { $0.isNumber || ".,:/-%$".contains($0) }
    }
}
