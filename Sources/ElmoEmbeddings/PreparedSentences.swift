import ElmoTensor
import ElmoText

/// One biLM batch, ready to run: which windows it holds and their padded character ids.
struct CharacterBatch {
    /// Indices into `PreparedSentences`' windows, in the batch's row order.
    let members: [Int]
    /// `[B * steps * W]` character ids (each window wrapped in `<S>` … `</S>`, padded with the mask id 0).
    let characters: [Int32]
    let steps: Int
    /// Each row's length, n + 2.
    let lengths: [Int]
}

/// Sentences turned into biLM batches ahead of the computation: long ones cut into windows (`OverlongPolicy`),
/// windows grouped by length (`LengthBuckets`), each group's character ids laid out. Everything but the biLM pass
/// itself, so that `elmo embed` prepares the next chunk on another thread while the current one computes.
public struct PreparedSentences {
    /// Windows per sentence, in input order: 1, or more for a line split under `.split`.
    let windowCounts: [Int]
    let batches: [CharacterBatch]

    var windowTotal: Int { batches.reduce(0) { $0 + $1.members.count } }
}

extension ContextualEmbedder {
    /// Sentences (not empty) as batches of at most `batchSize` windows and, with `maxBatchTokens`, at most that many
    /// padded tokens; lines longer than `maxLength` tokens are handled by `overlong` (see `embed(_:maxLength:…)`).
    public func prepare(_ sentences: [[String]], maxLength: Int = .max, overlong: OverlongPolicy = .error, batchSize: Int = 32,
                        maxBatchTokens: Int? = nil) -> PreparedSentences {
        let pieces = sentences.map { overlong.pieces($0, maxLength: maxLength) }
        let windows = pieces.flatMap { $0 }
        let batches = Self.buckets(lengths: windows.map(\.count), batchSize: batchSize, maxTokens: maxBatchTokens).map { members in
            let (characters, steps, lengths) = Self.characterBatch(members.map { windows[$0] }, maxCharacters: model.maxCharacters)
            return CharacterBatch(members: members, characters: characters, steps: steps, lengths: lengths)
        }
        return PreparedSentences(windowCounts: pieces.map(\.count), batches: batches)
    }

    /// `[L+1, n', D]` per prepared sentence, in input order (split windows joined in token order).
    public func embed(_ prepared: PreparedSentences, timings: EmbedTimings? = nil) -> [Tensor] {
        var windows = [Tensor?](repeating: nil, count: prepared.windowTotal)
        for batch in prepared.batches {
            for (index, output) in zip(batch.members, embedBatch(batch, timings: timings)) { windows[index] = output }
        }
        guard prepared.windowCounts.contains(where: { $0 > 1 }) else { return windows.map { $0! } }
        return timings.measure(.outputs) {
            var rest = windows[...]
            return prepared.windowCounts.map { count in
                let parts = rest.prefix(count).map { $0! }
                rest = rest.dropFirst(count)
                return count == 1 ? parts[0] : Self.joinTokens(parts)
            }
        }
    }
}
