import ElmoTensor
import Foundation

/// Sizes of the character encoder; `filters` uses bilm-tf's `options.json` form `[[width, count], ...]`.
///
/// Decoding fills missing keys with the defaults below (only `filters` is required) and validates the result,
/// so a bad config file fails with a `CharCNNConfigError` instead of a crash.
public struct CharCNNConfig: Codable, Equatable {
    public var characterVocabularySize: Int = 262
    public var embeddingDimension: Int = 16
    /// W, characters per token including begin/end-of-word and padding.
    public var maxCharacters: Int = 50
    public var filters: [[Int]]
    public var activation: Kernels.Activation = .relu

    public init(filters: [[Int]], embeddingDimension: Int = 16, maxCharacters: Int = 50, characterVocabularySize: Int = 262,
                activation: Kernels.Activation = .relu) {
        self.filters = filters
        self.embeddingDimension = embeddingDimension
        self.maxCharacters = maxCharacters
        self.characterVocabularySize = characterVocabularySize
        self.activation = activation
    }

    enum CodingKeys: String, CodingKey {
        case characterVocabularySize, embeddingDimension, maxCharacters, filters, activation
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        filters = try c.decode([[Int]].self, forKey: .filters)
        characterVocabularySize = try c.decodeIfPresent(Int.self, forKey: .characterVocabularySize) ?? 262
        embeddingDimension = try c.decodeIfPresent(Int.self, forKey: .embeddingDimension) ?? 16
        maxCharacters = try c.decodeIfPresent(Int.self, forKey: .maxCharacters) ?? 50
        activation = try c.decodeIfPresent(Kernels.Activation.self, forKey: .activation) ?? .relu
        try validate()
    }

    /// Checks every size; `CharCNN.init` requires a config that passes.
    public func validate() throws {
        if characterVocabularySize < 1 { throw CharCNNConfigError.nonPositive(key: "characterVocabularySize", value: characterVocabularySize) }
        if embeddingDimension < 1 { throw CharCNNConfigError.nonPositive(key: "embeddingDimension", value: embeddingDimension) }
        if maxCharacters < 1 { throw CharCNNConfigError.nonPositive(key: "maxCharacters", value: maxCharacters) }
        if filters.isEmpty { throw CharCNNConfigError.noFilters }
        for (k, filter) in filters.enumerated() {
            guard filter.count == 2, filter[0] >= 1, filter[0] <= maxCharacters, filter[1] >= 1 else {
                throw CharCNNConfigError.badFilter(index: k, filter: filter, maxCharacters: maxCharacters)
            }
        }
    }

    /// F, the encoder's output size: the sum of filter counts.
    public var outputSize: Int { filters.reduce(0) { $0 + $1[1] } }
}

/// A character-encoder config that cannot be built.
public enum CharCNNConfigError: Error, CustomStringConvertible, LocalizedError, Equatable {
    case nonPositive(key: String, value: Int)
    case noFilters
    case badFilter(index: Int, filter: [Int], maxCharacters: Int)

    public var description: String {
        switch self {
        case let .nonPositive(key, value):
            return "char CNN config: \(key) must be at least 1, but is \(value)."
        case .noFilters:
            return "char CNN config: filters is empty; give at least one [width, count] pair, e.g. [[1, 32], [2, 32]]."
        case let .badFilter(index, filter, maxCharacters):
            return "char CNN config: filters[\(index)] is \(filter); each filter must be [width, count] with "
                + "1 <= width <= maxCharacters (\(maxCharacters)) and count >= 1."
        }
    }

    public var errorDescription: String? { description }
}

