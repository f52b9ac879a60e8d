/// The batch-major ↔ time-major transposition the recurrent layers do at their boundaries: they keep their
/// buffers time-major (`[T, B, ·]`) so each step's gemm operands are contiguous.
enum TimeMajor {
    /// y[b, a, :] = x[a, b, :] for x `[A, Bn, F]` and y `[Bn, A, F]`.
    static func swapLeadingAxes(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ a: Int, _ bn: Int, _ f: Int) {
        for i in 0..<a {
            for j in 0..<bn {
                (y + (j * a + i) * f).update(from: x + (i * bn + j) * f, count: f)
            }
        }
    }
}
