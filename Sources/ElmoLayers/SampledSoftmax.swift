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
        let backend = Backends.current
        let sampledWeights = backend.gatherRows(weight.value, ids: sampled)
        let biasValues = bias.value.scalars
        let sampledOffsets = sampled.map { biasValues[Int($0)] - logExpectedCount(Int($0), tries: tries) }

        // Column 0 is the true class, columns 1...S the sampled ones: logits = [h·W[target] + b[target] − log Q(target) |
        // h·W_sampledᵀ + offsets], with a sampled id equal to the row's target masked to −∞.
        var logits = Tensor(zeros: [n, width])
        backend.gemm(hidden.matrix, sampledWeights.matrix, transposeB: true, into: &logits, .columns(1..<width, rows: n, width: width))
        let trueDots = backend.rowDots(hidden, weight.value, ids: targets)
        var indices: [Int] = [], values: [Float] = []
        for (row, t) in targets.enumerated() where t >= 0 {
            indices.append(row * width)
            values.append(trueDots[row] + biasValues[Int(t)] - logExpectedCount(Int(t), tries: tries))
        }
        backend.setElements(&logits, indices: indices, values: values)
        backend.addRowVector(Tensor(shape: [s], scalars: sampledOffsets), to: &logits, .columns(1..<width, rows: n, width: width))
        var hits: [Int] = []
        for (row, t) in targets.enumerated() where t >= 0 {
            if let hit = position[t] { hits.append(row * width + 1 + hit) }
        }
        backend.setElements(&logits, indices: hits, values: [Float](repeating: -.infinity, count: hits.count))
        let rowTargets = targets.map { $0 >= 0 ? Int32(0) : -1 }
        let result = backend.softmaxCrossEntropy(&logits, targets: rowTargets)
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
        let backend = Backends.current
        backend.softmaxCrossEntropyGradient(&dLogits, targets: rowTargets, scale: scale)
        let sampledBlock = dLogits.view(.columns(1..<width, rows: n, width: width))
        var dHidden = Tensor(zeros: cache.hidden.shape)
        backend.gemm(sampledBlock, cache.sampledWeights.matrix, into: &dHidden, dHidden.wholeWindow)
        // The true class (column 0) touches one W and b row per kept row.
        let trueGradients = (0..<n).map { dLogits[flat: $0 * width] }
        backend.addGatheredRows(weight.value, ids: cache.targets, scales: trueGradients, into: &dHidden)
        backend.scatterAddRows(cache.hidden, scales: trueGradients, ids: cache.targets, into: &weight.gradient)
        backend.scatterAddRows(Tensor(shape: [n], scalars: trueGradients), scales: nil, ids: cache.targets, into: &bias.gradient)
        var dSampledWeights = Tensor(zeros: [s, p])
        backend.gemm(sampledBlock, transposeA: true, cache.hidden.matrix, into: &dSampledWeights, dSampledWeights.wholeWindow)
        var dSampledBias = Tensor(zeros: [s])
        backend.addColumnSums(sampledBlock, into: &dSampledBias)
        backend.scatterAddRows(dSampledWeights, scales: nil, ids: cache.sampled, into: &weight.gradient)
        backend.scatterAddRows(dSampledBias, scales: nil, ids: cache.sampled, into: &bias.gradient)
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
