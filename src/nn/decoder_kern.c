/* The mask decoder's own loops (decoder_kern.h): softmaxes in the layouts
 * the decoder's attention products leave, and the hypernetwork dot.
 *
 * The reference is plain C (ISO C: no contraction).  The AVX2 + FMA
 * variant is compiled in this file with a function target attribute and
 * used only when cpu.c reports AVX2 and FMA; it follows the reference's
 * order of operations, with fused multiply-adds.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cpu.h"
#include "decoder_kern.h"

#define L MSNN_DK_LANES

/* ------------------------------------------------------------ reference */

/* exp(t) for t <= 0 (below -87 the result is ~1e-38, immaterial next to a
 * softmax sum >= 1): t = n ln2 + r, |r| <= ln2/2 (Cody-Waite), degree-7
 * Taylor polynomial in r, 2^n through the exponent bits.  Within a few ulp
 * of expf. */
static inline float exp_le0(float t)
{
    t = t > -87.0f ? t : -87.0f;
    float n = (t * 1.44269504f + 12582912.0f) - 12582912.0f;  /* nearest integer */
    float r = n * -0.693145752f + t;
    r = n * -1.42860677e-6f + r;
    float p = 1.98412701e-4f;
    p = p * r + 1.38888892e-3f;
    p = p * r + 8.33333377e-3f;
    p = p * r + 4.16666679e-2f;
    p = p * r + 1.66666672e-1f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) * (1 << 23);
    float s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

static void softmax_lanes_ref(float *s, int rows, ptrdiff_t ld, int nk)
{
    for (int i = 0; i < rows; i++) {
        float *x = s + i * ld, m[L], sum[L];
        for (int j = 0; j < L; j++)
            m[j] = x[j];
        for (int t = 1; t < nk; t++)
            for (int j = 0; j < L; j++)
                m[j] = x[t * L + j] > m[j] ? x[t * L + j] : m[j];
        for (int j = 0; j < L; j++)
            sum[j] = 0.0f;
        for (int t = 0; t < nk; t++)
            for (int j = 0; j < L; j++) {
                x[t * L + j] = exp_le0(x[t * L + j] - m[j]);
                sum[j] += x[t * L + j];
            }
        for (int j = 0; j < L; j++)
            sum[j] = 1.0f / sum[j];
        for (int t = 0; t < nk; t++)
            for (int j = 0; j < L; j++)
                x[t * L + j] *= sum[j];
    }
}

static void col_max_ref(const float *s, int rows, ptrdiff_t ld, int c0, int c1, float *m)
{
    for (int i = 0; i < rows; i++)
        for (int c = c0; c < c1; c++)
            m[c] = s[i * ld + c] > m[c] ? s[i * ld + c] : m[c];
}

static void exp_cols_ref(float *s, int rows, ptrdiff_t ld, int c0, int c1, const float *m,
                         float *sum)
{
    for (int i = 0; i < rows; i++)
        for (int c = c0; c < c1; c++) {
            float *x = s + i * ld + c;
            *x = exp_le0(*x - m[c]);
            sum[c] += *x;
        }
}

static void dot32_ref(const float *x, ptrdiff_t ldx, int n, const float *h, float *y)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + i * ldx;
        float acc[L];
        for (int j = 0; j < L; j++)
            acc[j] = xi[j] * h[j];
        for (int c = L; c < 32; c += L)
            for (int j = 0; j < L; j++)
                acc[j] += xi[c + j] * h[c + j];
        y[i] = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    }
}

#define BD_C 16   /* channels per head */

static void bd_scores_ref(const float *a, ptrdiff_t lda, int rows, const float *b, int nt,
                          float *s, ptrdiff_t lds)
{
    for (int i = 0; i < rows; i++)
        for (int t = 0; t < nt; t++)
            for (int h = 0; h < L; h++) {
                float acc = a[i * lda + h] * b[t * BD_C * L + h];
                for (int c = 1; c < BD_C; c++)
                    acc += a[i * lda + c * L + h] * b[t * BD_C * L + c * L + h];
                s[i * lds + t * L + h] = acc;
            }
}

