/* CT window / percentile normalisation against numpy (tests/data/prect/
 * gen_window.py): integer, float32 and float64 volumes, a scaled NIfTI,
 * slice subsets, and the constant / empty / NaN edge cases. */
#include "ms_test.h"
#include "ms_nifti.h"
#include "ms_npy.h"
#include "ms_window.h"

#include <stdint.h>

static const char *data_dir(void)
{
    const char *d = getenv("MS_TEST_DATA");
    return d ? d : "tests/data";
}

static int load(const char *name, ms_array *a)
{
    char path[4096];
    ms_err err;
    snprintf(path, sizeof path, "%s/prect/window/%s.npy", data_dir(), name);
    int rc = ms_npy_read(path, a, NULL, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    return rc;
}

static int run(const ms_array *img, int ct, double wl, double ww, const size_t *z, size_t nz,
               uint8_t *out, ms_window_info *info)
{
    ms_err err;
    int rc = ct ? ms_window_ct(img, wl, ww, z, nz, out, info, &err)
                : ms_window_percentile(img, 0.5, 99.5, z, nz, out, info, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    return rc;
}

/* Whole volume, then slices {1, 3, last}: the same bytes as numpy's. */
static void compare(const char *name, const ms_array *img, const ms_array *want, int ct,
                    double wl, double ww)
{
    size_t n = ms_array_nelem(img), d = img->shape[0], slice = n / d;
    uint8_t *out = malloc(n);
    ms_window_info info;
    if (run(img, ct, wl, ww, NULL, 0, out, &info) == MS_OK) {
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += out[i] != ((uint8_t *)want->data)[i];
        CHECKF(bad == 0, "%s: %zu of %zu voxels differ from numpy", name, bad, n);
        CHECK_EQ_INT(info.flags, 0);
    }
    size_t z[3] = {1, 3, d - 1};
    memset(out, 0xab, n);
    if (run(img, ct, wl, ww, z, 3, out, &info) == MS_OK)
        for (int k = 0; k < 3; k++)
            CHECKF(memcmp(out + k * slice, (uint8_t *)want->data + z[k] * slice, slice) == 0,
                   "%s: slice %zu differs when selected", name, z[k]);
    free(out);
}

static void test_numpy_cases(void)
{
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/prect/window/cases.txt", data_dir());
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    int ncases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[64], mode[8], buf[80];
        double wl, ww;
        if (sscanf(line, "%63s %7s %lf %lf", name, mode, &wl, &ww) != 4)
            continue;
        ms_array img = {0}, want = {0};
        snprintf(buf, sizeof buf, "%s_in", name);
        if (load(buf, &img) == MS_OK) {
            snprintf(buf, sizeof buf, "%s_out", name);
            if (load(buf, &want) == MS_OK)
                compare(name, &img, &want, !strcmp(mode, "CT"), wl, ww);
        }
        ms_array_free(&img);
        ms_array_free(&want);
        ncases++;
    }
    fclose(f);
    CHECK_EQ_INT(ncases, 11);
}

/* A NIfTI with scl_slope/scl_inter comes back as float32 and takes the
 * float32 path. */
static void test_scaled_nifti(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/prect/window/scaled.nii", data_dir());
    ms_volume v;
    memset(&v, 0, sizeof v);
    ms_err err;
    int rc = ms_nifti_read(path, &v, NULL, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    if (rc)
        return;
    CHECK_EQ_INT(v.a.dtype, MS_F32);
    ms_array want = {0};
    if (load("scaled_ct_out", &want) == MS_OK)
        compare("scaled CT", &v.a, &want, 1, 40, 400);
    ms_array_free(&want);
    if (load("scaled_mr_out", &want) == MS_OK)
        compare("scaled MR", &v.a, &want, 0, 0, 0);
    ms_array_free(&want);
    ms_volume_free(&v);
}

static void test_edges(void)
{
    size_t shape[3] = {2, 3, 4};
    ms_array a = {0};
    ms_err err;
    uint8_t out[24];
    ms_window_info info;
    /* constant volume: zeros and a flag, not NaN garbage */
    CHECK_EQ_INT(ms_array_alloc(&a, MS_I16, 3, shape, NULL, &err), MS_OK);
    for (int i = 0; i < 24; i++)
        ((int16_t *)a.data)[i] = 77;
    memset(out, 0xcd, 24);
    CHECK_EQ_INT(ms_window_ct(&a, 40, 400, NULL, 0, out, &info, &err), MS_OK);
    CHECK_EQ_INT(info.flags, MS_WINDOW_CONSTANT);
    CHECK_EQ_INT(out[0] | out[23], 0);
    memset(out, 0xcd, 24);
    CHECK_EQ_INT(ms_window_percentile(&a, 0.5, 99.5, NULL, 0, out, &info, &err), MS_OK);
    CHECK_EQ_INT(info.flags, MS_WINDOW_CONSTANT);
    CHECK_EQ_INT(out[5] | out[17], 0);
    /* not constant, but constant once clipped (all above the window) */
    ((int16_t *)a.data)[3] = 900;
    CHECK_EQ_INT(ms_window_ct(&a, 0, 10, NULL, 0, out, &info, &err), MS_OK);
    CHECK_EQ_INT(info.flags, MS_WINDOW_CONSTANT);
    /* ... and not constant inside the window: 77 -> 0, 900 clipped to 240 -> 255 */
    CHECK_EQ_INT(ms_window_ct(&a, 40, 400, NULL, 0, out, &info, &err), MS_OK);
    CHECK_EQ_INT(info.flags, 0);
    CHECK_EQ_INT(out[0], 0);
    CHECK_EQ_INT(out[3], 255);
    CHECK_NEAR(info.vmax, 240, 0);
    /* no voxel > 0 in percentile mode */
    for (int i = 0; i < 24; i++)
        ((int16_t *)a.data)[i] = (int16_t)-i;
    memset(out, 0xcd, 24);
    CHECK_EQ_INT(ms_window_percentile(&a, 0.5, 99.5, NULL, 0, out, &info, &err), MS_OK);
    CHECK_EQ_INT(info.flags, MS_WINDOW_NO_POSITIVE);
    CHECK_EQ_INT(out[0] | out[23], 0);
    /* bad slice index */
    size_t z[1] = {2};
    CHECK_EQ_INT(ms_window_ct(&a, 40, 400, z, 1, out, &info, &err), MS_EINVAL);
    ms_array_free(&a);
    /* NaN voxels are refused */
    CHECK_EQ_INT(ms_array_alloc(&a, MS_F32, 3, shape, NULL, &err), MS_OK);
    ((float *)a.data)[7] = NAN;
    CHECK_EQ_INT(ms_window_ct(&a, 40, 400, NULL, 0, out, &info, &err), MS_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "NaN");
    ms_array_free(&a);
}

/* In place (out == img->data) gives the bytes of a separate output, for
 * every dtype, both windows, all slices and an ascending subset; a
 * descending subset is refused. */
static void test_in_place(void)
{
    static const ms_dtype types[] = {MS_BOOL, MS_U8, MS_I8, MS_U16, MS_I16, MS_U32,
                                     MS_I32, MS_U64, MS_I64, MS_F32, MS_F64};
    size_t shape[3] = {5, 7, 9}, n = 5 * 7 * 9, slice = 7 * 9;
    size_t zsub[3] = {1, 2, 4}, zbad[2] = {3, 1};
    ms_err err;
    uint32_t seed = 12345;
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        ms_array a = {0};
        CHECK_EQ_INT(ms_array_alloc(&a, types[t], 3, shape, NULL, &err), MS_OK);
        size_t es = ms_dtype_size(types[t]);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            int v = (int)(seed >> 22) - 300;   /* -300 .. 723 */
            unsigned char *p = (unsigned char *)a.data + i * es;
            switch (types[t]) {
            case MS_BOOL: *p = v > 200; break;
            case MS_U8: *p = (uint8_t)(v & 255); break;
            case MS_I8: *(int8_t *)p = (int8_t)(v / 6); break;
            case MS_U16: *(uint16_t *)p = (uint16_t)(v + 300); break;
            case MS_I16: *(int16_t *)p = (int16_t)v; break;
            case MS_U32: *(uint32_t *)p = (uint32_t)(v + 300); break;
            case MS_I32: *(int32_t *)p = v; break;
            case MS_U64: *(uint64_t *)p = (uint64_t)(v + 300); break;
            case MS_I64: *(int64_t *)p = v; break;
            case MS_F32: *(float *)p = (float)v * 0.37f; break;
            default: *(double *)p = v * 0.37; break;
            }
        }
        /* the image at copy + at: the output from copy (at 0: out == data;
         * at 352: a NIfTI header left in front of the voxels) */
        uint8_t *copy = malloc(352 + n * es);
        uint8_t *want = malloc(n);
        for (size_t at = 0; at <= 352; at += 352)
            for (int mode = 0; mode < 2; mode++)
                for (int sub = 0; sub < 2; sub++) {
                    const size_t *z = sub ? zsub : NULL;
                    size_t nz = sub ? 3 : 0, nout = (sub ? 3 : 5) * slice;
                    ms_array b = a;
                    b.data = copy + at;
                    memcpy(copy + at, a.data, n * es);
                    int r1 = mode ? ms_window_ct(&a, 100, 300, z, nz, want, NULL, &err)
                                  : ms_window_percentile(&a, 0.5, 99.5, z, nz, want, NULL, &err);
                    int r2 = mode ? ms_window_ct(&b, 100, 300, z, nz, copy, NULL, &err)
                                  : ms_window_percentile(&b, 0.5, 99.5, z, nz, copy, NULL, &err);
                    CHECK_EQ_INT(r1, MS_OK);
                    CHECK_EQ_INT(r2, MS_OK);
                    CHECKF(memcmp(want, copy, nout) == 0, "%s %s%s, image at %zu: in place differs",
                           ms_dtype_name(types[t]), mode ? "CT" : "MR", sub ? " (3 slices)" : "",
                           at);
                }
        memcpy(copy + 16, a.data, n * es);
        ms_array b = a;
        b.data = copy + 16;
        CHECK_EQ_INT(ms_window_ct(&b, 100, 300, zbad, 2, copy, NULL, &err), MS_EINVAL);
        CHECK_EQ_INT(ms_window_ct(&a, 100, 300, zbad, 2, want, NULL, &err), MS_OK);
        b.data = copy;   /* output starting inside the image */
        CHECK_EQ_INT(ms_window_ct(&b, 100, 300, NULL, 0, copy + 16, NULL, &err), MS_EINVAL);
        free(copy);
        free(want);
        ms_array_free(&a);
    }
}

