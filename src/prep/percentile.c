/* numpy-exact percentiles by radix selection; see ms_percentile.h.
 *
 * Every value maps to an unsigned key of kb bits (kb = the dtype's width,
 * at least 16) whose order is the values' order.  Level l histograms the
 * 16-bit digit below the bits already fixed; each wanted rank keeps the
 * prefix of fixed bits and its rank within that prefix.  Wanted ranks that
 * share a prefix share a histogram ("group").
 */
#include "config.h"
#include "ms_percentile.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBINS 65536
#define MAX_RANKS (2 * MS_PERCENTILE_MAX_Q)

typedef struct sel {
    int top;                      /* bits above the digit: key >> top is the prefix */
    int shift;                    /* digit = (key >> shift) & 0xffff */
    int ng;
    uint64_t prefix[MAX_RANKS];   /* per group */
    size_t *hist[MAX_RANKS];      /* per group, NBINS counts */
    size_t nan;                   /* NaN values seen (not positive_only) */
} sel;

/* Order-preserving keys. */
static inline uint64_t key_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (u & 0x80000000u) ? (uint32_t)~u : (u | 0x80000000u);
}

static inline uint64_t key_f64(double f)
{
    uint64_t u;
    memcpy(&u, &f, 8);
    return (u >> 63) ? ~u : (u | (1ull << 63));
}

#define KEY_U(v) ((uint64_t)(v))
#define KEY_S(UT, v, SIGN) ((uint64_t)(UT)((UT)(v) ^ (UT)(SIGN)))

/* One histogram pass over n values of type T. */
#define DEF_PASS(NAME, T, KEY, ISNAN)                                          \
    static void NAME(const void *data, size_t n, int pos_only, sel *s)         \
    {                                                                          \
        const T *p = data;                                                     \
        for (size_t i = 0; i < n; i++) {                                       \
            T v = p[i];                                                        \
            if (pos_only ? !(v > 0) : ISNAN(v)) {                              \
                s->nan += !pos_only;                                           \
                continue;                                                      \
            }                                                                  \
            uint64_t k = KEY(v);                                               \
            uint64_t pre = s->top >= 64 ? 0 : k >> s->top;                     \
            size_t dg = (size_t)(k >> s->shift) & 0xffff;                      \
            for (int g = 0; g < s->ng; g++)                                    \
                if (pre == s->prefix[g]) {                                     \
                    s->hist[g][dg]++;                                          \
                    break;                                                     \
                }                                                              \
        }                                                                      \
    }

#define NO_NAN(v) 0
#define F_NAN(v) ((v) != (v))
#define K_I8(v) KEY_S(uint8_t, v, 0x80u)
#define K_I16(v) KEY_S(uint16_t, v, 0x8000u)
#define K_I32(v) KEY_S(uint32_t, v, 0x80000000u)
#define K_I64(v) KEY_S(uint64_t, v, 0x8000000000000000ull)

DEF_PASS(pass_u8, uint8_t, KEY_U, NO_NAN)
DEF_PASS(pass_i8, int8_t, K_I8, NO_NAN)
DEF_PASS(pass_u16, uint16_t, KEY_U, NO_NAN)
DEF_PASS(pass_i16, int16_t, K_I16, NO_NAN)
DEF_PASS(pass_u32, uint32_t, KEY_U, NO_NAN)
DEF_PASS(pass_i32, int32_t, K_I32, NO_NAN)
DEF_PASS(pass_u64, uint64_t, KEY_U, NO_NAN)
DEF_PASS(pass_i64, int64_t, K_I64, NO_NAN)
DEF_PASS(pass_f32, float, key_f32, F_NAN)
DEF_PASS(pass_f64, double, key_f64, F_NAN)

typedef void (*pass_fn)(const void *, size_t, int, sel *);

static pass_fn pass_for(ms_dtype t)
{
    switch (t) {
    case MS_BOOL:
    case MS_U8: return pass_u8;
    case MS_I8: return pass_i8;
    case MS_U16: return pass_u16;
    case MS_I16: return pass_i16;
    case MS_U32: return pass_u32;
    case MS_I32: return pass_i32;
    case MS_U64: return pass_u64;
    case MS_I64: return pass_i64;
    case MS_F32: return pass_f32;
    case MS_F64: return pass_f64;
    default: return NULL;
    }
}

