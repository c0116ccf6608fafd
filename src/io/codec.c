/* Deflate / gzip through libdeflate or zlib (see codec.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#if HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "codec.h"

/* ------------------------------------------------------------ selection */

static int use_libdeflate(void)
{
#if HAVE_LIBDEFLATE
    static atomic_int mode = -1;   /* -1 unknown, 0 zlib, 1 libdeflate */
    int m = atomic_load(&mode);
    if (m < 0) {
        const char *e = getenv("MEDSAM_DEFLATE");
        m = !(e && strcmp(e, "zlib") == 0);
        atomic_store(&mode, m);
    }
    return m;
#else
    return 0;
#endif
}

const char *ms__codec_name(void)
{
    return use_libdeflate() ? "libdeflate" : "zlib";
}

uint32_t ms__crc32(uint32_t crc, const void *p, size_t n)
{
    if (n == 0)   /* zlib and libdeflate return the initial value for NULL */
        return crc;
#if HAVE_LIBDEFLATE
    if (use_libdeflate())
        return libdeflate_crc32(crc, p, n);
#endif
    const unsigned char *b = p;
    while (n) {   /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
}

/* ------------------------------------------------------------ deflate */

static int write_all(FILE *f, const void *p, size_t n, const char *what, ms_err *err)
{
    if (n && fwrite(p, 1, n, f) != n)
        return ms_seterr(err, MS_EIO, "%s: write failed: %s", what, strerror(errno));
    return MS_OK;
}

#if HAVE_LIBDEFLATE
/* A stored (uncompressed) deflate block holding hdr: 3 header bits
 * (BFINAL, BTYPE = 00) padded to a byte, LEN, ~LEN, the bytes.  It ends on a
 * byte boundary, so the compressed data can follow as further blocks. */
static int write_stored_block(FILE *f, const void *hdr, size_t hlen, int final,
                              const char *what, ms_err *err)
{
    unsigned char b[5] = {final ? 1 : 0, (unsigned char)(hlen & 0xff),
                          (unsigned char)(hlen >> 8), (unsigned char)(~hlen & 0xff),
                          (unsigned char)((~hlen >> 8) & 0xff)};
    int rc = write_all(f, b, sizeof b, what, err);
    return rc < 0 ? rc : write_all(f, hdr, hlen, what, err);
}

static int deflate_libdeflate(FILE *f, const void *hdr, size_t hlen, const void *data, size_t n,
                              int level, void *scratch, size_t scratch_len, uint64_t *csize,
                              const char *what, ms_err *err)
{
    struct libdeflate_compressor *c = NULL;
    unsigned char *out = NULL;
    size_t bound, m;
    int rc;

    unsigned char *joined = NULL;

    /* Small members: header and data compressed together (the npy header
     * is ~10 % of a tiny array).  Large ones: the header goes first as a
     * stored block, so the array is compressed in place, not copied. */
    if (n <= (1u << 22)) {
        joined = malloc(hlen + n + 1);
        if (!joined)
            return ms_seterr(err, MS_ENOMEM, "%s: out of memory", what);
        memcpy(joined, hdr, hlen);
        if (n)
            memcpy(joined + hlen, data, n);
        data = joined;
        n += hlen;
        hlen = 0;
    }
    if (hlen || n == 0) {
        if ((rc = write_stored_block(f, hdr, hlen, n == 0, what, err)) < 0)
            goto done;
        *csize += 5 + hlen;
    }
    rc = MS_OK;
    if (n == 0)
        goto done;
    c = libdeflate_alloc_compressor(level > 12 ? 12 : level);
    if (!c) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory (deflate)", what);
        goto done;
    }
    bound = libdeflate_deflate_compress_bound(c, n);
    /* The caller's scratch (pages touched already) when it can hold the
     * stream: libdeflate writes the same bytes into any buffer and returns
     * 0 only when they do not fit, which a buffer of the bound never does.
     * A scratch of at least half the input is tried; a stream that does
     * not fit it after all is compressed a second time, into fresh pages. */
    m = 0;
    if (scratch && scratch_len >= n / 2)
        m = libdeflate_deflate_compress(c, data, n, scratch, scratch_len);
    if (m) {
        if ((rc = write_all(f, scratch, m, what, err)) < 0)
            goto done;
    } else {
        /* Pages of `out` are only touched as far as the stream goes. */
        out = ms__malloc_big(bound);
        if (!out) {
            rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory (%zu bytes for the compressed data)",
                           what, bound);
            goto done;
        }
        m = libdeflate_deflate_compress(c, data, n, out, bound);
        if (m == 0) {
            rc = ms_seterr(err, MS_EIO, "%s: deflate failed", what);
            goto done;
        }
        if ((rc = write_all(f, out, m, what, err)) < 0)
            goto done;
    }
    *csize += m;
    rc = MS_OK;
