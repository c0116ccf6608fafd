/* The GEMM micro-kernels of each SIMD level this CPU runs, called directly.
 *
 * ukr_rows_m[m] (m = 1 .. MR rows of A read in place, gemm_kern.h) must give
 * each of its rows bitwise the values of the full MR-row kernel ukr_rows, and
 * without an epilogue or with bias / residual / ReLU exactly the C reference:
 * acc = (load ? C : 0), acc = fmaf(A(r,k), B(k,c), acc) for k = 0, 1, ...,
 * then + bias, + residual, max(., 0), in that order.  Rows past m and columns
 * past NR are never written.  msnn_gemm over several K blocks gives that
 * chain exactly too, whatever the layout of A and the thread count.
 *
 * Usage: test_gemm_kernels [seed]
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "gemm.h"
#include "gemm_kern.h"
#include "pool.h"
#include "ms_test.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static float *rand_buf(size_t n)
{
    return ms_test_rand_buf(&rng_state, n);
}

enum { EPI_NONE, EPI_BIAS_COL_RES, EPI_BIAS_ROW_RELU, EPI_RES_GELU, EPI_COUNT };

/* The C reference of m rows of a tile (ldc, ldr as given); GELU, whose
 * vector erf is not erff, through the kernel's own GELU array function on
 * each row (the tile epilogue must give its values bit for bit). */
static int ref_tile(const msnn__gemm_kernel *kn, int m, int nr, int kc, const float *a,
                    ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc, int load, int epi,
                    const msnn__tile_epi *te)
{
    for (int r = 0; r < m; r++)
        for (int j = 0; j < nr; j++) {
            float acc = load ? c[r * ldc + j] : 0.0f;
            for (int k = 0; k < kc; k++)
                acc = fmaf(a[r * lda + k], b[(size_t)k * nr + j], acc);
            if (te && te->bias_col)
                acc += te->bias_col[j];
            if (te && te->bias_row)
                acc += te->bias_row[r];
            if (te && te->res)
                acc += te->res[r * te->ldr + j];
            if (te && te->act == MSNN_ACT_RELU)
                acc = acc > 0.0f ? acc : 0.0f;
            c[r * ldc + j] = acc;
        }
    if (te && te->act == MSNN_ACT_GELU)
        for (int r = 0; r < m; r++)
            kn->gelu(c + r * ldc, (size_t)nr);
    return 1;
}

static void test_level(const msnn__gemm_kernel *kn)
{
    static const int kcs[] = { 1, 7, 64, 203 };
    const int mr = kn->mr, nr = kn->nr;
    CHECK(mr >= 1 && mr < 16 && kn->ukr_rows_m[mr] == kn->ukr_rows);
    int cases = 0, bad = 0;
    for (int ki = 0; ki < 4; ki++) {
        const int kc = kcs[ki];
        const ptrdiff_t lda = kc + 3, ldc = nr + 5, ldr = nr + 2;
        float *a = rand_buf((size_t)mr * lda), *b = rand_buf((size_t)kc * nr);
        float *c0 = rand_buf((size_t)mr * ldc), *res = rand_buf((size_t)mr * ldr);
        float *bias_c = rand_buf(nr), *bias_r = rand_buf(mr);
        float *full = rand_buf((size_t)mr * ldc), *edge = rand_buf((size_t)mr * ldc);
        float *want = rand_buf((size_t)mr * ldc);
        for (int m = 1; m <= mr; m++)
            for (int load = 0; load < 2; load++)
                for (int epi = 0; epi < EPI_COUNT; epi++) {
                    msnn__tile_epi te = { 0 };
                    if (epi == EPI_BIAS_COL_RES)
                        te.bias_col = bias_c;
                    if (epi == EPI_BIAS_ROW_RELU) {
                        te.bias_row = bias_r;
                        te.act = MSNN_ACT_RELU;
                    }
                    if (epi == EPI_BIAS_COL_RES || epi == EPI_RES_GELU) {
                        te.res = res;
                        te.ldr = ldr;
                    }
                    if (epi == EPI_RES_GELU)
                        te.act = MSNN_ACT_GELU;
                    const msnn__tile_epi *tp = epi == EPI_NONE ? NULL : &te;
                    size_t bytes = (size_t)mr * ldc * sizeof(float);
                    memcpy(full, c0, bytes);
                    memcpy(edge, c0, bytes);
                    memcpy(want, c0, bytes);
                    kn->ukr_rows(kc, a, lda, b, full, ldc, load, tp);
                    kn->ukr_rows_m[m](kc, a, lda, b, edge, ldc, load, tp);
                    int have_ref = ref_tile(kn, m, nr, kc, a, lda, b, want, ldc, load, epi, tp);
                    int ok = 1;
                    for (int r = 0; r < mr; r++)
                        for (ptrdiff_t j = 0; j < ldc; j++) {
                            float e = edge[r * ldc + j];
                            if (r < m && j < nr) {
                                ok &= !memcmp(&e, &full[r * ldc + j], sizeof e);
                                if (have_ref)
                                    ok &= !memcmp(&e, &want[r * ldc + j], sizeof e);
                            } else {
                                ok &= !memcmp(&e, &c0[r * ldc + j], sizeof e);
                            }
                        }
                    if (!ok && bad++ < 5)
                        fprintf(stderr, "%s: ukr_rows_m[%d] kc=%d load=%d epi=%d differs\n",
                                kn->name, m, kc, load, epi);
                    cases++;
                }
        free(a), free(b), free(c0), free(res), free(bias_c), free(bias_r);
        free(full), free(edge), free(want);
    }
    printf("%-6s edge kernels: %d cases (MR %d, NR %d), %d differ\n", kn->name, cases, mr, nr,
           bad);
    CHECKF(bad == 0, "%s: %d edge-kernel cases differ", kn->name, bad);
}

