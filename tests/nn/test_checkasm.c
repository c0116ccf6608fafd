/* checkasm-style tests of the engine's GEMM and SIMD helpers.
 *
 * Every dispatch level this CPU runs (ref, avx2, avx512 / neon) is compared
 * with a double-precision product on random shapes including edge sizes,
 * strided and transposed operands, packed B and every epilogue; the
 * tolerance is K * eps relative to sum |a||b|.  Results must be bitwise
 * identical for 1, 2 and 3 threads and between packed and unpacked B; the
 * vectorised erf must stay within a few ulp of erff.  The SIMD entries of the
 * kernel table (depthwise conv, LayerNorm, softmax, GELU, ReLU, window
 * attention) are compared with the reference table.
 *
 * Usage: test_checkasm [seed]
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "gemm.h"
#include "gemm_kern.h"
#include "kernels.h"
#include "pool.h"
#include "ms_test.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    return (uint32_t)(ms_test_xorshift(&rng_state) >> 16);
}

static float frand(void)
{
    return ms_test_frand(&rng_state);
}

static float *rand_buf(size_t n)
{
    return ms_test_rand_buf(&rng_state, n);
}

/* Operands of one case: A is M x K, B is K x N, stored plain or transposed
 * with padding so strides differ from the logical sizes. */
typedef struct gcase {
    int M, N, K;
    int ta, tb;             /* stored transposed */
    int epi_bias;           /* 0 none, 1 per column, 2 per row */
    int epi_res, act;
    float *a, *b, *bias, *res;
    msnn_mat A, B;
    ptrdiff_t ldc, ldr;
} gcase;

static void case_make(gcase *g, int M, int N, int K, int ta, int tb, int eb, int er, int act)
{
    memset(g, 0, sizeof *g);
    g->M = M, g->N = N, g->K = K, g->ta = ta, g->tb = tb;
    g->epi_bias = eb, g->epi_res = er, g->act = act;
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5;
    g->a = rand_buf((size_t)(ta ? K : M) * lda);
    g->b = rand_buf((size_t)(tb ? N : K) * ldb);
    g->A = ta ? (msnn_mat){ g->a, 1, lda } : (msnn_mat){ g->a, lda, 1 };
    g->B = tb ? (msnn_mat){ g->b, 1, ldb } : (msnn_mat){ g->b, ldb, 1 };
    g->bias = rand_buf((size_t)(M > N ? M : N));
    g->ldc = N + 2;
    g->ldr = N + 7;
    g->res = rand_buf((size_t)M * g->ldr);
}

static void case_free(gcase *g)
{
    free(g->a), free(g->b), free(g->bias), free(g->res);
}

static msnn_epi case_epi(const gcase *g)
{
    msnn_epi e = { 0 };
    if (g->epi_bias) {
        e.bias = g->bias;
        e.bias_per_row = g->epi_bias == 2;
    }
    if (g->epi_res) {
        e.residual = g->res;
        e.ldr = g->ldr;
    }
    e.act = g->act;
    return e;
}

static float *run_case(const gcase *g, msnn_pool *pool, int packed)
{
    float *c = malloc((size_t)g->M * g->ldc * sizeof *c);
    if (!c)
        exit(1);
    for (size_t i = 0; i < (size_t)g->M * g->ldc; i++)
        c[i] = NAN;             /* untouched padding stays NaN */
    msnn_epi e = case_epi(g);
    if (packed) {
        msnn_packed_b *bp = msnn_gemm_pack_b(g->K, g->N, g->B);
        CHECK(bp != NULL);
        if (bp)
            msnn_gemm_packed(g->M, bp, g->A, c, g->ldc, &e, pool);
        msnn_gemm_packed_free(&bp);
        CHECK(bp == NULL);
    } else {
        msnn_gemm(g->M, g->N, g->K, g->A, g->B, c, g->ldc, &e, pool);
    }
    return c;
}

