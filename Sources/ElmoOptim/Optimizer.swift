import ElmoTensor

/// Updates parameters from their accumulated gradients.
///
/// An optimizer keeps per-parameter slots (moments, accumulators) keyed by `Parameter.name`, created
/// lazily on a parameter's first step, so parameter groups with different learning rates are just
/// separate `step` calls with different `learningRateScale`s, and a group that is still frozen has no
/// state yet. The state round-trips through `stateTensors()` / `scalarState` and `loadState`, with
/// tensor keys `"\(slot)/\(parameter.name)"` (slot names start with the optimizer's `name`).
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    /// Updates each parameter from its accumulated gradient; `learningRateScale` multiplies the rate for this call
    /// (discriminative learning rates: call once per parameter group).
    func step(_ parameters: [Parameter], learningRateScale: Float)
    /// Optimizer slots keyed `"\(slot)/\(parameter.name)"` (e.g. `"adagrad_accumulator/softmax/weight"`).
    func stateTensors() -> [String: Tensor]
    /// Scalar state keyed like the tensors (e.g. Adam's per-parameter step count `"adam_step/softmax/weight"`).
    var scalarState: [String: Double] { get }
    /// Replaces the state. Keys that belong to no slot of this optimizer are ignored, so a whole checkpoint's
    /// tensors may be passed; a parameter with some slots but not all, or with mis-shaped slots, throws.
    func loadState(tensors: [String: Tensor], scalars: [String: Double]) throws
    /// `"adagrad"`, `"adam"`, `"adamw"` or `"sgd"`.
    var name: String { get }
    /// Tensor slot names, each holding one tensor of the parameter's shape per parameter.
    var slotNames: [String] { get }
}

extension Optimizer {
    public func step(_ parameters: [Parameter]) { step(parameters, learningRateScale: 1) }

    /// `loadState`, after checking the state against the model: every slot must name one of `parameters`
    /// and have its shape. (A parameter without slots is fine: it has not been stepped yet.)
    public func loadState(tensors: [String: Tensor], scalars: [String: Double], parameters: [Parameter]) throws {
        let shapes = Dictionary(parameters.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
        for slot in slotNames {
            for (parameterName, tensor) in slotEntries(slot, in: tensors).sorted(by: { $0.key < $1.key }) {
                let key = "\(slot)/\(parameterName)"
                guard let shape = shapes[parameterName] else { throw OptimizerError.unknownParameter(key: key) }
                if shape != tensor.shape {
                    throw OptimizerError.slotShapeMismatch(key: key, expected: shape, found: tensor.shape)
                }
            }
        }
        try loadState(tensors: tensors, scalars: scalars)
    }
}

/// Builds an optimizer from its config name. Default rates: adagrad 0.2 (bilm-tf), adam 1e-3, adamw 1e-3,
/// sgd 1.0. `weightDecay` defaults to 0, except AdamW's 0.01 (torch.optim.AdamW's default, without which
/// AdamW would be plain Adam).
public func makeOptimizer(name: String, learningRate: Float?, weightDecay: Float? = nil) throws -> Optimizer {
    let known = ["adagrad", "adam", "adamw", "sgd"]
    let key = name.lowercased()
    guard known.contains(key) else { throw OptimizerError.unknownOptimizer(name: name, known: known) }
    if let learningRate, !(learningRate > 0 && learningRate.isFinite) {
        throw OptimizerError.invalidHyperparameter(optimizer: key, name: "learning rate", value: learningRate,
                                                   requirement: "a positive finite number")
    }
    if let weightDecay, !(weightDecay >= 0 && weightDecay.isFinite) {
        throw OptimizerError.invalidHyperparameter(optimizer: key, name: "weight decay", value: weightDecay,
                                                   requirement: "zero or a positive finite number")
    }
    switch key {
    case "adagrad": return Adagrad(learningRate: learningRate ?? 0.2, weightDecay: weightDecay ?? 0)
    case "adam": return Adam(learningRate: learningRate ?? 1e-3, weightDecay: weightDecay ?? 0)
    case "adamw": return Adam(learningRate: learningRate ?? 1e-3, weightDecay: weightDecay ?? 0.01, decoupledWeightDecay: true)
    default: return SGD(learningRate: learningRate ?? 1.0, weightDecay: weightDecay ?? 0)
    }
}

// MARK: - Slot storage shared by the optimizers

/// One per-parameter Float buffer (a moment, an accumulator): a reference to a tensor, so the optimizer's table and
/// an update in progress share it.
final class SlotBuffer {
    var tensor: Tensor

    init(shape: [Int], repeating value: Float) {
        tensor = Tensor(shape: shape, repeating: value)
    }

    init(_ tensor: Tensor) {
        self.tensor = tensor
    }

    var shape: [Int] { tensor.shape }
}

/// The slot of `parameter` in `table`, created filled with `initialValue` on first use.
func slot(_ table: inout [String: SlotBuffer], for parameter: Parameter, initialValue: Float = 0) -> SlotBuffer {
    if let existing = table[parameter.name] {
        precondition(existing.shape == parameter.shape,
                     "Optimizer slot for \(parameter.name) has shape \(existing.shape), but the parameter has \(parameter.shape).")
        return existing
    }
    let created = SlotBuffer(shape: parameter.shape, repeating: initialValue)
    table[parameter.name] = created
    return created
}

/// Adds `table` to `tensors` under `"\(slot)/\(parameter name)"`.
func exportSlots(_ slot: String, _ table: [String: SlotBuffer], into tensors: inout [String: Tensor]) {
    for (parameterName, buffer) in table { tensors["\(slot)/\(parameterName)"] = buffer.tensor }
}

/// The entries of `tensors` whose key starts with `"\(slot)/"`, keyed by parameter name.
func slotEntries(_ slot: String, in tensors: [String: Tensor]) -> [String: Tensor] {
    let prefix = slot + "/"
    var entries: [String: Tensor] = [:]
    for (key, tensor) in tensors where key.hasPrefix(prefix) { entries[String(key.dropFirst(prefix.count))] = tensor }
    return entries
}

/// Reads the slots `slots` (which must cover the same parameters with equal shapes) from `tensors`.
func importSlots(_ slots: [String], from tensors: [String: Tensor]) throws -> [[String: SlotBuffer]] {
    let entries = slots.map { slotEntries($0, in: tensors) }
    let names = Set(entries.flatMap { $0.keys }).sorted()
    for parameterName in names {
        var reference: (key: String, shape: [Int])?
        for (slot, table) in zip(slots, entries) {
            let key = "\(slot)/\(parameterName)"
            guard let tensor = table[parameterName] else { throw OptimizerError.missingSlot(key: key) }
            if let reference, reference.shape != tensor.shape {
                throw OptimizerError.slotShapeMismatch(key: key, expected: reference.shape, found: tensor.shape)
            }
            reference = reference ?? (key, tensor.shape)
        }
    }
    return entries.map { $0.mapValues { SlotBuffer($0) } }
}
