// A small-M matrix product over a pre-packed weight: C[M, N] = A[M, K] · W[K, N] (+ beta · C).
//
// Why not OpenBLAS here: sgemm repacks W on every call (the per-step recurrent products pay that each time step),
// and its result for a row of C depends on M and on the row's position (edge micro-kernels, thread splits), so a
// word's encoding would depend on the batch it is in. This kernel computes every C[i, j] the same way whatever
// M, the row's position, the tile or the instruction set: acc = 0; for k = 0 ..< K: acc = fma(A[i, k], W[k, j], acc);
// then C[i, j] = acc (beta == 0) or fma(beta, C[i, j], acc). FMA rounds once, so the AVX-512, AVX2+FMA and portable
// (fmaf) paths give the same bits.
#ifndef ELMO_PACKED_GEMM_H
#define ELMO_PACKED_GEMM_H

#include <stddef.h>

// Columns per packed panel: panel p holds columns 16p ..< 16p + 16 of W as K rows of 16 floats (zero past N).
#define ELMO_PANEL_WIDTH 16

// Floats a packed [K, N] weight takes.
size_t elmo_packed_size(long k, long n);

// packed = W in panels. W is [K, N] row-major with row stride ldw, or, when transpose != 0, W is the transpose of
// the stored [N, K] matrix (row stride ldw), so Wᵀ products need no copy of their own.
void elmo_pack_weight(const float *w, long ldw, int transpose, long k, long n, float *packed);

// Instruction sets; elmo_packed_gemm uses the best the CPU supports (chosen once, at first use).
enum { ELMO_ISA_PORTABLE = 0, ELMO_ISA_AVX2 = 1, ELMO_ISA_AVX512 = 2 };
int elmo_packed_gemm_best_isa(void);

// C rows 0 ..< m, columns of panels panel_begin ..< panel_end (clipped at n) = A · W (+ beta · C).
// A is [m, k] row-major (row stride lda), C has row stride ldc. Disjoint panel ranges may run on different threads.
void elmo_packed_gemm(long m, long n, long k, const float *a, long lda, const float *packed, float beta, float *c,
                      long ldc, long panel_begin, long panel_end);

// The same through a named instruction set (tests compare them); an ISA the CPU lacks falls back to portable.
void elmo_packed_gemm_isa(int isa, long m, long n, long k, const float *a, long lda, const float *packed, float beta,
                          float *c, long ldc, long panel_begin, long panel_end);

#endif
