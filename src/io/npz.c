/* numpy .npz archives through libzip.
 *
 * Reading streams one member at a time: the npy header is read first, its
 * data size checked against the limits and against the size the zip
 * directory declares, and only then is the destination allocated and filled
 * with zip_fread.  We never ask libzip for more than the declared size plus
 * one byte (to detect a member that inflates past its declared size).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "codec.h"
#include "ms_npy.h"
#include "ms_npz.h"
#include "npy_priv.h"

struct ms_npz {
    zip_t *za;
    char *path;
    ms_limits lim;
    int n;
    char **names;          /* array names: member names minus ".npy" */
    zip_uint64_t *index;   /* libzip index of each */
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int zip_code_to_ms(int ze)
{
    switch (ze) {
    case ZIP_ER_NOENT: return MS_ENOTFOUND;
    case ZIP_ER_MEMORY: return MS_ENOMEM;
    case ZIP_ER_OPEN: case ZIP_ER_READ: case ZIP_ER_SEEK: case ZIP_ER_WRITE:
    case ZIP_ER_CLOSE: case ZIP_ER_RENAME: case ZIP_ER_TMPOPEN: case ZIP_ER_REMOVE:
        return MS_EIO;
    case ZIP_ER_COMPNOTSUPP: case ZIP_ER_ENCRNOTSUPP: case ZIP_ER_NOPASSWD:
    case ZIP_ER_OPNOTSUPP:
        return MS_EUNSUPP;
    default: return MS_EFORMAT;
    }
}

static const char *ends_npy(const char *s)
{
    size_t n = strlen(s);
    return n >= 4 && strcmp(s + n - 4, ".npy") == 0 ? s + n - 4 : NULL;
}

/* Fill z->names / z->index from the open archive z->za. */
static int list_members(ms_npz *z, ms_err *err)
{
    zip_int64_t n = zip_get_num_entries(z->za, 0);

    if (n < 0 || n > 1000000)
        return ms_seterr(err, MS_EFORMAT, "%s: bad number of zip members", z->path);
    z->names = calloc((size_t)n + 1, sizeof *z->names);
    z->index = calloc((size_t)n + 1, sizeof *z->index);
    if (!z->names || !z->index)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", z->path);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *nm = zip_get_name(z->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!nm)
            return ms_seterr(err, MS_EFORMAT, "%s: unreadable member name (#%lld)", z->path,
                             (long long)i);
        char *s = dup_str(nm);
        if (!s)
            return ms_seterr(err, MS_ENOMEM, "%s: out of memory", z->path);
        char *ext = (char *)ends_npy(s);
        if (ext)
            *ext = '\0';
        z->names[z->n] = s;
        z->index[z->n] = (zip_uint64_t)i;
        z->n++;
    }
    return MS_OK;
}

static ms_npz *npz_new(const char *what, const ms_limits *lim)
{
    ms_npz *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    if (!(z->path = dup_str(what))) {
        free(z);
        return NULL;
    }
    if (lim)
        z->lim = *lim;
    return z;
}

static int open_error(const char *what, zip_error_t *e, ms_err *err)
{
    int ze = zip_error_code_zip(e);
    return ms_seterr(err, zip_code_to_ms(ze), "%s: %s", what,
                     ze == ZIP_ER_NOZIP ? "not an npz (zip) file" : zip_error_strerror(e));
}

int ms_npz_open(const char *path, ms_npz **out, const ms_limits *lim, ms_err *err)
{
    ms_npz *z;
    int ze = 0, rc;

    *out = NULL;
    if (!(z = npz_new(path, lim)))
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    z->za = zip_open(path, ZIP_RDONLY, &ze);
    if (!z->za) {
        zip_error_t e;
        zip_error_init_with_code(&e, ze);
        rc = open_error(path, &e, err);
        zip_error_fini(&e);
        goto fail;
    }
    if ((rc = list_members(z, err)) < 0)
        goto fail;
    *out = z;
    return MS_OK;
fail:
    ms_npz_close(&z);
    return rc;
}

int ms_npz_open_mem(const void *buf, size_t len, const char *what, ms_npz **out,
                    const ms_limits *lim, ms_err *err)
{
    ms_npz *z;
    zip_source_t *src = NULL;
    zip_error_t e;
    int rc;

    *out = NULL;
    if (!what)
        what = "npz";
    if (!(z = npz_new(what, lim)))
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", what);
    zip_error_init(&e);
    src = zip_source_buffer_create(len ? buf : "", len, 0, &e);
    if (!src) {
        rc = open_error(what, &e, err);
        goto fail;
    }
    z->za = zip_open_from_source(src, ZIP_RDONLY, &e);
    if (!z->za) {
        rc = open_error(what, &e, err);
        zip_source_free(src);
        goto fail;
    }
    if ((rc = list_members(z, err)) < 0)
        goto fail;
    zip_error_fini(&e);
    *out = z;
    return MS_OK;
fail:
    zip_error_fini(&e);
    ms_npz_close(&z);
    return rc;
}

