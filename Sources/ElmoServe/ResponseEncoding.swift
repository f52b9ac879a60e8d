import ElmoBiLM
import ElmoStorage
import ElmoTensor
import Foundation

/// Writes embeddings as JSON numbers and as `.npy` bytes.
///
/// A float is written with Swift's shortest round-trip digits, so a client that parses it and rounds it to
/// float32 has exactly the number `elmo embed` stores.
enum ResponseEncoding {
    /// Appends `tensor` as nested JSON arrays, one level per dimension (`[n][D]`, `[L+1][n][D]`, or `[D]`).
    static func appendJSON(_ tensor: Tensor, to out: inout String) {
        tensor.withPointer { p in
            appendNested(p, shape: tensor.shape[...], to: &out)
        }
    }

    private static func appendNested(_ p: UnsafePointer<Float>, shape: ArraySlice<Int>, to out: inout String) {
        out.append("[")
        let count = shape.first ?? 0
        let stride = shape.dropFirst().reduce(1, *)
        for i in 0..<count {
            if i > 0 { out.append(",") }
            if shape.count == 1 {
                let value = p[i]
                out.append(value.isFinite ? value.description : "null")
            } else {
                appendNested(p + i * stride, shape: shape.dropFirst(), to: &out)
            }
        }
        out.append("]")
    }

    /// One `.npy` array `[N] + row shape` of the rows, little-endian float32.
    static func npy(rows: [Tensor]) -> [UInt8] {
        let rowShape = rows.first?.shape ?? []
        var bytes = NpyFormat.encodeHeader(dtype: .float32, shape: [rows.count] + rowShape)
        for row in rows {
            row.withPointer { p in
                bytes.append(contentsOf: UnsafeRawBufferPointer(start: p, count: row.count * MemoryLayout<Float>.size))
            }
        }
        return bytes
    }

    /// A JSON object as bytes (keys sorted).
    static func json(_ object: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }
}
