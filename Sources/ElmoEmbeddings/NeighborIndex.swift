import ElmoBiLM
import ElmoStorage
import ElmoTensor
import Foundation

/// Contextual vectors of every token of a corpus, for nearest-neighbour search by cosine (`elmo neighbors`): the
/// biLM's L + 1 layers per token, as `embed` gives them (each sentence from a zero state). Search is exact, one
/// matrix-vector product over the chosen layer's N vectors.
///
/// Saved as an `.npz` (deflate level 6): `index.json` (format, the biLM's path and CRC-32, the sentences) and
/// `layer_<k>.npy`, `[N, 2P]` float16, for k = 0…L.
public final class NeighborIndex {
    public static let format = "elmokit-neighbors-index"
    public static let manifestMember = "index.json"

    /// The layer a search uses: one of the L + 1, or their average (`mix`, the equal-weight ScalarMix).
    public enum Layer: Equatable, Sendable {
        case layer(Int)
        case mix

        /// `"0"`, `"1"`, …, or `"mix"`.
        public init?(_ text: String) {
            if text == "mix" { self = .mix } else if let k = Int(text), k >= 0 { self = .layer(k) } else { return nil }
        }
    }

    public struct Manifest: Codable, Equatable {
        public var format = NeighborIndex.format
        public var version = 1
        /// The biLM the vectors came from (queries must use the same one).
        public var checkpoint: String
        public var checkpointCRC32: UInt32
        public var sentences: [[String]]
        public var layers: Int
        public var dimension: Int
    }

    public struct Hit: Equatable {
        public var score: Float
        public var sentence: Int
        /// The token's 0-based position in its sentence.
        public var position: Int
        public var token: String
    }

    public let manifest: Manifest
    /// L + 1 tensors `[N, 2P]`.
    public let layers: [Tensor]
    /// (sentence, position) of each of the N rows.
    private let rows: [(sentence: Int, position: Int)]

    public var sentences: [[String]] { manifest.sentences }
    public var tokenCount: Int { rows.count }

    init(manifest: Manifest, layers: [Tensor]) {
        self.manifest = manifest
        self.layers = layers
        rows = manifest.sentences.enumerated().flatMap { s, sentence in sentence.indices.map { (s, $0) } }
    }

    /// Embeds every sentence of `sentences` (none empty) with `embedder`, the biLM at `checkpoint`.
    public convenience init(embedder: ContextualEmbedder, checkpoint: String, sentences: [[String]], batchSize: Int = 32,
                            progress: ((Int) -> Void)? = nil) throws {
        let file = try BiLMCheckpoint.resolve(checkpoint)
        let manifest = Manifest(checkpoint: URL(fileURLWithPath: file).standardizedFileURL.path,
                                checkpointCRC32: try FileChecksum.crc32(path: file), sentences: sentences,
                                layers: embedder.layerCount, dimension: embedder.dimension)
        let d = embedder.dimension, n = sentences.reduce(0) { $0 + $1.count }
        var layers = (0..<embedder.layerCount).map { _ in [Float]() }
        for k in layers.indices { layers[k].reserveCapacity(n * d) }
        let chunk = 256
        for start in stride(from: 0, to: sentences.count, by: chunk) {
            let part = Array(sentences[start..<min(start + chunk, sentences.count)])
            for embedding in embedder.embed(part, batchSize: batchSize) {
                let tokens = embedding.shape[1]
                for k in layers.indices { layers[k] += embedding.scalars[(k * tokens * d)..<((k + 1) * tokens * d)] }
            }
            progress?(min(start + chunk, sentences.count))
        }
        self.init(manifest: manifest, layers: layers.map { Tensor(shape: [n, d], scalars: $0) })
    }

    /// The vectors `layer` selects, `[N, 2P]`.
    public func vectors(_ layer: Layer) throws -> Tensor {
        try Self.select(layer, from: layers)
    }

    /// Picks `layer` of L + 1 same-shaped tensors (the average for `mix`).
    public static func select(_ layer: Layer, from all: [Tensor]) throws -> Tensor {
        switch layer {
        case .layer(let k):
            guard k < all.count else { throw EmbedError.noSuchLayer(k, layers: all.count) }
            return all[k]
        case .mix:
            var sum = all[0]
            for t in all.dropFirst() { sum.add(t) }
            Backends.current.scale(&sum, by: 1 / Float(all.count))
            return sum
        }
    }

    /// The `k` rows nearest to `query` (`[2P]`) by cosine on `layer`, best first (ties: corpus order).
    public func nearest(to query: [Float], layer: Layer, k: Int) throws -> [Hit] {
        let vectors = try vectors(layer)
        let d = manifest.dimension, n = tokenCount
        precondition(query.count == d, "NeighborIndex.nearest: query has \(query.count) features, the index \(d).")
        var dots = [Float](repeating: 0, count: n)
        vectors.withPointer { pv in
            query.withUnsafeBufferPointer { pq in
                dots.withUnsafeMutableBufferPointer { pd in
                    BLAS.gemm(m: n, n: 1, k: d, a: pv, lda: d, b: pq.baseAddress!, ldb: 1, c: pd.baseAddress!, ldc: 1)
                }
            }
        }
        let queryNorm = query.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var scores = [Float](repeating: 0, count: n)
        vectors.withPointer { pv in
            for i in 0..<n {
                let norm = Kernels.sumOfSquares(pv + i * d, d).squareRoot()
                scores[i] = norm > 0 && queryNorm > 0 ? dots[i] / (Float(norm) * queryNorm) : 0
            }
        }
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return order.prefix(k).map { i in
            let (s, p) = rows[i]
            return Hit(score: scores[i], sentence: s, position: p, token: manifest.sentences[s][p])
        }
    }

    // MARK: - Files

    /// Writes the index (atomically) with float16 vectors, compressed.
    public func save(to path: String) throws {
        let writer = try NpzWriter(path: path, compressionLevel: 6)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try writer.add(Self.manifestMember, bytes: Array(try encoder.encode(manifest)))
        for (k, layer) in layers.enumerated() { try writer.add("layer_\(k)", float16: layer) }
        try writer.finish()
    }

    /// Reads an index written by `save`; with `checkpoint`, refuses an index built from another biLM (by CRC-32).
    public static func load(_ path: String, checkpoint: String? = nil) throws -> NeighborIndex {
        let reader = try NpzReader(path: path)
        guard reader.contains(manifestMember),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: Data(try reader.bytes(manifestMember))),
              manifest.format == format else {
            throw EmbedError.notAnIndex(path)
        }
        if let checkpoint {
            let crc = try FileChecksum.crc32(path: try BiLMCheckpoint.resolve(checkpoint))
            if crc != manifest.checkpointCRC32 { throw EmbedError.otherCheckpoint(path, built: manifest.checkpoint, given: checkpoint) }
        }
        let layers = try (0..<manifest.layers).map { try reader.tensor("layer_\($0)") }
        let n = manifest.sentences.reduce(0) { $0 + $1.count }
        guard layers.allSatisfy({ $0.shape == [n, manifest.dimension] }) else { throw EmbedError.notAnIndex(path) }
        return NeighborIndex(manifest: manifest, layers: layers)
    }
}
