/* The npz writer: a minimal zip writer of our own (PKWARE APPNOTE 6.3).
 *
 * libzip can only deflate through zlib, a member at a time from a stream;
 * writing the zip ourselves lets the members be deflated by libdeflate from
 * the arrays in place (codec.c), which is 2-4x faster at the same level.
 *
 * Layout, sequential: for each member a local header, the raw deflate (or
 * stored) data; then the central directory and the end records.  The CRC and
 * uncompressed size are known before a member is written (one CRC pass over
 * the array); the compressed size is patched into the local header after the
 * data.  zip64 extra fields and end records are added only where a size or
 * offset needs them, as Python's zipfile and libzip expect.  Label members
 * (ms_npz_entry.labels) go through the run-length encoder of deflate_rle.c
 * when it compresses them well.  Every member is
 * dated 1980-01-01 00:00, as numpy's are (reproducible archives).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ms_npy.h"
#include "ms_npz.h"
#include "ms_outfile.h"
#include "npz_priv.h"

/* Label members use the run-length encoder up to this level (the default 6
 * included) when it compresses them at least RLE_MIN_RATIO : 1.  Measured
 * (bench/RESULTS.md): 5-10x faster than libdeflate on the masks of a CT, and
 * within -7 % .. +5 % of level 6's size at such ratios; on speckled labels
 * (k-means maps, ~10 : 1) it would be 15 % larger, so those fall back to the
 * general compressor. */
#define MS__NPZ_RLE_MAX_LEVEL 6
#define RLE_MIN_RATIO 32

#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_CENTRAL_SIG 0x02014b50u
#define ZIP_EOCD_SIG 0x06054b50u
#define ZIP64_EOCD_SIG 0x06064b50u
#define ZIP64_LOCATOR_SIG 0x07064b50u
#define DOS_DATE_1980 0x0021u       /* 1980-01-01; time 00:00 = 0 */
#define U32_MAX_FIELD 0xffffffffu
/* Members from this size on get zip64 fields: deflate can grow incompressible
 * data by ~0.1 %, so this keeps the compressed size below 4 GiB too. */
#define ZIP64_FROM ((uint64_t)0xf0000000u)

typedef struct member {
    char name[300];
    size_t namelen;
    uint64_t usize, csize, offset;
    uint32_t crc;
    int method;     /* 0 stored, 8 deflate */
    int zip64;      /* sizes in a zip64 extra field */
} member;

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t u32_or_max(uint64_t v, int big)
{
    return big || v >= U32_MAX_FIELD ? U32_MAX_FIELD : (uint32_t)v;
}

static int put_bytes(FILE *f, const void *p, size_t n, const char *path, ms_err *err)
{
    if (n && fwrite(p, 1, n, f) != n)
        return ms_seterr(err, MS_EIO, "%s: write failed: %s", path, strerror(errno));
    return MS_OK;
}

static unsigned name_flags(const member *m)
{
    for (size_t i = 0; i < m->namelen; i++)
        if ((unsigned char)m->name[i] >= 0x80)
            return 0x0800;   /* general purpose bit 11: the name is UTF-8 */
    return 0;
}

/* Local header; its compressed size is a placeholder until patch_local(). */
static int write_local(FILE *f, const member *m, const char *path, ms_err *err)
{
    unsigned char h[30 + 20];
    size_t xlen = m->zip64 ? 20 : 0;

    put32(h, ZIP_LOCAL_SIG);
    put16(h + 4, m->zip64 ? 45 : 20);
    put16(h + 6, name_flags(m));
    put16(h + 8, (unsigned)m->method);
    put16(h + 10, 0);
    put16(h + 12, DOS_DATE_1980);
    put32(h + 14, m->crc);
    put32(h + 18, m->zip64 ? U32_MAX_FIELD : 0);
    put32(h + 22, m->zip64 ? U32_MAX_FIELD : (uint32_t)m->usize);
    put16(h + 26, (unsigned)m->namelen);
    put16(h + 28, (unsigned)xlen);
    int rc = put_bytes(f, h, 30, path, err);
    if (rc < 0 || (rc = put_bytes(f, m->name, m->namelen, path, err)) < 0)
        return rc;
    if (m->zip64) {   /* the local zip64 field holds both sizes */
        put16(h, 0x0001);
        put16(h + 2, 16);
        put64(h + 4, m->usize);
        put64(h + 12, 0);
        rc = put_bytes(f, h, 20, path, err);
    }
    return rc;
}

