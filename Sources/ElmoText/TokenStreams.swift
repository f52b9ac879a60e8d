#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ElmoStorage
import Foundation

/// One truncated-BPTT step of both language models: B rows of T consecutive positions.
public struct StreamBatch: Sendable, Equatable {
    /// B and T (T <= unroll; the last step of an epoch may be shorter).
    public let batchSize: Int, steps: Int
    /// W, character ids per token.
    public let maxCharacters: Int
    /// [B, T, W] character ids of the forward inputs (always the real word, even when its target id is `<UNK>`).
    public var forwardCharacters: [Int32]
    /// [B, T] vocabulary ids of the forward targets (out-of-vocabulary words -> `<UNK>`).
    public var forwardTargets: [Int32]
    /// [B, T, W] character ids of the backward inputs.
    public var backwardCharacters: [Int32]
    /// [B, T] vocabulary ids of the backward targets.
    public var backwardTargets: [Int32]

    public init(batchSize: Int, steps: Int, maxCharacters: Int, forwardCharacters: [Int32], forwardTargets: [Int32],
                backwardCharacters: [Int32], backwardTargets: [Int32]) {
        precondition(forwardCharacters.count == batchSize * steps * maxCharacters
            && backwardCharacters.count == forwardCharacters.count,
            "StreamBatch characters must hold B*T*W = \(batchSize * steps * maxCharacters) ids, but hold \(forwardCharacters.count) and \(backwardCharacters.count).")
        precondition(forwardTargets.count == batchSize * steps && backwardTargets.count == forwardTargets.count,
                     "StreamBatch targets must hold B*T = \(batchSize * steps) ids, but hold \(forwardTargets.count) and \(backwardTargets.count).")
        self.batchSize = batchSize
        self.steps = steps
        self.maxCharacters = maxCharacters
        self.forwardCharacters = forwardCharacters
        self.forwardTargets = forwardTargets
        self.backwardCharacters = backwardCharacters
        self.backwardTargets = backwardTargets
    }
}

/// The training streams of bilm-tf (and of the PyTorch reference benchmark's parity mode),
/// for truncated BPTT with state carried across steps:
///
/// - each sentence `w1 ... wn` gives the forward pairs (input -> target) `<S> w1 ... wn -> w1 ... wn </S>`;
/// - the pairs of all files, in the given order, are cut into B contiguous rows of n = floor(N / B) pairs
///   (row r holds pairs r*n ..< (r+1)*n; the last N mod B pairs are dropped);
/// - step k is columns k*T ..< min(k*T + T, n) of every row, so the last step may be shorter;
/// - the backward LM reads each row from its end with input and target swapped (per sentence
///   `</S> wn ... w1 -> wn ... w1 <S>`, sentences in reverse order).
///
/// Memory stays flat in the corpus size: one encoding pass writes each position's word-type id (an index into the
/// table of distinct words seen, which is vocabulary-sized) as one Int32 to a scratch file, and `batch(step:)` reads
/// the two windows each row needs with pread(2). The stream stores the forward inputs only, with the high bit marking
/// a sentence's `<S>`; the target of a pair is the next input unless that starts a new sentence (or the stream ends),
/// in which case it is `</S>` — so a literal `<S>` token inside a line still counts as a word, as in the reference.
/// The scratch file is unlinked right after it is opened, so the system frees it when this object goes, even after a
/// crash. `batch(step:)` is safe to call from several threads (e.g. to prefetch the next step).
public final class TokenStreams: @unchecked Sendable {
    public let files: [String]
    public let vocabulary: Vocabulary
    /// B, T (unroll) and W.
    public let batchSize: Int, unroll: Int, maxCharacters: Int
    /// N, the number of forward pairs before the cut.
    public let pairCount: Int

    /// n = floor(N / B), pairs per row.
    public var rowLength: Int { pairCount / batchSize }
    /// ceil(n / T).
    public var stepCount: Int { (rowLength + unroll - 1) / unroll }
    /// B * n, the forward targets of one epoch (each backward target has a forward one).
    public var targetsPerEpoch: Int { batchSize * rowLength }
    /// Number of distinct word types in the stream (including `<S>` and `</S>`).
    public var typeCount: Int { typeWords.count }

