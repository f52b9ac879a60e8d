import Foundation

/// Errors of data-parallel training under `mpirun`, each naming the cause and what to do.
public enum DistributedError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// Launched by `mpirun`, but OpenMPI's library could not be loaded.
    case libraryMissing(reason: String)
    /// An MPI call returned an error code.
    case callFailed(call: String, code: Int32, rank: Int)

    public var description: String {
        switch self {
        case let .libraryMissing(reason):
            return "this process was started by mpirun, but OpenMPI's libmpi.so.40 could not be loaded (\(reason)). "
                + "Install OpenMPI (Debian: apt-get install openmpi-bin), or run elmo without mpirun for one process."
        case let .callFailed(call, code, rank):
            return "rank \(rank): \(call) failed with MPI error code \(code)."
        }
    }

    public var errorDescription: String? { description }
}
