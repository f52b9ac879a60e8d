import ElmoTensor
import XCTest
import _TestSupport

/// The fast backend against the reference backend, op by op, on random inputs: odd sizes (1, 3, 7, 17, …) that
/// miss every vector width and block size, and the shapes the ref-tiny model uses (batch 32, cell 256,
/// projection 64, char filters up to 64, 262 char ids, 50 chars per token). Each case runs the same call on a
/// copy of the same inputs with each backend and compares every output. Tolerances: the reference sums in Double
/// and uses libm transcendentals, the fast one sums in Float and uses 8-lane polynomials (a few ulp), so results
/// agree to ~1e-5 relative on O(1) values.
final class BackendAgreementTests: XCTestCase {
    let fast = CPUBackend(), reference = ReferenceBackend()
    var rng = RandomGenerator(seed: 12)

    func gaussian(_ shape: [Int]) -> Tensor { Tensor.gaussian(shape, std: 1, rng: &rng) }

    /// Runs `body` on each backend with the same inputs and compares what it returns.
    func agree(_ label: String, rtol: Float = 1e-4, atol: Float = 1e-5, _ body: (any Backend) -> [Tensor],
               file: StaticString = #filePath, line: UInt = #line) {
        let a = body(fast), b = body(reference)
        XCTAssertEqual(a.count, b.count, label, file: file, line: line)
        for (k, (x, y)) in zip(a, b).enumerated() {
            assertTensorsClose(x, y, rtol: rtol, atol: atol, "\(label) output \(k)", file: file, line: line)
        }
    }

