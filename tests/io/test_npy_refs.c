/* Reader against numpy-written files (every dtype x byte order x C/Fortran x
 * format version) and writer byte identity against np.save. */
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include "ms_npy.h"
#include "ms_test.h"
#include "io_test_util.h"

/* refs/<dtype>_<le|be>_<C|F>_v<N>.npy all hold value(dtype, i) as (2, 3, 4). */
static void check_refs(void)
{
    static const char *const dt[] = {"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8",
                                     "f4", "f8"};
    char path[600], rel[200];
    int nfiles = 0;

    for (size_t d = 0; d < sizeof dt / sizeof *dt; d++)
        for (int be = 0; be < 2; be++)
            for (int f = 0; f < 2; f++)
                for (int v = 1; v <= 3; v++) {
                    ms_array a;
                    ms_err err;
                    if (be && dt[d][1] == '1')
                        continue; /* one-byte types have only '|' */
                    snprintf(rel, sizeof rel, "io/refs/%s_%s_%s_v%d.npy", dt[d], be ? "be" : "le",
                             f ? "F" : "C", v);
                    io_test_data(path, sizeof path, rel);
                    int rc = ms_npy_read(path, &a, NULL, &err);
                    CHECKF(rc == MS_OK, "%s: %s", rel, err.msg);
                    if (rc < 0)
                        continue;
                    nfiles++;
                    CHECK_EQ_INT(a.dtype, io_test_dtype(dt[d]));
                    CHECK_EQ_INT(a.ndim, 3);
                    CHECK(a.shape[0] == 2 && a.shape[1] == 3 && a.shape[2] == 4);
                    CHECKF(io_test_check_values(&a), "%s: values differ", rel);
                    ms_array_free(&a);
                }
    CHECK_EQ_INT(nfiles, 3 * 6 + 8 * 12);

    /* 0-d, big-endian 1-d, empty Fortran, 4-d Fortran. */
    ms_array a;
    ms_err err;
    io_test_data(path, sizeof path, "io/refs/f8_scalar.npy");
    CHECKF(ms_npy_read(path, &a, NULL, &err) == MS_OK, "%s", err.msg);
    CHECK(a.ndim == 0 && a.dtype == MS_F64 && io_test_check_values(&a));
    ms_array_free(&a);
    io_test_data(path, sizeof path, "io/refs/i2_be_1d.npy");
    CHECKF(ms_npy_read(path, &a, NULL, &err) == MS_OK, "%s", err.msg);
    CHECK(a.ndim == 1 && a.shape[0] == 5 && a.dtype == MS_I16 && io_test_check_values(&a));
    ms_array_free(&a);
    io_test_data(path, sizeof path, "io/refs/u2_F_empty.npy");
    CHECKF(ms_npy_read(path, &a, NULL, &err) == MS_OK, "%s", err.msg);
    CHECK(a.ndim == 3 && a.shape[0] == 3 && a.shape[1] == 0 && a.shape[2] == 2);
    CHECK(ms_array_nbytes(&a) == 0);
    ms_array_free(&a);
    io_test_data(path, sizeof path, "io/refs/f4_F_4d.npy");
    CHECKF(ms_npy_read(path, &a, NULL, &err) == MS_OK, "%s", err.msg);
    CHECK(a.ndim == 4 && a.shape[3] == 5 && a.dtype == MS_F32 && io_test_check_values(&a));
    ms_array_free(&a);
}

/* Parse "2,3,4" or "-" (0-d). */
static int parse_shape(const char *s, size_t *shape)
{
    int n = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    while (*s && n < MS_MAX_NDIM) {
        shape[n++] = (size_t)strtoull(s, (char **)&s, 10);
        if (*s == ',')
            s++;
    }
    return n;
}

/* save/<name>.npy are np.save outputs: ours must be identical, in memory
 * (ms_npy_header + data) and on disk (ms_npy_write). */
static void check_save(void)
{
    char path[600], line[300], dir[256];
    FILE *f;
    int ncases = 0;

    io_test_data(path, sizeof path, "io/save/cases.txt");
    f = fopen(path, "r");
    CHECKF(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    io_test_tmpdir(dir, sizeof dir);
    while (fgets(line, sizeof line, f)) {
        char name[100], dts[8], shp[200];
        size_t shape[MS_MAX_NDIM], ref_len = 0, our_len = 0;
        ms_array a;
        ms_err err;
        if (line[0] == '#' || sscanf(line, "%99s %7s %199s", name, dts, shp) != 3)
            continue;
        int nd = parse_shape(shp, shape);
        ms_limits big = {UINT64_MAX};
        CHECKF(ms_array_alloc(&a, (ms_dtype)io_test_dtype(dts), nd, shape, &big, &err) == MS_OK,
               "%s", err.msg);
        io_test_fill(&a);
        snprintf(path, sizeof path, "%s/io/save/%s.npy", getenv("MS_TEST_DATA"), name);
        unsigned char *ref = io_test_slurp(path, &ref_len);
        CHECKF(ref != NULL, "cannot read %s", path);
        snprintf(path, sizeof path, "%s/%s.npy", dir, name);
        CHECKF(ms_npy_write(path, &a, &err) == MS_OK, "%s", err.msg);
        unsigned char *ours = io_test_slurp(path, &our_len);
        CHECKF(ref && ours && ref_len == our_len && memcmp(ref, ours, ref_len) == 0,
               "%s: our npy differs from np.save (%zu vs %zu bytes)", name, our_len, ref_len);
        unsigned char hdr[1024];
        size_t hlen;
        CHECK_EQ_INT(ms_npy_header(&a, hdr, sizeof hdr, &hlen, &err), MS_OK);
        CHECK(hlen % 64 == 0 && ref && hlen <= ref_len && memcmp(hdr, ref, hlen) == 0);
        /* And it reads back. */
        ms_array b;
        int rc = ms_npy_read_mem(ref, ref_len, &b, &big, name, &err);
        CHECKF(rc == MS_OK, "%s", err.msg);
        if (rc == MS_OK) {
            CHECK(b.ndim == nd && b.dtype == a.dtype && io_test_check_values(&b));
            ms_array_free(&b);
        }
        free(ref);
        free(ours);
        ms_array_free(&a);
        ncases++;
    }
    fclose(f);
    CHECK(ncases >= 10);
    io_test_rmtree(dir);
}

int main(void)
{
    check_refs();
    check_save();
    TEST_END();
}
