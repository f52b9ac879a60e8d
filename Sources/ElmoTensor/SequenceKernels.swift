import Foundation

/// Kernels for padded batches of sequences `[B, T, F]` (B sequences, T steps, F features) with per-sequence lengths:
/// zeroing the padding.
extension Kernels {
    /// x[b, t, :] = 0 for every t ≥ lengths[b] (so padding never leaks into a sum or a gradient).
    @usableFromInline package static func zeroPadding(_ x: UnsafeMutablePointer<Float>, lengths: [Int], steps: Int, features: Int) {
        for (b, length) in lengths.enumerated() where length < steps {
            (x + (b * steps + length) * features).update(repeating: 0, count: (steps - length) * features)
        }
    }
}

/// Sequence-batch conveniences on tensors, each a few calls of the current backend.
extension Tensor {
    /// self += other, element-wise (equal element counts; gradients of one input reached by two paths).
    @usableFromInline package mutating func add(_ other: Tensor) {
        precondition(count == other.count, "add: shapes \(shape) and \(other.shape) hold different element counts.")
        Backends.current.axpy(1, other, into: &self)
    }

    /// A copy of a `[B, T, ...]` tensor with every step at or beyond its sequence's length set to zero.
    @usableFromInline package func zeroingPadding(lengths: [Int]) -> Tensor {
        precondition(shape.count >= 2 && lengths.count == shape[0], "zeroingPadding: \(lengths.count) lengths for shape \(shape).")
        var out = self
        Backends.current.zeroPadding(&out, lengths: lengths)
        return out
    }

    /// `[..., F1]` and `[..., F2]` with equal leading shapes → `[..., F1 + F2]`, each row `[a; b]`.
    @usableFromInline package static func concatenatingColumns(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape.dropLast() == b.shape.dropLast(), "concatenatingColumns: leading shapes differ: \(a.shape) vs \(b.shape).")
        let (rows, aColumns) = a.matrixShape, bColumns = b.shape.last ?? 1
        let width = aColumns + bColumns
        var out = Tensor(zeros: Array(a.shape.dropLast()) + [width])
        let backend = Backends.current
        backend.copy(a.view(MatrixWindow(rows: rows, columns: aColumns)), into: &out, .columns(0..<aColumns, rows: rows, width: width))
        backend.copy(b.view(MatrixWindow(rows: rows, columns: bColumns)), into: &out, .columns(aColumns..<width, rows: rows, width: width))
        return out
    }

    /// Splits `[..., F]` after the first `columns` features → (`[..., columns]`, `[..., F − columns]`).
    @usableFromInline package func splittingColumns(at columns: Int) -> (Tensor, Tensor) {
        let (rows, width) = matrixShape
        precondition(columns >= 0 && columns <= width, "splittingColumns: \(columns) columns of shape \(shape).")
        var a = Tensor(zeros: Array(shape.dropLast()) + [columns])
        var b = Tensor(zeros: Array(shape.dropLast()) + [width - columns])
        let backend = Backends.current
        backend.copy(view(.columns(0..<columns, rows: rows, width: width)), into: &a, MatrixWindow(rows: rows, columns: columns))
        backend.copy(view(.columns(columns..<width, rows: rows, width: width)), into: &b, MatrixWindow(rows: rows, columns: width - columns))
        return (a, b)
    }
}

extension Kernels {
    /// y[b, a, :] = x[a, b, :] for x `[A, Bn, F]` and y `[Bn, A, F]`: the batch-major ↔ time-major transposition the
    /// recurrent layers do at their boundaries (they keep buffers time-major so each step's gemm operands are contiguous).
    @usableFromInline package static func swapLeadingAxes(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ a: Int, _ bn: Int, _ f: Int) {
        for i in 0..<a {
            for j in 0..<bn {
                (y + (j * a + i) * f).update(from: x + (i * bn + j) * f, count: f)
            }
        }
    }

    /// Replaces each kept row of logits `[N, K]` by its softmax and returns (Σ NLL in Double, kept rows).
    /// Rows with a negative target are skipped (left as logits). `rowLosses` `[N]`, when given, receives each kept
    /// row's NLL; `normalise: false` leaves kept rows as unnormalised exponentials (the losses alone are wanted).
    @usableFromInline package static func softmaxCrossEntropyRows(_ x: UnsafeMutablePointer<Float>, targets: [Int32], classes k: Int,
                                               rowLosses: UnsafeMutablePointer<Float>? = nil, normalise: Bool = true) -> (Double, Int) {
        var lossSum = 0.0, count = 0
        for (row, target) in targets.enumerated() where target >= 0 {
            precondition(Int(target) < k, "Target \(target) in row \(row) is outside the \(k) classes.")
            let r = x + row * k
            let targetLogit = r[Int(target)]
            let m = maximum(r, k)
            // One exp pass gives both the softmax numerators and the normaliser of the loss.
            let s = expSubtracting(m, r, k)
            if normalise { scale(r, by: 1 / s, k) }
            let loss = m + logf(s) - targetLogit
            rowLosses?[row] = loss
            lossSum += Double(loss)
            count += 1
        }
        return (lossSum, count)
    }

    /// Turns softmax rows `[N, K]` into scale·(softmax − onehot(target)); rows with a negative target become 0.
    @usableFromInline package static func softmaxGradientRows(_ x: UnsafeMutablePointer<Float>, targets: [Int32], classes k: Int, scale: Float) {
        for (row, target) in targets.enumerated() {
            let r = x + row * k
            if target < 0 {
                r.update(repeating: 0, count: k)
            } else {
                r[Int(target)] -= 1
                Kernels.scale(r, by: scale, k)
            }
        }
    }
}