static void bd_accum_ref(const float *e, ptrdiff_t lde, int rows, const float *v, ptrdiff_t ldv,
                         int nt, float *y)
{
    for (int i = 0; i < rows; i++)
        for (int t = 0; t < nt; t++)
            for (int c = 0; c < BD_C; c++)
                for (int h = 0; h < L; h++)
                    y[t * BD_C * L + c * L + h] += e[i * lde + t * L + h] * v[i * ldv + c * L + h];
}

static void accum_t_ref(const float *e, ptrdiff_t lde, int rows, int nc, const float *v,
                        ptrdiff_t ldv, int nj, float *y, ptrdiff_t ldy)
{
    for (int j = 0; j < nj; j++)
        for (int c = 0; c < nc; c++) {
            float acc = 0.0f;
            for (int i = 0; i < rows; i++)
                acc += e[i * lde + c] * v[i * ldv + j];
            y[j * ldy + c] += acc;
        }
}

static const msnn__dec_kernels g_ref = {
    "ref", softmax_lanes_ref, col_max_ref, exp_cols_ref, bd_scores_ref, bd_accum_ref,
    accum_t_ref, dot32_ref,
};

/* ------------------------------------------------------------ AVX2 + FMA */

#if ARCH_X86_64 && (defined(__GNUC__) || defined(__clang__))
#define HAVE_DK_AVX2 1
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

static inline AVX2 __m256 vexp_le0(__m256 t)
{
    t = _mm256_max_ps(t, _mm256_set1_ps(-87.0f));
    __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(t, _mm256_set1_ps(1.44269504f), magic), magic);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693145752f), t);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-1.42860677e-6f), r);
    __m256 p = _mm256_set1_ps(1.98412701e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.38888892e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.33333377e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.16666679e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.66666672e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
                                                   _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static AVX2 void softmax_lanes_avx2(float *s, int rows, ptrdiff_t ld, int nk)
{
    for (int i = 0; i < rows; i++) {
        float *x = s + i * ld;
        __m256 v[L];
        __m256 m = _mm256_loadu_ps(x);
        v[0] = m;
        for (int t = 1; t < nk; t++) {
            v[t] = _mm256_loadu_ps(x + t * L);
            m = _mm256_max_ps(v[t], m);
        }
        __m256 sum = _mm256_setzero_ps();
        for (int t = 0; t < nk; t++) {
            v[t] = vexp_le0(_mm256_sub_ps(v[t], m));
            sum = _mm256_add_ps(sum, v[t]);
        }
        __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), sum);
        for (int t = 0; t < nk; t++)
            _mm256_storeu_ps(x + t * L, _mm256_mul_ps(v[t], inv));
    }
}

static AVX2 void col_max_avx2(const float *s, int rows, ptrdiff_t ld, int c0, int c1,
                              float *m)
{
    for (int cb = c0; cb < c1; cb += L) {
        __m256 v = _mm256_loadu_ps(m + cb);
        for (int i = 0; i < rows; i++)
            v = _mm256_max_ps(_mm256_loadu_ps(s + i * ld + cb), v);
        _mm256_storeu_ps(m + cb, v);
    }
}

static AVX2 void exp_cols_avx2(float *s, int rows, ptrdiff_t ld, int c0, int c1,
                               const float *m, float *sum)
{
    for (int cb = c0; cb < c1; cb += L) {
        __m256 vm = _mm256_loadu_ps(m + cb), acc = _mm256_loadu_ps(sum + cb);
        for (int i = 0; i < rows; i++) {
            __m256 e = vexp_le0(_mm256_sub_ps(_mm256_loadu_ps(s + i * ld + cb), vm));
            _mm256_storeu_ps(s + i * ld + cb, e);
            acc = _mm256_add_ps(acc, e);
        }
        _mm256_storeu_ps(sum + cb, acc);
    }
}

