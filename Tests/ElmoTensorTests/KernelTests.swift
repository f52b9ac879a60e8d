import ElmoTensor
import XCTest
import _TestSupport

final class KernelTests: XCTestCase {
    /// Every transpose combination against a plain triple loop.
    func testGemmAllTransposesMatchNaiveProduct() {
        var rng = RandomGenerator(seed: 3)
        let m = 4, n = 5, k = 3
        let a = Tensor.gaussian([m, k], std: 1, rng: &rng), b = Tensor.gaussian([k, n], std: 1, rng: &rng)
        var expected = Tensor(zeros: [m, n])
        for i in 0..<m { for j in 0..<n { for p in 0..<k { expected[flat: i * n + j] += a.scalars[i * k + p] * b.scalars[p * n + j] } } }
        func transpose(_ t: Tensor) -> Tensor {
            let (r, c) = t.matrixShape
            var out = Tensor(zeros: [c, r])
            for i in 0..<r { for j in 0..<c { out[flat: j * r + i] = t.scalars[i * c + j] } }
            return out
        }
        for ta in [false, true] {
            for tb in [false, true] {
                var c = Tensor(zeros: [m, n])
                CPUBackend().matmul(ta ? transpose(a) : a, tb ? transpose(b) : b, transposeA: ta, transposeB: tb, into: &c)
                assertTensorsClose(c, expected, rtol: 1e-5, atol: 1e-5, "gemm transA \(ta) transB \(tb)")
            }
        }
    }

