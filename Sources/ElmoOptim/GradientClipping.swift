import ElmoTensor

/// Gradient clipping by the global norm over all parameters (torch.nn.utils.clip_grad_norm_, bilm-tf's
/// `clip_by_global_norm`): one scale for every gradient keeps the update direction.
public enum GradientClipping {
    /// total = √(Σ‖g‖²) over `parameters` (Double accumulation); if total > maxNorm, every gradient is scaled
    /// by maxNorm / (total + 1e-6) (torch's 1e-6 keeps the scale finite). Returns the total before clipping;
    /// a non-finite total (a NaN or infinite gradient) is returned as is and the gradients are left alone,
    /// so the caller can skip the step.
    @discardableResult
    public static func clipGlobalNorm(_ parameters: [Parameter], maxNorm: Float) -> Double {
        precondition(maxNorm > 0, "clipGlobalNorm needs maxNorm > 0, but it is \(maxNorm).")
        let backend = Backends.current
        var sumOfSquares: Double = 0
        for parameter in parameters { sumOfSquares += backend.sumOfSquares(parameter.gradient) }
        let total = sumOfSquares.squareRoot()
        guard total.isFinite, total > Double(maxNorm) else { return total }
        let factor = Float(Double(maxNorm) / (total + 1e-6))
        for parameter in parameters { backend.scale(&parameter.gradient, by: factor) }
        return total
    }
}
