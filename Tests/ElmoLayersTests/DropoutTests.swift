import ElmoLayers
import ElmoTensor
import XCTest
import _TestSupport

final class DropoutTests: XCTestCase {
    func testInactiveIsIdentity() {
        var rng = RandomGenerator(seed: 1)
        let x = Tensor.gaussian([3, 4], std: 1, rng: &rng)
        let before = rng
        var cache = Dropout.Cache()
        XCTAssertEqual(Dropout(probability: 0.5).forward(x, training: false, rng: &rng, cache: &cache), x)
        XCTAssertTrue(cache.mask.isEmpty)
        XCTAssertEqual(Dropout(probability: 0).forward(x, training: true, rng: &rng, cache: &cache), x)
        XCTAssertEqual(rng, before, "inactive dropout must not draw random numbers")
        let dy = Tensor.gaussian([3, 4], std: 1, rng: &rng)
        XCTAssertEqual(Dropout(probability: 0.5).backward(dy, cache: cache), dy)
    }

    func testDropsAboutPAndScalesTheRest() {
        var rng = RandomGenerator(seed: 2)
        let x = Tensor(shape: [100, 100], repeating: 2)
        var cache = Dropout.Cache()
        let y = Dropout(probability: 0.25).forward(x, training: true, rng: &rng, cache: &cache)
        let zeros = y.scalars.filter { $0 == 0 }.count
        XCTAssertEqual(Double(zeros) / 10_000, 0.25, accuracy: 0.02)
        XCTAssertTrue(y.scalars.allSatisfy { $0 == 0 || abs($0 - 2 / 0.75) < 1e-6 }, "kept values must be x / (1 - p)")
    }

    /// Per-row masks: a row's mask depends on its global index only, so a batch split into parts (as data-parallel
    /// ranks split it) gets the masks of the whole; and about p of the elements are dropped.
    func testRowKeyedMasksDoNotDependOnHowTheBatchIsSplit() {
        let x = Tensor(shape: [6, 5, 40], repeating: 1)
        let dropout = Dropout(probability: 0.25), key = CounterRandom(key: 11)
        var cache = Dropout.Cache()
        let whole = dropout.forward(x, training: true, rows: key, firstRow: 0, cache: &cache)
        XCTAssertEqual(Double(whole.scalars.filter { $0 == 0 }.count) / Double(x.count), 0.25, accuracy: 0.03)
        var parts: [Float] = []
        for rows in [0..<2, 2..<5, 5..<6] {
            parts += dropout.forward(x.rows(rows), training: true, rows: key, firstRow: rows.lowerBound, cache: &cache).scalars
        }
        XCTAssertEqual(parts, whole.scalars)
        let shifted = dropout.forward(x.rows(2..<5), training: true, rows: key, firstRow: 0, cache: &cache)
        XCTAssertNotEqual(shifted.scalars, Array(whole.scalars[(2 * 200)..<(5 * 200)]), "a different global row gets another mask")
        XCTAssertNotEqual(dropout.forward(x, training: true, rows: key.derived(1), firstRow: 0, cache: &cache), whole)
        XCTAssertEqual(dropout.forward(x, training: false, rows: key, firstRow: 0, cache: &cache), x)
    }

    func testSameSeedGivesSameMask() {
        let x = Tensor(shape: [50], repeating: 1)
        var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9)
        var ca = Dropout.Cache(), cb = Dropout.Cache()
        let dropout = Dropout(probability: 0.5)
        XCTAssertEqual(dropout.forward(x, training: true, rng: &a, cache: &ca),
                       dropout.forward(x, training: true, rng: &b, cache: &cb))
    }

    func testGradientMatchesFiniteDifferences() {
        var rng = RandomGenerator(seed: 6)
        let dropout = Dropout(probability: 0.3)
        var x = Tensor.gaussian([4, 5], std: 1, rng: &rng)
        let w = Tensor.gaussian([4, 5], std: 1, rng: &rng)
        let maskSeed: UInt64 = 77
        // Every pass draws its mask from the same seed, so the mask is fixed and the loss is linear in x.
        func loss(_ input: Tensor) -> Double {
            var maskRng = RandomGenerator(seed: maskSeed)
            var cache = Dropout.Cache()
            return GradientCheck.project(dropout.forward(input, training: true, rng: &maskRng, cache: &cache), w)
        }
        var maskRng = RandomGenerator(seed: maskSeed)
        var cache = Dropout.Cache()
        _ = dropout.forward(x, training: true, rng: &maskRng, cache: &cache)
        XCTAssertTrue(cache.mask.contains(0) && cache.mask.contains { $0 > 1 }, "the check needs dropped and kept elements")
        let dx = dropout.backward(w, cache: cache)
        let idx = Array(0..<x.count)
        GradientCheck.assertClose(idx.map { Double(dx.scalars[$0]) },
                                  GradientCheck.numeric(&x, indices: idx, epsilon: 1e-2, loss: loss), "dx")
    }
}
