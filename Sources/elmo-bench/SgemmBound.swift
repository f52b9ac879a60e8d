import Dispatch
import ElmoTensor

/// sgemm GFLOP/s measured in this process at the model's product shapes (through `Backends.current.matmul`, the
/// path the model's products take, split over `--threads`), so each measurement can say what fraction of the
/// arithmetic speed of this machine, at this moment, it reached.
struct SgemmBound {
    struct Reading {
        let product: EmbedFlops.Product
        let gflops: Double
    }

    let readings: [Reading]

    /// Best of three runs of at least `seconds` each per shape.
    static func measure(_ products: [EmbedFlops.Product], seconds: Double = 0.2) -> SgemmBound {
        var rng = RandomGenerator(seed: 3)
        return SgemmBound(readings: products.map { product in
            let a = Tensor.gaussian([product.m, product.k], std: 1, rng: &rng), b = Tensor.gaussian([product.k, product.n], std: 1, rng: &rng)
            var c = Tensor(zeros: [product.m, product.n])
            Backends.current.matmul(a, b, into: &c)
            var best = 0.0
            for _ in 0..<3 {
                var calls = 0
                let start = DispatchTime.now().uptimeNanoseconds
                var elapsed = 0.0
                repeat {
                    Backends.current.matmul(a, b, into: &c)
                    calls += 1
                    elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                } while elapsed < seconds
                best = max(best, 2 * Double(product.m * product.n * product.k) * Double(calls) / elapsed / 1e9)
            }
            return Reading(product: product, gflops: best)
        })
    }

    /// The fastest shape's rate: what the issue calls the sgemm bound (about 190 GFLOP/s on 2 threads here).
    var peak: Double { readings.map(\.gflops).max() ?? 0 }

    /// The rate of all the model's products together, each at its own measured speed (total FLOPs over the summed
    /// times): the bound for a biLM pass that is nothing but these products.
    var mix: Double {
        let flops = readings.reduce(0.0) { $0 + $1.product.flops }
        let seconds = readings.reduce(0.0) { $0 + $1.product.flops / ($1.gflops * 1e9) }
        return flops / seconds / 1e9
    }

    var json: [String: Any] {
        ["sgemm_peak_gflops": peak, "sgemm_mix_gflops": mix,
         "sgemm_gflops": Dictionary(uniqueKeysWithValues: readings.map {
             ("\($0.product.name) \($0.product.m)x\($0.product.n)x\($0.product.k)", $0.gflops)
         })]
    }

    /// A measurement's GFLOP/s and its fraction of both bounds.
    func fractions(tokensPerSecond: Double, flopsPerToken: Double) -> [String: Any] {
        let gflops = tokensPerSecond * flopsPerToken / 1e9
        return ["gflops": gflops, "fraction_of_sgemm_peak": gflops / peak, "fraction_of_sgemm_mix": gflops / mix]
    }
}