void ms_npz_close(ms_npz **pz)
{
    ms_npz *z;
    if (!pz || !(z = *pz))
        return;
    if (z->za)
        zip_discard(z->za);
    if (z->names)
        for (int i = 0; i < z->n; i++)
            free(z->names[i]);
    free(z->names);
    free(z->index);
    free(z->path);
    free(z);
    *pz = NULL;
}

int ms_npz_count(const ms_npz *z)
{
    return z ? z->n : 0;
}

const char *ms_npz_name(const ms_npz *z, int i)
{
    if (!z || i < 0 || i >= z->n)
        return NULL;
    return z->names[i];
}

static int find(const ms_npz *z, const char *name)
{
    for (int i = 0; i < z->n; i++)
        if (strcmp(z->names[i], name) == 0)
            return i;
    return -1;
}

int ms_npz_has(const ms_npz *z, const char *name)
{
    return z && name && find(z, name) >= 0;
}

/* ------------------------------------------------------------ member reads */

typedef struct zread_ctx {
    zip_file_t *zf;
} zread_ctx;

static int64_t zip_reader_read(void *ctx, void *buf, size_t n)
{
    zread_ctx *c = ctx;
    size_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(c->zf, (char *)buf + got, n - got);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (int64_t)got;
}

static const char *zip_reader_strerror(void *ctx)
{
    return zip_file_strerror(((zread_ctx *)ctx)->zf);
}

/* Inflate and CRC failures mean a damaged file, not an I/O problem. */
static int zip_reader_errcode(void *ctx)
{
    return zip_code_to_ms(zip_error_code_zip(zip_file_get_error(((zread_ctx *)ctx)->zf)));
}

/* The data of a deflated member in one piece (libdeflate; 3-4x faster than
 * the zlib stream libzip reads through): the compressed bytes are read raw,
 * inflated whole into a buffer of the declared size, checked against the CRC,
 * and the npy data moved down over its header.  st->size was checked against
 * the limits by the caller and equals hlen + nbytes. */
static int read_data_whole(ms_npz *z, zip_uint64_t idx, const zip_stat_t *st, size_t hlen,
                           ms_array *out, int fortran, int be, const char *what, ms_err *err)
{
    unsigned char *cbuf = NULL, *buf = NULL;
    zip_file_t *zf = NULL;
    size_t usize = (size_t)st->size, csize = (size_t)st->comp_size;
    int rc;

    cbuf = ms__malloc_big(csize ? csize : 1);
    buf = ms__malloc_big(usize + 1);
    if (!cbuf || !buf) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: cannot allocate %zu bytes", what, usize + csize);
        goto fail;
    }
    zf = zip_fopen_index(z->za, idx, ZIP_FL_COMPRESSED);
    if (!zf) {
        rc = ms_seterr(err, zip_code_to_ms(zip_error_code_zip(zip_get_error(z->za))), "%s: %s",
                       what, zip_strerror(z->za));
        goto fail;
    }
    for (size_t got = 0; got < csize;) {
        zip_int64_t r = zip_fread(zf, cbuf + got, csize - got);
        if (r <= 0) {
            rc = r < 0 ? ms_seterr(err, zip_code_to_ms(zip_error_code_zip(zip_file_get_error(zf))),
                                   "%s: %s", what, zip_file_strerror(zf))
                       : ms_seterr(err, MS_ETRUNC, "%s: compressed data truncated (%zu of %zu bytes)",
                                   what, got, csize);
            goto fail;
        }
        got += (size_t)r;
    }
    zip_fclose(zf);
    zf = NULL;
    if ((rc = ms__inflate_raw(cbuf, csize, buf, usize, what, err)) < 0)
        goto fail;
    free(cbuf);
    cbuf = NULL;
    if ((st->valid & ZIP_STAT_CRC) && ms__crc32(0, buf, usize) != st->crc) {
        rc = ms_seterr(err, MS_EFORMAT, "%s: CRC error", what);
        goto fail;
    }
    memmove(buf, buf + hlen, usize - hlen);
    out->data = buf;
    buf = NULL;
    if ((rc = ms__npy_to_native(out, fortran, be, what, err)) < 0)
        goto fail;
    return MS_OK;
fail:
    if (zf)
        zip_fclose(zf);
    free(cbuf);
    free(buf);
    free(out->data);
    out->data = NULL;
    return rc;
}

