import Foundation
import ElmoLayers
import ElmoTensor
import XCTest
import _TestSupport

final class CRFTests: XCTestCase {
    /// A CRF with transitions spread wider than the ±0.1 init, so the checks see non-trivial structure.
    private func makeCRF(tagCount: Int, seed: UInt64, spread: Float = 1) -> CRF {
        var rng = RandomGenerator(seed: seed)
        let crf = CRF(tagCount: tagCount, name: "crf", rng: &rng)
        crf.transitions.value = .gaussian([tagCount, tagCount], std: spread, rng: &rng)
        crf.startTransitions.value = .gaussian([tagCount], std: spread, rng: &rng)
        crf.endTransitions.value = .gaussian([tagCount], std: spread, rng: &rng)
        return crf
    }

    /// score(y) of one sentence (b) by the formula, in Double.
    private func score(_ crf: CRF, _ emissions: Tensor, _ b: Int, _ tags: [Int]) -> Double {
        let (T, K) = (emissions.shape[1], crf.tagCount)
        var s = Double(crf.startTransitions.value.scalars[tags[0]]) + Double(crf.endTransitions.value.scalars[tags.last!])
        for (t, tag) in tags.enumerated() {
            s += Double(emissions.scalars[(b * T + t) * K + tag])
            if t > 0 { s += Double(crf.transitions.value.scalars[tags[t - 1] * K + tag]) }
        }
        return s
    }

    /// Every tag sequence of `length` over K tags.
    private func allSequences(length: Int, tagCount: Int) -> [[Int]] {
        (0..<Int(pow(Double(tagCount), Double(length)))).map { code in
            var c = code
            return (0..<length).map { _ in defer { c /= tagCount }; return c % tagCount }
        }
    }

    private func bruteForceLogZ(_ crf: CRF, _ emissions: Tensor, _ b: Int, _ length: Int) -> Double {
        let scores = allSequences(length: length, tagCount: crf.tagCount).map { score(crf, emissions, b, $0) }
        let m = scores.max()!
        return m + log(scores.reduce(0) { $0 + exp($1 - m) })
    }

    func testLogPartitionMatchesBruteForce() {
        let crf = makeCRF(tagCount: 3, seed: 1)
        var rng = RandomGenerator(seed: 2)
        let emissions = Tensor.gaussian([2, 4, 3], std: 1.5, rng: &rng)
        let lengths = [4, 2]
        let tags: [Int32] = [0, 2, 1, 1, 2, 0, 1, 1]
        var cache = CRF.Cache()
        let nll = crf.negativeLogLikelihood(emissions: emissions, tags: tags, lengths: lengths, cache: &cache)
        var expected: Double = 0
        for b in 0..<2 {
            let logZ = bruteForceLogZ(crf, emissions, b, lengths[b])
            XCTAssertEqual(cache.logPartitions[b], logZ, accuracy: 1e-9 * max(1, abs(logZ)), "log Z of sentence \(b)")
            expected += logZ - score(crf, emissions, b, (0..<lengths[b]).map { Int(tags[b * 4 + $0]) })
        }
        XCTAssertEqual(nll, expected, accuracy: 1e-9)
        XCTAssertGreaterThan(nll, 0)
    }

    func testExtremeScoresStayExact() {
        // Score spreads of thousands of nats make the shifted matrix–vector sums underflow, so the exact
        // log-sum-exp fallback must take over (and the pair marginals their exact branch).
        let crf = makeCRF(tagCount: 3, seed: 3, spread: 400)
        var rng = RandomGenerator(seed: 4)
        let emissions = Tensor.gaussian([1, 4, 3], std: 400, rng: &rng)
        let tags: [Int32] = [1, 0, 2, 2]
        var cache = CRF.Cache()
        let nll = crf.negativeLogLikelihood(emissions: emissions, tags: tags, lengths: [4], cache: &cache)
        let logZ = bruteForceLogZ(crf, emissions, 0, 4)
        XCTAssertEqual(cache.logPartitions[0], logZ, accuracy: 1e-9 * abs(logZ))
        XCTAssertEqual(nll, logZ - score(crf, emissions, 0, tags.map { Int($0) }), accuracy: 1e-9 * abs(logZ))
        crf.zeroGradients()
        let dE = crf.backward(scale: 1, cache: cache)
        XCTAssertTrue((dE.scalars + crf.transitions.gradient.scalars).allSatisfy { $0.isFinite })
        // Each step's marginals sum to 1 and the gold tag subtracts 1, so every row of dE sums to 0.
        for t in 0..<4 {
            XCTAssertEqual(dE.scalars[(t * 3)..<(t * 3 + 3)].reduce(0, +), 0, accuracy: 1e-5, "row \(t)")
        }
    }

