import Dispatch

/// Coarse two-way parallelism for independent halves of the work (e.g. the forward and the backward LM).
///
/// On few cores, two single-threaded halves beat one half at a time with multi-threaded gemms: the recurrent
/// products are small (32 rows), so BLAS threads mostly wait, spinning, while the gate math runs. Each half runs
/// with one BLAS thread; the results do not depend on whether the halves ran in parallel, so training stays
/// deterministic for any thread count.
public enum Parallel {
    /// Runs `first` and `second`, concurrently when the thread budget is at least two.
    public static func both<A, B>(_ first: () -> A, _ second: () -> B) -> (A, B) {
        guard BLAS.threads >= 2 else { return (first(), second()) }
        return BLAS.withBLASThreads(1) { run(first, second) }
    }

    private static func run<A, B>(_ first: () -> A, _ second: () -> B) -> (A, B) {
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
