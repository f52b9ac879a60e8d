import Foundation

/// The CPU backend's element-wise, row-wise and layout kernels (everything but gemm, which is `BLAS`).
///
/// Every function works on raw pointers and explicit sizes, never allocates, and documents its shapes.
/// Backward kernels *accumulate* (`+=`) into gradient buffers unless their name says otherwise; the
/// caller zeroes gradients once per step. `CPUBackend` calls them; the model code goes through `Backend`.
public enum Kernels {
    // MARK: - Activations

    @inlinable package static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    /// Activation applied after the char CNN and inside highway layers.
    public enum Activation: String, Codable, Sendable {
        case relu, tanh, sigmoid, identity
    }

    /// y[i] = act(x[i]) for n elements (x and y may alias).
    @usableFromInline package static func activate(_ act: Activation, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch act {
        case .relu: for i in 0..<n { y[i] = max(x[i], 0) }
        case .tanh: for i in 0..<n { y[i] = tanhf(x[i]) }
        case .sigmoid: for i in 0..<n { y[i] = sigmoid(x[i]) }
        case .identity: if UnsafePointer(y) != x { y.update(from: x, count: n) }
        }
    }

    /// dx[i] += dy[i] * act'(·), written in terms of the activation *output* y (all four allow it).
    @usableFromInline package static func activateBackward(_ act: Activation, y: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                        dx: UnsafeMutablePointer<Float>, _ n: Int) {
        switch act {
        case .relu: for i in 0..<n where y[i] > 0 { dx[i] += dy[i] }
        case .tanh: for i in 0..<n { dx[i] += dy[i] * (1 - y[i] * y[i]) }
        case .sigmoid: for i in 0..<n { dx[i] += dy[i] * y[i] * (1 - y[i]) }
        case .identity: for i in 0..<n { dx[i] += dy[i] }
        }
    }

    // MARK: - Bias and reductions

