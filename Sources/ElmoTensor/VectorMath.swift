import Foundation

/// exp, sigmoid and tanh on 8 floats at a time (Cephes single-precision polynomials, a few ulp), for the loops
/// whose cost would otherwise be one libm call per element: LSTM gates (5 transcendentals per cell and step) and
/// softmax rows. Only +, ×, ÷, compare/select and bit casts, so they map onto plain SSE2 and get wider for free
/// with a wider target.
extension Kernels {
    @usableFromInline package typealias Vector = SIMD8<Float>

    /// e^x. Inputs below −87.3 give 0 (where Float's normal range ends) and inputs above 88 give e^88.
    @inlinable @inline(__always)
    @usableFromInline package static func exp(_ x: Vector) -> Vector {
        let underflow = x .< -87.3
        var v = x.replacing(with: 88, where: x .> 88).replacing(with: -87.3, where: underflow)
        // n = round(x / ln 2) by the 1.5·2^23 trick: adding it leaves the rounded integer in the low mantissa bits.
        let magic = Vector(repeating: 12_582_912)
        let shifted = v * 1.442_695_04 + magic
        let n = shifted - magic
        v = v - n * 0.693_359_375 - n * -2.121_944_4e-4  // x − n·ln 2 in two parts (Cody–Waite)
        let z = v * v
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * v + 1.398_199_95e-3
        p = p * v + 8.333_451_9e-3
        p = p * v + 4.166_579_59e-2
        p = p * v + 1.666_666_55e-1
        p = p * v + 5.000_000_12e-1
        p = p * z + v + 1
        // 2^n: the integer n sits in the low bits of `shifted`; move it (biased by 127) into the exponent field.
        let bits = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return (p * unsafeBitCast(bits, to: Vector.self)).replacing(with: 0, where: underflow)
    }

    /// 1 / (1 + e^−x).
    @inlinable @inline(__always)
    @usableFromInline package static func sigmoid(_ x: Vector) -> Vector {
        1 / (1 + exp(-x))
    }

    /// tanh x: an odd polynomial below |x| = 0.625 (keeps relative accuracy near 0), 1 − 2/(e^2|x| + 1) above.
    @inlinable @inline(__always)
    @usableFromInline package static func tanh(_ x: Vector) -> Vector {
        let a = x.replacing(with: -x, where: x .< 0)
        let large = 1 - 2 / (exp(2 * a) + 1)
        let large2 = large.replacing(with: -large, where: x .< 0)
        let z = x * x
        var p = Vector(repeating: -5.704_988_72e-3)
        p = p * z + 2.063_908_87e-2
        p = p * z - 5.373_971_55e-2
        p = p * z + 1.333_144_22e-1
        p = p * z - 3.333_328_19e-1
        let small = p * z * x + x
        return small.replacing(with: large2, where: a .> 0.625)
    }

    /// Loads `count` (≤ 8) floats; missing lanes are 0.
    @inlinable @inline(__always)
    @usableFromInline package static func load(_ p: UnsafePointer<Float>, _ count: Int) -> Vector {
        if count == Vector.scalarCount { return UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }
        var v = Vector()
        for l in 0..<count { v[l] = p[l] }
        return v
    }

    /// Stores the first `count` (≤ 8) lanes.
    @inlinable @inline(__always)
    @usableFromInline package static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count == Vector.scalarCount {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
        } else {
            for l in 0..<count { p[l] = v[l] }
        }
    }

    /// y[i] = e^x[i] for n elements (x and y may alias).
    @usableFromInline package static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i < n {
            let w = min(Vector.scalarCount, n - i)
            store(exp(load(x + i, w)), y + i, w)
            i += w
        }
    }

    /// x[i] = e^(x[i] − shift) in place for n elements; returns Σ of the results (the softmax normaliser).
    @usableFromInline package static func expSubtracting(_ shift: Float, _ x: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        var sum = Vector()
        var i = 0
        while i < n {
            let w = min(Vector.scalarCount, n - i)
            let e = exp(load(x + i, w) - shift)
            store(e, x + i, w)
            // Padding lanes hold e^(0 − shift); keep them out of the sum.
            sum += w == Vector.scalarCount ? e : e.replacing(with: 0, where: SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .>= Int32(w))
            i += w
        }
        return sum.sum()
    }

    /// max_i x[i] for n ≥ 1 elements.
    @usableFromInline package static func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = Vector(repeating: -.infinity)
        var i = 0
        while i + Vector.scalarCount <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: Vector.self)
            m = m.replacing(with: v, where: v .> m)
            i += Vector.scalarCount
        }
        var result = m.max()
        while i < n { result = Swift.max(result, x[i]); i += 1 }
        return result
    }
}
