import Foundation

/// Slanted triangular learning rate (Howard & Ruder 2018, ULMFiT, eq. 3): a short linear warm-up over the
/// first `cutFraction` of training, then a long linear decay, from `maxRate / ratio` up to `maxRate` and back.
///
///     cut = ⌊T · cutFraction⌋,  p = t < cut ? t / cut : 1 − (t − cut) / (T − cut)
///     rate = maxRate · (1 + p · (ratio − 1)) / ratio
///
/// (ULMFiT writes the decay denominator as cut · (1/cutFraction − 1), which is T − cut when T · cutFraction
/// is whole; T − cut also reaches the bottom exactly at the last step when it is not.)
public struct SlantedTriangular: Codable, Equatable, Sendable {
    public var maxRate: Float
    public var totalSteps: Int
    public var cutFraction: Float
    public var ratio: Float

    public init(maxRate: Float, totalSteps: Int, cutFraction: Float = 0.1, ratio: Float = 32) {
        precondition(totalSteps > 0 && cutFraction > 0 && cutFraction < 1 && ratio >= 1,
                     "SlantedTriangular needs totalSteps > 0, 0 < cutFraction < 1, ratio >= 1, but they are "
                        + "\(totalSteps), \(cutFraction), \(ratio).")
        self.maxRate = maxRate
        self.totalSteps = totalSteps
        self.cutFraction = cutFraction
        self.ratio = ratio
    }

    /// The rate for 0-based `step`; steps past `totalSteps` keep the final rate `maxRate / ratio`.
    public func rate(step: Int) -> Float {
        let t = Double(min(max(step, 0), totalSteps))
        let cut = max(Double(totalSteps) * Double(cutFraction), 1).rounded(.down)
        let p = t < cut ? t / cut : 1 - (t - cut) / max(Double(totalSteps) - cut, 1)
        return Float(Double(maxRate) * (1 + max(p, 0) * (Double(ratio) - 1)) / Double(ratio))
    }
}

/// Reduce-on-plateau (torch.optim.lr_scheduler.ReduceLROnPlateau, mode "min", relative threshold): when the
/// metric (e.g. validation loss) has not improved on the best value by more than `threshold` (relative) for
/// more than `patience` evaluations, the rate is multiplied by `factor` (never below `minimumRate`).
/// Codable so the trainer can keep it in `trainer.json`.
public struct ReduceOnPlateau: Codable, Equatable, Sendable {
    public private(set) var rate: Float
    public var factor: Float
    public var patience: Int
    public var threshold: Double
    public var minimumRate: Float
    public private(set) var best: Double = .infinity
    /// Evaluations since the last improvement.
    public private(set) var badEvaluations = 0

    public init(initialRate: Float, factor: Float = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                minimumRate: Float = 0) {
        precondition(factor > 0 && factor < 1 && patience >= 0,
                     "ReduceOnPlateau needs 0 < factor < 1 and patience >= 0, but they are \(factor) and \(patience).")
        rate = initialRate
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.minimumRate = minimumRate
    }

    /// Records one evaluation of a metric where lower is better and returns the (possibly reduced) rate.
    /// A NaN metric counts as no improvement.
    @discardableResult
    public mutating func update(metric: Double) -> Float {
        if metric < best * (1 - threshold) {
            best = metric
            badEvaluations = 0
        } else {
            badEvaluations += 1
        }
        if badEvaluations > patience {
            rate = max(rate * factor, minimumRate)
            badEvaluations = 0
        }
        return rate
    }
}

/// Discriminative fine-tuning scales (ULMFiT §3.2): layer l's rate is the next layer's divided by `factor`.
/// Returned bottom layer first, so `scales[layerCount - 1] == 1` and `scales[l] = factor^-(layerCount - 1 - l)`;
/// pass `scales[l]` as `learningRateScale` when stepping layer l's parameters.
public func discriminativeScales(layerCount: Int, factor: Float = 2.6) -> [Float] {
    precondition(layerCount >= 0 && factor > 0,
                 "discriminativeScales needs layerCount >= 0 and factor > 0, but they are \(layerCount) and \(factor).")
    return (0..<layerCount).map { Float(pow(Double(factor), -Double(layerCount - 1 - $0))) }
}
