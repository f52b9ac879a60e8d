/// The fast backend: OpenBLAS sgemm (split across the thread budget, `BLAS.swift`) and the vectorised kernels of
/// `Kernels`. Every method only addresses storage and forwards to those kernels, so its numbers are exactly the
/// kernels' numbers.
public final class CPUBackend: Backend {
    public init() {}
    public var name: String { "cpu" }

    // MARK: - Matrix products

    public func gemm(_ a: MatrixView, transposeA: Bool, _ b: MatrixView, transposeB: Bool, alpha: Float, beta: Float,
                     into c: inout Tensor, _ window: MatrixWindow) {
        let (m, n, k) = gemmSizes(a, transposeA, b, transposeB, window)
        window.check(inside: c.count, "gemm output")
        a.tensor.withPointer { pa in
            b.tensor.withPointer { pb in
                c.withMutablePointer { pc in
                    BLAS.gemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha,
                              a: pa + a.window.offset, lda: a.window.rowStride, b: pb + b.window.offset, ldb: b.window.rowStride,
                              beta: beta, c: pc + window.offset, ldc: window.rowStride)
                }
            }
        }
    }

    // MARK: - Rows, columns, windows

    public func addRowVector(_ v: Tensor, to x: inout Tensor, _ window: MatrixWindow) {
        precondition(v.count == window.columns, "addRowVector: \(v.count) values for \(window.columns) columns.")
        window.check(inside: x.count, "addRowVector")
        v.withPointer { pv in
            x.withMutablePointer { px in
                if window.rowStride == window.columns {
                    Kernels.addBias(px + window.offset, bias: pv, rows: window.rows, cols: window.columns)
                } else {
                    for r in 0..<window.rows { Kernels.addBias(px + window.index(r, 0), bias: pv, rows: 1, cols: window.columns) }
                }
            }
        }
    }

    public func addColumnSums(_ x: MatrixView, into v: inout Tensor) {
        precondition(v.count == x.columns, "addColumnSums: \(v.count) sums for \(x.columns) columns.")
        let w = x.window
        x.tensor.withPointer { px in
            v.withMutablePointer { pv in
                if w.rowStride == w.columns {
                    Kernels.addColumnSums(px + w.offset, into: pv, rows: w.rows, cols: w.columns)
                } else {
                    for r in 0..<w.rows { Kernels.addColumnSums(px + w.index(r, 0), into: pv, rows: 1, cols: w.columns) }
                }
            }
        }
    }

    public func axpy(_ alpha: Float, _ x: MatrixView, into y: inout Tensor, _ window: MatrixWindow) {
        checkSameSize(x.window, window, y, "axpy")
        x.tensor.withPointer { px in
            y.withMutablePointer { py in
                for r in 0..<window.rows {
                    Kernels.axpy(alpha, px + x.window.index(r, 0), py + window.index(r, 0), window.columns)
                }
            }
        }
    }

    public func copy(_ x: MatrixView, into y: inout Tensor, _ window: MatrixWindow) {
        checkSameSize(x.window, window, y, "copy")
        x.tensor.withPointer { px in
            y.withMutablePointer { py in
                for r in 0..<window.rows {
                    (py + window.index(r, 0)).update(from: px + x.window.index(r, 0), count: window.columns)
                }
            }
        }
    }

    public func fill(_ y: inout Tensor, _ window: MatrixWindow, with value: Float) {
        window.check(inside: y.count, "fill")
        y.withMutablePointer { py in
            for r in 0..<window.rows { (py + window.index(r, 0)).update(repeating: value, count: window.columns) }
        }
    }

    public func swapLeadingAxes(_ x: Tensor, offset: Int, _ a: Int, _ b: Int, features: Int, into y: inout Tensor) {
        precondition(offset + a * b * features <= x.count && a * b * features <= y.count,
                     "swapLeadingAxes: [\(a), \(b), \(features)] from \(offset) does not fit \(x.count) → \(y.count) elements.")
        x.withPointer { px in y.withMutablePointer { Kernels.swapLeadingAxes(px + offset, $0, a, b, features) } }
    }

    public func zeroPadding(_ x: inout Tensor, lengths: [Int]) {
        let (steps, features) = paddingLayout(x, lengths)
        x.withMutablePointer { Kernels.zeroPadding($0, lengths: lengths, steps: steps, features: features) }
    }

    public func setElements(_ x: inout Tensor, indices: [Int], values: [Float]) {
        precondition(indices.count == values.count, "setElements: \(indices.count) indices for \(values.count) values.")
        for (i, v) in zip(indices, values) { x.storage[i] = v }
    }

    // MARK: - Element-wise and reductions

    public func scale(_ x: inout Tensor, by alpha: Float) {
        let n = x.count
        x.withMutablePointer { Kernels.scale($0, by: alpha, n) }
    }

    public func clip(_ x: inout Tensor, elements: Range<Int>, limit: Float) {
        precondition(elements.upperBound <= x.count, "clip: elements \(elements) of \(x.count).")
        x.withMutablePointer { Kernels.clip($0 + elements.lowerBound, limit: limit, elements.count) }
    }

    public func zeroWhereClipped(_ g: inout Tensor, elements: Range<Int>, values: Tensor, valueOffset: Int, limit: Float) {
        precondition(elements.upperBound <= g.count && valueOffset + elements.count <= values.count,
                     "zeroWhereClipped: elements \(elements) of \(g.count), values from \(valueOffset) of \(values.count).")
        values.withPointer { pv in
            g.withMutablePointer { pg in
                let d = pg + elements.lowerBound, v = pv + valueOffset
                for i in 0..<elements.count { d[i] = abs(v[i]) >= limit ? 0 : d[i] }
            }
        }
    }

    public func sumOfSquares(_ x: Tensor) -> Double {
        x.withPointer { Kernels.sumOfSquares($0, x.count) }
    }

    public func dot(_ x: Tensor, _ y: Tensor) -> Double {
        precondition(x.count == y.count, "dot: \(x.shape) and \(y.shape) hold different element counts.")
        var s = 0.0
        for i in 0..<x.count { s += Double(x.storage[i] * y.storage[i]) }
        return s
    }

    public func multiply(_ x: inout Tensor, byMask mask: Tensor) {
        precondition(mask.count == x.count, "multiply(byMask:): mask of \(mask.count) for \(x.count) elements.")
        let n = x.count
        mask.withPointer { m in x.withMutablePointer { Kernels.multiplyByMask($0, mask: m, $0, n) } }
    }

    public func activate(_ activation: Kernels.Activation, _ x: inout Tensor) {
        let n = x.count
        x.withMutablePointer { Kernels.activate(activation, $0, $0, n) }
    }

    public func activateBackward(_ activation: Kernels.Activation, output y: Tensor, gradient dy: Tensor, into dx: inout Tensor) {
        precondition(y.count == dy.count && dy.count == dx.count, "activateBackward: \(y.count), \(dy.count), \(dx.count) elements.")
        let n = dx.count
        y.withPointer { py in dy.withPointer { pdy in dx.withMutablePointer { Kernels.activateBackward(activation, y: py, dy: pdy, dx: $0, n) } } }
    }

    // MARK: - Softmax family

    public func softmaxRows(_ x: inout Tensor) {
        let (rows, cols) = x.matrixShape
        x.withMutablePointer { Kernels.softmaxRows($0, $0, rows: rows, cols: cols) }
    }

    public func logSoftmaxRows(_ x: inout Tensor) {
        let (rows, cols) = x.matrixShape
        x.withMutablePointer { Kernels.logSoftmaxRows($0, $0, rows: rows, cols: cols) }
    }

    public func softmaxCrossEntropy(_ logits: inout Tensor, targets: [Int32]) -> (lossSum: Double, count: Int) {
        let (rows, k) = logits.matrixShape
        precondition(targets.count == rows, "softmaxCrossEntropy: \(targets.count) targets for \(rows) rows.")
        return logits.withMutablePointer { Kernels.softmaxCrossEntropyRows($0, targets: targets, classes: k) }
    }

    public func negativeLogLikelihoods(_ logits: inout Tensor, targets: [Int32]) -> [Float] {
        let (rows, k) = logits.matrixShape
        precondition(targets.count == rows, "negativeLogLikelihoods: \(targets.count) targets for \(rows) rows.")
        var losses = [Float](repeating: 0, count: rows)
        logits.withMutablePointer { x in
            losses.withUnsafeMutableBufferPointer {
                _ = Kernels.softmaxCrossEntropyRows(x, targets: targets, classes: k, rowLosses: $0.baseAddress, normalise: false)
            }
        }
        return losses
    }

    public func softmaxCrossEntropyGradient(_ probabilities: inout Tensor, targets: [Int32], scale: Float) {
        let (rows, k) = probabilities.matrixShape
        precondition(targets.count == rows, "softmaxCrossEntropyGradient: \(targets.count) targets for \(rows) rows.")
        probabilities.withMutablePointer { Kernels.softmaxGradientRows($0, targets: targets, classes: k, scale: scale) }
    }

    public func rowDots(_ a: Tensor, _ table: Tensor, ids: [Int32]) -> [Float] {
        let (n, p) = a.matrixShape
        precondition(ids.count == n && table.matrixShape.cols == p, "rowDots: \(ids.count) ids for a \(a.shape), table \(table.shape).")
        let rowsOfTable = table.matrixShape.rows
        var out = [Float](repeating: 0, count: n)
        a.withPointer { pa in
            table.withPointer { pt in
                for (row, id) in ids.enumerated() where id >= 0 {
                    precondition(Int(id) < rowsOfTable, "rowDots: id \(id) outside 0..<\(rowsOfTable).")
                    let ar = pa + row * p, tr = pt + Int(id) * p
                    var dot: Float = 0
                    for k in 0..<p { dot += ar[k] * tr[k] }
                    out[row] = dot
                }
            }
        }
        return out
    }

    // MARK: - Gathers and scatters

    public func gatherRows(_ table: Tensor, ids: [Int32]) -> Tensor {
        let (v, d) = table.matrixShape
        var y = Tensor(zeros: [ids.count, d])
        table.withPointer { w in
            y.withMutablePointer { out in
                for (n, id) in ids.enumerated() {
                    precondition(id >= 0 && Int(id) < v, "Embedding id \(id) at position \(n) is outside 0..<\(v).")
                    (out + n * d).update(from: w + Int(id) * d, count: d)
                }
            }
        }
        return y
    }

    public func scatterAddRows(_ x: Tensor, scales: [Float]?, ids: [Int32], into table: inout Tensor) {
        let d = scatterWidth(x, ids, table, scales)
        let rows = table.count / max(d, 1)
        x.withPointer { px in
            table.withMutablePointer { pt in
                for (n, id) in ids.enumerated() where id >= 0 {
                    precondition(Int(id) < rows, "scatterAddRows: id \(id) outside 0..<\(rows).")
                    Kernels.axpy(scales?[n] ?? 1, px + n * d, pt + Int(id) * d, d)
                }
            }
        }
    }

    public func addGatheredRows(_ table: Tensor, ids: [Int32], scales: [Float], into y: inout Tensor) {
        let d = scatterWidth(y, ids, table, scales)
        let rows = table.count / max(d, 1)
        table.withPointer { pt in
            y.withMutablePointer { py in
                for (n, id) in ids.enumerated() where id >= 0 {
                    precondition(Int(id) < rows, "addGatheredRows: id \(id) outside 0..<\(rows).")
                    Kernels.axpy(scales[n], pt + Int(id) * d, py + n * d, d)
                }
            }
        }
    }

    // MARK: - Char CNN and highway

    public func charConvolutionMax(tables: Tensor, chars: [Int32], tokens: Int, charsPerToken: Int, width: Int,
                                   into y: inout Tensor, argmax: inout [Int32], columnOffset: Int) {
        let (v, f) = charTableLayout(tables, width)
        let stride = y.matrixShape.cols, W = charsPerToken
        precondition(chars.count == tokens * W && y.count == tokens * stride && argmax.count == y.count && columnOffset + f <= stride,
                     "charConvolutionMax: \(chars.count) chars, y \(y.shape), argmax \(argmax.count), columns \(columnOffset)+\(f).")
        guard tokens > 0 else { return }
        // Tokens are independent: with two or more threads available, two halves run at once, each with its own
        // scratch row (the result is the same either way).
        let chunks = BLAS.availableThreads >= 2 && tokens >= 64 ? 2 : 1
        var scratch = [Float](repeating: 0, count: f * chunks)
        tables.withPointer { t in
            chars.withUnsafeBufferPointer { c in
                argmax.withUnsafeMutableBufferPointer { a in
                    scratch.withUnsafeMutableBufferPointer { s in
                        y.withMutablePointer { out in
                            let per = (tokens + chunks - 1) / chunks
                            Parallel.forEach(chunks) { chunk in
                                let first = chunk * per, n = min(per, tokens - first)
                                guard n > 0 else { return }
                                Kernels.charConvolutionMax(tables: t, vocabularySize: v, width: width, features: f,
                                                           chars: c.baseAddress! + first * W, tokens: n, charsPerToken: W,
                                                           y: out + first * stride + columnOffset, yStride: stride,
                                                           argmax: a.baseAddress! + first * stride + columnOffset, argmaxStride: stride,
                                                           scratch: s.baseAddress! + chunk * f)
                            }
                        }
                    }
                }
            }
        }
    }

    public func charConvolutionMaxBackward(_ dy: Tensor, argmax: [Int32], columnOffset: Int, chars: [Int32], tokens: Int,
                                           charsPerToken: Int, width: Int, into dTables: inout Tensor) {
        let (v, f) = charTableLayout(dTables, width)
        let stride = dy.matrixShape.cols
        precondition(chars.count == tokens * charsPerToken && dy.count == tokens * stride && argmax.count == dy.count,
                     "charConvolutionMaxBackward: \(chars.count) chars, dy \(dy.shape), argmax \(argmax.count).")
        dy.withPointer { g in
            argmax.withUnsafeBufferPointer { a in
                chars.withUnsafeBufferPointer { c in
                    dTables.withMutablePointer { dt in
                        Kernels.charConvolutionMaxBackward(g + columnOffset, dyStride: stride, argmax: a.baseAddress! + columnOffset,
                                                           argmaxStride: stride, chars: c.baseAddress!, tokens: tokens,
                                                           charsPerToken: charsPerToken, vocabularySize: v, width: width,
                                                           features: f, dTables: dt)
                    }
                }
            }
        }
    }

    public func highwayForward(_ h: inout Tensor, input x: Tensor, into y: inout Tensor, activation: Kernels.Activation) {
        let (rows, size) = x.matrixShape
        precondition(h.count == 2 * x.count && y.count == x.count, "highwayForward: h \(h.shape), x \(x.shape), y \(y.shape).")
        x.withPointer { px in
            h.withMutablePointer { ph in
                y.withMutablePointer { Kernels.highwayForward(ph, x: px, y: $0, rows: rows, size: size, activation: activation) }
            }
        }
    }

    public func highwayBackward(_ h: Tensor, input x: Tensor, gradient dy: Tensor, dh: inout Tensor, dx: inout Tensor,
                                activation: Kernels.Activation) {
        let (rows, size) = x.matrixShape
        precondition(h.count == 2 * x.count && dh.count == h.count && dy.count == x.count && dx.count == x.count,
                     "highwayBackward: h \(h.shape), x \(x.shape), dy \(dy.shape), dh \(dh.shape), dx \(dx.shape).")
        h.withPointer { ph in
            x.withPointer { px in
                dy.withPointer { pdy in
                    dh.withMutablePointer { pdh in
                        dx.withMutablePointer {
                            Kernels.highwayBackward(h: ph, x: px, dy: pdy, dh: pdh, dx: $0, rows: rows, size: size, activation: activation)
                        }
                    }
                }
            }
        }
    }

    // MARK: - Pooling and windows over time

    public func maxOverRows(_ x: MatrixView, into y: inout Tensor, _ window: MatrixWindow, argmax: inout [Int32], argmaxOffset: Int) {
        precondition(x.window.rowStride == x.columns && window.rows == 1 && window.columns == x.columns
                     && argmaxOffset + x.columns <= argmax.count,
                     "maxOverRows: x \(x.rows)×\(x.columns) (stride \(x.window.rowStride)) into \(window.rows)×\(window.columns).")
        window.check(inside: y.count, "maxOverRows")
        x.tensor.withPointer { px in
            y.withMutablePointer { py in
                argmax.withUnsafeMutableBufferPointer { am in
                    Kernels.maxOverTime(px + x.window.offset, tokens: 1, steps: x.rows, features: x.columns, y: py + window.offset,
                                        yStride: x.columns, argmax: am.baseAddress! + argmaxOffset)
                }
            }
        }
    }

    public func maxOverRowsBackward(_ dy: MatrixView, argmax: [Int32], argmaxOffset: Int, into dx: inout Tensor, _ window: MatrixWindow) {
        precondition(dy.rows == 1 && dy.columns == window.columns && window.rowStride == window.columns
                     && argmaxOffset + window.columns <= argmax.count,
                     "maxOverRowsBackward: dy \(dy.rows)×\(dy.columns) into \(window.rows)×\(window.columns).")
        window.check(inside: dx.count, "maxOverRowsBackward")
        dy.tensor.withPointer { pdy in
            dx.withMutablePointer { pdx in
                argmax.withUnsafeBufferPointer { am in
                    Kernels.maxOverTimeBackward(pdy + dy.window.offset, dyStride: dy.columns, argmax: am.baseAddress! + argmaxOffset,
                                                tokens: 1, steps: window.rows, features: window.columns, dx: pdx + window.offset)
                }
            }
        }
    }

    public func im2col(_ x: Tensor, sequences: Int, steps: Int, features: Int, width: Int, into columns: inout Tensor) {
        precondition(x.count == sequences * steps * features && columns.count == sequences * (steps - width + 1) * width * features,
                     "im2col: x \(x.shape), columns \(columns.shape) for [\(sequences), \(steps), \(features)], width \(width).")
        x.withPointer { px in
            columns.withMutablePointer { Kernels.im2col(px, tokens: sequences, chars: steps, dim: features, width: width, columns: $0) }
        }
    }

    public func col2imAdd(_ columns: Tensor, sequences: Int, steps: Int, features: Int, width: Int, into dx: inout Tensor) {
        precondition(dx.count == sequences * steps * features && columns.count == sequences * (steps - width + 1) * width * features,
                     "col2imAdd: columns \(columns.shape), dx \(dx.shape) for [\(sequences), \(steps), \(features)], width \(width).")
        columns.withPointer { pc in
            dx.withMutablePointer { Kernels.col2imAdd(pc, tokens: sequences, chars: steps, dim: features, width: width, dx: $0) }
        }
    }

    // MARK: - ScalarMix layer norm

    public func maskedLayerNorm(_ x: Tensor, rowMask: [Bool]?, features d: Int) -> (Tensor, Float) {
        let rows = x.count / max(d, 1)
        var sum = 0.0, count = 0
        for r in 0..<rows where rowMask?[r] ?? true {
            for j in 0..<d { sum += Double(x.storage[r * d + j]) }
            count += d
        }
        let mean = sum / Double(max(count, 1))
        var variance = 0.0
        for r in 0..<rows where rowMask?[r] ?? true {
            for j in 0..<d { let c = Double(x.storage[r * d + j]) - mean; variance += c * c }
        }
        variance /= Double(max(count, 1))
        let inverseStd = Float(1 / (variance + 1e-12).squareRoot())
        var out = x
        for i in 0..<out.count { out.storage[i] = (x.storage[i] - Float(mean)) * inverseStd }
        return (out, inverseStd)
    }

    public func maskedLayerNormBackward(_ g: Tensor, normalized: Tensor, inverseStd: Float, rowMask: [Bool]?, features d: Int) -> Tensor {
        let rows = g.count / max(d, 1)
        let m = Double(max((rowMask?.filter { $0 }.count ?? rows) * d, 1))
        var sumG = 0.0, sumGX = 0.0
        for i in 0..<g.count {
            sumG += Double(g.storage[i])
            sumGX += Double(g.storage[i]) * Double(normalized.storage[i])
        }
        var dx = g
        for r in 0..<rows {
            let inSet = rowMask?[r] ?? true
            for j in 0..<d {
                let i = r * d + j
                var v = Double(g.storage[i])
                if inSet { v -= sumG / m + Double(normalized.storage[i]) * sumGX / m }
                dx.storage[i] = Float(v) * inverseStd
            }
        }
        return dx
    }
}

