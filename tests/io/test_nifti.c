/* NIfTI reader/writer: the reference cases against facts computed by
 * tests/data/img/gen_nifti.py (gzip + struct in Python), synthetic files whose
 * voxel formulas are recomputed here, a write/read round trip and the
 * bad-input corpus. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ms_nifti.h"
#include "ms_npz.h"
#include "ms_test.h"
#include "img_stderr.h"

static const char *data_dir;

static void path_of(char *buf, size_t n, const char *sub, const char *name)
{
    snprintf(buf, n, "%s/%s/%s", data_dir, sub, name);
}

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static double elem(const ms_array *a, size_t i)
{
    switch (a->dtype) {
    case MS_U8: return ((const uint8_t *)a->data)[i];
    case MS_I8: return ((const int8_t *)a->data)[i];
    case MS_U16: return ((const uint16_t *)a->data)[i];
    case MS_I16: return ((const int16_t *)a->data)[i];
    case MS_U32: return ((const uint32_t *)a->data)[i];
    case MS_I32: return ((const int32_t *)a->data)[i];
    case MS_F32: return ((const float *)a->data)[i];
    case MS_F64: return ((const double *)a->data)[i];
    default: return NAN;
    }
}

static void test_facts(void)
{
    char path[1024], line[512];
    path_of(path, sizeof path, "img", "nifti_facts.txt");
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "%s", path);
    if (!f)
        return;
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128];
        int nx, ny, nz, dt;
        double p1, p2, p3, slope, mn, mx;
        unsigned long long hash;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%127s %d %d %d %d %lf %lf %lf %lf %llx %lf %lf", name, &nx, &ny, &nz,
                   &dt, &p1, &p2, &p3, &slope, &hash, &mn, &mx) != 12) {
            CHECKF(0, "bad facts line: %s", line);
            continue;
        }
        cases++;
        path_of(path, sizeof path, "img", name);
        ms_volume v, pk;
        ms_err err = { 0 };
        int rc = ms_nifti_read(path, &v, NULL, &err);
        CHECKF(rc == MS_OK, "%s: %s", name, err.msg);
        if (rc != MS_OK)
            continue;
        CHECK_EQ_INT(v.a.ndim, 3);
        CHECK_EQ_INT(v.a.shape[0], nz);
        CHECK_EQ_INT(v.a.shape[1], ny);
        CHECK_EQ_INT(v.a.shape[2], nx);
        CHECK_EQ_INT(v.a.dtype, dt == 4 ? MS_I16 : dt == 2 ? MS_U8 : -1);
        CHECK_EQ_INT(v.stored_dtype, v.a.dtype);
        CHECK_EQ_INT(v.nifti_version, 1);
        CHECK_NEAR(v.spacing[0], p1, 1e-6);
        CHECK_NEAR(v.spacing[1], p2, 1e-6);
        CHECK_NEAR(v.spacing[2], p3, 1e-6);
        CHECK_NEAR(v.scl_slope, slope, 0);
        unsigned long long h = fnv1a64(v.a.data, ms_array_nbytes(&v.a));
        CHECKF(h == hash, "%s: hash %016llx, expected %016llx", name, h, hash);
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < ms_array_nelem(&v.a); i++) {
            double e = elem(&v.a, i);
            lo = e < lo ? e : lo;
            hi = e > hi ? e : hi;
        }
        CHECK_NEAR(lo, mn, 0);
        CHECK_NEAR(hi, mx, 0);

        rc = ms_nifti_peek(path, &pk, NULL, &err);
        CHECKF(rc == MS_OK, "%s", err.msg);
        CHECK(pk.a.data == NULL);
        CHECK_EQ_INT(pk.a.dtype, v.a.dtype);
        CHECK(!memcmp(pk.a.shape, v.a.shape, sizeof v.a.shape));

        /* A limit below the volume's size refuses it before reading. */
        ms_limits lim = { .max_bytes = ms_array_nbytes(&v.a) - 1 };
        ms_volume w;
        rc = ms_nifti_read(path, &w, &lim, &err);
        CHECK_EQ_INT(rc, MS_ELIMIT);
        CHECK(w.a.data == NULL);
        ms_volume_free(&v);
    }
    fclose(f);
    CHECK_EQ_INT(cases, 4);
}

