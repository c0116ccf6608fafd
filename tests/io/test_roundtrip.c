/* Write every dtype through ms_npy_write / ms_npz_write and read it back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ms_npy.h"
#include "ms_npz.h"
#include "npz_priv.h"
#include "codec.h"
#include <zlib.h>
#include "ms_test.h"
#include "io_test_util.h"

static void fill(ms_array *a, unsigned seed)
{
    unsigned char *p = a->data;
    size_t n = ms_array_nbytes(a);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
    if (a->dtype == MS_BOOL)
        for (size_t i = 0; i < n; i++)
            p[i] &= 1;
    if (a->dtype == MS_F32 || a->dtype == MS_F64) /* avoid NaN payload questions: exact ints */
        for (size_t i = 0; i < ms_array_nelem(a); i++) {
            if (a->dtype == MS_F32)
                ((float *)a->data)[i] = (float)((int)(i * 7919u % 2001u) - 1000) / 8.0f;
            else
                ((double *)a->data)[i] = (double)((int)(i * 7919u % 2001u) - 1000) / 3.0;
        }
}

static int same(const ms_array *a, const ms_array *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    size_t n = ms_array_nbytes(a);
    return n == 0 || memcmp(a->data, b->data, n) == 0;
}

/* The streaming writer gives the same bytes as ms_npy_write; a wrong
 * amount of data is refused and leaves no file. */
static void check_stream_writer(const char *dir)
{
    char p1[512], p2[512];
    size_t shape[3] = {4, 5, 3}, l1 = 0, l2 = 0;
    ms_array a;
    ms_err err;
    ms_npy_writer w;

    CHECK_EQ_INT(ms_array_alloc(&a, MS_F64, 3, shape, NULL, &err), MS_OK);
    io_test_fill(&a);
    snprintf(p1, sizeof p1, "%s/whole.npy", dir);
    snprintf(p2, sizeof p2, "%s/stream.npy", dir);
    CHECKF(ms_npy_write(p1, &a, &err) == MS_OK, "%s", err.msg);
    CHECKF(ms_npy_writer_open(&w, p2, MS_F64, 3, shape, &err) == MS_OK, "%s", err.msg);
    for (size_t z = 0; z < 4; z++) /* one slice at a time */
        CHECK_EQ_INT(ms_npy_writer_put(&w, (double *)a.data + z * 15, 15 * sizeof(double), &err),
                     MS_OK);
    CHECK_EQ_INT(ms_npy_writer_put(&w, a.data, 1, &err), MS_EINVAL); /* one byte too many */
    CHECK_EQ_INT(ms_npy_writer_commit(&w, &err), MS_OK);
    unsigned char *b1 = io_test_slurp(p1, &l1), *b2 = io_test_slurp(p2, &l2);
    CHECK(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0);
    free(b1);
    free(b2);

    snprintf(p2, sizeof p2, "%s/short.npy", dir);
    CHECK_EQ_INT(ms_npy_writer_open(&w, p2, MS_F64, 3, shape, &err), MS_OK);
    CHECK_EQ_INT(ms_npy_writer_put(&w, a.data, 8, &err), MS_OK);
    CHECK_EQ_INT(ms_npy_writer_commit(&w, &err), MS_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "short.npy");
    ms_npy_writer_abort(&w); /* harmless after a failed commit */
    CHECK(access(p2, F_OK) != 0);
    ms_array_free(&a);
}

