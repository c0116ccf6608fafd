/* The mask decoder's loops (src/nn/decoder_kern.h): the reference against
 * double-precision formulas, and every variant this CPU runs against the
 * reference, on random inputs of several sizes and strides.
 *
 * Usage: test_decoder_kernels [seed]
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "decoder_kern.h"
#include "ms_test.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static float frand(float scale)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((float)((rng_state >> 40) & 0xffffff) / 8388608.0f - 1.0f) * scale;
}

static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = frand(scale);
}

/* max(w, d), NaN counting as the worst.  Not inlined: GCC 12's aarch64
 * vectoriser crashes (ICE in vect_transform_reduction) on these max
 * reductions at -O2/-O3. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static double worst_of(double w, double d)
{
    return d > w || d != d ? d : w;
}

/* max |a - b| / max(|b|, floor) over n floats */
static double rel_err(const float *a, const float *b, size_t n, double floor)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(fabs((double)b[i]), floor);
        w = worst_of(w, d);
    }
    return w;
}

/* ref vs double: softmax over the nk groups of each lane */
static void test_lanes_ref(const msnn__dec_kernels *k)
{
    enum { R = 5, LD = 72 };
    for (int nk = 1; nk <= 8; nk++) {
        float s[R * LD], x[R * LD];
        fill(x, R * LD, 30.0f);
        memcpy(s, x, sizeof s);
        k->softmax_lanes(s, R, LD, nk);
        double worst = 0;
        for (int i = 0; i < R; i++)
            for (int j = 0; j < 8; j++) {
                double m = -INFINITY, sum = 0;
                for (int t = 0; t < nk; t++)
                    m = worst_of(m, x[i * LD + t * 8 + j]);
                for (int t = 0; t < nk; t++)
                    sum += exp((double)x[i * LD + t * 8 + j] - m);
                for (int t = 0; t < nk; t++) {
                    double want = exp((double)x[i * LD + t * 8 + j] - m) / sum;
                    worst = worst_of(worst, fabs(s[i * LD + t * 8 + j] - want));
                }
            }
        CHECKF(worst < 1e-6, "softmax_lanes ref nk %d: %g", nk, worst);
        /* what lies beyond the nk groups is not touched */
        for (int i = 0; i < R; i++)
            CHECK(memcmp(s + i * LD + nk * 8, x + i * LD + nk * 8,
                         (LD - nk * 8) * sizeof(float)) == 0);
    }
}

/* ref vs double: a softmax down columns 8..31 in two bands of rows */
static void test_cols_ref(const msnn__dec_kernels *k)
{
    enum { R = 300, R0 = 113, LD = 40 };
    float *s = malloc(sizeof(float) * R * LD), *x = malloc(sizeof(float) * R * LD);
    float m[LD], sum[LD];
    fill(x, R * LD, 40.0f);
    memcpy(s, x, sizeof(float) * R * LD);
    for (int c = 0; c < LD; c++) {
        m[c] = c < 8 || c >= 32 ? -7.0f : -1e30f;
        sum[c] = c < 8 || c >= 32 ? -5.0f : 0.0f;
    }
    k->col_max(s, R0, LD, 8, 32, m);
    k->col_max(s + R0 * LD, R - R0, LD, 8, 32, m);
    k->exp_cols(s, R0, LD, 8, 32, m, sum);
    k->exp_cols(s + R0 * LD, R - R0, LD, 8, 32, m, sum);
    double worst = 0, worst_sum = 0;
    for (int c = 8; c < 32; c++) {
        double mx = -INFINITY, tot = 0;
        for (int i = 0; i < R; i++)
            mx = worst_of(mx, x[i * LD + c]);
        CHECK(m[c] == (float)mx);
        for (int i = 0; i < R; i++) {
            /* the difference as float computes it (its rounding is not the
             * exponential's error) */
            double e = exp((double)(x[i * LD + c] - (float)mx));
            tot += e;
            worst = worst_of(worst, fabs(s[i * LD + c] - e) / fmax(e, 1e-30));
        }
        worst_sum = worst_of(worst_sum, fabs(sum[c] / tot - 1.0));
    }
    CHECKF(worst < 2e-6, "exp_cols ref: %g", worst);
    CHECKF(worst_sum < 1e-5, "exp_cols ref sums: %g", worst_sum);
    for (int i = 0; i < R; i++)
        for (int c = 0; c < LD; c++)
            if (c < 8 || c >= 32)
                CHECK(s[i * LD + c] == x[i * LD + c]);
    CHECK(m[0] == -7.0f && m[32] == -7.0f && sum[7] == -5.0f && sum[32] == -5.0f);
    free(s);
    free(x);
}

