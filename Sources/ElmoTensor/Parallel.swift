import Dispatch

/// Coarse two-way parallelism for independent halves of the work (e.g. the forward and the backward LM).
///
/// On few cores, two single-threaded halves beat one half at a time with split gemms: the recurrent products are
/// small (32 rows) and the gate math between them is serial. Work inside the halves does not split again
/// (`BLAS.availableThreads` is 1 there); the results do not depend on whether the halves ran in parallel, so
/// training stays deterministic for any thread count.
public enum Parallel {
    /// Runs `first` and `second`, concurrently when two threads are available.
    public static func both<A, B>(_ first: () -> A, _ second: () -> B) -> (A, B) {
        guard BLAS.availableThreads >= 2 else { return (first(), second()) }
        BLAS.parallelDepth += 1
        defer { BLAS.parallelDepth -= 1 }
        return run(first, second)
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

extension Parallel {
    /// Runs `body(0) … body(count − 1)` concurrently (a backend's split of independent work, e.g. token halves).
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }
}