/* Two writes of the same arrays give identical archives (fixed dates). */
static void check_npz_reproducible(const char *dir)
{
    char p1[512], p2[512];
    size_t shape[2] = {7, 9}, l1 = 0, l2 = 0;
    ms_array a;
    ms_err err;

    CHECK_EQ_INT(ms_array_alloc(&a, MS_I16, 2, shape, NULL, &err), MS_OK);
    io_test_fill(&a);
    ms_npz_entry e[1] = {{"imgs", &a, 0}};
    snprintf(p1, sizeof p1, "%s/r1.npz", dir);
    snprintf(p2, sizeof p2, "%s/r2.npz", dir);
    CHECKF(ms_npz_write(p1, e, 1, 6, &err) == MS_OK, "%s", err.msg);
    CHECKF(ms_npz_write(p2, e, 1, 6, &err) == MS_OK, "%s", err.msg);
    unsigned char *b1 = io_test_slurp(p1, &l1), *b2 = io_test_slurp(p2, &l2);
    CHECK(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0);
    free(b1);
    free(b2);
    /* duplicate names are refused, and nothing is left behind */
    ms_npz_entry dup[2] = {{"x", &a, 0}, {"x", &a, 0}};
    snprintf(p1, sizeof p1, "%s/dup.npz", dir);
    CHECK_EQ_INT(ms_npz_write(p1, dup, 2, 6, &err), MS_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "dup.npz");
    CHECK(access(p1, F_OK) != 0);
    ms_array_free(&a);
}

static void check_errors(void)
{
    ms_err err;
    const char *seen[16];
    int n = 0;
    for (int c = MS_OK; c >= MS_EUNSAFE; c--) {
        const char *s = ms_strerror(c);
        CHECK(s && *s);
        for (int i = 0; i < n; i++)
            CHECK(strcmp(seen[i], s) != 0);
        seen[n++] = s;
    }
    CHECK(ms_strerror(-1000) != NULL);
    CHECK_EQ_INT(ms_seterr(&err, MS_ETRUNC, "%s: line\nbreak %d", "f.npy", 3), MS_ETRUNC);
    CHECK_EQ_INT(err.code, MS_ETRUNC);
    CHECK(strcmp(err.msg, "f.npy: line break 3") == 0);
    CHECK_EQ_INT(ms_seterr(NULL, MS_EIO, "x"), MS_EIO);
    ms_err_clear(&err);
    CHECK(err.code == MS_OK && err.msg[0] == 0);
    /* overflow-safe sizes */
    size_t nb, huge[3] = {(size_t)1 << 40, (size_t)1 << 40, (size_t)1 << 40};
    ms_limits nolim = {UINT64_MAX};
    CHECK_EQ_INT(ms_shape_bytes(MS_F64, 3, huge, &nolim, &nb, "h", &err), MS_ELIMIT);
    CHECK_STR_CONTAINS(err.msg, "(1099511627776, 1099511627776, 1099511627776)");
    size_t ok[2] = {1000, 1000};
    CHECK_EQ_INT(ms_shape_bytes(MS_I32, 2, ok, NULL, &nb, "h", &err), MS_OK);
    CHECK_EQ_INT(nb, 4000000);
    ms_limits small = {3999999};
    CHECK_EQ_INT(ms_shape_bytes(MS_I32, 2, ok, &small, &nb, "h", &err), MS_ELIMIT);
    CHECK_EQ_INT(ms_shape_bytes(MS_DTYPE_COUNT, 2, ok, NULL, &nb, "h", &err), MS_EINVAL);
    CHECK(ms_dtype_name(MS_DTYPE_COUNT) == NULL && ms_dtype_size(MS_DTYPE_COUNT) == 0);
}

static const size_t shapes[][4] = {{0}, {5}, {3, 4}, {2, 3, 4}, {0, 3}, {1, 1, 7}};
static const int ndims[] = {0, 1, 2, 3, 2, 3};

/* A 5.2 MB array (runs, a ramp and noise; big enough for the libdeflate path
 * that puts the npy header in a stored block of its own) at several deflate
 * levels, with and without forced zip64 records: it must read back identical. */
static void check_levels_and_zip64(const char *dir)
{
    const size_t shape[2] = {2600, 2000};
    ms_array a, b;
    ms_err err;
    char path[512];
    CHECK_EQ_INT(ms_array_alloc(&a, MS_U8, 2, shape, NULL, &err), MS_OK);
    unsigned char *p = a.data;
    unsigned x = 12345;
    for (size_t i = 0; i < 2600 * 2000; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = i % 2000 < 700 ? 0 : i % 2000 < 1400 ? (unsigned char)(i % 251) : (unsigned char)(x >> 24);
    }
    for (int force = 0; force <= 1; force++)
        for (int li = 0; li < 5; li++) {
            const int level = (int[]){0, 1, 6, 9, 12}[li];
            ms_npz_entry e[2] = {{"imgs", &a, 0}, {"gts", &a, 0}};
            snprintf(path, sizeof path, "%s/lv_%d_%d.npz", dir, level, force);
            CHECKF(ms__npz_write_flags(path, e, 2, level, force, &err) == MS_OK, "%s", err.msg);
            CHECKF(ms_npz_load(path, "gts", &b, NULL, &err) == MS_OK, "level %d zip64 %d: %s",
                   level, force, err.msg);
            CHECKF(same(&a, &b), "level %d zip64 %d", level, force);
            ms_array_free(&b);
        }
    ms_array_free(&a);
}

