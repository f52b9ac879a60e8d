import ElmoBiLM
import ElmoEmbeddings
import ElmoTensor
import ElmoText
import Foundation
import XCTest
import _TestSupport

/// Interpretable cells (CellTrace, TextProperty, CellRanking) and contextual neighbours (NeighborIndex).
final class InsideTheBiLMTests: XCTestCase {
    /// The layer outputs that come with the cells are exactly `layerOutputs`' (one forward pass), and the cells are
    /// the LSTM's: the last step's cells are the final state the LSTM returns.
    func testCellsComeFromTheEmbeddingForwardPass() throws {
        let (model, _) = try tinyModel()
        let sentences = [["the", "cat", "sat"], ["고양이"]]
        let embedder = ContextualEmbedder(model: model, vocabulary: try Vocabulary(words: ["<S>", "</S>", "<UNK>"]))
        let embedded = embedder.embed(sentences)
        let trace = CellTrace(model: model, sentences: sentences, stream: false)
        XCTAssertEqual(trace.groups.map { "\($0.layer)\($0.direction)" }, ["1forward", "1backward", "2forward", "2backward"])
        XCTAssertEqual(trace.tokenCount, 4)
        XCTAssertEqual(trace.groups[0].values.count, 4 * model.options.lstm.cellSize)

        // Forward layer 1 over "<S> the cat sat </S>" by hand: its cells at steps 1...3 are the trace's tokens 0...2.
        var chars: [Int32] = []
        for token in ["<S>", "the", "cat", "sat", "</S>"] { CharacterIds.append(token, maxCharacters: model.maxCharacters, to: &chars) }
        var encoderCache = TokenEncoder.Cache()
        let x = model.encoder.forward(chars, tokenCount: 5, cache: &encoderCache).reshaped([1, 5, model.projectionSize])
        var cache = LSTMStack.Cache()
        var rng = RandomGenerator(seed: 0)
        let (_, finals) = model.forwardStack.forward(x, states: model.forwardStack.zeroStates(batch: 1), training: false, rng: &rng,
                                                     cache: &cache)
        let c = model.options.lstm.cellSize, cells = cache.memoryCells[0]
        XCTAssertEqual(Array(cells.scalars[(4 * c)...]), finals[0].c.scalars, "the last step's cells are the final state")
        for t in 0..<3 {
            assertValuesClose(Array(trace.groups[0].values[(t * c)..<((t + 1) * c)]), Array(cells.scalars[((t + 1) * c)..<((t + 2) * c)]),
                              rtol: 0, atol: 1e-6, "forward layer 1 cells of token \(t)")
        }

        let out = model.layerOutputsAndCells(characters: chars, batchSize: 1, steps: 5, lengths: [5])
        XCTAssertEqual(out.layers, model.layerOutputs(characters: chars, batchSize: 1, steps: 5, lengths: [5]))
        let d = embedder.dimension
        assertValuesClose(Array(out.layers[2].scalars[d..<(4 * d)]), Array(embedded[0].scalars[(2 * 3 * d)...]), rtol: 0, atol: 1e-6,
                          "the same vectors as embed")
    }

    /// One sentence read as a stream is the sentence mode (both start from a zero state at `<S>`); a second sentence
    /// in the stream sees the first, so its cells differ from its own sentence-mode cells.
    func testStreamCarriesStateAcrossSentences() throws {
        let (model, _) = try tinyModel()
        let one = [["the", "cat", "sat"]]
        XCTAssertEqual(CellTrace(model: model, sentences: one, stream: true).groups.map(\.values),
                       CellTrace(model: model, sentences: one, stream: false).groups.map(\.values))
        let two = [["the", "cat"], ["the", "cat"]]
        let stream = CellTrace(model: model, sentences: two, stream: true).groups[0].values
        let sentences = CellTrace(model: model, sentences: two, stream: false).groups[0].values
        let c = model.options.lstm.cellSize
        XCTAssertEqual(Array(sentences[0..<(2 * c)]), Array(sentences[(2 * c)...]), "sentence mode: both the same")
        XCTAssertNotEqual(Array(stream[(2 * c)...]), Array(sentences[(2 * c)...]), "stream: the second sentence saw the first")
    }

