/* ms_edt_sq against brute force on small random volumes with anisotropic
 * spacing, plus the edge cases (no feature, all features, length-1 axes). */
#include <stdint.h>

#include "ms_test.h"
#include "ms_edt.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double uniform(void)
{
    return (double)(next_u64() >> 11) / 9007199254740992.0;
}

/* min over features of ((a*s0)^2 + (b*s1)^2) + (c*s2)^2 */
static double brute(const uint8_t *f, const size_t n[3], const double s[3],
                    size_t i, size_t j, size_t k)
{
    double best = INFINITY;
    for (size_t a = 0; a < n[0]; a++)
        for (size_t b = 0; b < n[1]; b++)
            for (size_t c = 0; c < n[2]; c++) {
                if (!f[(a * n[1] + b) * n[2] + c])
                    continue;
                double x = ((double)a - (double)i) * s[0];
                double y = ((double)b - (double)j) * s[1];
                double z = ((double)c - (double)k) * s[2];
                double d = x * x + y * y + z * z;
                if (d < best)
                    best = d;
            }
    return best;
}

/* limit2: ms_edt_sq_upto's limit (INFINITY: ms_edt_sq); above it a value may
 * be INFINITY, at or below it must be exact. */
static void check_volume(const uint8_t *f, const size_t n[3], const double s[3],
                         double limit2, int *bad)
{
    size_t total = n[0] * n[1] * n[2];
    double *d = malloc(total * sizeof *d);
    ms_err err;
    CHECK(d != NULL);
    if (!d)
        return;
    if (isinf(limit2))
        CHECK_EQ_INT(ms_edt_sq(f, n, s, d, &err), MS_OK);
    else
        CHECK_EQ_INT(ms_edt_sq_upto(f, n, s, limit2, d, &err), MS_OK);
    for (size_t i = 0; i < n[0]; i++)
        for (size_t j = 0; j < n[1]; j++)
            for (size_t k = 0; k < n[2]; k++) {
                double want = brute(f, n, s, i, j, k);
                double got = d[(i * n[1] + j) * n[2] + k];
                int ok = isinf(want) ? isinf(got) : fabs(got - want) <= 1e-12 * (1.0 + want);
                if (want > limit2 && isinf(got))
                    ok = 1;
                if (!ok && (*bad)++ < 5)
                    CHECKF(ok, "shape %zux%zux%zu spacing %g,%g,%g at (%zu,%zu,%zu): "
                           "got %.17g want %.17g", n[0], n[1], n[2], s[0], s[1], s[2],
                           i, j, k, got, want);
            }
    free(d);
}

static void test_random(void)
{
    int bad = 0;
    for (int t = 0; t < 300; t++) {
        size_t n[3] = { 1 + next_u64() % 9, 1 + next_u64() % 10, 1 + next_u64() % 11 };
        double s[3];
        for (int a = 0; a < 3; a++)
            s[a] = 0.25 + 3.0 * uniform();
        if (t % 5 == 0)
            s[0] = s[1] = s[2] = 1.0;   /* integer distances: ties are exact */
        double density = t % 3 == 0 ? 0.02 : t % 3 == 1 ? 0.15 : 0.6;
        size_t total = n[0] * n[1] * n[2];
        uint8_t *f = malloc(total);
        for (size_t x = 0; x < total; x++)
            f[x] = uniform() < density;
        check_volume(f, n, s, INFINITY, &bad);
        check_volume(f, n, s, 4.0 * uniform() * uniform() * 25.0, &bad);
        free(f);
    }
    CHECK_EQ_INT(bad, 0);
}

/* Dropping far values must actually happen (that is the point of _upto). */
static void test_upto(void)
{
    size_t n[3] = { 3, 4, 50 };
    double s[3] = { 1.0, 1.0, 1.0 };
    uint8_t f[600] = { 0 };
    double d[600];
    ms_err err;
    f[0] = 1;
    CHECK_EQ_INT(ms_edt_sq_upto(f, n, s, 4.0, d, &err), MS_OK);
    CHECK(d[0] == 0.0 && d[2] == 4.0 && isinf(d[3]) && isinf(d[599]));
    CHECK(d[50] == 1.0 && d[51] == 2.0 && isinf(d[52]) && d[200] == 1.0 && d[250] == 2.0);
}

static void test_edges(void)
{
    size_t n[3] = { 4, 5, 6 };
    double s[3] = { 0.7, 0.7, 1.25 };
    uint8_t f[120] = { 0 };
    double d[120];
    ms_err err;

    /* no feature: infinite everywhere */
    CHECK_EQ_INT(ms_edt_sq(f, n, s, d, &err), MS_OK);
    int all_inf = 1;
    for (int x = 0; x < 120; x++)
        all_inf &= isinf(d[x]) && d[x] > 0;
    CHECK(all_inf);

    /* one feature at a corner: the far corner is at ((3*.7)^2 + (4*.7)^2) + (5*1.25)^2 */
    f[0] = 1;
    CHECK_EQ_INT(ms_edt_sq(f, n, s, d, &err), MS_OK);
    double a = 3 * 0.7, b = 4 * 0.7, c = 5 * 1.25;
    CHECK(d[0] == 0.0);
    CHECK(d[119] == a * a + b * b + c * c);
    CHECK(d[1] == 1.25 * 1.25);
    CHECK(d[6] == 0.7 * 0.7);

    /* all features: zero */
    memset(f, 1, sizeof f);
    CHECK_EQ_INT(ms_edt_sq(f, n, s, d, &err), MS_OK);
    int all_zero = 1;
    for (int x = 0; x < 120; x++)
        all_zero &= d[x] == 0.0;
    CHECK(all_zero);

    /* bad spacing */
    double bad[3] = { 1.0, 0.0, 1.0 };
    CHECK_EQ_INT(ms_edt_sq(f, n, bad, d, &err), MS_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "spacing");
    double nan_sp[3] = { 1.0, 1.0, NAN };
    CHECK_EQ_INT(ms_edt_sq(f, n, nan_sp, d, &err), MS_EINVAL);
}

/* A long line with features only at both ends: the envelope must switch
 * parabolas exactly half-way (ties at the midpoint give the same value). */
static void test_line(void)
{
    size_t n[3] = { 1, 1, 101 };
    double s[3] = { 1.0, 1.0, 0.5 };
    uint8_t f[101] = { 0 };
    double d[101];
    ms_err err;
    f[0] = f[100] = 1;
    CHECK_EQ_INT(ms_edt_sq(f, n, s, d, &err), MS_OK);
    int ok = 1;
    for (int k = 0; k < 101; k++) {
        double t = (k < 50 ? k : 100 - k) * 0.5;
        ok &= d[k] == t * t;
    }
    CHECK(ok);
}

int main(void)
{
    test_random();
    test_edges();
    test_upto();
    test_line();
    TEST_END();
}
