/* Read npz files written by numpy: the upstream preprocessing outputs
 * (checked against shapes, sums and CRC-32s numpy computed when the data was
 * generated, npz_sums.txt) and np.savez / np.savez_compressed archives. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ms_npz.h"
#include "ms_test.h"
#include "io_test_util.h"

static double sum_of(const ms_array *a)
{
    size_t n = ms_array_nelem(a);
    double s = 0;
    long long si = 0;
    for (size_t i = 0; i < n; i++) {
        switch (a->dtype) {
        case MS_U8: case MS_BOOL: si += ((const uint8_t *)a->data)[i]; break;
        case MS_I16: si += ((const int16_t *)a->data)[i]; break;
        case MS_I64: si += ((const int64_t *)a->data)[i]; break;
        case MS_F32: s += ((const float *)a->data)[i]; break;
        case MS_F64: s += ((const double *)a->data)[i]; break;
        default: break;
        }
    }
    return a->dtype == MS_F32 || a->dtype == MS_F64 ? s : (double)si;
}

static void check_sums(void)
{
    char path[600], line[400];
    int nlines = 0;

    io_test_data(path, sizeof path, "io/npz_sums.txt");
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char file[200], member[100], dts[8], shp[100], sum[64];
        unsigned crc;
        ms_array a;
        ms_err err;
        ms_npz *z;
        if (line[0] == '#' ||
            sscanf(line, "%199s %99s %7s %99s %63s %x", file, member, dts, shp, sum, &crc) != 6)
            continue;
        snprintf(path, sizeof path, "%s/io/%s", getenv("MS_TEST_DATA"), file);
        int rc = ms_npz_open(path, &z, NULL, &err);
        CHECKF(rc == MS_OK, "%s", err.msg);
        if (rc < 0)
            continue;
        CHECK(ms_npz_has(z, member));
        ms_array peek;
        CHECKF(ms_npz_peek(z, member, &peek, &err) == MS_OK, "%s", err.msg);
        CHECK(peek.data == NULL);
        rc = ms_npz_read(z, member, &a, &err);
        CHECKF(rc == MS_OK, "%s", err.msg);
        if (rc == MS_OK) {
            char got[100] = "";
            size_t k = 0;
            for (int i = 0; i < a.ndim; i++)
                k += (size_t)snprintf(got + k, sizeof got - k, i ? ",%zu" : "%zu", a.shape[i]);
            CHECKF(strcmp(got, shp) == 0, "%s %s: shape %s, want %s", file, member, got, shp);
            CHECK_EQ_INT(a.dtype, io_test_dtype(dts));
            CHECK_EQ_INT(peek.dtype, a.dtype);
            CHECK(peek.ndim == a.ndim && memcmp(peek.shape, a.shape, sizeof a.shape) == 0);
            CHECK_NEAR(sum_of(&a), strtod(sum, NULL), 1e-9 * (1 + fabs(strtod(sum, NULL))));
            unsigned long c = crc32(0L, a.data, (uInt)ms_array_nbytes(&a));
            CHECKF(c == crc, "%s %s: crc %08lx, want %08x", file, member, c, crc);
            ms_array_free(&a);
        }
        ms_npz_close(&z);
        nlines++;
    }
    fclose(f);
    CHECK(nlines >= 6);
}

/* numpy_{stored,deflated}.npz: a = i2 (2,3,4), b = f8 (2,3) saved in
 * Fortran order, c = b1 (7,), all value(dtype, i) in C order. */
static void check_numpy_npz(const char *file)
{
    char path[600];
    ms_npz *z;
    ms_err err;
    ms_array a;

    snprintf(path, sizeof path, "%s/io/%s", getenv("MS_TEST_DATA"), file);
    int rc = ms_npz_open(path, &z, NULL, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    if (rc < 0)
        return;
    CHECK_EQ_INT(ms_npz_count(z), 3);
    CHECK(strcmp(ms_npz_name(z, 0), "a") == 0);
    CHECK(ms_npz_name(z, 3) == NULL && ms_npz_name(z, -1) == NULL);
    static const struct { const char *name; ms_dtype t; int nd; size_t shape[3]; } want[] = {
        {"a", MS_I16, 3, {2, 3, 4}}, {"b", MS_F64, 2, {2, 3}}, {"c", MS_BOOL, 1, {7}},
    };
    for (int i = 0; i < 3; i++) {
        rc = ms_npz_read(z, want[i].name, &a, &err);
        CHECKF(rc == MS_OK, "%s", err.msg);
        if (rc < 0)
            continue;
        CHECK(a.dtype == want[i].t && a.ndim == want[i].nd);
        for (int d = 0; d < a.ndim; d++)
            CHECK(a.shape[d] == want[i].shape[d]);
        CHECKF(io_test_check_values(&a), "%s: %s values", file, want[i].name);
        ms_array_free(&a);
    }
    /* A limit below the member's size refuses it before reading. */
    ms_npz_close(&z);
    ms_limits small = {16};
    rc = ms_npz_load(path, "a", &a, &small, &err);
    CHECK_EQ_INT(rc, MS_ELIMIT);
    CHECK_STR_CONTAINS(err.msg, "a.npy");
    CHECK_STR_CONTAINS(err.msg, file);
    CHECK(a.data == NULL);
}

int main(void)
{
    check_sums();
    check_numpy_npz("numpy_stored.npz");
    check_numpy_npz("numpy_deflated.npz");
    TEST_END();
}
