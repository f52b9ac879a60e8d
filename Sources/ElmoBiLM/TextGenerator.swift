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
        _ = model.requiredSoftmax("TextGenerator.generate")
        var rng = RandomGenerator(seed: seed)
        var states = model.zeroStates(batch: 1)
        var logProbabilities: [Float] = []
        /// Runs the forward LM one token on from the carried state; with `predicting`, its softmax gives the
        /// log-probabilities of the next word.
        func feed(_ token: String, predicting: Bool) {
            let ids = CharacterIds.ids(for: token, maxCharacters: model.maxCharacters)
            let step = StreamBatch(batchSize: 1, steps: 1, maxCharacters: model.maxCharacters, forwardCharacters: ids,
                                   forwardTargets: [-1], backwardCharacters: ids, backwardTargets: [-1])
            let pass = model.forward(BiLMPass(input: .streams(step, states: states), directions: .forwardOnly,
                                              softmax: predicting ? .logProbabilities : .none))
            states = pass.states
            if predicting { logProbabilities = pass.forwardLogProbabilities!.scalars }
        }
        let context = [Vocabulary.bos] + prompt
        for (k, token) in context.enumerated() { feed(token, predicting: k == context.count - 1 && maxTokens > 0) }
        var generated: [String] = []
        while generated.count < maxTokens {
            let next = sample(logProbabilities, temperature: temperature, topK: topK, rng: &rng)
            if next == vocabulary.eosId { break }
            let word = vocabulary[next]
            generated.append(word)
            feed(word, predicting: generated.count < maxTokens)
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
