import ElmoTensor

/// A task head's bidirectional recurrent encoder over a padded batch: a biLSTM or a biGRU (`--encoder`), with one
/// interface so the heads do not branch on the cell type. x `[B, T, I]`, lengths `[B]` → `[B, T, 2H]`, zero at padding.
public enum MaskedRecurrentEncoder {
    case lstm(MaskedBiLSTM)
    case gru(MaskedBiGRU)

    /// Builds the encoder named `name` (its parameters are `<name>/forward/…` and `<name>/backward/…`).
    public init(gru: Bool, inputSize: Int, hiddenSize: Int, name: String, rng: inout RandomGenerator) {
        self = gru ? .gru(MaskedBiGRU(inputSize: inputSize, hiddenSize: hiddenSize, name: name, rng: &rng))
                   : .lstm(MaskedBiLSTM(inputSize: inputSize, hiddenSize: hiddenSize, name: name, rng: &rng))
    }

    /// What backward reads (only the built cell type's part is used).
    public struct Cache {
        var lstm = MaskedBiLSTM.Cache()
        var gru = MaskedBiGRU.Cache()
        public init() {}
    }

    public var parameters: [Parameter] {
        switch self {
        case .lstm(let layer): return layer.parameters
        case .gru(let layer): return layer.parameters
        }
    }

    public var outputSize: Int {
        switch self {
        case .lstm(let layer): return layer.outputSize
        case .gru(let layer): return layer.outputSize
        }
    }

    public func forward(_ x: Tensor, lengths: [Int], cache: inout Cache) -> Tensor {
        switch self {
        case .lstm(let layer): return layer.forward(x, lengths: lengths, cache: &cache.lstm)
        case .gru(let layer): return layer.forward(x, lengths: lengths, cache: &cache.gru)
        }
    }

    public func backward(_ dy: Tensor, cache: Cache) -> Tensor {
        switch self {
        case .lstm(let layer): return layer.backward(dy, cache: cache.lstm)
        case .gru(let layer): return layer.backward(dy, cache: cache.gru)
        }
    }
}
