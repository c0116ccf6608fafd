/* CT window / percentile normalisation to uint8; see ms_window.h.
 *
 * min(clip(x)) == clip(min(x)) because clip is monotonic, so one pass finds
 * the raw min/max and the clipped min/max follow from them; the second pass
 * writes only the kept slices.  8/16-bit integer images go through a lookup
 * table over [raw min, raw max] filled with the same float64 arithmetic.
 */
#include "config.h"
#include "ms_window.h"
#include "ms_percentile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MS_WINDOW_AVX2 1
#else
#define MS_WINDOW_AVX2 0
#endif

typedef struct norm {
    double lo, hi, mn, den;     /* float64 path */
    float lof, hif, mnf, denf;  /* float32 path */
    int zero_keep;              /* percentile mode: original 0 stays 0 */
} norm;

/* numpy's clip: minimum(maximum(x, lo), hi). */
static inline double clip_d(double x, double lo, double hi)
{
    double c = x < lo ? lo : x;
    return c > hi ? hi : c;
}

static inline float clip_f(float x, float lo, float hi)
{
    float c = x < lo ? lo : x;
    return c > hi ? hi : c;
}

static inline uint8_t scale_d(double x, const norm *n)
{
    if (n->zero_keep && x == 0)
        return 0;
    double r = (clip_d(x, n->lo, n->hi) - n->mn) / n->den * 255.0;
    return (uint8_t)r;
}

static inline uint8_t scale_f(float x, const norm *n)
{
    if (n->zero_keep && x == 0)
        return 0;
    float r = (clip_f(x, n->lof, n->hif) - n->mnf) / n->denf * 255.0f;
    return (uint8_t)r;
}

#define NO_NAN(v) 0
#define F_NAN(v) ((v) != (v))

/* Raw min/max (as double: exact for every type but 64-bit integers, where
 * the rounding is the one numpy's conversion applies); *nan set if any.
 * Integer types stop early, once a value <= stop_lo and one >= stop_hi are
 * seen: the clipped min and max are then the bounds themselves whatever the
 * rest holds (a CT window is usually met within the first slice).  Floats
 * are scanned whole, for NaNs. */
#define DEF_MINMAX(NAME, T, ISNAN, EARLY)                                              \
    static void NAME(const void *data, size_t n, double stop_lo, double stop_hi,      \
                     double *mn, double *mx, int *nan)                                 \
    {                                                                                  \
        const T *p = data;                                                             \
        T lo = p[0], hi = p[0];                                                        \
        int bad = 0;                                                                   \
        for (size_t b = 0; b < n;) {                                                   \
            size_t e = n - b > 16384 ? b + 16384 : n;                                  \
            for (size_t i = b; i < e; i++) {                                           \
                T v = p[i];                                                            \
                bad |= ISNAN(v);                                                       \
                lo = v < lo ? v : lo;                                                  \
                hi = v > hi ? v : hi;                                                  \
            }                                                                          \
            b = e;                                                                     \
            if (EARLY && (double)lo <= stop_lo && (double)hi >= stop_hi)               \
                break;                                                                 \
        }                                                                              \
        *mn = (double)lo;                                                              \
        *mx = (double)hi;                                                              \
        *nan = bad;                                                                    \
    }

DEF_MINMAX(mm_u8, uint8_t, NO_NAN, 1)
DEF_MINMAX(mm_i8, int8_t, NO_NAN, 1)
DEF_MINMAX(mm_u16, uint16_t, NO_NAN, 1)
DEF_MINMAX(mm_i16, int16_t, NO_NAN, 1)
DEF_MINMAX(mm_u32, uint32_t, NO_NAN, 1)
DEF_MINMAX(mm_i32, int32_t, NO_NAN, 1)
DEF_MINMAX(mm_u64, uint64_t, NO_NAN, 1)
DEF_MINMAX(mm_i64, int64_t, NO_NAN, 1)
DEF_MINMAX(mm_f32, float, F_NAN, 0)
DEF_MINMAX(mm_f64, double, F_NAN, 0)

/* Write the listed slices. */
#define DEF_APPLY(NAME, T, SCALE)                                              \
    static void NAME(const void *data, size_t slice, const size_t *z, size_t nz, \
                     uint8_t *out, const norm *nm)                             \
    {                                                                          \
        const T *p = data;                                                     \
        for (size_t k = 0; k < nz; k++) {                                      \
            const T *s = p + (z ? z[k] : k) * slice;                           \
            uint8_t *o = out + k * slice;                                      \
            for (size_t i = 0; i < slice; i++)                                 \
                o[i] = SCALE(s[i], nm);                                        \
        }                                                                      \
    }

