/* PNG/JPEG reader and PNG writer: every case of tests/data/img/image_cases.txt
 * against its expected .npy (source arrays or PIL's decoding, written by
 * gen_images.py), the retina photograph against a hash of PIL's pixels, a
 * PNG write/read round trip and the bad-input corpus. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ms_image.h"
#include "ms_npy.h"
#include "ms_test.h"
#include "img_stderr.h"

static const char *data_dir;

static void path_of(char *buf, size_t n, const char *sub, const char *name)
{
    snprintf(buf, n, "%s/%s/%s", data_dir, sub, name);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static int same_array(const ms_array *a, const ms_array *b)
{
    return a->dtype == b->dtype && a->ndim == b->ndim &&
           !memcmp(a->shape, b->shape, sizeof a->shape[0] * (size_t)a->ndim) &&
           !memcmp(a->data, b->data, ms_array_nbytes(a));
}

static int is_jpeg(const char *name)
{
    return strstr(name, ".jpg") != NULL;
}

/* One line of image_cases.txt: decode through the path and memory readers,
 * compare with the expected array and info, and check the limit. */
static void run_case(const char *name, const char *mode, const char *npy, int bits, int is_pal,
                     int pal_grey)
{
    char path[1024];
    ms_palette_mode pm = strcmp(mode, "rgb") ? MS_PALETTE_INDEX : MS_PALETTE_RGB;
    ms_array got, want, mem;
    ms_image_info info = { -1, -1, -1, -1 }, minfo;
    ms_err err = { 0 };

    path_of(path, sizeof path, "img", npy);
    int rc = ms_npy_read(path, &want, NULL, &err);
    CHECKF(rc == MS_OK, "%s: %s", npy, err.msg);
    path_of(path, sizeof path, "img", name);
    rc = ms_image_read(path, &got, pm, &info, NULL, &err);
    CHECKF(rc == MS_OK, "%s (%s): %s", name, mode, err.msg);
    if (rc == MS_OK && want.data) {
        CHECKF(same_array(&got, &want), "%s (%s): pixels differ from %s", name, mode, npy);
        CHECK_EQ_INT(info.bit_depth, bits);
        CHECK_EQ_INT(info.is_palette, is_pal);
        CHECK_EQ_INT(info.palette_grey, pal_grey);
        CHECK_EQ_INT(info.channels, want.ndim == 3 ? (int)want.shape[2] : 1);
    }
    /* the in-memory decoders give the same */
    size_t len = 0;
    unsigned char *buf = slurp(path, &len);
    CHECK(buf != NULL);
    if (buf) {
        rc = is_jpeg(name) ? ms_jpeg_read_mem(buf, len, &mem, &minfo, NULL, name, &err)
                           : ms_png_read_mem(buf, len, &mem, pm, &minfo, NULL, name, &err);
        CHECKF(rc == MS_OK, "%s (mem): %s", name, err.msg);
        if (rc == MS_OK && got.data)
            CHECK(same_array(&mem, &got));
        ms_array_free(&mem);
        free(buf);
    }
    /* a limit one byte below the image refuses it */
    if (got.data) {
        ms_limits lim = { .max_bytes = ms_array_nbytes(&got) - 1 };
        ms_array small;
        CHECK_EQ_INT(ms_image_read(path, &small, pm, NULL, &lim, &err), MS_ELIMIT);
        CHECK(small.data == NULL);
        CHECK_STR_CONTAINS(err.msg, name);
    }
    ms_array_free(&got);
    ms_array_free(&want);
}

/* Run the cases of image_cases.txt matching (only_name, only_mode), or all of
 * them when only_name is NULL; returns how many ran. */
