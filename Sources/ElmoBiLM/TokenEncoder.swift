import ElmoLayers
import ElmoTensor

/// ELMo's character-aware token encoder: `projection(highway(charCNN(chars)))`.
///
/// N tokens, W characters per token, F = Σ filter counts, P = projection size.
/// chars `[N * W]` → `[N, P]`. The output is layer 0 of the contextual representations.
public final class TokenEncoder: Layer {
    public let charCNN: CharCNN
    public let highway: Highway
    public let projection: Linear

    /// - Parameter namePrefix: put before every parameter name (e.g. `"task_encoder/"`), so two encoders can be
    ///   stored in one archive.
    public init(options: BiLMOptions, namePrefix: String = "", rng: inout RandomGenerator) {
        charCNN = CharCNN(config: options.charCNNConfig, name: namePrefix + "char_cnn", rng: &rng)
        highway = Highway(size: charCNN.outputSize, layerCount: options.charCNN.highwayLayers, activation: .relu,
                          gateBias: options.highwayGateBias ?? -2, name: namePrefix + "highway", rng: &rng)
        projection = Linear(inputSize: charCNN.outputSize, outputSize: options.lstm.projectionSize,
                            name: namePrefix + "projection", rng: &rng)
    }

    public var parameters: [Parameter] { charCNN.parameters + highway.parameters + projection.parameters }
    public var outputSize: Int { projection.outputSize }

    public struct Cache {
        var cnn = CharCNN.Cache()
        var highway = Highway.Cache()
        var projection = Linear.Cache()
        public init() {}
    }

    /// chars `[N * W]` → `[N, P]`.
    public func forward(_ chars: [Int32], tokenCount: Int, cache: inout Cache) -> Tensor {
        let features = charCNN.forward(chars, tokenCount: tokenCount, cache: &cache.cnn)
        let mixed = highway.forward(features, cache: &cache.highway)
        return projection.forward(mixed, cache: &cache.projection)
    }

    /// dy `[N, P]`; accumulates into all parameters (the input is ids, so nothing is returned).
    public func backward(_ dy: Tensor, cache: Cache) {
        let dMixed = projection.backward(dy, cache: cache.projection)
        let dFeatures = highway.backward(dMixed, cache: cache.highway)
        charCNN.backward(dFeatures, cache: cache.cnn)
    }
}
