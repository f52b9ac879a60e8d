import _CMPI
import ElmoOptim
import Foundation

extension MPIReducer {
    /// Every rank's report, index = rank (two all-gathers: the lengths, then the JSON bytes).
    func gatherReports(_ report: RankReport) throws -> [RankReport] {
        let mine = [UInt8](try JSONEncoder().encode(report))
        var counts = [Int32](repeating: 0, count: worldSize)
        try check(counts.withUnsafeMutableBufferPointer { elmo_mpi_allgather_int(Int32(mine.count), $0.baseAddress!) },
                  "MPI_Allgather (report sizes)")
        var offsets = [Int32](repeating: 0, count: worldSize)
        for index in counts.indices.dropFirst() { offsets[index] = offsets[index - 1] + counts[index - 1] }
        var all = [UInt8](repeating: 0, count: Int(counts.reduce(0, +)))
        try check(all.withUnsafeMutableBytes { buffer in
            elmo_mpi_allgatherv_bytes(mine, Int32(mine.count), buffer.baseAddress!, counts, offsets)
        }, "MPI_Allgatherv (reports)")
        return try counts.indices.map { index in
            let start = Int(offsets[index])
            return try JSONDecoder().decode(RankReport.self, from: Data(all[start ..< start + Int(counts[index])]))
        }
    }

    /// Throws `RankDisagreement` on every rank (so all exit together, none waits in an all-reduce) when a rank failed
    /// or the ranks' items differ.
    public func requireAgreement(_ report: RankReport) throws {
        if let problem = RankReport.disagreement(try gatherReports(report)) {
            throw RankDisagreement(message: problem, rank: rank)
        }
    }

    private func check(_ code: Int32, _ call: String) throws {
        guard code == 0 else { throw DistributedError.callFailed(call: call, code: code, rank: rank) }
    }
}
