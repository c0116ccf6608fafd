/* The npy header: magic, version, length and the Python dict literal
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * Everything in it is hostile: exact keys, no repeats, integers checked for
 * overflow, the data size checked against the caller's limit. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ms_npy.h"
#include "npy_priv.h"

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
            *big_endian = order == '>' || (order == '=' && ms__host_big_endian()) ||
                          (order == '|' && ms__host_big_endian());
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
int ms__npy_preamble(const unsigned char *buf, size_t len, size_t *prefix, size_t *hlen,
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
    if ((rc = ms__npy_preamble(buf, len, &prefix, &hlen, &utf8, what, err)) < 0)
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
