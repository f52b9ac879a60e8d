import ElmoTensor

/// Something with trainable parameters. Each layer also has an explicit `forward` (returning what
/// backward needs in a cache value) and a `backward` that *accumulates* into its parameters' gradients
/// and returns the gradient for its input; the caller zeroes gradients once per step.
public protocol Layer: AnyObject {
    /// Every trainable tensor, in a stable order (checkpoints and optimizers rely on it).
    var parameters: [Parameter] { get }
}

extension Layer {
    public func zeroGradients() {
        for p in parameters { p.zeroGradient() }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}
