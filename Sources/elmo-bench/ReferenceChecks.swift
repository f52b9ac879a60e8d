import ElmoBiLM
import ElmoTensor
import ElmoText
import Foundation

/// Checks before timing (llm.c's `validate_results_cpu`): the fast paths must agree with plain references.
enum ReferenceChecks {
    struct Mismatch: Error, CustomStringConvertible {
        let description: String
    }

    static func run(model: BiLanguageModel, words: [String]) throws {
        try checkGemm()
        try checkBatchedEmbedding(model: model, words: words)
    }

    /// sgemm on a biLM-shaped product (in-projection rows × 4C) against a Double triple loop.
    static func checkGemm() throws {
        var rng = RandomGenerator(seed: 2)
        let m = 40, k = 64, n = 96
        let a = Tensor.gaussian([m, k], std: 1, rng: &rng), b = Tensor.gaussian([k, n], std: 1, rng: &rng)
        var c = Tensor(zeros: [m, n])
        Backends.current.matmul(a, b, into: &c)
        var maxDiff = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a.scalars[i * k + p]) * Double(b.scalars[p * n + j]) }
                maxDiff = max(maxDiff, abs(s - Double(c.scalars[i * n + j])))
            }
        }
        guard maxDiff < 1e-3 else { throw Mismatch(description: "sgemm differs from the naive product by \(maxDiff)") }
    }

    /// A batch of 4 sentences embedded together must equal each sentence embedded alone (batch 1).
    static func checkBatchedEmbedding(model: BiLanguageModel, words: [String]) throws {
        let t = 7, w = model.maxCharacters
        let b = BenchData.batch(words: words, batch: 4, unroll: t, maxCharacters: w, vocabularySize: words.count, seed: 5)
        let lengths = Array(repeating: t, count: 4)
        let together = model.layerOutputs(characters: b.forwardCharacters, batchSize: 4, steps: t, lengths: lengths)
        for row in 0..<4 {
            let chars = Array(b.forwardCharacters[(row * t * w)..<((row + 1) * t * w)])
            let alone = model.layerOutputs(characters: chars, batchSize: 1, steps: t, lengths: [t])
            for (layer, (x, y)) in zip(together, alone).enumerated() {
                let size = y.count
                let slice = x.scalars[(row * size)..<((row + 1) * size)]
                let diff = zip(slice, y.scalars).map { abs($0 - $1) }.max() ?? 0
                guard diff < 1e-4 else {
                    throw Mismatch(description: "batched embedding of row \(row) layer \(layer) differs from batch 1 by \(diff)")
                }
            }
        }
    }
}