static double act_d(double v, int act)
{
    if (act == MSNN_ACT_GELU)
        return v * 0.5 * (1.0 + erf(v / sqrt(2.0)));
    if (act == MSNN_ACT_RELU)
        return v > 0 ? v : 0;
    return v;
}

/* Compare with the double product: |c - exact| <= tol * (sum|a||b| + |extra|)
 * with tol = (K + 8) * eps (GELU adds a few ulp of its own). */
static int check_case(const gcase *g, const float *c, const char *what)
{
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < g->M; i++) {
        for (int j = 0; j < g->N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < g->K; k++) {
                double p = (double)g->A.p[i * g->A.rs + k * g->A.cs] *
                           g->B.p[k * g->B.rs + j * g->B.cs];
                s += p;
                mag += fabs(p);
            }
            if (g->epi_bias) {
                double bv = g->epi_bias == 2 ? g->bias[i] : g->bias[j];
                s += bv;
                mag += fabs(bv);
            }
            if (g->epi_res) {
                s += g->res[i * g->ldr + j];
                mag += fabs(g->res[i * g->ldr + j]);
            }
            mag += fabs(s) + 1e-30;
            double want = act_d(s, g->act);
            double tol = (g->K + 8) * FLT_EPSILON * mag * (g->act == MSNN_ACT_GELU ? 2 : 1);
            double d = fabs(c[i * g->ldc + j] - want);
            if (!(d <= tol)) {
                if (bad++ < 3)
                    fprintf(stderr, "%s: C(%d,%d) = %.9g, want %.9g (tol %g)\n", what, i, j,
                            c[i * g->ldc + j], want, tol);
            }
            if (d / tol > worst)
                worst = d / tol;
        }
        for (ptrdiff_t j = g->N; j < g->ldc; j++)
            if (!isnan(c[i * g->ldc + j]))
                bad++;
    }
    return bad;
}

static const int edge_sizes[] = { 1, 2, 5, 7, 8, 13, 16, 17, 31, 33, 63, 65, 97, 257 };
#define NEDGE (int)(sizeof edge_sizes / sizeof edge_sizes[0])

static int levels[4], nlevels;

static void find_levels(void)
{
    levels[nlevels++] = MSNN_CPU_REF;
    for (int l = MSNN_CPU_NEON; l <= MSNN_CPU_AVX512; l++)
        if (msnn__gemm_kernel_get(l))
            levels[nlevels++] = l;
}

/* Random shapes x operand layouts x epilogues on every level. */
static void test_random_cases(msnn_pool *pool2)
{
    for (int li = 0; li < nlevels; li++) {
        int lv = msnn_cpu_set_level(levels[li]);
        CHECK_EQ_INT(lv, levels[li]);
        int fails = 0, cases = 0;
        for (int it = 0; it < 160; it++) {
            int M = edge_sizes[rnd() % NEDGE], N = edge_sizes[rnd() % NEDGE];
            int K = it % 9 == 0 ? 0 : edge_sizes[rnd() % NEDGE];
            if (it % 7 == 0)
                K = 300 + rnd() % 300;      /* several KC blocks */
            gcase g;
            case_make(&g, M, N, K, rnd() & 1, rnd() & 1, rnd() % 3, rnd() & 1, rnd() % 3);
            char what[128];
            snprintf(what, sizeof what, "%s M=%d N=%d K=%d ta=%d tb=%d bias=%d res=%d act=%d",
                     msnn_cpu_level_name(lv), M, N, K, g.ta, g.tb, g.epi_bias, g.epi_res, g.act);
            float *c = run_case(&g, it & 1 ? pool2 : NULL, 0);
            float *cp = run_case(&g, it & 1 ? NULL : pool2, 1);
            int bad = check_case(&g, c, what);
            CHECKF(bad == 0, "%s: %d elements off", what, bad);
            CHECKF(!memcmp(c, cp, (size_t)M * g.ldc * sizeof *c) || bad,
                   "%s: packed B differs from plain B", what);
            fails += bad != 0;
            cases++;
            free(c), free(cp);
            case_free(&g);
        }
        printf("%-6s %d random cases, %d failed\n", msnn_cpu_level_name(lv), cases, fails);
    }
}

