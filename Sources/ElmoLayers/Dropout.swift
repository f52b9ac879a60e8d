import ElmoTensor

/// Inverted dropout: `y = x · m / (1 − p)` with `m ~ Bernoulli(1 − p)` per element while training.
///
/// Scaling at training time (not at test time) keeps `E[y] = x`, so evaluation is the identity.
/// Any shape. The mask is drawn from the caller's `RandomGenerator`, so a run is reproducible from its
/// seed (and a resumed run continues the same stream). Not a `Layer`: it has no parameters.
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

    /// dy (shape of x) → dx = dy · mask (or dy itself when dropout was inactive).
    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        if cache.mask.isEmpty { return dy }
        precondition(cache.mask.count == dy.count, "Dropout backward got dy \(dy.shape) for a mask of \(cache.mask.count) elements.")
        var dx = dy
        Backends.current.multiply(&dx, byMask: Tensor(shape: dy.shape, scalars: cache.mask))
        return dx
    }
}
