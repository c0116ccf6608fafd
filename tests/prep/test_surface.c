/* Surface dice: surfel areas, NSD against a brute-force version of the
 * upstream algorithm (uncropped, explicit neighbour codes, all-pairs
 * distances), DSC and the multi-label case rules (NaN, 0.2 gate), and the
 * number formatting of the metrics CSV. */
#include <stdint.h>

#include "ms_test.h"
#include "ms_eval.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

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

static void test_areas(void)
{
    double areas[256], s1[3] = { 1, 1, 1 }, s[3] = { 2.0, 3.0, 5.0 };
    ms_surfel_areas(s1, areas);
    CHECK(areas[0] == 0.0);
    CHECK(areas[255] == 0.0);
    /* code 1: one corner voxel, a single triangle with normal (1/8, 1/8, 1/8) */
    CHECK_EQ_INT(ms__surfel_normal_count[1], 1);
    CHECK_NEAR(areas[1], sqrt(3.0) / 8.0, 1e-15);
    /* code 15: the lower half of the block is inside: two normals (1/2, 0, 0),
     * a unit square across axis 0 */
    CHECK_EQ_INT(ms__surfel_normal_count[15], 2);
    CHECK(ms__surfel_normals[15][0][0] == 0.5 && ms__surfel_normals[15][1][0] == 0.5);
    CHECK_NEAR(areas[15], 1.0, 1e-15);
    /* complementary codes describe the same surface */
    int sym = 1;
    for (int c = 0; c < 256; c++)
        sym &= fabs(areas[c] - areas[255 - c]) < 1e-12;
    CHECK(sym);
    /* spacing: the square across axis 0 spans axes 1 and 2 -> s1*s2 */
    ms_surfel_areas(s, areas);
    CHECK_NEAR(areas[15], 15.0, 1e-12);
    /* code 51 (weights 32+16+2+1: the j side of the block) is a square across
     * axis 1 -> s0*s2 */
    CHECK_NEAR(areas[51], 10.0, 1e-12);
    CHECK_NEAR(areas[85], 6.0, 1e-12);   /* square across axis 2 -> s0*s1 */
    double n0 = 0.125 * 15, n1 = 0.125 * 10, n2 = 0.125 * 6;
    CHECK_NEAR(areas[1], sqrt(n0 * n0 + n1 * n1 + n2 * n2), 1e-12);
}

/* ---- brute-force NSD on the full volume ---- */

static int at(const uint8_t *m, const size_t n[3], long i, long j, long k)
{
    if (i < 0 || j < 0 || k < 0 || i >= (long)n[0] || j >= (long)n[1] || k >= (long)n[2])
        return 0;
    return m[((size_t)i * n[1] + (size_t)j) * n[2] + (size_t)k] != 0;
}

typedef struct surf { long (*p)[3]; int *code; size_t n; } surf;

/* Codes on the grid 0..n (the "full" 2x2x2 correlation). */
static surf surface_of(const uint8_t *m, const size_t n[3])
{
    surf s = { 0 };
    size_t cap = (n[0] + 1) * (n[1] + 1) * (n[2] + 1);
    s.p = malloc(cap * sizeof *s.p);
    s.code = malloc(cap * sizeof *s.code);
    for (long i = 0; i <= (long)n[0]; i++)
        for (long j = 0; j <= (long)n[1]; j++)
            for (long k = 0; k <= (long)n[2]; k++) {
                int c = 0;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++)
                        for (int d = 0; d < 2; d++)
                            if (at(m, n, i - 1 + a, j - 1 + b, k - 1 + d))
                                c |= 128 >> (4 * a + 2 * b + d);
                if (c == 0 || c == 255)
                    continue;
                s.p[s.n][0] = i;
                s.p[s.n][1] = j;
                s.p[s.n][2] = k;
                s.code[s.n++] = c;
            }
    return s;
}

static void overlap(const surf *from, const surf *to, const double sp[3], double tol,
                    const double areas[256], double *in, double *all)
{
    *in = *all = 0;
    for (size_t x = 0; x < from->n; x++) {
        double best = INFINITY;
        for (size_t y = 0; y < to->n; y++) {
            double a = (double)(from->p[x][0] - to->p[y][0]) * sp[0];
            double b = (double)(from->p[x][1] - to->p[y][1]) * sp[1];
            double c = (double)(from->p[x][2] - to->p[y][2]) * sp[2];
            double d = a * a + b * b + c * c;
            if (d < best)
                best = d;
        }
        *all += areas[from->code[x]];
        if (sqrt(best) <= tol)
            *in += areas[from->code[x]];
    }
}

