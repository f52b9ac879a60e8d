import Dispatch
import _CBLAS

/// Matrix products through OpenBLAS `cblas_sgemm` (row-major).
///
/// `C = alpha * op(A) * op(B) + beta * C` where `op(A)` is `[M, K]`, `op(B)` is `[K, N]`, `C` is `[M, N]`.
/// `lda`, `ldb`, `ldc` are row strides of the stored (untransposed) matrices.
///
/// Threads: OpenBLAS itself always runs single-threaded, and a large product is split by hand into row (or column)
/// blocks of C, one per thread of the budget. OpenBLAS's own workers spin in `sched_yield` between calls and whenever
/// our code runs in parallel (the two LM directions), which took 30–50 % of pre-training's CPU time on 2 cores.
/// Blocks agree with the unsplit product to rounding (OpenBLAS picks kernels by block shape), and a given thread
/// count always splits the same way, so runs stay reproducible for a given `--threads`.
@usableFromInline package enum BLAS {
    @usableFromInline package static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
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
        let parts = min(availableThreads, max(m, n) / minimumBlock)
        guard parts >= 2 && m * n * k >= minimumSplitWork else {
            sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        // Split the longer side of C; a row block of C takes the same rows of op(A), a column block the same
        // columns of op(B).
        let splitRows = m >= n
        let length = splitRows ? m : n
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let start = length * part / parts, count = length * (part + 1) / parts - start
            if splitRows {
                sgemm(transA, transB, count, n, k, alpha, a + (transA ? start : start * lda), lda, b, ldb, beta,
                      c + start * ldc, ldc)
            } else {
                sgemm(transA, transB, m, count, k, alpha, a, lda, b + (transB ? start * ldb : start), ldb, beta,
                      c + start, ldc)
            }
        }
    }

    /// Products smaller than this many multiply-adds run on one thread (splitting costs more than it saves).
    static let minimumSplitWork = 1 << 20
    /// No block of a split product is narrower than this.
    static let minimumBlock = 16

    private static func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                              _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
                              _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The thread budget of this process (`--threads`, default: OpenBLAS's own default, the number of cores): the
    /// width of split products and of our coarse parallelism (`Parallel.both`, the char CNN's token halves).
    @usableFromInline package private(set) static var threads: Int = {
        let cores = Int(openblas_get_num_threads())
        openblas_set_num_threads(1)
        return max(1, cores)
    }()

    /// Parallel regions (`Parallel.both`) currently running; work inside one does not split again.
    static var parallelDepth = 0

    /// Threads a piece of work may use now: the budget, or 1 inside a parallel region.
    @usableFromInline package static var availableThreads: Int { parallelDepth > 0 ? 1 : threads }

    /// Sets the thread budget (process-wide).
    @usableFromInline package static func setThreads(_ n: Int) {
        threads = max(1, n)
        openblas_set_num_threads(1)
    }

    /// The kernel OpenBLAS picked and its build config, to print beside timings.
    @usableFromInline package static var coreName: String { String(cString: openblas_get_corename()) }
    @usableFromInline package static var config: String { String(cString: openblas_get_config()) }
}