/// ELMo's character encoder: `y[n, :] = act(concat_k(max_p conv_k(E[chars(n)])[p, :] + bias_k))`.
///
/// N tokens, W = `maxCharacters`, D = `embeddingDimension`, V = `characterVocabularySize`, F = `outputSize`.
/// The characters of each token are embedded (`[W, D]`), each filter k of width w_k slides over all W positions
/// (padding characters included, as bilm-tf and PyTorch do; char id 0 is the mask, whose embedding row stays
/// zero), the maximum over the P_k = W − w_k + 1 positions is taken per output channel, and the activation is
/// applied to the concatenation. Adding the bias after the max is exact (it is constant over positions) and
/// saves N·P_k·count_k additions.
///
/// The convolution runs through per-offset lookup tables (`Backend.charConvolutionMax`): D times fewer
/// operations than im2col + gemm. Backward only touches the winning positions. A tie goes to the first position;
/// in practice ties come from identical windows (runs of padding), which give every parameter the same gradient
/// however the tie is split (PyTorch's `amax` splits it evenly), so the gradients match the reference's.
///
/// - Parameters:
///   - `characterEmbedding`: `[V, D]`, padding index 0, named `"\(name)/char_embed/weight"`.
///   - `convolutions[k]`: `[w_k·D, count_k]` with row `offset·D + d`, i.e. `K[offset·D + d, c]` is PyTorch's
///     `Conv1d.weight[c, d, offset]` (bilm-tf's `W_cnn_k[0, offset, d, c]`), named `"\(name)/conv_\(k)/weight"`; `convolutionBiases[k]`: `[count_k]`, `".../bias"`.
///     Both initialised as PyTorch's `Conv1d` default, uniform in ±1/√(w_k·D).
public final class CharCNN: Layer {
    public let config: CharCNNConfig
    public let characterEmbedding: Embedding
    public let convolutions: [Parameter]
    public let convolutionBiases: [Parameter]

    public var outputSize: Int { config.outputSize }

    public init(config: CharCNNConfig, name: String, rng: inout RandomGenerator) {
        do { try config.validate() } catch { preconditionFailure("CharCNN: \(error)") }
        self.config = config
        let D = config.embeddingDimension
        characterEmbedding = Embedding(vocabularySize: config.characterVocabularySize, dimension: D, paddingIndex: 0,
                                       name: "\(name)/char_embed", rng: &rng)
        var weights: [Parameter] = []
        var biases: [Parameter] = []
        for (k, filter) in config.filters.enumerated() {
            let (width, count) = (filter[0], filter[1])
            let limit = 1 / Float(width * D).squareRoot()
            weights.append(Parameter(name: "\(name)/conv_\(k)/weight", value: .uniform([width * D, count], limit: limit, rng: &rng)))
            biases.append(Parameter(name: "\(name)/conv_\(k)/bias", value: .uniform([count], limit: limit, rng: &rng)))
        }
        convolutions = weights
        convolutionBiases = biases
    }

    public var parameters: [Parameter] {
        [characterEmbedding.weight] + zip(convolutions, convolutionBiases).flatMap { [$0, $1] }
    }

    /// What backward reads: the char ids, the winning position per (token, channel) and the activated output.
    public struct Cache {
        /// `[N, W]` char ids.
        public var chars: [Int32] = []
        public var tokenCount = 0
        /// `[N, F]`, filter k's channels in its column block (as in the output).
        public var argmax: [Int32] = []
        /// `[N, F]`, the layer output (the activation backward is written in terms of it).
        public var output = Tensor(zeros: [0])
        public init() {}
    }

    /// The column where filter k's channels start in the `[N, F]` output.
    private var columnOffsets: [Int] {
        config.filters.reduce(into: [0]) { $0.append($0.last! + $1[1]) }
    }

    /// chars: `N·W` ids, token-major (W = `maxCharacters` per token), each in `0..<V` → y `[N, F]`.
    public func forward(_ chars: [Int32], tokenCount: Int, cache: inout Cache) -> Tensor {
        let (y, argmax) = convolve(chars, tokenCount: tokenCount, tables: convolutionTables())
        cache.chars = chars
        cache.tokenCount = tokenCount
        cache.argmax = argmax
        cache.output = y
        return y
    }

    /// Filter k's per-offset lookup tables `[width_k, V, count_k]`: T[o] = E · K[o·D ..< (o+1)·D, :]. They depend on
    /// the weights only, so an inference encoder makes them once (`forward(_:tokenCount:tables:)`).
    public func convolutionTables() -> [Tensor] {
        let D = config.embeddingDimension, V = config.characterVocabularySize
        let backend = Backends.current
        let embedding = characterEmbedding.weight.value.matrix
        return config.filters.enumerated().map { k, filter in
            let (width, count) = (filter[0], filter[1])
            var tables = Tensor(zeros: [width, V, count])
            for o in 0..<width {
                backend.gemm(embedding, convolutions[k].value.rowBlock(o * D..<(o + 1) * D, columns: count), into: &tables,
                             .rows(o * V..<(o + 1) * V, columns: count))
            }
            return tables
        }
    }

