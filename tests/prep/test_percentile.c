/* ms_percentile against numpy 1.24 (tests/data/prect/gen_percentile.py):
 * every result must be bit-identical. */
#include "ms_test.h"
#include "ms_npy.h"
#include "ms_percentile.h"

#include <stdint.h>

static const char *data_dir(void)
{
    const char *d = getenv("MS_TEST_DATA");
    return d ? d : "tests/data";
}

static void test_numpy_cases(void)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/prect/percentile/expected.txt", data_dir());
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    ms_array a = {0};
    char loaded[64] = "";
    int ncases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[64], qs[32], rs[64];
        int pos;
        size_t count;
        if (sscanf(line, "%63s %d %31s %63s %zu", name, &pos, qs, rs, &count) != 5)
            continue;
        ms_err err;
        if (strcmp(name, loaded)) {
            ms_array_free(&a);
            snprintf(path, sizeof path, "%s/prect/percentile/%s.npy", data_dir(), name);
            int rc = ms_npy_read(path, &a, NULL, &err);
            CHECKF(rc == MS_OK, "%s", err.msg);
            if (rc)
                continue;
            snprintf(loaded, sizeof loaded, "%s", name);
        }
        double q = strtod(qs, NULL), want = strtod(rs, NULL), got = -1;
        size_t n = 0;
        CHECK_EQ_INT(ms_percentile(&a, pos, &q, 1, &got, &n, &err), MS_OK);
        CHECKF(memcmp(&got, &want, 8) == 0, "%s pos=%d q=%s: got %a (%.17g), numpy %a (%.17g)",
               name, pos, qs, got, got, want, want);
        CHECK_EQ_INT(n, count);
        ncases++;
    }
    ms_array_free(&a);
    fclose(f);
    CHECKF(ncases >= 200, "only %d cases read", ncases);
}

/* Several q in one call give the same as one at a time, in any order. */
static void test_multi_q(void)
{
    size_t shape[1] = {1000};
    ms_array a = {0};
    ms_err err;
    CHECK_EQ_INT(ms_array_alloc(&a, MS_F32, 1, shape, NULL, &err), MS_OK);
    float *p = a.data;
    uint32_t s = 7;
    for (size_t i = 0; i < 1000; i++) {
        s = s * 1103515245u + 12345u;
        p[i] = (float)((int)(s >> 8) % 20000 - 5000) / 7.0f;
    }
    double q[5] = {99.5, 0.5, 50, 0.5, 12.25}, all[5], one;
    CHECK_EQ_INT(ms_percentile(&a, 1, q, 5, all, NULL, &err), MS_OK);
    for (int k = 0; k < 5; k++) {
        CHECK_EQ_INT(ms_percentile(&a, 1, &q[k], 1, &one, NULL, &err), MS_OK);
        CHECKF(one == all[k], "q %g: %a vs %a", q[k], one, all[k]);
    }
    CHECK(all[1] < all[2] && all[2] < all[0]);
    ms_array_free(&a);
}

static void test_edges(void)
{
    size_t shape[1] = {4};
    ms_array a = {0};
    ms_err err;
    CHECK_EQ_INT(ms_array_alloc(&a, MS_I16, 1, shape, NULL, &err), MS_OK);
    int16_t *p = a.data;
    p[0] = -3, p[1] = 0, p[2] = -7, p[3] = 0;
    double q = 50, r = 0;
    size_t n = 9;
    CHECK_EQ_INT(ms_percentile(&a, 1, &q, 1, &r, &n, &err), MS_OK);   /* no value > 0 */
    CHECK_EQ_INT(n, 0);
    CHECK(isnan(r));
    q = 100.5;
    CHECK_EQ_INT(ms_percentile(&a, 0, &q, 1, &r, &n, &err), MS_EINVAL);
    ms_array_free(&a);
    /* NaN among all values: result NaN, as numpy; positive_only skips it */
    CHECK_EQ_INT(ms_array_alloc(&a, MS_F64, 1, shape, NULL, &err), MS_OK);
    double *d = a.data;
    d[0] = 1, d[1] = NAN, d[2] = 3, d[3] = 2;
    q = 50;
    CHECK_EQ_INT(ms_percentile(&a, 0, &q, 1, &r, &n, &err), MS_OK);
    CHECK(isnan(r));
    CHECK_EQ_INT(ms_percentile(&a, 1, &q, 1, &r, &n, &err), MS_OK);
    CHECK_EQ_INT(n, 3);
    CHECK(r == 2.0);
    ms_array_free(&a);
}

int main(void)
{
    test_numpy_cases();
    test_multi_q();
    test_edges();
    TEST_END();
}