/* The same product for 1, 2 and 3 threads, bitwise; shapes split by rows and
 * by columns, with the model's layouts (token-major and NCHW 1x1 conv). */
static void test_threads(msnn_pool *p2, msnn_pool *p3)
{
    static const int shapes[][3] = {
        { 1000, 96, 130 },   /* rows split */
        { 64, 2000, 72 },    /* columns split */
        { 49, 49, 32 },      /* attention window */
        { 333, 333, 700 },   /* several KC blocks */
    };
    for (int li = 0; li < nlevels; li++) {
        msnn_cpu_set_level(levels[li]);
        for (int s = 0; s < 4; s++) {
            for (int act = 0; act < 3; act++) {
                gcase g;
                case_make(&g, shapes[s][0], shapes[s][1], shapes[s][2], s & 1, act == 1,
                          1 + (act & 1), act != 2, act);
                float *c1 = run_case(&g, NULL, 0);
                float *c2 = run_case(&g, p2, 0);
                float *c3 = run_case(&g, p3, 0);
                float *c3p = run_case(&g, p3, 1);
                size_t n = (size_t)g.M * g.ldc * sizeof *c1;
                CHECKF(!memcmp(c1, c2, n) && !memcmp(c1, c3, n) && !memcmp(c1, c3p, n),
                       "%s: %dx%dx%d act %d differs between thread counts",
                       msnn_cpu_level_name(levels[li]), g.M, g.N, g.K, act);
                if (s == 3 && act == 0)
                    CHECK(check_case(&g, c3, "threads") == 0);
                free(c1), free(c2), free(c3), free(c3p);
                case_free(&g);
            }
        }
    }
}

/* A few rows against a transposed B (attention scores of the decoder's
 * tokens, its out-projections with a residual): gemm.c computes them as
 * B^T A^T; the result must be bitwise the direct one (packed B never takes
 * that route). */
static void test_small_m(msnn_pool *p2)
{
    static const int ms[] = { 1, 5, 7, 11, 13 };
    for (int li = 0; li < nlevels; li++) {
        msnn_cpu_set_level(levels[li]);
        for (int mi = 0; mi < 5; mi++) {
            gcase g;
            case_make(&g, ms[mi], 700, 40, mi & 1, 1, 1 + (mi & 1), mi >= 2, mi % 3);
            float *c = run_case(&g, mi & 1 ? p2 : NULL, 0), *cp = run_case(&g, NULL, 1);
            CHECKF(check_case(&g, c, "small M") == 0 &&
                   !memcmp(c, cp, (size_t)g.M * g.ldc * sizeof *c),
                   "%s: M=%d x transposed B differs", msnn_cpu_level_name(levels[li]), g.M);
            free(c), free(cp);
            case_free(&g);
        }
    }
}

/* The residual may be C itself (in place x = x + f(x)), with several K
 * blocks so C holds partial sums before the epilogue, or with few rows
 * (the B^T A^T route, which writes C before its epilogue reads the
 * residual). */
static void test_inplace_residual(void)
{
    static const int shapes[2][3] = { { 37, 45, 900 }, { 7, 256, 40 } };
    for (int li = 0; li < 2 * nlevels; li++) {
        msnn_cpu_set_level(levels[li / 2]);
        int M = shapes[li & 1][0], N = shapes[li & 1][1], K = shapes[li & 1][2];
        gcase g;
        case_make(&g, M, N, K, 0, 1, 1, 1, MSNN_ACT_GELU);
        g.ldr = g.ldc;
        float *c = malloc((size_t)M * g.ldc * sizeof *c);
        for (size_t i = 0; i < (size_t)M * g.ldc; i++)
            c[i] = i % (size_t)g.ldc < (size_t)N ? frand() : NAN;
        free(g.res);
        g.res = malloc((size_t)M * g.ldc * sizeof *g.res);
        memcpy(g.res, c, (size_t)M * g.ldc * sizeof *c);  /* the expected residual */
        msnn_epi e = case_epi(&g);
        e.residual = c;
        msnn_gemm(M, N, K, g.A, g.B, c, g.ldc, &e, NULL);
        CHECKF(check_case(&g, c, "in-place residual") == 0, "%s: in-place residual, M=%d",
               msnn_cpu_level_name(levels[li / 2]), M);
        free(c);
        case_free(&g);
    }
}