done:
    free(out);
    free(joined);
    if (c)
        libdeflate_free_compressor(c);
    return rc;
}
#endif

static int deflate_zlib(FILE *f, const void *hdr, size_t hlen, const void *data, size_t n,
                        int level, uint64_t *csize, const char *what, ms_err *err)
{
    enum { OUTSZ = 1 << 18 };
    z_stream s;
    unsigned char *out = malloc(OUTSZ);
    int rc = MS_OK, zr;
    const unsigned char *src[2] = {hdr, data};
    size_t len[2] = {hlen, n};

    if (!out)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", what);
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, level > 9 ? 9 : level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return ms_seterr(err, MS_ENOMEM, "%s: deflateInit failed", what);
    }
    for (int part = 0; part < 2; part++) {
        const unsigned char *p = src[part];
        size_t left = len[part];
        do {
            uInt k = left > (1u << 30) ? (1u << 30) : (uInt)left;
            int flush = (part == 1 && k == left) ? Z_FINISH : Z_NO_FLUSH;
            s.next_in = (Bytef *)p;
            s.avail_in = k;
            do {
                s.next_out = out;
                s.avail_out = OUTSZ;
                zr = deflate(&s, flush);
                if (zr == Z_STREAM_ERROR) {
                    rc = ms_seterr(err, MS_EIO, "%s: deflate failed", what);
                    goto done;
                }
                size_t have = OUTSZ - s.avail_out;
                if ((rc = write_all(f, out, have, what, err)) < 0)
                    goto done;
                *csize += have;
            } while (s.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
            p += k;
            left -= k;
        } while (left);
    }
done:
    deflateEnd(&s);
    free(out);
    return rc;
}

int ms__deflate_to_file_scratch(FILE *f, const void *hdr, size_t hlen, const void *data, size_t n,
                                int level, void *scratch, size_t scratch_len, uint64_t *csize,
                                const char *what, ms_err *err)
{
    *csize = 0;
    if (hlen > 65535 || level < 1)
        return ms_seterr(err, MS_EINVAL, "%s: bad deflate arguments", what);
#if HAVE_LIBDEFLATE
    if (use_libdeflate())
        return deflate_libdeflate(f, hdr, hlen, data, n, level, scratch, scratch_len, csize, what,
                                  err);
#endif
    (void)scratch, (void)scratch_len;
    return deflate_zlib(f, hdr, hlen, data, n, level, csize, what, err);
}

int ms__deflate_to_file(FILE *f, const void *hdr, size_t hlen, const void *data, size_t n,
                        int level, uint64_t *csize, const char *what, ms_err *err)
{
    return ms__deflate_to_file_scratch(f, hdr, hlen, data, n, level, NULL, 0, csize, what, err);
}

/* ------------------------------------------------------------ inflate */

int ms__codec_whole_buffer(void)
{
    return use_libdeflate();
}

