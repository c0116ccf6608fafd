/* numpy .npy reader and writer (format 1.0 / 2.0 / 3.0).
 *
 * File layout: "\x93NUMPY" major minor, header length (u16 LE for 1.0, u32 LE
 * for 2.0/3.0), then a Python dict literal
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and '\n' so that the data starts on a 64-byte boundary,
 * then the raw elements.  Everything in the header is treated as hostile.
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

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
/* numpy >= 1.23 leaves room for the first axis to grow to 21 digits. */
#define NPY_GROWTH_DIGITS 21

static int host_big_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 0;
}

/* ------------------------------------------------------------ header parser */

typedef struct hparser {
    const char *p, *end;
    const char *what;
    ms_err *err;
} hparser;

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void skip_ws(hparser *h)
{
    while (h->p < h->end && is_ws(*h->p))
        h->p++;
}

static int bad(hparser *h, const char *why)
{
    return ms_seterr(h->err, MS_EFORMAT, "%s: npy header: %s", h->what, why);
}

/* A quoted string without escapes; [*s, *s + *n). */
static int parse_string(hparser *h, const char **s, size_t *n)
{
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
        return bad(h, "expected a quoted string");
    char q = *h->p++;
    const char *start = h->p;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\' || *h->p == '\n')
            return bad(h, "unsupported character in a string");
        h->p++;
    }
    if (h->p >= h->end)
        return bad(h, "unterminated string");
    *s = start;
    *n = (size_t)(h->p - start);
    h->p++;
    return MS_OK;
}

static int match_word(hparser *h, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) < n || memcmp(h->p, w, n) != 0)
        return 0;
    /* The word must end here (no "Trueish"). */
    if ((size_t)(h->end - h->p) > n) {
        char c = h->p[n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            return 0;
    }
    h->p += n;
    return 1;
}

static int parse_bool(hparser *h, int *v)
{
    if (match_word(h, "True"))
        *v = 1;
    else if (match_word(h, "False"))
        *v = 0;
    else
        return bad(h, "'fortran_order' is not True or False");
    return MS_OK;
}

/* A non-negative Python int literal (optionally "+", or an "L" suffix as
 * Python 2 numpy wrote). */
static int parse_dim(hparser *h, uint64_t *v)
{
    uint64_t x = 0;
    const char *start;

    if (h->p < h->end && *h->p == '+')
        h->p++;
    if (h->p < h->end && *h->p == '-')
        return ms_seterr(h->err, MS_EFORMAT, "%s: npy header: negative dimension in 'shape'",
                         h->what);
    start = h->p;
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
        unsigned d = (unsigned)(*h->p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return ms_seterr(h->err, MS_ELIMIT, "%s: npy header: dimension in 'shape' is too large",
                             h->what);
        x = x * 10 + d;
        h->p++;
    }
    if (h->p == start)
        return bad(h, "'shape' is not a tuple of integers");
    if (h->p - start > 1 && *start == '0')
        return bad(h, "integer with a leading zero in 'shape'");
    if (h->p < h->end && (*h->p == 'L' || *h->p == 'l'))
        h->p++;
    *v = x;
    return MS_OK;
}

static int parse_shape(hparser *h, ms_array *a)
{
    int n = 0, rc, comma_after_last = 0;

    if (h->p >= h->end || *h->p != '(')
        return bad(h, "'shape' is not a tuple");
    h->p++;
    for (;;) {
        skip_ws(h);
        if (h->p < h->end && *h->p == ')') {
            h->p++;
            break;
        }
        uint64_t d = 0;
        if ((rc = parse_dim(h, &d)) < 0)
            return rc;
        if (n >= MS_MAX_NDIM)
            return ms_seterr(h->err, MS_EUNSUPP, "%s: npy header: more than %d dimensions",
                             h->what, MS_MAX_NDIM);
        if (d > SIZE_MAX)
            return ms_seterr(h->err, MS_ELIMIT, "%s: npy header: dimension too large", h->what);
        a->shape[n++] = (size_t)d;
        skip_ws(h);
        comma_after_last = 0;
        if (h->p < h->end && *h->p == ',') {
            h->p++;
            comma_after_last = 1;
            continue;
        }
        if (h->p < h->end && *h->p == ')') {
            h->p++;
            break;
        }
        return bad(h, "'shape' is not a tuple of integers");
    }
    /* "(5)" is the int 5 in Python, not a tuple. */
    if (n == 1 && !comma_after_last)
        return bad(h, "'shape' is not a tuple (one element needs a trailing comma)");
    a->ndim = n;
    return MS_OK;
}