static void test_dot_ref(const msnn__dec_kernels *k)
{
    enum { N = 37, LDX = 45 };
    float x[N * LDX], h[32], y[N];
    fill(x, N * LDX, 4.0f);
    fill(h, 32, 1.0f);
    k->dot32(x, LDX, N, h, y);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double want = 0, mag = 0;
        for (int c = 0; c < 32; c++) {
            want += (double)x[i * LDX + c] * h[c];
            mag += fabs((double)x[i * LDX + c] * h[c]);
        }
        worst = worst_of(worst, fabs(y[i] - want) / mag);
    }
    CHECKF(worst < 32 * 6e-8, "dot32 ref: %g", worst);
}

/* ref vs double: the per-head products on interleaved channels */
static void test_bd_ref(const msnn__dec_kernels *k)
{
    enum { R = 9, LDA = 136, LDS = 72, NT = 7 };
    float a[R * LDA], b[NT * 128], s[R * LDS], e[R * LDS], y[NT * 128], y0[NT * 128];
    fill(a, R * LDA, 2.0f);
    fill(b, NT * 128, 1.0f);
    for (int i = 0; i < R * LDS; i++)
        s[i] = 99.0f;
    k->bd_scores(a, LDA, R, b, NT, s, LDS);
    double worst = 0;
    for (int i = 0; i < R; i++)
        for (int t = 0; t < NT; t++)
            for (int h = 0; h < 8; h++) {
                double want = 0, mag = 0;
                for (int c = 0; c < 16; c++)
                    want += (double)a[i * LDA + c * 8 + h] * b[t * 128 + c * 8 + h];
                for (int c = 0; c < 16; c++)
                    mag += fabs((double)a[i * LDA + c * 8 + h] * b[t * 128 + c * 8 + h]);
                worst = worst_of(worst, fabs(s[i * LDS + t * 8 + h] - want) / mag);
            }
    CHECKF(worst < 16 * 6e-8, "bd_scores ref: %g", worst);
    for (int i = 0; i < R; i++)
        for (int c = NT * 8; c < LDS; c++)
            CHECK(s[i * LDS + c] == 99.0f);
    fill(e, R * LDS, 1.0f);
    fill(y0, NT * 128, 3.0f);
    memcpy(y, y0, sizeof y);
    k->bd_accum(e, LDS, R, a, LDA, NT, y);
    worst = 0;
    for (int t = 0; t < NT; t++)
        for (int c = 0; c < 16; c++)
            for (int h = 0; h < 8; h++) {
                double want = y0[t * 128 + c * 8 + h], mag = fabs(want);
                for (int i = 0; i < R; i++)
                    want += (double)e[i * LDS + t * 8 + h] * a[i * LDA + c * 8 + h];
                for (int i = 0; i < R; i++)
                    mag += fabs((double)e[i * LDS + t * 8 + h] * a[i * LDA + c * 8 + h]);
                worst = worst_of(worst, fabs(y[t * 128 + c * 8 + h] - want) / mag);
            }
    CHECKF(worst < 16 * 6e-8, "bd_accum ref: %g", worst);
}

