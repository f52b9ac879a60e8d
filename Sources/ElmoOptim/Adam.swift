import Foundation
import ElmoTensor

/// Adam with bias correction (torch.optim.Adam), or AdamW when `decoupledWeightDecay` (torch.optim.AdamW):
///
///     Adam:  g = ∇ + weightDecay · p          AdamW: g = ∇;  p *= 1 − lr · weightDecay
///     m = β₁ m + (1 − β₁) g,   v = β₂ v + (1 − β₂) g²,   t += 1
///     p -= (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// The step count t is kept per parameter (as torch does), so parameter groups stepped in separate calls,
/// or unfrozen later, each get their own bias correction. Slots: `<name>_exp_avg/<parameter>`,
/// `<name>_exp_avg_sq/<parameter>`; scalars `<name>_step/<parameter>`, where `<name>` is `adam` or `adamw`.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    public let decoupledWeightDecay: Bool
    public var name: String { decoupledWeightDecay ? "adamw" : "adam" }
    public var slotNames: [String] { ["\(name)_exp_avg", "\(name)_exp_avg_sq"] }
    private var stepSlot: String { "\(name)_step" }
    private var firstMoments: [String: SlotBuffer] = [:]
    private var secondMoments: [String: SlotBuffer] = [:]
    private var steps: [String: Int] = [:]

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2),
                     "Adam needs betas in [0, 1), but they are \(beta1) and \(beta2).")
        precondition(epsilon >= 0 && weightDecay >= 0,
                     "Adam needs epsilon and weightDecay >= 0, but they are \(epsilon) and \(weightDecay).")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    public func step(_ parameters: [Parameter], learningRateScale: Float) {
        let lr = learningRate * learningRateScale
        let b1 = beta1, b2 = beta2, eps = epsilon
        let l2: Float = decoupledWeightDecay ? 0 : weightDecay
        let shrink: Float = decoupledWeightDecay ? 1 - lr * weightDecay : 1
        let backend = Backends.current
        for parameter in parameters {
            let m = slot(&firstMoments, for: parameter)
            let v = slot(&secondMoments, for: parameter)
            let t = steps[parameter.name, default: 0] + 1
            steps[parameter.name] = t
            // Bias corrections in Double: β₂ᵗ stays close to 1 for thousands of steps.
            let correction1 = 1 - pow(Double(b1), Double(t))
            let correction2 = 1 - pow(Double(b2), Double(t))
            let step = AdamStep(beta1: b1, beta2: b2, epsilon: eps, l2: l2, shrink: shrink, stepSize: Float(Double(lr) / correction1),
                                inverseRootCorrection2: Float(1 / correction2.squareRoot()))
            backend.adamUpdate(&parameter.value, gradient: parameter.gradient, firstMoment: &m.tensor, secondMoment: &v.tensor, step)
        }
    }

    public func stateTensors() -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        exportSlots(slotNames[0], firstMoments, into: &tensors)
        exportSlots(slotNames[1], secondMoments, into: &tensors)
        return tensors
    }

    public var scalarState: [String: Double] {
        Dictionary(uniqueKeysWithValues: steps.map { ("\(stepSlot)/\($0.key)", Double($0.value)) })
    }

    public func loadState(tensors: [String: Tensor], scalars: [String: Double]) throws {
        let tables = try importSlots(slotNames, from: tensors)
        var loadedSteps: [String: Int] = [:]
        for parameterName in tables[0].keys.sorted() {
            let key = "\(stepSlot)/\(parameterName)"
            guard let value = scalars[key], value >= 1, value == value.rounded() else {
                throw OptimizerError.missingSlot(key: key)
            }
            loadedSteps[parameterName] = Int(value)
        }
        firstMoments = tables[0]
        secondMoments = tables[1]
        steps = loadedSteps
    }
}
