import ElmoTensor

/// `y = x · W + b`, an affine map applied to every row.
///
/// N rows (any leading dims folded), I = `inputSize`, O = `outputSize`.
/// `weight` is `[I, O]` (TensorFlow / bilm-tf layout, so no transpose in the forward gemm; PyTorch stores
/// the transpose `[O, I]`), `bias` is `[O]`. Init as PyTorch's default: uniform in ±1/√I for both.
public final class Linear: Layer {
    public let inputSize: Int
    public let outputSize: Int
    public let weight: Parameter
    public let bias: Parameter?

    public init(inputSize: Int, outputSize: Int, bias: Bool = true, name: String, rng: inout RandomGenerator) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        let limit = 1 / Float(inputSize).squareRoot()
        weight = Parameter(name: "\(name)/weight", value: .uniform([inputSize, outputSize], limit: limit, rng: &rng))
        self.bias = bias ? Parameter(name: "\(name)/bias", value: .uniform([outputSize], limit: limit, rng: &rng)) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// What backward reads: the input.
    public struct Cache {
        public var input = Tensor(zeros: [0])
        public init() {}
    }

    /// x `[..., I]` → y `[..., O]`.
    public func forward(_ x: Tensor, cache: inout Cache) -> Tensor {
        let (n, i) = x.matrixShape
        precondition(i == inputSize, "Linear expects \(inputSize) input features, but the input has shape \(x.shape).")
        var outShape = x.shape
        outShape[outShape.count - 1] = outputSize
        var y = Tensor(zeros: outShape)
        let backend = Backends.current
        backend.matmul(x, weight.value, into: &y)
        if let bias { backend.addRowVector(bias.value, to: &y, MatrixWindow(rows: n, columns: outputSize)) }
        cache.input = x
        return y
    }

    /// The weight packed for `forward(_:packed:)`; pack again after the weight changes.
    public func packedWeight() -> PackedWeight { Backends.current.pack(weight.value) }

    /// The inference forward over `packedWeight()`: x `[..., I]` → y `[..., O]`, nothing kept. Each row of y depends
    /// on its row of x only, bitwise (`Backend.gemm(_:packed:…)`).
    public func forward(_ x: Tensor, packed w: PackedWeight) -> Tensor {
        let (n, i) = x.matrixShape
        precondition(i == inputSize && w.rows == inputSize && w.columns == outputSize,
                     "Linear expects \(inputSize) input features and a packed [\(inputSize), \(outputSize)] weight, but got \(x.shape) and [\(w.rows), \(w.columns)].")
        var outShape = x.shape
        outShape[outShape.count - 1] = outputSize
        var y = Tensor(zeros: outShape)
        let backend = Backends.current
        backend.gemm(x.matrix, packed: w, beta: 0, into: &y, y.wholeWindow)
        if let bias { backend.addRowVector(bias.value, to: &y, MatrixWindow(rows: n, columns: outputSize)) }
        return y
    }

    /// dy `[..., O]` → dx `[..., I]`; dW += xᵀ·dy, db += Σ_rows dy.
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        let (n, o) = dy.matrixShape
        precondition(o == outputSize && n * inputSize == cache.input.count,
                     "Linear backward got dy \(dy.shape) for input \(cache.input.shape).")
        let backend = Backends.current
        backend.matmul(cache.input, dy, transposeA: true, beta: 1, into: &weight.gradient)
        if let bias { backend.addColumnSums(dy.matrix, into: &bias.gradient) }
        var dx = Tensor(zeros: cache.input.shape)
        backend.matmul(dy, weight.value, transposeB: true, into: &dx)
        return dx
    }
}