static void test_bd_variant(const msnn__dec_kernels *v, const msnn__dec_kernels *ref)
{
    for (int nt = 1; nt <= 8; nt++)
        for (int rows = 1; rows <= 130; rows += 43) {
            int lda = 128 + (rows % 2) * 8, lds = 64;
            float *a = malloc(sizeof(float) * rows * lda), b[8 * 128];
            float *sa = malloc(sizeof(float) * rows * lds), *sb = malloc(sizeof(float) * rows * lds);
            float ya[8 * 128], yb[8 * 128];
            fill(a, (size_t)rows * lda, 3.0f);
            fill(b, 8 * 128, 1.0f);
            for (int i = 0; i < rows * lds; i++)
                sa[i] = sb[i] = 7.0f;
            v->bd_scores(a, lda, rows, b, nt, sa, lds);
            ref->bd_scores(a, lda, rows, b, nt, sb, lds);
            double worst = 0;
            for (int i = 0; i < rows * lds; i++)
                worst = worst_of(worst, fabs((double)sa[i] - sb[i]));
            CHECKF(worst < 16 * 3.0 * 1.0 * 1.2e-7, "%s bd_scores nt %d rows %d: %g", v->name, nt,
                   rows, worst);
            fill(sa, (size_t)rows * lds, 1.0f);
            fill(ya, 8 * 128, 1.0f);
            memcpy(yb, ya, sizeof yb);
            v->bd_accum(sa, lds, rows, a, lda, nt, ya);
            ref->bd_accum(sa, lds, rows, a, lda, nt, yb);
            worst = 0;
            for (int i = 0; i < 8 * 128; i++)
                worst = worst_of(worst, fabs((double)ya[i] - yb[i]) / (rows * 3.0 + 1.0));
            CHECKF(worst < 2.4e-7, "%s bd_accum nt %d rows %d: %g", v->name, nt, rows, worst);
            for (int i = nt * 128; i < 8 * 128; i++)
                CHECK(ya[i] == yb[i]);      /* rows of y beyond nt untouched */
            free(a), free(sa), free(sb);
        }
}

/* accum_t: the reference against double sums; a variant (v != NULL)
 * against the reference; entries of y outside nc x nj untouched. */
static void test_accum_t(const msnn__dec_kernels *v, const msnn__dec_kernels *ref)
{
    static const int ncs[] = { 8, 16, 24, 56 }, njs[] = { 1, 5, 6, 10, 13, 256 };
    static const int rowss[] = { 1, 37, 128 };
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 6; b++)
            for (int r = 0; r < 3; r++) {
                int nc = ncs[a], nj = njs[b], rows = rowss[r];
                int lde = 64 + (r % 2) * 8, ldv = nj + 3, ldy = 64;
                float *e = malloc(sizeof(float) * rows * lde);
                float *x = malloc(sizeof(float) * rows * ldv);
                float *y0 = malloc(sizeof(float) * (nj + 1) * ldy);
                float *ya = malloc(sizeof(float) * (nj + 1) * ldy);
                float *yb = malloc(sizeof(float) * (nj + 1) * ldy);
                if (!e || !x || !y0 || !ya || !yb)
                    exit(1);
                fill(e, (size_t)rows * lde, 1.0f);
                fill(x, (size_t)rows * ldv, 3.0f);
                fill(y0, (size_t)(nj + 1) * ldy, 2.0f);
                memcpy(ya, y0, sizeof(float) * (nj + 1) * ldy);
                memcpy(yb, y0, sizeof(float) * (nj + 1) * ldy);
                ref->accum_t(e, lde, rows, nc, x, ldv, nj, yb, ldy);
                double worst = 0;
                if (v) {
                    v->accum_t(e, lde, rows, nc, x, ldv, nj, ya, ldy);
                    for (int j = 0; j < nj; j++)
                        for (int c = 0; c < nc; c++) {
                            double mag = fabs((double)y0[j * ldy + c]);
                            for (int i = 0; i < rows; i++)
                                mag += fabs((double)e[i * lde + c] * x[i * ldv + j]);
                            worst = worst_of(worst, fabs((double)ya[j * ldy + c] -
                                                         yb[j * ldy + c]) / mag);
                        }
                } else {
                    for (int j = 0; j < nj; j++)
                        for (int c = 0; c < nc; c++) {
                            double want = y0[j * ldy + c], mag = fabs(want);
                            for (int i = 0; i < rows; i++) {
                                want += (double)e[i * lde + c] * x[i * ldv + j];
                                mag += fabs((double)e[i * lde + c] * x[i * ldv + j]);
                            }
                            worst = worst_of(worst, fabs(yb[j * ldy + c] - want) / mag);
                        }
                }
                CHECKF(worst < (rows + 2) * 1.2e-7, "%s accum_t nc %d nj %d rows %d: %g",
                       v ? v->name : "ref", nc, nj, rows, worst);
                float *yc = v ? ya : yb;
                int kept = 1;
                for (int j = 0; j <= nj; j++)
                    for (int c = 0; c < ldy; c++)
                        if ((j >= nj || c >= nc) && yc[j * ldy + c] != y0[j * ldy + c])
                            kept = 0;
                CHECKF(kept, "%s accum_t nc %d nj %d: wrote outside nc x nj",
                       v ? v->name : "ref", nc, nj);
                free(e), free(x), free(y0), free(ya), free(yb);
            }
}