    func testTextProperties() {
        let s = [["The", "man", "said", "``", "Hi", "(", "2", ")", "''", "."], ["\"", "ok", "\"", "x"]]
        XCTAssertEqual(TextProperty.position.values(s), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3])
        XCTAssertEqual(TextProperty.insideQuotes.values(s), [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0])
        XCTAssertEqual(TextProperty.insideBrackets.values(s), [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(TextProperty.capitalised.values(s), [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(TextProperty.numeric.values([["3", "1,000", "12.5", "1960s", "-"]]), [1, 1, 1, 0, 0])
        XCTAssertEqual(TextProperty.punctuation.values(s), [0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0])
        XCTAssertEqual(TextProperty.sentenceEnd.values(s), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1])
    }

    func testPearsonAndRanking() throws {
        XCTAssertEqual(CellRanking.pearson([1, 2, 3], [2, 4, 6]), 1, accuracy: 1e-12)
        XCTAssertEqual(CellRanking.pearson([1, 2, 3], [3, 2, 1]), -1, accuracy: 1e-12)
        XCTAssertEqual(CellRanking.pearson([1, 1, 1], [3, 2, 1]), 0)
        let (model, _) = try tinyModel()
        let trace = CellTrace(model: model, sentences: [["The", "cat", "(", "sat", ")", "."], ["A", "dog", "ran", "3", "."]], stream: true)
        let ranked = CellRanking.rank(trace)
        XCTAssertEqual(ranked.count, 4 * model.options.lstm.cellSize)
        XCTAssertTrue(zip(ranked, ranked.dropFirst()).allSatisfy { abs($0.correlation) >= abs($1.correlation) }, "best first")
        let best = ranked[0]
        let group = trace.groups.first { $0.layer == best.layer && $0.direction == best.direction }!
        let series = (0..<trace.tokenCount).map { group.value(token: $0, cell: best.cell) }
        XCTAssertEqual(best.correlation, CellRanking.pearson(series, best.property.values(trace.sentences)), accuracy: 1e-12)
        XCTAssertEqual(best.correlations.values.map(abs).max()!, abs(best.correlation), accuracy: 1e-12, "labelled by its strongest property")
        let top = CellRanking.top(ranked, perGroup: 2)
        XCTAssertEqual(top.count, 8)
        XCTAssertEqual(top.map { "\($0.layer)\($0.direction)" }, ["1forward", "1forward", "1backward", "1backward", "2forward", "2forward", "2backward", "2backward"])
    }

    /// Each corpus token is its own nearest neighbour (cosine 1); the float16 index file gives the same hits; an
    /// index is refused for another biLM, and a missing layer is named.
    func testNeighborIndexSearchSaveLoad() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("neighbors-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (model, vocabulary) = try tinyModel()
        let checkpoint = "\(folder)/bilm.npz"
        try BiLMCheckpoint.save(model: model, vocabulary: vocabulary, trainer: TrainerState(), optimizer: nil, states: nil, to: checkpoint)
        let embedder = ContextualEmbedder(model: model, vocabulary: vocabulary)
        let corpus = [["the", "cat", "sat"], ["a", "dog", "sat", "down"], ["the", "end"]]
        let index = try NeighborIndex(embedder: embedder, checkpoint: checkpoint, sentences: corpus)
        XCTAssertEqual(index.tokenCount, 9)
        let query = embedder.embed([["a", "dog", "sat", "down"]])[0]
        let d = embedder.dimension
        for layer in [NeighborIndex.Layer.layer(0), .layer(2), .mix] {
            let all = (0..<3).map { query.rows($0..<($0 + 1), shape: [4, d]) }
            let vector = Array(try NeighborIndex.select(layer, from: all).scalars[(2 * d)..<(3 * d)])
            let hits = try index.nearest(to: vector, layer: layer, k: 3)
            XCTAssertEqual(hits.count, 3)
            XCTAssertEqual(hits[0].token, "sat")
            if layer == .layer(0) {
                // The token encoding has no context: both "sat" tie at 1, the first in corpus order first.
                XCTAssertEqual(hits.prefix(2).map { [$0.sentence, $0.position] }, [[0, 2], [1, 2]])
                XCTAssertEqual(hits[1].score, 1, accuracy: 1e-5)
            } else {
                XCTAssertEqual([hits[0].sentence, hits[0].position], [1, 2], "\(layer): the query's own token in context")
            }
            XCTAssertEqual(hits[0].score, 1, accuracy: 1e-5)
            XCTAssertTrue(zip(hits, hits.dropFirst()).allSatisfy { $0.score >= $1.score })
            let saved = "\(folder)/index.npz"
            try index.save(to: saved)
            let loaded = try NeighborIndex.load(saved, checkpoint: checkpoint)
            XCTAssertEqual(loaded.sentences, corpus)
            XCTAssertEqual(try loaded.nearest(to: vector, layer: layer, k: 3).map(\.token), hits.map(\.token))
            assertValuesClose(loaded.layers[1].scalars, index.layers[1].scalars, rtol: 1e-3, atol: 1e-3, "float16 vectors")
        }
        XCTAssertThrowsError(try index.nearest(to: [Float](repeating: 0, count: d), layer: .layer(3), k: 1)) {
            XCTAssertTrue("\($0)".contains("0...2"), "\($0)")
        }
        let other = "\(folder)/other.npz"
        try BiLMCheckpoint.save(model: try tinyModel(dropout: 0.2).0, vocabulary: vocabulary, trainer: TrainerState(), optimizer: nil,
                                states: nil, to: other)
        XCTAssertThrowsError(try NeighborIndex.load("\(folder)/index.npz", checkpoint: other)) {
            XCTAssertTrue("\($0)".contains("rebuild"), "\($0)")
        }
        XCTAssertThrowsError(try NeighborIndex.load(checkpoint)) { XCTAssertTrue("\($0)".contains("not a neighbours index"), "\($0)") }
    }
}
