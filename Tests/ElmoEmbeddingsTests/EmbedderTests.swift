import ElmoBiLM
import ElmoEmbeddings
import ElmoTensor
import ElmoText
import Foundation
import XCTest
import _TestSupport

/// A tiny random biLM shared by the embedder tests.
func tinyModel(dropout: Float = 0) throws -> (BiLanguageModel, Vocabulary) {
    let json = """
    {"char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 4]], "n_highway": 1, "activation": "relu",
                  "max_characters_per_token": 10},
     "lstm": {"dim": 12, "projection_dim": 5, "n_layers": 2, "cell_clip": 3, "proj_clip": 3, "use_skip_connections": true},
     "dropout": \(dropout), "batch_size": 2, "unroll_steps": 4}
    """
    let options = try BiLMOptions.decode(Data(json.utf8), source: "test")
    let vocabulary = try Vocabulary(words: ["<S>", "</S>", "<UNK>", "the", "cat", "sat", "고양이"])
    return (BiLanguageModel(options: options, vocabularySize: vocabulary.count, seed: 3), vocabulary)
}

final class EmbedderTests: XCTestCase {
    func testShapesAndLayerZeroIsDuplicatedTokenEncoding() throws {
        let (model, vocabulary) = try tinyModel()
        let embedder = ContextualEmbedder(model: model, vocabulary: vocabulary)
        let out = embedder.embed([["the", "cat"], ["고양이", "sat", "on", "mats"]])
        XCTAssertEqual(out.map(\.shape), [[3, 2, 10], [3, 4, 10]])
        let layer0 = out[0].rows(0..<1, shape: [2, 10])
        for t in 0..<2 { XCTAssertEqual(Array(layer0.scalars[(t * 10)..<(t * 10 + 5)]), Array(layer0.scalars[(t * 10 + 5)..<(t * 10 + 10)])) }
    }

    /// A sentence's vectors do not depend on its batch companions or its position in the batch.
    func testVectorsIndependentOfBatchCompanionsAndOrder() throws {
        let (model, vocabulary) = try tinyModel()
        let embedder = ContextualEmbedder(model: model, vocabulary: vocabulary)
        let sentence = ["the", "cat", "sat"]
        let alone = embedder.embed([sentence])[0]
        let crowded = embedder.embed([["a", "much", "longer", "sentence", "than", "the", "other"], ["x"], sentence, ["the"]], batchSize: 4)
        assertTensorsClose(crowded[2], alone, rtol: 0, atol: 1e-5, "same sentence with other companions")
        let reordered = embedder.embed([sentence, ["one", "two", "three", "four", "five"]], batchSize: 1)
        assertTensorsClose(reordered[0], alone, rtol: 0, atol: 1e-5, "same sentence first, batch size 1")
    }

    func testBucketsGroupSimilarLengthsAndCoverEveryIndexOnce() {
        let buckets = ContextualEmbedder.buckets(lengths: [5, 1, 9, 2, 5, 1], batchSize: 2)
        XCTAssertEqual(buckets, [[1, 5], [3, 0], [4, 2]])
    }

    func testMixedEmbeddingIsWeightedSumOfLayers() throws {
        let (model, vocabulary) = try tinyModel()
        let embedder = ContextualEmbedder(model: model, vocabulary: vocabulary)
        let mix = ScalarMix(mixtureSize: 3, initialScalarParameters: [0, 0, 100])  // ≈ all weight on the top layer
        let mixed = embedder.embed([["the", "cat"]], mix: mix)[0]
        let top = LayerSelection.top.select(embedder.embed([["the", "cat"]])[0])
        assertTensorsClose(mixed, top, rtol: 1e-4, atol: 1e-5, "mix concentrated on the top layer")
    }
}
