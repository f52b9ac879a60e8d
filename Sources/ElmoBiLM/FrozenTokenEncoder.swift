import ElmoLayers
import ElmoTensor

/// The token encoder prepared for inference: the char convolution's lookup tables made once, the highway and
/// projection weights packed once (`Backend.pack`).
///
/// Why: a token's encoding then depends on its characters only — bitwise, whatever batch it is in and wherever in
/// the batch — because every step is token by token or a packed product, whose rows do not depend on the batch. That
/// is what lets `TokenEncodingCache` reuse an encoding exactly. Build it from weights that no longer change; it does
/// not follow later updates.
public final class FrozenTokenEncoder {
    public let encoder: TokenEncoder
    private let tables: [Tensor]
    private let highwayWeights: [PackedWeight]
    private let projectionWeight: PackedWeight

    public init(_ encoder: TokenEncoder) {
        self.encoder = encoder
        tables = encoder.charCNN.convolutionTables()
        highwayWeights = encoder.highway.layers.map { $0.packedWeight() }
        projectionWeight = encoder.projection.packedWeight()
    }

    /// W, characters per token.
    public var charactersPerToken: Int { encoder.charCNN.config.maxCharacters }
    /// P, the encoding's size.
    public var outputSize: Int { encoder.outputSize }

    /// chars `[N * W]` → `[N, P]`, equal (to rounding) to `TokenEncoder.forward`.
    public func encode(_ chars: [Int32], tokenCount: Int) -> Tensor {
        let features = encoder.charCNN.forward(chars, tokenCount: tokenCount, tables: tables)
        let mixed = encoder.highway.forward(features, packed: highwayWeights)
        return encoder.projection.forward(mixed, packed: projectionWeight)
    }
}