/* Find the ranks' keys.  rank[] ascending, distinct, < count. */
typedef struct target {
    uint64_t prefix;   /* fixed high bits so far */
    size_t rank;       /* rank among the values with that prefix */
} target;

/* Within histogram h, the bin holding rank r; r becomes the rank inside it. */
static size_t pick_bin(const size_t *h, size_t *r)
{
    size_t b = 0;
    while (*r >= h[b]) {
        *r -= h[b];
        b++;
    }
    return b;
}

/* Run levels 1.. (level 0 done by the caller into s->hist[0]). */
static void select_keys(const ms_array *a, size_t n, int pos_only, int kb, sel *s,
                        target *tg, int nt, pass_fn pass)
{
    /* level 0 */
    for (int t = 0; t < nt; t++)
        tg[t].prefix = pick_bin(s->hist[0], &tg[t].rank);
    for (int lvl = 1; lvl < kb / 16; lvl++) {
        s->top = kb - 16 * lvl;
        s->shift = s->top - 16;
        s->ng = 0;
        int grp[MAX_RANKS];
        for (int t = 0; t < nt; t++) {
            int g = 0;
            while (g < s->ng && s->prefix[g] != tg[t].prefix)
                g++;
            if (g == s->ng) {
                s->prefix[s->ng++] = tg[t].prefix;
                memset(s->hist[g], 0, NBINS * sizeof(size_t));
            }
            grp[t] = g;
        }
        pass(a->data, n, pos_only, s);
        for (int t = 0; t < nt; t++)
            tg[t].prefix = (tg[t].prefix << 16) | pick_bin(s->hist[grp[t]], &tg[t].rank);
    }
}

