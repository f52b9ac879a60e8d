import Foundation
import Hummingbird

/// A refused request: its status and a JSON body `{"error": message, "field": …}` or `{"error": message, "limit":
/// name, "maximum": value}`, so a client can tell which part of its request to change.
struct APIError: Error {
    var status: HTTPResponse.Status
    var message: String
    var field: String?
    var limit: String?
    var maximum: Int?

    /// 400: malformed JSON or a field of the wrong type or value.
    static func badField(_ field: String, _ message: String) -> APIError {
        APIError(status: .badRequest, message: message, field: field)
    }

    /// 413 (or 429 for the queue): over a limit.
    static func overLimit(_ limit: String, maximum: Int, _ message: String, status: HTTPResponse.Status = .contentTooLarge) -> APIError {
        APIError(status: status, message: message, limit: limit, maximum: maximum)
    }

    var json: [String: Any] {
        var object: [String: Any] = ["error": message]
        if let field { object["field"] = field }
        if let limit { object["limit"] = limit }
        if let maximum { object["maximum"] = maximum }
        return object
    }
}