/* The reference's tree: (a0+a4) (a2+a6) (a1+a5) (a3+a7), then pairs. */
static inline AVX2 float hsum_tree(__m256 a)
{
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    __m128 h = _mm_add_ps(q, _mm_movehl_ps(q, q));      /* [0]: q0+q2, [1]: q1+q3 */
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

static AVX2 void dot32_avx2(const float *x, ptrdiff_t ldx, int n, const float *h, float *y)
{
    __m256 h0 = _mm256_loadu_ps(h), h1 = _mm256_loadu_ps(h + 8);
    __m256 h2 = _mm256_loadu_ps(h + 16), h3 = _mm256_loadu_ps(h + 24);
    for (int i = 0; i < n; i++) {
        const float *xi = x + i * ldx;
        __m256 a = _mm256_mul_ps(_mm256_loadu_ps(xi), h0);
        a = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 8), h1, a);
        a = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 16), h2, a);
        a = _mm256_fmadd_ps(_mm256_loadu_ps(xi + 24), h3, a);
        y[i] = hsum_tree(a);
    }
}

/* Two rows at a time: 14 accumulators, b read from memory (L1). */
static AVX2 void bd_scores_avx2(const float *a, ptrdiff_t lda, int rows, const float *b, int nt,
                                float *s, ptrdiff_t lds)
{
    int i = 0;
    for (; i + 2 <= rows && nt == 7; i += 2) {
        const float *a0 = a + i * lda, *a1 = a0 + lda;
        __m256 x0 = _mm256_loadu_ps(a0), x1 = _mm256_loadu_ps(a1);
        __m256 p0 = _mm256_mul_ps(x0, _mm256_loadu_ps(b)), q0 = _mm256_mul_ps(x1, _mm256_loadu_ps(b));
        __m256 p1 = _mm256_mul_ps(x0, _mm256_loadu_ps(b + 128)), q1 = _mm256_mul_ps(x1, _mm256_loadu_ps(b + 128));
        __m256 p2 = _mm256_mul_ps(x0, _mm256_loadu_ps(b + 256)), q2 = _mm256_mul_ps(x1, _mm256_loadu_ps(b + 256));
        __m256 p3 = _mm256_mul_ps(x0, _mm256_loadu_ps(b + 384)), q3 = _mm256_mul_ps(x1, _mm256_loadu_ps(b + 384));
        __m256 p4 = _mm256_mul_ps(x0, _mm256_loadu_ps(b + 512)), q4 = _mm256_mul_ps(x1, _mm256_loadu_ps(b + 512));
        __m256 p5 = _mm256_mul_ps(x0, _mm256_loadu_ps(b + 640)), q5 = _mm256_mul_ps(x1, _mm256_loadu_ps(b + 640));
        __m256 p6 = _mm256_mul_ps(x0, _mm256_loadu_ps(b + 768)), q6 = _mm256_mul_ps(x1, _mm256_loadu_ps(b + 768));
        for (int c = 1; c < BD_C; c++) {
            const float *bc = b + c * L;
            x0 = _mm256_loadu_ps(a0 + c * L);
            x1 = _mm256_loadu_ps(a1 + c * L);
            __m256 w;
            w = _mm256_loadu_ps(bc);       p0 = _mm256_fmadd_ps(x0, w, p0); q0 = _mm256_fmadd_ps(x1, w, q0);
            w = _mm256_loadu_ps(bc + 128); p1 = _mm256_fmadd_ps(x0, w, p1); q1 = _mm256_fmadd_ps(x1, w, q1);
            w = _mm256_loadu_ps(bc + 256); p2 = _mm256_fmadd_ps(x0, w, p2); q2 = _mm256_fmadd_ps(x1, w, q2);
            w = _mm256_loadu_ps(bc + 384); p3 = _mm256_fmadd_ps(x0, w, p3); q3 = _mm256_fmadd_ps(x1, w, q3);
            w = _mm256_loadu_ps(bc + 512); p4 = _mm256_fmadd_ps(x0, w, p4); q4 = _mm256_fmadd_ps(x1, w, q4);
            w = _mm256_loadu_ps(bc + 640); p5 = _mm256_fmadd_ps(x0, w, p5); q5 = _mm256_fmadd_ps(x1, w, q5);
            w = _mm256_loadu_ps(bc + 768); p6 = _mm256_fmadd_ps(x0, w, p6); q6 = _mm256_fmadd_ps(x1, w, q6);
        }
        float *s0 = s + i * lds, *s1 = s0 + lds;
        _mm256_storeu_ps(s0, p0), _mm256_storeu_ps(s1, q0);
        _mm256_storeu_ps(s0 + 8, p1), _mm256_storeu_ps(s1 + 8, q1);
        _mm256_storeu_ps(s0 + 16, p2), _mm256_storeu_ps(s1 + 16, q2);
        _mm256_storeu_ps(s0 + 24, p3), _mm256_storeu_ps(s1 + 24, q3);
        _mm256_storeu_ps(s0 + 32, p4), _mm256_storeu_ps(s1 + 32, q4);
        _mm256_storeu_ps(s0 + 40, p5), _mm256_storeu_ps(s1 + 40, q5);
        _mm256_storeu_ps(s0 + 48, p6), _mm256_storeu_ps(s1 + 48, q6);
    }
    for (; i < rows; i++)       /* the general case, one row and token at a time */
        for (int t = 0; t < nt; t++) {
            const float *ai = a + i * lda, *bt = b + t * BD_C * L;
            __m256 acc = _mm256_mul_ps(_mm256_loadu_ps(ai), _mm256_loadu_ps(bt));
            for (int c = 1; c < BD_C; c++)
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(ai + c * L), _mm256_loadu_ps(bt + c * L), acc);
            _mm256_storeu_ps(s + i * lds + t * L, acc);
        }
}

