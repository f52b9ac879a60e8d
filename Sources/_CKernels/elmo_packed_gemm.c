// The packed-weight product of elmo_packed_gemm.h. Every path computes each C[i, j] as the same chain of FMAs over
// k = 0 ..< K (then one fma with beta · C), so tiles, edges and instruction sets only change speed, never bits.
#include "elmo_packed_gemm.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define PW ELMO_PANEL_WIDTH

size_t elmo_packed_size(long k, long n) { return (size_t)k * (size_t)((n + PW - 1) / PW) * PW; }

void elmo_pack_weight(const float *w, long ldw, int transpose, long k, long n, float *packed) {
    long panels = (n + PW - 1) / PW;
    for (long p = 0; p < panels; p++) {
        float *panel = packed + p * k * PW;
        long j0 = p * PW, width = n - j0 < PW ? n - j0 : PW;
        for (long r = 0; r < k; r++) {
            float *dst = panel + r * PW;
            for (long j = 0; j < width; j++) dst[j] = transpose ? w[(j0 + j) * ldw + r] : w[r * ldw + j0 + j];
            for (long j = width; j < PW; j++) dst[j] = 0;
        }
    }
}

// Rows per cache block of A: a block of A and one group of W panels stay in L2 while the tiles sweep them.
#define ROW_BLOCK 96

// Writes one row's 16 accumulated columns (only `width` of them are inside C): acc, or fma(beta, C, acc).
static inline void store_row_scalar(const float *acc, float beta, float *c, long width) {
    for (long j = 0; j < width; j++) c[j] = beta == 0 ? acc[j] : fmaf(beta, c[j], acc[j]);
}

// MARK: - Portable (any x86-64; fmaf is exact everywhere, a library call where the CPU has no FMA)

static void gemm_portable(long m, long n, long k, const float *a, long lda, const float *packed, float beta, float *c,
                          long ldc, long panel_begin, long panel_end) {
    for (long p = panel_begin; p < panel_end; p++) {
        const float *panel = packed + p * k * PW;
        long j0 = p * PW, width = n - j0 < PW ? n - j0 : PW;
        for (long i = 0; i < m; i++) {
            float acc[PW] = {0};
            const float *ar = a + i * lda;
            for (long r = 0; r < k; r++) {
                float x = ar[r];
                const float *wr = panel + r * PW;
                for (long j = 0; j < PW; j++) acc[j] = fmaf(x, wr[j], acc[j]);
            }
            store_row_scalar(acc, beta, c + i * ldc + j0, width);
        }
    }
}

// MARK: - AVX2 + FMA: tiles of up to 6 rows × one panel (12 accumulators of 8 lanes)

#define AVX2_ROWS 6

__attribute__((target("avx2,fma"))) static inline __attribute__((always_inline)) void tile_avx2(long rows, long k, const float *a, long lda,
                                                                  const float *panel, float beta, float *c, long ldc,
                                                                  long width) {
    __m256 lo[AVX2_ROWS], hi[AVX2_ROWS];
    for (long i = 0; i < AVX2_ROWS; i++) lo[i] = hi[i] = _mm256_setzero_ps();
    for (long r = 0; r < k; r++) {
        __m256 w0 = _mm256_loadu_ps(panel + r * PW), w1 = _mm256_loadu_ps(panel + r * PW + 8);
        for (long i = 0; i < AVX2_ROWS; i++) {
            if (i < rows) {
                __m256 x = _mm256_broadcast_ss(a + i * lda + r);
                lo[i] = _mm256_fmadd_ps(x, w0, lo[i]);
                hi[i] = _mm256_fmadd_ps(x, w1, hi[i]);
            }
        }
    }
    __m256 vb = _mm256_set1_ps(beta);
    for (long i = 0; i < rows; i++) {
        float *cr = c + i * ldc;
        if (width == PW) {
            if (beta != 0) {
                lo[i] = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), lo[i]);
                hi[i] = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), hi[i]);
            }
            _mm256_storeu_ps(cr, lo[i]);
            _mm256_storeu_ps(cr + 8, hi[i]);
        } else {
            float acc[PW];
            _mm256_storeu_ps(acc, lo[i]);
            _mm256_storeu_ps(acc + 8, hi[i]);
            store_row_scalar(acc, beta, cr, width);
        }
    }
}

