/// The reference backend's packed product: W kept as a plain row-major `[K, N]` copy, the product as the textbook
/// loop with Double sums (row-independent trivially: each element is its own sum).
extension ReferenceBackend {
    public func pack(_ w: MatrixView, transpose: Bool) -> PackedWeight {
        let k = transpose ? w.columns : w.rows, n = transpose ? w.rows : w.columns
        var storage = Tensor(zeros: [k, n])
        for r in 0..<k {
            for j in 0..<n { storage.storage[r * n + j] = w.tensor.storage[transpose ? w.window.index(j, r) : w.window.index(r, j)] }
        }
        return PackedWeight(rows: k, columns: n, storage: storage, backendName: name)
    }

    public func gemm(_ a: MatrixView, packed w: PackedWeight, beta: Float, into c: inout Tensor, _ window: MatrixWindow) {
        w.check(for: name, a: a, window: window)
        window.check(inside: c.count, "packed gemm output")
        gemm(a, transposeA: false, w.storage.matrix, transposeB: false,
             alpha: 1, beta: beta, into: &c, window)
    }
}
