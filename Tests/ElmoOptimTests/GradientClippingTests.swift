import ElmoOptim
import ElmoTensor
import XCTest

final class GradientClippingTests: XCTestCase {
    private func parameters() -> [Parameter] {
        // ‖[3, 0]‖² + ‖[0, 4]‖² = 25, global norm 5.
        let a = Parameter(name: "a", value: Tensor(zeros: [2]))
        let b = Parameter(name: "b", value: Tensor(zeros: [1, 2]))
        a.gradient = Tensor(shape: [2], scalars: [3, 0])
        b.gradient = Tensor(shape: [1, 2], scalars: [0, 4])
        return [a, b]
    }

    func testNormBelowThresholdLeavesGradients() {
        let ps = parameters()
        XCTAssertEqual(GradientClipping.clipGlobalNorm(ps, maxNorm: 10), 5, accuracy: 1e-12)
        XCTAssertEqual(ps[0].gradient.scalars, [3, 0])
        XCTAssertEqual(ps[1].gradient.scalars, [0, 4])
    }

    func testNormAboveThresholdScalesAllGradients() {
        let ps = parameters()
        XCTAssertEqual(GradientClipping.clipGlobalNorm(ps, maxNorm: 1), 5, accuracy: 1e-12)
        // Scale 1 / (5 + 1e-6): [3, 0] → [0.6, 0], [0, 4] → [0, 0.8]; the new global norm is 1.
        assertClose(ps[0].gradient.scalars, [0.6, 0], "a")
        assertClose(ps[1].gradient.scalars, [0, 0.8], "b")
        XCTAssertEqual(GradientClipping.clipGlobalNorm(ps, maxNorm: 100), 1, accuracy: 1e-6)
    }

    func testNonFiniteNormLeavesGradients() {
        let ps = parameters()
        ps[0].gradient[flat: 1] = .nan
        XCTAssertTrue(GradientClipping.clipGlobalNorm(ps, maxNorm: 1).isNaN)
        XCTAssertEqual(ps[1].gradient.scalars, [0, 4])
    }
}
