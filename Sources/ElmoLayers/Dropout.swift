import ElmoTensor

/// Inverted dropout: `y = x · m / (1 − p)` with `m ~ Bernoulli(1 − p)` per element while training.
///
/// Scaling at training time (not at test time) keeps `E[y] = x`, so evaluation is the identity.
/// Any shape. The mask is drawn from the caller's `RandomGenerator`, so a run is reproducible from its
/// seed (and a resumed run continues the same stream), or per row from a `CounterRandom` key (data-parallel
/// pre-training). Not a `Layer`: it has no parameters.
public struct Dropout {
    /// Probability p of zeroing an element, in `[0, 1)`.
    public let probability: Float

    public init(probability: Float) {
        precondition(probability >= 0 && probability < 1, "Dropout probability must be in [0, 1), but is \(probability).")
        self.probability = probability
    }

    /// What backward reads: the scaled keep-mask (`0` or `1 / (1 − p)` per element), empty when dropout was
    /// inactive (not training, or p = 0) so that backward passes the gradient through unchanged.
    public struct Cache {
        public var mask: [Float] = []
        public init() {}
    }

    /// Where the masks of a forward pass come from.
    public enum MaskSource: Sendable {
        /// The caller's sequential generator.
        case generator
        /// Per row from a counter-based key (`forward(_:training:rows:firstRow:cache:)`).
        case rows(CounterRandom, firstRow: Int)

        /// The source for dropout site `site` of a layer with several (each site gets its own key).
        public func site(_ site: Int) -> MaskSource {
            switch self {
            case .generator: return .generator
            case let .rows(key, firstRow): return .rows(key.derived(site), firstRow: firstRow)
            }
        }
    }

    /// x → y with the mask from `source` (`rng` is read only for `.generator`).
    public func forward(_ x: Tensor, training: Bool, source: MaskSource, rng: inout RandomGenerator, cache: inout Cache) -> Tensor {
        switch source {
        case .generator: return forward(x, training: training, rng: &rng, cache: &cache)
        case let .rows(key, firstRow): return forward(x, training: training, rows: key, firstRow: firstRow, cache: &cache)
        }
    }

    /// x (any shape) → y (same shape). Draws one uniform number per element when active.
    public func forward(_ x: Tensor, training: Bool, rng: inout RandomGenerator, cache: inout Cache) -> Tensor {
        guard training && probability > 0 && x.count > 0 else {
            cache.mask = []
            return x
        }
        let keep = 1 / (1 - probability)
        var mask = [Float](repeating: 0, count: x.count)
        for i in 0..<mask.count where rng.nextUniform() >= probability { mask[i] = keep }
        var y = x
        Backends.current.multiply(&y, byMask: Tensor(shape: x.shape, scalars: mask))
        cache.mask = mask
        return y
    }

    /// x `[R, …]` → y (same shape), the mask drawn per row: element i of row r keeps iff
    /// `rows.derived(firstRow + r).uniform(at: i) ≥ p`. Row r of x is row `firstRow + r` of a larger batch split over
    /// processes, so each row's mask depends only on its global index, not on which process holds it.
    public func forward(_ x: Tensor, training: Bool, rows: CounterRandom, firstRow: Int, cache: inout Cache) -> Tensor {
        guard training && probability > 0 && x.count > 0 else {
            cache.mask = []
            return x
        }
        let keep = 1 / (1 - probability)
        let rowCount = x.shape[0], rowLength = x.count / rowCount
        var mask = [Float](repeating: 0, count: x.count)
        for r in 0..<rowCount {
            let row = rows.derived(firstRow + r), start = r * rowLength
            for i in 0..<rowLength where row.uniform(at: i) >= probability { mask[start + i] = keep }
        }
        var y = x
        Backends.current.multiply(&y, byMask: Tensor(shape: x.shape, scalars: mask))
        cache.mask = mask
        return y
    }

    /// dy (shape of x) → dx = dy · mask (or dy itself when dropout was inactive).
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        if cache.mask.isEmpty { return dy }
        precondition(cache.mask.count == dy.count, "Dropout backward got dy \(dy.shape) for a mask of \(cache.mask.count) elements.")
        var dx = dy
        Backends.current.multiply(&dx, byMask: Tensor(shape: dy.shape, scalars: cache.mask))
        return dx
    }
}