/* Per token, half of the channels (8 vectors) accumulated over the rows. */
static AVX2 void bd_accum_avx2(const float *e, ptrdiff_t lde, int rows, const float *v,
                               ptrdiff_t ldv, int nt, float *y)
{
    for (int t = 0; t < nt; t++)
        for (int c0 = 0; c0 < BD_C; c0 += 8) {
            float *yt = y + t * BD_C * L + c0 * L;
            __m256 y0 = _mm256_loadu_ps(yt), y1 = _mm256_loadu_ps(yt + 8);
            __m256 y2 = _mm256_loadu_ps(yt + 16), y3 = _mm256_loadu_ps(yt + 24);
            __m256 y4 = _mm256_loadu_ps(yt + 32), y5 = _mm256_loadu_ps(yt + 40);
            __m256 y6 = _mm256_loadu_ps(yt + 48), y7 = _mm256_loadu_ps(yt + 56);
            for (int i = 0; i < rows; i++) {
                __m256 w = _mm256_loadu_ps(e + i * lde + t * L);
                const float *vi = v + i * ldv + c0 * L;
                y0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vi), y0);
                y1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vi + 8), y1);
                y2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vi + 16), y2);
                y3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vi + 24), y3);
                y4 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vi + 32), y4);
                y5 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vi + 40), y5);
                y6 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vi + 48), y6);
                y7 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vi + 56), y7);
            }
            _mm256_storeu_ps(yt, y0), _mm256_storeu_ps(yt + 8, y1);
            _mm256_storeu_ps(yt + 16, y2), _mm256_storeu_ps(yt + 24, y3);
            _mm256_storeu_ps(yt + 32, y4), _mm256_storeu_ps(yt + 40, y5);
            _mm256_storeu_ps(yt + 48, y6), _mm256_storeu_ps(yt + 56, y7);
        }
}

/* accum_t on a tile of NCV vectors of columns (8 each) x NJ rows of y: NJ
 * broadcasts of v and NCV loads of e per i, NCV*NJ accumulators. */
