import ElmoTensor

/// Linear-chain conditional random field over K tags (AllenNLP's `ConditionalRandomField`, Lample et al. 2016):
///
///     score(y) = start[y₀] + Σ_t emissions[t, y_t] + Σ_{t≥1} transitions[y_{t−1}, y_t] + end[y_{L−1}]
///     NLL(y)   = log Z − score(y),   log Z = log Σ_{y'} exp score(y')   (forward algorithm)
///
/// B batch, T time (padded), K = `tagCount`; sentence b uses its first `lengths[b]` steps and ignores the rest.
/// `transitions` is `[K, K]` from → to (AllenNLP's layout), `startTransitions` and `endTransitions` are `[K]`.
///
/// The forward–backward and Viterbi recursions run in the backend, in Double (`Backend.crfNegativeLogLikelihood`,
/// `crfBackward`, `crfViterbi`).
public final class CRF: Layer {
    public let tagCount: Int
    /// `[K, K]`, `transitions[i, j]` scores tag i followed by tag j.
    public let transitions: Parameter
    /// `[K]`, score of a sentence starting with each tag.
    public let startTransitions: Parameter
    /// `[K]`, score of a sentence ending with each tag.
    public let endTransitions: Parameter

    /// Uniform ±0.1 init: small like AllenNLP's, and symmetric so no tag pair is preferred before training.
    public init(tagCount: Int, name: String, rng: inout RandomGenerator) {
        precondition(tagCount >= 1, "CRF needs at least one tag, but tagCount is \(tagCount).")
        self.tagCount = tagCount
        transitions = Parameter(name: "\(name)/transitions", value: .uniform([tagCount, tagCount], limit: 0.1, rng: &rng))
        startTransitions = Parameter(name: "\(name)/start_transitions", value: .uniform([tagCount], limit: 0.1, rng: &rng))
        endTransitions = Parameter(name: "\(name)/end_transitions", value: .uniform([tagCount], limit: 0.1, rng: &rng))
    }

    public var parameters: [Parameter] { [transitions, startTransitions, endTransitions] }

    /// What backward reads: the inputs, the forward log-scores α and log Z per sentence.
    public struct Cache {
        public internal(set) var emissions = Tensor(zeros: [0])
        var tags: [Int32] = []
        public internal(set) var lengths: [Int] = []
        /// α `[B, T, K]` (emission included) and log Z `[B]` of each sentence.
        var forward = CRFForwardResult(total: 0, alphas: [], logPartitions: [])
        /// `[B]`: log Z of each sentence.
        public var logPartitions: [Double] { forward.logPartitions }
        public init() {}
    }

    /// emissions `[B, T, K]`, tags `[B, T]` flattened (entries beyond a sentence's length ignored), lengths `[B]`
    /// (1...T) → Σ over sentences of NLL.
    public func negativeLogLikelihood(emissions: Tensor, tags: [Int32], lengths: [Int], cache: inout Cache) -> Double {
        let (B, T, K) = checkShapes(emissions, lengths)
        precondition(tags.count == B * T, "CRF tags hold \(tags.count) entries, but emissions \(emissions.shape) need \(B * T).")
        for b in 0..<B {
            for t in 0..<lengths[b] {
                let tag = tags[b * T + t]
                precondition(tag >= 0 && Int(tag) < K, "CRF tag \(tag) at sentence \(b), step \(t) is outside 0..<\(K).")
            }
        }
        let result = Backends.current.crfNegativeLogLikelihood(emissions: emissions, tags: tags, lengths: lengths,
                                                               transitions: transitions.value, start: startTransitions.value,
                                                               end: endTransitions.value)
        cache.emissions = emissions
        cache.tags = tags
        cache.lengths = lengths
        cache.forward = result
        return result.total
    }

    /// Gradient of `scale · Σ NLL` (forward–backward marginals minus gold indicator counts): returns dEmissions
    /// `[B, T, K]` (zero at padding) and accumulates into the three parameters' gradients.
    public func backward(scale: Float, cache: Cache) -> Tensor {
        let emissions = cache.emissions, lengths = cache.lengths, tags = cache.tags
        _ = checkShapes(emissions, lengths)
        return Backends.current.crfBackward(emissions: emissions, tags: tags, lengths: lengths, forward: cache.forward,
                                            transitions: transitions.value, start: startTransitions.value,
                                            end: endTransitions.value, scale: scale,
                                            transitionsGradient: &transitions.gradient, startGradient: &startTransitions.gradient,
                                            endGradient: &endTransitions.gradient)
    }