/* The integer min/max scan stops once both bounds are met: the bytes stay
 * those of the float64 path (a whole scan), with values far outside the
 * window after the stop, and when only one bound is ever met. */
static void test_early_stop(void)
{
    size_t shape[3] = {4, 100, 100}, n = 40000;
    ms_err err;
    for (int variant = 0; variant < 3; variant++) {
        ms_array a = {0}, f = {0};
        CHECK_EQ_INT(ms_array_alloc(&a, MS_I16, 3, shape, NULL, &err), MS_OK);
        CHECK_EQ_INT(ms_array_alloc(&f, MS_F64, 3, shape, NULL, &err), MS_OK);
        int16_t *p = a.data;
        for (size_t i = 0; i < n; i++)
            p[i] = (int16_t)((i * 7919) % 380 - 150);   /* inside -160..240 */
        if (variant == 0) {   /* both bounds met at once, extremes later */
            p[0] = -1000;
            p[1] = 1000;
            p[n - 2] = -30000;
            p[n - 1] = 30000;
        } else if (variant == 1) {   /* the lower bound only; the max comes late */
            p[5] = -500;
            p[n - 3] = 235;
        }   /* variant 2: neither */
        for (size_t i = 0; i < n; i++)
            ((double *)f.data)[i] = p[i];
        uint8_t *o1 = malloc(n), *o2 = malloc(n);
        ms_window_info i1, i2;
        CHECK_EQ_INT(ms_window_ct(&a, 40, 400, NULL, 0, o1, &i1, &err), MS_OK);
        CHECK_EQ_INT(ms_window_ct(&f, 40, 400, NULL, 0, o2, &i2, &err), MS_OK);
        CHECKF(memcmp(o1, o2, n) == 0, "early stop, variant %d: bytes differ", variant);
        CHECK_NEAR(i1.vmin, i2.vmin, 0);
        CHECK_NEAR(i1.vmax, i2.vmax, 0);
        CHECK_NEAR(i1.vmin, variant < 2 ? -160 : -150, 0);
        free(o1);
        free(o2);
        ms_array_free(&a);
        ms_array_free(&f);
    }
}