    func testUnderflowingForwardStepFallsBackToExactSum() {
        // Tag 0 leads at t = 0 but moving to tag 1 costs 1000; tag 1 is 1000 nats behind. The shifted sum into
        // tag 1 at t = 1 underflows to 0, yet its emission of 2000 makes that state carry all of log Z:
        // two ways into it (−1000 each), +2000, then two free last tags: log Z = 1000 + 2·log 2 (brute force below).
        var rng = RandomGenerator(seed: 13)
        let crf = CRF(tagCount: 2, name: "crf", rng: &rng)
        crf.transitions.value = Tensor(shape: [2, 2], scalars: [0, -1000, 0, 0])
        crf.startTransitions.value = Tensor(zeros: [2])
        crf.endTransitions.value = Tensor(zeros: [2])
        var emissions = Tensor(shape: [1, 3, 2], scalars: [0, -1000, 0, 2000, 0, 0])
        let tags: [Int32] = [0, 0, 0]
        func loss(_ input: Tensor) -> Double {
            var cache = CRF.Cache()
            return crf.negativeLogLikelihood(emissions: input, tags: tags, lengths: [3], cache: &cache)
        }
        var cache = CRF.Cache()
        let nll = crf.negativeLogLikelihood(emissions: emissions, tags: tags, lengths: [3], cache: &cache)
        let logZ = bruteForceLogZ(crf, emissions, 0, 3)
        XCTAssertEqual(cache.logPartitions[0], logZ, accuracy: 1e-9 * abs(logZ))
        XCTAssertEqual(nll, logZ, accuracy: 1e-9 * abs(logZ), "the gold path scores 0")
        crf.zeroGradients()
        let dE = crf.backward(scale: 1, cache: cache)
        let all = Array(0..<emissions.count)
        GradientCheck.assertClose(all.map { Double(dE.scalars[$0]) },
                                  GradientCheck.numeric(&emissions, indices: all, epsilon: 1e-2, loss: loss),
                                  rtol: 1e-2, atol: 1e-4, "dEmissions")
        let idx = Array(0..<4)
        GradientCheck.assertClose(idx.map { Double(crf.transitions.gradient.scalars[$0]) },
                                  GradientCheck.numeric(crf.transitions, indices: idx, epsilon: 1e-2) { loss(emissions) },
                                  rtol: 1e-2, atol: 1e-4, "dTransitions")
    }

    func testGradientsMatchFiniteDifferences() {
        let crf = makeCRF(tagCount: 4, seed: 5, spread: 0.7)
        var rng = RandomGenerator(seed: 6)
        var emissions = Tensor.gaussian([2, 5, 4], std: 1, rng: &rng)
        let lengths = [3, 5]
        let tags: [Int32] = [2, 0, 3, 1, 1, 1, 3, 3, 0, 2]
        let scale: Float = 0.7
        func loss(_ input: Tensor) -> Double {
            var cache = CRF.Cache()
            return Double(scale) * crf.negativeLogLikelihood(emissions: input, tags: tags, lengths: lengths, cache: &cache)
        }
        var cache = CRF.Cache()
        _ = crf.negativeLogLikelihood(emissions: emissions, tags: tags, lengths: lengths, cache: &cache)
        crf.zeroGradients()
        let dE = crf.backward(scale: scale, cache: cache)

        let all = Array(0..<emissions.count)
        GradientCheck.assertClose(all.map { Double(dE.scalars[$0]) },
                                  GradientCheck.numeric(&emissions, indices: all, epsilon: 1e-2, loss: loss),
                                  rtol: 1e-2, atol: 1e-4, "dEmissions")
        for p in crf.parameters {
            let idx = Array(0..<p.value.count)
            let numeric = GradientCheck.numeric(p, indices: idx, epsilon: 1e-2) { loss(emissions) }
            GradientCheck.assertClose(idx.map { Double(p.gradient.scalars[$0]) }, numeric, rtol: 1e-2, atol: 1e-4, p.name)
        }
        // Backward accumulates: a second call doubles the parameter gradients.
        let once = crf.transitions.gradient.scalars
        _ = crf.backward(scale: scale, cache: cache)
        assertValuesClose(crf.transitions.gradient.scalars, once.map { 2 * $0 }, "accumulation")
    }