static int patch_local(FILE *f, const member *m, const char *path, ms_err *err)
{
    unsigned char b[8];
    off_t at;
    size_t len;

    if (m->zip64) {
        at = (off_t)(m->offset + 30 + m->namelen + 4 + 8);
        put64(b, m->csize);
        len = 8;
    } else {
        if (m->csize >= U32_MAX_FIELD)
            return ms_seterr(err, MS_EIO, "%s: member '%s' compressed to 4 GiB or more", path,
                             m->name);
        at = (off_t)(m->offset + 18);
        put32(b, (uint32_t)m->csize);
        len = 4;
    }
    if (fseeko(f, at, SEEK_SET) != 0 || fwrite(b, 1, len, f) != len || fseeko(f, 0, SEEK_END) != 0)
        return ms_seterr(err, MS_EIO, "%s: write failed: %s", path, strerror(errno));
    return MS_OK;
}

static int write_central(FILE *f, const member *m, int force64, const char *path, ms_err *err)
{
    unsigned char h[46], x[28];
    int big_off = force64 || m->offset >= U32_MAX_FIELD;
    size_t xlen = 0;

    /* zip64 extra: only the fields whose 32-bit slot says 0xffffffff, in
     * the order uncompressed size, compressed size, offset. */
    if (m->zip64) {
        put64(x + 4 + xlen, m->usize);
        xlen += 8;
        put64(x + 4 + xlen, m->csize);
        xlen += 8;
    }
    if (big_off) {
        put64(x + 4 + xlen, m->offset);
        xlen += 8;
    }
    put16(x, 0x0001);
    put16(x + 2, (unsigned)xlen);

    put32(h, ZIP_CENTRAL_SIG);
    put16(h + 4, (3u << 8) | 45);            /* made by: Unix, spec 4.5 */
    put16(h + 6, (m->zip64 || big_off) ? 45 : 20);
    put16(h + 8, name_flags(m));
    put16(h + 10, (unsigned)m->method);
    put16(h + 12, 0);
    put16(h + 14, DOS_DATE_1980);
    put32(h + 16, m->crc);
    put32(h + 20, u32_or_max(m->csize, m->zip64));
    put32(h + 24, u32_or_max(m->usize, m->zip64));
    put16(h + 28, (unsigned)m->namelen);
    put16(h + 30, xlen ? (unsigned)xlen + 4 : 0);
    put16(h + 32, 0);
    put16(h + 34, 0);
    put16(h + 36, 0);
    put32(h + 38, 0100644u << 16);           /* a regular file, rw-r--r-- */
    put32(h + 42, u32_or_max(m->offset, big_off));
    int rc = put_bytes(f, h, sizeof h, path, err);
    if (rc < 0 || (rc = put_bytes(f, m->name, m->namelen, path, err)) < 0)
        return rc;
    return xlen ? put_bytes(f, x, xlen + 4, path, err) : MS_OK;
}

static int write_end(FILE *f, uint64_t count, uint64_t cd_off, uint64_t cd_size, int force64,
                     const char *path, ms_err *err)
{
    unsigned char b[56 + 20 + 22];
    size_t len = 0;
    int z64 = force64 || count >= 0xffff || cd_off >= U32_MAX_FIELD || cd_size >= U32_MAX_FIELD;

    if (z64) {
        uint64_t rec = cd_off + cd_size;   /* where the zip64 end record starts */
        put32(b, ZIP64_EOCD_SIG);
        put64(b + 4, 44);                  /* size of the rest of this record */
        put16(b + 12, (3u << 8) | 45);
        put16(b + 14, 45);
        put32(b + 16, 0);
        put32(b + 20, 0);
        put64(b + 24, count);
        put64(b + 32, count);
        put64(b + 40, cd_size);
        put64(b + 48, cd_off);
        put32(b + 56, ZIP64_LOCATOR_SIG);
        put32(b + 60, 0);
        put64(b + 64, rec);
        put32(b + 72, 1);
        len = 76;
    }
    put32(b + len, ZIP_EOCD_SIG);
    put16(b + len + 4, 0);
    put16(b + len + 6, 0);
    put16(b + len + 8, z64 && count >= 0xffff ? 0xffff : (unsigned)count);
    put16(b + len + 10, z64 && count >= 0xffff ? 0xffff : (unsigned)count);
    put32(b + len + 12, u32_or_max(cd_size, 0));
    put32(b + len + 16, u32_or_max(cd_off, force64));
    put16(b + len + 20, 0);
    return put_bytes(f, b, len + 22, path, err);
}

