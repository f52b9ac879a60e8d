import ElmoBiLM
import ElmoTensor
import ElmoText
import Foundation

/// Contextual word vectors from a pre-trained biLM.
///
/// For a sentence of n tokens, `embed` returns a `[L+1, n, 2P]` tensor: layer 0 is the token encoder's output
/// duplicated `[x; x]`, layer k is `[forward_k; backward_k]`. `<S>` and `</S>` are added for the biLM and removed
/// again. Each sentence starts from a zero LSTM state and sees only its own tokens, so its vectors do not depend on
/// the other sentences of its batch; batches group sentences of similar length (bucketing) to limit padding.
public final class ContextualEmbedder {
    public let model: BiLanguageModel
    public let vocabulary: Vocabulary
    /// Where the token encodings come from: nil, the model's encoder for every token; else this exact cache
    /// (`useTokenCache`), whose vectors do not depend on the batch.
    public private(set) var tokenCache: TokenEncodingCache?

    public init(model: BiLanguageModel, vocabulary: Vocabulary) {
        self.model = model
        self.vocabulary = vocabulary
    }

    /// Loads a checkpoint file or run folder.
    public convenience init(checkpoint: String) throws {
        let contents = try BiLMCheckpoint.load(checkpoint)
        self.init(model: contents.model, vocabulary: contents.vocabulary)
    }

    /// Encodes tokens through a frozen copy of the model's encoder with a cache of `capacity` word types (0: the
    /// frozen encoder without a cache; vectors are bitwise the same for every capacity). The model's weights must not
    /// change afterwards.
    public func useTokenCache(capacity: Int) {
        tokenCache = TokenEncodingCache(encoder: FrozenTokenEncoder(model.encoder), capacity: capacity)
    }

    /// L + 1 representations per token.
    public var layerCount: Int { model.layerCount + 1 }
    /// 2P features per representation.
    public var dimension: Int { 2 * model.projectionSize }

    /// `[L+1, n, 2P]` per sentence, in input order. Sentences must not be empty. A batch holds at most `batchSize`
    /// sentences and, with `maxBatchTokens`, at most that many padded tokens (see `LengthBuckets`).
    public func embed(_ sentences: [[String]], batchSize: Int = 32, maxBatchTokens: Int? = nil) -> [Tensor] {
        var results = [Tensor?](repeating: nil, count: sentences.count)
        for batch in Self.buckets(lengths: sentences.map(\.count), batchSize: batchSize, maxTokens: maxBatchTokens) {
            let outputs = embedBatch(batch.map { sentences[$0] })
            for (k, index) in batch.enumerated() { results[index] = outputs[k] }
        }
        return results.map { $0! }
    }

    /// One mixed vector per token (`[n, 2P]` per sentence).
    public func embed(_ sentences: [[String]], mix: ScalarMix, batchSize: Int = 32, maxBatchTokens: Int? = nil) -> [Tensor] {
        embed(sentences, batchSize: batchSize, maxBatchTokens: maxBatchTokens).map { VectorSource.mix(mix).select($0) }
    }

    /// Sentence indices grouped into batches of similar length (sorted by length, stable), at most `batchSize` each
    /// and at most `maxTokens` padded tokens.
    public static func buckets(lengths: [Int], batchSize: Int, maxTokens: Int? = nil) -> [[Int]] {
        LengthBuckets.batches(lengths: lengths, batchSize: batchSize, maxTokens: maxTokens)
    }

    /// Pads the batch to its longest sentence (+2 for `<S>`/`</S>`, padding chars are the mask id 0) and runs the biLM once.
    func embedBatch(_ sentences: [[String]]) -> [Tensor] {
        let (chars, steps, lengths) = Self.characterBatch(sentences, maxCharacters: model.maxCharacters)
        let layers = model.layerOutputs(characters: chars, batchSize: sentences.count, steps: steps, lengths: lengths,
                                        tokenEncodings: tokenCache)
        let d = dimension
        return sentences.enumerated().map { b, sentence in
            let n = sentence.count
            var out = Tensor(zeros: [layers.count, n, d])
            for (k, layer) in layers.enumerated() {
                let src = (b * steps + 1) * d
                Backends.current.copy(layer.view(MatrixWindow(offset: src, rows: n, columns: d)), into: &out,
                                      MatrixWindow(offset: k * n * d, rows: n, columns: d))
            }
            return out
        }
    }

    /// The biLM's input for a batch: each sentence wrapped in `<S>` … `</S>`, padded to the longest (padding chars
    /// are the mask id 0). Returns the character ids `[B * steps * W]`, steps, and each row's length (n + 2).
    static func characterBatch(_ sentences: [[String]], maxCharacters w: Int) -> (chars: [Int32], steps: Int, lengths: [Int]) {
        let steps = (sentences.map(\.count).max() ?? 0) + 2
        var chars: [Int32] = []
        chars.reserveCapacity(sentences.count * steps * w)
        for sentence in sentences {
            for token in [Vocabulary.bos] + sentence + [Vocabulary.eos] { CharacterIds.append(token, maxCharacters: w, to: &chars) }
            chars.append(contentsOf: repeatElement(0, count: (steps - sentence.count - 2) * w))
        }
        return (chars, steps, sentences.map { $0.count + 2 })
    }
}
