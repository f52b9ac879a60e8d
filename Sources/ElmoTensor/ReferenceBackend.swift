import Foundation

/// The plain backend the fast one is checked against: every operation is the textbook loop over `[Float]`
/// elements, sums accumulate in Double, transcendental functions are Double libm calls rounded once, and nothing
/// runs in parallel. It is slow and meant to be obviously correct, not fast (`ELMO_BACKEND=reference`).
public final class ReferenceBackend: Backend {
    public init() {}
    public var name: String { "reference" }

    // MARK: - Matrix products

    public func gemm(_ a: MatrixView, transposeA: Bool, _ b: MatrixView, transposeB: Bool, alpha: Float, beta: Float,
                     into c: inout Tensor, _ window: MatrixWindow) {
        let (m, n, k) = gemmSizes(a, transposeA, b, transposeB, window)
        window.check(inside: c.count, "gemm output")
        let x = a.tensor.storage, y = b.tensor.storage
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transposeA ? x[a.window.index(p, i)] : x[a.window.index(i, p)]
                    let bv = transposeB ? y[b.window.index(j, p)] : y[b.window.index(p, j)]
                    s += Double(av) * Double(bv)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(c.storage[window.index(i, j)])
                c.storage[window.index(i, j)] = Float(Double(alpha) * s + old)
            }
        }
    }

    // MARK: - Rows, columns, windows

    public func addRowVector(_ v: Tensor, to x: inout Tensor, _ window: MatrixWindow) {
        precondition(v.count == window.columns, "addRowVector: \(v.count) values for \(window.columns) columns.")
        window.check(inside: x.count, "addRowVector")
        for r in 0..<window.rows {
            for c in 0..<window.columns { x.storage[window.index(r, c)] += v.storage[c] }
        }
    }

    public func addColumnSums(_ x: MatrixView, into v: inout Tensor) {
        precondition(v.count == x.columns, "addColumnSums: \(v.count) sums for \(x.columns) columns.")
        for c in 0..<x.columns {
            var s = 0.0
            for r in 0..<x.rows { s += Double(x.tensor.storage[x.window.index(r, c)]) }
            v.storage[c] = Float(Double(v.storage[c]) + s)
        }
    }

    public func axpy(_ alpha: Float, _ x: MatrixView, into y: inout Tensor, _ window: MatrixWindow) {
        checkSameSize(x.window, window, y, "axpy")
        for r in 0..<window.rows {
            for c in 0..<window.columns {
                let i = window.index(r, c)
                y.storage[i] = Float(Double(y.storage[i]) + Double(alpha) * Double(x.tensor.storage[x.window.index(r, c)]))
            }
        }
    }

    public func copy(_ x: MatrixView, into y: inout Tensor, _ window: MatrixWindow) {
        checkSameSize(x.window, window, y, "copy")
        for r in 0..<window.rows {
            for c in 0..<window.columns { y.storage[window.index(r, c)] = x.tensor.storage[x.window.index(r, c)] }
        }
    }

    public func fill(_ y: inout Tensor, _ window: MatrixWindow, with value: Float) {
        window.check(inside: y.count, "fill")
        for r in 0..<window.rows {
            for c in 0..<window.columns { y.storage[window.index(r, c)] = value }
        }
    }

    public func swapLeadingAxes(_ x: Tensor, offset: Int, _ a: Int, _ b: Int, features: Int, into y: inout Tensor) {
        precondition(offset + a * b * features <= x.count && a * b * features <= y.count,
                     "swapLeadingAxes: [\(a), \(b), \(features)] from \(offset) does not fit \(x.count) → \(y.count) elements.")
        for i in 0..<a {
            for j in 0..<b {
                for f in 0..<features { y.storage[(j * a + i) * features + f] = x.storage[offset + (i * b + j) * features + f] }
            }
        }
    }

    public func zeroPadding(_ x: inout Tensor, lengths: [Int]) {
        let (steps, features) = paddingLayout(x, lengths)
        for (b, length) in lengths.enumerated() {
            for t in length..<max(steps, length) {
                for f in 0..<features { x.storage[(b * steps + t) * features + f] = 0 }
            }
        }
    }

    public func setElements(_ x: inout Tensor, indices: [Int], values: [Float]) {
        precondition(indices.count == values.count, "setElements: \(indices.count) indices for \(values.count) values.")
        for (i, v) in zip(indices, values) { x.storage[i] = v }
    }

    // MARK: - Element-wise and reductions

    public func scale(_ x: inout Tensor, by alpha: Float) {
        for i in 0..<x.count { x.storage[i] *= alpha }
    }

    public func clip(_ x: inout Tensor, elements: Range<Int>, limit: Float) {
        precondition(elements.upperBound <= x.count, "clip: elements \(elements) of \(x.count).")
        for i in elements { x.storage[i] = min(max(x.storage[i], -limit), limit) }
    }

    public func zeroWhereClipped(_ g: inout Tensor, elements: Range<Int>, values: Tensor, valueOffset: Int, limit: Float) {
        precondition(elements.upperBound <= g.count && valueOffset + elements.count <= values.count,
                     "zeroWhereClipped: elements \(elements) of \(g.count), values from \(valueOffset) of \(values.count).")
        for (k, i) in elements.enumerated() where abs(values.storage[valueOffset + k]) >= limit { g.storage[i] = 0 }
    }

    public func sumOfSquares(_ x: Tensor) -> Double {
        x.storage.reduce(0.0) { $0 + Double($1) * Double($1) }
    }

    public func dot(_ x: Tensor, _ y: Tensor) -> Double {
        precondition(x.count == y.count, "dot: \(x.shape) and \(y.shape) hold different element counts.")
        return zip(x.storage, y.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    public func multiply(_ x: inout Tensor, byMask mask: Tensor) {
        precondition(mask.count == x.count, "multiply(byMask:): mask of \(mask.count) for \(x.count) elements.")
        for i in 0..<x.count { x.storage[i] *= mask.storage[i] }
    }

    public func activate(_ activation: Kernels.Activation, _ x: inout Tensor) {
        for i in 0..<x.count { x.storage[i] = Float(Self.apply(activation, Double(x.storage[i]))) }
    }

    public func activateBackward(_ activation: Kernels.Activation, output y: Tensor, gradient dy: Tensor, into dx: inout Tensor) {
        precondition(y.count == dy.count && dy.count == dx.count, "activateBackward: \(y.count), \(dy.count), \(dx.count) elements.")
        for i in 0..<dx.count {
            let d = Self.derivative(activation, output: Double(y.storage[i]))
            dx.storage[i] = Float(Double(dx.storage[i]) + Double(dy.storage[i]) * d)
        }
    }

    // MARK: - Softmax family

    public func softmaxRows(_ x: inout Tensor) {
        let (rows, cols) = x.matrixShape
        for r in 0..<rows {
            let row = (0..<cols).map { Double(x.storage[r * cols + $0]) }
            let lse = Self.logSumExp(row)
            for c in 0..<cols { x.storage[r * cols + c] = Float(exp(row[c] - lse)) }
        }
    }

    public func logSoftmaxRows(_ x: inout Tensor) {
        let (rows, cols) = x.matrixShape
        for r in 0..<rows {
            let row = (0..<cols).map { Double(x.storage[r * cols + $0]) }
            let lse = Self.logSumExp(row)
            for c in 0..<cols { x.storage[r * cols + c] = Float(row[c] - lse) }
        }
    }

    public func softmaxCrossEntropy(_ logits: inout Tensor, targets: [Int32]) -> (lossSum: Double, count: Int) {
        let losses = rowCrossEntropies(&logits, targets: targets, normalise: true)
        return (losses.compactMap { $0 }.reduce(0, +), losses.compactMap { $0 }.count)
    }

    public func negativeLogLikelihoods(_ logits: inout Tensor, targets: [Int32]) -> [Float] {
        rowCrossEntropies(&logits, targets: targets, normalise: false).map { Float($0 ?? 0) }
    }

    /// −log softmax(row)[target] per row (nil for ignored rows); kept rows become their softmax when `normalise`.
    private func rowCrossEntropies(_ logits: inout Tensor, targets: [Int32], normalise: Bool) -> [Double?] {
        let (rows, k) = logits.matrixShape
        precondition(targets.count == rows, "softmaxCrossEntropy: \(targets.count) targets for \(rows) rows.")
        return targets.enumerated().map { row, target in
            guard target >= 0 else { return nil }
            precondition(Int(target) < k, "Target \(target) in row \(row) is outside the \(k) classes.")
            let values = (0..<k).map { Double(logits.storage[row * k + $0]) }
            let lse = Self.logSumExp(values)
            if normalise { for c in 0..<k { logits.storage[row * k + c] = Float(exp(values[c] - lse)) } }
            // Rounded to Float as the fast backend's per-row loss is, so both sum the same kind of numbers.
            return Double(Float(lse - values[Int(target)]))
        }
    }

    public func softmaxCrossEntropyGradient(_ probabilities: inout Tensor, targets: [Int32], scale: Float) {
        let (rows, k) = probabilities.matrixShape
        precondition(targets.count == rows, "softmaxCrossEntropyGradient: \(targets.count) targets for \(rows) rows.")
        for (row, target) in targets.enumerated() {
            for c in 0..<k {
                let i = row * k + c
                if target < 0 {
                    probabilities.storage[i] = 0
                } else {
                    let onehot: Double = c == Int(target) ? 1 : 0
                    probabilities.storage[i] = Float(Double(scale) * (Double(probabilities.storage[i]) - onehot))
                }
            }
        }
    }

    public func rowDots(_ a: Tensor, _ table: Tensor, ids: [Int32]) -> [Float] {
        let (n, p) = a.matrixShape
        precondition(ids.count == n && table.matrixShape.cols == p, "rowDots: \(ids.count) ids for a \(a.shape), table \(table.shape).")
        return ids.enumerated().map { row, id in
            guard id >= 0 else { return 0 }
            precondition(Int(id) < table.matrixShape.rows, "rowDots: id \(id) outside 0..<\(table.matrixShape.rows).")
            var s = 0.0
            for k in 0..<p { s += Double(a.storage[row * p + k]) * Double(table.storage[Int(id) * p + k]) }
            return Float(s)
        }
    }

    // MARK: - Gathers and scatters

    public func gatherRows(_ table: Tensor, ids: [Int32]) -> Tensor {
        let (v, d) = table.matrixShape
        var out: [Float] = []
        out.reserveCapacity(ids.count * d)
        for (n, id) in ids.enumerated() {
            precondition(id >= 0 && Int(id) < v, "Embedding id \(id) at position \(n) is outside 0..<\(v).")
            out += table.storage[(Int(id) * d)..<((Int(id) + 1) * d)]
        }
        return Tensor(shape: [ids.count, d], scalars: out)
    }

    public func scatterAddRows(_ x: Tensor, scales: [Float]?, ids: [Int32], into table: inout Tensor) {
        let d = scatterWidth(x, ids, table, scales)
        for (n, id) in ids.enumerated() where id >= 0 {
            precondition(Int(id) * d < table.count, "scatterAddRows: id \(id) outside the table.")
            let s = Double(scales?[n] ?? 1)
            for j in 0..<d {
                let i = Int(id) * d + j
                table.storage[i] = Float(Double(table.storage[i]) + s * Double(x.storage[n * d + j]))
            }
        }
    }

    public func addGatheredRows(_ table: Tensor, ids: [Int32], scales: [Float], into y: inout Tensor) {
        let d = scatterWidth(y, ids, table, scales)
        for (n, id) in ids.enumerated() where id >= 0 {
            precondition(Int(id) * d < table.count, "addGatheredRows: id \(id) outside the table.")
            for j in 0..<d {
                let i = n * d + j
                y.storage[i] = Float(Double(y.storage[i]) + Double(scales[n]) * Double(table.storage[Int(id) * d + j]))
            }
        }
    }

    // MARK: - Char CNN and highway

    public func charConvolutionMax(tables: Tensor, chars: [Int32], tokens: Int, charsPerToken W: Int, width: Int,
                                   into y: inout Tensor, argmax: inout [Int32], columnOffset: Int) {
        let (v, f) = charTableLayout(tables, width)
        let stride = y.matrixShape.cols
        precondition(chars.count == tokens * W && y.count == tokens * stride && argmax.count == y.count && columnOffset + f <= stride,
                     "charConvolutionMax: \(chars.count) chars, y \(y.shape), argmax \(argmax.count), columns \(columnOffset)+\(f).")
        for n in 0..<tokens {
            for c in 0..<f {
                var best = -Double.infinity, position = 0
                for p in 0..<(W - width + 1) {
                    var s = 0.0
                    for o in 0..<width { s += Double(tables.storage[(o * v + Int(chars[n * W + p + o])) * f + c]) }
                    if s > best { best = s; position = p }
                }
                y.storage[n * stride + columnOffset + c] = Float(best)
                argmax[n * stride + columnOffset + c] = Int32(position)
            }
        }
    }

    public func charConvolutionMaxBackward(_ dy: Tensor, argmax: [Int32], columnOffset: Int, chars: [Int32], tokens: Int,
                                           charsPerToken W: Int, width: Int, into dTables: inout Tensor) {
        let (v, f) = charTableLayout(dTables, width)
        let stride = dy.matrixShape.cols
        precondition(chars.count == tokens * W && dy.count == tokens * stride && argmax.count == dy.count,
                     "charConvolutionMaxBackward: \(chars.count) chars, dy \(dy.shape), argmax \(argmax.count).")
        for n in 0..<tokens {
            for c in 0..<f {
                let g = dy.storage[n * stride + columnOffset + c], p = Int(argmax[n * stride + columnOffset + c])
                for o in 0..<width { dTables.storage[(o * v + Int(chars[n * W + p + o])) * f + c] += g }
            }
        }
    }

    public func highwayForward(_ h: inout Tensor, input x: Tensor, into y: inout Tensor, activation: Kernels.Activation) {
        let (rows, size) = x.matrixShape
        precondition(h.count == 2 * x.count && y.count == x.count, "highwayForward: h \(h.shape), x \(x.shape), y \(y.shape).")
        for r in 0..<rows {
            for i in 0..<size {
                let u = r * 2 * size + i, v = u + size
                let fu = Self.apply(activation, Double(h.storage[u]))
                let g = Self.apply(.sigmoid, Double(h.storage[v]))
                h.storage[u] = Float(fu)
                h.storage[v] = Float(g)
                y.storage[r * size + i] = Float(g * Double(x.storage[r * size + i]) + (1 - g) * fu)
            }
        }
    }

    public func highwayBackward(_ h: Tensor, input x: Tensor, gradient dy: Tensor, dh: inout Tensor, dx: inout Tensor,
                                activation: Kernels.Activation) {
        let (rows, size) = x.matrixShape
        precondition(h.count == 2 * x.count && dh.count == h.count && dy.count == x.count && dx.count == x.count,
                     "highwayBackward: h \(h.shape), x \(x.shape), dy \(dy.shape), dh \(dh.shape), dx \(dx.shape).")
        for r in 0..<rows {
            for i in 0..<size {
                let u = r * 2 * size + i, v = u + size, k = r * size + i
                let fu = Double(h.storage[u]), g = Double(h.storage[v]), d = Double(dy.storage[k])
                dx.storage[k] = Float(Double(dx.storage[k]) + d * g)
                dh.storage[u] = Float(d * (1 - g) * Self.derivative(activation, output: fu))
                dh.storage[v] = Float(d * (Double(x.storage[k]) - fu) * g * (1 - g))
            }
        }
    }

    // MARK: - Pooling and windows over time

    public func maxOverRows(_ x: MatrixView, into y: inout Tensor, _ window: MatrixWindow, argmax: inout [Int32], argmaxOffset: Int) {
        precondition(window.rows == 1 && window.columns == x.columns && argmaxOffset + x.columns <= argmax.count,
                     "maxOverRows: x \(x.rows)×\(x.columns) into \(window.rows)×\(window.columns).")
        window.check(inside: y.count, "maxOverRows")
        for c in 0..<x.columns {
            var best = x.tensor.storage[x.window.index(0, c)], position = 0
            for r in 1..<max(x.rows, 1) where x.tensor.storage[x.window.index(r, c)] > best {
                best = x.tensor.storage[x.window.index(r, c)]
                position = r
            }
            y.storage[window.index(0, c)] = best
            argmax[argmaxOffset + c] = Int32(position)
        }
    }

    public func maxOverRowsBackward(_ dy: MatrixView, argmax: [Int32], argmaxOffset: Int, into dx: inout Tensor, _ window: MatrixWindow) {
        precondition(dy.rows == 1 && dy.columns == window.columns && argmaxOffset + window.columns <= argmax.count,
                     "maxOverRowsBackward: dy \(dy.rows)×\(dy.columns) into \(window.rows)×\(window.columns).")
        window.check(inside: dx.count, "maxOverRowsBackward")
        for c in 0..<window.columns {
            dx.storage[window.index(Int(argmax[argmaxOffset + c]), c)] += dy.tensor.storage[dy.window.index(0, c)]
        }
    }

    public func im2col(_ x: Tensor, sequences: Int, steps: Int, features d: Int, width: Int, into columns: inout Tensor) {
        precondition(x.count == sequences * steps * d && columns.count == sequences * (steps - width + 1) * width * d,
                     "im2col: x \(x.shape), columns \(columns.shape) for [\(sequences), \(steps), \(d)], width \(width).")
        Self.forEachWindowElement(sequences, steps, d, width) { column, input in columns.storage[column] = x.storage[input] }
    }

    public func col2imAdd(_ columns: Tensor, sequences: Int, steps: Int, features d: Int, width: Int, into dx: inout Tensor) {
        precondition(dx.count == sequences * steps * d && columns.count == sequences * (steps - width + 1) * width * d,
                     "col2imAdd: columns \(columns.shape), dx \(dx.shape) for [\(sequences), \(steps), \(d)], width \(width).")
        Self.forEachWindowElement(sequences, steps, d, width) { column, input in dx.storage[input] += columns.storage[column] }
    }

    /// Calls body(index in columns `[N·P, width·D]`, index in x `[N, steps, D]`) for every element of every window.
    private static func forEachWindowElement(_ sequences: Int, _ steps: Int, _ d: Int, _ width: Int, _ body: (Int, Int) -> Void) {
        let positions = steps - width + 1
        for n in 0..<sequences {
            for p in 0..<positions {
                for o in 0..<width {
                    for j in 0..<d { body(((n * positions + p) * width + o) * d + j, (n * steps + p + o) * d + j) }
                }
            }
        }
    }

    // MARK: - ScalarMix layer norm

    public func maskedLayerNorm(_ x: Tensor, rowMask: [Bool]?, features d: Int) -> (Tensor, Float) {
        let rows = x.count / max(d, 1)
        let kept = (0..<rows).filter { rowMask?[$0] ?? true }.flatMap { r in (0..<d).map { Double(x.storage[r * d + $0]) } }
        let mean = kept.reduce(0, +) / Double(max(kept.count, 1))
        let variance = kept.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(kept.count, 1))
        let inverseStd = 1 / (variance + 1e-12).squareRoot()
        return (Tensor(shape: x.shape, scalars: x.storage.map { Float((Double($0) - mean) * inverseStd) }), Float(inverseStd))
    }

    public func maskedLayerNormBackward(_ g: Tensor, normalized: Tensor, inverseStd: Float, rowMask: [Bool]?, features d: Int) -> Tensor {
        let rows = g.count / max(d, 1)
        let m = Double(max((rowMask?.filter { $0 }.count ?? rows) * d, 1))
        let sumG = g.storage.reduce(0.0) { $0 + Double($1) }
        let sumGX = zip(g.storage, normalized.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        var dx = g
        for r in 0..<rows {
            for j in 0..<d {
                let i = r * d + j
                var v = Double(g.storage[i])
                if rowMask?[r] ?? true { v -= sumG / m + Double(normalized.storage[i]) * sumGX / m }
                dx.storage[i] = Float(v * Double(inverseStd))
            }
        }
        return dx
    }

    // MARK: - Scalar helpers

    static func apply(_ activation: Kernels.Activation, _ x: Double) -> Double {
        switch activation {
        case .relu: return max(x, 0)
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return 1 / (1 + exp(-x))
        case .identity: return x
        }
    }

    /// act'(·) in terms of the activation's output y.
    static func derivative(_ activation: Kernels.Activation, output y: Double) -> Double {
        switch activation {
        case .relu: return y > 0 ? 1 : 0
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .identity: return 1
        }
    }

    static func logSumExp(_ values: [Double]) -> Double {
        guard let m = values.max(), m > -.infinity else { return -.infinity }
        return m + log(values.reduce(0) { $0 + exp($1 - m) })
    }
}
