import Foundation

/// xoshiro256** seeded through splitmix64: fast, small state, and its state can be saved in a checkpoint
/// so that a resumed run draws the same numbers as an uninterrupted one.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var s = seed
        func splitmix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// Restores a generator from `stateWords` (four words, as returned by `stateWords`).
    public init(stateWords: [UInt64]) {
        precondition(stateWords.count == 4, "RandomGenerator state has 4 words, but \(stateWords.count) were given.")
        state = (stateWords[0], stateWords[1], stateWords[2], stateWords[3])
    }

    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public static func == (a: RandomGenerator, b: RandomGenerator) -> Bool { a.stateWords == b.stateWords }

    @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = RandomGenerator.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = RandomGenerator.rotl(state.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits (exactly representable as Float).
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniformDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Standard normal by Box–Muller (one value per call; simple and reproducible).
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextUniformDouble(), 1e-300)
        let u2 = nextUniformDouble()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Uniform integer in `0..<upperBound`.
    public mutating func nextInt(below upperBound: Int) -> Int {
        Int(next(upperBound: UInt64(upperBound)))
    }
}

extension Tensor {
    /// Elements drawn uniformly from `[-limit, limit)`.
    public static func uniform(_ shape: [Int], limit: Float, rng: inout RandomGenerator) -> Tensor {
        var t = Tensor(zeros: shape)
        for i in 0..<t.count { t.storage[i] = (2 * rng.nextUniform() - 1) * limit }
        return t
    }

    /// Elements drawn from `N(0, std²)`.
    public static func gaussian(_ shape: [Int], std: Float, rng: inout RandomGenerator) -> Tensor {
        var t = Tensor(zeros: shape)
        for i in 0..<t.count { t.storage[i] = rng.nextGaussian() * std }
        return t
    }
}
