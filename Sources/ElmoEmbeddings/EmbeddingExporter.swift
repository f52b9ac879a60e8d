import ElmoBiLM
import ElmoReporting
import ElmoStorage
import ElmoTensor
import ElmoText
import Foundation

/// What `elmo embed` was asked to do.
public struct EmbedSettings {
    /// A text file (one sentence per line, whitespace tokens; `.gz` read transparently) or `-` for stdin.
    public var input: String
    public var output: String
    public var layers: LayerSelection = .all
    public var format: EmbeddingFormat = .hdf5
    public var dtype: EmbeddingDType = .float32
    public var batchSize: Int = 32
    /// Padded tokens per batch at most (sentences × longest), as AllenNLP's `maximum_samples_per_batch`: bounds the
    /// activations of a batch whatever the sentence lengths. nil: batches are cut by `batchSize` only.
    public var maxBatchTokens: Int?
    /// One vector per line (mean or max over its tokens) instead of one per token.
    public var pooling: SentencePooling = .none
    /// A learned mix of the layers (a task model's ScalarMix) instead of `layers`.
    public var mix: ScalarMix?
    public var compress = false
    /// Skip empty (or whitespace-only) lines, recording their 0-based numbers (the keys they would have had) in the
    /// file, instead of failing.
    public var skipEmpty = false
    /// Longest line accepted, in tokens: a longer one is refused naming its line, before any work (memory and time
    /// of a sentence grow with its length, and the biLM saw sentences, not documents, in training).
    public var maxLength = EmbedSettings.defaultMaxLength
    public static let defaultMaxLength = 1000
    /// What to do with a line longer than `maxLength`: refuse it (naming it), truncate it, or split it into windows.
    public var overlong: OverlongPolicy = .error
    public var overwrite = false

    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }

    /// What each line's vectors are taken from.
    public var source: VectorSource { mix.map(VectorSource.mix) ?? .layers(layers) }
}

/// Streams sentences from the input through the embedder into an `EmbeddingWriter`, a chunk at a time, so memory
/// stays flat however long the input is. Problems with the input or output are found before any embedding work.
public final class EmbeddingExporter {
    public let embedder: ContextualEmbedder
    public let settings: EmbedSettings
    /// Sentences per chunk read from the input (each chunk is bucketed by length, then written in input order).
    public var chunkSize = 2048
    /// Tokens per chunk at most: a chunk's vectors are held until written, so this (with the batch's token budget)
    /// bounds memory whatever the file's size and line lengths.
    public var chunkTokens = 50_000

    public struct Summary {
        public var sentences = 0
        public var tokens = 0
        public var skippedLines: [Int] = []
        /// Lines longer than `maxLength` that were truncated or split (0-based, as the keys).
        public var overlongLines: [Int] = []
        public var seconds = 0.0
        public var writeSeconds = 0.0
    }

    public init(embedder: ContextualEmbedder, settings: EmbedSettings) {
        self.embedder = embedder
        self.settings = settings
    }

    var inputPath: String { settings.input == "-" ? "/dev/stdin" : settings.input }
    var inputName: String { settings.input == "-" ? "<stdin>" : settings.input }

