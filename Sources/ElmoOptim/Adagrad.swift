import ElmoTensor

/// Adagrad with torch.optim.Adagrad semantics (no learning-rate decay):
///
///     g = ∇ + weightDecay · p
///     a += g²                              (a starts at `initialAccumulatorValue`)
///     p -= lr · g / (√a + ε)
///
/// bilm-tf pre-trains with Adagrad, rate 0.2 and initial accumulator 1.0 (TensorFlow's
/// `AdagradOptimizer(initial_accumulator_value=1.0)`, which has no ε; ε = 1e-10 changes nothing at that
/// accumulator size), hence the defaults. Slot: `adagrad_accumulator/<parameter>`.
public final class Adagrad: Optimizer {
    public var learningRate: Float
    public let initialAccumulatorValue: Float
    public let epsilon: Float
    public let weightDecay: Float
    public let name = "adagrad"
    public var slotNames: [String] { ["adagrad_accumulator"] }
    private var accumulators: [String: SlotBuffer] = [:]

    public init(learningRate: Float = 0.2, initialAccumulatorValue: Float = 1.0, epsilon: Float = 1e-10,
                weightDecay: Float = 0) {
        precondition(initialAccumulatorValue >= 0 && epsilon >= 0 && weightDecay >= 0,
                     "Adagrad needs initialAccumulatorValue, epsilon and weightDecay >= 0, but they are "
                        + "\(initialAccumulatorValue), \(epsilon) and \(weightDecay).")
        self.learningRate = learningRate
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter], learningRateScale: Float) {
        let lr = learningRate * learningRateScale
        let wd = weightDecay, eps = epsilon
        let backend = Backends.current
        for parameter in parameters {
            let accumulator = slot(&accumulators, for: parameter, initialValue: initialAccumulatorValue)
            backend.adagradUpdate(&parameter.value, gradient: parameter.gradient, accumulator: &accumulator.tensor, learningRate: lr,
                                  epsilon: eps, weightDecay: wd)
        }
    }

    public func stateTensors() -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        exportSlots("adagrad_accumulator", accumulators, into: &tensors)
        return tensors
    }

    public var scalarState: [String: Double] { [:] }

    public func loadState(tensors: [String: Tensor], scalars: [String: Double]) throws {
        accumulators = try importSlots(["adagrad_accumulator"], from: tensors)[0]
    }
}
