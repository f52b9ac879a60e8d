import Dispatch
import ElmoBiLM

/// The embedding path on random words, B × T tokens of equal length (the PyTorch reference's measurement): the
/// biLM pass alone, no reading, batching or writing.
enum SyntheticEmbedding {
    struct Rate {
        let secondsPerCall: Double
        let tokensPerSecond: Double
        let outputShape: [Int]
    }

    /// `iterations` timed calls after 3 warm-up calls, the token encodings from `tokenEncodings` (as `elmo embed`
    /// computes them; capacity 0, since the batch repeats and a cache would only measure lookups).
    static func measure(model: BiLanguageModel, words: [String], batch: Int, unroll: Int, iterations: Int,
                        tokenEncodings: TokenEncodingCache) -> Rate {
        let b = BenchData.batch(words: words, batch: batch, unroll: unroll, maxCharacters: model.maxCharacters,
                                vocabularySize: words.count, seed: 99)
        let lengths = Array(repeating: unroll, count: batch)
        for _ in 0..<3 { _ = model.layerOutputs(characters: b.forwardCharacters, batchSize: batch, steps: unroll, lengths: lengths,
                                                    tokenEncodings: tokenEncodings) }
        let start = DispatchTime.now().uptimeNanoseconds
        var shape: [Int] = []
        for _ in 0..<iterations {
            let layers = model.layerOutputs(characters: b.forwardCharacters, batchSize: batch, steps: unroll, lengths: lengths,
                                            tokenEncodings: tokenEncodings)
            shape = [layers.count] + layers[0].shape
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Rate(secondsPerCall: seconds / Double(iterations), tokensPerSecond: Double(batch * unroll * iterations) / seconds,
                    outputShape: shape)
    }
}
