import ElmoTensor
import ElmoText
import Foundation

/// `pretrain --init-from … --vocab-mode`: what happens to the softmax vocabulary when a biLM is adapted to new text.
public enum VocabularyMode: String, CaseIterable, Sendable {
    /// The old vocabulary and softmax unchanged; the new text's other words are `<UNK>` targets.
    case keep
    /// The new text's words the old vocabulary lacks are appended (by count, up to `--max-vocab` entries in all).
    case extend
    /// A vocabulary built from the new text (or `--vocab`); rows of words in both are copied.
    case replace
}

/// How the softmax rows of words new to the model start.
public enum NewRowInitialisation: String, CaseIterable, Sendable {
    /// Mean of the old rows (weight and bias), fastai's `match_embeds`.
    case mean
    /// The word's char-CNN encoding mapped into softmax space by the least-squares linear map that takes the old
    /// words' encodings to their rows (weights and bias); with no old softmax (an imported model) the encoding
    /// itself with bias 0.
    case charCNN = "char-cnn"
}

/// The new vocabulary of an adapted model and where each of its softmax rows comes from.
public struct VocabularyAdaptation {
    public let mode: VocabularyMode
    public let vocabulary: Vocabulary
    /// For each new id, the old id whose softmax row it copies; nil for a word new to the softmax.
    public let sourceRows: [Int32?]
    /// Tokens of the new text, and how many of them are `<UNK>` targets with the new vocabulary.
    public let textTokens: Int, unknownTokens: Int

    public var newRowCount: Int { sourceRows.lazy.filter { $0 == nil }.count }

    /// Chooses the vocabulary for `mode` (nil: `extend` when the text has words `old` lacks, else `keep`; `replace`
    /// when a vocabulary file is given). Refuses a text without tokens, and one whose every token would be `<UNK>`.
    public static func plan(old: Vocabulary, textFiles: [String], mode requested: VocabularyMode?, maxSize: Int?,
                            vocabularyFile: String?) throws -> VocabularyAdaptation {
        let counts = try Vocabulary.wordCounts(files: textFiles)
        let unseen = counts.filter { old.id(of: $0.word) == old.unkId && $0.word != Vocabulary.unk }
        let mode = requested ?? (vocabularyFile != nil ? .replace : unseen.isEmpty ? .keep : .extend)
        if vocabularyFile != nil && mode != .replace {
            throw BiLMError.vocabularyFileNeedsReplace(mode: mode)
        }
        let vocabulary: Vocabulary
        switch mode {
        case .keep:
            vocabulary = old
        case .extend:
            let room = maxSize.map { max(0, $0 - old.count) } ?? unseen.count
            vocabulary = try Vocabulary(words: old.words + unseen.prefix(room).map(\.word))
        case .replace:
            if let file = vocabularyFile {
                var vocab = try Vocabulary(contentsOf: file)
                if let max = maxSize, max < vocab.count { vocab = try Vocabulary(words: Array(vocab.words.prefix(max))) }
                vocabulary = vocab
            } else {
                vocabulary = try Vocabulary.build(files: textFiles, maxSize: maxSize)
            }
        }
        let sourceRows: [Int32?] = vocabulary.words.map { word in
            let id = old.id(of: word)
            return id != old.unkId || word == Vocabulary.unk ? id : nil
        }
        let total = counts.reduce(0) { $0 + $1.count }
        let unknown = counts.reduce(0) { $0 + (vocabulary.id(of: $1.word) == vocabulary.unkId ? $1.count : 0) }
        guard unknown < total else {
            throw BiLMError.allUnknown(files: textFiles, tokens: total, mode: mode)
        }
        return VocabularyAdaptation(mode: mode, vocabulary: vocabulary, sourceRows: sourceRows, textTokens: total,
                                    unknownTokens: unknown)
    }

    /// One line for the user: the mode, the sizes, how many words were added and how much of the text is `<UNK>`.
    public func summary(oldCount: Int) -> String {
        let unknown = String(format: "%d of its %d tokens (%.1f%%) are <UNK> targets", unknownTokens, textTokens,
                             100 * Double(unknownTokens) / Double(max(textTokens, 1)))
        switch mode {
        case .keep: return "vocabulary: keep: \(oldCount) words unchanged; \(unknown)"
        case .extend: return "vocabulary: extend: added \(newRowCount) words of the new text (\(oldCount) → \(vocabulary.count)); \(unknown)"
        case .replace: return "vocabulary: replace: \(vocabulary.count) words from the new text, \(vocabulary.count - newRowCount) rows copied, \(newRowCount) new; \(unknown)"
        }
    }

