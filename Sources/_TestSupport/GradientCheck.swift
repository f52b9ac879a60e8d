import ElmoTensor
import XCTest

/// Finite-difference gradient checks for layers with explicit backward passes.
///
/// Pattern: pick a random projection `w` of the layer output, so the scalar loss is `L = Σ w·y`
/// (accumulated in Double). Backward is then called with `dy = w`. Each checked coordinate is nudged
/// by ±`epsilon` and the central difference `(L+ − L−) / 2ε` is compared with the analytic value.
public enum GradientCheck {
    /// Σ w[i]·y[i] in Double.
    public static func project(_ y: Tensor, _ w: Tensor) -> Double {
        precondition(y.count == w.count, "project: output \(y.shape) vs weights \(w.shape)")
        var s: Double = 0
        for i in 0..<y.count { s += Double(y.scalars[i]) * Double(w.scalars[i]) }
        return s
    }

    /// Central-difference gradient of `loss` with respect to the coordinates `indices` of `values`.
    /// `values` is restored exactly after each nudge.
    public static func numeric(_ values: inout Tensor, indices: [Int], epsilon: Float,
                               loss: (Tensor) -> Double) -> [Double] {
        indices.map { i in
            let saved = values.scalars[i]
            values[flat: i] = saved + epsilon
            let plus = loss(values)
            values[flat: i] = saved - epsilon
            let minus = loss(values)
            values[flat: i] = saved
            return (plus - minus) / (2 * Double(epsilon))
        }
    }

    /// Numeric gradient for a parameter (nudged in place, restored afterwards).
    public static func numeric(_ parameter: Parameter, indices: [Int], epsilon: Float, loss: () -> Double) -> [Double] {
        let original = parameter.value
        defer { parameter.value = original }
        var values = original
        return numeric(&values, indices: indices, epsilon: epsilon) { nudged in
            parameter.value = nudged
            return loss()
        }
    }

    /// Up to `limit` coordinates of a tensor with `count` elements, spread evenly, plus random picks.
    public static func sampleIndices(count: Int, limit: Int = 40, rng: inout RandomGenerator) -> [Int] {
        if count <= limit { return Array(0..<count) }
        var picks = Set<Int>()
        while picks.count < limit { picks.insert(rng.nextInt(below: count)) }
        return picks.sorted()
    }

    /// Asserts that analytic and numeric gradients agree: |a − n| ≤ atol + rtol·max(|a|, |n|) per element.
    /// On failure, prints the label, the first mismatching pairs and the largest difference.
    public static func assertClose(_ analytic: [Double], _ numeric: [Double], rtol: Double = 2e-2, atol: Double = 2e-3,
                                   _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(analytic.count, numeric.count, "\(label): sizes differ", file: file, line: line)
        var bad: [String] = []
        var maxDiff = 0.0
        for (k, (a, n)) in zip(analytic, numeric).enumerated() {
            let d = abs(a - n)
            maxDiff = max(maxDiff, d)
            if d > atol + rtol * max(abs(a), abs(n)) { bad.append("[\(k)] analytic \(a) numeric \(n)") }
        }
        XCTAssertTrue(bad.isEmpty, "\(label): \(bad.count) of \(analytic.count) differ, max diff \(maxDiff); first: \(bad.prefix(5).joined(separator: "; "))",
                      file: file, line: line)
    }
}

/// Compares two tensors: shapes first, then |a − b| ≤ atol + rtol·|b| elementwise; prints the first
/// five pairs and the max difference on failure (llm.c's `check_tensor`).
public func assertTensorsClose(_ a: Tensor, _ b: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6, _ label: String,
                               file: StaticString = #filePath, line: UInt = #line) {
    guard a.shape == b.shape else {
        XCTFail("\(label): shapes differ: \(a.shape) vs \(b.shape)", file: file, line: line)
        return
    }
    assertValuesClose(a.scalars, b.scalars, rtol: rtol, atol: atol, label, file: file, line: line)
}

/// Elementwise closeness of two arrays of equal length, with a `check_tensor`-style failure message.
public func assertValuesClose(_ a: [Float], _ b: [Float], rtol: Float = 1e-5, atol: Float = 1e-6, _ label: String,
                              file: StaticString = #filePath, line: UInt = #line) {
    guard a.count == b.count else {
        XCTFail("\(label): sizes differ: \(a.count) vs \(b.count)", file: file, line: line)
        return
    }
    var maxDiff: Float = 0
    var bad = 0
    for i in 0..<a.count {
        let d = abs(a[i] - b[i])
        maxDiff = max(maxDiff, d)
        if !(d <= atol + rtol * abs(b[i])) { bad += 1 }
    }
    if bad > 0 {
        let pairs = (0..<min(5, a.count)).map { "\(a[$0]) vs \(b[$0])" }.joined(separator: ", ")
        XCTFail("\(label): \(bad) of \(a.count) elements differ, max diff \(maxDiff); first: \(pairs)", file: file, line: line)
    }
}
