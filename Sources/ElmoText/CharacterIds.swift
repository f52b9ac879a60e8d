/// ELMo character ids: a token becomes W ids `[BOW, b1, ..., bk, EOW, pad, ...] + 1`, where b1...bk are the UTF-8 bytes
/// of the token cut to W - 2 bytes (the cut may fall inside a multi-byte character, as in bilm-tf and the PyTorch
/// reference). The sentence markers are one special symbol each: `<S>` -> `[BOW, BOS, EOW, pad...] + 1`,
/// `</S>` -> `[BOW, EOS, EOW, pad...] + 1`. The +1 shift keeps 0 free as the mask id, so ids run 1...261 and the
/// character vocabulary has 262 entries (bilm-tf's `n_characters`).
public enum CharacterIds {
    /// Special symbols before the +1 shift (bytes take 0...255).
    public static let beginSentence: Int32 = 256, endSentence: Int32 = 257, beginWord: Int32 = 258,
        endWord: Int32 = 259, padding: Int32 = 260
    /// Ids 1...261 after the +1 shift; 0 is the mask.
    public static let vocabularySize = 262

    /// The W = `maxCharacters` ids of `token` (shape [W]).
    public static func ids(for token: String, maxCharacters: Int = 50) -> [Int32] {
        var out = [Int32]()
        out.reserveCapacity(maxCharacters)
        append(token, maxCharacters: maxCharacters, to: &out)
        return out
    }

    /// Appends the W = `maxCharacters` ids of `token` to `out`, without allocating per token (for batches [B, T, W]).
    public static func append(_ token: String, maxCharacters: Int, to out: inout [Int32]) {
        precondition(maxCharacters >= 3, "maxCharacters must leave room for BOW, one byte and EOW (>= 3), but is \(maxCharacters).")
        let first = out.count
        out.append(beginWord + 1)
        if token == "<S>" || token == "</S>" {
            out.append((token == "<S>" ? beginSentence : endSentence) + 1)
        } else {
            var taken = 0
            for byte in token.utf8 {
                if taken == maxCharacters - 2 { break }
                out.append(Int32(byte) + 1)
                taken += 1
            }
        }
        out.append(endWord + 1)
        for _ in (out.count - first)..<maxCharacters {
            out.append(padding + 1)
        }
    }
}
