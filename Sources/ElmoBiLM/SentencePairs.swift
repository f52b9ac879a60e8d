import ElmoText

/// The predictions of one sentence `w1 … wn` scored on its own, as both LMs of the biLM make them (the pairs
/// `TokenStreams` builds for a one-sentence stream): forward `<S> w1 … wn → w1 … wn </S>`, backward
/// `</S> wn … w1 → wn … w1 <S>`; n + 1 predictions per direction.
struct SentencePairs {
    /// Input tokens of each direction, `[n + 1]`.
    let forwardInputs: [String], backwardInputs: [String]
    /// Target vocabulary ids of each direction, `[n + 1]` (out-of-vocabulary words → `<UNK>`).
    let forwardTargets: [Int32], backwardTargets: [Int32]

    init(words: [String], vocabulary: Vocabulary) {
        let ids = words.map(vocabulary.id(of:))
        forwardInputs = [Vocabulary.bos] + words
        forwardTargets = ids + [vocabulary.eosId]
        backwardInputs = [Vocabulary.eos] + words.reversed()
        backwardTargets = ids.reversed() + [vocabulary.bosId]
    }

    /// n + 1.
    var count: Int { forwardTargets.count }

    /// Columns `columns` of each sentence's pairs as one batch of `steps` ≥ `columns.count` positions: B = `pairs.count`
    /// rows; positions past a sentence's end are padding (character id 0, target −1, which the softmax ignores).
    static func batch(_ pairs: [SentencePairs], columns: Range<Int>, steps: Int, maxCharacters w: Int) -> StreamBatch {
        precondition(steps >= columns.count, "SentencePairs.batch: \(columns.count) columns do not fit in \(steps) steps.")
        let b = pairs.count
        var forwardCharacters = [Int32](), backwardCharacters = [Int32]()
        forwardCharacters.reserveCapacity(b * steps * w)
        backwardCharacters.reserveCapacity(b * steps * w)
        var forwardTargets = [Int32](repeating: -1, count: b * steps), backwardTargets = forwardTargets
        for (row, sentence) in pairs.enumerated() {
            let kept = columns.clamped(to: 0..<sentence.count)
            for (t, column) in kept.enumerated() {
                CharacterIds.append(sentence.forwardInputs[column], maxCharacters: w, to: &forwardCharacters)
                CharacterIds.append(sentence.backwardInputs[column], maxCharacters: w, to: &backwardCharacters)
                forwardTargets[row * steps + t] = sentence.forwardTargets[column]
                backwardTargets[row * steps + t] = sentence.backwardTargets[column]
            }
            let padding = (steps - kept.count) * w
            forwardCharacters.append(contentsOf: repeatElement(0, count: padding))
            backwardCharacters.append(contentsOf: repeatElement(0, count: padding))
        }
        return StreamBatch(batchSize: b, steps: steps, maxCharacters: w, forwardCharacters: forwardCharacters,
                           forwardTargets: forwardTargets, backwardCharacters: backwardCharacters, backwardTargets: backwardTargets)
    }
}
