/// A reproducible train / dev / test split: a Fisher–Yates shuffle driven by SplitMix64 from `seed`, then
/// consecutive slices of `round(n · train)` and `round(n · dev)` items, the rest being test (80/10/10 by
/// default). Integer-only random numbers, so the split is the same on every platform and Swift version
/// (the standard library's shuffle promises neither). ElmoText does not depend on ElmoTensor, hence its own
/// generator.
public enum DatasetSplit {
    public static func split<T>(_ items: [T], seed: UInt64,
                                fractions: (train: Double, dev: Double) = (0.8, 0.1))
        -> (train: [T], dev: [T], test: [T]) {
        precondition(fractions.train >= 0 && fractions.dev >= 0 && fractions.train + fractions.dev <= 1,
                     "Split fractions must be non-negative with train + dev <= 1, "
                     + "got train \(fractions.train), dev \(fractions.dev).")
        let shuffledItems = shuffled(items, seed: seed)
        let trainCount = Int((Double(items.count) * fractions.train).rounded())
        let devCount = min(Int((Double(items.count) * fractions.dev).rounded()), items.count - trainCount)
        return (Array(shuffledItems[..<trainCount]),
                Array(shuffledItems[trainCount..<(trainCount + devCount)]),
                Array(shuffledItems[(trainCount + devCount)...]))
    }

    /// `items` in a seed-determined order (Fisher–Yates, unbiased bounded draws).
    public static func shuffled<T>(_ items: [T], seed: UInt64) -> [T] {
        var result = items
        var generator = SplitMix64(seed: seed)
        var index = result.count - 1
        while index > 0 {
            result.swapAt(index, Int(generator.next(below: UInt64(index + 1))))
            index -= 1
        }
        return result
    }
}