    /// Checks the output location (exists without --overwrite, folder missing or read-only) before any work.
    public static func checkOutput(_ path: String, overwrite: Bool) throws {
        let manager = FileManager.default
        var isFolder: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isFolder) {
            if isFolder.boolValue { throw EmbedError.outputIsFolder(path) }
            if !overwrite { throw EmbedError.outputExists(path) }
        }
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StorageError.writeFailed(path: path, reason: "the folder \(dir) does not exist")
        }
        guard manager.isWritableFile(atPath: dir) else {
            throw StorageError.writeFailed(path: path, reason: "the folder \(dir) is not writable")
        }
    }

    /// Validates the whole input (UTF-8, empty lines) and counts its sentences, reading it once without keeping it.
    /// Skipped for stdin, which can be read only once (problems then surface while embedding, before the file is finished).
    func prescan() throws -> Int? {
        guard settings.input != "-" else { return nil }
        let reader = try LineReader(path: inputPath)
        var count = 0
        try reader.forEachLine { line, number in
            let tokens = Corpus.tokens(of: line).count
            if tokens == 0 {
                if !settings.skipEmpty { throw EmbedError.emptyLine(path: inputName, line: number) }
            } else {
                try checkLength(tokens, line: number)
                count += 1
            }
        }
        if count == 0 { throw EmbedError.emptyInput(inputName) }
        return count
    }

    /// Removes `<output>.partial-<pid>` files that killed runs of dead processes left.
    static func removeAbandonedPartialFiles(of output: String) {
        let folder = (output as NSString).deletingLastPathComponent
        let prefix = (output as NSString).lastPathComponent + ".partial-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid > 0, pid != getpid() else { continue }
            if !RunFolder.processIsAlive(pid) { unlink(((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(name)) }
        }
    }

    private func checkLength(_ tokens: Int, line: Int) throws {
        if tokens > settings.maxLength && settings.overlong == .error {
            throw EmbedError.lineTooLong(path: inputName, line: line, tokens: tokens, limit: settings.maxLength)
        }
    }

    /// Per-line datasets (HDF5, npz), or with pooling in npz/npy one `(N, dim)` matrix, rows in input order.
    private func makeWriter(path: String) throws -> EmbeddingWriter {
        switch (settings.format, settings.pooling) {
        case (.hdf5, _): return try HDF5EmbeddingWriter(path: path, dtype: settings.dtype, compress: settings.compress)
        case (.npz, .none): return try NpzEmbeddingWriter(path: path, dtype: settings.dtype, compress: settings.compress)
        case (.npz, _): return try NpzMatrixWriter(path: path, dtype: settings.dtype, compress: settings.compress)
        case (.npy, _): return try NpyMatrixWriter(path: path, dtype: settings.dtype)
        }
    }

    @discardableResult
    public func run(progress: ProgressLine? = nil) throws -> Summary {
        try Self.checkOutput(settings.output, overwrite: settings.overwrite)
        let lock = try RunLock.forFile(settings.output)
        defer { lock.release() }
        Self.removeAbandonedPartialFiles(of: settings.output)
        if settings.format == .npy && settings.pooling == .none { throw EmbedError.matrixNeedsPooling }
        let total = try prescan()
        let temporary = settings.output + ".partial-\(getpid())"
        let writer = try makeWriter(path: temporary)
        var summary = Summary()
        var sentenceToIndex: [String: String] = [:]
        let started = Date()
        do {
            let reader = try LineReader(path: inputPath)
            var chunk: [(line: Int, text: String, tokens: [String])] = []
            var chunkTokenCount = 0
            let source = settings.source
            func flush() throws {
                guard !chunk.isEmpty else { return }
                let embeddings = embedder.embed(chunk.map(\.tokens), maxLength: settings.maxLength, overlong: settings.overlong,
                                                batchSize: settings.batchSize, maxBatchTokens: settings.maxBatchTokens)
                let writeStart = Date()
                for (item, embedding) in zip(chunk, embeddings) {
                    let key = String(item.line - 1)
                    try writer.write(key: key, embedding: settings.pooling.pool(source.select(embedding)))
                    sentenceToIndex[item.text] = key
                    summary.tokens += item.tokens.count
                }
                summary.writeSeconds += Date().timeIntervalSince(writeStart)
                summary.sentences += chunk.count
                chunk.removeAll(keepingCapacity: true)
                chunkTokenCount = 0
                let elapsed = Date().timeIntervalSince(started)
                let rate = Double(summary.sentences) / max(elapsed, 1e-9)
                progress?.update(String(format: "%d sentences  %.0f sentences/s  %.0f tokens/s  ETA %@", summary.sentences, rate,
                                        Double(summary.tokens) / max(elapsed, 1e-9),
                                        total.map { ProgressLine.duration(Double($0 - summary.sentences) / max(rate, 1e-9)) } ?? "?"))
            }
            try reader.forEachLine { line, number in
                let tokens = Corpus.tokens(of: line)
                if tokens.isEmpty {
                    guard settings.skipEmpty else { throw EmbedError.emptyLine(path: inputName, line: number) }
                    summary.skippedLines.append(number - 1)
                    return
                }
                try checkLength(tokens.count, line: number)
                if tokens.count > settings.maxLength { summary.overlongLines.append(number - 1) }
                chunk.append((number, line.trimmingCharacters(in: .whitespacesAndNewlines), tokens))
                chunkTokenCount += tokens.count
                if chunk.count >= chunkSize || chunkTokenCount >= chunkTokens { try flush() }
            }
            try flush()
            if summary.sentences == 0 { throw EmbedError.emptyInput(inputName) }
            let json = try JSONSerialization.data(withJSONObject: sentenceToIndex, options: [.sortedKeys])
            try writer.finish(sentenceToIndex: String(decoding: json, as: UTF8.self), skippedLines: summary.skippedLines)
            if settings.overwrite { try? FileManager.default.removeItem(atPath: settings.output) }
            guard rename(temporary, settings.output) == 0 else {
                throw StorageError.writeFailed(path: settings.output, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        progress?.finish()
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }
}