/* Label members through the run-length encoder: runs of every length around
 * the 3 / 258 / 258+1..2 boundaries, all 256 byte values, speckle, an all-zero
 * array, a one-byte one, an empty one, and noise (not label-like: the general
 * compressor takes over).  Each must read back identical, through both
 * inflaters (libdeflate whole-member and libzip's zlib stream when
 * MEDSAM_DEFLATE=zlib). */
static void check_labels(const char *dir)
{
    const size_t sizes[] = {0, 1, 3, 258, 259, 260, 261, 517, 100000, 3000000};
    char path[512];
    ms_err err;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
        for (int kind = 0; kind < 4; kind++) {
            ms_array a, b;
            size_t n = sizes[si];
            CHECK_EQ_INT(ms_array_alloc(&a, MS_U8, 1, &n, NULL, &err), MS_OK);
            unsigned char *p = a.data;
            unsigned x = (unsigned)(si * 77 + kind);
            for (size_t i = 0; i < n;) {
                x = x * 1103515245u + 12345u;
                size_t run = kind == 0 ? n : kind == 1 ? 1 + (x >> 16) % 600 : kind == 2 ? 1 + (x >> 16) % 5 : 1;
                unsigned v = kind == 1 ? (x >> 8) % 256 : kind == 2 ? (x >> 8) % 3 : (x >> 24);
                for (size_t k = 0; k < run && i < n; k++)
                    p[i++] = kind == 0 ? 0 : (unsigned char)v;
            }
            for (int li = 0; li < 3; li++) {
                const int level = (int[]){1, 3, 6}[li];
                ms_npz_entry e[2] = {{"gts", &a, 1}, {"imgs", &a, 0}};
                snprintf(path, sizeof path, "%s/lab_%zu_%d_%d.npz", dir, si, kind, level);
                CHECKF(ms_npz_write(path, e, 2, level, &err) == MS_OK, "%s", err.msg);
                for (int k = 0; k < 2; k++) {
                    CHECKF(ms_npz_load(path, k ? "imgs" : "gts", &b, NULL, &err) == MS_OK,
                           "labels n %zu kind %d level %d: %s", n, kind, level, err.msg);
                    CHECKF(same(&a, &b), "labels n %zu kind %d level %d member %d", n, kind,
                           level, k);
                    ms_array_free(&b);
                }
            }
            ms_array_free(&a);
        }
}

/* The run-length encoder itself, decoded by zlib (an independent inflater):
 * exact round trips for zeros and for runs of several values, a tiny stream
 * for zeros, and 0 ("does not fit") for noise and for speckle when the room
 * given is a quarter of the input.  Kind 4 (runs of 80) has more runs than
 * the first pass records: the second pass scans the data again. */