// One specialised copy per tile height, so the row loops unroll and the accumulators stay in registers.
#define AVX2_TILE(R)                                                                                                  \
    __attribute__((target("avx2,fma"))) static void tile_avx2_##R(long k, const float *a, long lda,                 \
                                                                   const float *panel, float beta, float *c, long ldc, \
                                                                   long width) {                                      \
        tile_avx2(R, k, a, lda, panel, beta, c, ldc, width);                                                          \
    }
AVX2_TILE(1) AVX2_TILE(2) AVX2_TILE(3) AVX2_TILE(4) AVX2_TILE(5) AVX2_TILE(6)

__attribute__((target("avx2,fma"))) static void gemm_avx2(long m, long n, long k, const float *a, long lda,
                                                          const float *packed, float beta, float *c, long ldc,
                                                          long panel_begin, long panel_end) {
    typedef void (*tile_fn)(long, const float *, long, const float *, float, float *, long, long);
    static const tile_fn tiles[AVX2_ROWS + 1] = {0, tile_avx2_1, tile_avx2_2, tile_avx2_3, tile_avx2_4, tile_avx2_5,
                                                 tile_avx2_6};
    for (long i0 = 0; i0 < m; i0 += ROW_BLOCK) {
        long block = m - i0 < ROW_BLOCK ? m - i0 : ROW_BLOCK;
        for (long p = panel_begin; p < panel_end; p++) {
            const float *panel = packed + p * k * PW;
            long j0 = p * PW, width = n - j0 < PW ? n - j0 : PW;
            for (long i = i0; i < i0 + block; i += AVX2_ROWS) {
                long rows = i0 + block - i < AVX2_ROWS ? i0 + block - i : AVX2_ROWS;
                tiles[rows](k, a + i * lda, lda, panel, beta, c + i * ldc + j0, ldc, width);
            }
        }
    }
}

// MARK: - AVX-512: tiles of up to 4 rows × 4 panels (16 accumulators of 16 lanes)

#define AVX512_ROWS 4
#define AVX512_PANELS 4

__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void tile_avx512(long rows, long panels, long k, const float *a,
                                                                   long lda, const float *packed, float beta, float *c,
                                                                   long ldc, long n_left) {
    __m512 acc[AVX512_ROWS][AVX512_PANELS];
    for (long i = 0; i < AVX512_ROWS; i++)
        for (long q = 0; q < AVX512_PANELS; q++) acc[i][q] = _mm512_setzero_ps();
    const long panel_stride = k * PW;
    for (long r = 0; r < k; r++) {
        __m512 w[AVX512_PANELS];
        for (long q = 0; q < AVX512_PANELS; q++)
            if (q < panels) w[q] = _mm512_loadu_ps(packed + q * panel_stride + r * PW);
        for (long i = 0; i < AVX512_ROWS; i++) {
            if (i < rows) {
                __m512 x = _mm512_set1_ps(a[i * lda + r]);
                for (long q = 0; q < AVX512_PANELS; q++)
                    if (q < panels) acc[i][q] = _mm512_fmadd_ps(x, w[q], acc[i][q]);
            }
        }
    }
    __m512 vb = _mm512_set1_ps(beta);
    for (long q = 0; q < panels; q++) {
        long width = n_left - q * PW < PW ? n_left - q * PW : PW;
        __mmask16 mask = (__mmask16)(width >= PW ? 0xFFFF : ((1u << width) - 1));
        for (long i = 0; i < rows; i++) {
            float *cr = c + i * ldc + q * PW;
            __m512 v = acc[i][q];
            if (beta != 0) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, cr), v);
            _mm512_mask_storeu_ps(cr, mask, v);
        }
    }
}

