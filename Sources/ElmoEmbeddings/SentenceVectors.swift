import ElmoTensor

/// How `elmo embed --pooling` (and `elmo serve`'s `"pooling"`) turns a sentence's token vectors into one vector.
public enum SentencePooling: String, CaseIterable, Sendable {
    /// One vector per token (no pooling).
    case none
    /// The mean over the sentence's tokens.
    case mean
    /// The element-wise max over the sentence's tokens.
    case max

    /// Pools over the token axis, the second to last: `[n, D]` → `[D]`, `[K, n, D]` → `[K, D]` (each layer on its
    /// own). `none` returns `x` unchanged. The sentence must have a token.
    public func pool(_ x: Tensor) -> Tensor {
        guard self != .none else { return x }
        precondition(x.shape.count >= 2 && x.shape[x.shape.count - 2] >= 1,
                     "SentencePooling.pool needs [..., n, D] with n >= 1, but got \(x.shape).")
        let n = x.shape[x.shape.count - 2], d = x.shape[x.shape.count - 1]
        let groups = x.count / (n * d)
        var out = Tensor(zeros: Array(x.shape.dropLast(2)) + [d])
        x.withPointer { px in
            out.withMutablePointer { po in
                for g in 0..<groups {
                    let src = px + g * n * d, dst = po + g * d
                    switch self {
                    case .mean:
                        for t in 0..<n { Kernels.axpy(1 / Float(n), src + t * d, dst, d) }
                    case .max:
                        dst.update(from: src, count: d)
                        for t in 1..<n { for j in 0..<d { dst[j] = Swift.max(dst[j], src[t * d + j]) } }
                    case .none:
                        preconditionFailure("handled above")
                    }
                }
            }
        }
        return out
    }
}

/// What a sentence's token vectors are taken from: a layer selection of the biLM's outputs, or a learned mix.
public enum VectorSource {
    case layers(LayerSelection)
    /// A ScalarMix over the `L + 1` layers (e.g. a task model's, `elmo embed --mix-from`).
    case mix(ScalarMix)

    /// One sentence's `[L+1, n, D]` layers → `[L+1, n, D]` (all), or `[n, D]`.
    public func select(_ layers: Tensor) -> Tensor {
        switch self {
        case .layers(let selection): return selection.select(layers)
        case .mix(let mix):
            let k = layers.shape[0], n = layers.shape[1], d = layers.shape[2]
            var cache = ScalarMix.Cache()
            return mix.forward((0..<k).map { layers.rows($0..<($0 + 1), shape: [n, d]) }, cache: &cache)
        }
    }
}

extension ContextualEmbedder {
    /// One vector per sentence, in input order: `[N, D]` (`[N, L+1, D]` for `.layers(.all)`), the `pooling` of each
    /// sentence's vectors from `source`. Each sentence is embedded from a zero state, so the result does not depend on
    /// the batching. Sentences must not be empty.
    public func sentenceVectors(_ sentences: [[String]], source: VectorSource = .layers(.top), pooling: SentencePooling = .mean,
                                batchSize: Int = 32, maxBatchTokens: Int? = nil) -> Tensor {
        precondition(pooling != .none, "sentenceVectors needs mean or max pooling; embed(_:) gives the token vectors.")
        let pooled = embed(sentences, batchSize: batchSize, maxBatchTokens: maxBatchTokens).map { pooling.pool(source.select($0)) }
        let rowShape = pooled.first?.shape ?? [dimension]
        var out = Tensor(zeros: [sentences.count] + rowShape)
        let width = rowShape.reduce(1, *)
        out.withMutablePointer { po in
            for (i, row) in pooled.enumerated() { row.withPointer { (po + i * width).update(from: $0, count: width) } }
        }
        return out
    }
}
