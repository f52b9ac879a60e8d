import Foundation

/// Reads a JSON line back into `[String: Any]` with every number exactly as written.
///
/// Foundation's `JSONSerialization` parser rounds some doubles to a neighbour (32.980378744633825 read back one ulp
/// off); `JSONDecoder` parses them exactly. Numbers come back as `NSNumber`, as from `JSONSerialization`, so readers
/// may ask for `Int` or `Double`; `null` comes back as `NSNull`.
enum JSONLineDecoder {
    static func decode(_ line: Substring) -> [String: Any]? {
        (try? JSONDecoder().decode(Value.self, from: Data(line.utf8)))?.object as? [String: Any]
    }

    private enum Value: Decodable {
        case null, flag(Bool), integer(Int), number(Double), text(String), list([Value]), object([String: Value])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let flag = try? container.decode(Bool.self) { self = .flag(flag) }
            else if let integer = try? container.decode(Int.self) { self = .integer(integer) }
            else if let number = try? container.decode(Double.self) { self = .number(number) }
            else if let text = try? container.decode(String.self) { self = .text(text) }
            else if let list = try? container.decode([Value].self) { self = .list(list) }
            else { self = .object(try container.decode([String: Value].self)) }
        }

        var object: Any {
            switch self {
            case .null: return NSNull()
            case let .flag(flag): return flag
            case let .integer(integer): return NSNumber(value: integer)
            case let .number(number): return NSNumber(value: number)
            case let .text(text): return text
            case let .list(list): return list.map(\.object)
            case let .object(object): return object.mapValues(\.object)
            }
        }
    }
}