    func testGemmEveryTransposeAndWindow() {
        for (m, n, k) in [(1, 1, 1), (3, 7, 5), (17, 33, 9), (32, 1024, 64), (640, 64, 256), (70, 300, 48)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                // Stored operands padded by 2 columns and offset by one row, so strides and offsets are exercised.
                let aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n
                let a = gaussian([aRows + 1, aCols + 2]), b = gaussian([bRows + 1, bCols + 2]), c0 = gaussian([m + 1, n + 3])
                let av = a.view(MatrixWindow(offset: aCols + 2, rows: aRows, columns: aCols, rowStride: aCols + 2))
                let bv = b.view(MatrixWindow(offset: bCols + 2, rows: bRows, columns: bCols, rowStride: bCols + 2))
                for beta: Float in [0, 1, 0.5] {
                    agree("gemm \(m)×\(n)×\(k) ta \(ta) tb \(tb) beta \(beta)", rtol: 1e-4, atol: 1e-4) { backend in
                        var c = c0
                        backend.gemm(av, transposeA: ta, bv, transposeB: tb, alpha: 0.75, beta: beta, into: &c,
                                     MatrixWindow(offset: 1, rows: m, columns: n, rowStride: n + 3))
                        return [c]
                    }
                }
            }
        }
    }

    func testPackedGemmAndTransposedPacking() {
        for (m, n, k) in [(1, 1, 1), (3, 7, 5), (17, 33, 9), (32, 1024, 64), (5, 64, 1024), (70, 300, 48)] {
            for transpose in [false, true] {
                // The weight is stored padded and offset, and the output window is strided, as in the layers.
                let wRows = transpose ? n : k, wCols = transpose ? k : n
                let w = gaussian([wRows + 1, wCols + 2]), a = gaussian([m + 1, k + 2]), c0 = gaussian([m + 1, n + 3])
                let wv = w.view(MatrixWindow(offset: wCols + 2, rows: wRows, columns: wCols, rowStride: wCols + 2))
                let av = a.view(MatrixWindow(offset: k + 2, rows: m, columns: k, rowStride: k + 2))
                for beta: Float in [0, 1, 0.5] {
                    agree("packed gemm \(m)×\(n)×\(k) transposed \(transpose) beta \(beta)", rtol: 1e-4, atol: 1e-4) { backend in
                        var c = c0
                        backend.gemm(av, packed: backend.pack(wv, transpose: transpose), beta: beta, into: &c,
                                     MatrixWindow(offset: 1, rows: m, columns: n, rowStride: n + 3))
                        return [c]
                    }
                }
            }
        }
    }

    func testRowColumnAndWindowOps() {
        for (rows, cols) in [(1, 1), (3, 7), (17, 33), (640, 1024)] {
            let x = gaussian([rows, cols + 3]), v = gaussian([cols]), y0 = gaussian([rows, cols + 3])
            let window = MatrixWindow(offset: 2, rows: rows, columns: cols, rowStride: cols + 3)
            agree("row/column ops \(rows)×\(cols)") { backend in
                var a = y0, sums = v, b = y0, c = y0, d = y0
                backend.addRowVector(v, to: &a, window)
                backend.addColumnSums(x.view(window), into: &sums)
                backend.axpy(-1.5, x.view(window), into: &b, window)
                backend.copy(x.view(window), into: &c, window)
                backend.fill(&d, window, with: 0.25)
                return [a, sums, b, c, d]
            }
        }
    }

    func testLayoutOps() {
        for (a, b, f) in [(1, 1, 1), (3, 5, 7), (20, 32, 64), (21, 32, 256)] {
            let x = gaussian([a * b * f + 9]), lengths = (0..<a).map { ($0 * 7) % (b + 1) }
            agree("swapLeadingAxes and zeroPadding [\(a), \(b), \(f)]") { backend in
                var y = Tensor(zeros: [b, a, f])
                backend.swapLeadingAxes(x, offset: 9, a, b, features: f, into: &y)
                var padded = x.rows(0..<(a * b * f), shape: [a, b, f])
                backend.zeroPadding(&padded, lengths: lengths)
                var set = y
                backend.setElements(&set, indices: [0, y.count - 1], values: [7, -9])
                return [y, padded, set]
            }
        }
    }

    func testElementWiseAndReductions() {
        for n in [1, 7, 17, 1023, 32 * 64 * 20] {
            let x = gaussian([n]), y0 = gaussian([n])
            let mask = Tensor(shape: [n], scalars: (0..<n).map { $0 % 3 == 0 ? 0 : 1.25 })
            agree("element-wise \(n)") { backend in
                var scaled = x, clipped = x, masked = x, gradient = y0
                backend.scale(&scaled, by: -0.3)
                backend.clip(&clipped, elements: (n / 3)..<n, limit: 0.5)
                backend.zeroWhereClipped(&gradient, elements: 0..<n, values: clipped, valueOffset: 0, limit: 0.5)
                backend.multiply(&masked, byMask: mask)
                let sums = Tensor(shape: [2], scalars: [Float(backend.sumOfSquares(x)), Float(backend.dot(x, y0))])
                return [scaled, clipped, gradient, masked, sums]
            }
            for activation in [Kernels.Activation.relu, .tanh, .sigmoid, .identity] {
                agree("\(activation) \(n)") { backend in
                    var out = x, dx = y0
                    backend.activate(activation, &out)
                    backend.activateBackward(activation, output: out, gradient: y0, into: &dx)
                    return [out, dx]
                }
            }
        }
    }

    func testSoftmaxFamily() {
        for (rows, classes) in [(1, 1), (3, 7), (17, 33), (640, 1000)] {
            let logits = gaussian([rows, classes])
            let targets = (0..<rows).map { Int32($0 % 4 == 1 ? -1 : ($0 * 5) % classes) }
            agree("softmax family \(rows)×\(classes)", rtol: 1e-4, atol: 1e-5) { backend in
                var p = logits, lp = logits, ce = logits, nll = logits
                backend.softmaxRows(&p)
                backend.logSoftmaxRows(&lp)
                let (lossSum, count) = backend.softmaxCrossEntropy(&ce, targets: targets)
                var gradient = ce
                backend.softmaxCrossEntropyGradient(&gradient, targets: targets, scale: 0.5)
                let losses = backend.negativeLogLikelihoods(&nll, targets: targets)
                return [p, lp, gradient, Tensor(shape: [2], scalars: [Float(lossSum), Float(count)]),
                        Tensor(shape: [rows], scalars: losses)]
            }
            // A dot of `classes` Float products summed in Float: its error grows with √classes and the terms' size.
            agree("rowDots \(rows)×\(classes)", rtol: 1e-4, atol: 2e-3) { backend in
                let ids = targets.map { $0 >= 0 ? $0 % Int32(rows) : -1 }
                return [Tensor(shape: [rows], scalars: backend.rowDots(logits, logits, ids: ids))]
            }
        }
    }

    func testGathersAndScatters() {
        for (v, d, n) in [(1, 1, 3), (7, 5, 17), (262, 16, 640), (1000, 64, 33)] {
            let table = gaussian([v, d]), x = gaussian([n, d]), y0 = gaussian([n, d])
            let ids = (0..<n).map { Int32($0 % 5 == 4 ? -1 : ($0 * 3) % v) }
            let scales = (0..<n).map { Float($0 % 7) - 3 }
            agree("gather/scatter V \(v) D \(d) N \(n)") { backend in
                var scattered = table, scaledScatter = table, gathered = y0
                backend.scatterAddRows(x, scales: nil, ids: ids, into: &scattered)
                backend.scatterAddRows(x, scales: scales, ids: ids, into: &scaledScatter)
                backend.addGatheredRows(table, ids: ids, scales: scales, into: &gathered)
                return [backend.gatherRows(table, ids: ids.map { max($0, 0) }), scattered, scaledScatter, gathered]
            }
        }
    }

    func testLSTMSteps() {
        for (t, b, c) in [(1, 1, 1), (3, 3, 7), (2, 32, 256)] {
            let gates0 = gaussian([t * b, 4 * c]), cells0 = gaussian([(t + 1) * b, c])
            let dm = gaussian([b, c]), dc0 = gaussian([b, c])
            for clip: Float in [0, 0.5] {
                agree("LSTM T \(t) B \(b) C \(c) clip \(clip)", rtol: 1e-4, atol: 1e-5) { backend in
                    var gates = gates0, cells = cells0, m = Tensor(zeros: [t * b, c])
                    for step in 0..<t {
                        backend.lstmGatesForward(gates: &gates, cells: &cells, cellOutputs: &m, step: step, batch: b, cellSize: c,
                                                 forgetBias: 1, cellClip: clip)
                    }
                    var dc = dc0, dGates = Tensor(zeros: [t * b, 4 * c])
                    for step in stride(from: t - 1, through: 0, by: -1) {
                        backend.lstmGatesBackward(gates: gates, cells: cells, dm: dm, dc: &dc, dGates: &dGates, step: step, batch: b,
                                                  cellSize: c, cellClip: clip)
                    }
                    return [gates, cells, m, dc, dGates]
                }
            }
        }
    }

    func testGRUSteps() {
        for (t, b, h) in [(1, 1, 1), (3, 3, 7), (2, 32, 64)] {
            let gates0 = gaussian([t * b, 3 * h]), recurrent = gaussian([b, 3 * h]), dh0 = gaussian([t * b, h])
            let hidden0 = Tensor.concatenatingRows([Tensor(zeros: [b, h]), gaussian([t * b, h])])
            agree("GRU T \(t) B \(b) H \(h)", rtol: 1e-4, atol: 1e-5) { backend in
                var gates = gates0, candidate = Tensor(zeros: [t * b, h]), hidden = hidden0
                for step in 0..<t {
                    backend.gruGatesForward(gates: &gates, recurrent: recurrent, candidate: &candidate, hidden: &hidden, step: step,
                                            batch: b, hiddenSize: h)
                }
                var dh = dh0, dInput = Tensor(zeros: [t * b, 3 * h]), dRecurrent = Tensor(zeros: [t * b, 3 * h])
                for step in stride(from: t - 1, through: 0, by: -1) {
                    backend.gruGatesBackward(gates: gates, candidate: candidate, hidden: hidden, dHidden: &dh, dInput: &dInput,
                                             dRecurrent: &dRecurrent, step: step, batch: b, hiddenSize: h)
                }
                return [gates, candidate, hidden, dh, dInput, dRecurrent]
            }
        }
    }

    func testCharConvolutionAndHighway() {
        // 640 tokens take the fast backend's two-thread split; 3 tokens do not.
        for (tokens, chars, v, width, f) in [(3, 5, 7, 1, 3), (17, 9, 11, 4, 5), (640, 50, 262, 3, 64)] {
            // Multiples of 1/8: every window sum is exact in Float, so both backends see the same maxima and ties.
            let tables = Tensor(shape: [width, v, f], scalars: gaussian([width, v, f]).scalars.map { ($0 * 8).rounded() / 8 })
            let ids = (0..<(tokens * chars)).map { Int32(($0 * 7 + $0 / chars) % v) }
            let offset = 2, stride = f + 3
            let dy = gaussian([tokens, stride])
            agree("char convolution N \(tokens) W \(chars) width \(width) F \(f)") { backend in
                var y = Tensor(zeros: [tokens, stride]), argmax = [Int32](repeating: 0, count: tokens * stride)
                backend.charConvolutionMax(tables: tables, chars: ids, tokens: tokens, charsPerToken: chars, width: width, into: &y,
                                           argmax: &argmax, columnOffset: offset)
                var dTables = Tensor(zeros: [width, v, f])
                backend.charConvolutionMaxBackward(dy, argmax: argmax, columnOffset: offset, chars: ids, tokens: tokens,
                                                   charsPerToken: chars, width: width, into: &dTables)
                return [y, Tensor(shape: [argmax.count], scalars: argmax.map(Float.init)), dTables]
            }
        }
        for (rows, size) in [(1, 1), (7, 17), (640, 128)] {
            let h0 = gaussian([rows, 2 * size]), x = gaussian([rows, size]), dy = gaussian([rows, size]), dx0 = gaussian([rows, size])
            for activation in [Kernels.Activation.relu, .tanh] {
                agree("highway \(rows)×\(size) \(activation)") { backend in
                    var h = h0, y = Tensor(zeros: [rows, size])
                    backend.highwayForward(&h, input: x, into: &y, activation: activation)
                    var dh = Tensor(zeros: [rows, 2 * size]), dx = dx0
                    backend.highwayBackward(h, input: x, gradient: dy, dh: &dh, dx: &dx, activation: activation)
                    return [h, y, dh, dx]
                }
            }
        }
    }

    func testPoolingAndWindows() {
        for (n, steps, d, width) in [(1, 1, 1, 1), (3, 7, 5, 3), (32, 20, 64, 5)] {
            let x = gaussian([n, steps, d]), dy = gaussian([n, d])
            agree("max over rows, im2col N \(n) T \(steps) D \(d) w \(width)") { backend in
                var y = Tensor(zeros: [n, d]), argmax = [Int32](repeating: 0, count: n * d), dx = Tensor(zeros: [n, steps, d])
                for s in 0..<n {
                    let rows = MatrixWindow(offset: s * steps * d, rows: steps - s % steps, columns: d)
                    backend.maxOverRows(x.view(rows), into: &y, MatrixWindow(offset: s * d, rows: 1, columns: d), argmax: &argmax,
                                        argmaxOffset: s * d)
                    backend.maxOverRowsBackward(dy.view(MatrixWindow(offset: s * d, rows: 1, columns: d)), argmax: argmax,
                                                argmaxOffset: s * d, into: &dx, rows)
                }
                let positions = steps - width + 1
                var columns = Tensor(zeros: [n * positions, width * d]), folded = Tensor(zeros: [n, steps, d])
                backend.im2col(x, sequences: n, steps: steps, features: d, width: width, into: &columns)
                backend.col2imAdd(columns, sequences: n, steps: steps, features: d, width: width, into: &folded)
                return [y, Tensor(shape: [argmax.count], scalars: argmax.map(Float.init)), dx, columns, folded]
            }
        }
    }

    func testOptimizerUpdates() {
        for n in [1, 7, 1025] {
            let p0 = gaussian([n]), g = gaussian([n]), m0 = gaussian([n])
            let v0 = Tensor(shape: [n], scalars: gaussian([n]).scalars.map { $0 * $0 })
            agree("optimizer updates \(n)", rtol: 1e-5, atol: 1e-6) { backend in
                var sgd = p0, momentum = p0, nesterov = p0, adagrad = p0, adam = p0
                var b1 = m0, b2 = m0, accumulator = v0, m = m0, v = v0
                backend.sgdUpdate(&sgd, gradient: g, learningRate: 0.1, weightDecay: 0.01)
                backend.sgdMomentumUpdate(&momentum, gradient: g, buffer: &b1, learningRate: 0.1, momentum: 0.9, nesterov: false,
                                          weightDecay: 0.01)
                backend.sgdMomentumUpdate(&nesterov, gradient: g, buffer: &b2, learningRate: 0.1, momentum: 0.9, nesterov: true,
                                          weightDecay: 0)
                backend.adagradUpdate(&adagrad, gradient: g, accumulator: &accumulator, learningRate: 0.2, epsilon: 1e-10, weightDecay: 0.01)
                backend.adamUpdate(&adam, gradient: g, firstMoment: &m, secondMoment: &v,
                                   AdamStep(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, l2: 0.01, shrink: 0.999, stepSize: 0.01,
                                            inverseRootCorrection2: 3.2))
                return [sgd, momentum, b1, nesterov, b2, adagrad, accumulator, adam, m, v]
            }
        }
    }

    func testLayerNorm() {
        for (rows, d) in [(1, 1), (7, 17), (66, 128)] {
            let x = gaussian([rows, d]), g = gaussian([rows, d])
            for mask in [nil, (0..<rows).map { $0 % 3 != 2 || rows == 1 }] {
                agree("masked layer norm \(rows)×\(d) mask \(mask != nil)", rtol: 1e-4, atol: 1e-5) { backend in
                    let (normalized, inverseStd) = backend.maskedLayerNorm(x, rowMask: mask, features: d)
                    let dx = backend.maskedLayerNormBackward(g, normalized: normalized, inverseStd: inverseStd, rowMask: mask, features: d)
                    return [normalized, Tensor(shape: [1], scalars: [inverseStd]), dx]
                }
            }
        }
    }

    func testCRF() {
        for (b, t, k) in [(1, 1, 1), (3, 7, 5), (4, 20, 17)] {
            let emissions = gaussian([b, t, k]), transitions = gaussian([k, k]), start = gaussian([k]), end = gaussian([k])
            let lengths = (0..<b).map { t - ($0 * 3) % t }
            let tags = (0..<(b * t)).map { Int32(($0 * 7) % k) }
            let forbidden = (0..<(k * k)).map { $0 % 5 == 3 && k > 1 ? -Double.infinity : Double(transitions[flat: $0]) }
            agree("CRF B \(b) T \(t) K \(k)", rtol: 1e-4, atol: 1e-5) { backend in
                let forward = backend.crfNegativeLogLikelihood(emissions: emissions, tags: tags, lengths: lengths, transitions: transitions,
                                                               start: start, end: end)
                var dT = Tensor(zeros: [k, k]), dS = Tensor(zeros: [k]), dE = Tensor(zeros: [k])
                let dEmissions = backend.crfBackward(emissions: emissions, tags: tags, lengths: lengths, forward: forward,
                                                     transitions: transitions, start: start, end: end, scale: 0.5,
                                                     transitionsGradient: &dT, startGradient: &dS, endGradient: &dE)
                let paths = backend.crfViterbi(emissions: emissions, lengths: lengths, transitions: forbidden,
                                               start: start.scalars.map(Double.init), end: end.scalars.map(Double.init))
                let flat = paths.flatMap { $0 ?? [-1] }.map(Float.init)
                return [Tensor(shape: [1], scalars: [Float(forward.total)]),
                        Tensor(shape: [forward.logPartitions.count], scalars: forward.logPartitions.map(Float.init)),
                        dEmissions, dT, dS, dE, Tensor(shape: [flat.count], scalars: flat)]
            }
        }
    }

    /// `Backends.named` knows both names and nothing else; `with` restores the previous backend.
    func testSelection() {
        XCTAssertEqual(Backends.named("cpu")?.name, "cpu")
        XCTAssertEqual(Backends.named("reference")?.name, "reference")
        XCTAssertNil(Backends.named("gpu"))
        let before = Backends.current.name
        Backends.with(reference) { XCTAssertEqual(Backends.current.name, "reference") }
        XCTAssertEqual(Backends.current.name, before)
    }
}
