import ElmoTensor

/// `y[n] = W[ids[n]]`, a lookup table whose gradient touches only the rows that were looked up.
///
/// N ids, V = `vocabularySize`, D = `dimension`. `weight` is `[V, D]`, initialised `N(0, 1)` as PyTorch's
/// `nn.Embedding`. The row `paddingIndex` (if any) starts at zero and never receives gradient, so an id
/// meaning "nothing here" (ELMo's char id 0, the mask) keeps contributing zeros.
public final class Embedding: Layer {
    public let vocabularySize: Int
    public let dimension: Int
    public let weight: Parameter
    public let paddingIndex: Int?

    public init(vocabularySize: Int, dimension: Int, paddingIndex: Int? = nil, name: String, rng: inout RandomGenerator) {
        precondition(vocabularySize > 0 && dimension > 0,
                     "Embedding needs a positive vocabulary size and dimension, but got \(vocabularySize) and \(dimension).")
        if let paddingIndex {
            precondition((0..<vocabularySize).contains(paddingIndex),
                         "Embedding padding index \(paddingIndex) is outside 0..<\(vocabularySize).")
        }
        self.vocabularySize = vocabularySize
        self.dimension = dimension
        self.paddingIndex = paddingIndex
        var table = Tensor.gaussian([vocabularySize, dimension], std: 1, rng: &rng)
        if let paddingIndex {
            for d in 0..<dimension { table[flat: paddingIndex * dimension + d] = 0 }
        }
        weight = Parameter(name: "\(name)/weight", value: table)
    }

    public var parameters: [Parameter] { [weight] }

    /// What backward reads: the ids that were looked up.
    public struct Cache {
        public var ids: [Int32] = []
        public init() {}
    }

    /// ids `[N]` (each in `0..<V`) → y `[N, D]`.
    public func forward(_ ids: [Int32], cache: inout Cache) -> Tensor {
        let y = Backends.current.gatherRows(weight.value, ids: ids)
        cache.ids = ids
        return y
    }

    /// dy `[N, D]`: dW[ids[n]] += dy[n]; rows never looked up (and the padding row) are not written.
    public func backward(_ dy: Tensor, cache: Cache) {
        let D = dimension
        precondition(dy.count == cache.ids.count * D,
                     "Embedding backward got dy \(dy.shape) for \(cache.ids.count) ids of dimension \(D).")
        // The padding row never receives gradient: its ids become −1, which the scatter skips.
        let ids = paddingIndex.map { padding in cache.ids.map { $0 == Int32(padding) ? -1 : $0 } } ?? cache.ids
        Backends.current.scatterAddRows(dy, scales: nil, ids: ids, into: &weight.gradient)
    }
}
