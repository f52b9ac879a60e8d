import ElmoBiLM

/// The FLOP model of the shared benchmark (a multiply-add is 2 FLOPs) for one embedded token: char CNN once, both
/// LSTM stacks, no softmax; ref-small gives 13.72 MFLOP. The matrix products behind it, at a batch's shapes, give the
/// sgemm bound the measurements are compared with.
struct EmbedFlops {
    /// One product `[m, k] × [k, n]`, `count` times per batch.
    struct Product {
        let name: String
        let m: Int, n: Int, k: Int
        let count: Int
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(count) }
    }

    let options: BiLMOptions

    var perToken: Double {
        let cnn = options.charCNN, w = cnn.maxCharactersPerToken, d = cnn.embedding.dimension
        let convolution = cnn.filters.reduce(0.0) { $0 + 2 * Double((w - $1[0] + 1) * $1[0] * d * $1[1]) }
        let f = Double(cnn.filters.reduce(0) { $0 + $1[1] })
        let p = Double(options.lstm.projectionSize), c = Double(options.lstm.cellSize)
        let highway = Double(cnn.highwayLayers) * 2 * f * 2 * f, projection = 2 * f * p
        let lstm = (2 * (p + p) * 4 * c + 2 * c * p) * Double(options.lstm.layerCount) * 2
        return convolution + highway + projection + lstm
    }

    /// The products of embedding a `[batch, steps]` batch, per filter, layer and direction folded into `count`:
    /// the convolutions as im2col products, highway, projection, each LSTM layer's input product over all steps, and
    /// the per-step recurrent and cell-projection products.
    func products(batch b: Int, steps t: Int) -> [Product] {
        let cnn = options.charCNN, w = cnn.maxCharactersPerToken, d = cnn.embedding.dimension
        let f = cnn.filters.reduce(0) { $0 + $1[1] }
        let p = options.lstm.projectionSize, c = options.lstm.cellSize, stacks = 2 * options.lstm.layerCount
        let tokens = b * t
        var products = cnn.filters.map { Product(name: "conv w\($0[0])", m: tokens * (w - $0[0] + 1), n: $0[1], k: $0[0] * d, count: 1) }
        if cnn.highwayLayers > 0 { products.append(Product(name: "highway", m: tokens, n: 2 * f, k: f, count: cnn.highwayLayers)) }
        products.append(Product(name: "projection", m: tokens, n: p, k: f, count: 1))
        products.append(Product(name: "lstm input", m: tokens, n: 4 * c, k: p, count: stacks))
        products.append(Product(name: "lstm recurrent", m: b, n: 4 * c, k: p, count: stacks * t))
        products.append(Product(name: "lstm cell projection", m: b, n: p, k: c, count: stacks * t))
        return products
    }
}
