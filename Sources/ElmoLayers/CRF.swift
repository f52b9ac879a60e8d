import Foundation
import ElmoTensor

/// Linear-chain conditional random field over K tags (AllenNLP's `ConditionalRandomField`, Lample et al. 2016):
///
///     score(y) = start[y₀] + Σ_t emissions[t, y_t] + Σ_{t≥1} transitions[y_{t−1}, y_t] + end[y_{L−1}]
///     NLL(y)   = log Z − score(y),   log Z = log Σ_{y'} exp score(y')   (forward algorithm)
///
/// B batch, T time (padded), K = `tagCount`; sentence b uses its first `lengths[b]` steps and ignores the rest.
/// `transitions` is `[K, K]` from → to (AllenNLP's layout), `startTransitions` and `endTransitions` are `[K]`.
///
/// The recursions run in Double. Each forward (backward) step is a matrix–vector product with
/// exp(transitions − column (row) max) after subtracting the max of the previous log-scores, so a step
/// costs K² multiply-adds and K exps instead of K² exps; if that sum underflows (score spreads beyond
/// ~460 nats) the step falls back to an exact log-sum-exp.
public final class CRF: Layer {
    public let tagCount: Int
    /// `[K, K]`, `transitions[i, j]` scores tag i followed by tag j.
    public let transitions: Parameter
    /// `[K]`, score of a sentence starting with each tag.
    public let startTransitions: Parameter
    /// `[K]`, score of a sentence ending with each tag.
    public let endTransitions: Parameter

    /// Uniform ±0.1 init: small like AllenNLP's, and symmetric so no tag pair is preferred before training.
    public init(tagCount: Int, name: String, rng: inout RandomGenerator) {
        precondition(tagCount >= 1, "CRF needs at least one tag, but tagCount is \(tagCount).")
        self.tagCount = tagCount
        transitions = Parameter(name: "\(name)/transitions", value: .uniform([tagCount, tagCount], limit: 0.1, rng: &rng))
        startTransitions = Parameter(name: "\(name)/start_transitions", value: .uniform([tagCount], limit: 0.1, rng: &rng))
        endTransitions = Parameter(name: "\(name)/end_transitions", value: .uniform([tagCount], limit: 0.1, rng: &rng))
    }

    public var parameters: [Parameter] { [transitions, startTransitions, endTransitions] }

    /// What backward reads: the inputs, the forward log-scores α and log Z per sentence.
    public struct Cache {
        public internal(set) var emissions = Tensor(zeros: [0])
        var tags: [Int32] = []
        public internal(set) var lengths: [Int] = []
        /// `[B, T, K]`: α[b, t, j] = log Σ over tag prefixes ending in j at t of exp(score so far), emission included.
        var alphas: [Double] = []
        /// `[B]`: log Z of each sentence.
        public internal(set) var logPartitions: [Double] = []
        public init() {}
    }

    /// emissions `[B, T, K]`, tags `[B, T]` flattened (entries beyond a sentence's length ignored), lengths `[B]`
    /// (1...T) → Σ over sentences of NLL.
    public func negativeLogLikelihood(emissions: Tensor, tags: [Int32], lengths: [Int], cache: inout Cache) -> Double {
        let (B, T, K) = checkShapes(emissions, lengths)
        precondition(tags.count == B * T, "CRF tags hold \(tags.count) entries, but emissions \(emissions.shape) need \(B * T).")
        for b in 0..<B {
            for t in 0..<lengths[b] {
                let tag = tags[b * T + t]
                precondition(tag >= 0 && Int(tag) < K, "CRF tag \(tag) at sentence \(b), step \(t) is outside 0..<\(K).")
            }
        }
        let tables = TransitionTables(self)
        var alphas = [Double](repeating: 0, count: B * T * K)
        var logPartitions = [Double](repeating: 0, count: B)
        var total: Double = 0
        let weights = UnsafeMutablePointer<Double>.allocate(capacity: K)
        defer { weights.deallocate() }
        emissions.withPointer { e in
            alphas.withUnsafeMutableBufferPointer { alphaBuffer in
                for b in 0..<B {
                    let L = lengths[b]
                    let eb = e + b * T * K, alpha = alphaBuffer.baseAddress! + b * T * K
                    for j in 0..<K { alpha[j] = tables.start[j] + Double(eb[j]) }
                    for t in 1..<L {
                        // α[t, j] = log Σ_i exp(α[t−1, i] + transitions[i, j]) + e[t, j]
                        let previous = alpha + (t - 1) * K, current = alpha + t * K
                        let shift = exponentiateShifted(previous, weights, K)
                        for j in 0..<K {
                            let column = tables.expByColumn + j * K
                            var s: Double = 0
                            for i in 0..<K { s += weights[i] * column[i] }
                            current[j] = (s >= underflowGuard ? shift + tables.columnMax[j] + log(s)
                                          : exactLogSumExp(previous, 1, tables.scores + j, K, K)) + Double(eb[t * K + j])
                        }
                    }
                    let last = alpha + (L - 1) * K
                    let logZ = exactLogSumExp(last, 1, tables.end, 1, K)
                    logPartitions[b] = logZ
                    total += logZ - goldScore(eb, tags, b * T, L, tables)
                }
            }
        }
        cache.emissions = emissions
        cache.tags = tags
        cache.lengths = lengths
        cache.alphas = alphas
        cache.logPartitions = logPartitions
        return total
    }