// MARK: - Shape checks shared by the backends

/// (M, N, K) of `op(a) · op(b)` into `window`, checked.
func gemmSizes(_ a: MatrixView, _ transposeA: Bool, _ b: MatrixView, _ transposeB: Bool, _ window: MatrixWindow) -> (Int, Int, Int) {
    let m = transposeA ? a.columns : a.rows, k = transposeA ? a.rows : a.columns
    let kb = transposeB ? b.columns : b.rows, n = transposeB ? b.rows : b.columns
    precondition(k == kb && window.rows == m && window.columns == n,
                 "gemm sizes differ: a \(a.rows)×\(a.columns) (transposeA \(transposeA)), b \(b.rows)×\(b.columns) "
                    + "(transposeB \(transposeB)), output \(window.rows)×\(window.columns).")
    return (m, n, k)
}

func checkSameSize(_ x: MatrixWindow, _ y: MatrixWindow, _ target: Tensor, _ label: String) {
    precondition(x.rows == y.rows && x.columns == y.columns, "\(label): windows \(x.rows)×\(x.columns) and \(y.rows)×\(y.columns) differ.")
    y.check(inside: target.count, label)
}

/// (T, features per step) of a `[B, T, ...]` tensor with B lengths.
func paddingLayout(_ x: Tensor, _ lengths: [Int]) -> (Int, Int) {
    precondition(x.shape.count >= 2 && lengths.count == x.shape[0], "zeroPadding: \(lengths.count) lengths for shape \(x.shape).")
    let steps = x.shape[1]
    return (steps, x.count / max(x.shape[0] * steps, 1))
}

/// Row width of a scatter/gather between x (`[N, D]`) and table (`[·, D]`).
func scatterWidth(_ x: Tensor, _ ids: [Int32], _ table: Tensor, _ scales: [Float]?) -> Int {
    let d = ids.isEmpty ? 0 : x.count / ids.count
    precondition(ids.count * d == x.count && (d == 0 || table.count % d == 0) && (scales?.count ?? ids.count) == ids.count,
                 "scatter/gather: \(ids.count) ids for x \(x.shape) and table \(table.shape).")
    return d
}

/// (V, F) of char-convolution tables `[width, V, F]`.
func charTableLayout(_ tables: Tensor, _ width: Int) -> (Int, Int) {
    precondition(tables.shape.count == 3 && tables.shape[0] == width,
                 "char convolution tables must be [width \(width), V, F], but are \(tables.shape).")
    return (tables.shape[1], tables.shape[2])
}
