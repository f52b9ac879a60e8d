import ElmoTensor
import Foundation

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
        let result = probabilities.withMutablePointer {
            CrossEntropy.softmaxInPlace($0, targets: targets, classes: vocabularySize)
        }
        cache.hidden = hidden
        cache.probabilities = probabilities
        cache.targets = targets
        return result
    }

    /// Gradient of `scale * lossSum`: returns dHidden `[N, P]`; dW += dLogitsᵀ·hidden, db += Σ_rows dLogits, where
    /// dLogits = scale·(softmax − onehot(target)) on kept rows and 0 on ignored ones.
    public func backward(scale: Float, cache: Cache) -> Tensor {
        let (n, p) = cache.hidden.matrixShape
        let v = vocabularySize
        var dLogits = cache.probabilities
        dLogits.withMutablePointer { CrossEntropy.probabilitiesToGradient($0, targets: cache.targets, classes: v, scale: scale) }
        var dHidden = Tensor(zeros: cache.hidden.shape)
        dLogits.withPointer { dl in
            cache.hidden.withPointer { h in
                weight.gradient.withMutablePointer { dw in
                    BLAS.gemm(transA: true, m: v, n: p, k: n, a: dl, lda: v, b: h, ldb: p, beta: 1, c: dw, ldc: p)
                }
            }
            bias.gradient.withMutablePointer { Kernels.addColumnSums(dl, into: $0, rows: n, cols: v) }
            weight.value.withPointer { w in
                dHidden.withMutablePointer { BLAS.gemm(m: n, n: p, k: v, a: dl, lda: v, b: w, ldb: p, c: $0, ldc: p) }
            }
        }
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
        var losses = [Float](repeating: 0, count: n)
        logits.withMutablePointer { x in
            losses.withUnsafeMutableBufferPointer {
                _ = CrossEntropy.softmaxInPlace(x, targets: targets, classes: vocabularySize, rowLosses: $0.baseAddress, normalise: false)
            }
        }
        return losses
    }

    /// hidden `[N, P]` → log-probabilities `[N, V]` (for generation and scoring; no cache, no loss).
    public func logProbabilities(_ hidden: Tensor) -> Tensor {
        let (n, p) = hidden.matrixShape
        precondition(p == inputSize, "SoftmaxCrossEntropyLoss expects hidden [N, \(inputSize)], but got \(hidden.shape).")
        var logits = Tensor(zeros: [n, vocabularySize])
        computeLogits(hidden, into: &logits)
        logits.withMutablePointer { Kernels.logSoftmaxRows($0, $0, rows: n, cols: vocabularySize) }
        return logits
    }

    /// logits `[N, V]` = hidden·Wᵀ + b.
    private func computeLogits(_ hidden: Tensor, into logits: inout Tensor) {
        let (n, p) = hidden.matrixShape
        let v = vocabularySize
        hidden.withPointer { h in
            weight.value.withPointer { w in
                logits.withMutablePointer { BLAS.gemm(transB: true, m: n, n: v, k: p, a: h, lda: p, b: w, ldb: p, c: $0, ldc: v) }
            }
        }
        bias.value.withPointer { b in logits.withMutablePointer { Kernels.addBias($0, bias: b, rows: n, cols: v) } }
    }
}

/// Softmax cross-entropy on given logits, for task heads: `loss_n = logΣ_k exp(logits[n, k]) − logits[n, target_n]`.
public enum CrossEntropy {
    /// logits `[N, K]`, targets `[N]` (< 0 ignored) → (Σ loss over kept rows in Double, kept rows,
    /// dLogits = ∂lossSum/∂logits `[N, K]` = softmax − onehot on kept rows, 0 on ignored rows).
    public static func forwardBackward(logits: Tensor, targets: [Int32]) -> (lossSum: Double, count: Int, dLogits: Tensor) {
        let (n, k) = logits.matrixShape
        precondition(targets.count == n, "CrossEntropy got logits \(logits.shape) but \(targets.count) targets.")
        var d = logits
        let (lossSum, count) = d.withMutablePointer { p in
            let result = softmaxInPlace(p, targets: targets, classes: k)
            probabilitiesToGradient(p, targets: targets, classes: k, scale: 1)
            return result
        }
        return (lossSum, count, d)
    }

    /// Replaces each kept row of logits `[N, K]` by its softmax and returns (Σ NLL in Double, kept rows).
    /// Rows with a negative target are skipped (left as logits). `rowLosses` `[N]`, when given, receives each kept
    /// row's NLL; `normalise: false` leaves kept rows as unnormalised exponentials (the losses alone are wanted).
    static func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, targets: [Int32], classes k: Int,
                               rowLosses: UnsafeMutablePointer<Float>? = nil, normalise: Bool = true) -> (Double, Int) {
        var lossSum = 0.0, count = 0
        for (row, target) in targets.enumerated() where target >= 0 {
            precondition(Int(target) < k, "Target \(target) in row \(row) is outside the \(k) classes.")
            let r = x + row * k
            let targetLogit = r[Int(target)]
            let m = Kernels.maximum(r, k)
            // One exp pass gives both the softmax numerators and the normaliser of the loss.
            let s = Kernels.expSubtracting(m, r, k)
            if normalise { Kernels.scale(r, by: 1 / s, k) }
            let loss = m + logf(s) - targetLogit
            rowLosses?[row] = loss
            lossSum += Double(loss)
            count += 1
        }
        return (lossSum, count)
    }

    /// Turns softmax rows `[N, K]` into scale·(softmax − onehot(target)); rows with a negative target become 0.
    static func probabilitiesToGradient(_ x: UnsafeMutablePointer<Float>, targets: [Int32], classes k: Int, scale: Float) {
        for (row, target) in targets.enumerated() {
            let r = x + row * k
            if target < 0 {
                r.update(repeating: 0, count: k)
            } else {
                r[Int(target)] -= 1
                Kernels.scale(r, by: scale, k)
            }
        }
    }
}
