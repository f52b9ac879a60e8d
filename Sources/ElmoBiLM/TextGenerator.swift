import ElmoLayers
import ElmoTensor
import ElmoText
import Foundation

/// Text generation by sampling from the forward LM: feed `<S>` and the prompt, then repeatedly sample the next
/// word from softmax(logits / temperature), optionally restricted to the `topK` most likely words, until `</S>`.
public struct TextGenerator {
    public let model: BiLanguageModel
    public let vocabulary: Vocabulary

    public init(model: BiLanguageModel, vocabulary: Vocabulary) {
        self.model = model
        self.vocabulary = vocabulary
    }

    /// The sampled continuation (prompt not included). `<UNK>` is never sampled. The model needs a softmax.
    public func generate(prompt: [String], maxTokens: Int, temperature: Float, topK: Int?, seed: UInt64) -> [String] {
        let softmax = model.requiredSoftmax("TextGenerator.generate")
        var rng = RandomGenerator(seed: seed)
        var dropoutRng = RandomGenerator(seed: 0)
        var states = model.forwardStack.zeroStates(batch: 1)
        var hidden = Tensor(zeros: [1, model.projectionSize])
        func feed(_ token: String) {
            var cache = TokenEncoder.Cache()
            let e = model.encoder.forward(CharacterIds.ids(for: token, maxCharacters: model.maxCharacters), tokenCount: 1, cache: &cache)
            var stackCache = LSTMStack.Cache()
            let (outputs, finals) = model.forwardStack.forward(e.reshaped([1, 1, model.projectionSize]), states: states,
                                                                training: false, rng: &dropoutRng, cache: &stackCache)
            states = finals
            hidden = outputs.last!.reshaped([1, model.projectionSize])
        }
        for token in [Vocabulary.bos] + prompt { feed(token) }
        var generated: [String] = []
        while generated.count < maxTokens {
            let logProbabilities = softmax.logProbabilities(hidden).scalars
            let next = sample(logProbabilities, temperature: temperature, topK: topK, rng: &rng)
            if next == vocabulary.eosId { break }
            let word = vocabulary[next]
            generated.append(word)
            feed(word)
        }
        return generated
    }

    private func sample(_ logProbabilities: [Float], temperature: Float, topK: Int?, rng: inout RandomGenerator) -> Int32 {
        var candidates = Array(logProbabilities.indices).filter { Int32($0) != vocabulary.unkId && Int32($0) != vocabulary.bosId }
        if let k = topK, k > 0, k < candidates.count {
            candidates = Array(candidates.sorted { logProbabilities[$0] > logProbabilities[$1] }.prefix(k))
        }
        if temperature <= 0 { return Int32(candidates.max { logProbabilities[$0] < logProbabilities[$1] }!) }
        let scaled = candidates.map { Double(logProbabilities[$0]) / Double(temperature) }
        let top = scaled.max()!
        let weights = scaled.map { exp($0 - top) }
        var u = rng.nextUniformDouble() * weights.reduce(0, +)
        for (k, w) in weights.enumerated() {
            u -= w
            if u <= 0 { return Int32(candidates[k]) }
        }
        return Int32(candidates.last!)
    }
}
