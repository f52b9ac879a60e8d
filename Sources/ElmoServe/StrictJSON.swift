/// RFC 8259 syntax, checked before parsing: Foundation's parser also takes trailing commas (`[1,]`, `{"a": 1,}`),
/// which other clients' JSON libraries refuse, so a body the server answers must be JSON for everyone. Reports the
/// byte offset of the first problem. UTF-8 validity is left to the parser that follows.
struct StrictJSON {
    struct SyntaxError: Error { let offset: Int; let expected: String }

    private let bytes: [UInt8]
    private var i = 0
    private var depth = 0
    /// Deeper nesting than any request needs is refused, so a body of 100,000 `[` cannot exhaust the stack.
    static let maximumDepth = 64

    static func check(_ bytes: [UInt8]) throws {
        var scanner = StrictJSON(bytes: bytes)
        scanner.skipSpace()
        try scanner.value()
        scanner.skipSpace()
        if scanner.i != bytes.count { throw SyntaxError(offset: scanner.i, expected: "the end of the body") }
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws {
        guard current == c else { throw SyntaxError(offset: i, expected: what) }
        i += 1
    }

    private mutating func value() throws {
        switch current {
        case UInt8(ascii: "{"): try container(close: UInt8(ascii: "}"), member: true)
        case UInt8(ascii: "["): try container(close: UInt8(ascii: "]"), member: false)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case let c? where c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c): try number()
        default: throw SyntaxError(offset: i, expected: "a JSON value")
        }
    }

    private mutating func container(close: UInt8, member: Bool) throws {
        depth += 1
        if depth > Self.maximumDepth { throw SyntaxError(offset: i, expected: "at most \(Self.maximumDepth) levels of nesting") }
        i += 1
        skipSpace()
        if current == close {
            i += 1
            depth -= 1
            return
        }
        while true {
            if member {
                guard current == UInt8(ascii: "\"") else { throw SyntaxError(offset: i, expected: "a quoted key") }
                try string()
                skipSpace()
                try expect(UInt8(ascii: ":"), "':'")
                skipSpace()
            }
            try value()
            skipSpace()
            if current == UInt8(ascii: ",") {
                i += 1
                skipSpace()
                continue  // a value must follow: `[1,]` fails in value()/string()
            }
            try expect(close, "',' or '\(Character(UnicodeScalar(close)))'")
            depth -= 1
            return
        }
    }

    private mutating func string() throws {
        i += 1
        while let c = current {
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return
            case UInt8(ascii: "\\"):
                i += 1
                guard let e = current else { break }
                if e == UInt8(ascii: "u") {
                    for k in 1...4 {
                        guard i + k < bytes.count, bytes[i + k].isHexDigit else { throw SyntaxError(offset: i + k, expected: "4 hex digits after \\u") }
                    }
                    i += 5
                } else if Array("\"\\/bfnrt".utf8).contains(e) {
                    i += 1
                } else {
                    throw SyntaxError(offset: i, expected: "an escape (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t, \\uXXXX)")
                }
            case 0..<0x20: throw SyntaxError(offset: i, expected: "no control character inside a string (escape it)")
            default: i += 1
            }
        }
        throw SyntaxError(offset: i, expected: "the closing '\"' of a string")
    }

    private mutating func literal(_ word: String) throws {
        for c in word.utf8 { try expect(c, "'\(word)'") }
    }

    private mutating func number() throws {
        if current == UInt8(ascii: "-") { i += 1 }
        guard let first = current, first.isDigit else { throw SyntaxError(offset: i, expected: "a digit") }
        i += 1
        if first != UInt8(ascii: "0") { while current?.isDigit == true { i += 1 } }
        if current == UInt8(ascii: ".") {
            i += 1
            guard current?.isDigit == true else { throw SyntaxError(offset: i, expected: "a digit after '.'") }
            while current?.isDigit == true { i += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            i += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { i += 1 }
            guard current?.isDigit == true else { throw SyntaxError(offset: i, expected: "a digit in the exponent") }
            while current?.isDigit == true { i += 1 }
        }
    }
}

private extension UInt8 {
    var isDigit: Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) }
    var isHexDigit: Bool { isDigit || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self | 0x20) }
}
