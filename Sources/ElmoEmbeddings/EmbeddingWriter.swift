import ElmoBiLM
import ElmoStorage
import ElmoTensor
import Foundation

/// Which representation `elmo embed` writes per sentence.
public enum LayerSelection: String, CaseIterable, Sendable {
    /// `(L+1, n, dim)`: every layer.
    case all
    /// `(n, dim)`: the top LSTM layer.
    case top
    /// `(n, dim)`: the mean of all layers (AllenNLP's `--average`).
    case average

    /// The selected representation of one sentence's `[L+1, n, dim]` layers.
    public func select(_ layers: Tensor) -> Tensor {
        let k = layers.shape[0], n = layers.shape[1], d = layers.shape[2]
        switch self {
        case .all: return layers
        case .top: return layers.rows((k - 1)..<k, shape: [n, d])
        case .average:
            var out = Tensor(zeros: [n, d])
            for layer in 0..<k {
                Backends.current.axpy(1 / Float(k), layers.view(.rows(layer * n..<(layer + 1) * n, columns: d)), into: &out, out.wholeWindow)
            }
            return out
        }
    }
}

/// `hdf5` and `npz`: one dataset per line (AllenNLP's layout); with pooling, `npz` holds one `(N, dim)` matrix and
/// `npy` is that matrix alone.
public enum EmbeddingFormat: String, CaseIterable, Sendable { case hdf5, npz, npy }
public enum EmbeddingDType: String, CaseIterable, Sendable { case float32, float16 }

/// Receives one dataset per input line, keyed by its 0-based line number, then the `sentence_to_index` JSON.
public protocol EmbeddingWriter: AnyObject {
    func write(key: String, embedding: Tensor) throws
    /// AllenNLP's `sentence_to_index`: a JSON object mapping each sentence to its key.
    func finish(sentenceToIndex: String, skippedLines: [Int]) throws
}

/// AllenNLP `elmo` command layout, written incrementally (each dataset goes to disk as it comes).
public final class HDF5EmbeddingWriter: EmbeddingWriter {
    let file: HDF5Writer
    let dtype: HDF5Writer.DType
    let compress: Bool

    public init(path: String, dtype: EmbeddingDType, compress: Bool) throws {
        file = try HDF5Writer(path: path)
        self.dtype = dtype == .float16 ? .float16 : .float32
        self.compress = compress
    }

    public func write(key: String, embedding: Tensor) throws {
        try file.writeDataset(key, shape: embedding.shape, values: embedding.scalars, dtype: dtype, compress: compress)
    }

    public func finish(sentenceToIndex: String, skippedLines: [Int]) throws {
        try file.writeString("sentence_to_index", sentenceToIndex)
        if !skippedLines.isEmpty { try file.setAttribute("skipped_lines", ints: skippedLines.map(Int64.init)) }
        try file.close()
    }
}

/// The same layout as an `.npz` (`<key>.npy` members plus `sentence_to_index.json`), written atomically at the end.
public final class NpzEmbeddingWriter: EmbeddingWriter {
    let archive: NpzWriter
    let dtype: EmbeddingDType

    public init(path: String, dtype: EmbeddingDType, compress: Bool) throws {
        archive = try NpzWriter(path: path, compressionLevel: compress ? 6 : 1)
        self.dtype = dtype
    }

    public func write(key: String, embedding: Tensor) throws {
        if dtype == .float16 {
            try archive.add(key, float16: embedding)
        } else {
            try archive.add(key, tensor: embedding)
        }
    }

    public func finish(sentenceToIndex: String, skippedLines: [Int]) throws {
        try archive.add("sentence_to_index.json", bytes: Array(sentenceToIndex.utf8))
        if !skippedLines.isEmpty { try archive.add("skipped_lines", int64: skippedLines.map(Int64.init), shape: [skippedLines.count]) }
        try archive.finish()
    }
}
