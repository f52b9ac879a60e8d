/// A weight W `[K, N]` laid out once for one backend's packed product (`Backend.pack`, `Backend.gemm(_:packed:…)`).
///
/// A weight that several products read between updates (the LSTM's recurrent and projection weights over the T steps
/// of one pass, the token encoder's weights over a whole `embed` run) is packed once and read many times, instead of
/// being repacked inside every sgemm call. Pack again after the weight changes: a packed copy does not follow it.
public struct PackedWeight: Sendable {
    /// K, the rows of W (the product's inner size).
    public let rows: Int
    /// N, the columns of W (the product's output width).
    public let columns: Int
    /// The backend's own layout of W (`Backend.name` says which backend may read it).
    let storage: Tensor
    let backendName: String

    init(rows: Int, columns: Int, storage: Tensor, backendName: String) {
        (self.rows, self.columns, self.storage, self.backendName) = (rows, columns, storage, backendName)
    }

    /// Stops with a message unless this backend packed it and it fits `a` `[M, K]` → `window` `[M, N]`.
    func check(for backend: String, a: MatrixView, window: MatrixWindow) {
        precondition(backendName == backend, "A weight packed by the \(backendName) backend was given to the \(backend) backend.")
        precondition(a.columns == rows && window.rows == a.rows && window.columns == columns,
                     "packed gemm sizes differ: a \(a.rows)×\(a.columns), packed W \(rows)×\(columns), output \(window.rows)×\(window.columns).")
    }
}