static int check_entries(const char *path, const ms_npz_entry *e,
                         const ms_npz_runs *const *runs, int n, ms_err *err)
{
    if (n < 0 || (n > 0 && !e))
        return ms_seterr(err, MS_EINVAL, "%s: invalid entry list", path);
    for (int i = 0; i < n; i++) {
        if (!e[i].name || !*e[i].name || strlen(e[i].name) > 250 || !e[i].array)
            return ms_seterr(err, MS_EINVAL, "%s: invalid array name", path);
        if (runs && runs[i] && (ms_dtype_size(e[i].array->dtype) != 1 || !runs[i]->next ||
                                !runs[i]->rewind))
            return ms_seterr(err, MS_EINVAL, "%s: array '%s': runs need a one-byte dtype and both "
                             "callbacks", path, e[i].name);
        for (int j = 0; j < i; j++)
            if (strcmp(e[i].name, e[j].name) == 0)
                return ms_seterr(err, MS_EINVAL, "%s: cannot add '%s.npy': two arrays of that name",
                                 path, e[i].name);
    }
    return MS_OK;
}

/* Caller's memory for temporary buffers (ms_npz_write_ex). */
typedef struct scratch {
    unsigned char *p;
    size_t len;
} scratch;

/* ------------------------------------------------------------ run sources */

enum { SPELL_CHUNK = 1 << 16 };

typedef int (*chunk_fn)(void *arg, const unsigned char *p, size_t n);

/* Spell the bytes of src's runs into buf[0..cap), calling fn (may be NULL)
 * on each full chunk and on the last one.  *total = the bytes the runs
 * cover (buf holds all of them only if *total <= cap).  Labels are mostly
 * zeros and short runs: the chunk is cleared at once and only the other
 * runs are written, short ones without a call. */
static int spell_runs(const ms_npz_runs *src, unsigned char *buf, size_t cap, chunk_fn fn,
                      void *arg, size_t *total)
{
    size_t have = 0, tot = 0, len;
    unsigned char v;
    int rc;
    src->rewind(src->ctx);
    int clear = 1;   /* the chunk is to be cleared before its first run */
    while ((len = src->next(src->ctx, &v))) {
        tot += len;
        while (len) {
            if (clear) {
                memset(buf, 0, cap);
                clear = 0;
            }
            size_t k = cap - have < len ? cap - have : len;
            if (v && k < 32) {
                for (size_t i = 0; i < k; i++)
                    buf[have + i] = v;
            } else if (v) {
                memset(buf + have, v, k);
            }
            have += k;
            len -= k;
            if (have == cap) {
                if (fn && (rc = fn(arg, buf, have)) < 0)
                    return rc;
                have = 0;
                clear = 1;
            }
        }
    }
    if (have && fn && (rc = fn(arg, buf, have)) < 0)
        return rc;
    *total = tot;
    return MS_OK;
}

static int crc_chunk(void *arg, const unsigned char *p, size_t n)
{
    uint32_t *crc = arg;
    *crc = ms__crc32(*crc, p, n);
    return MS_OK;
}

typedef struct file_sink {
    FILE *f;
    const char *path;
    ms_err *err;
} file_sink;

static int file_chunk(void *arg, const unsigned char *p, size_t n)
{
    file_sink *s = arg;
    return put_bytes(s->f, p, n, s->path, s->err);
}

static int runs_size_check(const char *path, const member *m, size_t total, size_t n, ms_err *err)
{
    if (total != n)
        return ms_seterr(err, MS_EINVAL, "%s: the runs of '%s' cover %zu bytes, the array %zu",
                         path, m->name, total, n);
    return MS_OK;
}