static void check_rle_direct(void)
{
    enum { N = 1 << 20 };
    static unsigned char in[N], back[N + 64], out[N / 4 + 4096];
    const unsigned char hdr[5] = {'h', 'e', 'a', 'd', '\n'};
    for (int kind = 0; kind < 5; kind++) {
        unsigned x = 99u + (unsigned)kind;
        for (size_t i = 0; i < N; i++) {
            x = x * 1103515245u + 12345u;
            in[i] = kind == 0 ? 0
                  : kind == 1 ? (unsigned char)((i / 300) % 7)
                  : kind == 2 ? (unsigned char)(x >> 24)
                  : kind == 3 ? (unsigned char)((x >> 24) & 3)
                              : (unsigned char)((i / 80) % 2 * 5);
        }
        size_t m = ms__deflate_rle(hdr, sizeof hdr, in, N, out, sizeof out);
        if (kind == 2 || kind == 3) {
            CHECKF(m == 0, "kind %d: %zu bytes, expected a refusal", kind, m);
            continue;
        }
        CHECKF(m > 0 && m < (kind == 0 ? 2000u : N / 32u), "kind %d: %zu bytes", kind, m);
        z_stream z;
        memset(&z, 0, sizeof z);
        CHECK(inflateInit2(&z, -15) == Z_OK);
        z.next_in = out;
        z.avail_in = (uInt)m;
        z.next_out = back;
        z.avail_out = sizeof back;
        CHECKF(inflate(&z, Z_FINISH) == Z_STREAM_END, "kind %d: %s", kind, z.msg ? z.msg : "");
        CHECK_EQ_INT(z.total_out, N + sizeof hdr);
        CHECK(memcmp(back, hdr, sizeof hdr) == 0 && memcmp(back + sizeof hdr, in, N) == 0);
        inflateEnd(&z);
    }
}

int main(void)
{
    char dir[256], path[512];
    ms_err err;
    io_test_tmpdir(dir, sizeof dir);

    for (int t = 0; t < MS_DTYPE_COUNT; t++) {
        for (size_t s = 0; s < sizeof ndims / sizeof *ndims; s++) {
            ms_array a, b;
            ms_err_clear(&err);
            CHECK_EQ_INT(ms_array_alloc(&a, (ms_dtype)t, ndims[s], shapes[s], NULL, &err), MS_OK);
            if (ms_array_nelem(&a))
                fill(&a, (unsigned)(t * 31 + s));
            snprintf(path, sizeof path, "%s/a_%d_%zu.npy", dir, t, s);
            CHECKF(ms_npy_write(path, &a, &err) == MS_OK, "%s", err.msg);
            CHECKF(ms_npy_read(path, &b, NULL, &err) == MS_OK, "%s", err.msg);
            CHECKF(same(&a, &b), "npy dtype %s shape #%zu", ms_dtype_name((ms_dtype)t), s);
            ms_array_free(&b);

            for (int level = -1; level <= 9; level += 7) {
                ms_npz_entry e[2] = {{"first", &a, 0}, {"x", &a, 0}};
                snprintf(path, sizeof path, "%s/a_%d_%zu_%d.npz", dir, t, s, level);
                CHECKF(ms_npz_write(path, e, 2, level, &err) == MS_OK, "%s", err.msg);
                ms_npz *z = NULL;
                CHECKF(ms_npz_open(path, &z, NULL, &err) == MS_OK, "%s", err.msg);
                if (z) {
                    CHECK_EQ_INT(ms_npz_count(z), 2);
                    CHECK(ms_npz_has(z, "first") && ms_npz_has(z, "x") && !ms_npz_has(z, "y"));
                    CHECKF(ms_npz_read(z, "x", &b, &err) == MS_OK, "%s", err.msg);
                    CHECKF(same(&a, &b), "npz dtype %s shape #%zu level %d",
                           ms_dtype_name((ms_dtype)t), s, level);
                    ms_array_free(&b);
                    CHECK_EQ_INT(ms_npz_read(z, "nope", &b, &err), MS_ENOTFOUND);
                    CHECK_STR_CONTAINS(err.msg, path);
                    ms_npz_close(&z);
                    CHECK(z == NULL);
                }
            }
            ms_array_free(&a);
        }
    }
    {   /* the switch the _zlib variants of the tests rely on */
        const char *e = getenv("MEDSAM_DEFLATE");
        if (e && strcmp(e, "zlib") == 0)
            CHECKF(strcmp(ms_npz_codec(), "zlib") == 0, "codec %s", ms_npz_codec());
        printf("deflate codec: %s\n", ms_npz_codec());
    }
    check_levels_and_zip64(dir);
    check_labels(dir);
    check_rle_direct();
    check_stream_writer(dir);
    check_npz_reproducible(dir);
    check_errors();
    io_test_rmtree(dir);
    TEST_END();
}