static double brute_nsd(const uint8_t *g, const uint8_t *p, const size_t n[3],
                        const double sp[3], double tol)
{
    double areas[256], ig, ag, ip, ap;
    ms_surfel_areas(sp, areas);
    surf sg = surface_of(g, n), spred = surface_of(p, n);
    overlap(&sg, &spred, sp, tol, areas, &ig, &ag);
    overlap(&spred, &sg, sp, tol, areas, &ip, &ap);
    free(sg.p); free(sg.code); free(spred.p); free(spred.code);
    return (ig + ip) / (ag + ap);
}

/* A random blob: a ball of random centre and radius, plus noise voxels. */
static void random_mask(uint8_t *m, const size_t n[3], double noise)
{
    double c[3], r = 1.0 + 3.0 * uniform();
    for (int a = 0; a < 3; a++)
        c[a] = uniform() * (double)n[a];
    for (size_t i = 0; i < n[0]; i++)
        for (size_t j = 0; j < n[1]; j++)
            for (size_t k = 0; k < n[2]; k++) {
                double d = (i - c[0]) * (i - c[0]) + (j - c[1]) * (j - c[1])
                           + (k - c[2]) * (k - c[2]);
                m[(i * n[1] + j) * n[2] + k] = d <= r * r || uniform() < noise;
            }
}