/* CRC of hdr + the run source's bytes (checked to be n). */
static int crc_runs(const ms_npz_runs *src, const unsigned char *hdr, size_t hlen, size_t n,
                    member *m, const char *path, ms_err *err)
{
    unsigned char *buf = malloc(SPELL_CHUNK);
    if (!buf)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    uint32_t crc = ms__crc32(0, hdr, hlen);
    size_t total = 0;
    int rc = spell_runs(src, buf, SPELL_CHUNK, crc_chunk, &crc, &total);
    free(buf);
    if (rc == MS_OK && (rc = runs_size_check(path, m, total, n, err)) == MS_OK)
        m->crc = crc;
    return rc;
}

/* The run source's bytes (n) written to f as they are (stored member). */
static int store_runs(FILE *f, const ms_npz_runs *src, size_t n, const member *m,
                      const char *path, ms_err *err)
{
    unsigned char *buf = malloc(SPELL_CHUNK);
    if (!buf)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    file_sink s = {f, path, err};
    size_t total = 0;
    int rc = spell_runs(src, buf, SPELL_CHUNK, file_chunk, &s, &total);
    free(buf);
    return rc < 0 ? rc : runs_size_check(path, m, total, n, err);
}

/* A label member through the run-length encoder, into memory first (the
 * scratch when it is big enough): it gives up past 1/RLE_MIN_RATIO of the
 * input (not label-like enough), and then returns 1 for the general
 * compressor to do the member; else MS_OK or an error.  data or runs. */
static int deflate_labels(FILE *f, const unsigned char *hdr, size_t hlen, const void *data,
                          const ms_npz_runs *runs, size_t n, const scratch *sc, uint64_t *csize,
                          const char *path, ms_err *err)
{
    size_t cap = hlen + n / RLE_MIN_RATIO + 64;
    unsigned char *out = sc->p && sc->len >= cap ? sc->p : ms__malloc_big(cap);
    if (!out)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    size_t m = runs ? ms__deflate_rle_runs(hdr, hlen, runs, n, out, cap)
                    : ms__deflate_rle(hdr, hlen, data, n, out, cap);
    int rc = m ? put_bytes(f, out, m, path, err) : 1;
    if (out != sc->p)
        free(out);
    if (rc == MS_OK)
        *csize = m;
    return rc;
}

/* A member through the general compressor; a run source is spelt into the
 * scratch (or a fresh buffer) first. */
static int deflate_general(FILE *f, const unsigned char *hdr, size_t hlen, const void *data,
                           const ms_npz_runs *runs, size_t n, int level, const scratch *sc,
                           uint64_t *csize, const member *m, const char *path, ms_err *err)
{
    unsigned char *tmp = NULL, *out = sc->p;
    size_t outlen = sc->len;
    int rc;
    if (runs) {
        size_t total = 0;
        unsigned char *buf = sc->p && sc->len >= n ? sc->p : NULL;
        if (buf) {
            out = sc->p + n;
            outlen = sc->len - n;
        } else if (!(buf = tmp = ms__malloc_big(n ? n : 1))) {
            return ms_seterr(err, MS_ENOMEM, "%s: out of memory (%zu bytes)", path, n);
        }
        if ((rc = spell_runs(runs, buf, n ? n : 1, NULL, NULL, &total)) < 0 ||
            (rc = runs_size_check(path, m, total, n, err)) < 0) {
            free(tmp);
            return rc;
        }
        data = buf;
    }
    rc = ms__deflate_to_file_scratch(f, hdr, hlen, data, n, level, outlen ? out : NULL, outlen,
                                     csize, path, err);
    free(tmp);
    return rc;
}