    /// x[r, c] += bias[c] for a `[rows, cols]` matrix.
    @usableFromInline package static func addBias(_ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = x + r * cols
            for c in 0..<cols { row[c] += bias[c] }
        }
    }

    /// dBias[c] += Σ_r dy[r, c] for a `[rows, cols]` matrix.
    @usableFromInline package static func addColumnSums(_ dy: UnsafePointer<Float>, into dBias: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = dy + r * cols
            for c in 0..<cols { dBias[c] += row[c] }
        }
    }

    /// y[i] += alpha * x[i].
    @usableFromInline package static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += alpha * x[i] }
    }

    /// x[i] *= alpha.
    @usableFromInline package static func scale(_ x: UnsafeMutablePointer<Float>, by alpha: Float, _ n: Int) {
        for i in 0..<n { x[i] *= alpha }
    }

    /// Σ x[i]² accumulated in Double (used for global gradient norms).
    @usableFromInline package static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var s: Double = 0
        var i = 0
        // Partial Float sums of 64 elements keep the loop vectorisable without losing Double accuracy overall.
        while i + 64 <= n {
            var p: Float = 0
            for j in i..<(i + 64) { p += x[j] * x[j] }
            s += Double(p)
            i += 64
        }
        while i < n { s += Double(x[i] * x[i]); i += 1 }
        return s
    }

    /// Σ x[i] accumulated in Double.
    @usableFromInline package static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var s: Double = 0
        for i in 0..<n { s += Double(x[i]) }
        return s
    }

    /// Clamps every element into `[-limit, limit]`.
    @usableFromInline package static func clip(_ x: UnsafeMutablePointer<Float>, limit: Float, _ n: Int) {
        for i in 0..<n { x[i] = min(max(x[i], -limit), limit) }
    }

    // MARK: - Softmax family (row-wise over `[rows, cols]`)

    /// log Σ_c exp(x[r, c]) for one row; the max is subtracted only for numerical stability.
    @inlinable package static func logSumExp(_ row: UnsafePointer<Float>, _ cols: Int) -> Float {
        var m = -Float.infinity
        for c in 0..<cols { m = max(m, row[c]) }
        if m == -.infinity { return m }
        var s: Float = 0
        for c in 0..<cols { s += expf(row[c] - m) }
        return m + logf(s)
    }

    /// y[r, :] = softmax(x[r, :]) (x and y may alias).
    @usableFromInline package static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            var m = -Float.infinity
            for c in 0..<cols { m = max(m, xr[c]) }
            var s: Float = 0
            for c in 0..<cols { let e = expf(xr[c] - m); yr[c] = e; s += e }
            let inv = 1 / s
            for c in 0..<cols { yr[c] *= inv }
        }
    }

    /// y[r, :] = log_softmax(x[r, :]) (x and y may alias).
    @usableFromInline package static func logSoftmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            let lse = logSumExp(xr, cols)
            for c in 0..<cols { yr[c] = xr[c] - lse }
        }
    }

    // MARK: - LSTM gate math (TensorFlow gate order i, j, f, o)

    /// Fused LSTM cell update for one time step over a batch.
    ///
    /// `gates` is `[B, 4C]` pre-activations laid out `[i | j | f | o]` per row; on return it holds the
    /// activations `sigmoid(i), tanh(j), sigmoid(f + forgetBias), sigmoid(o)` (kept for backward).
    /// `cPrev` and `c` are `[B, C]`: `c = clip(f * cPrev + i * j, cellClip)`; `m = o * tanh(c)` is `[B, C]`.
    /// A `cellClip` of 0 or less means no clipping.
    @usableFromInline package static func lstmGatesForward(gates: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>,
                                        c: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
                                        batch: Int, cellSize: Int, forgetBias: Float, cellClip: Float) {
        // Vectorised over 8 cells at a time (`VectorMath.swift`): the five transcendentals per cell dominate
        // the recurrent step's gemm when each is a libm call.
        let C = cellSize
        let clip = cellClip > 0 ? cellClip : .infinity
        for b in 0..<batch {
            let g = gates + b * 4 * C
            let cp = cPrev + b * C, cb = c + b * C, mb = m + b * C
            var k = 0
            while k < C {
                let w = Swift.min(Vector.scalarCount, C - k)
                let i = sigmoid(load(g + k, w))
                let j = tanh(load(g + C + k, w))
                let f = sigmoid(load(g + 2 * C + k, w) + forgetBias)
                let o = sigmoid(load(g + 3 * C + k, w))
                store(i, g + k, w); store(j, g + C + k, w); store(f, g + 2 * C + k, w); store(o, g + 3 * C + k, w)
                var cv = f * load(cp + k, w) + i * j
                cv = cv.replacing(with: clip, where: cv .> clip).replacing(with: -clip, where: cv .< -clip)
                store(cv, cb + k, w)
                store(o * tanh(cv), mb + k, w)
                k += w
            }
        }
    }

    /// Backward of `lstmGatesForward` for one time step.
    ///
    /// In the forward pass this was `c = clip(f*cPrev + i*j)`, `m = o*tanh(c)`. Given `dm` and `dc` (the
    /// gradient reaching c from the next step), writes the pre-activation gate gradients into `dGates`
    /// (`[B, 4C]`, overwritten) and *overwrites* `dc` with the gradient for `cPrev`. A clipped cell passes
    /// no gradient (the clip's derivative is 0 outside the range).
    @usableFromInline package static func lstmGatesBackward(gates: UnsafePointer<Float>, cPrev: UnsafePointer<Float>, c: UnsafePointer<Float>,
                                         dm: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>,
                                         dGates: UnsafeMutablePointer<Float>,
                                         batch: Int, cellSize: Int, cellClip: Float) {
        let C = cellSize
        let clip = cellClip > 0 ? cellClip : .infinity
        for b in 0..<batch {
            let g = gates + b * 4 * C, dg = dGates + b * 4 * C
            let cp = cPrev + b * C, cb = c + b * C, dmb = dm + b * C, dcb = dc + b * C
            var k = 0
            while k < C {
                let w = Swift.min(Vector.scalarCount, C - k)
                let i = load(g + k, w), j = load(g + C + k, w), f = load(g + 2 * C + k, w), o = load(g + 3 * C + k, w)
                let cv = load(cb + k, w), dmv = load(dmb + k, w)
                let tc = tanh(cv)
                var dcv = load(dcb + k, w) + dmv * o * (1 - tc * tc)
                dcv = dcv.replacing(with: 0, where: cv .>= clip .| cv .<= -clip)
                store(dcv * j * i * (1 - i), dg + k, w)
                store(dcv * i * (1 - j * j), dg + C + k, w)
                store(dcv * load(cp + k, w) * f * (1 - f), dg + 2 * C + k, w)
                store(dmv * tc * o * (1 - o), dg + 3 * C + k, w)
                store(dcv * f, dcb + k, w)
                k += w
            }
        }
    }

    // MARK: - Character convolution as gemm

    /// Unfolds windows of `width` consecutive characters into rows, so a 1-D convolution becomes one gemm.
    ///
    /// `x` is `[N, W, D]` (tokens, characters, embedding dim); `columns` is `[N * (W - width + 1), width * D]`.
    /// Because each window is `width` consecutive rows of `[W, D]` storage, a row of `columns` is one
    /// contiguous copy.
    @usableFromInline package static func im2col(_ x: UnsafePointer<Float>, tokens: Int, chars: Int, dim: Int, width: Int,
                              columns: UnsafeMutablePointer<Float>) {
        let positions = chars - width + 1
        let rowLength = width * dim
        for n in 0..<tokens {
            for p in 0..<positions {
                (columns + (n * positions + p) * rowLength).update(from: x + (n * chars + p) * dim, count: rowLength)
            }
        }
    }

    /// Adjoint of `im2col`: dx[N, W, D] += fold(dColumns).
    @usableFromInline package static func col2imAdd(_ dColumns: UnsafePointer<Float>, tokens: Int, chars: Int, dim: Int, width: Int,
                                 dx: UnsafeMutablePointer<Float>) {
        let positions = chars - width + 1
        let rowLength = width * dim
        for n in 0..<tokens {
            for p in 0..<positions {
                axpy(1, dColumns + (n * positions + p) * rowLength, dx + (n * chars + p) * dim, rowLength)
            }
        }
    }

    // MARK: - Max over time

    /// y[n, f] = max_t x[n, t, f]; `argmax[n, f]` keeps the winning t for backward.
    /// `x` is `[N, T, F]`; `y` has row stride `yStride` (so several filter widths can fill one `[N, ΣF]` matrix).
    @usableFromInline package static func maxOverTime(_ x: UnsafePointer<Float>, tokens: Int, steps: Int, features: Int,
                                   y: UnsafeMutablePointer<Float>, yStride: Int, argmax: UnsafeMutablePointer<Int32>) {
        for n in 0..<tokens {
            let yr = y + n * yStride, ar = argmax + n * features
            let base = x + n * steps * features
            for f in 0..<features { yr[f] = base[f]; ar[f] = 0 }
            for t in 1..<max(steps, 1) {
                let row = base + t * features
                for f in 0..<features where row[f] > yr[f] {
                    yr[f] = row[f]; ar[f] = Int32(t)
                }
            }
        }
    }

    /// Backward of `maxOverTime`: dx[n, argmax[n, f], f] += dy[n, f].
    @usableFromInline package static func maxOverTimeBackward(_ dy: UnsafePointer<Float>, dyStride: Int, argmax: UnsafePointer<Int32>,
                                           tokens: Int, steps: Int, features: Int, dx: UnsafeMutablePointer<Float>) {
        for n in 0..<tokens {
            let dyr = dy + n * dyStride, ar = argmax + n * features
            let base = dx + n * steps * features
            for f in 0..<features { base[Int(ar[f]) * features + f] += dyr[f] }
        }
    }
}
