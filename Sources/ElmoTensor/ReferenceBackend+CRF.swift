import Foundation

/// The linear-chain CRF of the reference backend: the textbook forward, backward and Viterbi recursions with an exact
/// log-sum-exp at every step, in Double.
extension ReferenceBackend {
    public func crfNegativeLogLikelihood(emissions: Tensor, tags: [Int32], lengths: [Int], transitions: Tensor, start: Tensor,
                                         end: Tensor) -> CRFForwardResult {
        let K = start.count
        let (B, T) = crfLayout(emissions, lengths, K)
        let e = emissions.storage.map(Double.init), tr = transitions.storage.map(Double.init)
        var alphas = [Double](repeating: 0, count: B * T * K), logPartitions: [Double] = [], total = 0.0
        for b in 0..<B {
            let L = lengths[b], base = b * T * K
            for j in 0..<K { alphas[base + j] = Double(start.storage[j]) + e[base + j] }
            for t in 1..<L {
                for j in 0..<K {
                    let terms = (0..<K).map { alphas[base + (t - 1) * K + $0] + tr[$0 * K + j] }
                    alphas[base + t * K + j] = Self.logSumExp(terms) + e[base + t * K + j]
                }
            }
            let logZ = Self.logSumExp((0..<K).map { alphas[base + (L - 1) * K + $0] + Double(end.storage[$0]) })
            var gold = Double(start.storage[Int(tags[b * T])]) + e[base + Int(tags[b * T])]
            for t in 1..<L {
                let from = Int(tags[b * T + t - 1]), to = Int(tags[b * T + t])
                gold += tr[from * K + to] + e[base + t * K + to]
            }
            gold += Double(end.storage[Int(tags[b * T + L - 1])])
            logPartitions.append(logZ)
            total += logZ - gold
        }
        return CRFForwardResult(total: total, alphas: alphas, logPartitions: logPartitions)
    }

    public func crfBackward(emissions: Tensor, tags: [Int32], lengths: [Int], forward: CRFForwardResult, transitions: Tensor,
                            start: Tensor, end: Tensor, scale: Float, transitionsGradient: inout Tensor,
                            startGradient: inout Tensor, endGradient: inout Tensor) -> Tensor {
        let K = start.count
        let (B, T) = crfLayout(emissions, lengths, K)
        let e = emissions.storage.map(Double.init), tr = transitions.storage.map(Double.init), s = Double(scale)
        var dEmissions = Tensor(zeros: emissions.shape)
        var dTransitions = [Double](repeating: 0, count: K * K), dStart = [Double](repeating: 0, count: K)
        var dEnd = [Double](repeating: 0, count: K)
        for b in 0..<B {
            let L = lengths[b], base = b * T * K, logZ = forward.logPartitions[b]
            let alpha = { (t: Int, j: Int) in forward.alphas[base + t * K + j] }
            let gold = (0..<L).map { Int(tags[b * T + $0]) }
            // β[t, i] = log Σ_j exp(transitions[i, j] + e[t+1, j] + β[t+1, j]),  β[L−1, i] = end[i]
            var beta = [Double](repeating: 0, count: L * K)
            for i in 0..<K { beta[(L - 1) * K + i] = Double(end.storage[i]) }
            for t in stride(from: L - 2, through: 0, by: -1) {
                for i in 0..<K {
                    beta[t * K + i] = Self.logSumExp((0..<K).map { tr[i * K + $0] + e[base + (t + 1) * K + $0] + beta[(t + 1) * K + $0] })
                }
            }
            for t in 0..<L {
                for j in 0..<K {
                    let p = exp(alpha(t, j) + beta[t * K + j] - logZ)
                    let onehot: Double = gold[t] == j ? 1 : 0
                    dEmissions.storage[base + t * K + j] = Float(s * (p - onehot))
                    if t == 0 { dStart[j] += p - onehot }
                    if t == L - 1 { dEnd[j] += p - onehot }
                }
            }
            for t in 1..<L {
                for i in 0..<K {
                    for j in 0..<K {
                        dTransitions[i * K + j] += exp(alpha(t - 1, i) + tr[i * K + j] + e[base + t * K + j] + beta[t * K + j] - logZ)
                    }
                }
                dTransitions[gold[t - 1] * K + gold[t]] -= 1
            }
        }
        for k in 0..<(K * K) { transitionsGradient.storage[k] += Float(s * dTransitions[k]) }
        for k in 0..<K {
            startGradient.storage[k] += Float(s * dStart[k])
            endGradient.storage[k] += Float(s * dEnd[k])
        }
        return dEmissions
    }

    public func crfViterbi(emissions: Tensor, lengths: [Int], transitions: [Double], start: [Double], end: [Double]) -> [[Int32]?] {
        let K = start.count
        precondition(transitions.count == K * K && end.count == K, "crfViterbi: transitions \(transitions.count), start \(K), end \(end.count).")
        let (B, T) = crfLayout(emissions, lengths, K)
        return (0..<B).map { b in
            let L = lengths[b], base = b * T * K
            var score = (0..<K).map { start[$0] + Double(emissions.storage[base + $0]) }
            var backpointers = [[Int]](repeating: [Int](repeating: 0, count: K), count: L)
            for t in 1..<L {
                var next = [Double](repeating: 0, count: K)
                for j in 0..<K {
                    var best = -Double.infinity, from = 0
                    for i in 0..<K where score[i] + transitions[i * K + j] > best { best = score[i] + transitions[i * K + j]; from = i }
                    next[j] = best + Double(emissions.storage[base + t * K + j])
                    backpointers[t][j] = from
                }
                score = next
            }
            var best = -Double.infinity, last = 0
            for j in 0..<K where score[j] + end[j] > best { best = score[j] + end[j]; last = j }
            if best == -.infinity { return nil }
            var path = [Int32](repeating: 0, count: L)
            path[L - 1] = Int32(last)
            for t in stride(from: L - 1, to: 0, by: -1) { path[t - 1] = Int32(backpointers[t][Int(path[t])]) }
            return path
        }
    }
}
