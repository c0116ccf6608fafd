/* numpy .npy reader and writer (format 1.0 / 2.0 / 3.0).
 *
 * File layout: "\x93NUMPY" major minor, header length (u16 LE for 1.0, u32 LE
 * for 2.0/3.0), then a Python dict literal
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and '\n' so that the data starts on a 64-byte boundary,
 * then the raw elements.  The header parser is in npy_header.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ms_npy.h"
#include "ms_outfile.h"
#include "npy_priv.h"

/* ------------------------------------------------------ conversion to native */

static void byteswap(void *data, size_t n, size_t isz)
{
    unsigned char *p = data;
    for (size_t i = 0; i < n; i++, p += isz)
        for (size_t j = 0; j < isz / 2; j++) {
            unsigned char c = p[j];
            p[j] = p[isz - 1 - j];
            p[isz - 1 - j] = c;
        }
}

/* Fortran -> C order: walk the output in C order while tracking the input
 * offset with Fortran strides (stride[k] = prod(shape[0..k-1])). */
static void fortran_to_c(unsigned char *dst, const unsigned char *src, const ms_array *a,
                         size_t isz)
{
    size_t fstride[MS_MAX_NDIM], idx[MS_MAX_NDIM] = {0};
    size_t n = ms_array_nelem(a), off = 0, s = 1;
    int nd = a->ndim;

    for (int k = 0; k < nd; k++) {
        fstride[k] = s;
        s *= a->shape[k];
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(dst + i * isz, src + off * isz, isz);
        for (int k = nd - 1; k >= 0; k--) {
            idx[k]++;
            off += fstride[k];
            if (idx[k] < a->shape[k])
                break;
            off -= fstride[k] * a->shape[k];
            idx[k] = 0;
        }
    }
}

int ms__npy_to_native(ms_array *a, int fortran, int big_endian, const char *what, ms_err *err)
{
    size_t isz = ms_dtype_size(a->dtype), n = ms_array_nelem(a);

    if (!n)
        return MS_OK;
    if (isz > 1 && big_endian != ms__host_big_endian())
        byteswap(a->data, n, isz);
    if (fortran && a->ndim > 1) {
        unsigned char *c = malloc(n * isz);
        if (!c)
            return ms_seterr(err, MS_ENOMEM, "%s: out of memory (%zu bytes)", what, n * isz);
        fortran_to_c(c, a->data, a, isz);
        free(a->data);
        a->data = c;
    }
    if (a->dtype == MS_BOOL) {
        unsigned char *p = a->data;
        for (size_t i = 0; i < n; i++)
            p[i] = p[i] != 0;
    }
    return MS_OK;
}

/* ------------------------------------------------------------------ readers */

static int read_error(const ms__reader *r, const char *what, ms_err *err)
{
    int code = r->errcode ? r->errcode(r->ctx) : MS_EIO;
    return ms_seterr(err, code, "%s: read error: %s", what, r->strerror(r->ctx));
}

int ms__npy_read_header(const ms__reader *r, unsigned char **hdr, size_t *hlen,
                        ms_array *a, int *fortran, int *big_endian,
                        const ms_limits *lim, const char *what, ms_err *err)
{
    unsigned char pre[12];
    size_t prefix, textlen, off;
    int utf8, rc;
    int64_t got;
    unsigned char *buf = NULL;

    *hdr = NULL;
    /* Magic + version first: they say how long the length field is. */
    got = r->read(r->ctx, pre, 8);
    if (got < 0)
        return read_error(r, what, err);
    size_t have = (size_t)got;
    if (have == 8) {
        size_t more = pre[6] == 1 ? 2 : 4;
        got = r->read(r->ctx, pre + 8, more);
        if (got < 0)
            return read_error(r, what, err);
        have += (size_t)got;
    }
    if ((rc = ms__npy_preamble(pre, have, &prefix, &textlen, &utf8, what, err)) < 0)
        return rc;
    buf = malloc(prefix + textlen);
    if (!buf)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", what);
    memcpy(buf, pre, prefix);
    got = r->read(r->ctx, buf + prefix, textlen);
    if (got < 0) {
        rc = read_error(r, what, err);
        goto fail;
    }
    if ((rc = ms_npy_parse_header(buf, prefix + (size_t)got, a, fortran, big_endian, &off,
                                  lim, what, err)) < 0)
        goto fail;
    *hdr = buf;
    *hlen = off;
    return MS_OK;
fail:
    free(buf);
    return rc;
}