static inline __attribute__((always_inline)) AVX2 void
accum_t_tile(const float *e, ptrdiff_t lde, int rows, const float *v, ptrdiff_t ldv,
             float *y, ptrdiff_t ldy, const int NCV, const int NJ)
{
    __m256 acc[12][2];
#pragma GCC unroll 12
    for (int j = 0; j < NJ; j++)
#pragma GCC unroll 2
        for (int k = 0; k < NCV; k++)
            acc[j][k] = _mm256_setzero_ps();
    for (int i = 0; i < rows; i++) {
        const float *ei = e + i * lde, *vi = v + i * ldv;
        __m256 e0 = _mm256_loadu_ps(ei), e1 = NCV > 1 ? _mm256_loadu_ps(ei + 8) : e0;
#pragma GCC unroll 12
        for (int j = 0; j < NJ; j++) {
            __m256 b = _mm256_broadcast_ss(vi + j);
            acc[j][0] = _mm256_fmadd_ps(e0, b, acc[j][0]);
            if (NCV > 1)
                acc[j][1] = _mm256_fmadd_ps(e1, b, acc[j][1]);
        }
    }
#pragma GCC unroll 12
    for (int j = 0; j < NJ; j++)
#pragma GCC unroll 2
        for (int k = 0; k < NCV; k++) {
            float *yj = y + j * ldy + k * 8;
            _mm256_storeu_ps(yj, _mm256_add_ps(_mm256_loadu_ps(yj), acc[j][k]));
        }
}

static AVX2 void accum_t_avx2(const float *e, ptrdiff_t lde, int rows, int nc, const float *v,
                              ptrdiff_t ldv, int nj, float *y, ptrdiff_t ldy)
{
    /* the rows of y left after the widest tiles go 4 at a time where they
     * can (one at a time has 1-2 accumulators: latency-bound) */
    int c = 0;
    for (; c + 16 <= nc; c += 16) {
        int j = 0;
        for (; j + 6 <= nj; j += 6)
            accum_t_tile(e + c, lde, rows, v + j, ldv, y + j * ldy + c, ldy, 2, 6);
        for (; j + 4 <= nj; j += 4)
            accum_t_tile(e + c, lde, rows, v + j, ldv, y + j * ldy + c, ldy, 2, 4);
        for (; j < nj; j++)
            accum_t_tile(e + c, lde, rows, v + j, ldv, y + j * ldy + c, ldy, 2, 1);
    }
    for (; c < nc; c += 8) {
        int j = 0;
        for (; j + 12 <= nj; j += 12)
            accum_t_tile(e + c, lde, rows, v + j, ldv, y + j * ldy + c, ldy, 1, 12);
        for (; j + 4 <= nj; j += 4)
            accum_t_tile(e + c, lde, rows, v + j, ldv, y + j * ldy + c, ldy, 1, 4);
        for (; j < nj; j++)
            accum_t_tile(e + c, lde, rows, v + j, ldv, y + j * ldy + c, ldy, 1, 1);
    }
}

static const msnn__dec_kernels g_avx2 = {
    "avx2", softmax_lanes_avx2, col_max_avx2, exp_cols_avx2, bd_scores_avx2, bd_accum_avx2,
    accum_t_avx2, dot32_avx2,
};
#endif

/* ------------------------------------------------------------ dispatch */

const msnn__dec_kernels *msnn__dec_kernels_ref(void)
{
    return &g_ref;
}

const msnn__dec_kernels *msnn__dec_kernels_level(int level)
{
    if (level == MSNN_CPU_REF)
        return &g_ref;
#ifdef HAVE_DK_AVX2
    unsigned need = MSNN_CPUF_AVX2 | MSNN_CPUF_FMA;
    if ((level == MSNN_CPU_AVX2 || level == MSNN_CPU_AVX512) &&
        (msnn_cpu_flags() & need) == need)
        return &g_avx2;
#endif
    return NULL;
}

const msnn__dec_kernels *msnn__dec_kernels_get(void)
{
    const msnn__dec_kernels *k = msnn__dec_kernels_level(msnn_cpu_level());
    return k ? k : &g_ref;
}
