import ElmoTensor
import Foundation
import XCTest

final class VectorMathTests: XCTestCase {
    /// Evenly spaced points over [lo, hi] plus the given extra points, in groups of 8.
    private func grid(_ lo: Float, _ hi: Float, count: Int, extra: [Float] = []) -> [Float] {
        var xs = (0..<count).map { lo + (hi - lo) * Float($0) / Float(count - 1) } + extra
        while xs.count % 8 != 0 { xs.append(0) }
        return xs
    }

    /// Max over the grid of |approx − exact| / (|exact| + floor), with exact from Double libm.
    private func maxError(_ xs: [Float], floor: Double, _ approx: (Kernels.Vector) -> Kernels.Vector,
                          _ exact: (Double) -> Double) -> Double {
        var worst = 0.0
        for start in stride(from: 0, to: xs.count, by: 8) {
            let v = approx(Kernels.Vector(xs[start..<(start + 8)]))
            for l in 0..<8 {
                let e = exact(Double(xs[start + l]))
                worst = max(worst, abs(Double(v[l]) - e) / (abs(e) + floor))
            }
        }
        return worst
    }

    func testExpSigmoidTanhMatchLibm() {
        let xs = grid(-20, 20, count: 40_001, extra: [0, 1e-6, -1e-6, 0.625, -0.625, 0.6251, 88, -87])
        // Relative error within about 2 ulp (Float ulp is 1.2e-7; measured 0.6–1.2e-7 on this grid).
        XCTAssertLessThan(maxError(xs, floor: 0, Kernels.exp, Foundation.exp), 3e-7, "exp")
        XCTAssertLessThan(maxError(xs, floor: 0, Kernels.tanh, Foundation.tanh), 3e-7, "tanh")
        XCTAssertLessThan(maxError(xs, floor: 1e-30, Kernels.sigmoid) { 1 / (1 + Foundation.exp(-$0)) }, 3e-7, "sigmoid")
    }

    func testExtremesSaturateWithoutNaN() {
        let v = Kernels.Vector(-1000, -100, -88, 88.5, 100, 1000, -.infinity, .infinity)
        let e = Kernels.exp(v)
        XCTAssertEqual(e[0], 0); XCTAssertEqual(e[1], 0); XCTAssertEqual(e[6], 0)
        XCTAssertTrue(e[5].isFinite && e[5] > 1e38)
        let s = Kernels.sigmoid(v), t = Kernels.tanh(v)
        for l in 0..<8 {
            XCTAssertTrue(s[l] >= 0 && s[l] <= 1, "sigmoid lane \(l): \(s[l])")
            XCTAssertTrue(abs(t[l]) <= 1 && !t[l].isNaN, "tanh lane \(l): \(t[l])")
        }
        XCTAssertEqual(s[7], 1); XCTAssertEqual(t[7], 1); XCTAssertEqual(t[6], -1)
    }

    func testRowKernelsHandleTails() {
        for n in [1, 5, 8, 13, 64] {
            var rng = RandomGenerator(seed: UInt64(n))
            let x = (0..<n).map { _ in rng.nextGaussian() * 3 }
            let m = x.withUnsafeBufferPointer { Kernels.maximum($0.baseAddress!, n) }
            XCTAssertEqual(m, x.max()!, "maximum, n \(n)")
            var y = x
            let s = y.withUnsafeMutableBufferPointer { Kernels.expSubtracting(m, $0.baseAddress!, n) }
            let expected = x.map { Foundation.exp(Double($0 - m)) }
            XCTAssertEqual(Double(s), expected.reduce(0, +), accuracy: 1e-5 * Double(n), "sum, n \(n)")
            for i in 0..<n { XCTAssertEqual(Double(y[i]), expected[i], accuracy: 1e-6, "expSubtracting[\(i)], n \(n)") }
            var z = [Float](repeating: 0, count: n)
            x.withUnsafeBufferPointer { px in z.withUnsafeMutableBufferPointer { Kernels.exp(px.baseAddress!, $0.baseAddress!, n) } }
            for i in 0..<n { XCTAssertEqual(Double(z[i]), Foundation.exp(Double(x[i])), accuracy: 1e-6 * Foundation.exp(Double(x[i]))) }
        }
    }
}
