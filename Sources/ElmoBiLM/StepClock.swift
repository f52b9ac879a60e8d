import Foundation

/// Where a training step's wall time goes, summed over the steps since the last train record: communication is the
/// time inside the gradient reducer (the all-reduce, including waiting for the slowest rank), compute all the rest of
/// the step (forward, backward, clipping, the optimizer). The scaling benchmark reads the two from `metrics.jsonl`.
struct StepClock {
    private(set) var computeSeconds = 0.0
    private(set) var communicationSeconds = 0.0
    private var mark = DispatchTime.now().uptimeNanoseconds

    /// Starts timing a step.
    mutating func start() { mark = DispatchTime.now().uptimeNanoseconds }

    /// Adds the time since the last mark to compute (`communication` false) or communication, and moves the mark.
    mutating func lap(communication: Bool) {
        let now = DispatchTime.now().uptimeNanoseconds
        let seconds = Double(now - mark) / 1e9
        if communication { communicationSeconds += seconds } else { computeSeconds += seconds }
        mark = now
    }

    /// The record fields: mean seconds per step of each, over `steps` steps; then starts the next interval.
    mutating func takeRecordFields(steps: Int) -> [String: Any] {
        let fields: [String: Any] = ["compute_s": computeSeconds / Double(max(steps, 1)),
                                     "comm_s": communicationSeconds / Double(max(steps, 1))]
        computeSeconds = 0
        communicationSeconds = 0
        return fields
    }
}
