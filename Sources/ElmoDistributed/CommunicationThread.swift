import _CMPI
import ElmoOptim
import ElmoTensor
import Foundation

/// The one thread that makes a training step's MPI calls while the main thread runs backward: it all-reduces the
/// global target count and loss, then each gradient bucket as soon as backward has finished it, in bucket order,
/// several in flight at once.
///
/// Why a thread: OpenMPI moves a non-blocking collective forward only inside MPI calls (it has no progress thread of
/// its own), so `MPI_Iallreduce` issued from the compute thread would sit still until the next call. Why polling
/// with short sleeps rather than a blocking `MPI_Allreduce`: OpenMPI waits by spinning, which would take the core
/// the compute thread needs (one rank per core). Every rank issues the buckets in the same fixed order, whatever
/// order its backward finishes them in (the two LSTM stacks may run concurrently), as collectives require. MPI is
/// initialised `MPI_THREAD_SERIALIZED`: between steps this thread waits outside MPI, so the main thread may call MPI
/// there (init, abort, finalize).
final class CommunicationThread {
    private struct Step {
        let gradients: GradientBuffer
        let loss: Double
        let targetCount: Int
        let stopRequested: Bool
    }

    private let rank: Int
    /// Between two `MPI_Test` calls: short next to a step (tenths of a second), long enough to cost little CPU.
    private static let pollInterval: useconds_t = 100

    /// Where the buckets are summed: memory of this thread's own, so its address stays put while MPI works on it.
    private var buffer = PinnedGradients(count: 0)

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var step: Step?
    private var ready: [Bool] = []
    private var outcome: Result<ReducedStep, Error>?

    init(rank: Int) {
        self.rank = rank
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "elmo-mpi-communication"
        thread.start()
    }

    func start(_ gradients: GradientBuffer, loss: Double, targetCount: Int, stopRequested: Bool) {
        condition.lock()
        defer { condition.unlock() }
        precondition(step == nil && outcome == nil, "CommunicationThread.start: the previous step was not finished.")
        ready = Array(repeating: false, count: gradients.buckets.count)
        step = Step(gradients: gradients, loss: loss, targetCount: targetCount, stopRequested: stopRequested)
        condition.broadcast()
    }

    func bucketFinal(_ index: Int) {
        condition.lock()
        defer { condition.unlock() }
        ready[index] = true
        condition.broadcast()
    }

    /// Waits until every bucket is reduced; the global mean loss and whether any rank asked to stop.
    func finish() throws -> ReducedStep {
        condition.lock()
        defer { condition.unlock() }
        precondition(step != nil || outcome != nil, "CommunicationThread.finish without start.")
        while outcome == nil { condition.wait() }
        let result = outcome!
        outcome = nil
        return try result.get()
    }

    private func serve() {
        while true {
            condition.lock()
            while step == nil || outcome != nil { condition.wait() }
            let current = step!
            condition.unlock()
            let result = Result { try reduce(current) }
            condition.lock()
            step = nil
            outcome = result
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Whether backward has finished bucket `index`: waits for it, for at most one poll interval when `polling` (other
    /// all-reduces are in flight and need `MPI_Test` calls to move), else until it is.
    private func isFinal(_ index: Int, polling: Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if polling {
            if !ready[index] { _ = condition.wait(until: Date(timeIntervalSinceNow: Double(Self.pollInterval) / 1e6)) }
        } else {
            while !ready[index] { condition.wait() }
        }
        return ready[index]
    }

    /// A bucket's all-reduce in flight.
    private struct InFlight {
        let bucket: Int
        var request: UnsafeMutableRawPointer?
    }

    /// What `MPIReducer.reduce` computes, bucket by bucket: each rank's mean weighted by its share of the targets.
    /// A bucket's all-reduce starts as soon as backward has finished it, while the earlier ones may still be in
    /// flight, so the link stays busy however the buckets' sizes and the ranks' timing fall; every rank starts them
    /// in the same order, as MPI requires of collectives.
    private func reduce(_ step: Step) throws -> ReducedStep {
        var totals = [Double(step.targetCount), step.loss * Double(step.targetCount), step.stopRequested ? 1 : 0]
        try totals.withUnsafeMutableBufferPointer { totals in
            var request: UnsafeMutableRawPointer?
            try check(elmo_mpi_iallreduce_sum_double(totals.baseAddress!, 3, &request), "MPI_Iallreduce (target counts)")
            while !(try poll(&request)) { usleep(Self.pollInterval) }
        }
        let weight = Float(Double(step.targetCount) / max(totals[0], 1))
        let gradients = step.gradients
        if buffer.count != gradients.totalCount { buffer = PinnedGradients(count: gradients.totalCount) }
        var inFlight: [InFlight] = []
        // Tests every all-reduce in flight once (MPI moves them forward only inside such calls) and hands each
        // finished bucket's sums back to its parameters.
        func progress() throws {
            for i in inFlight.indices.reversed() where try poll(&inFlight[i].request) {
                buffer.scatter(gradients.buckets[inFlight[i].bucket], to: gradients)
                inFlight.remove(at: i)
            }
        }
        for index in gradients.buckets.indices {
            while !isFinal(index, polling: !inFlight.isEmpty) { try progress() }
            let members = gradients.buckets[index], elements = gradients.elements(ofBucket: index)
            guard !elements.isEmpty else { continue }
            precondition(elements.count <= Int(Int32.max), "a gradient bucket of \(elements.count) elements is too large for one MPI call.")
            // Scaled while copied: the same elements times the same weight as scaling the gathered buffer (the
            // blocking path), so the sums are bitwise those.
            buffer.gather(members, of: gradients, scaledBy: weight)
            var request: UnsafeMutableRawPointer?
            try check(elmo_mpi_iallreduce_sum_float(buffer.start + elements.lowerBound, Int32(elements.count), &request),
                      "MPI_Iallreduce (gradients)")
            inFlight.append(InFlight(bucket: index, request: request))
            try progress()
        }
        while !inFlight.isEmpty {
            usleep(Self.pollInterval)
            try progress()
        }
        return ReducedStep(loss: totals[1] / max(totals[0], 1), stop: totals[2] > 0)
    }

    /// One `MPI_Test` of `request`: whether it has completed.
    private func poll(_ request: inout UnsafeMutableRawPointer?) throws -> Bool {
        var done: Int32 = 0
        try check(elmo_mpi_test(&request, &done), "MPI_Test")
        return done != 0
    }

    private func check(_ code: Int32, _ call: String) throws {
        guard code == 0 else { throw DistributedError.callFailed(call: call, code: code, rank: rank) }
    }
}
