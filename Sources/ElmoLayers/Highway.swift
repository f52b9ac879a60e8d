import ElmoTensor

/// `y = g · x + (1 − g) · f(A x + a)` with the carry gate `g = sigmoid(B x + b)`, applied `layerCount` times.
///
/// N rows, F = `size`. Each layer is one `Linear(F → 2F)` whose output columns `[0, F)` are `A x + a` (the
/// nonlinear part) and `[F, 2F)` are `B x + b` (the gate), so both come out of a single gemm.
///
/// Conventions: this is AllenNLP's form, with the *carry* gate `g`. TensorFlow / bilm-tf write
/// `y = (1 − t) · x + t · f(W x)` with the *transform* gate `t` and a carry bias; since `t = 1 − g` and
/// `1 − sigmoid(z) = sigmoid(−z)`, importing bilm-tf weights negates the gate weights and bias (AllenNLP's
/// `_load_highway` does the same), and exporting negates them back.
///
/// `gateBias` (default −2) initialises `b`. It matches the PyTorch model of the known-answer test
/// (`Tests/ElmoBiLMTests/Fixtures/bilm_reference.py`, class `CharCNN`). Note
/// that on the carry gate −2 means `g ≈ 0.12`, i.e. the layer starts mostly *transforming*; bilm-tf's −2 on
/// its transform gate starts mostly carrying (that would be `gateBias: 2` here). If you change the default,
/// change that model's `nn.init.constant_(highway.bias[width:], -2.0)` with it.
public final class Highway: Layer {
    public let size: Int
    public let activation: Kernels.Activation
    public let layers: [Linear]

    /// Layer `k`'s parameters are named `"\(name)/layer_\(k)/weight"` (`[F, 2F]`) and `".../bias"` (`[2F]`).
    public init(size: Int, layerCount: Int, activation: Kernels.Activation = .relu, gateBias: Float = -2, name: String,
                rng: inout RandomGenerator) {
        precondition(size > 0 && layerCount >= 0, "Highway needs size > 0 and layerCount >= 0, but got \(size) and \(layerCount).")
        self.size = size
        self.activation = activation
        layers = (0..<layerCount).map { k in
            let linear = Linear(inputSize: size, outputSize: 2 * size, name: "\(name)/layer_\(k)", rng: &rng)
            for i in size..<(2 * size) { linear.bias!.value[flat: i] = gateBias }
            return linear
        }
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    /// What backward reads, per layer: the linear's cache (holding that layer's input x) and the `[N, 2F]`
    /// activations `[f(A x + a) | g]`.
    public struct Cache {
        public var linear: [Linear.Cache] = []
        public var activations: [Tensor] = []
        public init() {}
    }

    /// x `[N, F]` → y `[N, F]`.
    public func forward(_ x: Tensor, cache: inout Cache) -> Tensor {
        let f = x.matrixShape.cols
        precondition(f == size, "Highway expects \(size) features, but the input has shape \(x.shape).")
        cache.linear = []
        cache.activations = []
        var current = x
        for layer in layers {
            var linearCache = Linear.Cache()
            var h = layer.forward(current, cache: &linearCache)
            var y = Tensor(zeros: x.shape)
            Backends.current.highwayForward(&h, input: current, into: &y, activation: activation)
            cache.linear.append(linearCache)
            cache.activations.append(h)
            current = y
        }
        return current
    }

    /// The inference forward over each layer's `Linear.packedWeight()`: x `[N, F]` → y `[N, F]`, nothing kept; each
    /// row of y depends on its row of x only, bitwise.
    public func forward(_ x: Tensor, packed weights: [PackedWeight]) -> Tensor {
        precondition(weights.count == layers.count, "Highway got \(weights.count) packed weights for \(layers.count) layers.")
        var current = x
        for (layer, w) in zip(layers, weights) {
            var h = layer.forward(current, packed: w)
            var y = Tensor(zeros: x.shape)
            Backends.current.highwayForward(&h, input: current, into: &y, activation: activation)
            current = y
        }
        return current
    }

    /// dy `[N, F]` → dx `[N, F]`; accumulates into every layer's weight and bias gradients.
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        precondition(cache.linear.count == layers.count,
                     "Highway backward got a cache of \(cache.linear.count) layers for \(layers.count) layers.")
        let (n, f) = dy.matrixShape
        precondition(f == size, "Highway backward expects \(size) features, but dy has shape \(dy.shape).")
        var grad = dy
        for k in layers.indices.reversed() {
            let input = cache.linear[k].input
            var dh = Tensor(zeros: [n, 2 * size])
            var dx = Tensor(zeros: dy.shape)
            let backend = Backends.current
            backend.highwayBackward(cache.activations[k], input: input, gradient: grad, dh: &dh, dx: &dx, activation: activation)
            let dxLinear = layers[k].backward(dh, cache: cache.linear[k])
            backend.axpy(1, dxLinear, into: &dx)
            grad = dx
        }
        return grad
    }
}