DEF_APPLY(ap_u32, uint32_t, scale_d)
DEF_APPLY(ap_i32, int32_t, scale_d)
DEF_APPLY(ap_u64, uint64_t, scale_d)
DEF_APPLY(ap_i64, int64_t, scale_d)
DEF_APPLY(ap_f32, float, scale_f)
DEF_APPLY(ap_f64, double, scale_d)

/* 8/16-bit integers: a table over every value of the type, indexed by its
 * unsigned bit pattern (the min/max scan may stop early, so no range is
 * known).  Eight results are stored at once: in place, they land before
 * the input elements still to be read. */
#define DEF_APPLY_LUT(NAME, U)                                                 \
    static void NAME(const void *data, size_t slice, const size_t *z, size_t nz, \
                     uint8_t *out, const uint8_t *lut)                         \
    {                                                                          \
        const U *p = data;                                                     \
        for (size_t k = 0; k < nz; k++) {                                      \
            const U *s = p + (z ? z[k] : k) * slice;                           \
            uint8_t *o = out + k * slice;                                      \
            size_t i = 0;                                                      \
            for (; i + 8 <= slice; i += 8) {                                   \
                uint8_t b[8];                                                  \
                for (int j = 0; j < 8; j++)                                    \
                    b[j] = lut[s[i + j]];                                      \
                memcpy(o + i, b, 8);                                           \
            }                                                                  \
            for (; i < slice; i++)                                             \
                o[i] = lut[s[i]];                                              \
        }                                                                      \
    }

DEF_APPLY_LUT(lut_8, uint8_t)
DEF_APPLY_LUT(lut_16, uint16_t)

/* int16 in AVX2: the table of a window is often a clamp and a multiply,
 * lut[x] == i * (q + m / 2^16) rounded down, i = clamp(x, a, b) - a, for
 * every x the volume can hold (fit16_find() checks every one of them
 * against the table, so this path gives the table's bytes), 32 voxels per
 * step. */
typedef struct fit16 {
    int16_t a, b;
    uint16_t q, m;
} fit16;

static inline uint8_t fit16_one(int16_t x, const fit16 *f)
{
    int c = x < f->a ? f->a : x > f->b ? f->b : x;
    uint32_t i = (uint16_t)(c - f->a);
    return (uint8_t)(uint16_t)(i * f->q + ((i * f->m) >> 16));
}

/* lut: the int16 table indexed by the uint16 pattern.  The volume's values
 * lie in [x0, x1] (clip makes everything below the lower bound one value,
 * so then x0 = INT16_MIN; likewise x1). */
static int fit16_find(const uint8_t *lut, int x0, int x1, int a, int b, fit16 *f)
{
    if (a < x0)
        a = x0;
    if (b > x1)
        b = x1;
    if (a > b)
        return 0;
    for (int k = 0; k < 2; k++) {
        /* 2^16 (q + m / 2^16) = floor(2^16 * 255 / (b - a)) + 1, and one less */
        uint32_t qm = b > a ? (uint32_t)((255u << 16) / (uint32_t)(b - a)) + 1u - (uint32_t)k : 0;
        f->a = (int16_t)a;
        f->b = (int16_t)b;
        f->q = (uint16_t)(qm >> 16);
        f->m = (uint16_t)qm;
        int x = x0;
        while (x <= x1 && lut[(uint16_t)(int16_t)x] == fit16_one((int16_t)x, f))
            x++;
        if (x > x1)
            return 1;
    }
    return 0;
}

