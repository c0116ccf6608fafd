/* Single-precision GEMM with fused epilogue (gemm.h): reference C.
 *
 * Every element is computed as acc = 0; for k = 0..K-1: acc += A(i,k)*B(k,j)
 * (separate multiply and add, ISO C so no contraction), then the epilogue.
 * Threads split the output by rows (or columns when M is small), so the
 * result never depends on the thread count.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "gemm.h"

struct msnn_packed_b {
    int K, N;
    float *data;            /* K x N row-major copy */
};

/* The epilogue for one element: act(acc + bias + residual), in that order. */
static inline float epi_one(float v, const msnn_epi *e, int i, int j)
{
    if (!e)
        return v;
    if (e->bias)
        v += e->bias_per_row ? e->bias[i] : e->bias[j];
    if (e->residual)
        v += e->residual[(ptrdiff_t)i * e->ldr + j];
    if (e->act == MSNN_ACT_GELU)
        v = v * 0.5f * (1.0f + erff(v * 0.70710678118654752f));
    else if (e->act == MSNN_ACT_RELU)
        v = v > 0.0f ? v : 0.0f;
    return v;
}

typedef struct gemm_task {
    int M, N, K;
    msnn_mat A, B;
    float *C;
    ptrdiff_t ldc;
    const msnn_epi *e;
    int split_rows;         /* 1: threads split M, 0: threads split N */
} gemm_task;

#define REF_NB 64

/* Rows [i0, i1) x columns [j0, j1) of C. */
static void ref_block(const gemm_task *t, int i0, int i1, int j0, int j1)
{
    float acc[REF_NB];
    for (int i = i0; i < i1; i++) {
        const float *a = t->A.p + (ptrdiff_t)i * t->A.rs;
        for (int jb = j0; jb < j1; jb += REF_NB) {
            int nb = j1 - jb < REF_NB ? j1 - jb : REF_NB;
            for (int jj = 0; jj < nb; jj++)
                acc[jj] = 0.0f;
            for (int k = 0; k < t->K; k++) {
                float av = a[(ptrdiff_t)k * t->A.cs];
                const float *b = t->B.p + (ptrdiff_t)k * t->B.rs + (ptrdiff_t)jb * t->B.cs;
                if (t->B.cs == 1)
                    for (int jj = 0; jj < nb; jj++)
                        acc[jj] += av * b[jj];
                else
                    for (int jj = 0; jj < nb; jj++)
                        acc[jj] += av * b[(ptrdiff_t)jj * t->B.cs];
            }
            float *c = t->C + (ptrdiff_t)i * t->ldc + jb;
            for (int jj = 0; jj < nb; jj++)
                c[jj] = epi_one(acc[jj], t->e, i, jb + jj);
        }
    }
}

static void ref_task(void *arg, int ith, int nth)
{
    const gemm_task *t = arg;
    int lo, hi;
    if (t->split_rows) {
        msnn_split(t->M, ith, nth, &lo, &hi);
        ref_block(t, lo, hi, 0, t->N);
    } else {
        msnn_split(t->N, ith, nth, &lo, &hi);
        ref_block(t, 0, t->M, lo, hi);
    }
}

void msnn_gemm(int M, int N, int K, msnn_mat A, msnn_mat B, float *C, ptrdiff_t ldc,
               const msnn_epi *e, msnn_pool *pool)
{
    if (M <= 0 || N <= 0)
        return;
    if (K < 0)
        K = 0;
    gemm_task t = { M, N, K, A, B, C, ldc, e, 1 };
    int nth = msnn_pool_size(pool);
    t.split_rows = M >= nth * 4 || M >= N;
    if ((double)M * N * (K + 1) < 32768.0)
        pool = NULL;
    msnn_pool_run(pool, ref_task, &t);
}

msnn_packed_b *msnn_gemm_pack_b(int K, int N, msnn_mat B)
{
    if (K < 0 || N < 0)
        return NULL;
    msnn_packed_b *bp = calloc(1, sizeof *bp);
    if (!bp)
        return NULL;
    bp->K = K;
    bp->N = N;
    size_t n = (size_t)K * (size_t)N;
    if (N && n / (size_t)N != (size_t)K)
        goto fail;
    bp->data = malloc((n ? n : 1) * sizeof(float));
    if (!bp->data)
        goto fail;
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++)
            bp->data[(size_t)k * N + j] = B.p[(ptrdiff_t)k * B.rs + (ptrdiff_t)j * B.cs];
    return bp;
fail:
    msnn_gemm_packed_free(&bp);
    return NULL;
}

void msnn_gemm_packed_free(msnn_packed_b **bp)
{
    if (!bp || !*bp)
        return;
    free((*bp)->data);
    free(*bp);
    *bp = NULL;
}

void msnn_gemm_packed(int M, const msnn_packed_b *bp, msnn_mat A, float *C, ptrdiff_t ldc,
                      const msnn_epi *e, msnn_pool *pool)
{
    msnn_mat B = { bp->data, bp->N, 1 };
    msnn_gemm(M, bp->N, bp->K, A, B, C, ldc, e, pool);
}