    private static let sentenceStart = Int32.min
    private static let typeMask = Int32.max
    /// `<S>` and `</S>` are always types 0 and 1.
    private static let beginType: Int32 = 0, endType: Int32 = 1

    /// Distinct words in order of first occurrence, and each one's softmax target id.
    private let typeWords: [String]
    private let typeTargets: [Int32]
    private let descriptor: Int32
    private let streamPath: String

    /// Encodes `files` (in the given order) for `vocabulary`, batch B and unroll T. The stream file goes to
    /// `scratchDirectory` (created if missing; it needs 4 bytes per pair).
    public init(files: [String], vocabulary: Vocabulary, batchSize: Int, unroll: Int, maxCharacters: Int = 50,
                scratchDirectory: String) throws {
        precondition(batchSize >= 1 && unroll >= 1, "batchSize and unroll must be positive, but are \(batchSize) and \(unroll).")
        precondition(maxCharacters >= 3, "maxCharacters must be at least 3, but is \(maxCharacters).")
        do {
            try FileManager.default.createDirectory(atPath: scratchDirectory, withIntermediateDirectories: true)
        } catch {
            throw StorageError.writeFailed(path: scratchDirectory, reason: error.localizedDescription)
        }
        let path = (scratchDirectory as NSString).appendingPathComponent("elmo-stream-\(getpid())-\(UUID().uuidString).i32")
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw StorageError.writeFailed(path: path, reason: TextError.systemMessage()) }
        unlink(path)
        self.files = files
        self.vocabulary = vocabulary
        self.batchSize = batchSize
        self.unroll = unroll
        self.maxCharacters = maxCharacters
        descriptor = fd
        streamPath = path