/* The ulp distance between two finite floats. */
static long long ulp_diff(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0)
        ia = INT32_MIN - ia;
    if (ib < 0)
        ib = INT32_MIN - ib;
    return llabs((long long)ia - ib);
}

/* Vectorised erf against erff on a dense sweep of [-5, 5] plus specials;
 * GELU arrays against the scalar formula. */
/* The largest |g[i] - GELU(x[i])| over n values, in units of 4 eps |x|
 * (GELU through erff in the reference's operation order). */
static double gelu_error(const float *x, const float *g, int n)
{
    double worst = 0;
    for (int i = 0; i < n; i++) {
        float v = x[i];
        float want = v * 0.5f * (1.0f + erff(v * 0.70710678118654752f));
        double d = fabs((double)g[i] - want);
        double tol = 4 * FLT_EPSILON * fabs(v) + 1e-37;
        if (d / tol > worst)
            worst = d / tol;
    }
    return worst;
}

static void test_erf(void)
{
    enum { N = 1 << 20 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *g = malloc(N * sizeof *g);
    if (!x || !y || !g)
        exit(1);
    for (int i = 0; i < N; i++)
        x[i] = -5.0f + 10.0f * (float)i / N;
    x[0] = 0.0f, x[1] = -0.0f, x[2] = 1e-30f, x[3] = -1e-6f, x[4] = 0.921875f;
    x[5] = -0.921875f, x[6] = 4.0f, x[7] = 30.0f, x[8] = -1e10f, x[9] = 0.9218749f;
    for (int l = MSNN_CPU_NEON; l <= MSNN_CPU_AVX512; l++) {
        const msnn__gemm_kernel *k = msnn__gemm_kernel_get(l);
        if (!k)
            continue;
        k->erf(x, y, N - 3);            /* odd length: the padded tail */
        long long worst = 0;
        int at = 0;
        for (int i = 0; i < N - 3; i++) {
            long long d = ulp_diff(y[i], erff(x[i]));
            if (d > worst)
                worst = d, at = i;
        }
        printf("%-6s erf: max %lld ulp from erff (x = %.9g)\n", k->name, worst, x[at]);
        CHECKF(worst <= 3, "%s erf: %lld ulp at x = %.9g", k->name, worst, x[at]);
        CHECK(y[1] == 0.0f && signbit(y[1]) && y[6] == 1.0f && y[8] == -1.0f);

        memcpy(g, x, N * sizeof *g);
        k->gelu(g, N - 1);
        double gw = gelu_error(x, g, N - 1);
        CHECKF(gw <= 1.0, "%s gelu: error %.3g x (4 eps |x|)", k->name, gw);
        CHECK(g[N - 1] == x[N - 1]);    /* past n: untouched */

        /* GELU past the sweep (its tail has its own clamp) and specials */
        for (int i = 0; i < N; i++)
            g[i] = -9.0f + 18.0f * (float)i / N;
        g[0] = -1e10f, g[1] = 1e10f, g[2] = -0.0f, g[3] = 5.4f, g[4] = -5.4f;
        memcpy(y, g, N * sizeof *y);
        k->gelu(g, N);
        gw = gelu_error(y, g, N);
        printf("%-6s gelu: max error %.3g x (4 eps |x|)\n", k->name, gw);
        CHECKF(gw <= 1.0, "%s gelu on [-9, 9]: error %.3g x (4 eps |x|)", k->name, gw);
        /* GELU(-0) is a zero of either sign: max(0, -0) is -0 on x86 and +0
         * on AArch64 (its FMAX orders -0 below +0) */
        CHECK(g[0] == 0.0f && g[1] == 1e10f && g[2] == 0.0f);
    }
    free(x), free(y), free(g);
}

/* max |got - want| / (tol_rel * scale + tol_abs) over n floats; prints the worst. */
static double cmp_rel(const float *got, const float *want, size_t n, double scale_min,
                      double tol, const char *what)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double sc = fabs(want[i]) > scale_min ? fabs(want[i]) : scale_min;
        double r = fabs((double)got[i] - want[i]) / (tol * sc);
        if (!(r <= worst))
            worst = isnan(r) ? 1e30 : r, at = i;
    }
    if (worst > 1)
        fprintf(stderr, "%s: [%zu] = %.9g, want %.9g\n", what, at, got[at], want[at]);
    return worst;
}