    /// The inference forward over tables from `convolutionTables()`: chars `[N·W]` → y `[N, F]`, nothing kept.
    /// Each token's row depends on its characters and the tables only (the kernels work token by token).
    public func forward(_ chars: [Int32], tokenCount: Int, tables: [Tensor]) -> Tensor {
        convolve(chars, tokenCount: tokenCount, tables: tables).y
    }

    private func convolve(_ chars: [Int32], tokenCount: Int, tables: [Tensor]) -> (y: Tensor, argmax: [Int32]) {
        let W = config.maxCharacters, V = config.characterVocabularySize, F = outputSize
        precondition(chars.count == tokenCount * W,
                     "CharCNN expects \(tokenCount) tokens × \(W) chars = \(tokenCount * W) ids, but got \(chars.count).")
        if let bad = chars.firstIndex(where: { $0 < 0 || Int($0) >= V }) {
            preconditionFailure("CharCNN char id \(chars[bad]) at position \(bad) is outside 0..<\(V).")
        }
        precondition(tables.count == config.filters.count, "CharCNN got \(tables.count) tables for \(config.filters.count) filters.")
        var y = Tensor(zeros: [tokenCount, F])
        var argmax = [Int32](repeating: 0, count: tokenCount * F)
        guard tokenCount > 0 else { return (y, argmax) }
        let backend = Backends.current
        let offsets = columnOffsets
        for (k, filter) in config.filters.enumerated() {
            let (width, count) = (filter[0], filter[1])
            backend.charConvolutionMax(tables: tables[k], chars: chars, tokens: tokenCount, charsPerToken: W, width: width,
                                       into: &y, argmax: &argmax, columnOffset: offsets[k])
            backend.addRowVector(convolutionBiases[k].value, to: &y, .columns(offsets[k]..<offsets[k] + count, rows: tokenCount, width: F))
        }
        backend.activate(config.activation, &y)
        return (y, argmax)
    }

    /// dy `[N, F]`; accumulates into the char embedding (except its padding row), every kernel and bias.
    /// There is no input gradient: the input is ids.
    public func backward(_ dy: Tensor, cache: Cache) {
        let N = cache.tokenCount, W = config.maxCharacters, D = config.embeddingDimension
        let V = config.characterVocabularySize, F = outputSize
        precondition(dy.count == N * F && cache.output.count == N * F,
                     "CharCNN backward got dy \(dy.shape) for an output of \(cache.output.shape).")
        if N == 0 { return }
        // In the forward pass this was y = act(pre), so d(pre) = dy · act'(y).
        let backend = Backends.current
        var dPre = Tensor(zeros: [N, F])
        backend.activateBackward(config.activation, output: cache.output, gradient: dy, into: &dPre)
        let offsets = columnOffsets
        let embedding = characterEmbedding.weight.value.matrix
        for (k, filter) in config.filters.enumerated() {
            let (width, count) = (filter[0], filter[1])
            backend.addColumnSums(dPre.view(.columns(offsets[k]..<offsets[k] + count, rows: N, width: F)),
                                  into: &convolutionBiases[k].gradient)
            var dTables = Tensor(zeros: [width, V, count])
            backend.charConvolutionMaxBackward(dPre, argmax: cache.argmax, columnOffset: offsets[k], chars: cache.chars, tokens: N,
                                               charsPerToken: W, width: width, into: &dTables)
            // In the forward pass this was T[o] = E · K[o], so dK[o] += Eᵀ · dT[o] and dE += dT[o] · K[o]ᵀ.
            for o in 0..<width {
                backend.gemm(embedding, transposeA: true, dTables.rowBlock(o * V..<(o + 1) * V, columns: count), beta: 1,
                             into: &convolutions[k].gradient, .rows(o * D..<(o + 1) * D, columns: count))
            }
            // The padding row gets no gradient; clear it only now, after it took part in dK above.
            if let padding = characterEmbedding.paddingIndex {
                for o in 0..<width { backend.fill(&dTables, .rows(o * V + padding..<o * V + padding + 1, columns: count), with: 0) }
            }
            let kernel = convolutions[k].value
            for o in 0..<width {
                backend.gemm(dTables.rowBlock(o * V..<(o + 1) * V, columns: count), kernel.rowBlock(o * D..<(o + 1) * D, columns: count),
                             transposeB: true, beta: 1, into: &characterEmbedding.weight.gradient,
                             characterEmbedding.weight.gradient.wholeWindow)
            }
        }
    }
}
