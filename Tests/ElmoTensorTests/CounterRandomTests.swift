import ElmoTensor
import XCTest

final class CounterRandomTests: XCTestCase {
    /// The plain SplitMix64 generator (Steele, Lea & Flood 2014), drawn in sequence.
    private struct PlainSplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Number n at a key is SplitMix64's n-th output from that seed, drawn in any order.
    func testWordsAreSplitMix64AtTheCounter() {
        for key: UInt64 in [0, 1, 0xDEAD_BEEF, .max] {
            var plain = PlainSplitMix64(state: key)
            let sequence = (0..<100).map { _ in plain.next() }
            let random = CounterRandom(key: key)
            XCTAssertEqual((0..<100).map { random.word(at: $0) }, sequence)
            XCTAssertEqual((0..<100).reversed().map { random.word(at: $0) }, sequence.reversed())
        }
    }

    func testDerivedKeysAreDistinctAndRepeatable() {
        let base = CounterRandom(key: 7)
        XCTAssertEqual(base.derived(3), base.derived(3))
        let keys = Set((0..<10_000).map { base.derived($0).key })
        XCTAssertEqual(keys.count, 10_000)
        XCTAssertNotEqual(base.derived(1).derived(2), base.derived(2).derived(1), "the order of folded values matters")
        XCTAssertNotEqual(CounterRandom(key: 8).derived(3), base.derived(3))
    }

    /// Uniform in [0, 1): mean ½, variance 1/12, and neighbouring rows' streams uncorrelated.
    func testUniformNumbersLookUniform() {
        let n = 20_000
        let row0 = CounterRandom(key: 1).derived(0), row1 = CounterRandom(key: 1).derived(1)
        let a = (0..<n).map { Double(row0.uniform(at: $0)) }, b = (0..<n).map { Double(row1.uniform(at: $0)) }
        XCTAssertTrue(a.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = a.reduce(0, +) / Double(n)
        let variance = a.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        XCTAssertEqual(mean, 0.5, accuracy: 0.01)
        XCTAssertEqual(variance, 1.0 / 12, accuracy: 0.003)
        let meanB = b.reduce(0, +) / Double(n)
        let covariance = zip(a, b).reduce(0) { $0 + ($1.0 - mean) * ($1.1 - meanB) } / Double(n)
        XCTAssertEqual(covariance / variance, 0, accuracy: 0.03)
    }
}