/* msnn_gemm on a SIMD level, K over several K blocks (partial sums carried
 * through C), a partial last row panel, A row-major (read in place) and
 * column-major (packed), the residual in place (C itself), 1 and 2 threads:
 * every element bitwise the fmaf chain in increasing k, + bias, + residual,
 * ReLU. */
static void test_gemm_exact(int level, msnn_pool *p2)
{
    const msnn__gemm_kernel *kn = msnn__gemm_kernel_get(level);
    msnn_cpu_set_level(level);
    const int M = 50, N = 40, K = 2 * kn->kc + 37;   /* 3 K blocks */
    const ptrdiff_t ldc = N + 3;
    float *a = rand_buf((size_t)M * K), *b = rand_buf((size_t)K * N), *bias = rand_buf(N);
    float *res = rand_buf((size_t)M * ldc), *want = rand_buf((size_t)M * ldc);
    float *c = rand_buf((size_t)M * ldc);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++)
                acc = fmaf(a[(size_t)i * K + k], b[(size_t)k * N + j], acc);
            acc += bias[j];
            acc += res[(size_t)i * ldc + j];
            want[(size_t)i * ldc + j] = acc > 0.0f ? acc : 0.0f;
        }
    for (int layout = 0; layout < 2; layout++)
        for (int th = 0; th < 2; th++) {
            float *at = a;
            msnn_mat A = { a, K, 1 };
            if (layout) {   /* column-major copy: A(i, k) at at[k*M + i] */
                at = rand_buf((size_t)M * K);
                for (int i = 0; i < M; i++)
                    for (int k = 0; k < K; k++)
                        at[(size_t)k * M + i] = a[(size_t)i * K + k];
                A = (msnn_mat){ at, 1, M };
            }
            memcpy(c, res, (size_t)M * ldc * sizeof *c);
            msnn_epi e = { bias, 0, c, ldc, MSNN_ACT_RELU };
            msnn_mat B = { b, N, 1 };
            msnn_gemm(M, N, K, A, B, c, ldc, &e, th ? p2 : NULL);
            int bad = 0;
            for (int i = 0; i < M; i++)
                bad += memcmp(c + (size_t)i * ldc, want + (size_t)i * ldc, N * sizeof *c) != 0;
            CHECKF(bad == 0, "%s: %d x %d x %d, A %s, %d thread(s): %d rows differ from the "
                   "fmaf chain", kn->name, M, N, K, layout ? "column-major" : "row-major",
                   th + 1, bad);
            if (layout)
                free(at);
        }
    printf("%-6s msnn_gemm %dx%dx%d (kc %d): fmaf chain, in-place residual, 1 and 2 threads\n",
           kn->name, M, N, K, kn->kc);
    free(a), free(b), free(bias), free(res), free(want), free(c);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rng_state = strtoull(argv[1], NULL, 0) | 1;
    int levels = 0;
    msnn_pool *p2 = msnn_pool_new(2);
    CHECK(p2 != NULL);
    for (int l = MSNN_CPU_NEON; l <= MSNN_CPU_AVX512; l++) {
        const msnn__gemm_kernel *kn = msnn__gemm_kernel_get(l);
        if (kn) {
            test_level(kn);
            test_gemm_exact(l, p2);
            levels++;
        }
    }
    msnn_pool_free(&p2);
    printf("%d SIMD level(s) tested\n", levels);
    TEST_END();
}