static void test_nsd_random(void)
{
    int bad = 0;
    ms_err err;
    for (int t = 0; t < 120; t++) {
        size_t n[3] = { 1 + next_u64() % 10, 2 + next_u64() % 10, 1 + next_u64() % 12 };
        double sp[3] = { 0.3 + 2.5 * uniform(), 0.3 + 2.5 * uniform(), 0.3 + 2.5 * uniform() };
        double tol = t % 4 == 0 ? 0.0 : 3.0 * uniform();
        size_t total = n[0] * n[1] * n[2];
        uint8_t *g = malloc(total), *p = malloc(total);
        random_mask(g, n, t % 2 ? 0.05 : 0.0);
        random_mask(p, n, t % 3 ? 0.05 : 0.0);
        double got, want = brute_nsd(g, p, n, sp, tol);
        int rc = ms_surface_dice(g, p, n, sp, tol, &got, &err);
        int ok = rc == MS_OK && (isnan(want) ? isnan(got) : fabs(got - want) <= 1e-12);
        if (!ok && bad++ < 5)
            CHECKF(ok, "case %d shape %zux%zux%zu: rc %d nsd %.17g, brute force %.17g",
                   t, n[0], n[1], n[2], rc, got, want);
        free(g);
        free(p);
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_nsd_simple(void)
{
    size_t n[3] = { 6, 7, 8 };
    double sp[3] = { 1, 1, 1 }, nsd;
    uint8_t g[336] = { 0 }, p[336] = { 0 };
    ms_err err;

    CHECK_EQ_INT(ms_surface_dice(g, p, n, sp, 2.0, &nsd, &err), MS_OK);
    CHECK(isnan(nsd));                     /* both empty: 0 / 0 */
    CHECK(isnan(ms_dice(g, p, 336)));
    g[(2 * 7 + 3) * 8 + 4] = 1;
    CHECK_EQ_INT(ms_surface_dice(g, p, n, sp, 2.0, &nsd, &err), MS_OK);
    CHECK(nsd == 0.0);                     /* one empty */
    CHECK(ms_dice(g, p, 336) == 0.0);
    memcpy(p, g, sizeof g);
    CHECK_EQ_INT(ms_surface_dice(g, p, n, sp, 0.0, &nsd, &err), MS_OK);
    CHECK(nsd == 1.0);                     /* identical */
    CHECK(ms_dice(g, p, 336) == 1.0);
    /* neighbour voxel: surfaces 1 mm apart, within 1 mm but not within 0.5 */
    p[(2 * 7 + 3) * 8 + 4] = 0;
    p[(2 * 7 + 3) * 8 + 5] = 1;
    CHECK_EQ_INT(ms_surface_dice(g, p, n, sp, 1.0, &nsd, &err), MS_OK);
    CHECK(nsd == 1.0);
    CHECK_EQ_INT(ms_surface_dice(g, p, n, sp, 0.5, &nsd, &err), MS_OK);
    CHECK(nsd > 0.0 && nsd < 1.0);
    double bad_sp[3] = { 1, -1, 1 };
    CHECK_EQ_INT(ms_surface_dice(g, p, n, bad_sp, 1.0, &nsd, &err), MS_EINVAL);
    CHECK_EQ_INT(ms_surface_dice(g, p, n, sp, -1.0, &nsd, &err), MS_EINVAL);
}

/* ---- one case with labels ---- */

static void test_case_rules(void)
{
    uint8_t gd[4 * 5 * 6] = { 0 }, sd[4 * 5 * 6] = { 0 };
    ms_array gt = { .dtype = MS_U8, .ndim = 3, .shape = { 4, 5, 6 }, .data = gd };
    ms_array sg = { .dtype = MS_U8, .ndim = 3, .shape = { 4, 5, 6 }, .data = sd };
    double sp[3] = { 1, 1, 1 };
    ms_eval_result r;
    ms_err err;

    /* empty gt: no labels, mean of nothing is NaN, NSD 0 (NaN > 0.2 is false) */
    CHECK_EQ_INT(ms_eval_case(&gt, &sg, sp, 2.0, MS_EVAL_NSD_UPSTREAM, &r, "t", &err), MS_OK);
    CHECK_EQ_INT(r.nlabels, 0);
    CHECK(isnan(r.dsc));
    CHECK(r.nsd == 0.0 && !r.nsd_computed);
    ms_eval_result_free(&r);

    /* labels 1 and 3 in gt, no 2 anywhere: label 2's DSC is NaN, so is the mean */
    gd[0] = 1; sd[0] = 1;
    gd[10] = 3; sd[10] = 3;
    sd[20] = 7;                                   /* above max(gt): ignored */
    CHECK_EQ_INT(ms_eval_case(&gt, &sg, sp, 2.0, MS_EVAL_NSD_UPSTREAM, &r, "t", &err), MS_OK);
    CHECK_EQ_INT(r.nlabels, 3);
    CHECK(r.labels[0].dsc == 1.0 && isnan(r.labels[1].dsc) && r.labels[2].dsc == 1.0);
    CHECK(isnan(r.dsc));
    CHECK(r.nsd == 0.0);
    ms_eval_result_free(&r);

    /* label 2 present only in seg: DSC 0, mean 2/3 > 0.2, NSD (1 + 0 + 1) / 3 */
    sd[30] = 2;
    CHECK_EQ_INT(ms_eval_case(&gt, &sg, sp, 2.0, MS_EVAL_NSD_UPSTREAM, &r, "t", &err), MS_OK);
    CHECK(r.labels[1].dsc == 0.0 && r.labels[1].n_seg == 1 && r.labels[1].n_gt == 0);
    CHECK_NEAR(r.dsc, 2.0 / 3.0, 1e-15);
    CHECK(r.nsd_computed);
    CHECK_NEAR(r.nsd, 2.0 / 3.0, 1e-15);
    ms_eval_result_free(&r);

    /* DSC <= 0.2: NSD is 0 without computing; ALL still fills label NSDs */
    memset(sd, 0, sizeof sd);
    sd[0] = 1;
    gd[1] = gd[2] = gd[3] = gd[4] = gd[5] = 1; gd[10] = 0;   /* max 1: dsc 2/7 */
    sd[50] = 1; sd[51] = 1; sd[52] = 1; sd[53] = 1; sd[54] = 1; sd[55] = 1; sd[56] = 1;
    CHECK_EQ_INT(ms_eval_case(&gt, &sg, sp, 2.0, MS_EVAL_NSD_ALL, &r, "t", &err), MS_OK);
    CHECK_EQ_INT(r.nlabels, 1);
    CHECK_NEAR(r.dsc, 2.0 / 14.0, 1e-15);
    CHECK(r.nsd == 0.0 && !r.nsd_computed);
    CHECK(r.labels[0].nsd > 0.0 && r.labels[0].nsd < 1.0);
    ms_eval_result_free(&r);
    CHECK_EQ_INT(ms_eval_case(&gt, &sg, sp, 2.0, MS_EVAL_NSD_NONE, &r, "t", &err), MS_OK);
    CHECK(isnan(r.labels[0].nsd));
    ms_eval_result_free(&r);

    /* 2D (H, W) works as (H, W, 1); int16 gts with a negative value */
    int16_t g2[12] = { 0, 1, 1, -4, 0, 1, 1, 0, 2, 2, 0, 0 };
    uint8_t s2[12] = { 0, 1, 1, 0, 0, 1, 1, 0, 2, 2, 0, 0 };
    ms_array a2 = { .dtype = MS_I16, .ndim = 2, .shape = { 3, 4 }, .data = g2 };
    ms_array b2 = { .dtype = MS_U8, .ndim = 2, .shape = { 3, 4 }, .data = s2 };
    CHECK_EQ_INT(ms_eval_case(&a2, &b2, sp, 2.0, MS_EVAL_NSD_UPSTREAM, &r, "t", &err), MS_OK);
    CHECK(r.dsc == 1.0 && r.nsd == 1.0);
    ms_eval_result_free(&r);

    /* more than 255 labels: 16-bit label maps; labels 2..299 are absent (NaN) */
    uint16_t g16[24] = { 0 }, s16[24] = { 0 };
    g16[3] = 300; g16[4] = 300; g16[20] = 1;
    s16[3] = 300; s16[4] = 300; s16[20] = 1; s16[21] = 1;
    ms_array a16 = { .dtype = MS_U16, .ndim = 3, .shape = { 2, 3, 4 }, .data = g16 };
    ms_array b16 = { .dtype = MS_U16, .ndim = 3, .shape = { 2, 3, 4 }, .data = s16 };
    CHECK_EQ_INT(ms_eval_case(&a16, &b16, sp, 2.0, MS_EVAL_NSD_ALL, &r, "t", &err), MS_OK);
    CHECK_EQ_INT(r.nlabels, 300);
    CHECK(r.labels[299].dsc == 1.0 && r.labels[299].nsd == 1.0 && r.labels[299].n_gt == 2);
    CHECK_NEAR(r.labels[0].dsc, 2.0 / 3.0, 1e-15);
    CHECK(isnan(r.labels[150].dsc) && isnan(r.labels[150].nsd));
    CHECK(isnan(r.dsc) && r.nsd == 0.0);
    ms_eval_result_free(&r);
    int32_t g32[24] = { 0 };
    g32[5] = 70000;
    ms_array a32 = { .dtype = MS_I32, .ndim = 3, .shape = { 2, 3, 4 }, .data = g32 };
    CHECK_EQ_INT(ms_eval_case(&a32, &b16, sp, 2.0, 1, &r, "big.npz", &err), MS_ELIMIT);
    CHECK_STR_CONTAINS(err.msg, "70000");

    /* errors */
    ms_array bad = sg;
    bad.shape[2] = 5;
    CHECK_EQ_INT(ms_eval_case(&gt, &bad, sp, 2.0, 1, &r, "case.npz", &err), MS_ESHAPE);
    CHECK_STR_CONTAINS(err.msg, "case.npz");
    float fd[120] = { 0 };
    ms_array fl = { .dtype = MS_F32, .ndim = 3, .shape = { 4, 5, 6 }, .data = fd };
    CHECK_EQ_INT(ms_eval_case(&fl, &sg, sp, 2.0, 1, &r, "case.npz", &err), MS_EUNSUPP);
    CHECK_STR_CONTAINS(err.msg, "f4");
}

static void test_numbers(void)
{
    char b[32];
    CHECK(strcmp(ms_eval_pyrepr(1.0, b, sizeof b), "1.0") == 0);
    CHECK(strcmp(ms_eval_pyrepr(0.0, b, sizeof b), "0.0") == 0);
    CHECK(strcmp(ms_eval_pyrepr(0.7466, b, sizeof b), "0.7466") == 0);
    CHECK(strcmp(ms_eval_pyrepr(0.0001, b, sizeof b), "0.0001") == 0);
    CHECK(strcmp(ms_eval_pyrepr(1e-05, b, sizeof b), "1e-05") == 0);
    CHECK(strcmp(ms_eval_pyrepr(1.5e-07, b, sizeof b), "1.5e-07") == 0);
    CHECK(strcmp(ms_eval_pyrepr(0.1 + 0.2, b, sizeof b), "0.30000000000000004") == 0);
    CHECK(strcmp(ms_eval_pyrepr(123.0, b, sizeof b), "123.0") == 0);
    CHECK(strcmp(ms_eval_pyrepr(1e16, b, sizeof b), "1e+16") == 0);
    CHECK(strcmp(ms_eval_pyrepr(1234567890123456.0, b, sizeof b), "1234567890123456.0") == 0);
    CHECK(strcmp(ms_eval_pyrepr(-2.5, b, sizeof b), "-2.5") == 0);
    CHECK(strcmp(ms_eval_pyrepr(NAN, b, sizeof b), "nan") == 0);
    /* numpy round(x, 4) = rint(x * 1e4) / 1e4: half to even, on the scaled double */
    CHECK(ms_eval_round4(0.74664) == 0.7466);
    CHECK(ms_eval_round4(0.99996) == 1.0);
    /* values from numpy.round; Python's round(0.12345, 4) would give 0.1235 */
    CHECK(ms_eval_round4(0.00005) == 0.0);       /* 0.5 -> 0 (even) */
    CHECK(ms_eval_round4(0.00025) == 0.0002);    /* 2.5 -> 2 */
    CHECK(ms_eval_round4(0.00015) == 0.0001);    /* 1.4999999999999998 */
    CHECK(ms_eval_round4(0.12345) == 0.1234);    /* 1234.5 -> 1234 */
    CHECK(isnan(ms_eval_round4(NAN)));
    /* mean: pairwise like numpy; NaN propagates; empty is NaN */
    double v[3] = { 1.0, NAN, 0.5 };
    CHECK(isnan(ms_eval_mean(v, 3)));
    CHECK(isnan(ms_eval_mean(v, 0)));
    CHECK(ms_eval_mean(v, 1) == 1.0);
}

int main(void)
{
    test_areas();
    test_nsd_simple();
    test_nsd_random();
    test_case_rules();
    test_numbers();
    TEST_END();
}