    func testPaddingIsIgnored() {
        let crf = makeCRF(tagCount: 4, seed: 7)
        var rng = RandomGenerator(seed: 8)
        let emissions = Tensor.gaussian([2, 5, 4], std: 1, rng: &rng)
        let tags: [Int32] = [1, 2, 3, 0, 0, 3, 2, 1, 0, 1]
        let lengths = [3, 5]
        var cache = CRF.Cache()
        let nll = crf.negativeLogLikelihood(emissions: emissions, tags: tags, lengths: lengths, cache: &cache)
        let dE = crf.backward(scale: 1, cache: cache)

        var padded = emissions, paddedTags = tags
        for t in 3..<5 {
            for k in 0..<4 { padded[flat: t * 4 + k] = 50 * Float(k + t) }
            paddedTags[t] = 3
        }
        var other = CRF.Cache()
        XCTAssertEqual(crf.negativeLogLikelihood(emissions: padded, tags: paddedTags, lengths: lengths, cache: &other), nll)
        XCTAssertTrue(dE.scalars[12..<20].allSatisfy { $0 == 0 }, "dEmissions at padding must be zero")
        XCTAssertTrue(dE.scalars[0..<12].contains { $0 != 0 })

        // The padded sentence alone gives the same NLL as in the batch.
        let alone = Tensor(shape: [1, 3, 4], scalars: Array(emissions.scalars[0..<12]))
        var single = CRF.Cache()
        let first = crf.negativeLogLikelihood(emissions: alone, tags: [1, 2, 3], lengths: [3], cache: &single)
        XCTAssertEqual(first, nll - (cache.logPartitions[1] - score(crf, emissions, 1, [3, 2, 1, 0, 1])), accuracy: 1e-9)
    }

    func testViterbiMatchesBruteForce() {
        let crf = makeCRF(tagCount: 3, seed: 9)
        var rng = RandomGenerator(seed: 10)
        let emissions = Tensor.gaussian([3, 5, 3], std: 1, rng: &rng)
        let lengths = [5, 1, 3]
        let paths = crf.viterbi(emissions: emissions, lengths: lengths)
        for b in 0..<3 {
            let best = allSequences(length: lengths[b], tagCount: 3).max {
                score(crf, emissions, b, $0) < score(crf, emissions, b, $1)
            }!
            XCTAssertEqual(paths[b].map { Int($0) }, best, "sentence \(b)")
        }
    }

    func testConstraintsForbidTransitionsTheEmissionsFavour() {
        let labels = ["O", "B-X", "I-X", "B-Y", "I-Y"]
        let constraints = CRFConstraints.bio(labels: labels)
        XCTAssertEqual(constraints.allowed[0][2], false, "O → I-X")
        XCTAssertEqual(constraints.allowed[3][2], false, "B-Y → I-X")
        XCTAssertEqual(constraints.allowed[1][2], true, "B-X → I-X")
        XCTAssertEqual(constraints.allowedStart, [true, true, false, true, false])

        var rng = RandomGenerator(seed: 11)
        let crf = CRF(tagCount: 5, name: "crf", rng: &rng)
        // Emissions shout "I-X" at a sentence start and "I-Y" right after an "O" or a "B-X".
        var emissions = Tensor(zeros: [2, 4, 5])
        for (b, t, tag) in [(0, 0, 2), (0, 1, 2), (0, 2, 0), (0, 3, 4), (1, 0, 0), (1, 1, 4), (1, 2, 1), (1, 3, 4)] {
            emissions[flat: (b * 4 + t) * 5 + tag] = 10
        }
        let free = crf.viterbi(emissions: emissions, lengths: [4, 4])
        XCTAssertEqual(free, [[2, 2, 0, 4], [0, 4, 1, 4]], "unconstrained decoding follows the emissions")

        let paths = crf.viterbi(emissions: emissions, lengths: [4, 4], constraints: constraints)
        for (b, path) in paths.enumerated() {
            XCTAssertTrue(constraints.allowedStart[Int(path[0])], "sentence \(b) starts with \(labels[Int(path[0])])")
            for t in 1..<path.count {
                XCTAssertTrue(constraints.allowed[Int(path[t - 1])][Int(path[t])],
                              "sentence \(b): \(labels[Int(path[t - 1])]) → \(labels[Int(path[t])])")
            }
            // It is also the best allowed sequence.
            let allowed = allSequences(length: 4, tagCount: 5).filter { seq in
                constraints.allowedStart[seq[0]] && constraints.allowedEnd[seq[3]]
                    && (1..<4).allSatisfy { constraints.allowed[seq[$0 - 1]][seq[$0]] }
            }
            let best = allowed.max { score(crf, emissions, b, $0) < score(crf, emissions, b, $1) }!
            XCTAssertEqual(path.map { Int($0) }, best, "sentence \(b)")
        }
    }

    func testEndConstraint() {
        var rng = RandomGenerator(seed: 12)
        let crf = CRF(tagCount: 2, name: "crf", rng: &rng)
        let emissions = Tensor(shape: [1, 2, 2], scalars: [0, 5, 0, 5])
        let all = [[true, true], [true, true]]
        XCTAssertEqual(crf.viterbi(emissions: emissions, lengths: [2]), [[1, 1]])
        let noEndOnOne = CRFConstraints(allowed: all, allowedStart: [true, true], allowedEnd: [true, false])
        XCTAssertEqual(crf.viterbi(emissions: emissions, lengths: [2], constraints: noEndOnOne), [[1, 0]])
    }
}
