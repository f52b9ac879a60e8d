import ElmoEmbeddings
import ElmoText
import Foundation

/// The sentences of a `/v1/embed`, `/v1/predict` or `/v1/score` body and its options, checked against the limits.
///
/// `{"sentences": [["tok", ...], ...]}` or `{"texts": ["raw text", ...]}` (split on whitespace, as `elmo embed`
/// splits a line); every problem is an `APIError` naming the field or the limit, never a crash.
struct SentenceRequest {
    var sentences: [[String]]
    var object: [String: Any]
    var tokenCount: Int { sentences.reduce(0) { $0 + $1.count } }

    init(body: Data, settings: ServeSettings) throws {
        let parsed: Any
        do {
            try StrictJSON.check([UInt8](body))
        } catch let error as StrictJSON.SyntaxError {
            throw APIError.badField("body", "the body is not valid JSON: at byte \(error.offset), expected \(error.expected)")
        }
        do {
            parsed = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch {
            throw APIError.badField("body", "the body is not valid JSON (UTF-8): \(Self.reason(error))")
        }
        guard let object = parsed as? [String: Any] else {
            throw APIError.badField("body", "the body must be a JSON object such as {\"sentences\": [[\"a\", \"b\"]]} or {\"texts\": [\"a b\"]}")
        }
        self.object = object
        switch (object["sentences"], object["texts"]) {
        case (nil, nil):
            throw APIError.badField("sentences", "give \"sentences\" (arrays of tokens) or \"texts\" (strings split on whitespace)")
        case (.some, .some):
            throw APIError.badField("texts", "give \"sentences\" or \"texts\", not both")
        case (let value?, nil):
            sentences = try Self.tokenArrays(value, settings: settings)
        case (nil, let value?):
            sentences = try Self.texts(value, settings: settings)
        }
        let tokens = tokenCount
        if tokens > settings.maxTokensPerRequest {
            throw APIError.overLimit("max_tokens_per_request", maximum: settings.maxTokensPerRequest,
                                     "the request holds \(tokens) tokens, more than --max-tokens-per-request \(settings.maxTokensPerRequest); send fewer per request")
        }
    }

    private static func checkCount(_ count: Int, field: String, settings: ServeSettings) throws {
        if count == 0 { throw APIError.badField(field, "\"\(field)\" is empty; send at least one sentence") }
        if count > settings.maxSentencesPerRequest {
            throw APIError.overLimit("max_sentences_per_request", maximum: settings.maxSentencesPerRequest,
                                     "\(count) sentences, more than --max-sentences-per-request \(settings.maxSentencesPerRequest)")
        }
    }

    private static func checkSentence(_ tokens: [String], field: String, settings: ServeSettings) throws {
        if tokens.isEmpty { throw APIError.badField(field, "\(field) has no tokens") }
        if tokens.count > settings.maxLength {
            throw APIError.overLimit("max_length", maximum: settings.maxLength,
                                     "\(field) has \(tokens.count) tokens, more than --max-length \(settings.maxLength); split it into sentences")
        }
    }

    static func tokenArrays(_ value: Any, settings: ServeSettings) throws -> [[String]] {
        guard let list = value as? [Any] else { throw APIError.badField("sentences", "\"sentences\" must be an array of arrays of strings") }
        try checkCount(list.count, field: "sentences", settings: settings)
        return try list.enumerated().map { i, item in
            guard let tokens = item as? [Any] else { throw APIError.badField("sentences[\(i)]", "sentences[\(i)] must be an array of strings") }
            let strings: [String] = try tokens.enumerated().map { j, token in
                guard let string = token as? String else {
                    throw APIError.badField("sentences[\(i)][\(j)]", "sentences[\(i)][\(j)] must be a string")
                }
                // A token `elmo embed` could never produce (empty, or holding whitespace) has no equal there.
                if string.isEmpty || string.unicodeScalars.contains(where: { CharacterSet.whitespacesAndNewlines.contains($0) }) {
                    throw APIError.badField("sentences[\(i)][\(j)]", "sentences[\(i)][\(j)] must be a non-empty token without whitespace")
                }
                return string
            }
            try checkSentence(strings, field: "sentences[\(i)]", settings: settings)
            return strings
        }
    }

    static func texts(_ value: Any, settings: ServeSettings) throws -> [[String]] {
        guard let list = value as? [Any] else { throw APIError.badField("texts", "\"texts\" must be an array of strings") }
        try checkCount(list.count, field: "texts", settings: settings)
        return try list.enumerated().map { i, item in
            guard let text = item as? String else { throw APIError.badField("texts[\(i)]", "texts[\(i)] must be a string") }
            let tokens = Corpus.tokens(of: text)
            try checkSentence(tokens, field: "texts[\(i)]", settings: settings)
            return tokens
        }
    }

    /// An optional string option among `allowed` (its default when absent).
    func option<T: RawRepresentable>(_ name: String, default value: T, allowed: [T]) throws -> T where T.RawValue == String {
        guard let raw = object[name] else { return value }
        guard let string = raw as? String, let parsed = T(rawValue: string), allowed.contains(where: { $0.rawValue == parsed.rawValue }) else {
            throw APIError.badField(name, "\"\(name)\" must be one of \(allowed.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return parsed
    }

    /// The first line of a JSONSerialization error (its full text is long and names internal keys).
    private static func reason(_ error: Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        return String(text.prefix(200))
    }
}
