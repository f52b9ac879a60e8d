/// Element types of `.npy` arrays this package reads and writes, keyed by numpy's `descr` string.
///
/// Only little-endian types: checkpoints are written on little-endian hosts (x86_64, arm64), which
/// is also what numpy writes there.
public enum NpyDType: String, Sendable, CaseIterable {
    case float32 = "<f4"
    case float16 = "<f2"
    case int32 = "<i4"
    case int64 = "<i8"
    case uint64 = "<u8"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float16: return 2
        case .float32, .int32: return 4
        case .int64, .uint64: return 8
        }
    }
}

/// The header of one `.npy` array: dtype, memory order and shape.
public struct NpyHeader: Equatable, Sendable {
    /// The `descr` as found; may name a dtype outside `NpyDType` (e.g. `'<f8'`), which callers refuse.
    public var descr: String
    public var fortranOrder: Bool
    public var shape: [Int]

    public init(descr: String, fortranOrder: Bool = false, shape: [Int]) {
        self.descr = descr
        self.fortranOrder = fortranOrder
        self.shape = shape
    }

    /// The dtype, if it is one this package supports.
    public var dtype: NpyDType? { NpyDType(rawValue: descr) }
    /// Product of the shape (1 for a scalar, shape `()`).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// NPY format (numpy's `np.save`): `\x93NUMPY`, version bytes, a little-endian header length (uint16 in
/// v1.0, uint32 in v2.0), then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
/// padded with spaces and ended by `\n` so that the data starts at a multiple of 64 bytes, then the raw
/// elements in C order.
///
/// The encoder reproduces numpy's bytes exactly, including the spare spaces numpy leaves for growing the
/// first axis in place, so our members are byte-identical to `np.save` output.
public enum NpyFormat {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]   // "\x93NUMPY"
    /// Data starts on a multiple of this (numpy's ARRAY_ALIGN), so the array can be memory-mapped.
    static let alignment = 64
    /// numpy's GROWTH_AXIS_MAX_DIGITS: room left in the header to rewrite the first axis in place.
    static let growthAxisMaxDigits = 21
    /// Enough leading bytes of any `.npy` file to know its full header size (v2.0 prefix: 6 + 2 + 4).
    public static let prefixLength = 12

    /// The complete header (magic through the final `\n`) for a C-order array of `dtype` with `shape`;
    /// the element bytes follow it directly. Uses v1.0 unless the header exceeds 65,535 bytes.
    public static func encodeHeader(dtype: NpyDType, shape: [Int]) -> [UInt8] {
        precondition(shape.allSatisfy { $0 >= 0 }, "NPY shape must be non-negative, but is \(shape).")
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first {
            dict += String(repeating: " ", count: max(0, growthAxisMaxDigits - String(first).count))
        }
        let text = Array(dict.utf8)
        // numpy's _wrap_header: padlen = 64 - ((prefix + len + 1) % 64), always 1…64 spaces, then '\n'.
        for (version, lengthBytes) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let prefix = magic.count + 2 + lengthBytes
            let padding = alignment - (prefix + text.count + 1) % alignment
            let headerLength = text.count + padding + 1
            if lengthBytes == 2 && headerLength > Int(UInt16.max) { continue }
            var out = magic + [version, 0]
            out.reserveCapacity(prefix + headerLength)
            for i in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: headerLength >> (8 * i))) }
            out += text
            out += [UInt8](repeating: 0x20, count: padding)
            out.append(0x0A)
            return out
        }
        preconditionFailure("NPY header of \(text.count) bytes exceeds even v2.0's limit.")
    }

    /// Total header size (magic through `\n`) from the first `prefixLength` bytes of a member.
    public static func headerSize(prefix: [UInt8], path: String, member: String) throws -> Int {
        guard prefix.count >= prefixLength, Array(prefix[0..<6]) == magic else {
            throw StorageError.corruptMember(path: path, member: member,
                                                reason: "it does not start with the NPY magic '\\x93NUMPY'")
        }
        switch prefix[6] {
        case 1:
            return 10 + (Int(prefix[8]) | Int(prefix[9]) << 8)
        case 2, 3:
            return 12 + (Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24)
        default:
            throw StorageError.corruptMember(path: path, member: member,
                                                reason: "NPY format version \(prefix[6]).\(prefix[7]) is not 1.0, 2.0 or 3.0")
        }
    }

    /// Parses a complete header (as sized by `headerSize`). Errors name `member` of `path`.
    public static func decodeHeader(_ bytes: [UInt8], path: String, member: String) throws -> NpyHeader {
        let size = try headerSize(prefix: Array(bytes.prefix(prefixLength)), path: path, member: member)
        guard size == bytes.count else {
            throw StorageError.corruptMember(path: path, member: member,
                                                reason: "its NPY header length field says \(size) bytes, but \(bytes.count) were given")
        }
        let start = bytes[6] == 1 ? 10 : 12
        let text = String(decoding: bytes[start...], as: UTF8.self)
        var parser = DictParser(text: text)
        guard let dict = parser.parseDict(),
              case .string(let descr)? = dict["descr"],
              case .bool(let fortranOrder)? = dict["fortran_order"],
              case .tuple(let shape)? = dict["shape"] else {
            throw StorageError.corruptMember(path: path, member: member,
                                                reason: "unreadable NPY header \(text.trimmingTrailingSpaces.debugDescription)")
        }
        return NpyHeader(descr: descr, fortranOrder: fortranOrder, shape: shape)
    }
}

