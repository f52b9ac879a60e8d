import ElmoBiLM
import ElmoEmbeddings
import ElmoTensor
import ElmoText
import XCTest
import _TestSupport

/// The exact token-encoder cache: vectors bitwise equal with and without it (any capacity, any batching), equal
/// to the plain encoder's to float rounding, and least-recently-used eviction.
final class TokenCacheTests: XCTestCase {
    /// 40 sentences of 1–9 tokens over 10 frequent words and a few unique ones: many repeats within and across batches.
    func textWithRepeats() -> [[String]] {
        let frequent = ["the", "cat", "sat", "on", "a", "mat", "고양이", "and", "dog", "ran"]
        var rng = RandomGenerator(seed: 5)
        return (0..<40).map { s in
            (0..<(1 + Int(rng.next() % 9))).map { t in
                rng.next() % 7 == 0 ? "unique\(s)x\(t)" : frequent[Int(rng.next() % UInt64(frequent.count))]
            }
        }
    }

    func scalars(_ tensors: [Tensor]) -> [[Float]] { tensors.map(\.scalars) }

    func testVectorsBitwiseEqualWithAndWithoutCacheForEveryCapacityAndBatching() throws {
        let (model, vocabulary) = try tinyModel()
        let text = textWithRepeats()
        let plain = ContextualEmbedder(model: model, vocabulary: vocabulary).embed(text, batchSize: 8)

        func embedded(capacity: Int, batchSize: Int) -> (vectors: [[Float]], cache: TokenEncodingCache) {
            let embedder = ContextualEmbedder(model: model, vocabulary: vocabulary)
            embedder.useTokenCache(capacity: capacity)
            return (scalars(embedder.embed(text, batchSize: batchSize)), embedder.tokenCache!)
        }
        let uncached = embedded(capacity: 0, batchSize: 8)
        XCTAssertEqual(uncached.cache.hits, 0)
        for (capacity, batchSize) in [(100_000, 8), (100_000, 1), (3, 8), (3, 5), (1, 40), (0, 3)] {
            let run = embedded(capacity: capacity, batchSize: batchSize)
            XCTAssertEqual(run.vectors, uncached.vectors, "capacity \(capacity), batch \(batchSize) differs from no cache")
            XCTAssertLessThanOrEqual(run.cache.count, capacity)
            if capacity > 0 { XCTAssertGreaterThan(run.cache.hits, 0, "capacity \(capacity): the repeats should hit") }
        }
        // The frozen encoder (packed weights) against the model's own encoder: the same function to rounding.
        for (a, b) in zip(plain, uncached.vectors) {
            assertTensorsClose(a, Tensor(shape: a.shape, scalars: b), rtol: 1e-5, atol: 1e-5, "cached vs plain encoder")
        }
    }

    func testLeastRecentlyUsedIsEvictedFirst() throws {
        let (model, _) = try tinyModel()
        let cache = TokenEncodingCache(encoder: FrozenTokenEncoder(model.encoder), capacity: 2)
        func encode(_ words: [String]) -> Tensor {
            var chars: [Int32] = []
            for word in words { CharacterIds.append(word, maxCharacters: model.maxCharacters, to: &chars) }
            return cache.encode(chars, tokenCount: words.count)
        }
        let first = encode(["a", "b", "a"])  // a, b encoded once each; the second a is found in the batch
        XCTAssertEqual([cache.hits, cache.misses], [1, 2])
        _ = encode(["a"])  // hit; b is now the least recently used
        _ = encode(["c"])  // evicts b
        XCTAssertEqual([cache.hits, cache.misses, cache.count], [2, 3, 2])
        _ = encode(["a"])
        XCTAssertEqual(cache.hits, 3, "a was used more recently than b, so it stayed")
        let again = encode(["b", "a", "b"])  // b is encoded again (evicting c), a is a hit
        XCTAssertEqual([cache.hits, cache.misses], [5, 4])
        XCTAssertEqual(Array(again.scalars[0..<model.projectionSize]), Array(first.scalars[model.projectionSize..<2 * model.projectionSize]),
                       "b re-encoded after eviction has the same bits")
    }
}
