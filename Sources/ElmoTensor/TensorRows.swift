/// Row-block copies: joining and splitting tensors along their first dimension (cheap relative to the gemms
/// around them; used to run both biLM directions through one char-CNN and one softmax call), as backend copies.
extension Tensor {
    /// Stacks tensors with equal trailing shapes along dimension 0.
    public static func concatenatingRows(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatenatingRows needs at least one tensor.")
        let tail = Array(parts[0].shape.dropFirst())
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == tail, "concatenatingRows: shapes \(parts.map(\.shape)) differ after dimension 0.")
        }
        var out = Tensor(zeros: [parts.reduce(0) { $0 + $1.shape[0] }] + tail)
        var offset = 0
        for p in parts {
            Backends.current.copy(p.view(MatrixWindow(rows: 1, columns: p.count)), into: &out,
                                  MatrixWindow(offset: offset, rows: 1, columns: p.count))
            offset += p.count
        }
        return out
    }

    /// Rows `range` of dimension 0, reshaped to `shape` (default: the same trailing shape).
    public func rows(_ range: Range<Int>, shape newShape: [Int]? = nil) -> Tensor {
        let rowSize = shape.isEmpty ? 1 : count / Swift.max(shape[0], 1)
        precondition(range.lowerBound >= 0 && range.upperBound <= (shape.first ?? 1),
                     "rows \(range) out of bounds for shape \(shape).")
        var part = Tensor(zeros: newShape ?? ([range.count] + shape.dropFirst()))
        precondition(part.count == range.count * rowSize, "rows \(range) of \(shape) do not fit shape \(part.shape).")
        Backends.current.copy(view(MatrixWindow(offset: range.lowerBound * rowSize, rows: 1, columns: part.count)), into: &part,
                              MatrixWindow(rows: 1, columns: part.count))
        return part
    }

    /// Reverses the order of the T steps of each sequence of a `[B, T, ...]` tensor, per sequence within its length
    /// (positions at or beyond a sequence's length stay where they are).
    public func reversingSteps(lengths: [Int]) -> Tensor {
        precondition(shape.count >= 2 && lengths.count == shape[0], "reversingSteps: \(lengths.count) lengths for shape \(shape).")
        let steps = shape[1], inner = count / Swift.max(shape[0] * steps, 1)
        var out = self
        let backend = Backends.current
        for b in 0..<shape[0] {
            let n = lengths[b]
            precondition(n <= steps, "reversingSteps: length \(n) exceeds \(steps) steps.")
            for t in 0..<n {
                backend.copy(view(MatrixWindow(offset: (b * steps + t) * inner, rows: 1, columns: inner)), into: &out,
                             MatrixWindow(offset: (b * steps + (n - 1 - t)) * inner, rows: 1, columns: inner))
            }
        }
        return out
    }
}
