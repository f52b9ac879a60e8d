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
///
/// Three stages: read (lines → tokens → batches of character ids), compute (the biLM), write (layer selection,
/// pooling, the file). By default reading and writing run on their own threads while the biLM computes, with one
/// chunk handed over at a time each way, so the biLM never waits for the disk and memory holds at most two chunks'
/// vectors. Chunks and batches are the same either way, so the output is the same bit for bit.
public final class EmbeddingExporter {
    public let embedder: ContextualEmbedder
    public let settings: EmbedSettings
    /// Sentences per chunk read from the input (each chunk is bucketed by length, then written in input order).
    public var chunkSize = 2048
    /// Tokens per chunk at most: a chunk's vectors are held until written, so this (with the batch's token budget)
    /// bounds memory whatever the file's size and line lengths.
    public var chunkTokens = 50_000
    /// Read and write on their own threads while the biLM computes (off: the same stages one after the other on
    /// the calling thread). All HDF5 calls come from one thread either way: libhdf5 is not thread-safe.
    public var overlapsIO = true
    /// Seconds per stage, when given (`elmo-bench --input` passes one).
    public var timings: EmbedTimings?

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

    /// A chunk of input lines, prepared for the biLM.
    struct Chunk {
        /// 1-based line number, the trimmed text (the `sentence_to_index` key) and the token count of each sentence.
        var lines: [(number: Int, text: String, tokens: Int)]
        var prepared: PreparedSentences
    }