/* Key back to a value, as double plus the type-exact difference b - a. */
static double key_value(ms_dtype t, uint64_t k)
{
    switch (t) {
    case MS_I8: return (int8_t)(uint8_t)(k ^ 0x80u);
    case MS_I16: return (int16_t)(uint16_t)(k ^ 0x8000u);
    case MS_I32: return (int32_t)(uint32_t)(k ^ 0x80000000u);
    case MS_I64: return (double)(int64_t)(k ^ 0x8000000000000000ull);
    case MS_F32: {
        uint32_t u = (k & 0x80000000u) ? (uint32_t)(k & 0x7fffffffu) : (uint32_t)~k;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case MS_F64: {
        uint64_t u = (k >> 63) ? (k & ~(1ull << 63)) : ~k;
        double f;
        memcpy(&f, &u, 8);
        return f;
    }
    default: return (double)k;   /* unsigned */
    }
}

/* numpy's subtract(b, a) in the array's dtype, then as float64. */
static double type_diff(ms_dtype t, uint64_t ka, uint64_t kb_)
{
    double a = key_value(t, ka), b = key_value(t, kb_);
    switch (t) {
    case MS_F32: return (double)(float)((float)b - (float)a);
    case MS_F64: return b - a;
    case MS_I8: return (int8_t)(uint8_t)(kb_ - ka);     /* keys differ like values, mod 2^8 */
    case MS_I16: return (int16_t)(uint16_t)(kb_ - ka);
    case MS_I32: return (int32_t)(uint32_t)(kb_ - ka);
    case MS_I64: return (double)(int64_t)(kb_ - ka);
    case MS_BOOL:
    case MS_U8: return (uint8_t)(kb_ - ka);
    case MS_U16: return (uint16_t)(kb_ - ka);
    case MS_U32: return (uint32_t)(kb_ - ka);
    default: return (double)(kb_ - ka);
    }
}

/* A product that is never fused with the following add (-ffp-contract). */
static double mul_rounded(double x, double y)
{
    volatile double p = x * y;
    return p;
}

static double lerp(double a, double b, double d, double t)
{
    if (t < 0.5)
        return a + mul_rounded(d, t);
    return b - mul_rounded(d, 1.0 - t);
}

/* The order statistics numpy reads for q: ranks lo and hi (= lo + 1, or lo
 * at the top end) of the virtual index v = (n - 1) * (q / 100). */
static double virtual_index(size_t cnt, double q, size_t *lo, size_t *hi)
{
    double v = (double)(cnt - 1) * (q / 100.0);
    *lo = v >= (double)(cnt - 1) ? cnt - 1 : (size_t)floor(v);
    *hi = *lo + 1 < cnt ? *lo + 1 : *lo;
    return v;
}

/* Distinct wanted ranks of all q into tg[]; returns their count. */
static int wanted_ranks(size_t cnt, const double *q, int nq, target *tg)
{
    int nt = 0;
    for (int k = 0; k < nq; k++) {
        size_t r[2];
        virtual_index(cnt, q[k], &r[0], &r[1]);
        for (int j = 0; j < 2; j++) {
            int m = 0;
            while (m < nt && tg[m].rank != r[j])
                m++;
            if (m == nt)
                tg[nt++].rank = r[j];
        }
    }
    return nt;
}

static uint64_t key_of_rank(const size_t *want, const target *tg, int nt, size_t rank)
{
    for (int t = 0; t < nt; t++)
        if (want[t] == rank)
            return tg[t].prefix;
    return 0;   /* not reached: every rank asked for was selected */
}

int ms_percentile(const ms_array *a, int positive_only, const double *q, int nq,
                  double *out, size_t *count, ms_err *err)
{
    pass_fn pass = pass_for(a->dtype);
    if (!pass)
        return ms_seterr(err, MS_EUNSUPP, "percentile: unsupported dtype");
    if (nq < 0 || nq > MS_PERCENTILE_MAX_Q)
        return ms_seterr(err, MS_EINVAL, "percentile: %d quantiles (at most %d)", nq,
                         MS_PERCENTILE_MAX_Q);
    for (int k = 0; k < nq; k++)
        if (!(q[k] >= 0 && q[k] <= 100))
            return ms_seterr(err, MS_EINVAL, "percentile: q = %g is outside [0, 100]", q[k]);

    size_t n = ms_array_nelem(a);
    size_t bits = 8 * ms_dtype_size(a->dtype);
    int kb = bits < 16 ? 16 : (int)bits;
    int groups = nq ? 2 * nq : 1;
    sel s;
    memset(&s, 0, sizeof s);
    size_t *mem = calloc((size_t)groups * NBINS, sizeof(size_t));
    if (!mem)
        return ms_seterr(err, MS_ENOMEM, "percentile: out of memory");
    for (int g = 0; g < groups; g++)
        s.hist[g] = mem + (size_t)g * NBINS;

    /* level 0: one group, also counts the values */
    s.top = kb;
    s.shift = kb - 16;
    s.ng = 1;
    pass(a->data, n, positive_only, &s);
    size_t cnt = 0;
    for (size_t b = 0; b < NBINS; b++)
        cnt += s.hist[0][b];
    if (count)
        *count = cnt;
    if (cnt == 0 || s.nan) {
        for (int k = 0; k < nq; k++)
            out[k] = NAN;
        goto done;
    }

    target tg[MAX_RANKS];
    size_t want[MAX_RANKS];
    int nt = wanted_ranks(cnt, q, nq, tg);
    for (int t = 0; t < nt; t++)
        want[t] = tg[t].rank;
    select_keys(a, n, positive_only, kb, &s, tg, nt, pass);

    for (int k = 0; k < nq; k++) {
        size_t lo, hi;
        double v = virtual_index(cnt, q[k], &lo, &hi);
        uint64_t ka = key_of_rank(want, tg, nt, lo), kh = key_of_rank(want, tg, nt, hi);
        if (v >= (double)(cnt - 1)) {
            out[k] = key_value(a->dtype, kh);   /* numpy takes the last value */
            continue;
        }
        out[k] = lerp(key_value(a->dtype, ka), key_value(a->dtype, kh),
                      type_diff(a->dtype, ka, kh), v - floor(v));
    }
done:
    free(mem);
    return MS_OK;
}
