import ArgumentParser
import ElmoBiLM
import ElmoEmbeddings
import ElmoReporting
import Foundation

/// `elmo neighbors`: the corpus tokens whose contextual vectors are nearest to one token of a query sentence.
struct NeighborsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neighbors",
        abstract: "Nearest neighbours (cosine) of a token in context, among every token of a corpus.",
        discussion: """
        Embeds --index (one tokenised sentence per line) as `elmo embed` does, embeds --query, and prints the --k \
        corpus tokens whose vectors on --layer are nearest to the query's token --word (0-based), one per line: \
        score<TAB>token<TAB>its sentence with the token marked [[like this]]. --save-index keeps the corpus vectors \
        (all layers, float16, compressed .npz) so that later queries skip the embedding with --load-index. Search is \
        exact (one pass over the index).
        """)

    @Option(help: "A checkpoint file or a run folder.")
    var checkpoint: String

    @Option(help: "Corpus to search, one tokenised sentence per line (.gz read transparently).")
    var index: String?

    @Option(help: "Save the corpus vectors to this .npz for later queries.")
    var saveIndex: String?

    @Option(help: "Search an index saved with --save-index instead of embedding --index.")
    var loadIndex: String?

    @Option(help: "The query sentence (whitespace-separated tokens).")
    var query: String

    @Option(help: "0-based index of the query token in --query.")
    var word: Int

    @Option(help: "0 (token encoding), 1 … L (LSTM layers), or mix (the average of all layers).")
    var layer = "mix"

    @Option(help: "Neighbours to print.")
    var k = 10

    @Option(help: "Also write the hits as a self-contained HTML page.")
    var html: String?

    @OptionGroup var batch: BatchSizeOption

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if (index == nil) == (loadIndex == nil) { throw ValidationError("Give exactly one of --index CORPUS.txt and --load-index INDEX.npz.") }
        if saveIndex != nil && index == nil { throw ValidationError("--save-index needs --index (the corpus to embed).") }
        if NeighborIndex.Layer(layer) == nil { throw ValidationError("--layer must be a layer number (0, 1, 2, …) or mix, not '\(layer)'.") }
        if k < 1 { throw ValidationError("--k must be at least 1, not \(k).") }
        let tokens = query.split(whereSeparator: \.isWhitespace)
        if tokens.isEmpty { throw ValidationError("--query is empty; give a sentence.") }
        if word < 0 || word >= tokens.count {
            throw ValidationError("--word \(word) is outside the query, which has \(tokens.count) tokens (0...\(tokens.count - 1)).")
        }
    }

    func run() throws {
        threads.apply()
        try reportingErrors {
            let embedder = try ContextualEmbedder(checkpoint: checkpoint)
            let chosen = NeighborIndex.Layer(layer)!
            if case .layer(let k) = chosen, k >= embedder.layerCount {  // before the (long) indexing
                throw EmbedError.noSuchLayer(k, layers: embedder.layerCount)
            }
            let started = Date()
            let neighbors: NeighborIndex
            if let loadIndex {
                neighbors = try NeighborIndex.load(loadIndex, checkpoint: checkpoint)
            } else {
                let sentences = try readSentences(index!)
                let progress = ProgressLine(every: 1)
                neighbors = try NeighborIndex(embedder: embedder, checkpoint: checkpoint, sentences: sentences, batchSize: batch.batchSize) {
                    progress.update("indexing: \($0) of \(sentences.count) sentences")
                }
                progress.finish()
                if let saveIndex { try neighbors.save(to: saveIndex) }
            }
            let indexSeconds = Date().timeIntervalSince(started)
            let queryTokens = query.split(whereSeparator: \.isWhitespace).map(String.init)
            let all = embedder.embed([queryTokens])[0]
            let n = queryTokens.count, d = embedder.dimension
            let queryLayers = (0..<embedder.layerCount).map { all.rows($0..<($0 + 1), shape: [n, d]) }
            let vector = Array(try NeighborIndex.select(chosen, from: queryLayers).scalars[(word * d)..<((word + 1) * d)])
            let searchStart = Date()
            let hits = try neighbors.nearest(to: vector, layer: chosen, k: k)
            let searchSeconds = Date().timeIntervalSince(searchStart)
            for hit in hits {
                print(String(format: "%.4f", hit.score) + "\t\(hit.token)\t" + Self.marked(neighbors.sentences[hit.sentence], at: hit.position))
            }
            if let html {
                try HTMLPage.write(try NeighborsPage.html(query: queryTokens, word: word, layer: layer, checkpoint: checkpoint,
                                                          hits: hits, index: neighbors), to: html)
            }
            FileHandle.standardError.write(Data(String(format: "%d corpus tokens; index %.1f s, search %.3f s\n",
                                                       neighbors.tokenCount, indexSeconds, searchSeconds).utf8))
        }
    }

    /// The sentence with the token at `position` in `[[ ]]`.
    static func marked(_ sentence: [String], at position: Int) -> String {
        sentence.enumerated().map { $0 == position ? "[[\($1)]]" : $1 }.joined(separator: " ")
    }
}
