/* Label-map clean-up; see ms_labels.h. */
#include "config.h"
#include "ms_labels.h"
#include "ms_cc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Narrow integer labels to uint8 front-to-back in the same buffer: the
 * destination index never passes the source index, so it is safe. */
#define NARROW_INT(T, FMT, CAST, NEG)                                                   \
    do {                                                                                 \
        const T *src = (const T *)a->data;                                               \
        for (size_t i = 0; i < n; i++) {                                                 \
            T v = src[i];                                                                \
            if (NEG(v) || (sizeof(T) > 1 && (uint64_t)v > 255))                          \
                return ms_seterr(err, MS_EINVAL,                                         \
                                 "%s: label value " FMT " is outside 0..255 (labels must " \
                                 "fit uint8)", what, (CAST)v);                           \
            dst[i] = (uint8_t)v;                                                         \
        }                                                                                \
    } while (0)

#define IS_NEG(v) ((v) < 0)
#define NEVER_NEG(v) 0

#define NARROW_FLOAT(T)                                                                  \
    do {                                                                                 \
        const T *src = (const T *)a->data;                                               \
        for (size_t i = 0; i < n; i++) {                                                 \
            double v = src[i];                                                           \
            if (!(v >= 0 && v <= 255))                                                   \
                return ms_seterr(err, MS_EINVAL,                                         \
                                 "%s: label value %g is outside 0..255 (labels must "    \
                                 "fit uint8)", what, v);                                 \
            if (v != floor(v))                                                           \
                return ms_seterr(err, MS_EINVAL,                                         \
                                 "%s: label value %g is not an integer", what, v);       \
            dst[i] = (uint8_t)v;                                                         \
        }                                                                                \
    } while (0)

int ms_labels_to_u8(ms_array *a, const char *what, ms_err *err)
{
    size_t n = ms_array_nelem(a);
    uint8_t *dst = a->data;
    switch (a->dtype) {
    case MS_U8:
        return MS_OK;
    case MS_BOOL:
        break;   /* already one byte of 0/1 */
    case MS_I8: NARROW_INT(int8_t, "%d", int, IS_NEG); break;
    case MS_I16: NARROW_INT(int16_t, "%d", int, IS_NEG); break;
    case MS_U16: NARROW_INT(uint16_t, "%d", int, NEVER_NEG); break;
    case MS_I32: NARROW_INT(int32_t, "%ld", long, IS_NEG); break;
    case MS_U32: NARROW_INT(uint32_t, "%lu", unsigned long, NEVER_NEG); break;
    case MS_I64: NARROW_INT(int64_t, "%lld", long long, IS_NEG); break;
    case MS_U64: NARROW_INT(uint64_t, "%llu", unsigned long long, NEVER_NEG); break;
    case MS_F32: NARROW_FLOAT(float); break;
    case MS_F64: NARROW_FLOAT(double); break;
    default:
        return ms_seterr(err, MS_EUNSUPP, "%s: unsupported label dtype", what);
    }
    size_t old = ms_dtype_size(a->dtype);
    a->dtype = MS_U8;
    if (old > 1 && n) {
        void *p = realloc(a->data, n);   /* shrink; keeps the data if it fails */
        if (p)
            a->data = p;
    }
    return MS_OK;
}

size_t ms_labels_remove(uint8_t *lab, size_t n, const int *ids, int nids)
{
    uint8_t drop[256] = {0};
    int any = 0;
    for (int k = 0; k < nids; k++)
        if (ids[k] > 0 && ids[k] < 256)
            drop[ids[k]] = 1, any = 1;
    if (!any)
        return 0;
    size_t cleared = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t d = drop[lab[i]];
        cleared += d;
        lab[i] = d ? 0 : lab[i];
    }
    return cleared;
}

uint8_t ms_labels_max(const uint8_t *lab, size_t n, int skip)
{
    uint8_t m = 0;
    if (skip < 0 || skip > 255) {
        for (size_t i = 0; i < n; i++)
            m = lab[i] > m ? lab[i] : m;
        return m;
    }
    for (size_t i = 0; i < n; i++)
        if (lab[i] != skip && lab[i] > m)
            m = lab[i];
    return m;
}

int ms_labels_split_instances(uint8_t *lab, size_t d, size_t h, size_t w, uint8_t id,
                              int conn, size_t *ninst, ms_err *err)
{
    /* Upstream clears the id first, so the offset is the max of the rest. */
    uint8_t base = ms_labels_max(lab, d * h * w, id);
    return ms_cc_instances(lab, d, h, w, conn, id, base, ninst, err);
}

static int slice_nonzero(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t q;
        memcpy(&q, p + i, 8);
        if (q)
            return 1;
    }
    for (; i < n; i++)
        if (p[i])
            return 1;
    return 0;
}

size_t ms_labels_nonzero_slices(const uint8_t *lab, size_t d, size_t slice, size_t *z_out)
{
    size_t k = 0;
    for (size_t z = 0; z < d; z++)
        if (slice_nonzero(lab + z * slice, slice))
            z_out[k++] = z;
    return k;
}

void ms_labels_gather_slices(uint8_t *lab, size_t slice, const size_t *z_keep, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (z_keep[k] != k)
            memmove(lab + k * slice, lab + z_keep[k] * slice, slice);
}
