import _CBLAS

/// Matrix products through OpenBLAS `cblas_sgemm` (row-major).
///
/// `C = alpha * op(A) * op(B) + beta * C` where `op(A)` is `[M, K]`, `op(B)` is `[K, N]`, `C` is `[M, N]`.
/// `lda`, `ldb`, `ldc` are row strides of the stored (untransposed) matrices.
public enum BLAS {
    @inlinable
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 {
                for r in 0..<m { (c + r * ldc).update(repeating: 0, count: n) }
            } else if beta != 1 {
                for r in 0..<m { for j in 0..<n { c[r * ldc + j] *= beta } }
            }
            return
        }
        precondition(lda >= (transA ? m : k) && ldb >= (transB ? k : n) && ldc >= n,
                     "gemm leading dimensions too small: lda \(lda), ldb \(ldb), ldc \(ldc) for m \(m) n \(n) k \(k).")
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Tensor convenience: `c = alpha * op(a) * op(b) + beta * c` for 2-D views (leading dims folded).
    /// `a` is `[M, K]` (or `[K, M]` if `transA`), `b` is `[K, N]` (or `[N, K]` if `transB`), `c` is `[M, N]`.
    public static func matmul(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false,
                              alpha: Float = 1, beta: Float = 0, into c: inout Tensor) {
        let (ar, ac) = a.matrixShape
        let (br, bc) = b.matrixShape
        let m = transA ? ac : ar, k = transA ? ar : ac
        let kb = transB ? bc : br, n = transB ? br : bc
        precondition(k == kb, "matmul inner sizes differ: a \(a.shape) (transA \(transA)), b \(b.shape) (transB \(transB)).")
        precondition(c.count == m * n, "matmul output \(c.shape) does not hold [\(m), \(n)].")
        a.withPointer { pa in
            b.withPointer { pb in
                c.withMutablePointer { pc in
                    gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                         a: pa, lda: ac, b: pb, ldb: bc, beta: beta, c: pc, ldc: n)
                }
            }
        }
    }

    /// The thread budget of this process (`--threads`): OpenBLAS's thread count, and the width of our own
    /// coarse parallelism (`Parallel.both`, the char CNN's token halves).
    public private(set) static var threads = Int(openblas_get_num_threads())

    /// Sets the thread budget (process-wide).
    public static func setThreads(_ n: Int) {
        threads = max(1, n)
        openblas_set_num_threads(Int32(threads))
    }

    /// Runs `body` with OpenBLAS limited to `n` threads, keeping the budget for our own parallelism. Used where
    /// the work is split by hand: idle OpenBLAS workers spin (sched_yield) and steal the cores from it.
    public static func withBLASThreads<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
        let current = Int(openblas_get_num_threads())
        openblas_set_num_threads(Int32(max(1, n)))
        defer { openblas_set_num_threads(Int32(current)) }
        return try body()
    }

    /// The kernel OpenBLAS picked and its build config, to print beside timings.
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var config: String { String(cString: openblas_get_config()) }
}

extension Tensor {
    /// The tensor seen as a matrix: all leading dimensions folded into rows, the last one is columns.
    public var matrixShape: (rows: Int, cols: Int) {
        guard let last = shape.last else { return (1, 1) }
        return (last == 0 ? 0 : count / last, last)
    }
}