#define AVX512_TILE(R, Q)                                                                                              \
    __attribute__((target("avx512f"))) static void tile_avx512_##R##_##Q(long k, const float *a, long lda,           \
                                                                        const float *packed, float beta, float *c,     \
                                                                        long ldc, long n_left) {                       \
        tile_avx512(R, Q, k, a, lda, packed, beta, c, ldc, n_left);                                                    \
    }
#define AVX512_TILE_ROW(R) AVX512_TILE(R, 1) AVX512_TILE(R, 2) AVX512_TILE(R, 3) AVX512_TILE(R, 4)
AVX512_TILE_ROW(1) AVX512_TILE_ROW(2) AVX512_TILE_ROW(3) AVX512_TILE_ROW(4)

__attribute__((target("avx512f"))) static void gemm_avx512(long m, long n, long k, const float *a, long lda,
                                                           const float *packed, float beta, float *c, long ldc,
                                                           long panel_begin, long panel_end) {
    typedef void (*tile_fn)(long, const float *, long, const float *, float, float *, long, long);
    static const tile_fn tiles[AVX512_ROWS][AVX512_PANELS] = {
        {tile_avx512_1_1, tile_avx512_1_2, tile_avx512_1_3, tile_avx512_1_4},
        {tile_avx512_2_1, tile_avx512_2_2, tile_avx512_2_3, tile_avx512_2_4},
        {tile_avx512_3_1, tile_avx512_3_2, tile_avx512_3_3, tile_avx512_3_4},
        {tile_avx512_4_1, tile_avx512_4_2, tile_avx512_4_3, tile_avx512_4_4},
    };
    for (long i0 = 0; i0 < m; i0 += ROW_BLOCK) {
        long block = m - i0 < ROW_BLOCK ? m - i0 : ROW_BLOCK;
        for (long p = panel_begin; p < panel_end; p += AVX512_PANELS) {
            long panels = panel_end - p < AVX512_PANELS ? panel_end - p : AVX512_PANELS;
            const float *group = packed + p * k * PW;
            long j0 = p * PW;
            for (long i = i0; i < i0 + block; i += AVX512_ROWS) {
                long rows = i0 + block - i < AVX512_ROWS ? i0 + block - i : AVX512_ROWS;
                tiles[rows - 1][panels - 1](k, a + i * lda, lda, group, beta, c + i * ldc + j0, ldc, n - j0);
            }
        }
    }
}

// MARK: - Dispatch

int elmo_packed_gemm_best_isa(void) {
    static int best = -1;
    if (best < 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) best = ELMO_ISA_AVX512;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = ELMO_ISA_AVX2;
        else best = ELMO_ISA_PORTABLE;
    }
    return best;
}

void elmo_packed_gemm_isa(int isa, long m, long n, long k, const float *a, long lda, const float *packed, float beta,
                          float *c, long ldc, long panel_begin, long panel_end) {
    long panels = (n + PW - 1) / PW;
    if (panel_end > panels) panel_end = panels;
    if (m <= 0 || panel_begin >= panel_end) return;
    if (isa > elmo_packed_gemm_best_isa()) isa = ELMO_ISA_PORTABLE;
    switch (isa) {
    case ELMO_ISA_AVX512: gemm_avx512(m, n, k, a, lda, packed, beta, c, ldc, panel_begin, panel_end); break;
    case ELMO_ISA_AVX2: gemm_avx2(m, n, k, a, lda, packed, beta, c, ldc, panel_begin, panel_end); break;
    default: gemm_portable(m, n, k, a, lda, packed, beta, c, ldc, panel_begin, panel_end); break;
    }
}

void elmo_packed_gemm(long m, long n, long k, const float *a, long lda, const float *packed, float beta, float *c,
                      long ldc, long panel_begin, long panel_end) {
    elmo_packed_gemm_isa(elmo_packed_gemm_best_isa(), m, n, k, a, lda, packed, beta, c, ldc, panel_begin, panel_end);
}
