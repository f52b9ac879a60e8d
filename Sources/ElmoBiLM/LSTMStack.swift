import ElmoLayers
import ElmoTensor

/// One direction of the biLM: `n_layers` LSTMP layers, dropout on each layer's input, and a residual connection
/// from the second layer on (bilm-tf's ResidualWrapper adds the layer's — dropped-out — input to its output).
///
/// B batch, T steps, P projection size. x `[B, T, P]` → one output `[B, T, P]` per layer.
public final class LSTMStack: Layer {
    public let layers: [LSTMWithProjection]
    public let dropout: Dropout

    public init(options: BiLMOptions, name: String, rng: inout RandomGenerator) {
        let p = options.lstm.projectionSize
        let residual = options.lstm.useSkipConnections ?? true
        layers = (0..<options.lstm.layerCount).map { k in
            LSTMWithProjection(inputSize: p, cellSize: options.lstm.cellSize, projectionSize: p,
                               cellClip: options.lstm.cellClip, projectionClip: options.lstm.projectionClip,
                               forgetBias: 1, residual: residual && k > 0, name: "\(name)/layer_\(k)", rng: &rng)
        }
        dropout = Dropout(probability: options.dropout)
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    public func zeroStates(batch: Int) -> [LSTMWithProjection.State] {
        layers.map { $0.zeroState(batch: batch) }
    }

    public struct Cache {
        var dropouts: [Dropout.Cache] = []
        var layers: [LSTMWithProjection.Cache] = []
        public init() {}

        /// Each layer's memory cells of the last forward pass, `[B, T, C]` (`LSTMWithProjection.Cache.memoryCells`).
        public var memoryCells: [Tensor] { layers.map(\.memoryCells) }
    }

    /// x `[B, T, P]` with the carried `states` (one per layer) → (outputs per layer, final states). Layer k's input
    /// dropout draws from `masks.site(k)`.
    public func forward(_ x: Tensor, states: [LSTMWithProjection.State], training: Bool, masks: Dropout.MaskSource = .generator,
                        rng: inout RandomGenerator, cache: inout Cache) -> (outputs: [Tensor], states: [LSTMWithProjection.State]) {
        precondition(states.count == layers.count, "LSTMStack has \(layers.count) layers, but \(states.count) states were given.")
        cache.dropouts = Array(repeating: Dropout.Cache(), count: layers.count)
        cache.layers = Array(repeating: LSTMWithProjection.Cache(), count: layers.count)
        var input = x
        var outputs: [Tensor] = []
        var finals: [LSTMWithProjection.State] = []
        for (k, layer) in layers.enumerated() {
            let dropped = dropout.forward(input, training: training, source: masks.site(k), rng: &rng, cache: &cache.dropouts[k])
            let (y, final) = layer.forward(dropped, initial: states[k], cache: &cache.layers[k])
            outputs.append(y)
            finals.append(final)
            input = y
        }
        return (outputs, finals)
    }

    /// dOutputs: the gradient of each layer's output `[B, T, P]` (nil: none; the top layer's must be given, and a
    /// softmax only gives that one) → dx `[B, T, P]`. Going down, layer k's input gradient (through its dropout) adds
    /// to the gradient of layer k − 1's output, which also fed layer k. `layerFinal(k)` is called as soon as layer k's
    /// parameter gradients are complete (top layer first), so a data-parallel reducer can send them while the
    /// layers below still compute.
    public func backward(_ dOutputs: [Tensor?], cache: Cache, layerFinal: ((Int) -> Void)? = nil) -> Tensor {
        precondition(dOutputs.count == layers.count, "LSTMStack has \(layers.count) layers, but \(dOutputs.count) output gradients were given.")
        guard var d = dOutputs[layers.count - 1] else { preconditionFailure("LSTMStack.backward needs the top layer's output gradient.") }
        for k in layers.indices.reversed() {
            let dInput = layers[k].backward(d, cache: cache.layers[k])
            layerFinal?(k)
            d = dropout.backward(dInput, cache: cache.dropouts[k])
            if k > 0, let below = dOutputs[k - 1] { d.add(below) }
        }
        return d
    }
}