    /// Gradient of `scale · Σ NLL` (forward–backward marginals minus gold indicator counts): returns dEmissions
    /// `[B, T, K]` (zero at padding) and accumulates into the three parameters' gradients.
    public func backward(scale: Float, cache: Cache) -> Tensor {
        let emissions = cache.emissions, lengths = cache.lengths, tags = cache.tags
        let (B, T, K) = checkShapes(emissions, lengths)
        let tables = TransitionTables(self)
        var dEmissions = Tensor(zeros: emissions.shape)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: T * K + 3 * K + K * K + 2 * K)
        defer { scratch.deallocate() }
        let beta = scratch, u = scratch + T * K, left = u + K, right = left + K
        let dTransitions = right + K, dStart = dTransitions + K * K, dEnd = dStart + K
        dTransitions.initialize(repeating: 0, count: K * K + 2 * K)
        let s = Double(scale)
        emissions.withPointer { e in
            cache.alphas.withUnsafeBufferPointer { alphaBuffer in
                dEmissions.withMutablePointer { dE in
                    for b in 0..<B {
                        let L = lengths[b], logZ = cache.logPartitions[b]
                        let eb = e + b * T * K, alpha = alphaBuffer.baseAddress! + b * T * K, dEb = dE + b * T * K
                        let gold = tags[(b * T)..<(b * T + L)].map { Int($0) }
                        // β[t, i] = log Σ_j exp(transitions[i, j] + e[t+1, j] + β[t+1, j]),  β[L−1, i] = end[i]
                        for i in 0..<K { beta[(L - 1) * K + i] = tables.end[i] }
                        for t in stride(from: L - 2, through: 0, by: -1) {
                            for j in 0..<K { u[j] = Double(eb[(t + 1) * K + j]) + beta[(t + 1) * K + j] }
                            let shift = exponentiateShifted(u, right, K)
                            for i in 0..<K {
                                let row = tables.expByRow + i * K
                                var sum: Double = 0
                                for j in 0..<K { sum += row[j] * right[j] }
                                beta[t * K + i] = sum >= underflowGuard ? shift + tables.rowMax[i] + log(sum)
                                    : exactLogSumExp(tables.scores + i * K, 1, u, 1, K)
                            }
                        }
                        // Node marginals P(y_t = j) = exp(α[t, j] + β[t, j] − log Z).
                        for t in 0..<L {
                            for j in 0..<K {
                                let p = exp(alpha[t * K + j] + beta[t * K + j] - logZ)
                                dEb[t * K + j] = Float(s * p)
                                if t == 0 { dStart[j] += p }
                                if t == L - 1 { dEnd[j] += p }
                            }
                            dEb[t * K + gold[t]] -= scale
                        }
                        dStart[gold[0]] -= 1
                        dEnd[gold[L - 1]] -= 1
                        // Pair marginals P(y_{t−1} = i, y_t = j) = exp(α[t−1, i] + transitions[i, j] + e[t, j] + β[t, j] − log Z),
                        // factored as left[i] · exp(transitions[i, j] − rowMax[i]) · right[j] · exp(shifts − log Z).
                        for t in 1..<L {
                            for j in 0..<K { u[j] = Double(eb[t * K + j]) + beta[t * K + j] }
                            let rightShift = exponentiateShifted(u, right, K)
                            let previous = alpha + (t - 1) * K
                            for i in 0..<K { left[i] = previous[i] + tables.rowMax[i] }
                            let leftShift = exponentiateShifted(left, left, K)
                            let offset = leftShift + rightShift - logZ
                            if offset <= 600 {
                                let factor = exp(offset)
                                for i in 0..<K {
                                    let li = left[i] * factor, row = tables.expByRow + i * K, d = dTransitions + i * K
                                    for j in 0..<K { d[j] += li * row[j] * right[j] }
                                }
                            } else {
                                for i in 0..<K {
                                    let row = tables.scores + i * K, d = dTransitions + i * K
                                    for j in 0..<K { d[j] += exp(previous[i] + row[j] + u[j] - logZ) }
                                }
                            }
                            dTransitions[gold[t - 1] * K + gold[t]] -= 1
                        }
                    }
                }
            }
        }
        transitions.gradient.withMutablePointer { g in for k in 0..<(K * K) { g[k] += Float(s * dTransitions[k]) } }
        startTransitions.gradient.withMutablePointer { g in for k in 0..<K { g[k] += Float(s * dStart[k]) } }
        endTransitions.gradient.withMutablePointer { g in for k in 0..<K { g[k] += Float(s * dEnd[k]) } }
        return dEmissions
    }

    /// emissions `[B, T, K]`, lengths `[B]` → the highest-scoring tag sequence of each sentence (Viterbi), of
    /// length `lengths[b]`. With `constraints`, forbidden starts, transitions and ends are never chosen, however
    /// strongly the emissions favour them; the constraints must allow at least one sequence of each length.
    /// Ties go to the lower tag index.
    public func viterbi(emissions: Tensor, lengths: [Int], constraints: CRFConstraints? = nil) -> [[Int32]] {
        let (B, T, K) = checkShapes(emissions, lengths)
        if let constraints {
            precondition(constraints.allowed.count == K && constraints.allowed.allSatisfy({ $0.count == K })
                         && constraints.allowedStart.count == K && constraints.allowedEnd.count == K,
                         "CRF constraints must be [\(K)][\(K)] plus \(K) start and \(K) end flags, but are "
                            + "\(constraints.allowed.count) rows, \(constraints.allowedStart.count) starts, \(constraints.allowedEnd.count) ends.")
        }
        let tables = TransitionTables(self)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: K * K + 4 * K)
        let backpointers = UnsafeMutablePointer<Int32>.allocate(capacity: T * K)
        defer { scratch.deallocate(); backpointers.deallocate() }
        // decode is transposed ([to, from]) so the inner loop over "from" is contiguous; −∞ where forbidden.
        let decode = scratch, start = scratch + K * K, end = start + K
        var score = end + K, next = score + K
        for i in 0..<K {
            for j in 0..<K {
                decode[j * K + i] = constraints?.allowed[i][j] == false ? -.infinity : tables.scores[i * K + j]
            }
            start[i] = constraints?.allowedStart[i] == false ? -.infinity : tables.start[i]
            end[i] = constraints?.allowedEnd[i] == false ? -.infinity : tables.end[i]
        }
        var paths: [[Int32]] = []
        paths.reserveCapacity(B)
        emissions.withPointer { e in
            for b in 0..<B {
                let L = lengths[b], eb = e + b * T * K
                for j in 0..<K { score[j] = start[j] + Double(eb[j]) }
                for t in 1..<L {
                    for j in 0..<K {
                        let column = decode + j * K
                        var best = -Double.infinity, argBest: Int32 = 0
                        for i in 0..<K where score[i] + column[i] > best {
                            best = score[i] + column[i]
                            argBest = Int32(i)
                        }
                        next[j] = best + Double(eb[t * K + j])
                        backpointers[t * K + j] = argBest
                    }
                    swap(&score, &next)
                }
                var best = -Double.infinity, last = 0
                for j in 0..<K where score[j] + end[j] > best { best = score[j] + end[j]; last = j }
                precondition(best > -.infinity, "CRF constraints allow no tag sequence of length \(L) (sentence \(b)).")
                var path = [Int32](repeating: 0, count: L)
                path[L - 1] = Int32(last)
                for t in stride(from: L - 1, to: 0, by: -1) { path[t - 1] = backpointers[t * K + Int(path[t])] }
                paths.append(path)
            }
        }
        return paths
    }

    // MARK: - Helpers

    /// Below this a shifted sum has lost precision to underflow, so the exact log-sum-exp is used instead.
    private let underflowGuard = 1e-200

    private func checkShapes(_ emissions: Tensor, _ lengths: [Int]) -> (Int, Int, Int) {
        precondition(emissions.shape.count == 3 && emissions.shape[2] == tagCount,
                     "CRF expects emissions [B, T, \(tagCount)], but they have shape \(emissions.shape).")
        let (B, T) = (emissions.shape[0], emissions.shape[1])
        precondition(lengths.count == B, "CRF got \(lengths.count) lengths for a batch of \(B).")
        for (b, L) in lengths.enumerated() {
            precondition(L >= 1 && L <= T, "CRF sentence \(b) has length \(L), outside 1...\(T).")
        }
        return (B, T, tagCount)
    }

    /// w[i] = exp(x[i] − max x) for n values (x and w may alias); returns max x.
    private func exponentiateShifted(_ x: UnsafePointer<Double>, _ w: UnsafeMutablePointer<Double>, _ n: Int) -> Double {
        var m = -Double.infinity
        for i in 0..<n { m = max(m, x[i]) }
        for i in 0..<n { w[i] = exp(x[i] - m) }
        return m
    }

    /// log Σ_k exp(a[k·aStride] + b[k·bStride]) over n terms, with the max subtracted for stability.
    private func exactLogSumExp(_ a: UnsafePointer<Double>, _ aStride: Int, _ b: UnsafePointer<Double>, _ bStride: Int,
                                _ n: Int) -> Double {
        var m = -Double.infinity
        for k in 0..<n { m = max(m, a[k * aStride] + b[k * bStride]) }
        if m == -.infinity { return m }
        var s: Double = 0
        for k in 0..<n { s += exp(a[k * aStride] + b[k * bStride] - m) }
        return m + log(s)
    }

    /// score(gold) of one sentence whose emissions start at `e` and tags at `tags[offset]`.
    private func goldScore(_ e: UnsafePointer<Float>, _ tags: [Int32], _ offset: Int, _ length: Int,
                           _ tables: TransitionTables) -> Double {
        let K = tagCount
        var previous = Int(tags[offset])
        var score = tables.start[previous] + Double(e[previous])
        for t in 1..<length {
            let tag = Int(tags[offset + t])
            score += tables.scores[previous * K + tag] + Double(e[t * K + tag])
            previous = tag
        }
        return score + tables.end[previous]
    }
}