static int parse_descr(hparser *h, const char *s, size_t n, ms_dtype *t, int *big_endian)
{
    static const char *const names[MS_DTYPE_COUNT] = {
        [MS_BOOL] = "b1", [MS_I8] = "i1", [MS_U8] = "u1", [MS_I16] = "i2", [MS_U16] = "u2",
        [MS_I32] = "i4", [MS_U32] = "u4", [MS_I64] = "i8", [MS_U64] = "u8",
        [MS_F32] = "f4", [MS_F64] = "f8",
    };
    char order = '=';
    const char *body = s;
    size_t blen = n;

    if (n > 0 && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) {
        order = s[0];
        body++;
        blen--;
    }
    for (int i = 0; i < MS_DTYPE_COUNT; i++) {
        if (blen == 2 && memcmp(body, names[i], 2) == 0) {
            *t = (ms_dtype)i;
            *big_endian = order == '>' || (order == '=' && host_big_endian()) ||
                          (order == '|' && host_big_endian());
            return MS_OK;
        }
    }
    if (blen == 1 && body[0] == 'O')
        return ms_seterr(h->err, MS_EUNSUPP,
                         "%s: npy: object arrays (dtype '%.*s') need pickle, not supported",
                         h->what, (int)n, s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126)
            return bad(h, "'descr' is not a valid dtype");
    return ms_seterr(h->err, MS_EUNSUPP, "%s: npy: dtype '%.*s' is not supported "
                     "(b1 i1 u1 i2 u2 i4 u4 i8 u8 f4 f8 are)", h->what, (int)(n > 40 ? 40 : n), s);
}

/* Parse the dict text [p, end). */
static int parse_dict(hparser *h, ms_array *a, int *fortran, int *big_endian)
{
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0, rc;
    const char *dsc = NULL;
    size_t dlen = 0;

    skip_ws(h);
    if (h->p >= h->end || *h->p != '{')
        return bad(h, "not a dict");
    h->p++;
    for (;;) {
        const char *k;
        size_t kn;
        skip_ws(h);
        if (h->p < h->end && *h->p == '}') {
            h->p++;
            break;
        }
        if ((rc = parse_string(h, &k, &kn)) < 0)
            return rc;
        skip_ws(h);
        if (h->p >= h->end || *h->p != ':')
            return bad(h, "expected ':' after a key");
        h->p++;
        skip_ws(h);
        if (kn == 5 && memcmp(k, "descr", 5) == 0 && !seen_descr) {
            if (h->p < h->end && *h->p == '[')
                return ms_seterr(h->err, MS_EUNSUPP, "%s: npy: structured dtypes are not supported",
                                 h->what);
            if ((rc = parse_string(h, &dsc, &dlen)) < 0)
                return rc;
            seen_descr = 1;
        } else if (kn == 13 && memcmp(k, "fortran_order", 13) == 0 && !seen_fortran) {
            if ((rc = parse_bool(h, fortran)) < 0)
                return rc;
            seen_fortran = 1;
        } else if (kn == 5 && memcmp(k, "shape", 5) == 0 && !seen_shape) {
            if ((rc = parse_shape(h, a)) < 0)
                return rc;
            seen_shape = 1;
        } else {
            return ms_seterr(h->err, MS_EFORMAT, "%s: npy header: unexpected or repeated key '%.*s'",
                             h->what, (int)(kn > 40 ? 40 : kn), k);
        }
        skip_ws(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++;
            continue;
        }
        if (h->p < h->end && *h->p == '}') {
            h->p++;
            break;
        }
        return bad(h, "expected ',' or '}'");
    }
    skip_ws(h);
    if (h->p != h->end)
        return bad(h, "trailing characters after the dict");
    if (!seen_descr || !seen_fortran || !seen_shape)
        return bad(h, "missing key ('descr', 'fortran_order' and 'shape' are required)");
    return parse_descr(h, dsc, dlen, &a->dtype, big_endian);
}

