import ElmoLayers
import ElmoTensor
import Foundation
import XCTest
import _TestSupport

/// Σ over rows with target ≥ 0 of logΣexp(logits) − logits[target], in Double; logits `[N, K]` given row by row.
private func referenceLoss(_ logits: [[Double]], _ targets: [Int32]) -> Double {
    var sum = 0.0
    for (row, t) in zip(logits, targets) where t >= 0 {
        let m = row.max()!
        sum += m + log(row.reduce(0) { $0 + exp($1 - m) }) - row[Int(t)]
    }
    return sum
}

/// Full-softmax logits hidden·Wᵀ + b in Double.
private func referenceLogits(_ hidden: Tensor, _ weight: Tensor, _ bias: Tensor) -> [[Double]] {
    let (n, p) = hidden.matrixShape, v = weight.shape[0]
    var logits = [[Double]](repeating: [Double](repeating: 0, count: v), count: n)
    for r in 0..<n {
        for c in 0..<v {
            var s = Double(bias.scalars[c])
            for k in 0..<p { s += Double(hidden.scalars[r * p + k]) * Double(weight.scalars[c * p + k]) }
            logits[r][c] = s
        }
    }
    return logits
}

/// Checks d(scale·lossSum)/d(hidden, W, b) against central differences for every coordinate.
private func checkLossGradients(layer: Layer & AnyObject, hidden: Tensor, scale: Float, epsilon: Float = 1e-2,
                                forward: (Tensor) -> Double, backward: () -> Tensor,
                                file: StaticString = #filePath, line: UInt = #line) {
    var x = hidden
    _ = forward(x)
    layer.zeroGradients()
    let dHidden = backward()
    func loss(_ input: Tensor) -> Double { Double(scale) * forward(input) }
    let xi = Array(0..<x.count)
    GradientCheck.assertClose(xi.map { Double(dHidden.scalars[$0]) }, GradientCheck.numeric(&x, indices: xi, epsilon: epsilon, loss: loss),
                              "dHidden", file: file, line: line)
    for p in layer.parameters {
        let idx = Array(0..<p.value.count)
        let numeric = GradientCheck.numeric(p, indices: idx, epsilon: epsilon) { loss(x) }
        GradientCheck.assertClose(idx.map { Double(p.gradient.scalars[$0]) }, numeric, p.name, file: file, line: line)
    }
}

final class SoftmaxCrossEntropyLossTests: XCTestCase {
    let N = 5, P = 4, V = 7
    let targets: [Int32] = [3, -1, 0, 6, 3]

    func testForwardMatchesDirectFormula() {
        var rng = RandomGenerator(seed: 1)
        let layer = SoftmaxCrossEntropyLoss(inputSize: P, vocabularySize: V, name: "softmax", rng: &rng)
        XCTAssertEqual(layer.weight.shape, [V, P])
        XCTAssertEqual(layer.bias.shape, [V])
        XCTAssertEqual(layer.weight.name, "softmax/weight")
        let hidden = Tensor.gaussian([N, P], std: 1, rng: &rng)
        var cache = SoftmaxCrossEntropyLoss.Cache()
        let (lossSum, count) = layer.forward(hidden, targets: targets, cache: &cache)
        XCTAssertEqual(count, 4)
        let logits = referenceLogits(hidden, layer.weight.value, layer.bias.value)
        XCTAssertEqual(lossSum, referenceLoss(logits, targets), accuracy: 1e-5)

        let logProbs = layer.logProbabilities(hidden)
        XCTAssertEqual(logProbs.shape, [N, V])
        var fromLogProbs = 0.0
        for (row, t) in targets.enumerated() {
            let rowSum = (0..<V).reduce(0.0) { $0 + exp(Double(logProbs.scalars[row * V + $1])) }
            XCTAssertEqual(rowSum, 1, accuracy: 1e-5, "row \(row) probabilities")
            if t >= 0 { fromLogProbs -= Double(logProbs.scalars[row * V + Int(t)]) }
        }
        XCTAssertEqual(fromLogProbs, lossSum, accuracy: 1e-5)
    }

    func testGradientsMatchFiniteDifferences() {
        var rng = RandomGenerator(seed: 2)
        let layer = SoftmaxCrossEntropyLoss(inputSize: P, vocabularySize: V, name: "softmax", rng: &rng)
        let hidden = Tensor.gaussian([N, P], std: 1, rng: &rng)
        var cache = SoftmaxCrossEntropyLoss.Cache()
        checkLossGradients(layer: layer, hidden: hidden, scale: 0.7,
                           forward: { layer.forward($0, targets: self.targets, cache: &cache).lossSum },
                           backward: { layer.backward(scale: 0.7, cache: cache) })
    }