int ms__npy_read_data(const ms__reader *r, ms_array *a, int fortran, int big_endian,
                      const ms_limits *lim, const char *what, ms_err *err)
{
    size_t nbytes;
    int64_t got;
    int rc;

    a->data = NULL;
    if ((rc = ms_shape_bytes(a->dtype, a->ndim, a->shape, lim, &nbytes, what, err)) < 0)
        return rc;
    if (nbytes == 0)
        return MS_OK;
    a->data = malloc(nbytes);
    if (!a->data)
        return ms_seterr(err, MS_ENOMEM, "%s: cannot allocate %zu bytes", what, nbytes);
    got = r->read(r->ctx, a->data, nbytes);
    if (got < 0) {
        rc = read_error(r, what, err);
        goto fail;
    }
    if ((size_t)got < nbytes) {
        rc = ms_seterr(err, MS_ETRUNC, "%s: truncated npy data (%lld of %zu bytes)", what,
                       (long long)got, nbytes);
        goto fail;
    }
    if ((rc = ms__npy_to_native(a, fortran, big_endian, what, err)) < 0)
        goto fail;
    return MS_OK;
fail:
    free(a->data);
    a->data = NULL;
    return rc;
}

/* A FILE* reader. */
typedef struct file_ctx {
    FILE *f;
    int err;
} file_ctx;

static int64_t file_read(void *ctx, void *buf, size_t n)
{
    file_ctx *c = ctx;
    size_t got = fread(buf, 1, n, c->f);
    if (got < n && ferror(c->f)) {
        c->err = errno;
        return -1;
    }
    return (int64_t)got;
}

static const char *file_strerror(void *ctx)
{
    return strerror(((file_ctx *)ctx)->err);
}

int ms_npy_read(const char *path, ms_array *out, const ms_limits *lim, ms_err *err)
{
    FILE *f;
    file_ctx ctx;
    ms__reader r = {file_read, &ctx, file_strerror, NULL};
    unsigned char *hdr = NULL;
    size_t hlen = 0, nbytes = 0;
    int fortran, be, rc;
    struct stat st;

    memset(out, 0, sizeof *out);
    f = fopen(path, "rb");
    if (!f)
        return ms_seterr(err, errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "%s: %s", path,
                         strerror(errno));
    ctx.f = f;
    ctx.err = 0;
    if ((rc = ms__npy_read_header(&r, &hdr, &hlen, out, &fortran, &be, lim, path, err)) < 0)
        goto fail;
    free(hdr);
    /* A regular file must hold the whole array: check before allocating. */
    ms_shape_bytes(out->dtype, out->ndim, out->shape, lim, &nbytes, path, NULL);
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size - hlen < (uint64_t)nbytes) {
        rc = ms_seterr(err, MS_ETRUNC, "%s: truncated npy data (%lld of %zu bytes)", path,
                       (long long)st.st_size - (long long)hlen, nbytes);
        goto fail;
    }
    if ((rc = ms__npy_read_data(&r, out, fortran, be, lim, path, err)) < 0)
        goto fail;
    fclose(f);
    return MS_OK;
fail:
    fclose(f);
    memset(out, 0, sizeof *out);
    return rc;
}

typedef struct mem_ctx {
    const unsigned char *p;
    size_t left;
} mem_ctx;

