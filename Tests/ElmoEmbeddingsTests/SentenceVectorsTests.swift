import ElmoBiLM
import ElmoEmbeddings
import ElmoTensor
import ElmoText
import XCTest
import _TestSupport

/// Issue 17: sentence vectors (pooling), the token budget and long inputs (truncate, split) in the library.
final class SentenceVectorsTests: XCTestCase {
    func testMeanAndMaxPoolOverTheTokensOfEachLayer() {
        let x = Tensor(shape: [2, 3, 2], scalars: [1, -4, 3, 0, 2, 8, /* layer 1 */ -1, -1, -3, -2, -2, -6])
        assertTensorsClose(SentencePooling.mean.pool(x), Tensor(shape: [2, 2], scalars: [2, 4.0 / 3, -2, -3]), rtol: 0, atol: 1e-6, "mean")
        XCTAssertEqual(SentencePooling.max.pool(x), Tensor(shape: [2, 2], scalars: [3, 8, -1, -1]))
        let top = Tensor(shape: [3, 2], scalars: [1, -4, 3, 0, 2, 8])
        XCTAssertEqual(SentencePooling.mean.pool(top).shape, [2])
        XCTAssertEqual(SentencePooling.none.pool(top), top)
    }

    func testSentenceVectorsArePooledTokenVectorsWhateverTheBatching() throws {
        let (model, vocabulary) = try tinyModel()
        let embedder = ContextualEmbedder(model: model, vocabulary: vocabulary)
        let sentences = [["the", "cat", "sat"], ["고양이"], ["a", "much", "longer", "sentence", "than", "the", "others"]]
        let tokens = embedder.embed(sentences)
        for (source, selection) in [(VectorSource.layers(.top), LayerSelection.top), (.layers(.average), .average)] {
            for pooling in [SentencePooling.mean, .max] {
                let matrix = embedder.sentenceVectors(sentences, source: source, pooling: pooling, batchSize: 1)
                XCTAssertEqual(matrix.shape, [3, 10])
                for (i, layers) in tokens.enumerated() {
                    assertTensorsClose(matrix.rows(i..<(i + 1), shape: [10]), pooling.pool(selection.select(layers)), rtol: 0, atol: 1e-6,
                                       "\(selection) \(pooling) sentence \(i)")
                }
            }
        }
        XCTAssertEqual(embedder.sentenceVectors(sentences, source: .layers(.all)).shape, [3, 3, 10])
        let mix = ScalarMix(mixtureSize: 3, initialScalarParameters: [0, 0, 100])
        assertTensorsClose(embedder.sentenceVectors(sentences, source: .mix(mix)), embedder.sentenceVectors(sentences), rtol: 1e-4,
                           atol: 1e-5, "a mix on the top layer pools like the top layer")
    }

    func testTokenBudgetCutsBatchesByPaddedTokensAndChangesNoVector() throws {
        let lengths = [2, 9, 3, 3, 1, 8, 2]
        let batches = LengthBuckets.batches(lengths: lengths, batchSize: 32, maxTokens: 9)
        XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(lengths.indices), "every sentence once")
        for batch in batches where batch.count > 1 {
            XCTAssertLessThanOrEqual(batch.count * batch.map { lengths[$0] }.max()!, 9, "batch \(batch) fits the budget")
        }
        XCTAssertEqual(batches, [[4, 0, 6], [2, 3], [5], [1]])
        XCTAssertEqual(LengthBuckets.batches(lengths: [20], batchSize: 4, maxTokens: 5), [[0]], "too long for the budget: alone")
        XCTAssertEqual(LengthBuckets.batches(lengths: lengths, batchSize: 2, maxTokens: nil), LengthBuckets.batches(lengths: lengths, batchSize: 2))

        let (model, vocabulary) = try tinyModel()
        let embedder = ContextualEmbedder(model: model, vocabulary: vocabulary)
        let sentences = lengths.map { n in (0..<n).map { ["the", "cat", "sat", "고양이", "mat"][$0 % 5] } }
        let plain = embedder.embed(sentences)
        let budgeted = embedder.embed(sentences, maxBatchTokens: 9)
        for i in sentences.indices { assertTensorsClose(budgeted[i], plain[i], rtol: 0, atol: 1e-6, "sentence \(i)") }
    }

    func testOverlongPiecesTruncateOrSplitIntoWindows() {
        let tokens = ["a", "b", "c", "d", "e"]
        XCTAssertEqual(OverlongPolicy.split.pieces(tokens, maxLength: 2), [["a", "b"], ["c", "d"], ["e"]])
        XCTAssertEqual(OverlongPolicy.truncate.pieces(tokens, maxLength: 2), [["a", "b"]])
        XCTAssertEqual(OverlongPolicy.split.pieces(tokens, maxLength: 5), [tokens])
    }

    func testSplitEmbedsEachWindowOnItsOwnAndJoinsThemInTokenOrder() throws {
        let (model, vocabulary) = try tinyModel()
        let embedder = ContextualEmbedder(model: model, vocabulary: vocabulary)
        let long = ["the", "cat", "sat", "on", "the", "mat", "고양이"]
        let out = embedder.embed([long, ["the"]], maxLength: 3, overlong: .split)
        XCTAssertEqual(out.map(\.shape), [[3, 7, 10], [3, 1, 10]])
        let windows = embedder.embed([["the", "cat", "sat"], ["on", "the", "mat"], ["고양이"]])
        var offset = 0
        for window in windows {
            let m = window.shape[1]
            for layer in 0..<3 {
                let joined = Array(out[0].scalars[((layer * 7 + offset) * 10)..<((layer * 7 + offset + m) * 10)])
                let alone = Array(window.scalars[(layer * m * 10)..<((layer + 1) * m * 10)])
                XCTAssertLessThanOrEqual(zip(joined, alone).map { abs($0 - $1) }.max()!, 1e-6, "layer \(layer), window at \(offset)")
            }
            offset += m
        }
        let truncated = embedder.embed([long], maxLength: 3, overlong: .truncate)[0]
        assertTensorsClose(truncated, windows[0], rtol: 0, atol: 1e-6, "the first window")
    }
}