    func testIgnoredRowsContributeNothing() {
        var rng = RandomGenerator(seed: 3)
        let layer = SoftmaxCrossEntropyLoss(inputSize: P, vocabularySize: V, name: "softmax", rng: &rng)
        let hidden = Tensor.gaussian([N, P], std: 1, rng: &rng)
        var cache = SoftmaxCrossEntropyLoss.Cache()
        let all = layer.forward(hidden, targets: targets, cache: &cache)
        layer.zeroGradients()
        let dHidden = layer.backward(scale: 1, cache: cache)
        XCTAssertEqual(Array(dHidden.scalars[P..<(2 * P)]), [Float](repeating: 0, count: P), "ignored row gets no gradient")
        let fullGradient = layer.weight.gradient

        // The same rows without the ignored one give the same loss and weight gradient.
        let kept = [0, 2, 3, 4]
        let keptHidden = Tensor(shape: [kept.count, P], scalars: kept.flatMap { hidden.scalars[($0 * P)..<(($0 + 1) * P)] })
        var keptCache = SoftmaxCrossEntropyLoss.Cache()
        let some = layer.forward(keptHidden, targets: kept.map { targets[$0] }, cache: &keptCache)
        XCTAssertEqual(some.count, all.count)
        XCTAssertEqual(some.lossSum, all.lossSum, accuracy: 1e-6)
        layer.zeroGradients()
        _ = layer.backward(scale: 1, cache: keptCache)
        assertTensorsClose(layer.weight.gradient, fullGradient, rtol: 1e-5, atol: 1e-6, "dW without the ignored row")
    }

    func testCrossEntropyHelper() {
        var rng = RandomGenerator(seed: 4)
        var logits = Tensor.gaussian([N, V], std: 2, rng: &rng)
        let (lossSum, count, dLogits) = CrossEntropy.forwardBackward(logits: logits, targets: targets)
        XCTAssertEqual(count, 4)
        let rows = (0..<N).map { r in (0..<V).map { Double(logits.scalars[r * V + $0]) } }
        XCTAssertEqual(lossSum, referenceLoss(rows, targets), accuracy: 1e-5)
        let idx = Array(0..<logits.count)
        let numeric = GradientCheck.numeric(&logits, indices: idx, epsilon: 1e-2) {
            CrossEntropy.forwardBackward(logits: $0, targets: self.targets).lossSum
        }
        GradientCheck.assertClose(idx.map { Double(dLogits.scalars[$0]) }, numeric, "dLogits")
        XCTAssertEqual(Array(dLogits.scalars[V..<(2 * V)]), [Float](repeating: 0, count: V), "ignored row")
    }
}

final class SampledSoftmaxLossTests: XCTestCase {
    let N = 6, P = 4, V = 12

    func testSamplerProbabilitiesAndFrequencies() {
        let sampler = LogUniformSampler(rangeMax: 50)
        XCTAssertEqual((0..<50).reduce(0.0) { $0 + sampler.probability($1) }, 1, accuracy: 1e-12)
        XCTAssertEqual(sampler.probability(0), log(2) / log(51), accuracy: 1e-15)
        var rng = RandomGenerator(seed: 5)
        var counts = [Int](repeating: 0, count: 50)
        let draws = 200_000
        for _ in 0..<draws { counts[sampler.sample(rng: &rng)] += 1 }
        for id in [0, 1, 5, 20, 49] {
            let p = sampler.probability(id)
            // 5 standard deviations of a binomial frequency.
            XCTAssertEqual(Double(counts[id]) / Double(draws), p, accuracy: 5 * (p * (1 - p) / Double(draws)).squareRoot(), "id \(id)")
        }

        let (ids, tries) = sampler.sampleUnique(count: 20, rng: &rng)
        XCTAssertEqual(ids.count, 20)
        XCTAssertEqual(Set(ids).count, 20)
        XCTAssertTrue(ids.allSatisfy { $0 >= 0 && $0 < 50 })
        XCTAssertGreaterThanOrEqual(tries, 20)
        let p = sampler.probability(3)
        XCTAssertEqual(sampler.expectedCount(3, tries: tries), 1 - pow(1 - p, Double(tries)), accuracy: 1e-12)
        XCTAssertEqual(sampler.expectedCount(3, tries: 20, sampleCount: 20), 20 * p, accuracy: 1e-12)
    }

