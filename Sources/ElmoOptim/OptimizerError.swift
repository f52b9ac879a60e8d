import Foundation
/// Problems a user can cause when building an optimizer from a config or restoring one from a checkpoint.
public enum OptimizerError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// `makeOptimizer` got a name it does not know.
    case unknownOptimizer(name: String, known: [String])
    /// A hyperparameter from a config is out of range.
    case invalidHyperparameter(optimizer: String, name: String, value: Float, requirement: String)
    /// A saved state holds some of a parameter's slots but not this one.
    case missingSlot(key: String)
    /// A saved slot's shape differs from its companion slot's or its parameter's.
    case slotShapeMismatch(key: String, expected: [Int], found: [Int])
    /// A saved slot names a parameter the model does not have.
    case unknownParameter(key: String)

    public var description: String {
        switch self {
        case let .unknownOptimizer(name, known):
            return "Unknown optimizer '\(name)'; choose one of \(known.joined(separator: ", "))."
        case let .invalidHyperparameter(optimizer, name, value, requirement):
            return "Optimizer \(optimizer): \(name) is \(value), but it must be \(requirement); fix it in the training config."
        case let .missingSlot(key):
            return "Optimizer state has no '\(key)' although it holds other slots of that parameter; "
                + "the checkpoint is incomplete — resume from another checkpoint or restart the optimizer."
        case let .slotShapeMismatch(key, expected, found):
            return "Optimizer state '\(key)' has shape \(found), but \(expected) was expected; "
                + "the checkpoint was written for a different model configuration."
        case let .unknownParameter(key):
            return "Optimizer state '\(key)' names a parameter this model does not have; "
                + "the checkpoint was written for a different model configuration."
        }
    }

    public var errorDescription: String? { description }
}
