/* The ms_array container: dtype table, overflow-checked sizes, allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_array.h"
#include "codec.h"

static const struct {
    unsigned char size;
    const char name[3];
} dtype_info[MS_DTYPE_COUNT] = {
    [MS_BOOL] = {1, "b1"}, [MS_I8] = {1, "i1"}, [MS_U8] = {1, "u1"},
    [MS_I16] = {2, "i2"}, [MS_U16] = {2, "u2"}, [MS_I32] = {4, "i4"},
    [MS_U32] = {4, "u4"}, [MS_I64] = {8, "i8"}, [MS_U64] = {8, "u8"},
    [MS_F32] = {4, "f4"}, [MS_F64] = {8, "f8"},
};

size_t ms_dtype_size(ms_dtype t)
{
    if ((unsigned)t >= MS_DTYPE_COUNT)
        return 0;
    return dtype_info[t].size;
}

const char *ms_dtype_name(ms_dtype t)
{
    if ((unsigned)t >= MS_DTYPE_COUNT)
        return NULL;
    return dtype_info[t].name;
}

size_t ms_array_nelem(const ms_array *a)
{
    size_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= a->shape[i];
    return n;
}

size_t ms_array_nbytes(const ms_array *a)
{
    return ms_array_nelem(a) * ms_dtype_size(a->dtype);
}

int ms_shape_bytes(ms_dtype t, int ndim, const size_t *shape, const ms_limits *lim,
                   size_t *nbytes, const char *what, ms_err *err)
{
    uint64_t max = (lim && lim->max_bytes) ? lim->max_bytes : MS_DEFAULT_MAX_BYTES;
    size_t isz = ms_dtype_size(t);
    const char *w = what ? what : "array";

    if (!isz)
        return ms_seterr(err, MS_EINVAL, "%s: invalid dtype %d", w, (int)t);
    if (ndim < 0 || ndim > MS_MAX_NDIM)
        return ms_seterr(err, MS_EUNSUPP, "%s: %d dimensions (at most %d supported)",
                         w, ndim, MS_MAX_NDIM);
    /* An empty array (a zero dimension) has no bytes, whatever the others say,
     * but every dimension must still be sane on its own. */
    int empty = 0;
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0)
            empty = 1;
    uint64_t n = isz;
    int over = 0;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = shape[i];
        if (d > max)
            over = 1;
        else if (!empty && !over && n > max / d)
            over = 1;
        else if (!empty && !over)
            n *= d;
    }
    if (!over && !empty && n > max)
        over = 1;
    if (over || n > SIZE_MAX) {
        char shp[MS_MAX_NDIM * 22 + 4];
        size_t k = 0;
        shp[k++] = '(';
        for (int i = 0; i < ndim; i++)
            k += (size_t)snprintf(shp + k, sizeof shp - k, i ? ", %llu" : "%llu",
                                  (unsigned long long)shape[i]);
        snprintf(shp + k, sizeof shp - k, ndim == 1 ? ",)" : ")");
        return ms_seterr(err, MS_ELIMIT, "%s: shape %s of %s exceeds the limit of %llu bytes",
                         w, shp, ms_dtype_name(t), (unsigned long long)max);
    }
    if (empty)
        n = 0;
    *nbytes = (size_t)n;
    return MS_OK;
}

int ms_array_alloc(ms_array *a, ms_dtype t, int ndim, const size_t *shape,
                   const ms_limits *lim, ms_err *err)
{
    size_t nbytes;
    int rc;

    memset(a, 0, sizeof *a);
    rc = ms_shape_bytes(t, ndim, shape, lim, &nbytes, "array", err);
    if (rc < 0)
        return rc;
    a->dtype = t;
    a->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        a->shape[i] = shape[i];
    if (nbytes) {
        a->data = ms__calloc_big(nbytes);
        if (!a->data) {
            memset(a, 0, sizeof *a);
            return ms_seterr(err, MS_ENOMEM, "array: cannot allocate %zu bytes", nbytes);
        }
    }
    return MS_OK;
}

void ms_array_free(ms_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}