int ms__inflate_raw(const void *in, size_t inlen, void *out, size_t outlen, const char *what,
                    ms_err *err)
{
#if HAVE_LIBDEFLATE
    if (use_libdeflate()) {
        struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
        if (!d)
            return ms_seterr(err, MS_ENOMEM, "%s: out of memory", what);
        enum libdeflate_result r = libdeflate_deflate_decompress(d, in, inlen, out, outlen, NULL);
        libdeflate_free_decompressor(d);
        switch (r) {
        case LIBDEFLATE_SUCCESS: return MS_OK;
        case LIBDEFLATE_SHORT_OUTPUT:
            return ms_seterr(err, MS_EFORMAT, "%s: member data shorter than its declared size", what);
        case LIBDEFLATE_INSUFFICIENT_SPACE:
            return ms_seterr(err, MS_EFORMAT, "%s: member data longer than its declared size", what);
        default:
            return ms_seterr(err, MS_EFORMAT, "%s: corrupt deflate data", what);
        }
    }
#endif
    (void)in, (void)inlen, (void)out, (void)outlen;
    return ms_seterr(err, MS_EUNSUPP, "%s: whole-buffer inflate needs libdeflate", what);
}

/* ------------------------------------------------------------ gunzip */

/* Large buffers on transparent huge pages where the system allows it
 * ("madvise" mode, Debian's default): one fault per 2 MiB instead of 512.
 * The advice covers every page of the block, up to its usable end: for the
 * mmap()ed blocks glibc gives these sizes that is the whole mapping, which
 * stays one VMA.  Advising only the pages inside [p, p + n) would split it
 * in three, and realloc() could then no longer mremap() it: it would copy
 * the whole buffer into fresh pages instead. */
static void advise_huge(void *p, size_t n)
{
    if (p && n >= (8u << 20)) {
#ifdef __GLIBC__
        size_t u = malloc_usable_size(p);
        n = u > n ? u : n;
#endif
        uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
        uintptr_t e = ((uintptr_t)p + n + 4095) & ~(uintptr_t)4095;
        madvise((void *)a, e - a, MADV_HUGEPAGE);
    }
}

/* (glibc serves these sizes with fresh mmap()s: no page is touched yet.) */
void *ms__malloc_big(size_t n)
{
    void *p = malloc(n);
    advise_huge(p, n);
    return p;
}

void *ms__calloc_big(size_t n)
{
    void *p = calloc(1, n);
    advise_huge(p, n);
    return p;
}

