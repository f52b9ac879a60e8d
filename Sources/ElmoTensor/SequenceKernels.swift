/// Kernels for padded batches of sequences `[B, T, F]` (B sequences, T steps, F features) with per-sequence lengths:
/// zeroing the padding, and joining / splitting feature blocks (the two directions of a bidirectional layer).
extension Kernels {
    /// x[b, t, :] = 0 for every t ≥ lengths[b] (so padding never leaks into a sum or a gradient).
    public static func zeroPadding(_ x: UnsafeMutablePointer<Float>, lengths: [Int], steps: Int, features: Int) {
        for (b, length) in lengths.enumerated() where length < steps {
            (x + (b * steps + length) * features).update(repeating: 0, count: (steps - length) * features)
        }
    }

    /// out[r, :] = [a[r, :]; b[r, :]] for `rows` rows; a is `[rows, aColumns]`, b `[rows, bColumns]`.
    public static func concatenateColumns(_ a: UnsafePointer<Float>, aColumns: Int, _ b: UnsafePointer<Float>, bColumns: Int,
                                          rows: Int, into out: UnsafeMutablePointer<Float>) {
        let width = aColumns + bColumns
        for r in 0..<rows {
            (out + r * width).update(from: a + r * aColumns, count: aColumns)
            (out + r * width + aColumns).update(from: b + r * bColumns, count: bColumns)
        }
    }

    /// Adjoint of `concatenateColumns`: a[r, :] = x[r, 0..<aColumns], b[r, :] = x[r, aColumns...] (overwrites a and b).
    public static func splitColumns(_ x: UnsafePointer<Float>, rows: Int, aColumns: Int, bColumns: Int,
                                    a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>) {
        let width = aColumns + bColumns
        for r in 0..<rows {
            (a + r * aColumns).update(from: x + r * width, count: aColumns)
            (b + r * bColumns).update(from: x + r * width + aColumns, count: bColumns)
        }
    }
}

extension Tensor {
    /// self += other, element-wise (equal element counts; gradients of one input reached by two paths).
    public mutating func add(_ other: Tensor) {
        precondition(count == other.count, "add: shapes \(shape) and \(other.shape) hold different element counts.")
        let n = count
        other.withPointer { src in withMutablePointer { Kernels.axpy(1, src, $0, n) } }
    }

    /// A copy of a `[B, T, ...]` tensor with every step at or beyond its sequence's length set to zero.
    public func zeroingPadding(lengths: [Int]) -> Tensor {
        precondition(shape.count >= 2 && lengths.count == shape[0], "zeroingPadding: \(lengths.count) lengths for shape \(shape).")
        var out = self
        let steps = shape[1], features = count / Swift.max(shape[0] * steps, 1)
        out.withMutablePointer { Kernels.zeroPadding($0, lengths: lengths, steps: steps, features: features) }
        return out
    }

    /// `[..., F1]` and `[..., F2]` with equal leading shapes → `[..., F1 + F2]`, each row `[a; b]`.
    public static func concatenatingColumns(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape.dropLast() == b.shape.dropLast(), "concatenatingColumns: leading shapes differ: \(a.shape) vs \(b.shape).")
        let (rows, aColumns) = a.matrixShape, bColumns = b.shape.last ?? 1
        var out = Tensor(zeros: Array(a.shape.dropLast()) + [aColumns + bColumns])
        a.withPointer { pa in
            b.withPointer { pb in
                out.withMutablePointer { Kernels.concatenateColumns(pa, aColumns: aColumns, pb, bColumns: bColumns, rows: rows, into: $0) }
            }
        }
        return out
    }

    /// Splits `[..., F]` after the first `columns` features → (`[..., columns]`, `[..., F − columns]`).
    public func splittingColumns(at columns: Int) -> (Tensor, Tensor) {
        let (rows, width) = matrixShape
        precondition(columns >= 0 && columns <= width, "splittingColumns: \(columns) columns of shape \(shape).")
        var a = Tensor(zeros: Array(shape.dropLast()) + [columns])
        var b = Tensor(zeros: Array(shape.dropLast()) + [width - columns])
        withPointer { px in
            a.withMutablePointer { pa in
                b.withMutablePointer { Kernels.splitColumns(px, rows: rows, aColumns: columns, bColumns: width - columns, a: pa, b: $0) }
            }
        }
        return (a, b)
    }
}