/* int16 volumes (the AVX2 clamp-and-multiply path where a window's table
 * allows it, the table elsewhere) against the float64 path, for windows
 * of many widths, integer or not, value ranges inside, across and beyond
 * them, rows not a multiple of 32 voxels, in place and out of place, all
 * slices or some. */
static void test_int16_windows(void)
{
    static const double win[][2] = {{40, 400}, {40, 240}, {40.5, 400}, {0, 1}, {1000, 5},
                                    {-100, 60000}, {40, 100000}, {3, 2}, {50, 100.25},
                                    {-32000, 1200}, {500, 512}, {40, 256}, {40, 255}};
    size_t shape[3] = {5, 7, 45}, n = 5 * 7 * 45, slice = 7 * 45;
    const size_t zs[3] = {0, 2, 4};
    ms_err err;
    unsigned r = 99;
    for (int range = 0; range < 4; range++) {
        ms_array a = {0}, f = {0};
        CHECK_EQ_INT(ms_array_alloc(&a, MS_I16, 3, shape, NULL, &err), MS_OK);
        CHECK_EQ_INT(ms_array_alloc(&f, MS_F64, 3, shape, NULL, &err), MS_OK);
        int16_t *p = a.data, *copy = malloc(n * sizeof *copy);
        for (size_t i = 0; i < n; i++) {
            r = r * 1103515245u + 12345u;
            int v = (int)(r >> 8);
            p[i] = range == 0 ? (int16_t)(v % 65536 - 32768)   /* everything */
                 : range == 1 ? (int16_t)(v % 300 - 100)       /* inside a CT window */
                 : range == 2 ? (int16_t)(v % 2001)            /* 0..2000, as the bench CT */
                              : (int16_t)(v % 9 + 1000);       /* narrow */
            ((double *)f.data)[i] = p[i];
        }
        memcpy(copy, p, n * sizeof *copy);
        uint8_t *o1 = malloc(n), *o2 = malloc(n);
        for (size_t w = 0; w < sizeof win / sizeof win[0]; w++) {
            for (int sub = 0; sub < 2; sub++) {
                const size_t *z = sub ? zs : NULL;
                size_t nz = sub ? 3 : 0, nout = (sub ? 3 : 5) * slice;
                ms_window_info i1, i2;
                CHECK_EQ_INT(ms_window_ct(&a, win[w][0], win[w][1], z, nz, o1, &i1, &err), MS_OK);
                CHECK_EQ_INT(ms_window_ct(&f, win[w][0], win[w][1], z, nz, o2, &i2, &err), MS_OK);
                CHECKF(memcmp(o1, o2, nout) == 0, "int16 range %d window %g/%g sub %d: bytes differ",
                       range, win[w][0], win[w][1], sub);
                /* in place, into the front of the image's own buffer */
                CHECK_EQ_INT(ms_window_ct(&a, win[w][0], win[w][1], z, nz, a.data, &i1, &err), MS_OK);
                CHECKF(memcmp(a.data, o2, nout) == 0,
                       "int16 in place, range %d window %g/%g sub %d: bytes differ", range,
                       win[w][0], win[w][1], sub);
                memcpy(p, copy, n * sizeof *copy);
            }
        }
        free(o1);
        free(o2);
        free(copy);
        ms_array_free(&a);
        ms_array_free(&f);
    }
}

int main(void)
{
    test_int16_windows();
    test_early_stop();
    test_in_place();
    test_numpy_cases();
    test_scaled_nifti();
    test_edges();
    TEST_END();
}
