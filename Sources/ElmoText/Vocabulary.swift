import ElmoStorage
import Foundation

/// The word vocabulary of the softmax, in bilm-tf's format: one token per line, `<S>`, `</S>`, `<UNK>` first, then the
/// training words by descending count, ties in order of first occurrence in the training files (Python's
/// `Counter.most_common`, as the PyTorch reference builds it — on Brown the 20,000 cut falls among tied words, so the
/// tie-break decides which words are in). Word id = line index. Words outside the vocabulary map to `<UNK>`, but only as
/// softmax targets: the character CNN always sees the real word.
public struct Vocabulary: Equatable {
    public static let bos = "<S>", eos = "</S>", unk = "<UNK>"

    /// The tokens, id = index.
    public let words: [String]
    private let index: [String: Int32]

    /// Throws `TextError.badVocabulary` if `<S>`, `</S>` or `<UNK>` is missing or a word appears twice.
    public init(words: [String]) throws {
        try self.init(words: words, source: "(word list)")
    }

    private init(words: [String], source: String) throws {
        var index = [String: Int32](minimumCapacity: words.count)
        for (id, word) in words.enumerated() {
            if let previous = index.updateValue(Int32(id), forKey: word) {
                throw TextError.badVocabulary(path: source, reason: "\"\(word)\" appears twice (entries \(previous + 1) and \(id + 1))")
            }
        }
        let missing = [Vocabulary.bos, Vocabulary.eos, Vocabulary.unk].filter { index[$0] == nil }
        guard missing.isEmpty else {
            throw TextError.badVocabulary(path: source, reason: "\(missing.joined(separator: ", ")) missing")
        }
        self.words = words
        self.index = index
    }

    /// Reads a bilm-tf vocabulary file: one token per line, blank lines skipped; a line may carry a count after the
    /// token (`word<TAB>count`, as some tools write), which is ignored.
    public init(contentsOf path: String) throws {
        let reader = try LineReader(path: path)
        var words = [String]()
        while let line = try reader.nextLine() {
            let fields = Corpus.tokens(of: line)
            if fields.isEmpty { continue }
            guard fields.count == 1 || (fields.count == 2 && Int(fields[1]) != nil) else {
                throw TextError.badVocabulary(
                    path: path, reason: "line \(reader.lineNumber) has \(fields.count) fields; expected a token, optionally followed by its count")
            }
            words.append(fields[0])
        }
        try self.init(words: words, source: path)
    }

    /// The vocabulary file's text: one token per line.
    public var fileText: String { words.joined(separator: "\n") + "\n" }

    /// Writes one token per line (atomically: a temporary file renamed over `path`).
    public func write(to path: String) throws {
        do {
            try Data(fileText.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw StorageError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }

    public var count: Int { words.count }
    public var bosId: Int32 { index[Vocabulary.bos]! }
    public var eosId: Int32 { index[Vocabulary.eos]! }
    public var unkId: Int32 { index[Vocabulary.unk]! }

    /// The id of `word`, or `unkId` when it is not in the vocabulary.
    public func id(of word: String) -> Int32 {
        index[word] ?? unkId
    }

    /// The word with id `id` (0 ..< count).
    public subscript(id: Int32) -> String {
        precondition(id >= 0 && Int(id) < words.count, "Vocabulary id \(id) is outside 0..<\(words.count).")
        return words[Int(id)]
    }

    public static func == (a: Vocabulary, b: Vocabulary) -> Bool { a.words == b.words }

    /// Builds the vocabulary of `files` (read in the given order, streamed line by line): specials, then the words seen
    /// at least `minCount` times by descending count, ties by first occurrence; `maxSize` keeps the first `maxSize`
    /// entries, specials included, so the softmax has exactly that many outputs.
    public static func build(files: [String], minCount: Int = 1, maxSize: Int? = nil) throws -> Vocabulary {
        precondition(minCount >= 1, "minCount must be at least 1, but is \(minCount).")
        precondition(maxSize.map { $0 >= 3 } ?? true, "maxSize must leave room for <S>, </S>, <UNK> (>= 3), but is \(maxSize!).")
        let counted = try wordCounts(files: files)
        var words = [bos, eos, unk]
        for entry in counted where entry.count >= minCount {
            if let maxSize, words.count == maxSize { break }
            words.append(entry.word)
        }
        return try Vocabulary(words: words, source: files.joined(separator: ", "))
    }

    /// Every word of `files` (streamed in the given order) with its count, by descending count, ties in order of first
    /// occurrence; the specials `<S>`, `</S>`, `<UNK>` are not counted. Throws `TextError.emptyCorpus` if there is no token.
    public static func wordCounts(files: [String]) throws -> [(word: String, count: Int)] {
        var slot = [String: Int]()
        var words = [String]()
        var counts = [Int]()
        for file in files {
            let reader = try LineReader(path: file)
            while let line = try reader.nextLine() {
                Corpus.forEachToken(in: line) { token in
                    if let k = slot[token] {
                        counts[k] += 1
                    } else if token != bos, token != eos, token != unk {
                        slot[token] = words.count
                        words.append(token)
                        counts.append(1)
                    }
                }
            }
        }
        guard !words.isEmpty else { throw TextError.emptyCorpus(files.joined(separator: ", ")) }
        // Slots are numbered in first-occurrence order, so breaking count ties by slot is Counter.most_common's order.
        let order = (0..<words.count).sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        return order.map { (words[$0], counts[$0]) }
    }
}