#if MS_WINDOW_AVX2
__attribute__((target("avx2"))) static void fit16_avx2(const int16_t *s, size_t n, uint8_t *o,
                                                       const fit16 *f)
{
    const __m256i va = _mm256_set1_epi16(f->a), vb = _mm256_set1_epi16(f->b);
    const __m256i vq = _mm256_set1_epi16((short)f->q), vm = _mm256_set1_epi16((short)f->m);
    size_t i = 0;
    /* in place, o <= s: the 32 bytes stored lie before the 64 still to be read */
    for (; i + 32 <= n; i += 32) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(s + i));
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(s + i + 16));
        x0 = _mm256_sub_epi16(_mm256_min_epi16(_mm256_max_epi16(x0, va), vb), va);
        x1 = _mm256_sub_epi16(_mm256_min_epi16(_mm256_max_epi16(x1, va), vb), va);
        x0 = _mm256_add_epi16(_mm256_mullo_epi16(x0, vq), _mm256_mulhi_epu16(x0, vm));
        x1 = _mm256_add_epi16(_mm256_mullo_epi16(x1, vq), _mm256_mulhi_epu16(x1, vm));
        __m256i p = _mm256_packus_epi16(x0, x1);   /* 128-bit lanes: x0 lo, x1 lo, x0 hi, x1 hi */
        p = _mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(o + i), p);
    }
    for (; i < n; i++)
        o[i] = fit16_one(s[i], f);
}

static int have_avx2(void)
{
    static int v = -1;   /* a benign race: every thread computes the same */
    if (v < 0) {
        const char *e = getenv("MEDSAM_CPU");   /* "ref": the table, as on other CPUs */
        v = !(e && !strcmp(e, "ref")) && __builtin_cpu_supports("avx2");
    }
    return v;
}
#endif

typedef void (*minmax_fn)(const void *, size_t, double, double, double *, double *, int *);

static minmax_fn minmax_for(ms_dtype t)
{
    switch (t) {
    case MS_BOOL:
    case MS_U8: return mm_u8;
    case MS_I8: return mm_i8;
    case MS_U16: return mm_u16;
    case MS_I16: return mm_i16;
    case MS_U32: return mm_u32;
    case MS_I32: return mm_i32;
    case MS_U64: return mm_u64;
    case MS_I64: return mm_i64;
    case MS_F32: return mm_f32;
    case MS_F64: return mm_f64;
    default: return NULL;
    }
}

static int apply(const ms_array *img, size_t slice, const size_t *z, size_t nz, uint8_t *out,
                 const norm *nm, double rmin, double rmax, ms_err *err)
{
    ms_dtype t = img->dtype;
    if (t == MS_U8 || t == MS_BOOL || t == MS_I8 || t == MS_U16 || t == MS_I16) {
        size_t nt = (t == MS_U16 || t == MS_I16) ? 65536 : 256;
        uint8_t *lut = malloc(nt);
        if (!lut)
            return ms_seterr(err, MS_ENOMEM, "window: out of memory");
        for (size_t u = 0; u < nt; u++) {
            double x = t == MS_I16 ? (double)(int16_t)(uint16_t)u
                     : t == MS_I8 ? (double)(int8_t)(uint8_t)u : (double)u;
            lut[u] = scale_d(x, nm);
        }
#if MS_WINDOW_AVX2
        fit16 f;
        /* the min/max scan may have stopped early only when both bounds
         * were met, and then every value below / above them clips */
        double mx = clip_d(rmax, nm->lo, nm->hi);
        if (t == MS_I16 && !nm->zero_keep && isfinite(nm->lo) && isfinite(nm->hi) &&
            have_avx2() &&
            fit16_find(lut, nm->mn == nm->lo ? INT16_MIN : (int)rmin,
                       mx == nm->hi ? INT16_MAX : (int)rmax,
                       (int)fmax(ceil(nm->lo), INT16_MIN), (int)fmin(floor(nm->hi), INT16_MAX),
                       &f)) {
            const int16_t *p = img->data;
            for (size_t k = 0; k < nz; k++)
                fit16_avx2(p + (z ? z[k] : k) * slice, slice, out + k * slice, &f);
            free(lut);
            return MS_OK;
        }
#endif
        if (nt == 65536)
            lut_16(img->data, slice, z, nz, out, lut);
        else
            lut_8(img->data, slice, z, nz, out, lut);
        free(lut);
        return MS_OK;
    }
    switch (t) {
    case MS_U32: ap_u32(img->data, slice, z, nz, out, nm); break;
    case MS_I32: ap_i32(img->data, slice, z, nz, out, nm); break;
    case MS_U64: ap_u64(img->data, slice, z, nz, out, nm); break;
    case MS_I64: ap_i64(img->data, slice, z, nz, out, nm); break;
    case MS_F32: ap_f32(img->data, slice, z, nz, out, nm); break;
    default: ap_f64(img->data, slice, z, nz, out, nm); break;
    }
    return MS_OK;
}