/* Read name, check shape (z, y, x) and dtype; returns MS_OK with v filled. */
static int read_case(const char *name, ms_volume *v, size_t nz, size_t ny, size_t nx, ms_dtype t)
{
    char path[1024];
    ms_err err = { 0 };
    path_of(path, sizeof path, "img", name);
    int rc = ms_nifti_read(path, v, NULL, &err);
    CHECKF(rc == MS_OK, "%s: %s", name, err.msg);
    if (rc != MS_OK)
        return rc;
    CHECK_EQ_INT(v->a.ndim, 3);
    CHECK_EQ_INT(v->a.shape[0], nz);
    CHECK_EQ_INT(v->a.shape[1], ny);
    CHECK_EQ_INT(v->a.shape[2], nx);
    CHECKF(v->a.dtype == t, "%s: dtype %d, expected %d", name, (int)v->a.dtype, (int)t);
    if (v->a.dtype != t || v->a.shape[0] != nz || v->a.shape[1] != ny || v->a.shape[2] != nx) {
        ms_volume_free(v);
        return -1;
    }
    return MS_OK;
}

#define FOR_XYZ(nz, ny, nx) \
    for (size_t z = 0, i = 0; z < (nz); z++) for (size_t y = 0; y < (ny); y++) \
        for (size_t x = 0; x < (nx); x++, i++)