/* Magic, version and header length from the first bytes; *prefix = 10 or 12. */
static int parse_preamble(const unsigned char *buf, size_t len, size_t *prefix, size_t *hlen,
                          int *utf8, const char *what, ms_err *err)
{
    size_t m = len < NPY_MAGIC_LEN ? len : NPY_MAGIC_LEN;
    if (len == 0)
        return ms_seterr(err, MS_EFORMAT, "%s: empty file, not an npy file", what);
    if (memcmp(buf, NPY_MAGIC, m) != 0)
        return ms_seterr(err, MS_EFORMAT, "%s: not an npy file (bad magic)", what);
    if (len < 8)
        return ms_seterr(err, MS_ETRUNC, "%s: truncated npy header", what);
    unsigned major = buf[6], minor = buf[7];
    if (minor != 0 || major < 1 || major > 3)
        return ms_seterr(err, MS_EUNSUPP, "%s: npy format version %u.%u is not supported "
                         "(1.0, 2.0, 3.0 are)", what, major, minor);
    *prefix = major == 1 ? 10 : 12;
    *utf8 = major == 3;
    if (len < *prefix)
        return ms_seterr(err, MS_ETRUNC, "%s: truncated npy header", what);
    if (major == 1)
        *hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    else
        *hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
                (size_t)buf[11] << 24;
    if (*hlen > MS__NPY_MAX_HEADER)
        return ms_seterr(err, MS_ELIMIT, "%s: npy header of %zu bytes is too long", what, *hlen);
    return MS_OK;
}

int ms_npy_parse_header(const unsigned char *buf, size_t len, ms_array *a,
                        int *fortran, int *big_endian, size_t *data_offset,
                        const ms_limits *lim, const char *what, ms_err *err)
{
    size_t prefix, hlen, nbytes;
    int utf8, rc, f = 0, be = 0;
    ms_array tmp;

    if (!what)
        what = "npy";
    memset(&tmp, 0, sizeof tmp);
    if ((rc = parse_preamble(buf, len, &prefix, &hlen, &utf8, what, err)) < 0)
        return rc;
    if (len - prefix < hlen)
        return ms_seterr(err, MS_ETRUNC, "%s: truncated npy header", what);
    const char *text = (const char *)buf + prefix;
    for (size_t i = 0; i < hlen; i++)
        if (text[i] == '\0' || ((unsigned char)text[i] >= 128 && !utf8))
            return ms_seterr(err, MS_EFORMAT, "%s: npy header: invalid byte", what);
    hparser h = {text, text + hlen, what, err};
    if ((rc = parse_dict(&h, &tmp, &f, &be)) < 0)
        return rc;
    if ((rc = ms_shape_bytes(tmp.dtype, tmp.ndim, tmp.shape, lim, &nbytes, what, err)) < 0)
        return rc;
    *a = tmp;
    if (fortran)
        *fortran = f;
    if (big_endian)
        *big_endian = be;
    if (data_offset)
        *data_offset = prefix + hlen;
    return MS_OK;
}

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
    if (isz > 1 && big_endian != host_big_endian())
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
    if ((rc = parse_preamble(pre, have, &prefix, &textlen, &utf8, what, err)) < 0)
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
    char order = ms_dtype_size(t) == 1 ? '|' : host_big_endian() ? '>' : '<';
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
