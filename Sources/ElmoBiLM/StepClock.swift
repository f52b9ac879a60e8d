import Foundation

/// Where a training step's wall time goes, summed over the steps since the last train record: communication is the
/// time inside the gradient reducer (the all-reduce, including waiting for the slowest rank), compute all the rest of
/// the step (forward, backward, clipping, the optimizer). The scaling benchmark reads the two from `metrics.jsonl`.
/// It also sums the process's CPU time (all threads) over the steps: on a machine shared with other work, wall time
/// says how much CPU this process got, CPU time how much it needed, which is what decides how N ranks scale.
struct StepClock {
    private(set) var computeSeconds = 0.0
    private(set) var communicationSeconds = 0.0
    private(set) var cpuSeconds = 0.0
    private var mark = DispatchTime.now().uptimeNanoseconds
    private var cpuMark = StepClock.processCPUSeconds()

    /// Starts timing a step.
    mutating func start() {
        mark = DispatchTime.now().uptimeNanoseconds
        cpuMark = StepClock.processCPUSeconds()
    }

    /// Ends a step (after its last lap): adds the CPU time it took.
    mutating func stop() {
        cpuSeconds += StepClock.processCPUSeconds() - cpuMark
    }

    private static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

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
                                     "comm_s": communicationSeconds / Double(max(steps, 1)),
                                     "cpu_s": cpuSeconds / Double(max(steps, 1))]
        computeSeconds = 0
        communicationSeconds = 0
        cpuSeconds = 0
        return fields
    }
}
