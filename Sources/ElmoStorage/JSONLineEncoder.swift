import Foundation

/// One metrics record as a JSON line whose numbers read back as the very same `Double`s.
///
/// Foundation's `JSONSerialization` prints some doubles with one digit too few (32.980378744633825 came out as
/// 32.98037874463383, a different double), and the multi-rank equivalence checks compare losses read back from
/// `metrics.jsonl` bit for bit. Swift's own `description` is the shortest text that round-trips, so numbers are
/// written with it; strings go through `JSONSerialization` for their escaping. Keys are sorted; a non-finite number,
/// which JSON cannot hold, is written as `null`.
enum JSONLineEncoder {
    static func encode(_ record: [String: Any]) -> String? {
        value(record)
    }

    private static func value(_ any: Any) -> String? {
        switch any {
        case let flag as Bool: return flag ? "true" : "false"
        case let integer as Int: return String(integer)
        case let number as Double: return number.isFinite ? number.description : "null"
        case let number as Float: return number.isFinite ? Double(number).description : "null"
        case let text as String: return string(text)
        case let list as [Any]:
            let items = list.compactMap(value)
            return items.count == list.count ? "[" + items.joined(separator: ",") + "]" : nil
        case let object as [String: Any]:
            var parts: [String] = []
            for (key, item) in object.sorted(by: { $0.key < $1.key }) {
                guard let name = string(key), let text = value(item) else { return nil }
                parts.append(name + ":" + text)
            }
            return "{" + parts.joined(separator: ",") + "}"
        case let number as NSNumber: return value(number.doubleValue)
        default: return nil
        }
    }

    private static func string(_ text: String) -> String? {
        (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed])).flatMap { String(data: $0, encoding: .utf8) }
    }
}