static int test_cases(const char *only_name, const char *only_mode)
{
    char path[1024], line[512];
    path_of(path, sizeof path, "img", "image_cases.txt");
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "%s", path);
    if (!f)
        return 0;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char name[200], mode[16], npy[200];
        int bits, is_pal, pal_grey;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%199s %15s %199s %d %d %d", name, mode, npy, &bits, &is_pal, &pal_grey) != 6) {
            CHECKF(0, "bad line: %s", line);
            continue;
        }
        if (only_name && (strcmp(name, only_name) || strcmp(mode, only_mode)))
            continue;
        n++;
        run_case(name, mode, npy, bits, is_pal, pal_grey);
    }
    fclose(f);
    return n;
}

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void test_retina(void)
{
    char path[1024], name[128];
    unsigned long long hash;
    int hh, ww, cc;
    path_of(path, sizeof path, "img", "jpeg_facts.txt");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[256];
    int ok = 0;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%127s %d %d %d %llx", name, &hh, &ww, &cc, &hash) == 5)
            ok = 1;
    fclose(f);
    CHECK(ok);
    if (!ok)
        return;
    ms_array a;
    ms_image_info info;
    ms_err err = { 0 };
    path_of(path, sizeof path, "img", name);
    int rc = ms_image_read(path, &a, MS_PALETTE_INDEX, &info, NULL, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    if (rc != MS_OK)
        return;
    CHECK_EQ_INT(a.dtype, MS_U8);
    CHECK_EQ_INT(a.ndim, 3);
    CHECK_EQ_INT(a.shape[0], hh);
    CHECK_EQ_INT(a.shape[1], ww);
    CHECK_EQ_INT(a.shape[2], cc);
    unsigned long long h = fnv1a64(a.data, ms_array_nbytes(&a));
    CHECKF(h == hash, "retina pixels hash %016llx, PIL's %016llx", h, hash);
    ms_array_free(&a);
}

static int no_temp_left(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n == 0;
}

static void test_write(void)
{
    char dir[1024], path[1200];
    const char *root = getenv("MS_BUILD_ROOT");
    snprintf(dir, sizeof dir, "%s/test_image.XXXXXX", root ? root : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    static const size_t chans[] = { 1, 2, 3, 4 };
    for (size_t k = 0; k < 4; k++) {
        size_t shape[3] = { 19, 23, chans[k] };
        ms_array a, b;
        ms_image_info info;
        ms_err err = { 0 };
        int nd = chans[k] == 1 ? 2 : 3;
        CHECK_EQ_INT(ms_array_alloc(&a, MS_U8, nd, shape, NULL, &err), MS_OK);
        for (size_t i = 0; i < ms_array_nbytes(&a); i++)
            ((uint8_t *)a.data)[i] = (uint8_t)(i * 131 + k);
        snprintf(path, sizeof path, "%s/out%zu.png", dir, chans[k]);
        int rc = ms_png_write(path, &a, &err);
        CHECKF(rc == MS_OK, "%s", err.msg);
        rc = ms_png_write(path, &a, &err);     /* over an existing file */
        CHECKF(rc == MS_OK, "%s", err.msg);
        rc = ms_image_read(path, &b, MS_PALETTE_INDEX, &info, NULL, &err);
        CHECKF(rc == MS_OK, "%s", err.msg);
        if (rc == MS_OK) {
            CHECK(same_array(&a, &b));
            CHECK_EQ_INT(info.bit_depth, 8);
            CHECK_EQ_INT(info.channels, (int)chans[k]);
        }
        unlink(path);
        ms_array_free(&a);
        ms_array_free(&b);
    }
    /* refused: u16, 5 channels, a missing folder */
    ms_array a;
    ms_err err = { 0 };
    size_t s16[2] = { 4, 4 }, s5[3] = { 4, 4, 5 };
    ms_array_alloc(&a, MS_U16, 2, s16, NULL, &err);
    snprintf(path, sizeof path, "%s/u16.png", dir);
    CHECK_EQ_INT(ms_png_write(path, &a, &err), MS_EUNSUPP);
    CHECK_STR_CONTAINS(err.msg, "u16.png");
    ms_array_free(&a);
    ms_array_alloc(&a, MS_U8, 3, s5, NULL, &err);
    CHECK_EQ_INT(ms_png_write(path, &a, &err), MS_ESHAPE);
    ms_array_free(&a);
    ms_array_alloc(&a, MS_U8, 2, s16, NULL, &err);
    snprintf(path, sizeof path, "%s/missing/x.png", dir);
    CHECK_EQ_INT(ms_png_write(path, &a, &err), MS_EIO);
    CHECK_STR_CONTAINS(err.msg, "missing/x.png");
    ms_array_free(&a);
    CHECK(no_temp_left(dir));
    rmdir(dir);
}

static void test_bad(void)
{
    static const struct { const char *name; int code; const char *what; } cases[] = {
        { "png_truncated.png", MS_ETRUNC, "truncated" },
        { "png_bad_crc.png", MS_EFORMAT, "CRC" },
        { "png_huge_ihdr.png", MS_ELIMIT, "limit" },
        { "png_zero_width.png", MS_EFORMAT, "width" },
        { "png_bad_signature.png", MS_EFORMAT, "not a PNG or JPEG" },
        { "jpeg_truncated.jpg", MS_ETRUNC, "Premature end" },
        { "jpeg_huge_dims.jpg", MS_ELIMIT, "limit" },
        { "jpeg_bad_sof.jpg", MS_EFORMAT, "JPEG" },
        { "jpeg_skimage_truncated.jpg", MS_ETRUNC, "JPEG" },
        { "nifti_short_header.nii", MS_EFORMAT, "not a PNG or JPEG" },
        { "does_not_exist.png", MS_EIO, "No such file" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[1024];
        ms_array a;
        ms_err err = { 0 };
        path_of(path, sizeof path, "bad", cases[i].name);
        int rc = ms_image_read(path, &a, MS_PALETTE_RGB, NULL, NULL, &err);
        CHECKF(rc == cases[i].code, "%s: rc %d (%s), expected %d", cases[i].name, rc, err.msg,
               cases[i].code);
        CHECK_EQ_INT(err.code, rc);
        CHECK(a.data == NULL);
        CHECK_STR_CONTAINS(err.msg, cases[i].name);
        CHECK_STR_CONTAINS(err.msg, cases[i].what);
        CHECK(strchr(err.msg, '\n') == NULL);
        /* the same bytes through the in-memory decoders */
        size_t len = 0;
        unsigned char *buf = slurp(path, &len);
        if (buf) {
            rc = is_jpeg(cases[i].name)
                     ? ms_jpeg_read_mem(buf, len, &a, NULL, NULL, cases[i].name, &err)
                     : ms_png_read_mem(buf, len, &a, MS_PALETTE_RGB, NULL, NULL, cases[i].name, &err);
            CHECKF(rc < 0, "%s (mem) decoded", cases[i].name);
            CHECK(a.data == NULL);
            CHECK_STR_CONTAINS(err.msg, cases[i].name);
            free(buf);
        }
    }
}

/* No arguments: every case, the retina, the writer and the bad inputs.
 * "case NAME MODE": one line of image_cases.txt (meson registers one test per
 * line). */
int main(int argc, char **argv)
{
    data_dir = getenv("MS_TEST_DATA");
    if (!data_dir) {
        fprintf(stderr, "MS_TEST_DATA is not set\n");
        return 1;
    }
    if (argc == 4 && !strcmp(argv[1], "case")) {
        capture_begin();
        int n = test_cases(argv[2], argv[3]);
        const char *noise = capture_end();
        CHECKF(noise[0] == '\0', "the library wrote to stderr:\n%s", noise);
        CHECKF(n == 1, "%s %s: %d matching lines in image_cases.txt", argv[2], argv[3], n);
        TEST_END();
    }
    if (argc != 1) {
        fprintf(stderr, "usage: test_image [case NAME index|rgb]\n");
        return 2;
    }
    /* the capture itself works */
    capture_begin();
    fputs("x", stderr);
    CHECK(!strcmp(capture_end(), "x"));

    capture_begin();
    CHECK_EQ_INT(test_cases(NULL, NULL), 25);
    test_retina();
    test_write();
    test_bad();
    const char *noise = capture_end();
    CHECKF(noise[0] == '\0', "the library wrote to stderr:\n%s", noise);
    TEST_END();
}