    /// Large products split into row or column blocks across threads (strided views of A, B and C, every transpose,
    /// beta ≠ 0) give what one thread gives, to rounding (OpenBLAS's kernels differ in the last bits by block shape;
    /// a wrong offset would be off by O(1)).
    func testSplitGemmMatchesSingleThreadedProduct() {
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        var rng = RandomGenerator(seed: 4)
        for (m, n, k) in [(300, 70, 64), (40, 900, 48)] {  // rows split, columns split
            let a = Tensor.gaussian([m * k], std: 1, rng: &rng), b = Tensor.gaussian([k * n], std: 1, rng: &rng)
            let c0 = Tensor.gaussian([m * n], std: 1, rng: &rng)
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                func product(threads: Int) -> [Float] {
                    BLAS.setThreads(threads)
                    var c = c0
                    a.withPointer { pa in
                        b.withPointer { pb in
                            c.withMutablePointer { pc in
                                BLAS.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: pa, lda: ta ? m : k,
                                          b: pb, ldb: tb ? k : n, beta: 2, c: pc, ldc: n)
                            }
                        }
                    }
                    return c.scalars
                }
                let one = product(threads: 1), two = product(threads: 2), three = product(threads: 3)
                XCTAssertGreaterThanOrEqual(m * n * k, 1 << 20, "large enough to split")
                assertValuesClose(two, one, rtol: 1e-5, atol: 2e-5, "2 threads, m \(m) n \(n) transA \(ta) transB \(tb)")
                assertValuesClose(three, one, rtol: 1e-5, atol: 2e-5, "3 threads, m \(m) n \(n) transA \(ta) transB \(tb)")
            }
        }
    }

    func testLogSoftmaxAndSoftmaxAgree() {
        let x: [Float] = [1, 2, 3, -1000, 0, 1000]
        var ls = [Float](repeating: 0, count: 6), sm = [Float](repeating: 0, count: 6)
        Kernels.logSoftmaxRows(x, &ls, rows: 2, cols: 3)
        Kernels.softmaxRows(x, &sm, rows: 2, cols: 3)
        let lse = logf(expf(1) + expf(2) + expf(3))
        assertValuesClose(Array(ls[0..<3]), [1 - lse, 2 - lse, 3 - lse], "log-softmax row 0")
        assertValuesClose(Array(sm[3..<6]), [0, 0, 1], "softmax with extreme values")
        XCTAssertTrue(ls.allSatisfy { $0.isFinite || $0 == -.infinity })
    }

    func testMaxOverTimeKeepsArgmaxForBackward() {
        // x [N=1, T=3, F=2]
        let x: [Float] = [1, 5, 3, 2, 2, 9]
        var y = [Float](repeating: 0, count: 2)
        var arg = [Int32](repeating: 0, count: 2)
        Kernels.maxOverTime(x, tokens: 1, steps: 3, features: 2, y: &y, yStride: 2, argmax: &arg)
        XCTAssertEqual(y, [3, 9])
        XCTAssertEqual(arg, [1, 2])
        var dx = [Float](repeating: 0, count: 6)
        Kernels.maxOverTimeBackward([10, 20], dyStride: 2, argmax: arg, tokens: 1, steps: 3, features: 2, dx: &dx)
        XCTAssertEqual(dx, [0, 0, 10, 0, 0, 20])
    }

    func testIm2colAndCol2imAreAdjoint() {
        var rng = RandomGenerator(seed: 5)
        let n = 2, w = 6, d = 3, width = 3, positions = w - width + 1
        let x = Tensor.gaussian([n, w, d], std: 1, rng: &rng)
        let g = Tensor.gaussian([n * positions, width * d], std: 1, rng: &rng)
        var cols = [Float](repeating: 0, count: g.count)
        Kernels.im2col(x.scalars, tokens: n, chars: w, dim: d, width: width, columns: &cols)
        var dx = [Float](repeating: 0, count: x.count)
        Kernels.col2imAdd(g.scalars, tokens: n, chars: w, dim: d, width: width, dx: &dx)
        // <im2col(x), g> == <x, col2im(g)>
        let lhs = zip(cols, g.scalars).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let rhs = zip(x.scalars, dx).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4)
    }

    /// The fused gate backward against central differences of the fused forward.
    func testLSTMGateBackwardMatchesFiniteDifferences() {
        var rng = RandomGenerator(seed: 11)
        let b = 2, c = 3
        let pre = Tensor.gaussian([b, 4 * c], std: 1, rng: &rng)
        var cPrev = Tensor.gaussian([b, c], std: 1.5, rng: &rng)
        let wm = Tensor.gaussian([b, c], std: 1, rng: &rng), wc = Tensor.gaussian([b, c], std: 1, rng: &rng)
        func loss(_ p: Tensor, _ cp: Tensor) -> Double {
            var g = p.scalars, cNew = [Float](repeating: 0, count: b * c), m = [Float](repeating: 0, count: b * c)
            Kernels.lstmGatesForward(gates: &g, cPrev: cp.scalars, c: &cNew, m: &m, batch: b, cellSize: c,
                                     forgetBias: 1, cellClip: 2)
            return GradientCheck.project(Tensor(shape: [b, c], scalars: m), wm) + GradientCheck.project(Tensor(shape: [b, c], scalars: cNew), wc)
        }
        var g = pre.scalars, cNew = [Float](repeating: 0, count: b * c), m = [Float](repeating: 0, count: b * c)
        Kernels.lstmGatesForward(gates: &g, cPrev: cPrev.scalars, c: &cNew, m: &m, batch: b, cellSize: c,
                                 forgetBias: 1, cellClip: 2)
        var dc = wc.scalars, dGates = [Float](repeating: 0, count: b * 4 * c)
        Kernels.lstmGatesBackward(gates: g, cPrev: cPrev.scalars, c: cNew, dm: wm.scalars, dc: &dc,
                                  dGates: &dGates, batch: b, cellSize: c, cellClip: 2)
        var p = pre
        let all = Array(0..<p.count)
        GradientCheck.assertClose(all.map { Double(dGates[$0]) },
                                  GradientCheck.numeric(&p, indices: all, epsilon: 1e-3) { loss($0, cPrev) }, "dGates")
        let cIdx = Array(0..<cPrev.count)
        GradientCheck.assertClose(cIdx.map { Double(dc[$0]) },
                                  GradientCheck.numeric(&cPrev, indices: cIdx, epsilon: 1e-3) { loss(pre, $0) }, "dcPrev")
    }

    func testRandomGeneratorStateRoundTripsAndIsSeeded() {
        var a = RandomGenerator(seed: 42)
        _ = a.next()
        var b = RandomGenerator(stateWords: a.stateWords)
        XCTAssertEqual(a.next(), b.next())
        var c = RandomGenerator(seed: 43)
        XCTAssertNotEqual(RandomGenerator(seed: 42).stateWords, c.stateWords)
        let xs = (0..<10_000).map { _ in c.nextGaussian() }
        let mean = xs.reduce(0, +) / Float(xs.count)
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(xs.count)
        XCTAssertEqual(mean, 0, accuracy: 0.05)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
    }
}