/* Read (header only when data == 0) the i-th member into out. */
static int read_member(ms_npz *z, const char *name, ms_array *out, int data, ms_err *err)
{
    char what[400];
    zip_stat_t st;
    zread_ctx c = {NULL};
    ms__reader r = {zip_reader_read, &c, zip_reader_strerror, zip_reader_errcode};
    unsigned char *hdr = NULL;
    size_t hlen = 0, nbytes = 0;
    int fortran, be, rc, i;
    uint64_t max = z->lim.max_bytes ? z->lim.max_bytes : MS_DEFAULT_MAX_BYTES;

    memset(out, 0, sizeof *out);
    if (!name || (i = find(z, name)) < 0)
        return ms_seterr(err, MS_ENOTFOUND, "%s: no array '%s'", z->path, name ? name : "(null)");
    const char *member = zip_get_name(z->za, z->index[i], ZIP_FL_ENC_RAW);
    snprintf(what, sizeof what, "%s: member '%s'", z->path, member ? member : name);
    if (zip_stat_index(z->za, z->index[i], 0, &st) != 0)
        return ms_seterr(err, MS_EFORMAT, "%s: %s", what, zip_strerror(z->za));
    if (!(st.valid & ZIP_STAT_SIZE))
        return ms_seterr(err, MS_EFORMAT, "%s: unknown size", what);
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        return ms_seterr(err, MS_EUNSUPP, "%s: encrypted members are not supported", what);
    /* Declared size against the limit before inflating anything. */
    if (st.size > max + MS__NPY_MAX_HEADER + 12)
        return ms_seterr(err, MS_ELIMIT, "%s: declared size %llu bytes exceeds the limit of %llu",
                         what, (unsigned long long)st.size, (unsigned long long)max);
    c.zf = zip_fopen_index(z->za, z->index[i], 0);
    if (!c.zf)
        return ms_seterr(err, zip_code_to_ms(zip_error_code_zip(zip_get_error(z->za))),
                         "%s: %s", what, zip_strerror(z->za));
    rc = ms__npy_read_header(&r, &hdr, &hlen, out, &fortran, &be, &z->lim, what, err);
    if (rc < 0)
        goto fail;
    free(hdr);
    hdr = NULL;
    if (!data)
        goto done;
    ms_shape_bytes(out->dtype, out->ndim, out->shape, &z->lim, &nbytes, what, NULL);
    if (st.size != (zip_uint64_t)hlen + nbytes) {
        rc = ms_seterr(err, MS_EFORMAT, "%s: member size %llu does not match its npy header "
                       "(%zu header + %zu data bytes)", what, (unsigned long long)st.size,
                       hlen, nbytes);
        goto fail;
    }
    /* libdeflate: the whole member at once.  The compressed size is trusted
     * only up to what a deflate stream of the declared size can take. */
    if (ms__codec_whole_buffer() && nbytes && (st.valid & ZIP_STAT_COMP_METHOD) &&
        st.comp_method == ZIP_CM_DEFLATE && (st.valid & ZIP_STAT_COMP_SIZE) &&
        st.comp_size <= st.size + st.size / 8 + 65536) {
        zip_fclose(c.zf);
        c.zf = NULL;
        rc = read_data_whole(z, z->index[i], &st, hlen, out, fortran, be, what, err);
        if (rc < 0)
            goto fail;
        return MS_OK;
    }
    if ((rc = ms__npy_read_data(&r, out, fortran, be, &z->lim, what, err)) < 0)
        goto fail;
    /* Must be at the end now: one more byte means the member inflates past
     * its declared size; reading to the end also makes libzip check the CRC. */
    {
        unsigned char extra;
        zip_int64_t got = zip_fread(c.zf, &extra, 1);
        if (got != 0) {
            rc = ms_seterr(err, MS_EFORMAT, "%s: %s", what,
                           got > 0 ? "member data longer than its declared size"
                                   : zip_file_strerror(c.zf));
            goto fail;
        }
    }
done:
    zip_fclose(c.zf);
    return MS_OK;
fail:
    free(hdr);
    if (c.zf)
        zip_fclose(c.zf);
    ms_array_free(out);
    return rc;
}

int ms_npz_read(ms_npz *z, const char *name, ms_array *out, ms_err *err)
{
    return read_member(z, name, out, 1, err);
}

int ms_npz_peek(ms_npz *z, const char *name, ms_array *shape_only, ms_err *err)
{
    return read_member(z, name, shape_only, 0, err);
}

int ms_npz_load(const char *path, const char *name, ms_array *out,
                const ms_limits *lim, ms_err *err)
{
    ms_npz *z;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = ms_npz_open(path, &z, lim, err)) < 0)
        return rc;
    rc = ms_npz_read(z, name, out, err);
    ms_npz_close(&z);
    return rc;
}
