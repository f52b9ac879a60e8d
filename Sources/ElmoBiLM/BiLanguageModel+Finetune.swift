import ElmoLayers
import ElmoTensor

/// Fine-tuning support: the layer outputs of `layerOutputs`, computed with a cache, and their backward pass down
/// through both LSTM stacks and the token encoder, so a task head's gradient can train the biLM.
extension BiLanguageModel {
    /// What `backwardLayerOutputs` reads: the token encoder's and both stacks' caches, and the batch layout.
    public struct LayerOutputsCache {
        var encoder = TokenEncoder.Cache()
        var forward = LSTMStack.Cache()
        var backward = LSTMStack.Cache()
        var batch = 0
        var steps = 0
        var lengths: [Int] = []
        public init() {}
    }

    /// `layerOutputs`, keeping what the backward pass needs. With `training`, the stacks apply the biLM's own dropout
    /// (options `dropout`) to each layer's input, drawn from `rng`.
    ///
    /// chars `[B * T * W]`, `lengths[b]` ≤ T → L+1 tensors `[B, T, 2P]`: `[x; x]`, then `[fwd_k; bwd_k]`.
    public func layerOutputsWithCache(characters: [Int32], batchSize b: Int, steps t: Int, lengths: [Int], training: Bool,
                                      rng: inout RandomGenerator, cache: inout LayerOutputsCache) -> [Tensor] {
        precondition(characters.count == b * t * maxCharacters && lengths.count == b,
                     "layerOutputsWithCache: \(characters.count) character ids and \(lengths.count) lengths for [\(b), \(t)] x \(maxCharacters).")
        let p = projectionSize
        cache.batch = b
        cache.steps = t
        cache.lengths = lengths
        let embedded = encoder.forward(characters, tokenCount: b * t, cache: &cache.encoder).reshaped([b, t, p])
        let (fo, _) = forwardStack.forward(embedded, states: forwardStack.zeroStates(batch: b), training: training, rng: &rng,
                                           cache: &cache.forward)
        let (bo, _) = backwardStack.forward(embedded.reversingSteps(lengths: lengths), states: backwardStack.zeroStates(batch: b),
                                            training: training, rng: &rng, cache: &cache.backward)
        return Self.assembleLayers(embedded: embedded, forward: fo, backward: bo, lengths: lengths)
    }

    /// dLayers: L+1 tensors `[B, T, 2P]` (∂loss/∂ each output of `layerOutputsWithCache`; zero at padding) →
    /// accumulates into the token encoder's and both stacks' parameter gradients.
    ///
    /// In the forward pass layer 0 was `[x; x]` and layer k `[fwd_k; reverse(bwd_k)]`, where each stack's layer k
    /// output also feeds layer k + 1. So each stack gets the gradient of *every* layer's output (not only the top's),
    /// the backward stack's reversed, and x collects both halves of layer 0 plus both stacks' input gradients.
    public func backwardLayerOutputs(_ dLayers: [Tensor], cache: LayerOutputsCache) {
        let b = cache.batch, t = cache.steps, p = projectionSize, lengths = cache.lengths
        precondition(dLayers.count == layerCount + 1 && dLayers.allSatisfy { $0.shape == [b, t, 2 * p] },
                     "backwardLayerOutputs got \(dLayers.map(\.shape)), but the forward pass produced \(layerCount + 1) x [\(b), \(t), \(2 * p)].")
        var dForwardOutputs: [Tensor] = [], dBackwardOutputs: [Tensor] = []
        for k in 0..<layerCount {
            let (df, db) = dLayers[k + 1].splittingColumns(at: p)
            dForwardOutputs.append(df)
            dBackwardOutputs.append(db.reversingSteps(lengths: lengths))
        }
        let (d0a, d0b) = dLayers[0].splittingColumns(at: p)
        var dEmbedded = d0a
        dEmbedded.add(d0b)
        if layerCount > 0 {
            dEmbedded.add(Self.backwardAllOutputs(forwardStack, dForwardOutputs, cache: cache.forward))
            dEmbedded.add(Self.backwardAllOutputs(backwardStack, dBackwardOutputs, cache: cache.backward).reversingSteps(lengths: lengths))
        }
        encoder.backward(dEmbedded.reshaped([b * t, p]), cache: cache.encoder)
    }

    /// An LSTM stack's backward given the gradient of each layer's output (`LSTMStack.backward` takes the top only):
    /// going down, layer k's input gradient (through its dropout) adds to the gradient of layer k − 1's output.
    /// Returns the gradient of the stack's input `[B, T, P]`.
    static func backwardAllOutputs(_ stack: LSTMStack, _ dOutputs: [Tensor], cache: LSTMStack.Cache) -> Tensor {
        var d = dOutputs[dOutputs.count - 1]
        for k in stack.layers.indices.reversed() {
            d = stack.dropout.backward(stack.layers[k].backward(d, cache: cache.layers[k]), cache: cache.dropouts[k])
            if k > 0 { d.add(dOutputs[k - 1]) }
        }
        return d
    }

    /// Parameter groups for discriminative fine-tuning, bottom first: the token encoder, then LSTM layer k of both
    /// directions for k = 0..<L. (The softmax is not used by the layer outputs and belongs to no group.)
    public var finetuneParameterGroups: [[Parameter]] {
        [encoder.parameters] + (0..<layerCount).map { forwardStack.layers[$0].parameters + backwardStack.layers[$0].parameters }
    }
}
