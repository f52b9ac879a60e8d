import _CMPI
import ElmoOptim
import ElmoTensor
import Foundation

/// The processes of one `mpirun` job, or this process alone.
///
/// OpenMPI is loaded at run time (dlopen of `libmpi.so.40`) and only when the environment says `mpirun` started this
/// process (`OMPI_COMM_WORLD_SIZE`), so the plain binary runs, and trains with world size 1, on a machine without MPI.
public enum MPIWorld {
    /// Set by OpenMPI's launcher in every rank's environment.
    static let launcherVariable = "OMPI_COMM_WORLD_SIZE"

    /// Whether this process was started by `mpirun` (or `mpiexec`).
    public static var launchedByMPIRun: Bool {
        ProcessInfo.processInfo.environment[launcherVariable] != nil
    }

    /// The gradient reducer for this process: one that all-reduces over MPI when started by `mpirun`, else the
    /// single-process one. Initialises MPI (once per process).
    public static func reducer() throws -> GradientReducer {
        guard launchedByMPIRun else { return SingleProcessReducer() }
        return try MPIReducer.shared()
    }
}

/// Sums the ranks' gradients with one in-place `MPI_Allreduce` over the contiguous buffer, each rank's mean first
/// weighted by its share of the global target count, so the result is the mean over every rank's targets; or the
/// same sums bucket by bucket during backward, on a `CommunicationThread` (the overlapping steps).
public final class MPIReducer: OverlappingGradientReducer {
    public let rank: Int
    public let worldSize: Int
    nonisolated(unsafe) private static var instance: MPIReducer?

    private init(rank: Int, worldSize: Int) {
        self.rank = rank
        self.worldSize = worldSize
    }

    /// Loads OpenMPI and calls MPI_Init the first time; the same reducer afterwards (MPI_Init may run only once).
    static func shared() throws -> MPIReducer {
        if let instance { return instance }
        var message = [CChar](repeating: 0, count: 512)
        guard elmo_mpi_load(&message, message.count) == 0 else {
            throw DistributedError.libraryMissing(reason: String(cString: message))
        }
        // Serialized: the communication thread makes a step's MPI calls, the main thread those between steps.
        var provided: Int32 = 0
        try check(elmo_mpi_init_serialized(&provided), "MPI_Init_thread", rank: -1)
        var rank: Int32 = 0, size: Int32 = 0
        try check(elmo_mpi_rank(&rank), "MPI_Comm_rank", rank: -1)
        try check(elmo_mpi_size(&size), "MPI_Comm_size", rank: Int(rank))
        let made = MPIReducer(rank: Int(rank), worldSize: Int(size))
        made.threadsSerialized = provided >= 2
        instance = made
        return made
    }

    private static func check(_ code: Int32, _ call: String, rank: Int) throws {
        guard code == 0 else { throw DistributedError.callFailed(call: call, code: code, rank: rank) }
    }

    public func reduce(_ gradients: GradientBuffer, loss: Double, targetCount: Int, stopRequested: Bool) throws -> ReducedStep {
        // Global target count, Σ loss·count and the number of ranks asking to stop in one small all-reduce, then the
        // weighted gradient sum in one big one.
        var totals = [Double(targetCount), loss * Double(targetCount), stopRequested ? 1 : 0]
        try MPIReducer.check(totals.withUnsafeMutableBufferPointer { elmo_mpi_allreduce_sum_double($0.baseAddress!, 3) },
                             "MPI_Allreduce (target counts)", rank: rank)
        let weight = Float(Double(targetCount) / max(totals[0], 1))
        gradients.gather()
        if weight != 1 { Backends.current.scale(&gradients.flat, by: weight) }
        let count = gradients.totalCount
        try MPIReducer.check(gradients.flat.withMutablePointer { elmo_mpi_allreduce_sum_float($0, count) },
                             "MPI_Allreduce (gradients)", rank: rank)
        gradients.scatter()
        return ReducedStep(loss: totals[1] / max(totals[0], 1), stop: totals[2] > 0)
    }

    public func gatherToRankZero(_ values: [Float]) throws -> [Float] {
        var gathered = [Float](repeating: 0, count: rank == 0 ? values.count * worldSize : 0)
        let code = values.withUnsafeBufferPointer { send in
            gathered.withUnsafeMutableBufferPointer { elmo_mpi_gather_float(send.baseAddress, Int32(values.count), $0.baseAddress, 0) }
        }
        try MPIReducer.check(code, "MPI_Gather", rank: rank)
        return gathered
    }

    public func broadcastFromRankZero(_ bytes: [UInt8]) throws -> [UInt8] {
        // The length first (as 8 bytes), so the other ranks can size their buffers.
        var length = withUnsafeBytes(of: Int64(bytes.count).littleEndian, Array.init)
        try MPIReducer.check(elmo_mpi_broadcast_bytes(&length, 8, 0), "MPI_Bcast (length)", rank: rank)
        let count = Int(Int64(littleEndian: length.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }))
        var received = rank == 0 ? bytes : [UInt8](repeating: 0, count: count)
        if count > 0 {
            try MPIReducer.check(received.withUnsafeMutableBytes { elmo_mpi_broadcast_bytes($0.baseAddress, count, 0) },
                                 "MPI_Bcast (checkpoint)", rank: rank)
        }
        return received
    }

    /// OpenMPI's launcher tells each rank how many ranks share its host (`OMPI_COMM_WORLD_LOCAL_SIZE`); all of them
    /// do on every rank or on none, so every rank chooses the same way of reducing (collectives must match).
    public var allRanksOnOneHost: Bool {
        Self.allRanksOnOneHost(environment: ProcessInfo.processInfo.environment, worldSize: worldSize)
    }

    static func allRanksOnOneHost(environment: [String: String], worldSize: Int) -> Bool {
        environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } == worldSize
    }

    /// Whether MPI granted MPI_THREAD_SERIALIZED; without it a step's all-reduce stays on the main thread, after backward.
    private var threadsSerialized = false
    /// Started by the first overlapping step.
    private var communication: CommunicationThread?
    /// A step's arguments while it runs without the communication thread.
    private var pendingStep: (gradients: GradientBuffer, loss: Double, targetCount: Int, stopRequested: Bool)?

    public func startStep(_ gradients: GradientBuffer, loss: Double, targetCount: Int, stopRequested: Bool) {
        guard threadsSerialized else {
            pendingStep = (gradients, loss, targetCount, stopRequested)
            return
        }
        if communication == nil { communication = CommunicationThread(rank: rank) }
        communication!.start(gradients, loss: loss, targetCount: targetCount, stopRequested: stopRequested)
    }

    public func bucketFinal(_ index: Int) {
        communication?.bucketFinal(index)
    }

    public func finishStep() throws -> ReducedStep {
        if let (gradients, loss, targetCount, stopRequested) = pendingStep {
            pendingStep = nil
            return try reduce(gradients, loss: loss, targetCount: targetCount, stopRequested: stopRequested)
        }
        return try communication!.finish()
    }

    /// Ends every rank of the job (a rank that cannot go on must not leave the others waiting in an all-reduce).
    public func abort(code: Int32) -> Never {
        _ = elmo_mpi_abort(code)
        exit(code)
    }

    public func finalize() {
        _ = elmo_mpi_finalize()
    }
}