        var typeIndex: [String: Int32] = [Vocabulary.bos: TokenStreams.beginType, Vocabulary.eos: TokenStreams.endType]
        var words = [Vocabulary.bos, Vocabulary.eos]
        var pending = [Int32]()
        pending.reserveCapacity(1 << 16)
        var written = 0
        func flush() throws {
            try pending.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let got = pwrite(fd, bytes.baseAddress! + offset, bytes.count - offset, off_t(written * 4 + offset))
                    if got < 0 {
                        if errno == EINTR { continue }
                        throw StorageError.writeFailed(path: path, reason: TextError.systemMessage())
                    }
                    offset += got
                }
            }
            written += pending.count
            pending.removeAll(keepingCapacity: true)
        }
        do {
            for file in files {
                let reader = try LineReader(path: file)
                while let line = try reader.nextLine() {
                    var started = false
                    Corpus.forEachToken(in: line) { token in
                        if !started {
                            pending.append(TokenStreams.beginType | TokenStreams.sentenceStart)
                            started = true
                        }
                        if let type = typeIndex[token] {
                            pending.append(type)
                        } else {
                            precondition(words.count < Int(Int32.max), "TokenStreams: more than 2^31 - 1 distinct words.")
                            let type = Int32(words.count)
                            typeIndex[token] = type
                            words.append(token)
                            pending.append(type)
                        }
                    }
                    if pending.count >= 1 << 16 { try flush() }
                }
            }
            try flush()
        } catch {
            close(fd)
            throw error
        }
        // Checked before the last properties are set: a throw from a fully initialized object would run deinit,
        // closing the descriptor a second time.
        guard written > 0 else {
            close(fd)
            throw TextError.emptyCorpus(files.joined(separator: ", "))
        }
        guard written >= batchSize else {
            close(fd)
            throw TextError.tooFewPairs(pairs: written, batchSize: batchSize, files: files)
        }
        typeWords = words
        typeTargets = words.map { vocabulary.id(of: $0) }
        pairCount = written
    }

    deinit {
        close(descriptor)
    }

    /// The batch of step `step` (0 ..< stepCount), computed directly from the stream file, so a resumed run can start
    /// at any step. Shapes: characters [B, T, W], targets [B, T].
    public func batch(step: Int) throws -> StreamBatch {
        try batch(step: step, rows: 0..<batchSize)
    }

    /// Rows `rows` of the global batch of step `step` (data-parallel training: one rank's share, `rows(rank:of:)`),
    /// exactly as they appear in `batch(step:)`. Shapes: characters [rows, T, W], targets [rows, T].
    public func batch(step: Int, rows: Range<Int>) throws -> StreamBatch {
        precondition(step >= 0 && step < stepCount, "TokenStreams step \(step) is outside 0..<\(stepCount).")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= batchSize && !rows.isEmpty,
                     "TokenStreams rows \(rows) are not a non-empty part of 0..<\(batchSize).")
        let n = rowLength, first = step * unroll
        let steps = min(first + unroll, n) - first
        var forwardCharacters = [Int32](), backwardCharacters = [Int32]()
        forwardCharacters.reserveCapacity(rows.count * steps * maxCharacters)
        backwardCharacters.reserveCapacity(rows.count * steps * maxCharacters)
        var forwardTargets = [Int32](), backwardTargets = [Int32]()
        forwardTargets.reserveCapacity(rows.count * steps)
        backwardTargets.reserveCapacity(rows.count * steps)
        // Positions p ..< p+T of the stream plus position p+T (the last pair's target), where it exists.
        var window = [Int32](repeating: 0, count: steps + 1)
        for row in rows {
            // Forward columns first ..< first+T are pairs row*n + first + t.
            var available = try read(from: row * n + first, into: &window)
            for t in 0..<steps {
                CharacterIds.append(typeWords[Int(window[t] & TokenStreams.typeMask)], maxCharacters: maxCharacters, to: &forwardCharacters)
                forwardTargets.append(typeTargets[Int(targetType(window, t, available))])
            }
            // Backward column first + t is forward pair row*n + n-1-(first+t): the window starting at
            // row*n + n - (first+T), read from its end, with input = forward target and target = forward input.
            available = try read(from: row * n + n - first - steps, into: &window)
            for t in 0..<steps {
                let local = steps - 1 - t
                CharacterIds.append(typeWords[Int(targetType(window, local, available))], maxCharacters: maxCharacters,
                                    to: &backwardCharacters)
                backwardTargets.append(typeTargets[Int(window[local] & TokenStreams.typeMask)])
            }
        }
        return StreamBatch(batchSize: rows.count, steps: steps, maxCharacters: maxCharacters,
                           forwardCharacters: forwardCharacters, forwardTargets: forwardTargets,
                           backwardCharacters: backwardCharacters, backwardTargets: backwardTargets)
    }

    /// The rows of the global batch that rank `rank` of `ranks` trains: r·B/N ..< (r+1)·B/N. Throws when B is not
    /// divisible by N (every rank must hold the same number of rows, so that they all take the same steps).
    public static func rows(rank: Int, of ranks: Int, batchSize: Int) throws -> Range<Int> {
        precondition(ranks >= 1 && rank >= 0 && rank < ranks, "rank \(rank) is outside 0..<\(ranks).")
        guard batchSize % ranks == 0 else { throw TextError.batchNotDivisible(batchSize: batchSize, ranks: ranks) }
        let share = batchSize / ranks
        return rank * share ..< (rank + 1) * share
    }

    /// Type of the forward target of the pair at `window[t]`: the next input, or `</S>` if that begins a sentence or
    /// lies past the stream's end (`available` positions were read).
    @inline(__always)
    private func targetType(_ window: [Int32], _ t: Int, _ available: Int) -> Int32 {
        t + 1 < available && window[t + 1] >= 0 ? window[t + 1] : TokenStreams.endType
    }

    /// Reads stream positions `position ..< position + window.count` (fewer at the end of the stream) into `window`;
    /// returns how many were read.
    private func read(from position: Int, into window: inout [Int32]) throws -> Int {
        let count = min(window.count, pairCount - position)
        try window.withUnsafeMutableBytes { bytes in
            let wanted = count * 4
            var offset = 0
            while offset < wanted {
                let got = pread(descriptor, bytes.baseAddress! + offset, wanted - offset, off_t(position * 4 + offset))
                if got < 0, errno == EINTR { continue }
                guard got > 0 else {
                    throw StorageError.readFailed(path: streamPath, reason: got == 0 ? "stream file ended early" : TextError.systemMessage())
                }
                offset += got
            }
        }
        return count
    }
}