static void test_table_kernels(void)
{
    msnn_kernels ref;
    msnn_kernels_ref(&ref);
    for (int li = 1; li < nlevels; li++) {
        msnn_cpu_set_level(levels[li]);
        const msnn_kernels *k = msnn_kernels_get();
        const char *nm = msnn_cpu_level_name(levels[li]);
        char what[160];
        /* depthwise 3x3: sizes, channel tails, stride, act, partial row ranges */
        /* and the channel counts with their own row code (kernels_tmpl.h
         * dw_quads_for: 128, 160, 320 without act, 272, 336 with GELU at
         * stride 1, 144, 176 with GELU at stride 2), on widths that end in
         * 0 to 3 pixels after the last quad */
        static const int dims[][4] = { { 1, 1, 8, 1 }, { 2, 3, 13, 2 }, { 5, 4, 64, 1 },
                                       { 9, 7, 160, 2 }, { 6, 9, 3, 1 }, { 4, 5, 20, 1 },
                                       { 7, 12, 32, 1 }, { 5, 11, 64, 1 }, { 3, 17, 16, 1 },
                                       { 4, 14, 128, 1 }, { 3, 6, 160, 1 }, { 3, 11, 320, 1 },
                                       { 4, 12, 144, 1 }, { 3, 13, 176, 1 }, { 3, 10, 272, 1 },
                                       { 5, 7, 336, 1 }, { 2, 5, 272, 1 }, { 5, 10, 144, 2 },
                                       { 6, 17, 144, 2 }, { 7, 18, 176, 2 }, { 5, 25, 176, 2 },
                                       { 4, 9, 144, 2 } };
        for (int di = 0; di < (int)(sizeof dims / sizeof dims[0]); di++) {
            for (int act = 0; act < 3; act++) {
                int H = dims[di][0], W = dims[di][1], C = dims[di][2], st = dims[di][3];
                int Ho = (H - 1) / st + 1, Wo = (W - 1) / st + 1;
                float *x = rand_buf((size_t)H * W * C), *w = rand_buf(9 * (size_t)C);
                float *b = rand_buf(C);
                float *y1 = rand_buf((size_t)Ho * Wo * C), *y2 = rand_buf((size_t)Ho * Wo * C);
                int oy0 = Ho > 2 ? 1 : 0, oy1 = Ho;
                int r0 = oy0 * st - 1 < 0 ? 0 : oy0 * st - 1;   /* first input row needed */
                const float *xs = x + (size_t)r0 * W * C;
                ref.dwconv3x3(xs, r0, H - r0, H, W, C, st, w, b, act, y1, oy0, oy1);
                k->dwconv3x3(xs, r0, H - r0, H, W, C, st, w, b, act, y2, oy0, oy1);
                snprintf(what, sizeof what, "%s dwconv3x3 %dx%dx%d s%d act %d", nm, H, W, C,
                         st, act);
                CHECKF(cmp_rel(y2, y1, (size_t)(oy1 - oy0) * Wo * C, 4.0, 16 * FLT_EPSILON,
                               what) <= 1, "%s", what);
                free(x), free(w), free(b), free(y1), free(y2);
            }
        }
        /* LayerNorm, in place and out of place */
        static const int lcs[] = { 1, 7, 8, 64, 160, 320 };
        for (int ci = 0; ci < 6; ci++) {
            int C = lcs[ci], rows = 5;
            float *x = rand_buf((size_t)rows * (C + 3)), *g = rand_buf(C), *b = rand_buf(C);
            for (int i = 0; i < rows * (C + 3); i++)
                x[i] = x[i] * 3 + 10;                       /* offset: tests the centring */
            float *y1 = rand_buf((size_t)rows * C), *y2 = malloc((size_t)rows * (C + 3) * 4);
            memcpy(y2, x, (size_t)rows * (C + 3) * 4);
            ref.layernorm(x, C + 3, y1, C, rows, C, g, b, 1e-6f);
            k->layernorm(y2, C + 3, y2, C + 3, rows, C, g, b, 1e-6f);
            for (int r = 1; r < rows; r++)
                memmove(y2 + r * C, y2 + r * (C + 3), C * sizeof *y2);
            snprintf(what, sizeof what, "%s layernorm C=%d", nm, C);
            CHECKF(cmp_rel(y2, y1, (size_t)rows * C, 1.0, (C + 16) * FLT_EPSILON * 4, what) <= 1,
                   "%s", what);
            free(x), free(g), free(b), free(y1), free(y2);
        }
        /* softmax rows (window sizes, tails), GELU, ReLU */
        static const int sns[] = { 1, 7, 8, 49, 196, 4096 };
        for (int si = 0; si < 6; si++) {
            int n = sns[si], rows = 3, ld = n + 5;
            float *x1 = rand_buf((size_t)rows * ld), *x2 = malloc((size_t)rows * ld * 4);
            for (int i = 0; i < rows * ld; i++)
                x1[i] *= 20;
            memcpy(x2, x1, (size_t)rows * ld * 4);
            ref.softmax(x1, rows, n, ld);
            k->softmax(x2, rows, n, ld);
            snprintf(what, sizeof what, "%s softmax n=%d", nm, n);
            /* the reference sums sequentially: up to ~n eps relative in the sum */
            CHECKF(cmp_rel(x2, x1, (size_t)rows * ld, 1e-30, (8 + n / 8) * FLT_EPSILON, what) <= 1,
                   "%s", what);
            free(x1), free(x2);
        }
        {
            size_t n = 1003;
            float *x1 = rand_buf(n), *x2 = malloc(n * 4), *x3 = malloc(n * 4), *x4 = malloc(n * 4);
            for (size_t i = 0; i < n; i++)
                x1[i] *= 6;
            memcpy(x2, x1, n * 4), memcpy(x3, x1, n * 4), memcpy(x4, x1, n * 4);
            ref.gelu(x1, n), k->gelu(x2, n);
            ref.relu(x3, n), k->relu(x4, n);
            CHECKF(cmp_rel(x2, x1, n, 1.0, 4 * FLT_EPSILON, "gelu") <= 1, "%s gelu", nm);
            CHECKF(!memcmp(x3, x4, n * 4), "%s relu", nm);
            free(x1), free(x2), free(x3), free(x4);
        }
        /* window attention, with and without bias: the model's 7x7 and 14x14
         * windows, and shapes that leave partial row tiles, column panels and
         * output panels (d not a multiple of the register tile width), or no
         * softmax tail (N a multiple of the vector width) */
        static const int wa_shapes[][4] = { /* N, heads, kd, d */
            { 49, 2, 16, 32 }, { 196, 1, 32, 32 }, { 13, 3, 8, 20 }, { 5, 2, 32, 16 },
            { 37, 1, 12, 40 }, { 64, 2, 16, 32 }, { 16, 1, 8, 16 },
        };
        for (int si = 0; si < (int)(sizeof wa_shapes / sizeof wa_shapes[0]); si++)
        for (int wb = 0; wb < 2; wb++) {
            int N = wa_shapes[si][0], heads = wa_shapes[si][1], kd = wa_shapes[si][2];
            int d = wa_shapes[si][3], ld = heads * (2 * kd + d) + 3;
            float *qkv = rand_buf((size_t)N * ld), *bias = rand_buf((size_t)heads * N * N);
            float *o1 = rand_buf((size_t)N * heads * d), *o2 = rand_buf((size_t)N * heads * d);
            float *scr = malloc((size_t)N * N * 4);
            ref.window_attn(qkv, ld, N, heads, kd, d, wb ? bias : NULL, o1, heads * d, scr);
            k->window_attn(qkv, ld, N, heads, kd, d, wb ? bias : NULL, o2, heads * d, scr);
            snprintf(what, sizeof what, "%s window_attn N %d kd %d d %d bias %d", nm, N, kd, d,
                     wb);
            CHECKF(cmp_rel(o2, o1, (size_t)N * heads * d, 0.1, 64 * FLT_EPSILON, what) <= 1,
                   "%s", what);
            free(qkv), free(bias), free(o1), free(o2), free(scr);
        }
        /* window attention on partial windows (real top-left hy x wx of ws x ws,
         * one shared padding row): against the reference, and bitwise against
         * window_attn on the expanded window, restricted to the real rows */
        static const int wp_shapes[][6] = { /* ws, hy, wx, heads, kd, d */
            { 7, 7, 7, 2, 16, 32 }, { 7, 7, 2, 4, 32, 32 }, { 7, 2, 7, 2, 16, 16 },
            { 7, 1, 1, 1, 32, 32 }, { 14, 8, 14, 1, 32, 32 }, { 14, 14, 8, 2, 32, 32 },
            { 14, 8, 8, 1, 32, 32 }, { 3, 2, 3, 3, 8, 20 }, { 5, 4, 1, 1, 12, 40 },
            { 8, 5, 8, 2, 16, 16 }, { 8, 8, 8, 1, 24, 32 },
        };
        for (int si = 0; si < (int)(sizeof wp_shapes / sizeof wp_shapes[0]); si++)
        for (int wb = 0; wb < 2; wb++) {
            int ws = wp_shapes[si][0], hy = wp_shapes[si][1], wx = wp_shapes[si][2];
            int heads = wp_shapes[si][3], kd = wp_shapes[si][4], d = wp_shapes[si][5];
            int N = ws * ws, M = hy * wx, rows = M + (M < N), ld = heads * (2 * kd + d) + 3;
            float *qkv = rand_buf((size_t)rows * ld), *bias = rand_buf((size_t)heads * N * N);
            float *full = malloc((size_t)N * ld * 4);
            for (int j = 0; j < N; j++) {   /* the expanded window */
                int ty = j / ws, tx = j % ws, r = ty < hy && tx < wx ? ty * wx + tx : M;
                memcpy(full + (size_t)j * ld, qkv + (size_t)r * ld, (size_t)ld * 4);
            }
            size_t od = (size_t)heads * d;
            float *o1 = rand_buf((size_t)M * od), *o2 = rand_buf((size_t)M * od);
            float *o3 = rand_buf((size_t)N * od);
            size_t ns1 = ref.window_attn_part_scratch(N, kd, d);
            size_t ns2 = k->window_attn_part_scratch(N, kd, d);
            float *s1 = aligned_alloc(64, (ns1 * 4 + 63) & ~(size_t)63);
            float *s2 = aligned_alloc(64, (ns2 * 4 + 63) & ~(size_t)63);
            float *scr = malloc((size_t)N * N * 4);
            const float *bp = wb ? bias : NULL;
            ref.window_attn_part(qkv, ld, ws, hy, wx, heads, kd, d, bp, o1, od, s1);
            k->window_attn_part(qkv, ld, ws, hy, wx, heads, kd, d, bp, o2, od, s2);
            k->window_attn(full, ld, N, heads, kd, d, bp, o3, od, scr);
            snprintf(what, sizeof what, "%s window_attn_part ws %d real %dx%d kd %d d %d bias %d",
                     nm, ws, hy, wx, kd, d, wb);
            /* scores of up to |q||k| ~ kd/3 through exp: their rounding grows with N */
            CHECKF(cmp_rel(o2, o1, (size_t)M * od, 0.1, (64 + N) * FLT_EPSILON, what) <= 1, "%s",
                   what);
            int same = 1;
            for (int i = 0; i < M; i++) {
                int t = i / wx * ws + i % wx;
                same &= !memcmp(o2 + (size_t)i * od, o3 + (size_t)t * od, od * 4);
            }
            CHECKF(same, "%s: not bitwise window_attn on the expanded window", what);
            free(qkv), free(bias), free(full), free(o1), free(o2), free(o3);
            free(s1), free(s2), free(scr);
        }
        printf("%-6s table kernels checked\n", nm);
    }
}