/// The CRF's parameters in Double, with the exponentiated transition matrices the recursions multiply by.
private final class TransitionTables {
    /// `[K, K]` transitions, from → to.
    let scores: UnsafeMutablePointer<Double>
    /// `[K]` each.
    let start, end, rowMax, columnMax: UnsafeMutablePointer<Double>
    /// `[K, K]`: exp(transitions[i, j] − rowMax[i]) at [i, j].
    let expByRow: UnsafeMutablePointer<Double>
    /// `[K, K]` transposed: exp(transitions[i, j] − columnMax[j]) at [j, i].
    let expByColumn: UnsafeMutablePointer<Double>
    private let storage: UnsafeMutablePointer<Double>

    init(_ crf: CRF) {
        let K = crf.tagCount
        storage = .allocate(capacity: 3 * K * K + 4 * K)
        scores = storage
        expByRow = scores + K * K
        expByColumn = expByRow + K * K
        start = expByColumn + K * K
        end = start + K
        rowMax = end + K
        columnMax = rowMax + K
        crf.transitions.value.withPointer { t in for k in 0..<(K * K) { scores[k] = Double(t[k]) } }
        crf.startTransitions.value.withPointer { s in for k in 0..<K { start[k] = Double(s[k]) } }
        crf.endTransitions.value.withPointer { s in for k in 0..<K { end[k] = Double(s[k]) } }
        rowMax.initialize(repeating: -.infinity, count: 2 * K)
        for i in 0..<K {
            for j in 0..<K {
                rowMax[i] = max(rowMax[i], scores[i * K + j])
                columnMax[j] = max(columnMax[j], scores[i * K + j])
            }
        }
        for i in 0..<K {
            for j in 0..<K {
                expByRow[i * K + j] = exp(scores[i * K + j] - rowMax[i])
                expByColumn[j * K + i] = exp(scores[i * K + j] - columnMax[j])
            }
        }
    }

