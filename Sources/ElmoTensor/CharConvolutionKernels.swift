extension Kernels {
    /// A 1-D convolution over embedded characters fused with the max over positions, through lookup tables.
    ///
    /// The convolution's input is an embedding lookup, so with kernel `K` (`[width·D, F]`, row `o·D + d`) and
    /// embedding `E` (`[V, D]`), `conv[n, p, f] = Σ_o Σ_d E[c(n, p+o), d] · K[o·D + d, f] = Σ_o T[o, c(n, p+o), f]`
    /// where `T[o] = E · K[o·D ..< (o+1)·D, :]`. With the tables (`[width, V, F]`, made by `width` small gemms)
    /// each position costs `width·F` additions instead of `width·D·F` multiply-adds (im2col + gemm): D = 16
    /// times less work, and no `[N·P, width·D]` column buffer.
    ///
    /// `chars` is `[N, W]` ids in `0..<V` (not checked here); P = W − width + 1 positions.
    /// `y[n, f] = max_p conv[n, p, f]` is written with row stride `yStride`, `argmax[n, f]` (the winning p, the
    /// first on ties) with row stride `argmaxStride`, so several widths can fill one `[N, ΣF]` matrix.
    /// `scratch` holds `F` floats.
    @usableFromInline package static func charConvolutionMax(tables: UnsafePointer<Float>, vocabularySize: Int, width: Int, features: Int,
                                          chars: UnsafePointer<Int32>, tokens: Int, charsPerToken: Int,
                                          y: UnsafeMutablePointer<Float>, yStride: Int,
                                          argmax: UnsafeMutablePointer<Int32>, argmaxStride: Int,
                                          scratch: UnsafeMutablePointer<Float>) {
        let F = features, W = charsPerToken, tableStride = vocabularySize * F
        let positions = W - width + 1
        for n in 0..<tokens {
            let c = chars + n * W, yr = y + n * yStride, ar = argmax + n * argmaxStride
            for p in 0..<positions {
                // The first position accumulates straight into the output row; later ones into scratch.
                let acc = p == 0 ? yr : scratch
                acc.update(from: tables + Int(c[p]) * F, count: F)
                for o in 1..<max(width, 1) {
                    let t = tables + o * tableStride + Int(c[p + o]) * F
                    for f in 0..<F { acc[f] += t[f] }
                }
                if p == 0 {
                    ar.update(repeating: 0, count: F)
                } else {
                    let position = Int32(p)
                    for f in 0..<F where scratch[f] > yr[f] {
                        yr[f] = scratch[f]
                        ar[f] = position
                    }
                }
            }
        }
    }

    /// Backward of `charConvolutionMax` into the tables: `dTables[o, c(n, argmax[n, f] + o), f] += dy[n, f]`.
    ///
    /// Only the winning position of each (token, filter) receives gradient, so this is `N·F·width` additions.
    /// The caller turns `dTables` into the kernel and embedding gradients with `dK[o] += Eᵀ · dT[o]` and
    /// `dE += dT[o] · K[o]ᵀ`.
    @usableFromInline package static func charConvolutionMaxBackward(_ dy: UnsafePointer<Float>, dyStride: Int,
                                                  argmax: UnsafePointer<Int32>, argmaxStride: Int,
                                                  chars: UnsafePointer<Int32>, tokens: Int, charsPerToken: Int,
                                                  vocabularySize: Int, width: Int, features: Int,
                                                  dTables: UnsafeMutablePointer<Float>) {
        let F = features, W = charsPerToken, tableStride = vocabularySize * F
        for n in 0..<tokens {
            let c = chars + n * W, dyr = dy + n * dyStride, ar = argmax + n * argmaxStride
            for f in 0..<F {
                let g = dyr[f]
                if g == 0 { continue }  // common after relu; skipping is exact
                let window = c + Int(ar[f])
                for o in 0..<width { dTables[o * tableStride + Int(window[o]) * F + f] += g }
            }
        }
    }
}
