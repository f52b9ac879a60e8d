import ElmoLayers
import ElmoTensor
import Foundation

/// `mixture = gamma * Σ_k s_k * layer_k` where `s = softmax(w)` (AllenNLP's ScalarMix, ELMo's task-specific
/// weighting of the biLM layers).
///
/// K layers, N positions (any leading dims folded), D features. With `doLayerNorm`, each layer is first normalised
/// by the mean and variance of its *unmasked* elements (all positions and features together, as AllenNLP does; σ² + 1e-12,
/// `Backend.maskedLayerNorm`).
/// `l2Coefficient` adds `λ Σ w_k²` to the loss (bilm-tf's `weight_layers` regulariser).
public final class ScalarMix: Layer {
    public let mixtureSize: Int
    public let doLayerNorm: Bool
    public let trainable: Bool
    public let l2Coefficient: Float
    public let scalarParameters: Parameter   // w [K]
    public let gamma: Parameter              // [1]

    /// - Parameters:
    ///   - initialScalarParameters: initial `w` (default zeros, i.e. an equal average).
    ///   - trainable: when false, `parameters` is empty so no optimizer moves `w` or `gamma`.
    public init(mixtureSize: Int, doLayerNorm: Bool = false, initialScalarParameters: [Float]? = nil, trainable: Bool = true,
                l2Coefficient: Float = 0, name: String = "scalar_mix") {
        let initial = initialScalarParameters ?? Array(repeating: 0, count: mixtureSize)
        precondition(initial.count == mixtureSize,
                     "\(initial.count) initial scalar parameters were given, but the mix was initialised to mix \(mixtureSize) tensors.")
        self.mixtureSize = mixtureSize
        self.doLayerNorm = doLayerNorm
        self.trainable = trainable
        self.l2Coefficient = l2Coefficient
        scalarParameters = Parameter(name: "\(name)/scalar_parameters", value: Tensor(shape: [mixtureSize], scalars: initial))
        gamma = Parameter(name: "\(name)/gamma", value: Tensor(shape: [1], scalars: [1]))
    }

    public var parameters: [Parameter] { trainable ? [scalarParameters, gamma] : [] }

    /// s = softmax(w).
    public var normalizedWeights: [Float] {
        var s = scalarParameters.value.reshaped([1, mixtureSize])
        Backends.current.softmaxRows(&s)
        return s.scalars
    }

    /// What backward reads: the (normalised) layers, the softmax weights, and per layer the layer-norm statistics.
    public struct Cache {
        var inputs: [Tensor] = []
        var weights: [Float] = []
        var inverseStd: [Float] = []
        var mask: [Bool]?
        public init() {}
    }

    /// layers: K tensors of equal shape `[..., D]`; mask: one flag per position (N = count / D), true = real token.
    public func forward(_ layers: [Tensor], mask: [Bool]? = nil, cache: inout Cache) -> Tensor {
        precondition(layers.count == mixtureSize, "\(layers.count) tensors were passed, but the module was initialized to mix \(mixtureSize) tensors.")
        let shape = layers[0].shape
        for l in layers { precondition(l.shape == shape, "ScalarMix: layer shapes differ: \(layers.map(\.shape)).") }
        let d = shape.last ?? 1
        if let mask { precondition(mask.count * d == layers[0].count, "ScalarMix: mask of \(mask.count) positions for shape \(shape).") }
        cache.mask = mask
        cache.weights = normalizedWeights
        cache.inputs = layers
        cache.inverseStd = []
        if doLayerNorm {
            cache.inputs = layers.map { layer in
                let (normalized, inverseStd) = Backends.current.maskedLayerNorm(layer, rowMask: mask, features: d)
                cache.inverseStd.append(inverseStd)
                return normalized
            }
        }
        let g = gamma.value[flat: 0]
        var out = Tensor(zeros: shape)
        for (k, layer) in cache.inputs.enumerated() { Backends.current.axpy(g * cache.weights[k], layer, into: &out) }
        return out
    }

    /// dy `[..., D]` → one gradient per input layer; accumulates dw and dgamma (when trainable).
    public func backward(_ dy: Tensor, cache: Cache) -> [Tensor] {
        let g = gamma.value[flat: 0]
        let d = dy.shape.last ?? 1
        let backend = Backends.current
        // dot_k = <dy, layer_k>; d mixture / d s_k = gamma * layer_k; softmax backward: dw_k = s_k (dot_k − Σ_j s_j dot_j) * gamma.
        let dots = cache.inputs.map { backend.dot($0, dy) }
        if trainable {
            let weightedDots = zip(cache.weights, dots).reduce(0.0) { $0 + Double($1.0) * $1.1 }
            for k in 0..<mixtureSize {
                scalarParameters.gradient[flat: k] += Float(Double(g) * Double(cache.weights[k]) * (dots[k] - weightedDots))
            }
            gamma.gradient[flat: 0] += Float(weightedDots)
        }
        return cache.inputs.enumerated().map { k, normalized in
            var dLayer = Tensor(zeros: dy.shape)
            backend.axpy(g * cache.weights[k], dy, into: &dLayer)
            if doLayerNorm {
                dLayer = backend.maskedLayerNormBackward(dLayer, normalized: normalized, inverseStd: cache.inverseStd[k],
                                                         rowMask: cache.mask, features: d)
            }
            return dLayer
        }
    }

    /// λ Σ w² (add to the loss) — and its gradient added into w's.
    public func penalty(accumulateGradient scale: Float = 0) -> Double {
        guard l2Coefficient > 0 else { return 0 }
        let w = scalarParameters.value.scalars
        if trainable && scale != 0 {
            for k in 0..<mixtureSize { scalarParameters.gradient[flat: k] += scale * 2 * l2Coefficient * w[k] }
        }
        return Double(l2Coefficient) * w.reduce(0.0) { $0 + Double($1 * $1) }
    }
}