/* Streaming through zlib: any size, any number of members; exact errors. */
static int gunzip_zlib(const char *path, uint64_t skip, unsigned char *dst, size_t n,
                       ms_err *err)
{
    enum { INSZ = 1 << 18, SKIPSZ = 1 << 16 };
    z_stream s;
    FILE *f = NULL;
    unsigned char *in = malloc(INSZ), *scratch = malloc(SKIPSZ);
    uint64_t got = 0, need = skip + n;
    int rc = MS_OK, zr = Z_OK, eof = 0;

    memset(&s, 0, sizeof s);
    if (!in || !scratch || inflateInit2(&s, 16 + 15) != Z_OK) {
        free(in);
        free(scratch);
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    }
    f = fopen(path, "rb");
    if (!f) {
        rc = ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    while (got < need) {
        if (s.avail_in == 0) {
            if (eof)
                break;
            size_t k = fread(in, 1, INSZ, f);
            if (ferror(f)) {
                rc = ms_seterr(err, MS_EIO, "%s: read error", path);
                goto done;
            }
            if (k == 0) {
                eof = 1;
                break;
            }
            s.next_in = in;
            s.avail_in = (uInt)k;
        }
        if (zr == Z_STREAM_END) {   /* another gzip member follows */
            if (inflateReset(&s) != Z_OK)
                break;
        }
        if (got < skip) {
            uint64_t k = skip - got;
            s.next_out = scratch;
            s.avail_out = (uInt)(k > SKIPSZ ? SKIPSZ : k);
        } else {
            uint64_t k = need - got;
            s.next_out = dst + (got - skip);
            s.avail_out = (uInt)(k > (1u << 30) ? (1u << 30) : k);
        }
        uInt before = s.avail_out;
        zr = inflate(&s, Z_NO_FLUSH);
        got += before - s.avail_out;
        if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR) {
            rc = ms_seterr(err, MS_EFORMAT, "%s: corrupt gzip stream (%s)", path,
                           s.msg ? s.msg : "bad data");
            goto done;
        }
        if (zr == Z_MEM_ERROR) {
            rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    if (got < need)
        rc = ms_seterr(err, MS_ETRUNC, "%s: truncated: the gzip stream ends after %llu of %llu bytes",
                       path, (unsigned long long)got, (unsigned long long)need);
done:
    if (f)
        fclose(f);
    inflateEnd(&s);
    free(in);
    free(scratch);
    return rc;
}

#if HAVE_LIBDEFLATE
/* Whole file mapped, whole output at once (libdeflate has no streaming).
 * Returns 1 when it could not decide (odd file, more data than needed, any
 * error): the caller then takes the zlib path, which gives the exact error. */
static int gunzip_libdeflate(const char *path, unsigned char *buf, size_t total)
{
    struct stat st;
    struct libdeflate_decompressor *d = NULL;
    void *map = MAP_FAILED;
    size_t in_pos = 0, out_pos = 0, insz;
    int fd = open(path, O_RDONLY | O_CLOEXEC), ok = 0;

    if (fd < 0)
        return 1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 18 ||
        (uint64_t)st.st_size > SIZE_MAX)
        goto done;
    insz = (size_t)st.st_size;
    map = mmap(NULL, insz, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        goto done;
    madvise(map, insz, MADV_SEQUENTIAL);
    d = libdeflate_alloc_decompressor();
    if (!d)
        goto done;
    while (out_pos < total && in_pos < insz) {
        size_t ain = 0, aout = 0;
        enum libdeflate_result r = libdeflate_gzip_decompress_ex(
            d, (const unsigned char *)map + in_pos, insz - in_pos, buf + out_pos,
            total - out_pos, &ain, &aout);
        if (r != LIBDEFLATE_SUCCESS || ain == 0)
            goto done;
        in_pos += ain;
        out_pos += aout;
    }
    ok = out_pos == total;
done:
    if (d)
        libdeflate_free_decompressor(d);
    if (map != MAP_FAILED)
        munmap(map, (size_t)st.st_size);
    close(fd);
    return ok ? 0 : 1;
}
#endif

/* reuse (or a fresh buffer) grown to n bytes; NULL (reuse freed) if out of memory. */
static unsigned char *big_buffer(void *reuse, size_t n)
{
    if (!reuse)
        return ms__malloc_big(n);
    unsigned char *p = realloc(reuse, n);
    if (!p) {
        free(reuse);
        return NULL;
    }
    advise_huge(p, n);
    return p;
}

int ms__gunzip_file_reuse(const char *path, uint64_t skip, size_t n, void *reuse, void **out,
                          size_t *at, ms_err *err)
{
    unsigned char *buf = NULL;
    int rc;

    *out = NULL;
    if (at)
        *at = 0;
    if (n > SIZE_MAX - 1 || skip > SIZE_MAX - 1 - n) {
        free(reuse);
        return ms_seterr(err, MS_ELIMIT, "%s: too large", path);
    }
#if HAVE_LIBDEFLATE
    /* libdeflate needs room for the skipped bytes too; a header of up to
     * 1 MiB is moved down afterwards, a bigger one goes through zlib. */
    if (use_libdeflate() && skip <= (1u << 20)) {
        buf = big_buffer(reuse, (size_t)skip + n + 1);
        reuse = NULL;
        if (!buf)
            return ms_seterr(err, MS_ENOMEM, "%s: out of memory (%zu bytes)", path, n);
        if (gunzip_libdeflate(path, buf, (size_t)skip + n) == 0) {
            if (at && skip % 16 == 0)   /* the voxels stay aligned */
                *at = (size_t)skip;
            else
                memmove(buf, buf + skip, n);
            *out = buf;
            return MS_OK;
        }
        /* the zlib path below gives the exact error; buf is big enough */
    }
#endif
    if (!buf && !(buf = big_buffer(reuse, n + 1)))
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory (%zu bytes)", path, n);
    if ((rc = gunzip_zlib(path, skip, buf, n, err)) < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    return MS_OK;
}

int ms__gunzip_file(const char *path, uint64_t skip, size_t n, void **out, ms_err *err)
{
    return ms__gunzip_file_reuse(path, skip, n, NULL, out, NULL, err);
}