    /// What the read stage learns about lines that are not embedded as they are (0-based, as the keys).
    struct ReadTotals {
        var skippedLines: [Int] = []
        var overlongLines: [Int] = []
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
        let started = Date()
        let report: (OutputStage) -> Void = { output in
            let elapsed = Date().timeIntervalSince(started)
            let rate = Double(output.sentences) / max(elapsed, 1e-9)
            progress?.update(String(format: "%d sentences  %.0f sentences/s  %.0f tokens/s  ETA %@", output.sentences, rate,
                                    Double(output.tokens) / max(elapsed, 1e-9),
                                    total.map { ProgressLine.duration(Double($0 - output.sentences) / max(rate, 1e-9)) } ?? "?"))
        }
        var summary = Summary()
        do {
            let (output, totals) = try overlapsIO ? exportOverlapped(to: temporary, report: report)
                                                  : exportSerially(to: temporary, report: report)
            summary.sentences = output.sentences
            summary.tokens = output.tokens
            summary.writeSeconds = output.writeSeconds
            summary.skippedLines = totals.skippedLines
            summary.overlongLines = totals.overlongLines
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

    /// The three stages one after the other on this thread.
    private func exportSerially(to path: String, report: (OutputStage) -> Void) throws -> (OutputStage, ReadTotals) {
        let output = try makeOutput(path: path)
        let totals = try readChunks { chunk in
            try output.write(chunk, embedder.embed(chunk.prepared, timings: timings))
            report(output)
        }
        try output.finish(skippedLines: totals.skippedLines)
        return (output, totals)
    }

    /// What the compute stage hands the writer thread.
    private enum Computed {
        case chunk(Chunk, [Tensor])
        /// Every chunk was read and computed.
        case end(ReadTotals)
    }

    /// Results passed from a stage's thread to the calling thread (read after the queue hand-over or the
    /// semaphore that follows them, so no further locking is needed).
    private final class Outcome<Value>: @unchecked Sendable {
        var result: Result<Value, Error>?
    }

    /// A reader thread and a writer thread around the biLM on this thread. A failure in any stage cancels both
    /// queues, so the others stop at their next hand-over, and the first real error is the one thrown (the same
    /// error, naming file and line, as the serial path).
    private func exportOverlapped(to path: String, report: @escaping (OutputStage) -> Void) throws -> (OutputStage, ReadTotals) {
        let prepared = BoundedQueue<Chunk>(capacity: 1)
        let computed = BoundedQueue<Computed>(capacity: 1)
        let read = Outcome<ReadTotals>(), written = Outcome<OutputStage>()
        let readerDone = DispatchSemaphore(value: 0), writerDone = DispatchSemaphore(value: 0)
        Thread { [self] in
            do { read.result = .success(try readChunks { try prepared.push($0) }) } catch { read.result = .failure(error) }
            prepared.close()
            readerDone.signal()
        }.start()
        Thread { [self] in
            do {
                // Created here: the file is opened, written and closed by this thread only.
                let output = try makeOutput(path: path)
                while let message = computed.pop() {
                    switch message {
                    case let .chunk(chunk, embeddings):
                        try output.write(chunk, embeddings)
                        report(output)
                    case let .end(totals):
                        try output.finish(skippedLines: totals.skippedLines)
                        written.result = .success(output)
                    }
                }
                if written.result == nil { written.result = .failure(QueueCancelled()) }
            } catch {
                // Set before cancelling, so the calling thread sees it once either queue wakes it.
                written.result = .failure(error)
                computed.cancel()
                prepared.cancel()
            }
            writerDone.signal()
        }.start()

        let totals: ReadTotals
        do {
            while let chunk = prepared.pop() {
                // At most one chunk's vectors wait for the writer while the next is computed.
                computed.waitUntilEmpty()
                try computed.push(.chunk(chunk, embedder.embed(chunk.prepared, timings: timings)))
            }
            // A cancelled queue (the writer failed) is not the end of the input.
            if prepared.isCancelled { throw QueueCancelled() }
            totals = try read.result!.get()
            try computed.push(.end(totals))
            computed.close()
        } catch {
            // The reader is not waited for: it may be blocked reading stdin; it stops at its next hand-over.
            prepared.cancel()
            computed.cancel()
            writerDone.wait()
            if error is QueueCancelled, case .failure(let writeError)? = written.result { throw writeError }
            throw error
        }
        writerDone.wait()
        readerDone.wait()
        return (try written.result!.get(), totals)
    }

    /// The read stage: the input a chunk at a time (at most `chunkSize` sentences, `chunkTokens` tokens), each
    /// handed to `emit` prepared for the biLM, in input order.
    func readChunks(_ emit: (Chunk) throws -> Void) throws -> ReadTotals {
        var totals = ReadTotals()
        let reader = try LineReader(path: inputPath)
        var lines: [(number: Int, text: String, tokens: [String])] = []
        var tokenCount = 0
        var segmentStart = DispatchTime.now().uptimeNanoseconds
        func endSegment() { timings?.add(.read, Double(DispatchTime.now().uptimeNanoseconds - segmentStart) / 1e9) }
        func flush() throws {
            guard !lines.isEmpty else { return }
            endSegment()
            let prepared = timings.measure(.characterIds) {
                embedder.prepare(lines.map(\.tokens), maxLength: settings.maxLength, overlong: settings.overlong,
                                 batchSize: settings.batchSize, maxBatchTokens: settings.maxBatchTokens)
            }
            try emit(Chunk(lines: lines.map { ($0.number, $0.text, $0.tokens.count) }, prepared: prepared))
            lines.removeAll(keepingCapacity: true)
            tokenCount = 0
            segmentStart = DispatchTime.now().uptimeNanoseconds
        }
        try reader.forEachLine { line, number in
            let tokens = Corpus.tokens(of: line)
            if tokens.isEmpty {
                guard settings.skipEmpty else { throw EmbedError.emptyLine(path: inputName, line: number) }
                totals.skippedLines.append(number - 1)
                return
            }
            try checkLength(tokens.count, line: number)
            if tokens.count > settings.maxLength { totals.overlongLines.append(number - 1) }
            lines.append((number, line.trimmingCharacters(in: .whitespacesAndNewlines), tokens))
            tokenCount += tokens.count
            if lines.count >= chunkSize || tokenCount >= chunkTokens { try flush() }
        }
        try flush()
        endSegment()
        return totals
    }

    private func makeOutput(path: String) throws -> OutputStage {
        OutputStage(writer: try makeWriter(path: path), source: settings.source, pooling: settings.pooling,
                    inputName: inputName, timings: timings)
    }

    /// The write stage: each chunk's vectors in input order, then `sentence_to_index` and the skipped lines.
    final class OutputStage {
        let writer: EmbeddingWriter
        let source: VectorSource
        let pooling: SentencePooling
        let inputName: String
        let timings: EmbedTimings?
        var sentenceToIndex: [String: String] = [:]
        private(set) var sentences = 0
        private(set) var tokens = 0
        private(set) var writeSeconds = 0.0

        init(writer: EmbeddingWriter, source: VectorSource, pooling: SentencePooling, inputName: String, timings: EmbedTimings?) {
            self.writer = writer
            self.source = source
            self.pooling = pooling
            self.inputName = inputName
            self.timings = timings
        }

        func write(_ chunk: Chunk, _ embeddings: [Tensor]) throws {
            try timed {
                for (line, embedding) in zip(chunk.lines, embeddings) {
                    let key = String(line.number - 1)
                    try writer.write(key: key, embedding: pooling.pool(source.select(embedding)))
                    sentenceToIndex[line.text] = key
                    tokens += line.tokens
                }
                sentences += chunk.lines.count
            }
        }

        func finish(skippedLines: [Int]) throws {
            if sentences == 0 { throw EmbedError.emptyInput(inputName) }
            try timed {
                let json = try JSONSerialization.data(withJSONObject: sentenceToIndex, options: [.sortedKeys])
                try writer.finish(sentenceToIndex: String(decoding: json, as: UTF8.self), skippedLines: skippedLines)
            }
        }

        private func timed(_ body: () throws -> Void) throws {
            let start = DispatchTime.now().uptimeNanoseconds
            defer {
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                writeSeconds += seconds
                timings?.add(.write, seconds)
            }
            try body()
        }
    }
}
