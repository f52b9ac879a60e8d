import ElmoTensor
import Foundation

/// bilm-tf's sampled softmax (`tf.nn.sampled_softmax_loss` with the default log-uniform sampler): per batch, S
/// unique negative ids are drawn once and shared by every row; each row's logits are its true class and the S
/// sampled classes, each corrected by subtracting log(expected count of that id), and a sampled id equal to the
/// row's target is masked out (`remove_accidental_hits`). The loss is the softmax cross-entropy of that row of
/// S + 1 logits with the true class at position 0.
///
/// N rows, P = `inputSize`, V = `vocabularySize`, S = `sampleCount`. Same `[V, P]` weight and `[V]` bias layout
/// and init as `SoftmaxCrossEntropyLoss`, so the two can share parameters (train sampled, evaluate full).
/// Ids must be sorted by descending frequency for the log-uniform proposal to fit. Targets < 0 are ignored.
public final class SampledSoftmaxLoss: Layer {
    public let inputSize: Int
    public let vocabularySize: Int
    /// `[V, P]`
    public let weight: Parameter
    /// `[V]`
    public let bias: Parameter
    public let sampleCount: Int
    public let sampler: LogUniformSampler

    public init(inputSize: Int, vocabularySize: Int, sampleCount: Int, name: String, rng: inout RandomGenerator) {
        precondition(inputSize > 0 && vocabularySize > 0,
                     "SampledSoftmaxLoss sizes must be positive: input \(inputSize), vocabulary \(vocabularySize).")
        let limit = 1 / Float(inputSize).squareRoot()
        self.inputSize = inputSize
        self.vocabularySize = vocabularySize
        weight = Parameter(name: "\(name)/weight", value: .uniform([vocabularySize, inputSize], limit: limit, rng: &rng))
        bias = Parameter(name: "\(name)/bias", value: .uniform([vocabularySize], limit: limit, rng: &rng))
        precondition(sampleCount > 0 && sampleCount <= vocabularySize,
                     "sampleCount must be in 1...\(vocabularySize) (unique draws from the vocabulary), but is \(sampleCount).")
        self.sampleCount = sampleCount
        sampler = LogUniformSampler(rangeMax: vocabularySize)
    }

    /// A sampled loss over the very same `weight` and `bias` objects as `full`.
    public init(sharing full: SoftmaxCrossEntropyLoss, sampleCount: Int) {
        precondition(sampleCount > 0 && sampleCount <= full.vocabularySize,
                     "sampleCount must be in 1...\(full.vocabularySize) (unique draws from the vocabulary), but is \(sampleCount).")
        inputSize = full.inputSize
        vocabularySize = full.vocabularySize
        weight = full.weight
        bias = full.bias
        self.sampleCount = sampleCount
        sampler = LogUniformSampler(rangeMax: vocabularySize)
    }

    public var parameters: [Parameter] { [weight, bias] }

    /// What backward reads.
    public struct Cache {
        /// `[N, P]`
        var hidden = Tensor(zeros: [0])
        /// `[N]`
        var targets: [Int32] = []
        /// The S sampled ids.
        var sampled: [Int32] = []
        /// W rows of the sampled ids, `[S, P]`.
        var sampledWeights = Tensor(zeros: [0])
        /// Softmax over [true, sampled…] per kept row, `[N, 1 + S]`.
        var probabilities = Tensor(zeros: [0])

        public init() {}
    }

    /// hidden `[N, P]`, targets `[N]` → (Σ sampled-softmax NLL over rows with target ≥ 0, in Double; number of such
    /// rows). Draws the S negatives from `rng`.
    public func forward(_ hidden: Tensor, targets: [Int32], rng: inout RandomGenerator, cache: inout Cache) -> (lossSum: Double, count: Int) {
        let (n, p) = hidden.matrixShape
        precondition(p == inputSize && targets.count == n,
                     "SampledSoftmaxLoss expects hidden [N, \(inputSize)] and N targets, but got \(hidden.shape) and \(targets.count).")
        for (row, t) in targets.enumerated() {
            precondition(Int(t) < vocabularySize, "Target \(t) in row \(row) is outside the vocabulary of \(vocabularySize).")
        }
        let s = sampleCount, width = s + 1
        let (sampled, tries) = sampler.sampleUnique(count: s, rng: &rng)
        var position = [Int32: Int](minimumCapacity: s)
        for (j, id) in sampled.enumerated() { position[id] = j }

        // Sampled columns' constant part: b[id] − log Q(id).
        var sampledWeights = Tensor(zeros: [s, p])
        var sampledOffsets = [Float](repeating: 0, count: s)
        weight.value.withPointer { w in
            sampledWeights.withMutablePointer { ws in
                for (j, id) in sampled.enumerated() {
                    (ws + j * p).update(from: w + Int(id) * p, count: p)
                    sampledOffsets[j] = bias.value.data[Int(id)] - logExpectedCount(Int(id), tries: tries)
                }
            }
        }

        var logits = Tensor(zeros: [n, width])
        let rowTargets = targets.map { $0 >= 0 ? Int32(0) : -1 }
        let result: (Double, Int) = logits.withMutablePointer { lg in
            hidden.withPointer { h in
                sampledWeights.withPointer { ws in
                    BLAS.gemm(transB: true, m: n, n: s, k: p, a: h, lda: p, b: ws, ldb: p, c: lg + 1, ldc: width)
                }
                weight.value.withPointer { w in
                    for (row, t) in targets.enumerated() where t >= 0 {
                        let r = lg + row * width
                        var dot: Float = 0
                        let hr = h + row * p, wt = w + Int(t) * p
                        for k in 0..<p { dot += hr[k] * wt[k] }
                        r[0] = dot + bias.value.data[Int(t)] - logExpectedCount(Int(t), tries: tries)
                        for j in 0..<s { r[1 + j] += sampledOffsets[j] }
                        if let hit = position[t] { r[1 + hit] = -.infinity }
                    }
                }
            }
            return CrossEntropy.softmaxInPlace(lg, targets: rowTargets, classes: width)
        }
        cache.hidden = hidden
        cache.targets = targets
        cache.sampled = sampled
        cache.sampledWeights = sampledWeights
        cache.probabilities = logits
        return result
    }

