import ElmoTensor

/// Full softmax cross-entropy over V classes: `logits = hidden·Wᵀ + b`, `loss_n = logΣ_v exp(logits[n, v]) −
/// logits[n, target_n]`, summed over the rows whose target is ≥ 0 (negative targets mark padding and are ignored).
///
/// N rows, P = `inputSize`, V = `vocabularySize`. `weight` is `[V, P]` (bilm-tf's `softmax/W` and PyTorch's
/// `nn.Linear(P, V).weight` share this layout, so the logits gemm uses Wᵀ), `bias` is `[V]`; both are initialised
/// uniform in ±1/√P.
public final class SoftmaxCrossEntropyLoss: Layer {
    public let inputSize: Int
    public let vocabularySize: Int
    /// `[V, P]`
    public let weight: Parameter
    /// `[V]`
    public let bias: Parameter

    public init(inputSize: Int, vocabularySize: Int, name: String, rng: inout RandomGenerator) {
        precondition(inputSize > 0 && vocabularySize > 0,
                     "SoftmaxCrossEntropyLoss sizes must be positive: input \(inputSize), vocabulary \(vocabularySize).")
        self.inputSize = inputSize
        self.vocabularySize = vocabularySize
        let limit = 1 / Float(inputSize).squareRoot()
        weight = Parameter(name: "\(name)/weight", value: .uniform([vocabularySize, inputSize], limit: limit, rng: &rng))
        bias = Parameter(name: "\(name)/bias", value: .uniform([vocabularySize], limit: limit, rng: &rng))
    }

    public var parameters: [Parameter] { [weight, bias] }

    /// What backward reads: the hidden rows, the softmax probabilities and the targets.
    public struct Cache {
        /// `[N, P]`
        var hidden = Tensor(zeros: [0])
        /// softmax(logits), `[N, V]`; rows of ignored targets are left as they are and never read.
        var probabilities = Tensor(zeros: [0])
        /// `[N]`
        var targets: [Int32] = []

        public init() {}
    }

    /// hidden `[N, P]`, targets `[N]` → (Σ NLL over rows with target ≥ 0, accumulated in Double; number of such rows).
    public func forward(_ hidden: Tensor, targets: [Int32], cache: inout Cache) -> (lossSum: Double, count: Int) {
        let (n, p) = hidden.matrixShape
        precondition(p == inputSize && targets.count == n,
                     "SoftmaxCrossEntropyLoss expects hidden [N, \(inputSize)] and N targets, but got \(hidden.shape) and \(targets.count).")
        var probabilities = cache.probabilities.count == n * vocabularySize
            ? cache.probabilities : Tensor(zeros: [n, vocabularySize])
        cache.probabilities = Tensor(zeros: [0])
        computeLogits(hidden, into: &probabilities)
        let result = Backends.current.softmaxCrossEntropy(&probabilities, targets: targets)
        cache.hidden = hidden
        cache.probabilities = probabilities
        cache.targets = targets
        return result
    }

    /// Gradient of `scale * lossSum`: returns dHidden `[N, P]`; dW += dLogitsᵀ·hidden, db += Σ_rows dLogits, where
    /// dLogits = scale·(softmax − onehot(target)) on kept rows and 0 on ignored ones.
    public func backward(scale: Float, cache: Cache) -> Tensor {
        var dLogits = cache.probabilities
        let backend = Backends.current
        backend.softmaxCrossEntropyGradient(&dLogits, targets: cache.targets, scale: scale)
        var dHidden = Tensor(zeros: cache.hidden.shape)
        backend.matmul(dLogits, cache.hidden, transposeA: true, beta: 1, into: &weight.gradient)
        backend.addColumnSums(dLogits.matrix, into: &bias.gradient)
        backend.matmul(dLogits, weight.value, into: &dHidden)
        return dHidden
    }

    /// hidden `[N, P]`, targets `[N]` → each row's NLL `−log p(target_n)` `[N]` (0 on rows whose target is < 0), with
    /// no cache: sentence scoring. Summing the kept rows in order in Double gives `forward`'s lossSum bit for bit.
    public func negativeLogLikelihoods(_ hidden: Tensor, targets: [Int32]) -> [Float] {
        let (n, p) = hidden.matrixShape
        precondition(p == inputSize && targets.count == n,
                     "SoftmaxCrossEntropyLoss expects hidden [N, \(inputSize)] and N targets, but got \(hidden.shape) and \(targets.count).")
        var logits = Tensor(zeros: [n, vocabularySize])
        computeLogits(hidden, into: &logits)
        let losses = Backends.current.negativeLogLikelihoods(&logits, targets: targets)
        return losses
    }

    /// hidden `[N, P]` → log-probabilities `[N, V]` (for generation and scoring; no cache, no loss).
    public func logProbabilities(_ hidden: Tensor) -> Tensor {
        let (n, p) = hidden.matrixShape
        precondition(p == inputSize, "SoftmaxCrossEntropyLoss expects hidden [N, \(inputSize)], but got \(hidden.shape).")
        var logits = Tensor(zeros: [n, vocabularySize])
        computeLogits(hidden, into: &logits)
        Backends.current.logSoftmaxRows(&logits)
        return logits
    }

    /// logits `[N, V]` = hidden·Wᵀ + b.
    private func computeLogits(_ hidden: Tensor, into logits: inout Tensor) {
        let backend = Backends.current
        backend.matmul(hidden, weight.value, transposeB: true, into: &logits)
        backend.addRowVector(bias.value, to: &logits, logits.wholeWindow)
    }
}

/// Softmax cross-entropy on given logits, for task heads: `loss_n = logΣ_k exp(logits[n, k]) − logits[n, target_n]`.
public enum CrossEntropy {
    /// logits `[N, K]`, targets `[N]` (< 0 ignored) → (Σ loss over kept rows in Double, kept rows,
    /// dLogits = ∂lossSum/∂logits `[N, K]` = softmax − onehot on kept rows, 0 on ignored rows).
    public static func forwardBackward(logits: Tensor, targets: [Int32]) -> (lossSum: Double, count: Int, dLogits: Tensor) {
        let n = logits.matrixShape.rows
        precondition(targets.count == n, "CrossEntropy got logits \(logits.shape) but \(targets.count) targets.")
        var d = logits
        let backend = Backends.current
        let (lossSum, count) = backend.softmaxCrossEntropy(&d, targets: targets)
        backend.softmaxCrossEntropyGradient(&d, targets: targets, scale: 1)
        return (lossSum, count, d)
    }
}