static int hits[8];

static void count_task(void *arg, int ith, int nth)
{
    (void)arg;
    __atomic_fetch_add(&hits[ith], nth, __ATOMIC_RELAXED);
}

static void test_pool_and_cpu(void)
{
    msnn_pool *p = msnn_pool_new(3);
    CHECK(p != NULL);
    CHECK_EQ_INT(msnn_pool_size(p), 3);
    CHECK_EQ_INT(msnn_pool_size(NULL), 1);
    for (int r = 0; r < 1000; r++)
        msnn_pool_run(p, count_task, NULL);
    CHECK(hits[0] == 3000 && hits[1] == 3000 && hits[2] == 3000 && hits[3] == 0);
    msnn_pool_run(NULL, count_task, NULL);
    CHECK_EQ_INT(hits[0], 3001);
    msnn_pool_free(&p);
    CHECK(p == NULL);
    msnn_pool_free(&p);

    int prev = 0;
    for (int i = 0; i < 5; i++) {
        int lo, hi;
        msnn_split(13, i, 5, &lo, &hi);
        CHECK(lo == prev && hi >= lo && hi - lo >= 2 && hi - lo <= 3);
        prev = hi;
    }
    CHECK_EQ_INT(prev, 13);

    CHECK_EQ_INT(msnn_cpu_parse_level("ref"), MSNN_CPU_REF);
    CHECK_EQ_INT(msnn_cpu_parse_level("avx512"), MSNN_CPU_AVX512);
    CHECK_EQ_INT(msnn_cpu_parse_level("avx3"), -1);
    CHECK_EQ_INT(msnn_cpu_set_level(MSNN_CPU_REF), MSNN_CPU_REF);
    int max = msnn_cpu_max_level();
    CHECK_EQ_INT(msnn_cpu_set_level(MSNN_CPU_AVX512), max == MSNN_CPU_NEON ? MSNN_CPU_REF : max);
    printf("cpu: max level %s, flags 0x%x\n", msnn_cpu_level_name(max), msnn_cpu_flags());
    /* the emulated builds exist to run their variant: it must be on */
#if defined(MSNN_AVX512_EMULATED) && MSNN_AVX512_EMULATED
    CHECK_EQ_INT(max, MSNN_CPU_AVX512);
    CHECK(msnn__gemm_kernel_get(MSNN_CPU_AVX512) != NULL);
#endif
#if defined(MSNN_NEON_EMULATED) && MSNN_NEON_EMULATED
    CHECK_EQ_INT(max, MSNN_CPU_NEON);
    CHECK(msnn__gemm_kernel_get(MSNN_CPU_NEON) != NULL);
#endif
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rng_state = strtoull(argv[1], NULL, 0) | 1;
    test_pool_and_cpu();
    find_levels();
    msnn_pool *p2 = msnn_pool_new(2), *p3 = msnn_pool_new(3);
    CHECK(p2 && p3);
    test_erf();
    test_random_cases(p2);
    test_threads(p2, p3);
    test_small_m(p2);
    test_inplace_residual();
    test_table_kernels();
    msnn_pool_free(&p2);
    msnn_pool_free(&p3);
    TEST_END();
}
