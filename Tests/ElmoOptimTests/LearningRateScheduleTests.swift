import ElmoOptim
import XCTest

final class LearningRateScheduleTests: XCTestCase {
    func testSlantedTriangular() {
        // T = 100, cut = 10, ratio 32: bottom 0.01/32 = 0.0003125, peak 0.01 at step 10;
        // step 5: p = 0.5 and step 55: p = 1 − 45/90 = 0.5, both 0.01·(1 + 0.5·31)/32 = 0.00515625.
        let schedule = SlantedTriangular(maxRate: 0.01, totalSteps: 100, cutFraction: 0.1, ratio: 32)
        let rates = [0, 5, 10, 55, 100, 150].map { schedule.rate(step: $0) }
        assertClose(rates, [0.0003125, 0.00515625, 0.01, 0.00515625, 0.0003125, 0.0003125], "slanted triangular")
    }

    func testReduceOnPlateau() {
        // patience 1: the second evaluation in a row without improvement halves the rate.
        var schedule = ReduceOnPlateau(initialRate: 1, factor: 0.5, patience: 1)
        let rates = [10, 9, 9.5, 9.2, 8, 8, 8, 8].map { schedule.update(metric: $0) }
        XCTAssertEqual(rates, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
        XCTAssertEqual(schedule.best, 8)
    }

    func testDiscriminativeScales() {
        XCTAssertEqual(discriminativeScales(layerCount: 3, factor: 2), [0.25, 0.5, 1])
        assertClose(discriminativeScales(layerCount: 2), [1 / 2.6, 1], "default factor")
    }
}