static int64_t mem_read(void *ctx, void *buf, size_t n)
{
    mem_ctx *c = ctx;
    if (n > c->left)
        n = c->left;
    memcpy(buf, c->p, n);
    c->p += n;
    c->left -= n;
    return (int64_t)n;
}

static const char *mem_strerror(void *ctx)
{
    (void)ctx;
    return "memory read failed";
}

int ms_npy_read_mem(const void *buf, size_t len, ms_array *out,
                    const ms_limits *lim, const char *what, ms_err *err)
{
    int fortran, be, rc;
    size_t off, nbytes;

    if (!what)
        what = "npy";
    memset(out, 0, sizeof *out);
    if ((rc = ms_npy_parse_header(buf, len, out, &fortran, &be, &off, lim, what, err)) < 0)
        goto fail;
    ms_shape_bytes(out->dtype, out->ndim, out->shape, lim, &nbytes, what, NULL);
    if (len - off < nbytes) {
        rc = ms_seterr(err, MS_ETRUNC, "%s: truncated npy data (%zu of %zu bytes)", what,
                       len - off, nbytes);
        goto fail;
    }
    mem_ctx c = {(const unsigned char *)buf + off, len - off};
    ms__reader r = {mem_read, &c, mem_strerror, NULL};
    if ((rc = ms__npy_read_data(&r, out, fortran, be, lim, what, err)) < 0)
        goto fail;
    return MS_OK;
fail:
    memset(out, 0, sizeof *out);
    return rc;
}

/* ------------------------------------------------------------------ writers */