    /// emissions `[B, T, K]`, lengths `[B]` → the highest-scoring tag sequence of each sentence (Viterbi), of
    /// length `lengths[b]`. With `constraints`, forbidden starts, transitions and ends are never chosen, however
    /// strongly the emissions favour them; the constraints must allow at least one sequence of each length.
    /// Ties go to the lower tag index.
    public func viterbi(emissions: Tensor, lengths: [Int], constraints: CRFConstraints? = nil) -> [[Int32]] {
        let K = checkShapes(emissions, lengths).2
        if let constraints {
            precondition(constraints.allowed.count == K && constraints.allowed.allSatisfy({ $0.count == K })
                         && constraints.allowedStart.count == K && constraints.allowedEnd.count == K,
                         "CRF constraints must be [\(K)][\(K)] plus \(K) start and \(K) end flags, but are "
                            + "\(constraints.allowed.count) rows, \(constraints.allowedStart.count) starts, \(constraints.allowedEnd.count) ends.")
        }
        // Forbidden starts, transitions and ends score −∞, so no path through them can win.
        let scores = transitions.value.scalars.map(Double.init)
        var decode = scores, start = startTransitions.value.scalars.map(Double.init), end = endTransitions.value.scalars.map(Double.init)
        if let constraints {
            for i in 0..<K {
                for j in 0..<K where !constraints.allowed[i][j] { decode[i * K + j] = -.infinity }
                if !constraints.allowedStart[i] { start[i] = -.infinity }
                if !constraints.allowedEnd[i] { end[i] = -.infinity }
            }
        }
        let paths = Backends.current.crfViterbi(emissions: emissions, lengths: lengths, transitions: decode, start: start, end: end)
        return paths.enumerated().map { b, path in
            guard let path else { preconditionFailure("CRF constraints allow no tag sequence of length \(lengths[b]) (sentence \(b)).") }
            return path
        }
    }

    // MARK: - Helpers

    private func checkShapes(_ emissions: Tensor, _ lengths: [Int]) -> (Int, Int, Int) {
        precondition(emissions.shape.count == 3 && emissions.shape[2] == tagCount,
                     "CRF expects emissions [B, T, \(tagCount)], but they have shape \(emissions.shape).")
        let (B, T) = (emissions.shape[0], emissions.shape[1])
        precondition(lengths.count == B, "CRF got \(lengths.count) lengths for a batch of \(B).")
        for (b, L) in lengths.enumerated() {
            precondition(L >= 1 && L <= T, "CRF sentence \(b) has length \(L), outside 1...\(T).")
        }
        return (B, T, tagCount)
    }
}

/// Which tag sequences Viterbi may return: `allowed[i][j]` permits tag i followed by tag j, `allowedStart[j]`
/// and `allowedEnd[j]` permit a sentence to start or end with tag j (e.g. BIO: no `I-X` after `O`).
public struct CRFConstraints: Equatable, Sendable {
    public var allowed: [[Bool]]
    public var allowedStart: [Bool]
    public var allowedEnd: [Bool]

    public init(allowed: [[Bool]], allowedStart: [Bool], allowedEnd: [Bool]) {
        self.allowed = allowed
        self.allowedStart = allowedStart
        self.allowedEnd = allowedEnd
    }

    /// BIO constraints for `labels` (AllenNLP's `allowed_transitions("BIO", …)`): `I-X` may only follow `B-X` or
    /// `I-X` and may not start a sentence; labels without a `B-`/`I-` prefix (e.g. `O`) are unconstrained.
    public static func bio(labels: [String]) -> CRFConstraints {
        func split(_ label: String) -> (prefix: Character?, type: Substring) {
            if label.count >= 2, let first = label.first, first == "B" || first == "I",
               label[label.index(after: label.startIndex)] == "-" {
                return (first, label.dropFirst(2))
            }
            return (nil, Substring(label))
        }
        let parts = labels.map(split)
        let allowed = parts.map { from in
            parts.map { to in to.prefix != "I" || (from.prefix != nil && from.type == to.type) }
        }
        return CRFConstraints(allowed: allowed, allowedStart: parts.map { $0.prefix != "I" },
                              allowedEnd: [Bool](repeating: true, count: labels.count))
    }
}
