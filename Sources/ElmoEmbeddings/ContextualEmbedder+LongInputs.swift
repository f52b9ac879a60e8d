import ElmoTensor
import ElmoText

extension ContextualEmbedder {
    /// `[L+1, n', D]` per sentence, in input order, with sentences longer than `maxLength` tokens handled by `overlong`:
    /// truncated to their first `maxLength` tokens (n' = maxLength), or split into windows that are embedded on their
    /// own and stitched back in token order (n' = n). The caller refuses long sentences under `.error` before this.
    public func embed(_ sentences: [[String]], maxLength: Int, overlong: OverlongPolicy, batchSize: Int = 32,
                      maxBatchTokens: Int? = nil) -> [Tensor] {
        embed(prepare(sentences, maxLength: maxLength, overlong: overlong, batchSize: batchSize, maxBatchTokens: maxBatchTokens))
    }

    /// `[K, n_i, D]` parts → `[K, Σ n_i, D]`: each layer's token rows, part after part.
    static func joinTokens(_ parts: [Tensor]) -> Tensor {
        let k = parts[0].shape[0], d = parts[0].shape[2], n = parts.map { $0.shape[1] }.reduce(0, +)
        var out = Tensor(zeros: [k, n, d])
        out.withMutablePointer { po in
            var offset = 0
            for part in parts {
                let m = part.shape[1]
                part.withPointer { pp in
                    for layer in 0..<k { (po + (layer * n + offset) * d).update(from: pp + layer * m * d, count: m * d) }
                }
                offset += m
            }
        }
        return out
    }
}