/* Shared tail: bounds known; find the clipped min/max, then write. */
static int normalise(const ms_array *img, double lo, double hi, int zero_keep, const size_t *z,
                     size_t nz, uint8_t *out, ms_window_info *info, ms_err *err)
{
    size_t n = ms_array_nelem(img);
    size_t d = img->ndim ? img->shape[0] : 1;
    size_t slice = d ? n / d : 0;
    if (!z)
        nz = d;
    /* in place: out overlaps the image, starting at or before it */
    uintptr_t ob = (uintptr_t)out, ib = (uintptr_t)img->data;
    int overlap = n && nz && ob < ib + n * ms_dtype_size(img->dtype) && ib < ob + nz * slice;
    if (overlap && ob > ib)
        return ms_seterr(err, MS_EINVAL, "window: the output starts inside the image");
    for (size_t k = 0; z && k < nz; k++) {
        if (z[k] >= d)
            return ms_seterr(err, MS_EINVAL, "window: slice %zu out of range (%zu slices)", z[k], d);
        if (k && z[k] <= z[k - 1] && overlap)
            return ms_seterr(err, MS_EINVAL, "window: in place needs ascending slices");
    }
    norm nm = {.lo = lo, .hi = hi, .lof = (float)lo, .hif = (float)hi, .zero_keep = zero_keep};
    double rmin = 0, rmax = 0;
    int nan = 0;
    if (n)
        minmax_for(img->dtype)(img->data, n, lo, hi, &rmin, &rmax, &nan);
    if (nan)
        return ms_seterr(err, MS_EINVAL, "image holds NaN voxels");
    int constant;
    if (img->dtype == MS_F32) {
        nm.mnf = clip_f((float)rmin, nm.lof, nm.hif);
        float mxf = clip_f((float)rmax, nm.lof, nm.hif);
        nm.denf = mxf - nm.mnf;
        constant = !(mxf > nm.mnf);
        info->vmin = nm.mnf;
        info->vmax = mxf;
    } else {
        nm.mn = clip_d(rmin, lo, hi);
        double mx = clip_d(rmax, lo, hi);
        nm.den = mx - nm.mn;
        constant = !(mx > nm.mn);
        info->vmin = nm.mn;
        info->vmax = mx;
    }
    if (constant || !n) {
        info->flags |= MS_WINDOW_CONSTANT;
        memset(out, 0, nz * slice);
        return MS_OK;
    }
    return apply(img, slice, z, nz, out, &nm, rmin, rmax, err);
}

static int check_img(const ms_array *img, ms_err *err)
{
    if (!minmax_for(img->dtype))
        return ms_seterr(err, MS_EUNSUPP, "window: unsupported image dtype");
    return MS_OK;
}

int ms_window_ct(const ms_array *img, double level, double width, const size_t *z, size_t nz,
                 uint8_t *out, ms_window_info *info, ms_err *err)
{
    ms_window_info dummy;
    info = info ? info : &dummy;
    memset(info, 0, sizeof *info);
    int rc = check_img(img, err);
    if (rc)
        return rc;
    info->lower = level - width / 2;
    info->upper = level + width / 2;
    return normalise(img, info->lower, info->upper, 0, z, nz, out, info, err);
}

int ms_window_percentile(const ms_array *img, double q_lo, double q_hi, const size_t *z,
                         size_t nz, uint8_t *out, ms_window_info *info, ms_err *err)
{
    ms_window_info dummy;
    info = info ? info : &dummy;
    memset(info, 0, sizeof *info);
    int rc = check_img(img, err);
    if (rc)
        return rc;
    double q[2] = {q_lo, q_hi}, b[2];
    size_t npos = 0;
    rc = ms_percentile(img, 1, q, 2, b, &npos, err);
    if (rc)
        return rc;
    if (!npos) {
        size_t n = ms_array_nelem(img), d = img->ndim ? img->shape[0] : 1;
        info->flags |= MS_WINDOW_NO_POSITIVE;
        memset(out, 0, (z ? nz : d) * (d ? n / d : 0));
        return MS_OK;
    }
    if (!isfinite(b[0]) || !isfinite(b[1]))
        return ms_seterr(err, MS_EINVAL, "image percentiles are not finite (%g, %g)", b[0], b[1]);
    info->lower = b[0];
    info->upper = b[1];
    return normalise(img, b[0], b[1], 1, z, nz, out, info, err);
}