static void test_synthetic(void)
{
    ms_volume v;
    int bad;

    /* int16 scaled by slope 2, inter -1024 -> float32 */
    if (read_case("scaled_i16.nii.gz", &v, 3, 4, 5, MS_F32) == MS_OK) {
        bad = 0;
        FOR_XYZ(3, 4, 5) {
            double stored = (double)((x * 7 + y * 131 + z * 1009) % 4000) - 2000;
            bad += ((float *)v.a.data)[i] != (float)(stored * 2 - 1024);
        }
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(v.stored_dtype, MS_I16);
        CHECK_NEAR(v.scl_slope, 2, 0);
        CHECK_NEAR(v.scl_inter, -1024, 0);
        CHECK_NEAR(v.spacing[0], 0.5, 0);
        CHECK_NEAR(v.spacing[1], 0.75, 0);
        CHECK_NEAR(v.spacing[2], 2.5, 0);
        CHECK_EQ_INT(v.qform_code, 1);
        CHECK_EQ_INT(v.sform_code, 1);
        CHECK_NEAR(v.quatern[2], 1, 0);
        CHECK_NEAR(v.quatern[3], 10, 0);
        CHECK_NEAR(v.srow[1][1], -0.75, 0);
        CHECK_NEAR(v.srow[2][3], 30, 0);
        ms_volume_free(&v);
    }
    /* int32 scaled: cast to float first, as ITK does (numpy:
     * float32(float64(float32(v)) * 3 + 0.5)); direct double arithmetic would
     * give 50331652 and -50331656 for the first two */
    if (read_case("scaled_i32.nii", &v, 1, 1, 4, MS_F32) == MS_OK) {
        static const float want[4] = { 50331648.0f, -50331660.0f, 370370368.0f, 21.5f };
        for (int i = 0; i < 4; i++)
            CHECK_NEAR(((float *)v.a.data)[i], want[i], 0);
        ms_volume_free(&v);
    }
    /* NaN and infinities read as 0, as nifti_clib gives them to ITK */
    if (read_case("nonfinite_f32.nii", &v, 1, 1, 4, MS_F32) == MS_OK) {
        static const float want[4] = { 1.5f, 0.0f, 0.0f, 0.0f };
        for (int i = 0; i < 4; i++)
            CHECK_NEAR(((float *)v.a.data)[i], want[i], 0);
        ms_volume_free(&v);
    }
    /* NIfTI-2, int32 */
    if (read_case("n2_i32.nii", &v, 4, 5, 6, MS_I32) == MS_OK) {
        bad = 0;
        FOR_XYZ(4, 5, 6)
            bad += ((int32_t *)v.a.data)[i] != (int32_t)(x + 10 * y + 100 * z) - 500;
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(v.nifti_version, 2);
        CHECK_NEAR(v.spacing[0], 1.5, 0);
        CHECK_NEAR(v.spacing[1], 1.25, 0);
        CHECK_NEAR(v.spacing[2], 4.0, 0);
        ms_volume_free(&v);
    }
    /* NIfTI-2 float32 with (slope, inter) = (1, 0): not scaled */
    if (read_case("n2_f32.nii.gz", &v, 2, 3, 4, MS_F32) == MS_OK) {
        bad = 0;
        FOR_XYZ(2, 3, 4)
            bad += ((float *)v.a.data)[i] != (float)(x * 0.5 - (double)y + z * 0.25);
        CHECK_EQ_INT(bad, 0);
        ms_volume_free(&v);
    }
    /* big-endian uint16 */
    if (read_case("be_u16.nii", &v, 2, 3, 7, MS_U16) == MS_OK) {
        bad = 0;
        FOR_XYZ(2, 3, 7)
            bad += ((uint16_t *)v.a.data)[i] != x * 1000 + y * 100 + z;
        CHECK_EQ_INT(bad, 0);
        ms_volume_free(&v);
    }
    /* the same, gzipped as three members with padding after them */
    if (read_case("be_u16_members.nii.gz", &v, 2, 3, 7, MS_U16) == MS_OK) {
        bad = 0;
        FOR_XYZ(2, 3, 7)
            bad += ((uint16_t *)v.a.data)[i] != x * 1000 + y * 100 + z;
        CHECK_EQ_INT(bad, 0);
        ms_volume_free(&v);
    }
    /* 2D uint8 -> (1, y, x) */
    if (read_case("slice2d_u8.nii", &v, 1, 8, 9, MS_U8) == MS_OK) {
        bad = 0;
        FOR_XYZ(1, 8, 9)
            bad += ((uint8_t *)v.a.data)[i] != (x + 3 * y) % 256;
        CHECK_EQ_INT(bad, 0);
        CHECK_NEAR(v.spacing[0], 0.8f, 0);
        CHECK_NEAR(v.spacing[1], 0.9f, 0);
        CHECK_NEAR(v.spacing[2], 1.0, 0);
        ms_volume_free(&v);
    }
    /* dim[0] = 4 with dim[4] = 1 is a 3D volume */
    if (read_case("dim4_f64.nii.gz", &v, 3, 3, 3, MS_F64) == MS_OK) {
        bad = 0;
        FOR_XYZ(3, 3, 3)
            bad += ((double *)v.a.data)[i] != (double)x - (double)y * (double)z / 3.0;
        CHECK_EQ_INT(bad, 0);
        ms_volume_free(&v);
    }
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

static void round_trip(const char *dir, const char *name, ms_dtype t, const ms_volume *like)
{
    char path[1024];
    size_t shape[3] = { 3, 5, 7 };
    double sp[3] = { 0.8, 0.7, 2.5 };
    ms_array a;
    ms_err err = { 0 };
    ms_volume v;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_EQ_INT(ms_array_alloc(&a, t, 3, shape, NULL, &err), MS_OK);
    for (size_t i = 0; i < ms_array_nelem(&a); i++) {
        if (t == MS_U8)
            ((uint8_t *)a.data)[i] = (uint8_t)(i * 37);
        else if (t == MS_I16)
            ((int16_t *)a.data)[i] = (int16_t)((int)(i * 997) - 30000);
        else
            ((float *)a.data)[i] = (float)i * 0.37f - 11.0f;
    }
    int rc = ms_nifti_write(path, &a, sp, like, &err);
    CHECKF(rc == MS_OK, "%s: %s", name, err.msg);
    rc = ms_nifti_read(path, &v, NULL, &err);
    CHECKF(rc == MS_OK, "%s: %s", name, err.msg);
    if (rc == MS_OK) {
        CHECK_EQ_INT(v.a.dtype, t);
        CHECK(!memcmp(v.a.shape, a.shape, sizeof a.shape));
        CHECK(!memcmp(v.a.data, a.data, ms_array_nbytes(&a)));
        for (int i = 0; i < 3; i++)
            CHECK_NEAR(v.spacing[i], sp[i], 1e-6);
        if (like) {
            CHECK_EQ_INT(v.qform_code, like->qform_code);
            CHECK_NEAR(v.quatern[3], like->quatern[3], 0);
            CHECK_NEAR(v.srow[2][3], like->srow[2][3], 0);
        } else {
            /* SimpleITK's geometry: RAS diag(-sx, -sy, sz), qform = sform = 1 */
            CHECK_EQ_INT(v.qform_code, 1);
            CHECK_EQ_INT(v.sform_code, 1);
            CHECK_NEAR(v.quatern[2], 1, 0);
            CHECK_NEAR(v.srow[0][0], -0.8, 1e-6);
            CHECK_NEAR(v.srow[1][1], -0.7, 1e-6);
            CHECK_NEAR(v.srow[2][2], 2.5, 1e-6);
        }
        ms_volume_free(&v);
    }
    ms_array_free(&a);
}

static void test_write(void)
{
    char dir[1024], path[1200];
    const char *root = getenv("MS_BUILD_ROOT");
    snprintf(dir, sizeof dir, "%s/test_nifti.XXXXXX", root ? root : "/tmp");
    CHECK(mkdtemp(dir) != NULL);

    round_trip(dir, "u8.nii", MS_U8, NULL);
    round_trip(dir, "i16.nii.gz", MS_I16, NULL);
    round_trip(dir, "f32.nii", MS_F32, NULL);
    /* overwrite an existing output, copying the geometry of another volume */
    ms_volume like;
    if (read_case("scaled_i16.nii.gz", &like, 3, 4, 5, MS_F32) == MS_OK) {
        round_trip(dir, "f32.nii", MS_F32, &like);
        round_trip(dir, "u8.nii.gz", MS_U8, &like);
        ms_volume_free(&like);
    }
    CHECK(no_temp_left(dir));

    /* refused arguments */
    ms_array a;
    ms_err err = { 0 };
    size_t shape[3] = { 2, 2, 2 };
    double sp[3] = { 1, 1, 1 };
    ms_array_alloc(&a, MS_I32, 3, shape, NULL, &err);
    snprintf(path, sizeof path, "%s/i32.nii", dir);
    CHECK_EQ_INT(ms_nifti_write(path, &a, sp, NULL, &err), MS_EUNSUPP);
    CHECK_STR_CONTAINS(err.msg, "i32.nii");
    ms_array_free(&a);
    ms_array_alloc(&a, MS_U8, 3, shape, NULL, &err);
    snprintf(path, sizeof path, "%s/u8.img", dir);
    CHECK_EQ_INT(ms_nifti_write(path, &a, sp, NULL, &err), MS_EINVAL);
    snprintf(path, sizeof path, "%s/nodir/u8.nii", dir);
    CHECK_EQ_INT(ms_nifti_write(path, &a, sp, NULL, &err), MS_EIO);
    CHECK_STR_CONTAINS(err.msg, "nodir/u8.nii");
    ms_array_free(&a);
    CHECK(no_temp_left(dir));

    /* clean up */
    const char *names[] = { "u8.nii", "i16.nii.gz", "f32.nii", "u8.nii.gz" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void test_bad(void)
{
    static const struct { const char *name; int code; const char *what; } cases[] = {
        { "nifti_negative_dim.nii", MS_EFORMAT, "dim[2]" },
        { "nifti_zero_dim0.nii", MS_EFORMAT, "dim[0]" },
        { "nifti_huge_dims.nii.gz", MS_ELIMIT, "limit" },
        { "nifti2_huge_dims.nii", MS_ELIMIT, "limit" },
        { "nifti_complex64.nii", MS_EUNSUPP, "datatype 32" },
        { "nifti_rgb24.nii.gz", MS_EUNSUPP, "datatype 128" },
        { "nifti_real_4d.nii", MS_EUNSUPP, "4D" },
        { "nifti_bad_magic.nii", MS_EFORMAT, "magic" },
        { "nifti_pair_header.nii", MS_EUNSUPP, ".hdr/.img" },
        { "nifti_bad_vox_offset.nii", MS_EFORMAT, "vox_offset" },
        { "nifti_short_header.nii", MS_ETRUNC, "header" },
        { "nifti_truncated_data.nii", MS_ETRUNC, "truncated" },
        { "nifti_truncated.nii.gz", MS_ETRUNC, "truncated" },
        { "nifti_corrupt.nii.gz", MS_EFORMAT, "corrupt gzip" },
        { "nifti_gz_named_nii.nii", MS_EUNSUPP, "gzip" },
        { "does_not_exist.nii.gz", MS_EIO, "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[1024];
        ms_volume v;
        ms_err err = { 0 };
        path_of(path, sizeof path, "bad", cases[i].name);
        int rc = ms_nifti_read(path, &v, NULL, &err);
        CHECKF(rc == cases[i].code, "%s: rc %d (%s), expected %d", cases[i].name, rc, err.msg,
               cases[i].code);
        CHECK_EQ_INT(err.code, rc);
        CHECK(v.a.data == NULL);
        CHECK_STR_CONTAINS(err.msg, cases[i].name);
        CHECK_STR_CONTAINS(err.msg, cases[i].what);
        if (rc != MS_ETRUNC && rc != MS_EIO && strstr(cases[i].name, "corrupt") == NULL) {
            /* the header alone decides these */
            rc = ms_nifti_peek(path, &v, NULL, &err);
            CHECKF(rc == cases[i].code, "peek %s: rc %d", cases[i].name, rc);
        }
    }
    /* a name that is not .nii / .nii.gz */
    char path[1024];
    ms_volume v;
    ms_err err = { 0 };
    path_of(path, sizeof path, "img", "nifti_facts.txt");
    CHECK_EQ_INT(ms_nifti_read(path, &v, NULL, &err), MS_EUNSUPP);
}

/* ms_nifti_read_into: the same volume as ms_nifti_read whatever buffer it
 * is given (none, smaller, larger, filled with garbage), and the buffer is
 * taken over on failure too (the ASan build checks for leaks). */
static void test_read_into(void)
{
    static const char *names[] = {"scaled_i16.nii.gz", "scaled_i32.nii", "n2_f32.nii.gz",
                                  "be_u16.nii", "be_u16_members.nii.gz", "dim4_f64.nii.gz"};
    static const size_t sizes[] = {0, 1, 7, 100000};
    int left_in_front = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[1024];
        ms_volume want, got;
        ms_err err = { 0 };
        path_of(path, sizeof path, "img", names[i]);
        int rc = ms_nifti_read(path, &want, NULL, &err);
        CHECKF(rc == MS_OK, "%s: %s", names[i], err.msg);
        if (rc)
            continue;
        size_t nb = ms_array_nbytes(&want.a);
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            void *buf = sizes[k] ? malloc(sizes[k]) : NULL;
            if (buf)
                memset(buf, 0x5a, sizes[k]);
            size_t at = 12345, *atp = k & 1 ? &at : NULL;   /* with and without */
            rc = ms_nifti_read_into(path, &got, NULL, buf, atp, &err);
            CHECKF(rc == MS_OK, "%s into %zu bytes: %s", names[i], sizes[k], err.msg);
            if (rc)
                continue;
            if (!atp)
                at = 0;
            else if (strstr(names[i], ".gz") && got.a.dtype == got.stored_dtype)
                left_in_front += at > 0;   /* the header (352 or 544 bytes) */
            else
                CHECK_EQ_INT(at, 0);
            CHECK_EQ_INT(at % 16, 0);
            CHECK_EQ_INT(got.a.dtype, want.a.dtype);
            CHECKF(memcmp(got.a.shape, want.a.shape, sizeof got.a.shape) == 0 &&
                       memcmp((char *)got.a.data + at, want.a.data, nb) == 0,
                   "%s into %zu bytes: other voxels", names[i], sizes[k]);
            CHECK_NEAR(got.spacing[2], want.spacing[2], 0);
            ms_volume_free(&got);
        }
        ms_volume_free(&want);
    }
    /* libdeflate inflates the header too and leaves it there; zlib skips it */
    CHECK_EQ_INT(left_in_front > 0, strcmp(ms_npz_codec(), "libdeflate") == 0);
    const char *bad[] = {"nifti_truncated.nii.gz", "nifti_corrupt.nii.gz", "nifti_truncated_data.nii",
                         "nifti_bad_magic.nii"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[1024];
        ms_volume v;
        ms_err err = { 0 };
        path_of(path, sizeof path, "bad", bad[i]);
        size_t at = 7;
        int rc = ms_nifti_read_into(path, &v, NULL, malloc(64), i & 1 ? &at : NULL, &err);
        CHECKF(rc < 0, "%s: read_into succeeded", bad[i]);
        CHECK_STR_CONTAINS(err.msg, bad[i]);
        CHECK(v.a.data == NULL);
    }
}

int main(void)
{
    data_dir = getenv("MS_TEST_DATA");
    if (!data_dir) {
        fprintf(stderr, "MS_TEST_DATA is not set\n");
        return 1;
    }
    /* the capture itself works */
    capture_begin();
    fputs("x", stderr);
    CHECK(!strcmp(capture_end(), "x"));

    capture_begin();
    test_facts();
    test_synthetic();
    test_read_into();
    test_write();
    test_bad();
    const char *noise = capture_end();
    CHECKF(noise[0] == '\0', "the library wrote to stderr:\n%s", noise);
    TEST_END();
}