    /// The sampled loss written out in Double from its definition, with the same draws.
    private func referenceSampledLoss(_ layer: SampledSoftmaxLoss, _ hidden: Tensor, _ targets: [Int32], seed: UInt64) -> Double {
        var rng = RandomGenerator(seed: seed)
        let (ids, tries) = layer.sampler.sampleUnique(count: layer.sampleCount, rng: &rng)
        let full = referenceLogits(hidden, layer.weight.value, layer.bias.value)
        func logQ(_ id: Int) -> Double { log(layer.sampler.expectedCount(id, tries: tries, sampleCount: layer.sampleCount)) }
        let rows: [[Double]] = targets.enumerated().map { row, t in
            guard t >= 0 else { return [0] }
            return [full[row][Int(t)] - logQ(Int(t))]
                + ids.map { $0 == t ? -Double.infinity : full[row][Int($0)] - logQ(Int($0)) }
        }
        return referenceLoss(rows, targets.map { $0 >= 0 ? 0 : -1 })
    }

    func testForwardMatchesDefinitionAndMasksAccidentalHits() {
        var rng = RandomGenerator(seed: 6)
        let layer = SampledSoftmaxLoss(inputSize: P, vocabularySize: V, sampleCount: 6, name: "softmax", rng: &rng)
        let hidden = Tensor.gaussian([N, P], std: 1, rng: &rng)
        // Frequent ids as targets, so several of them are also sampled (accidental hits).
        let targets: [Int32] = [0, 1, -1, 2, 0, 7]
        var sampleRng = RandomGenerator(seed: 7)
        let ids = layer.sampler.sampleUnique(count: 6, rng: &sampleRng).ids
        XCTAssertTrue(targets.contains { $0 >= 0 && ids.contains($0) }, "the test needs at least one accidental hit")
        var cache = SampledSoftmaxLoss.Cache()
        var forwardRng = RandomGenerator(seed: 7)
        let (lossSum, count) = layer.forward(hidden, targets: targets, rng: &forwardRng, cache: &cache)
        XCTAssertEqual(count, 5)
        XCTAssertEqual(lossSum, referenceSampledLoss(layer, hidden, targets, seed: 7), accuracy: 1e-4)
    }

    func testGradientsMatchFiniteDifferencesWithFixedSample() {
        var rng = RandomGenerator(seed: 8)
        let layer = SampledSoftmaxLoss(inputSize: P, vocabularySize: V, sampleCount: 5, name: "softmax", rng: &rng)
        let hidden = Tensor.gaussian([N, P], std: 1, rng: &rng)
        let targets: [Int32] = [0, 3, -1, 2, 0, 9]
        var cache = SampledSoftmaxLoss.Cache()
        checkLossGradients(layer: layer, hidden: hidden, scale: 1.3,
                           forward: { h in
                               var sampleRng = RandomGenerator(seed: 9)
                               return layer.forward(h, targets: targets, rng: &sampleRng, cache: &cache).lossSum
                           },
                           backward: { layer.backward(scale: 1.3, cache: cache) })
    }

    /// With every id sampled (S = V) each logit is only shifted by −log Q(id) with Q = 1 − (1 − p)^tries close to 1,
    /// so the sampled loss is within 2·max|log Q| per row of the full softmax loss (0.9 % here, asserted within 2 %).
    func testSamplingTheWholeVocabularyApproachesTheFullLoss() {
        var rng = RandomGenerator(seed: 10)
        let full = SoftmaxCrossEntropyLoss(inputSize: P, vocabularySize: V, name: "softmax", rng: &rng)
        let sampled = SampledSoftmaxLoss(sharing: full, sampleCount: V)
        XCTAssertTrue(sampled.weight === full.weight && sampled.bias === full.bias)
        let hidden = Tensor.gaussian([N, P], std: 1, rng: &rng)
        let targets: [Int32] = [0, 3, 11, 5, 2, 8]
        var fullCache = SoftmaxCrossEntropyLoss.Cache()
        let exact = full.forward(hidden, targets: targets, cache: &fullCache).lossSum

        var drawRng = RandomGenerator(seed: 11)
        let tries = sampled.sampler.sampleUnique(count: V, rng: &drawRng).tries
        let maxShift = (0..<V).map { abs(log(sampled.sampler.expectedCount($0, tries: tries))) }.max()!
        var sampleRng = RandomGenerator(seed: 11)
        var cache = SampledSoftmaxLoss.Cache()
        let approx = sampled.forward(hidden, targets: targets, rng: &sampleRng, cache: &cache).lossSum
        XCTAssertLessThanOrEqual(abs(approx - exact), 2 * maxShift * Double(N) + 1e-4, "bound from the largest correction")
        XCTAssertEqual(approx, exact, accuracy: 0.02 * exact, "tries \(tries), max |log Q| \(maxShift)")
    }
}
