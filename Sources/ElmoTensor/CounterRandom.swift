/// A counter-based random source: every number is a pure function of a key and a counter, so any element of a
/// draw can be computed by whoever needs it, in any order, without the state a sequential generator carries.
///
/// Data-parallel training needs this: the dropout mask of a global row must be the same whichever rank holds the row
/// and however many ranks there are, which a sequential generator (its numbers depend on everything drawn before)
/// cannot give. Keys are built by folding values in (`derived`), e.g. seed → step → direction → site → row, and a
/// number is SplitMix64's output function at key + counter·γ (SplitMix64 is itself counter-based: its n-th output is
/// this function of seed + n·γ, and it passes BigCrush).
public struct CounterRandom: Sendable, Equatable {
    public let key: UInt64

    public init(key: UInt64) {
        self.key = key
    }

    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always) static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The key with `value` folded in: distinct values give unrelated streams (mixing twice keeps keys that differ
    /// in one low bit, such as consecutive steps or rows, from giving streams that are shifts of each other).
    public func derived(_ value: UInt64) -> CounterRandom {
        CounterRandom(key: Self.mix(Self.mix(key &+ Self.gamma) ^ Self.mix(value &* Self.gamma &+ 0x632B_E59B_D9B4_E019)))
    }

    public func derived(_ value: Int) -> CounterRandom { derived(UInt64(bitPattern: Int64(value))) }

    /// The 64-bit number at `counter`.
    @inline(__always) public func word(at counter: Int) -> UInt64 {
        Self.mix(key &+ (UInt64(bitPattern: Int64(counter)) &+ 1) &* Self.gamma)
    }

    /// Uniform in [0, 1) with 24 random bits (exactly representable as Float), like `RandomGenerator.nextUniform`.
    @inline(__always) public func uniform(at counter: Int) -> Float {
        Float(word(at: counter) >> 40) * (1.0 / 16_777_216.0)
    }

    /// A sequential generator seeded from this key, for a draw whose size is not known in advance (e.g. rejection
    /// sampling of unique ids), where every party needing it draws the whole of it.
    public func generator() -> RandomGenerator {
        RandomGenerator(seed: word(at: 0))
    }
}
