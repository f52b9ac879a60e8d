import Foundation

/// The linear-chain CRF recursions of the CPU backend (`CRF.swift` in ElmoLayers states the model).
///
/// The recursions run in Double. Each forward (backward) step is a matrix–vector product with
/// exp(transitions − column (row) max) after subtracting the max of the previous log-scores, so a step
/// costs K² multiply-adds and K exps instead of K² exps; if that sum underflows (score spreads beyond
/// ~460 nats) the step falls back to an exact log-sum-exp.
extension CPUBackend {
    public func crfNegativeLogLikelihood(emissions: Tensor, tags: [Int32], lengths: [Int], transitions: Tensor, start: Tensor,
                                         end: Tensor) -> CRFForwardResult {
        let K = start.count
        let (B, T) = crfLayout(emissions, lengths, K)
        let tables = TransitionTables(transitions: transitions, start: start, end: end)
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
                    total += logZ - goldScore(eb, tags, b * T, L, K, tables)
                }
            }
        }
        return CRFForwardResult(total: total, alphas: alphas, logPartitions: logPartitions)
    }

    public func crfBackward(emissions: Tensor, tags: [Int32], lengths: [Int], forward: CRFForwardResult, transitions: Tensor,
                            start: Tensor, end: Tensor, scale: Float, transitionsGradient: inout Tensor,
                            startGradient: inout Tensor, endGradient: inout Tensor) -> Tensor {
        let K = start.count
        let (B, T) = crfLayout(emissions, lengths, K)
        let tables = TransitionTables(transitions: transitions, start: start, end: end)
        var dEmissions = Tensor(zeros: emissions.shape)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: T * K + 3 * K + K * K + 2 * K)
        defer { scratch.deallocate() }
        let beta = scratch, u = scratch + T * K, left = u + K, right = left + K
        let dTransitions = right + K, dStart = dTransitions + K * K, dEnd = dStart + K
        dTransitions.initialize(repeating: 0, count: K * K + 2 * K)
        let s = Double(scale)
        emissions.withPointer { e in
            forward.alphas.withUnsafeBufferPointer { alphaBuffer in
                dEmissions.withMutablePointer { dE in
                    for b in 0..<B {
                        let L = lengths[b], logZ = forward.logPartitions[b]
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
        transitionsGradient.withMutablePointer { g in for k in 0..<(K * K) { g[k] += Float(s * dTransitions[k]) } }
        startGradient.withMutablePointer { g in for k in 0..<K { g[k] += Float(s * dStart[k]) } }
        endGradient.withMutablePointer { g in for k in 0..<K { g[k] += Float(s * dEnd[k]) } }
        return dEmissions
    }

    public func crfViterbi(emissions: Tensor, lengths: [Int], transitions: [Double], start: [Double], end: [Double]) -> [[Int32]?] {
        let K = start.count
        precondition(transitions.count == K * K && end.count == K, "crfViterbi: transitions \(transitions.count), start \(K), end \(end.count).")
        let (B, T) = crfLayout(emissions, lengths, K)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: K * K + 4 * K)
        let backpointers = UnsafeMutablePointer<Int32>.allocate(capacity: T * K)
        defer { scratch.deallocate(); backpointers.deallocate() }
        // decode is transposed ([to, from]) so the inner loop over "from" is contiguous; −∞ where forbidden.
        let decode = scratch, startScores = scratch + K * K, endScores = startScores + K
        var score = endScores + K, next = score + K
        for i in 0..<K {
            for j in 0..<K { decode[j * K + i] = transitions[i * K + j] }
            startScores[i] = start[i]
            endScores[i] = end[i]
        }
        var paths: [[Int32]?] = []
        paths.reserveCapacity(B)
        emissions.withPointer { e in
            for b in 0..<B {
                let L = lengths[b], eb = e + b * T * K
                for j in 0..<K { score[j] = startScores[j] + Double(eb[j]) }
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
                for j in 0..<K where score[j] + endScores[j] > best { best = score[j] + endScores[j]; last = j }
                if best == -.infinity { paths.append(nil); continue }
                var path = [Int32](repeating: 0, count: L)
                path[L - 1] = Int32(last)
                for t in stride(from: L - 1, to: 0, by: -1) { path[t - 1] = backpointers[t * K + Int(path[t])] }
                paths.append(path)
            }
        }
        return paths
    }
}

/// (B, T) of emissions `[B, T, K]` with B lengths in 1...T.
func crfLayout(_ emissions: Tensor, _ lengths: [Int], _ k: Int) -> (Int, Int) {
    precondition(emissions.shape.count == 3 && emissions.shape[2] == k && lengths.count == emissions.shape[0]
                 && lengths.allSatisfy { $0 >= 1 && $0 <= emissions.shape[1] },
                 "CRF: emissions \(emissions.shape), \(k) tags, lengths \(lengths).")
    return (emissions.shape[0], emissions.shape[1])
}

/// Below this a shifted sum has lost precision to underflow, so the exact log-sum-exp is used instead.
private let underflowGuard = 1e-200

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
private func goldScore(_ e: UnsafePointer<Float>, _ tags: [Int32], _ offset: Int, _ length: Int, _ K: Int,
                       _ tables: TransitionTables) -> Double {
    var previous = Int(tags[offset])
    var score = tables.start[previous] + Double(e[previous])
    for t in 1..<length {
        let tag = Int(tags[offset + t])
        score += tables.scores[previous * K + tag] + Double(e[t * K + tag])
        previous = tag
    }
    return score + tables.end[previous]
}

/// The CRF's parameters (transitions `[K, K]`, start and end `[K]`) in Double, with the exponentiated transition matrices the recursions multiply by.
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

    init(transitions: Tensor, start startTensor: Tensor, end endTensor: Tensor) {
        let K = startTensor.count
        storage = .allocate(capacity: 3 * K * K + 4 * K)
        scores = storage
        expByRow = scores + K * K
        expByColumn = expByRow + K * K
        start = expByColumn + K * K
        end = start + K
        rowMax = end + K
        columnMax = rowMax + K
        transitions.withPointer { t in for k in 0..<(K * K) { scores[k] = Double(t[k]) } }
        startTensor.withPointer { s in for k in 0..<K { start[k] = Double(s[k]) } }
        endTensor.withPointer { s in for k in 0..<K { end[k] = Double(s[k]) } }
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
