@testable import ElmoDistributed
import ElmoOptim
import ElmoTensor
import XCTest

/// Without mpirun, elmo is one process and never loads MPI.
final class MPIWorldTests: XCTestCase {
    func testOneProcessWithoutMPIRun() throws {
        try XCTSkipIf(MPIWorld.launchedByMPIRun, "this test process itself runs under mpirun")
        let reducer = try MPIWorld.reducer()
        XCTAssertTrue(reducer is SingleProcessReducer)
        XCTAssertEqual([reducer.rank, reducer.worldSize], [0, 1])
    }

    func testSingleProcessReducerChangesNothing() throws {
        let parameter = Parameter(name: "w", value: Tensor(zeros: [3]))
        parameter.gradient = Tensor(shape: [3], scalars: [1, -2, 3])
        let reducer = SingleProcessReducer()
        let step = try reducer.reduce(GradientBuffer(parameters: [parameter]), loss: 4.25, targetCount: 6, stopRequested: true)
        XCTAssertEqual(step, ReducedStep(loss: 4.25, stop: true))
        XCTAssertEqual(parameter.gradient.scalars, [1, -2, 3])
        XCTAssertEqual(try reducer.gatherToRankZero([1, 2]), [1, 2])
        XCTAssertEqual(try reducer.broadcastFromRankZero([7, 8, 9]), [7, 8, 9])
    }

    /// The reduction overlaps backward only when the ranks span hosts; OpenMPI's launcher says how many share each.
    func testRanksOnOneHostFromTheLaunchersLocalSize() {
        XCTAssertTrue(MPIReducer.allRanksOnOneHost(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "2"], worldSize: 2))
        XCTAssertFalse(MPIReducer.allRanksOnOneHost(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "1"], worldSize: 2))
        XCTAssertFalse(MPIReducer.allRanksOnOneHost(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "2"], worldSize: 4))
        XCTAssertFalse(MPIReducer.allRanksOnOneHost(environment: [:], worldSize: 2))
    }

    func testMissingLibraryMessageSaysWhatToDo() {
        let message = "\(DistributedError.libraryMissing(reason: "libmpi.so.40: cannot open shared object file"))"
        XCTAssertTrue(message.contains("libmpi.so.40") && message.contains("openmpi-bin") && message.contains("without mpirun"), message)
    }
}