/* The header np.save writes for a C-order native array of this dtype/shape. */
static int npy_header_for(ms_dtype t, int ndim, const size_t *shape, unsigned char *buf,
                          size_t cap, size_t *len, ms_err *err)
{
    char dict[512];
    size_t n = 0;
    const char *name = ms_dtype_name(t);

    if (!name)
        return ms_seterr(err, MS_EINVAL, "npy: invalid dtype %d", (int)t);
    if (ndim < 0 || ndim > MS_MAX_NDIM)
        return ms_seterr(err, MS_EINVAL, "npy: invalid rank %d", ndim);
    char order = ms_dtype_size(t) == 1 ? '|' : ms__host_big_endian() ? '>' : '<';
    n += (size_t)snprintf(dict + n, sizeof dict - n,
                          "{'descr': '%c%s', 'fortran_order': False, 'shape': (", order, name);
    for (int i = 0; i < ndim; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, i ? ", %zu" : "%zu", shape[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, ndim == 1 ? ",), }" : "), }");
    /* Room for the first axis to grow (numpy >= 1.23, C order: axis 0). */
    if (ndim > 0) {
        char digits[32];
        int dl = snprintf(digits, sizeof digits, "%zu", shape[0]);
        for (int i = dl; i < NPY_GROWTH_DIGITS; i++)
            dict[n++] = ' ';
    }
    /* 10-byte prefix + dict + padding + '\n' = multiple of 64. */
    size_t total = 10 + n + 1;
    size_t pad = (NPY_ALIGN - total % NPY_ALIGN) % NPY_ALIGN;
    total += pad;
    if (total > cap)
        return ms_seterr(err, MS_EINVAL, "npy: header needs %zu bytes, buffer has %zu", total, cap);
    size_t hl = total - 10;
    memcpy(buf, NPY_MAGIC "\x01\x00", 8);
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', pad);
    buf[total - 1] = '\n';
    *len = total;
    return MS_OK;
}

int ms_npy_header(const ms_array *a, unsigned char *buf, size_t cap, size_t *len, ms_err *err)
{
    return npy_header_for(a->dtype, a->ndim, a->shape, buf, cap, len, err);
}

static int write_raw_stream(FILE *f, ms_dtype t, int ndim, const size_t *shape,
                            const void *data, const char *what, ms_err *err)
{
    unsigned char hdr[1024];
    size_t hlen = 0, nbytes = 0;
    ms_limits nolimit = {UINT64_MAX};
    int rc;

    if ((rc = npy_header_for(t, ndim, shape, hdr, sizeof hdr, &hlen, err)) < 0)
        return rc;
    if ((rc = ms_shape_bytes(t, ndim, shape, &nolimit, &nbytes, what, err)) < 0)
        return rc;
    if (nbytes && !data)
        return ms_seterr(err, MS_EINVAL, "%s: no data", what);
    if (fwrite(hdr, 1, hlen, f) != hlen || (nbytes && fwrite(data, 1, nbytes, f) != nbytes))
        return ms_seterr(err, MS_EIO, "%s: write failed: %s", what, strerror(errno));
    return MS_OK;
}

int ms_npy_write_stream(FILE *f, const ms_array *a, const char *what, ms_err *err)
{
    return write_raw_stream(f, a->dtype, a->ndim, a->shape, a->data, what ? what : "npy", err);
}

int ms_npy_write_raw(const char *path, ms_dtype t, int ndim, const size_t *shape,
                     const void *data, ms_err *err)
{
    ms_outfile o;
    int rc;

    if ((rc = ms_outfile_open(&o, path, err)) < 0)
        return rc;
    if ((rc = write_raw_stream(o.f, t, ndim, shape, data, path, err)) < 0) {
        ms_outfile_abort(&o);
        return rc;
    }
    return ms_outfile_commit(&o, err);
}

int ms_npy_write(const char *path, const ms_array *a, ms_err *err)
{
    return ms_npy_write_raw(path, a->dtype, a->ndim, a->shape, a->data, err);
}

/* ------------------------------------------------------- streaming writer */

int ms_npy_writer_open(ms_npy_writer *w, const char *path, ms_dtype t, int ndim,
                       const size_t *shape, ms_err *err)
{
    unsigned char hdr[1024];
    size_t hlen, nbytes;
    ms_limits nolimit = {UINT64_MAX};
    int rc;

    memset(w, 0, sizeof *w);
    if ((rc = npy_header_for(t, ndim, shape, hdr, sizeof hdr, &hlen, err)) < 0 ||
        (rc = ms_shape_bytes(t, ndim, shape, &nolimit, &nbytes, path, err)) < 0)
        return rc;
    if ((rc = ms_outfile_open(&w->out, path, err)) < 0)
        return rc;
    if (fwrite(hdr, 1, hlen, w->out.f) != hlen) {
        rc = ms_seterr(err, MS_EIO, "%s: write failed: %s", path, strerror(errno));
        ms_outfile_abort(&w->out);
        return rc;
    }
    w->left = nbytes;
    return MS_OK;
}

int ms_npy_writer_put(ms_npy_writer *w, const void *data, size_t nbytes, ms_err *err)
{
    if (!w->out.f)
        return ms_seterr(err, MS_EINVAL, "npy writer: not open");
    if (nbytes > w->left)
        return ms_seterr(err, MS_EINVAL, "%s: %zu bytes more than the declared shape holds",
                         w->out.final_path, (size_t)(nbytes - w->left));
    if (nbytes && fwrite(data, 1, nbytes, w->out.f) != nbytes)
        return ms_seterr(err, MS_EIO, "%s: write failed: %s", w->out.final_path, strerror(errno));
    w->left -= nbytes;
    return MS_OK;
}

int ms_npy_writer_commit(ms_npy_writer *w, ms_err *err)
{
    int rc;

    if (!w->out.f)
        return ms_seterr(err, MS_EINVAL, "npy writer: not open");
    if (w->left) {
        rc = ms_seterr(err, MS_EINVAL, "%s: %llu data bytes missing at commit", w->out.final_path,
                       (unsigned long long)w->left);
        ms_outfile_abort(&w->out);
        return rc;
    }
    return ms_outfile_commit(&w->out, err);
}

void ms_npy_writer_abort(ms_npy_writer *w)
{
    if (w)
        ms_outfile_abort(&w->out);
}
