extension Kernels {
    /// Combines one highway layer's projections with its input: `y = g · x + (1 − g) · f(u)`, `g = sigmoid(v)`.
    ///
    /// `h` is `[N, 2F]` holding `[u | v]` per row (the nonlinear part's and the gate's pre-activations); on
    /// return it holds `[f(u) | g]`, which is all that backward needs besides `x`. `x` and `y` are `[N, F]`.
    @usableFromInline package static func highwayForward(_ h: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                                      rows: Int, size: Int, activation: Activation) {
        let F = size
        for r in 0..<rows {
            let hr = h + r * 2 * F, xr = x + r * F, yr = y + r * F
            activate(activation, hr, hr, F)
            for i in 0..<F {
                let g = sigmoid(hr[F + i])
                hr[F + i] = g
                yr[i] = g * xr[i] + (1 - g) * hr[i]
            }
        }
    }

    /// Backward of `highwayForward`, with `h` holding `[f(u) | g]` as forward left it.
    ///
    /// In the forward pass this was `y = g·x + (1 − g)·f(u)`, so `dx += dy·g` (the carry path; the path through
    /// `u` and `v` is added by the caller's linear backward), and `dh` (`[N, 2F]`, overwritten) receives
    /// `du = dy·(1 − g)·f'(u)` and `dv = dy·(x − f(u))·g·(1 − g)`.
    @usableFromInline package static func highwayBackward(h: UnsafePointer<Float>, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                       dh: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>,
                                       rows: Int, size: Int, activation: Activation) {
        let F = size
        for r in 0..<rows {
            let hr = h + r * 2 * F, xr = x + r * F, dyr = dy + r * F, dhr = dh + r * 2 * F, dxr = dx + r * F
            // The gate half first holds dy·(1 − g) as scratch, so activateBackward (which accumulates) can turn
            // it into du in the zeroed first half; then the gate half is overwritten with dv.
            for i in 0..<F {
                let g = hr[F + i]
                dhr[F + i] = dyr[i] * (1 - g)
                dxr[i] += dyr[i] * g
            }
            dhr.update(repeating: 0, count: F)
            activateBackward(activation, y: hr, dy: dhr + F, dx: dhr, F)
            for i in 0..<F {
                let g = hr[F + i]
                dhr[F + i] = dyr[i] * (xr[i] - hr[i]) * g * (1 - g)
            }
        }
    }
}
