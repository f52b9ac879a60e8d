import Dispatch

/// Coarse two-way parallelism for independent halves of the work (e.g. the forward and the backward LM).
///
/// On few cores, two single-threaded halves beat one half at a time with multi-threaded gemms: the recurrent
/// products are small (32 rows), so BLAS threads mostly wait, spinning, while the gate math runs. Each half runs
/// with one BLAS thread; the results do not depend on whether the halves ran in parallel, so training stays
/// deterministic for any thread count.
public enum Parallel {
    /// Runs `first` and `second`, concurrently when at least two BLAS threads are configured.
    public static func both<A, B>(_ first: () -> A, _ second: () -> B) -> (A, B) {
        let threads = BLAS.threads
        guard threads >= 2 else { return (first(), second()) }
        BLAS.setThreads(1)
        defer { BLAS.setThreads(threads) }
        var a: A?
        var b: B?
        withoutActuallyEscaping(first) { first in
            withoutActuallyEscaping(second) { second in
                DispatchQueue.concurrentPerform(iterations: 2) { index in
                    if index == 0 { a = first() } else { b = second() }
                }
            }
        }
        return (a!, b!)
    }
}
