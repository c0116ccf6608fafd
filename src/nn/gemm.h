/* medsam-tools inference engine: single-precision GEMM with fused epilogue.
 *
 *   C[i][j] = act( sum_k A(i,k) * B(k,j) + bias + residual[i][j] )
 *
 * A is M x K, B is K x N, both given by element strides so transposed views
 * (torch Linear weights are [out][in]) need no copy.  C is row-major with
 * leading dimension ldc.  The sum over k is always done in the same order
 * for a given (M, N, K) and dispatch path, whatever the thread count.
 *
 * Weights that are used many times can be packed once (msnn_gemm_pack_b) for
 * the active kernel; a packed B is passed through `bp` instead of `B`.
 */
#ifndef MSNN_GEMM_H
#define MSNN_GEMM_H

#include <stddef.h>
#include "pool.h"

typedef struct msnn_mat {
    const float *p;
    ptrdiff_t rs, cs;        /* element (r, c) is p[r*rs + c*cs] */
} msnn_mat;

enum { MSNN_ACT_NONE = 0, MSNN_ACT_GELU = 1, MSNN_ACT_RELU = 2 };

typedef struct msnn_epi {
    const float *bias;       /* NULL, or per column (N) if !bias_per_row, per row (M) if bias_per_row */
    int bias_per_row;
    const float *residual;   /* NULL, or M x N, leading dim ldr; added before act */
    ptrdiff_t ldr;
    int act;                 /* MSNN_ACT_* applied last (GELU = exact erf form) */
} msnn_epi;

typedef struct msnn_packed_b msnn_packed_b;   /* opaque, kernel specific */

void msnn_gemm(int M, int N, int K, msnn_mat A, msnn_mat B, float *C, ptrdiff_t ldc,
               const msnn_epi *e, msnn_pool *pool);

/* Pack B (K x N) once for repeated use with msnn_gemm_packed. NULL on OOM. */
msnn_packed_b *msnn_gemm_pack_b(int K, int N, msnn_mat B);
/* The same into caller memory: mem (64-byte aligned) holds cap floats, at
 * least msnn_gemm_packed_floats(K, N) (a multiple of 16, for the current
 * dispatch level) and outlives the result; msnn_gemm_packed_free then frees
 * only the handle.  NULL on OOM or when cap is too small.  One allocation
 * for all of a model's weights means fewer, larger (huge) pages to fault. */
size_t msnn_gemm_packed_floats(int K, int N);
msnn_packed_b *msnn_gemm_pack_b_into(int K, int N, msnn_mat B, float *mem, size_t cap);
void msnn_gemm_packed_free(msnn_packed_b **bp);
void msnn_gemm_packed(int M, const msnn_packed_b *bp, msnn_mat A, float *C, ptrdiff_t ldc,
                      const msnn_epi *e, msnn_pool *pool);

#endif
