/// A small ridge least-squares fit in Double: the linear map A `[(D + 1), K]` minimising
/// ‖[X 1]·A − Y‖² + λ‖A‖², X `[N, D]`, Y `[N, K]`, solved through the normal equations
/// (`[X 1]ᵀ[X 1] + λI) A = [X 1]ᵀY` by Cholesky. λ = 1e-3 × the mean diagonal of the Gram matrix keeps it positive
/// definite when N < D + 1 or columns are collinear. Used to map char-CNN encodings into softmax rows (D ≈ 512).
enum LeastSquares {
    static func ridgeMap(inputs x: [Float], targets y: [Float], rows n: Int, inputSize d: Int, outputSize k: Int) -> [Double] {
        precondition(x.count == n * d && y.count == n * k, "LeastSquares: X has \(x.count) values for [\(n), \(d)], Y \(y.count) for [\(n), \(k)].")
        let m = d + 1
        var gram = [Double](repeating: 0, count: m * m), rhs = [Double](repeating: 0, count: m * k)
        var row = [Double](repeating: 1, count: m)
        for r in 0..<n {
            for j in 0..<d { row[j] = Double(x[r * d + j]) }
            for a in 0..<m {
                let va = row[a]
                for b in a..<m { gram[a * m + b] += va * row[b] }
                for c in 0..<k { rhs[a * k + c] += va * Double(y[r * k + c]) }
            }
        }
        var trace = 0.0
        for a in 0..<m {
            for b in 0..<a { gram[a * m + b] = gram[b * m + a] }
            trace += gram[a * m + a]
        }
        let lambda = max(1e-3 * trace / Double(m), 1e-9)
        for a in 0..<m { gram[a * m + a] += lambda }
        // Cholesky G = L Lᵀ (L in the lower triangle), then L Z = R, Lᵀ A = Z.
        for j in 0..<m {
            var s = gram[j * m + j]
            for p in 0..<j { s -= gram[j * m + p] * gram[j * m + p] }
            let diagonal = s.squareRoot()
            gram[j * m + j] = diagonal
            for i in (j + 1)..<m {
                var t = gram[i * m + j]
                for p in 0..<j { t -= gram[i * m + p] * gram[j * m + p] }
                gram[i * m + j] = t / diagonal
            }
        }
        for c in 0..<k {
            for i in 0..<m {
                var t = rhs[i * k + c]
                for p in 0..<i { t -= gram[i * m + p] * rhs[p * k + c] }
                rhs[i * k + c] = t / gram[i * m + i]
            }
            for i in stride(from: m - 1, through: 0, by: -1) {
                var t = rhs[i * k + c]
                for p in (i + 1)..<m { t -= gram[p * m + i] * rhs[p * k + c] }
                rhs[i * k + c] = t / gram[i * m + i]
            }
        }
        return rhs
    }

    /// [X 1]·A for X `[N, D]`, A `[(D + 1), K]` → `[N, K]`.
    static func apply(_ map: [Double], to x: [Float], rows n: Int, inputSize d: Int, outputSize k: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * k)
        for r in 0..<n {
            for c in 0..<k {
                var s = map[d * k + c]
                for j in 0..<d { s += Double(x[r * d + j]) * map[j * k + c] }
                out[r * k + c] = Float(s)
            }
        }
        return out
    }
}