    /// Gradient of `scale * lossSum`: returns dHidden `[N, P]`; accumulates into the W and b rows of each row's
    /// target and of the sampled ids. With dL = scale·(softmax − onehot(0)) over [true, sampled…]:
    /// dHidden = dL_true·W[target] + dL_sampled·W_sampled, dW[target] += dL_true·hidden, dW_sampled += dL_sampledᵀ·hidden.
    public func backward(scale: Float, cache: Cache) -> Tensor {
        let (n, p) = cache.hidden.matrixShape
        let s = cache.sampled.count, width = s + 1
        var dLogits = cache.probabilities
        let rowTargets = cache.targets.map { $0 >= 0 ? Int32(0) : -1 }
        dLogits.withMutablePointer { CrossEntropy.probabilitiesToGradient($0, targets: rowTargets, classes: width, scale: scale) }
        var dHidden = Tensor(zeros: cache.hidden.shape)
        var dSampledWeights = Tensor(zeros: [s, p])
        var dSampledBias = [Float](repeating: 0, count: s)
        dLogits.withPointer { dl in
            cache.hidden.withPointer { h in
                dHidden.withMutablePointer { dh in
                    cache.sampledWeights.withPointer { ws in
                        BLAS.gemm(m: n, n: p, k: s, a: dl + 1, lda: width, b: ws, ldb: p, c: dh, ldc: p)
                    }
                    weight.value.withPointer { w in
                        weight.gradient.withMutablePointer { dw in
                            for (row, t) in cache.targets.enumerated() where t >= 0 {
                                let g = dl[row * width]
                                Kernels.axpy(g, w + Int(t) * p, dh + row * p, p)
                                Kernels.axpy(g, h + row * p, dw + Int(t) * p, p)
                                bias.gradient.data[Int(t)] += g
                            }
                        }
                    }
                }
                dSampledWeights.withMutablePointer { dws in
                    BLAS.gemm(transA: true, m: s, n: p, k: n, a: dl + 1, lda: width, b: h, ldb: p, c: dws, ldc: p)
                }
            }
            dSampledBias.withUnsafeMutableBufferPointer { db in
                // The sampled block has row stride `width`, so this is a strided column sum.
                for row in 0..<n {
                    let r = dl + row * width + 1
                    for j in 0..<s { db[j] += r[j] }
                }
            }
        }
        dSampledWeights.withPointer { dws in
            weight.gradient.withMutablePointer { dw in
                for (j, id) in cache.sampled.enumerated() {
                    Kernels.axpy(1, dws + j * p, dw + Int(id) * p, p)
                    bias.gradient.data[Int(id)] += dSampledBias[j]
                }
            }
        }
        return dHidden
    }

    private func logExpectedCount(_ id: Int, tries: Int) -> Float {
        Float(log(sampler.expectedCount(id, tries: tries, sampleCount: sampleCount)))
    }
}

/// TensorFlow's log-uniform (Zipfian) candidate sampler over ids 0..<`rangeMax`, meant for ids sorted by descending
/// frequency: P(k) = (log(k + 2) − log(k + 1)) / log(rangeMax + 1).
public struct LogUniformSampler {
    public let rangeMax: Int
    private let logRange: Double

    public init(rangeMax: Int) {
        precondition(rangeMax > 0, "LogUniformSampler needs a positive range, but got \(rangeMax).")
        self.rangeMax = rangeMax
        logRange = log(Double(rangeMax) + 1)
    }

    public func probability(_ id: Int) -> Double {
        log((Double(id) + 2) / (Double(id) + 1)) / logRange
    }

    /// One draw: ⌊exp(u·log(rangeMax + 1))⌋ − 1 for u uniform in [0, 1) (TF's inverse-CDF formula, with its modulo
    /// guarding against round-off at the top end).
    public func sample(rng: inout RandomGenerator) -> Int {
        (Int(exp(rng.nextUniformDouble() * logRange)) - 1) % rangeMax
    }

    /// Unique draws like TF's `log_uniform_candidate_sampler(unique: true)`: draws until `count` distinct ids were
    /// seen; returns them in draw order and the number of draws it took (`tries`, for `expectedCount`).
    public func sampleUnique(count: Int, rng: inout RandomGenerator) -> (ids: [Int32], tries: Int) {
        precondition(count >= 0 && count <= rangeMax, "Cannot draw \(count) unique ids from a range of \(rangeMax).")
        var seen = Set<Int>(minimumCapacity: count)
        var ids: [Int32] = []
        ids.reserveCapacity(count)
        var tries = 0
        while ids.count < count {
            let id = sample(rng: &rng)
            tries += 1
            if seen.insert(id).inserted { ids.append(Int32(id)) }
        }
        return (ids, tries)
    }

    /// Expected number of times `id` appears in `tries` draws: −expm1(tries·log1p(−p)), i.e. 1 − (1 − p)^tries.
    /// TF returns p·count instead when no draw was rejected (tries == count); pass `sampleCount` to match that.
    public func expectedCount(_ id: Int, tries: Int, sampleCount: Int? = nil) -> Double {
        let p = probability(id)
        if let sampleCount, sampleCount == tries { return p * Double(tries) }
        return -expm1(Double(tries) * log1p(-p))
    }
}
