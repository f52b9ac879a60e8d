/// An option whose value is one of a fixed list of names (optimizer, activation). Decoding a name outside the list
/// fails with `UnknownChoice` as the underlying error, so config errors can name the key, the value and the list.
public protocol ClosedSetOption: RawRepresentable, CaseIterable, Codable, Equatable, Sendable where RawValue == String {}

extension ClosedSetOption {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let value = Self(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown value \"\(name)\"",
                                                    underlyingError: UnknownChoice(value: name, allowed: Self.allCases.map(\.rawValue))))
        }
        self = value
    }

    /// The accepted names in words: `"relu" or "tanh"`, `"adagrad", "adam", "adamw" or "sgd"`.
    public static var allowedList: String { UnknownChoice.list(allCases.map(\.rawValue)) }
}

/// A closed-set option's value that is not in its set.
public struct UnknownChoice: Error {
    public var value: String
    public var allowed: [String]

    public var allowedList: String { Self.list(allowed) }

    /// Names quoted and joined in words: `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
    static func list(_ names: [String]) -> String {
        let quoted = names.map { "\"\($0)\"" }
        return quoted.count < 2 ? quoted.joined() : quoted.dropLast().joined(separator: ", ") + " or " + quoted.last!
    }
}
