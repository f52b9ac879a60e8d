import _CKernels

/// The packed-weight product of the CPU backend: `_CKernels`' fixed-order FMA kernel (AVX-512, AVX2+FMA or portable,
/// chosen at run time), split across the thread budget by column panels or row blocks. Each element is computed by
/// the same FMA chain in every tile, edge and split, so splitting changes the speed only, never the bits.
extension CPUBackend {
    public func pack(_ w: MatrixView, transpose: Bool) -> PackedWeight {
        let k = transpose ? w.columns : w.rows, n = transpose ? w.rows : w.columns
        var storage = Tensor(zeros: [elmo_packed_size(k, n)])
        w.tensor.withPointer { pw in
            storage.withMutablePointer { elmo_pack_weight(pw + w.window.offset, w.window.rowStride, transpose ? 1 : 0, k, n, $0) }
        }
        return PackedWeight(rows: k, columns: n, storage: storage, backendName: name)
    }

    public func gemm(_ a: MatrixView, packed w: PackedWeight, beta: Float, into c: inout Tensor, _ window: MatrixWindow) {
        w.check(for: name, a: a, window: window)
        window.check(inside: c.count, "packed gemm output")
        let m = window.rows, n = window.columns, k = w.rows
        if m == 0 || n == 0 { return }
        let panels = (n + Int(ELMO_PANEL_WIDTH) - 1) / Int(ELMO_PANEL_WIDTH)
        let parts = m * n * k >= BLAS.minimumSplitWork ? min(BLAS.availableThreads, max(panels, m / 8)) : 1
        a.tensor.withPointer { pa in
            w.storage.withPointer { pw in
                c.withMutablePointer { pc in
                    let a0 = pa + a.window.offset, lda = a.window.rowStride, c0 = pc + window.offset, ldc = window.rowStride
                    guard parts >= 2 else {
                        elmo_packed_gemm(m, n, k, a0, lda, pw, beta, c0, ldc, 0, panels)
                        return
                    }
                    // Wide products split their panels (each part reads only its share of W); tall narrow ones
                    // their rows.
                    let splitPanels = panels >= 2 * parts
                    Parallel.forEach(parts) { part in
                        if splitPanels {
                            elmo_packed_gemm(m, n, k, a0, lda, pw, beta, c0, ldc, panels * part / parts, panels * (part + 1) / parts)
                        } else {
                            let start = m * part / parts, end = m * (part + 1) / parts
                            elmo_packed_gemm(end - start, n, k, a0 + start * lda, lda, pw, beta, c0 + start * ldc, ldc, 0, panels)
                        }
                    }
                }
            }
        }
    }
}

/// Which instruction set the packed product runs on here (`"avx512"`, `"avx2"` or `"portable"`), to print beside timings.
package var packedGemmInstructionSet: String {
    switch elmo_packed_gemm_best_isa() {
    case Int32(ELMO_ISA_AVX512): return "avx512"
    case Int32(ELMO_ISA_AVX2): return "avx2"
    default: return "portable"
    }
}
