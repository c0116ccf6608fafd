/* Internal: the GEMM micro-kernel interface shared by gemm.c and the SIMD
 * variants (x86/kernels_avx2.c, x86/kernels_avx512.c, arm/kernels_neon.c).
 *
 * Packed A: micro-panels of MR rows, element (r, k) at a[k*MR + r].
 * Packed B: micro-panels of NR columns, element (k, c) at b[k*NR + c].
 * Edges are zero padded, so every tile runs the same instructions.
 *
 * ukr(kc, a, b, c, ldc, load, te): the MR x NR tile c (leading dim ldc)
 *   becomes (load ? c : 0) + sum_{k<kc} a(:,k) b(k,:), accumulated with one
 *   fused multiply-add per k in increasing k, so an element's value depends
 *   only on K, never on blocking or threads; then, if te != NULL, the
 *   epilogue (the same vector operations as epi).
 * epi(c, ldc, m, n, i0, j0, e): the epilogue on an m x n block of C whose
 *   top-left element is C(i0, j0).
 */
#ifndef MSNN_GEMM_KERN_H
#define MSNN_GEMM_KERN_H

#include <stddef.h>
#include "gemm.h"

/* The epilogue of one full tile, applied in registers before the store:
 * pointers already offset to the tile's first row / column. */
typedef struct msnn__tile_epi {
    const float *bias_col;  /* NR floats, or NULL */
    const float *bias_row;  /* MR floats, or NULL */
    const float *res;       /* MR x NR with leading dim ldr, or NULL */
    ptrdiff_t ldr;
    int act;
} msnn__tile_epi;

typedef void (*msnn__ukr_fn)(int kc, const float *a, const float *b, float *c,
                             ptrdiff_t ldc, int load, const msnn__tile_epi *te);
/* The same with A read in place: MR rows of a row-major matrix, row r at
 * a + r*lda (full tiles only: all MR rows must exist). */
typedef void (*msnn__ukr_rows_fn)(int kc, const float *a, ptrdiff_t lda, const float *b,
                                  float *c, ptrdiff_t ldc, int load, const msnn__tile_epi *te);
typedef void (*msnn__epi_fn)(float *c, ptrdiff_t ldc, int m, int n, int i0, int j0,
                             const msnn_epi *e);

typedef struct msnn__gemm_kernel {
    const char *name;
    int level;              /* MSNN_CPU_* */
    int mr, nr;             /* register tile */
    int kc, mc, nc;         /* cache blocking */
    msnn__ukr_fn ukr;
    msnn__ukr_rows_fn ukr_rows;
    /* ukr_rows_m[m]: ukr_rows on m rows (1 <= m <= mr; [mr] is ukr_rows):
     * a bottom-edge tile read and written in place, each row's values the
     * same as in a full tile */
    msnn__ukr_rows_fn ukr_rows_m[16];
    msnn__epi_fn epi;
    /* B rows [k0, k0+kc) x columns [j0, j0+n) -> NR-column panels, zero padded */
    void (*pack_b)(msnn_mat B, int k0, int kc, int j0, int n, float *dst);
    void (*erf)(const float *x, float *y, size_t n);   /* y = erf(x) */
    void (*gelu)(float *x, size_t n);                  /* in place, exact-erf form */
} msnn__gemm_kernel;

/* Filled by the SIMD files (only those compiled for the host). */
void msnn__gemm_kernel_avx2(msnn__gemm_kernel *k);
void msnn__gemm_kernel_avx512(msnn__gemm_kernel *k);
void msnn__gemm_kernel_neon(msnn__gemm_kernel *k);

/* The kernel of a dispatch level, or NULL (ref, or not supported here). */
const msnn__gemm_kernel *msnn__gemm_kernel_get(int level);

/* The panels of a packed B (the layout above: ceil(N/NR) panels of K x NR,
 * panel p at p*K*NR) when it was packed for kernel kn, else NULL: for
 * callers that run kn's micro-kernels on a model's packed weights. */
const float *msnn__gemm_packed_panels(const msnn_packed_b *bp, const msnn__gemm_kernel *kn);

/* Multiply-adds done by msnn_gemm / msnn_gemm_packed since start (all
 * threads); kernels that run micro-kernels themselves add theirs. */
unsigned long long msnn__gemm_macs(void);
void msnn__gemm_add_macs(unsigned long long n);

/* Per-thread working memory of at least `bytes` bytes (64-byte aligned),
 * kept between calls and freed when the thread exits; NULL on OOM.  The
 * contents do not survive the next call with the same slot.  Slot 0 belongs
 * to msnn_gemm; slot 1 is for a kernel that does not call msnn_gemm while
 * it uses the memory. */
void *msnn__thread_scratch(int slot, size_t bytes);

#endif
