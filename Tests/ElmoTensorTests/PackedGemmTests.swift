@testable import ElmoTensor
import XCTest
import _CKernels

/// The packed-weight product (`_CKernels`, `CPUBackend.gemm(_:packed:…)`): a row's result is bitwise the same at
/// every M, at every position in the batch, on every instruction set and thread budget; and it matches a Double
/// reference at every shape the models use.
final class PackedGemmTests: XCTestCase {
    var rng = RandomGenerator(seed: 41)

    /// [K, N] of every packed product of ref-small (Pretrain/small.json), ref-tiny (Pretrain/tiny.json) and the
    /// tests' tiny configs: the char convolution's tables as gemms ([V, D] × [D, count]), highway [F, 2F],
    /// projection [F, P], LSTM input [P, 4C], recurrent [P, 4C] and its transpose [4C, P], projection [C, P] and its
    /// transpose [P, C].
    static let modelShapes: [(k: Int, n: Int)] = {
        var shapes: [(Int, Int)] = []
        // (D, filter counts, F, C, P)
        for (d, counts, f, c, p) in [(16, [32, 64, 128, 256], 512, 1024, 128), (16, [32, 64], 128, 256, 64),
                                     (4, [4], 8, 12, 5), (4, [8], 16, 8, 4)] {
            shapes += counts.map { (d, $0) }
            shapes += [(f, 2 * f), (f, p), (p, 4 * c), (4 * c, p), (c, p), (p, c)]
        }
        return shapes
    }()

    func uniform(_ count: Int) -> [Float] { Tensor.uniform([count], limit: 1, rng: &rng).scalars }

    /// C = A · W (+ beta · C0) through the C kernel on `isa`, A `[m, k]` contiguous.
    func kernelProduct(isa: Int32, _ a: [Float], m: Int, k: Int, packed: [Float], n: Int, beta: Float = 0, c0: [Float]? = nil) -> [Float] {
        var c = c0 ?? [Float](repeating: .nan, count: m * n)
        let panels = (n + 15) / 16
        a.withUnsafeBufferPointer { pa in
            packed.withUnsafeBufferPointer { pw in
                c.withUnsafeMutableBufferPointer { pc in
                    elmo_packed_gemm_isa(isa, m, n, k, pa.baseAddress!, k, pw.baseAddress!, beta, pc.baseAddress!, n, 0, panels)
                }
            }
        }
        return c
    }

    func pack(_ w: [Float], k: Int, n: Int) -> [Float] {
        var packed = [Float](repeating: .nan, count: elmo_packed_size(k, n))
        w.withUnsafeBufferPointer { pw in packed.withUnsafeMutableBufferPointer { elmo_pack_weight(pw.baseAddress!, n, 0, k, n, $0.baseAddress!) } }
        return packed
    }

    /// Rows s ..< s + M of a 64-row A give the same bits as in the full product, for every M in 1...64, at two
    /// different positions, on every instruction set this CPU has.
    func testRowResultDoesNotDependOnBatchSizePositionOrInstructionSet() {
        let isas = (0...elmo_packed_gemm_best_isa()).map { Int32($0) }
        for (k, n) in [(128, 160), (512, 48), (16, 32), (5, 20), (1024, 20), (3, 1)] {
            let rows = 64
            let a = uniform(rows * k), w = uniform(k * n), packed = pack(w, k: k, n: n)
            let full = kernelProduct(isa: Int32(ELMO_ISA_PORTABLE), a, m: rows, k: k, packed: packed, n: n)
            for isa in isas {
                for m in 1...rows {
                    for start in Set([0, rows - m, (m * 7) % (rows - m + 1)]) {
                        let part = kernelProduct(isa: isa, Array(a[start * k..<(start + m) * k]), m: m, k: k, packed: packed, n: n)
                        if part != Array(full[start * n..<(start + m) * n]) {
                            XCTFail("[\(k), \(n)] isa \(isa): rows \(start)..<\(start + m) differ from the 64-row product")
                            return
                        }
                    }
                }
            }
        }
    }

    /// The backend's packed product at every model shape, 1 and 2 threads, with beta 0 and 1: within float rounding
    /// of a Double reference, and bitwise the same for both thread budgets.
    func testMatchesDoubleReferenceAtEveryModelShapeAndThreadBudget() {
        let backend = CPUBackend(), saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        for (k, n) in Self.modelShapes {
            for m in [1, 7, 32, 100] {
                let a = Tensor(shape: [m, k], scalars: uniform(m * k)), w = Tensor(shape: [k, n], scalars: uniform(k * n))
                let c0 = Tensor(shape: [m, n], scalars: uniform(m * n))
                for beta: Float in [0, 1] {
                    var results: [[Float]] = []
                    for threads in [1, 2] {
                        BLAS.setThreads(threads)
                        var c = c0
                        backend.gemm(a.matrix, packed: backend.pack(w), beta: beta, into: &c, c.wholeWindow)
                        results.append(c.scalars)
                    }
                    XCTAssertEqual(results[0], results[1], "[\(m), \(k)] × [\(k), \(n)] beta \(beta): 1 and 2 threads differ")
                    let (x, y, c, old) = (a.scalars, w.scalars, results[0], c0.scalars)
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = Double(beta) * Double(old[i * n + j]), magnitude = abs(sum)
                            for r in 0..<k {
                                let product = Double(x[i * k + r]) * Double(y[r * n + j])
                                sum += product
                                magnitude += abs(product)
                            }
                            // K float roundings of partial sums bounded by the sum of magnitudes.
                            let bound = Double(k + 2) * 6e-8 * magnitude + 1e-30
                            worst = max(worst, abs(Double(c[i * n + j]) - sum) / bound)
                        }
                    }
                    XCTAssertLessThanOrEqual(worst, 1, "[\(m), \(k)] × [\(k), \(n)] beta \(beta): error above the rounding bound")
                }
            }
        }
    }

    /// Packing the transpose of a stored [N, K] matrix gives the product with Wᵀ (the LSTM backward's dh · Whᵀ).
    func testTransposedPackingIsTheTransposedProduct() {
        let backend = CPUBackend()
        let (m, k, n) = (3, 37, 21)
        let a = Tensor(shape: [m, k], scalars: uniform(m * k)), stored = Tensor(shape: [n, k], scalars: uniform(n * k))
        var viaTranspose = Tensor(zeros: [m, n]), plain = Tensor(zeros: [m, n])
        backend.gemm(a.matrix, packed: backend.pack(stored.matrix, transpose: true), beta: 0, into: &viaTranspose, viaTranspose.wholeWindow)
        var transposed = Tensor(zeros: [k, n])
        for r in 0..<k { for j in 0..<n { transposed[flat: r * n + j] = stored[flat: j * k + r] } }
        backend.gemm(a.matrix, packed: backend.pack(transposed), beta: 0, into: &plain, plain.wholeWindow)
        XCTAssertEqual(viaTranspose.scalars, plain.scalars)
    }
}