/// Parses the Python dict literal of an NPY header: string keys; values that are strings, `True`/`False`
/// or tuples of non-negative integers. Returns nil on anything else.
private struct DictParser {
    enum Value { case string(String), bool(Bool), tuple([Int]) }

    let chars: [Character]
    var index = 0

    init(text: String) { chars = Array(text) }

    mutating func parseDict() -> [String: Value]? {
        skipSpace()
        guard take("{") else { return nil }
        var result: [String: Value] = [:]
        while true {
            skipSpace()
            if take("}") { return result }
            guard let key = parseString() else { return nil }
            skipSpace()
            guard take(":") else { return nil }
            skipSpace()
            guard let value = parseValue() else { return nil }
            result[key] = value
            skipSpace()
            if !take(",") {
                skipSpace()
                return take("}") ? result : nil
            }
        }
    }

    private mutating func parseValue() -> Value? {
        if let s = parseString() { return .string(s) }
        if takeWord("True") { return .bool(true) }
        if takeWord("False") { return .bool(false) }
        guard take("(") else { return nil }
        var dims: [Int] = []
        while true {
            skipSpace()
            if take(")") { return .tuple(dims) }
            var digits = ""
            while index < chars.count, chars[index].isASCII, chars[index].isNumber {
                digits.append(chars[index])
                index += 1
            }
            _ = take("L")   // Python 2 longs, e.g. (3L, 4L)
            guard let dim = Int(digits) else { return nil }
            dims.append(dim)
            skipSpace()
            if !take(",") {
                skipSpace()
                return take(")") ? .tuple(dims) : nil
            }
        }
    }

    private mutating func parseString() -> String? {
        guard index < chars.count, chars[index] == "'" || chars[index] == "\"" else { return nil }
        let quote = chars[index]
        var end = index + 1
        while end < chars.count, chars[end] != quote { end += 1 }
        guard end < chars.count else { return nil }
        let s = String(chars[(index + 1)..<end])
        index = end + 1
        return s
    }

    private mutating func skipSpace() {
        while index < chars.count, chars[index].isWhitespace { index += 1 }
    }

    private mutating func take(_ c: Character) -> Bool {
        guard index < chars.count, chars[index] == c else { return false }
        index += 1
        return true
    }

    private mutating func takeWord(_ word: String) -> Bool {
        let w = Array(word)
        guard index + w.count <= chars.count, Array(chars[index..<(index + w.count)]) == w else { return false }
        index += w.count
        return true
    }
}

private extension String {
    var trimmingTrailingSpaces: Substring {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return s
    }
}
