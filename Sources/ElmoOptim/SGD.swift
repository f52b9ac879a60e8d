import ElmoTensor

/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay, with
/// torch.optim.SGD semantics (no dampening):
///
///     g = ∇ + weightDecay · p
///     b = momentum · b + g            (b starts at 0, so the first b is g, as torch's clone)
///     p -= lr · (nesterov ? g + momentum · b : b)      (or p -= lr · g without momentum)
///
/// Slot: `sgd_momentum/<parameter>` (only when `momentum > 0`).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public let name = "sgd"
    public var slotNames: [String] { momentum > 0 ? ["sgd_momentum"] : [] }
    private var buffers: [String: SlotBuffer] = [:]

    public init(learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(momentum >= 0 && weightDecay >= 0,
                     "SGD needs momentum >= 0 and weightDecay >= 0, but they are \(momentum) and \(weightDecay).")
        precondition(!nesterov || momentum > 0, "Nesterov momentum needs momentum > 0, but it is \(momentum).")
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter], learningRateScale: Float) {
        let lr = learningRate * learningRateScale
        let wd = weightDecay, mu = momentum
        let backend = Backends.current
        for parameter in parameters {
            if mu > 0 {
                let buffer = slot(&buffers, for: parameter)
                backend.sgdMomentumUpdate(&parameter.value, gradient: parameter.gradient, buffer: &buffer.tensor, learningRate: lr,
                                          momentum: mu, nesterov: nesterov, weightDecay: wd)
            } else {
                backend.sgdUpdate(&parameter.value, gradient: parameter.gradient, learningRate: lr, weightDecay: wd)
            }
        }
    }

    public func stateTensors() -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        exportSlots("sgd_momentum", buffers, into: &tensors)
        return tensors
    }

    public var scalarState: [String: Double] { [:] }

    public func loadState(tensors: [String: Tensor], scalars: [String: Double]) throws {
        buffers = try importSlots(["sgd_momentum"], from: tensors)[0]
    }
}
