import ElmoLayers
import ElmoTensor

/// Fine-tuning support: the layer outputs of `layerOutputs` with what the backward pass needs kept, and that backward
/// pass down through both LSTM stacks and the token encoder, so a task head's gradient can train the biLM.
extension BiLanguageModel {
    /// What `backwardLayerOutputs` reads: the tape of the forward pass.
    public typealias LayerOutputsCache = BiLMTape

    /// `layerOutputs`, keeping what the backward pass needs. With `training`, the stacks apply the biLM's own dropout
    /// (options `dropout`) to each layer's input, drawn from `rng` (forward direction first).
    ///
    /// chars `[B * T * W]`, `lengths[b]` ≤ T → L+1 tensors `[B, T, 2P]`: `[x; x]`, then `[fwd_k; bwd_k]`.
    public func layerOutputsWithCache(characters: [Int32], batchSize b: Int, steps t: Int, lengths: [Int], training: Bool,
                                      rng: inout RandomGenerator, cache: inout LayerOutputsCache) -> [Tensor] {
        let pass = forward(BiLMPass(input: .sentences(characters: characters, batchSize: b, steps: t, lengths: lengths),
                                    training: training, keepForBackward: true, dropoutDraws: .sharedStream), rng: &rng)
        cache = pass.tape!
        return pass.layers
    }

    /// dLayers: L+1 tensors `[B, T, 2P]` (∂loss/∂ each output of `layerOutputsWithCache`; zero at padding) →
    /// accumulates into the token encoder's and both stacks' parameter gradients (`backward(.layers(…))`).
    public func backwardLayerOutputs(_ dLayers: [Tensor], cache: LayerOutputsCache) {
        backward(.layers(dLayers), tape: cache)
    }

    /// Parameter groups for discriminative fine-tuning, bottom first: the token encoder, then LSTM layer k of both
    /// directions for k = 0..<L. (The softmax is not used by the layer outputs and belongs to no group.)
    public var finetuneParameterGroups: [[Parameter]] {
        [encoder.parameters] + (0..<layerCount).map { forwardStack.layers[$0].parameters + backwardStack.layers[$0].parameters }
    }
}