    deinit { storage.deallocate() }
}

/// Which tag sequences Viterbi may return: `allowed[i][j]` permits tag i followed by tag j, `allowedStart[j]`
/// and `allowedEnd[j]` permit a sentence to start or end with tag j (e.g. BIO: no `I-X` after `O`).
public struct CRFConstraints: Equatable, Sendable {
    public var allowed: [[Bool]]
    public var allowedStart: [Bool]
    public var allowedEnd: [Bool]

    public init(allowed: [[Bool]], allowedStart: [Bool], allowedEnd: [Bool]) {
        self.allowed = allowed
        self.allowedStart = allowedStart
        self.allowedEnd = allowedEnd
    }

    /// BIO constraints for `labels` (AllenNLP's `allowed_transitions("BIO", …)`): `I-X` may only follow `B-X` or
    /// `I-X` and may not start a sentence; labels without a `B-`/`I-` prefix (e.g. `O`) are unconstrained.
    public static func bio(labels: [String]) -> CRFConstraints {
        func split(_ label: String) -> (prefix: Character?, type: Substring) {
            if label.count >= 2, let first = label.first, first == "B" || first == "I",
               label[label.index(after: label.startIndex)] == "-" {
                return (first, label.dropFirst(2))
            }
            return (nil, Substring(label))
        }
        let parts = labels.map(split)
        let allowed = parts.map { from in
            parts.map { to in to.prefix != "I" || (from.prefix != nil && from.type == to.type) }
        }
        return CRFConstraints(allowed: allowed, allowedStart: parts.map { $0.prefix != "I" },
                              allowedEnd: [Bool](repeating: true, count: labels.count))
    }
}