    /// The softmax weight `[V', P]` and bias `[V']` of the new vocabulary: copied rows from `oldWeight`/`oldBias`
    /// (`[V, P]`, `[V]`), new rows by `initialisation`. Without an old softmax every row is new and comes from the
    /// char-CNN encodings (the mean of no rows does not exist).
    public func softmaxRows(oldWeight: Tensor?, oldBias: Tensor?, oldVocabulary: Vocabulary, encoder: TokenEncoder,
                            maxCharacters: Int, initialisation: NewRowInitialisation) -> (weight: Tensor, bias: Tensor) {
        let p = encoder.outputSize, v = vocabulary.count
        var weight = Tensor(zeros: [v, p]), bias = Tensor(zeros: [v])
        let newIds = sourceRows.indices.filter { sourceRows[$0] == nil }
        if let oldWeight, let oldBias {
            for (id, source) in sourceRows.enumerated() {
                guard let source = source.map(Int.init) else { continue }
                for j in 0..<p { weight[flat: id * p + j] = oldWeight.scalars[source * p + j] }
                bias[flat: id] = oldBias.scalars[source]
            }
            guard !newIds.isEmpty else { return (weight, bias) }
            let oldRows = oldVocabulary.count
            switch initialisation {
            case .mean:
                var meanWeight = [Double](repeating: 0, count: p), meanBias = 0.0
                for r in 0..<oldRows {
                    for j in 0..<p { meanWeight[j] += Double(oldWeight.scalars[r * p + j]) }
                    meanBias += Double(oldBias.scalars[r])
                }
                for id in newIds {
                    for j in 0..<p { weight[flat: id * p + j] = Float(meanWeight[j] / Double(oldRows)) }
                    bias[flat: id] = Float(meanBias / Double(oldRows))
                }
            case .charCNN:
                // [E 1]·A ≈ [W b] over the old words, A by ridge least squares; new rows = [E_new 1]·A.
                let oldEncodings = Self.encode(oldVocabulary.words, encoder: encoder, maxCharacters: maxCharacters)
                var targets = [Float](repeating: 0, count: oldRows * (p + 1))
                for r in 0..<oldRows {
                    for j in 0..<p { targets[r * (p + 1) + j] = oldWeight.scalars[r * p + j] }
                    targets[r * (p + 1) + p] = oldBias.scalars[r]
                }
                let map = LeastSquares.ridgeMap(inputs: oldEncodings.scalars, targets: targets, rows: oldRows, inputSize: p,
                                                outputSize: p + 1)
                let encodings = Self.encode(newIds.map { vocabulary.words[$0] }, encoder: encoder, maxCharacters: maxCharacters)
                let mapped = LeastSquares.apply(map, to: encodings.scalars, rows: newIds.count, inputSize: p, outputSize: p + 1)
                for (k, id) in newIds.enumerated() {
                    for j in 0..<p { weight[flat: id * p + j] = mapped[k * (p + 1) + j] }
                    bias[flat: id] = mapped[k * (p + 1) + p]
                }
            }
        } else {
            let encodings = Self.encode(vocabulary.words, encoder: encoder, maxCharacters: maxCharacters)
            weight = encodings.reshaped([v, p])
        }
        return (weight, bias)
    }

    /// The token encoder's outputs for `words` `[N, P]`, a few thousand words per call.
    static func encode(_ words: [String], encoder: TokenEncoder, maxCharacters: Int) -> Tensor {
        var parts: [Tensor] = []
        for start in stride(from: 0, to: words.count, by: 4096) {
            let slice = words[start..<min(start + 4096, words.count)]
            var chars: [Int32] = []
            chars.reserveCapacity(slice.count * maxCharacters)
            for word in slice { CharacterIds.append(word, maxCharacters: maxCharacters, to: &chars) }
            var cache = TokenEncoder.Cache()
            parts.append(encoder.forward(chars, tokenCount: slice.count, cache: &cache))
        }
        return parts.isEmpty ? Tensor(zeros: [0, encoder.outputSize]) : Tensor.concatenatingRows(parts)
    }
}