/* a variant against the reference on the same inputs */
static void test_variant(const msnn__dec_kernels *v, const msnn__dec_kernels *ref)
{
    for (int nk = 1; nk <= 8; nk++)
        for (int rows = 1; rows <= 67; rows += 11) {
            int ld = 64 + (rows % 3) * 8;
            size_t n = (size_t)rows * ld;
            float *x = malloc(n * sizeof *x), *a = malloc(n * sizeof *a),
                  *b = malloc(n * sizeof *b);
            fill(x, n, rows % 2 ? 50.0f : 3.0f);
            memcpy(a, x, n * sizeof *a);
            memcpy(b, x, n * sizeof *b);
            v->softmax_lanes(a, rows, ld, nk);
            ref->softmax_lanes(b, rows, ld, nk);
            double e = rel_err(a, b, n, 1e-30);
            CHECKF(e < 1e-5, "%s softmax_lanes nk %d rows %d: %g", v->name, nk, rows, e);
            free(x), free(a), free(b);
        }
    for (int rows = 1; rows <= 4096; rows = rows * 5 + 3) {
        int ld = 64, c0 = rows % 2 ? 0 : 16, c1 = 56;
        size_t n = (size_t)rows * ld;
        float *x = malloc(n * sizeof *x), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        float ma[64], mb[64], sa[64], sb[64];
        fill(x, n, 60.0f);
        fill(sa, 64, 2.0f);
        for (int c = 0; c < 64; c++) {
            sa[c] = fabsf(sa[c]);
            sb[c] = sa[c];
            ma[c] = mb[c] = c % 3 ? -1e30f : 55.0f;
        }
        memcpy(a, x, n * sizeof *a);
        memcpy(b, x, n * sizeof *b);
        v->col_max(a, rows, ld, c0, c1, ma);
        ref->col_max(b, rows, ld, c0, c1, mb);
        CHECKF(memcmp(ma, mb, sizeof ma) == 0, "%s col_max rows %d", v->name, rows);
        v->exp_cols(a, rows, ld, c0, c1, mb, sa);
        ref->exp_cols(b, rows, ld, c0, c1, mb, sb);
        double e = rel_err(a, b, n, 1e-30), es = rel_err(sa, sb, 64, 1e-30);
        CHECKF(e < 1e-5, "%s exp_cols rows %d: %g", v->name, rows, e);
        CHECKF(es < 1e-5, "%s exp_cols sums rows %d: %g", v->name, rows, es);
        free(x), free(a), free(b);
    }
    {
        enum { N = 300, LDX = 128 };
        float *x = malloc(sizeof(float) * N * LDX), h[32], ya[N], yb[N];
        fill(x, (size_t)N * LDX, 5.0f);
        fill(h, 32, 0.5f);
        v->dot32(x + 32, LDX, N, h, ya);
        ref->dot32(x + 32, LDX, N, h, yb);
        double worst = 0;
        for (int i = 0; i < N; i++) {
            double mag = 0;
            for (int c = 0; c < 32; c++)
                mag += fabs((double)x[i * LDX + 32 + c] * h[c]);
            worst = worst_of(worst, fabs((double)ya[i] - yb[i]) / mag);
        }
        CHECKF(worst < 32 * 6e-8, "%s dot32: %g", v->name, worst);
        free(x);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rng_state = strtoull(argv[1], NULL, 0) | 1;
    const msnn__dec_kernels *ref = msnn__dec_kernels_ref();
    test_lanes_ref(ref);
    test_cols_ref(ref);
    test_dot_ref(ref);
    test_bd_ref(ref);
    test_accum_t(NULL, ref);
    int tested = 0;
    for (int level = MSNN_CPU_NEON; level <= MSNN_CPU_AVX512; level++) {
        const msnn__dec_kernels *v = msnn__dec_kernels_level(level);
        if (!v || v == ref || level > msnn_cpu_max_level())
            continue;
        printf("variant %s (level %s)\n", v->name, msnn_cpu_level_name(level));
        test_variant(v, ref);
        test_bd_variant(v, ref);
        test_accum_t(v, ref);
        tested++;
    }
    printf("%d variant(s) besides ref\n", tested);
    /* the active table is one of these */
    const msnn__dec_kernels *g = msnn__dec_kernels_get();
    CHECK(g == ref || g == msnn__dec_kernels_level(msnn_cpu_level()));
    TEST_END();
}