/* One member: local header, data, patched size. */
static int write_member(FILE *f, const ms_npz_entry *e, const ms_npz_runs *runs, int level,
                        int force64, const scratch *sc, member *m, const char *path, ms_err *err)
{
    unsigned char hdr[1024];
    size_t hlen, nbytes;
    ms_limits nolimit = {UINT64_MAX};
    const ms_array *a = e->array;
    off_t pos;
    int rc;

    memset(m, 0, sizeof *m);
    m->namelen = (size_t)snprintf(m->name, sizeof m->name, "%s.npy", e->name);
    if ((rc = ms_npy_header(a, hdr, sizeof hdr, &hlen, err)) < 0 ||
        (rc = ms_shape_bytes(a->dtype, a->ndim, a->shape, &nolimit, &nbytes, m->name, err)) < 0)
        return rc;
    if (nbytes && !a->data && !runs)
        return ms_seterr(err, MS_EINVAL, "%s: array '%s' has no data", path, e->name);
    if ((pos = ftello(f)) < 0)
        return ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
    m->offset = (uint64_t)pos;
    m->usize = (uint64_t)hlen + nbytes;
    m->method = level > 0 ? 8 : 0;
    m->zip64 = force64 || m->usize >= ZIP64_FROM;
    if (runs) {
        if ((rc = crc_runs(runs, hdr, hlen, nbytes, m, path, err)) < 0)
            return rc;
    } else {
        m->crc = ms__crc32(ms__crc32(0, hdr, hlen), a->data, nbytes);
    }
    if ((rc = write_local(f, m, path, err)) < 0)
        return rc;
    if (m->method == 0) {
        if ((rc = put_bytes(f, hdr, hlen, path, err)) < 0)
            return rc;
        rc = runs ? store_runs(f, runs, nbytes, m, path, err)
                     : put_bytes(f, a->data, nbytes, path, err);
        if (rc < 0)
            return rc;
        m->csize = m->usize;
    } else {
        rc = 1;
        if (e->labels && level <= MS__NPZ_RLE_MAX_LEVEL)
            rc = deflate_labels(f, hdr, hlen, a->data, runs, nbytes, sc, &m->csize, path, err);
        if (rc == 1)   /* not a label array, or not label-like after all */
            rc = deflate_general(f, hdr, hlen, a->data, runs, nbytes, level, sc, &m->csize, m,
                                 path, err);
        if (rc < 0)
            return rc;
    }
    return patch_local(f, m, path, err);
}

static int npz_write(const char *path, const ms_npz_entry *entries,
                     const ms_npz_runs *const *runs, int n, int level, int force64,
                     const scratch *sc, ms_err *err)
{
    ms_outfile o;
    member *m = NULL;
    off_t cd_off, cd_end;
    int rc;

    if ((rc = check_entries(path, entries, runs, n, err)) < 0)
        return rc;
    if (n && !(m = calloc((size_t)n, sizeof *m)))
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    if ((rc = ms_outfile_open(&o, path, err)) < 0) {
        free(m);
        return rc;
    }
    for (int i = 0; i < n; i++)
        if ((rc = write_member(o.f, &entries[i], runs ? runs[i] : NULL, level, force64, sc, &m[i],
                               path, err)) < 0)
            goto fail;
    if ((cd_off = ftello(o.f)) < 0) {
        rc = ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    for (int i = 0; i < n; i++)
        if ((rc = write_central(o.f, &m[i], force64, path, err)) < 0)
            goto fail;
    if ((cd_end = ftello(o.f)) < 0) {
        rc = ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if ((rc = write_end(o.f, (uint64_t)n, (uint64_t)cd_off, (uint64_t)(cd_end - cd_off), force64,
                        path, err)) < 0)
        goto fail;
    free(m);
    return ms_outfile_commit(&o, err);
fail:
    free(m);
    ms_outfile_abort(&o);
    return rc;
}

int ms__npz_write_flags(const char *path, const ms_npz_entry *entries, int n, int level,
                        int force64, ms_err *err)
{
    scratch none = {NULL, 0};
    return npz_write(path, entries, NULL, n, level, force64, &none, err);
}

int ms_npz_write(const char *path, const ms_npz_entry *entries, int n, int level, ms_err *err)
{
    return ms__npz_write_flags(path, entries, n, level, 0, err);
}

int ms_npz_write_ex(const char *path, const ms_npz_entry *entries, int n, int level,
                    const ms_npz_runs *const *runs, void *scratch_buf, size_t scratch_len,
                    ms_err *err)
{
    scratch sc = {scratch_buf, scratch_buf ? scratch_len : 0};
    return npz_write(path, entries, runs, n, level, 0, &sc, err);
}

const char *ms_npz_codec(void)
{
    return ms__codec_name();
}
