import ElmoBiLM
import ElmoStorage
import ElmoTensor
import Foundation

/// `elmo embed --pooling … --format npy`: one `.npy` array `(N, dim)` (`(N, L+1, dim)` for `--layers all`), a row per
/// embedded line in input order, streamed to disk: the header is written for zero rows first and rewritten in place
/// with the row count at the end (numpy leaves room in the header for exactly that, so its size does not change).
public final class NpyMatrixWriter: EmbeddingWriter {
    let path: String
    let dtype: EmbeddingDType
    let handle: FileHandle
    var rowShape: [Int]?
    var rows = 0

    public init(path: String, dtype: EmbeddingDType) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw StorageError.writeFailed(path: path, reason: "cannot create it")
        }
        self.path = path
        self.dtype = dtype
        self.handle = handle
    }

    deinit { try? handle.close() }

    private var npyType: NpyDType { dtype == .float16 ? .float16 : .float32 }

    public func write(key: String, embedding: Tensor) throws {
        if rowShape == nil {
            rowShape = embedding.shape
            try handle.write(contentsOf: NpyFormat.encodeHeader(dtype: npyType, shape: [0] + embedding.shape))
        }
        precondition(embedding.shape == rowShape!, "NpyMatrixWriter: row \(key) has shape \(embedding.shape), not \(rowShape!).")
        try handle.write(contentsOf: Self.bytes(embedding, dtype: dtype))
        rows += 1
    }

    /// The line keys and skipped lines are not stored: a bare `.npy` holds one array (the command prints them).
    public func finish(sentenceToIndex: String, skippedLines: [Int]) throws {
        guard let rowShape else { return }
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: NpyFormat.encodeHeader(dtype: npyType, shape: [rows] + rowShape))
        try handle.synchronize()
        try handle.close()
    }

    /// Little-endian `<f4` or `<f2` bytes of a tensor.
    static func bytes(_ tensor: Tensor, dtype: EmbeddingDType) -> Data {
        tensor.withPointer { p in
            let values = UnsafeBufferPointer(start: p, count: tensor.count)
            if dtype == .float16 {
                return values.map { Float16($0) }.withUnsafeBytes { Data($0) }
            }
            return Data(buffer: values)
        }
    }
}

/// `elmo embed --pooling … --format npz`: the rows as one `embeddings` array `(N, dim)`, `lines` (each row's 0-based
/// input line), `sentence_to_index.json` and `skipped_lines`. The matrix is held until `finish` (N × dim floats).
public final class NpzMatrixWriter: EmbeddingWriter {
    let archive: NpzWriter
    let dtype: EmbeddingDType
    var values: [Float] = []
    var rowShape: [Int]?
    var lines: [Int64] = []

    public init(path: String, dtype: EmbeddingDType, compress: Bool) throws {
        archive = try NpzWriter(path: path, compressionLevel: compress ? 6 : 1)
        self.dtype = dtype
    }

    public func write(key: String, embedding: Tensor) throws {
        if rowShape == nil { rowShape = embedding.shape }
        precondition(embedding.shape == rowShape!, "NpzMatrixWriter: row \(key) has shape \(embedding.shape), not \(rowShape!).")
        embedding.withPointer { values.append(contentsOf: UnsafeBufferPointer(start: $0, count: embedding.count)) }
        lines.append(Int64(key)!)
    }

    public func finish(sentenceToIndex: String, skippedLines: [Int]) throws {
        let matrix = Tensor(shape: [lines.count] + (rowShape ?? [0]), scalars: values)
        if dtype == .float16 { try archive.add("embeddings", float16: matrix) } else { try archive.add("embeddings", tensor: matrix) }
        try archive.add("lines", int64: lines, shape: [lines.count])
        try archive.add("sentence_to_index.json", bytes: Array(sentenceToIndex.utf8))
        if !skippedLines.isEmpty { try archive.add("skipped_lines", int64: skippedLines.map(Int64.init), shape: [skippedLines.count]) }
        try archive.finish()
    }
}
