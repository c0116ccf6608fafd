/* Connected components, dust and tumour instances (src/prep/cc.c, labels.c)
 * against hand-made cases and a brute-force flood fill on random volumes. */
#include "ms_test.h"
#include "ms_cc.h"
#include "ms_labels.h"

#include <stdint.h>

/* ---------------------------------------------------------- reference */

/* Neighbour offsets of a connectivity (13 or fewer "half" + mirrored). */
static int offsets(int conn, int off[26][3])
{
    int n = 0;
    for (int dz = -1; dz <= 1; dz++)
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int m = (dz != 0) + (dy != 0) + (dx != 0);
                if (!m)
                    continue;
                int ok = conn == 26 || (conn == 18 && m <= 2) || (conn == 6 && m == 1) ||
                         (conn == 8 && dz == 0) || (conn == 4 && dz == 0 && m == 1);
                if (ok) {
                    off[n][0] = dz, off[n][1] = dy, off[n][2] = dx;
                    n++;
                }
            }
    return n;
}

/* Flood fill with an explicit stack; components numbered in raster order. */
static size_t ref_label(const uint8_t *lab, int d, int h, int w, int conn, int value,
                        int32_t *out, uint32_t *sizes)
{
    int off[26][3];
    int no = offsets(conn, off);
    size_t n = (size_t)d * h * w, nc = 0;
    size_t *stack = malloc(n * sizeof *stack);
    memset(out, 0, n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (!lab[i] || out[i] || (value >= 0 && lab[i] != value))
            continue;
        nc++;
        size_t sp = 0, cnt = 0;
        stack[sp++] = i;
        out[i] = (int32_t)nc;
        while (sp) {
            size_t v = stack[--sp];
            cnt++;
            int z = (int)(v / ((size_t)h * w)), y = (int)(v / w % h), x = (int)(v % w);
            for (int k = 0; k < no; k++) {
                int zz = z + off[k][0], yy = y + off[k][1], xx = x + off[k][2];
                if (zz < 0 || yy < 0 || xx < 0 || zz >= d || yy >= h || xx >= w)
                    continue;
                size_t u = ((size_t)zz * h + yy) * w + xx;
                if (lab[u] == lab[i] && !out[u]) {
                    out[u] = (int32_t)nc;
                    stack[sp++] = u;
                }
            }
        }
        if (sizes)
            sizes[nc] = (uint32_t)cnt;
    }
    free(stack);
    return nc;
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

/* Random blobs: sparse seeds grown along x, with nlab label values. */
static void random_volume(uint8_t *v, size_t n, int w, int density, int nlab, int runlen)
{
    memset(v, 0, n);
    for (size_t i = 0; i < n; i++)
        if ((int)(rnd() % 100) < density) {
            uint8_t c = (uint8_t)(1 + rnd() % nlab);
            int len = 1 + (int)(rnd() % runlen);
            for (int k = 0; k < len && i + k < n && (i + k) % w >= i % w; k++)
                v[i + k] = c;
        }
}

/* ---------------------------------------------------------- cases */

static void check_against_ref(const uint8_t *v, int d, int h, int w, int conn, int value)
{
    size_t n = (size_t)d * h * w;
    int32_t *a = malloc(n * 4), *b = malloc(n * 4);
    uint32_t *rs = calloc(n + 1, 4), *sizes = NULL;
    size_t nc = 0;
    ms_err err;
    int rc = ms_cc_label(v, d, h, w, conn, value, a, &sizes, &nc, &err);
    CHECK_EQ_INT(rc, MS_OK);
    size_t rn = ref_label(v, d, h, w, conn, value, b, rs);
    CHECKF(nc == rn, "conn %d value %d: %zu components, reference %zu", conn, value, nc, rn);
    CHECKF(memcmp(a, b, n * 4) == 0, "conn %d value %d %dx%dx%d: labels differ", conn, value, d, h, w);
    if (sizes && nc == rn)
        CHECKF(memcmp(sizes, rs, (nc + 1) * 4) == 0, "conn %d: sizes differ", conn);
    free(sizes);

    /* dust against the reference sizes, thresholds 1..4 */
    for (size_t thr = 2; thr <= 5; thr += 3) {
        uint8_t *du = malloc(n), *ex = malloc(n);
        memcpy(du, v, n);
        memcpy(ex, v, n);
        size_t removed = 0, exr = 0;
        if (value < 0) {
            CHECK_EQ_INT(ms_cc_dust(du, d, h, w, conn, thr, &removed, &err), MS_OK);
            for (size_t i = 0; i < n; i++)
                if (b[i] && rs[b[i]] < thr)
                    ex[i] = 0;
            for (size_t k = 1; k <= rn; k++)
                exr += rs[k] < thr;
            CHECKF(memcmp(du, ex, n) == 0, "conn %d dust %zu differs", conn, thr);
            CHECK_EQ_INT(removed, exr);
        }
        free(du);
        free(ex);
    }
    free(a);
    free(b);
    free(rs);
}

static void test_random(void)
{
    static const int conns[] = {4, 8, 6, 18, 26};
    static const int dims[][3] = {{1, 1, 1}, {1, 7, 9}, {5, 6, 37}, {9, 11, 13}, {3, 1, 70}, {16, 24, 40}};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        int d = dims[di][0], h = dims[di][1], w = dims[di][2];
        size_t n = (size_t)d * h * w;
        uint8_t *v = malloc(n);
        for (int rep = 0; rep < 6; rep++) {
            random_volume(v, n, w, 5 + 12 * rep, 1 + rep % 3, 1 + 3 * (rep % 4));
            for (size_t c = 0; c < 5; c++) {
                check_against_ref(v, d, h, w, conns[c], -1);
                check_against_ref(v, d, h, w, conns[c], 1);
            }
        }
        free(v);
    }
}

/* ms_cc_clean (both dust steps on runs) against two ms_cc_dust calls:
 * the same volume after apply, the same kept slices, and paint of those
 * slices equal to the gathered volume. */
static void check_clean(const uint8_t *v, int d, int h, int w, int conn3, size_t min3, int conn2,
                        size_t min2)
{
    size_t n = (size_t)d * h * w, slice = (size_t)h * w;
    uint8_t *want = malloc(n + 1), *got = malloc(n + 1), *paint = malloc(n + 1);
    size_t *zw = malloc((d + 1) * sizeof *zw), *zg = malloc((d + 1) * sizeof *zg);
    ms_err err;
    memcpy(want, v, n);
    memcpy(got, v, n);
    CHECK_EQ_INT(ms_cc_dust(want, d, h, w, conn3, min3, NULL, &err), MS_OK);
    CHECK_EQ_INT(ms_cc_dust(want, d, h, w, conn2, min2, NULL, &err), MS_OK);
    ms_label_runs r;
    CHECK_EQ_INT(ms_cc_clean(got, d, h, w, conn3, min3, conn2, min2, &r, &err), MS_OK);
    CHECKF(memcmp(got, v, n) == 0, "clean %d/%d: the input was written", conn3, conn2);
    ms_label_runs_apply(&r, got);
    CHECKF(memcmp(got, want, n) == 0, "clean %d/%zu then %d/%zu, %dx%dx%d: differs from dust",
           conn3, min3, conn2, min2, d, h, w);
    size_t nw = ms_labels_nonzero_slices(want, d, slice, zw);
    size_t ng = ms_label_runs_nonzero_slices(&r, zg);
    CHECK_EQ_INT(ng, nw);
    if (ng == nw && nw) {
        CHECKF(memcmp(zg, zw, nw * sizeof *zw) == 0, "clean: kept slices differ");
        memset(paint, 0xee, n);
        ms_label_runs_paint(&r, zg, ng, paint);
        ms_labels_gather_slices(want, slice, zw, nw);
        CHECKF(memcmp(paint, want, nw * slice) == 0, "clean: painted slices differ");
    }
    ms_label_runs_free(&r);
    free(want);
    free(got);
    free(paint);
    free(zw);
    free(zg);
}

static void test_clean(void)
{
    static const int dims[][3] = {{1, 1, 1}, {1, 7, 9}, {5, 6, 37}, {9, 11, 13}, {3, 1, 70},
                                  {16, 24, 40}, {12, 30, 64}};
    static const int pairs[][2] = {{26, 8}, {6, 4}, {18, 8}, {26, 4}, {8, 8}};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        int d = dims[di][0], h = dims[di][1], w = dims[di][2];
        size_t n = (size_t)d * h * w;
        uint8_t *v = malloc(n);
        for (int rep = 0; rep < 6; rep++) {
            random_volume(v, n, w, 5 + 12 * rep, 1 + rep % 3, 1 + 3 * (rep % 4));
            for (size_t c = 0; c < sizeof pairs / sizeof pairs[0]; c++) {
                check_clean(v, d, h, w, pairs[c][0], 4 + rep, pairs[c][1], 2 + rep % 3);
                check_clean(v, d, h, w, pairs[c][0], 100, pairs[c][1], 10);
                check_clean(v, d, h, w, pairs[c][0], 1, pairs[c][1], 1);
            }
        }
        free(v);
    }
    /* removed runs of one value meet across slices: still removed, and the
     * live run beside them keeps its own size */
    uint8_t u[2 * 2 * 6] = {2, 2, 0, 1, 1, 1, 2, 0, 0, 0, 0, 1,
                            2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    check_clean(u, 2, 2, 6, 26, 5, 8, 3);
    check_clean(u, 2, 2, 6, 26, 4, 8, 5);
    ms_label_runs r;
    ms_err err;
    CHECK_EQ_INT(ms_cc_clean(u, 2, 2, 6, 26, 4, 26, 3, &r, &err), MS_EINVAL);
    CHECK_EQ_INT(ms_cc_clean(u, 2, 2, 6, 7, 4, 8, 3, &r, &err), MS_EINVAL);
    CHECK_EQ_INT(ms_cc_clean(u, 0, 2, 6, 26, 4, 8, 3, &r, &err), MS_OK);
    CHECK_EQ_INT(ms_label_runs_nonzero_slices(&r, NULL), 0);
    ms_label_runs_free(&r);
}

static size_t ncomp_of(const uint8_t *v, int d, int h, int w, int conn)
{
    size_t nc = 0;
    ms_err err;
    CHECK_EQ_INT(ms_cc_label(v, d, h, w, conn, -1, NULL, NULL, &nc, &err), MS_OK);
    return nc;
}

/* 26 joins corners, 18 edges, 6 faces only; 8 / 4 likewise in a slice,
 * and 2D connectivities never join slices. */
static void test_connectivity(void)
{
    uint8_t v[8] = {0};
    v[0] = v[7] = 1;   /* (0,0,0) and (1,1,1): corner */
    CHECK_EQ_INT(ncomp_of(v, 2, 2, 2, 26), 1);
    CHECK_EQ_INT(ncomp_of(v, 2, 2, 2, 18), 2);
    CHECK_EQ_INT(ncomp_of(v, 2, 2, 2, 6), 2);
    memset(v, 0, 8);
    v[0] = v[6] = 1;   /* (0,0,0) and (1,1,0): edge */
    CHECK_EQ_INT(ncomp_of(v, 2, 2, 2, 26), 1);
    CHECK_EQ_INT(ncomp_of(v, 2, 2, 2, 18), 1);
    CHECK_EQ_INT(ncomp_of(v, 2, 2, 2, 6), 2);
    memset(v, 0, 8);
    v[0] = v[4] = 1;   /* (0,0,0) and (1,0,0): face across slices */
    CHECK_EQ_INT(ncomp_of(v, 2, 2, 2, 6), 1);
    CHECK_EQ_INT(ncomp_of(v, 2, 2, 2, 8), 2);
    CHECK_EQ_INT(ncomp_of(v, 2, 2, 2, 4), 2);
    uint8_t s[4] = {1, 0, 0, 1};   /* 2D diagonal */
    CHECK_EQ_INT(ncomp_of(s, 1, 2, 2, 8), 1);
    CHECK_EQ_INT(ncomp_of(s, 1, 2, 2, 4), 2);
}

/* Different values touching are separate components; dust counts each. */
static void test_multilabel(void)
{
    /* 1x3x6: a block of 1s next to a block of 2s, and a lone 2 touching the 1s diagonally */
    uint8_t v[18] = {
        1, 1, 1, 2, 2, 2,
        1, 1, 1, 2, 2, 2,
        0, 0, 0, 0, 0, 0,
    };
    CHECK_EQ_INT(ncomp_of(v, 1, 3, 6, 8), 2);
    uint8_t u[18];
    memcpy(u, v, 18);
    u[12] = 2;   /* a 2 under the 1s: touches only 1s */
    CHECK_EQ_INT(ncomp_of(u, 1, 3, 6, 8), 3);
    ms_err err;
    size_t removed = 0;
    CHECK_EQ_INT(ms_cc_dust(u, 1, 3, 6, 8, 2, &removed, &err), MS_OK);
    CHECK_EQ_INT(removed, 1);
    CHECK_EQ_INT(u[12], 0);
    CHECK(memcmp(u, v, 18) == 0);
    /* threshold is strict: a component of exactly min_size stays */
    memcpy(u, v, 18);
    CHECK_EQ_INT(ms_cc_dust(u, 1, 3, 6, 8, 6, &removed, &err), MS_OK);
    CHECK_EQ_INT(removed, 0);
    CHECK_EQ_INT(ms_cc_dust(u, 1, 3, 6, 8, 7, &removed, &err), MS_OK);
    CHECK_EQ_INT(removed, 2);
    CHECK_EQ_INT(ms_labels_max(u, 18, -1), 0);
}

/* Components are numbered by their first voxel in C order, even when a
 * later run joins two earlier pieces (the U below). */
static void test_raster_numbering(void)
{
    uint8_t v[15] = {
        0, 1, 0, 0, 1,
        0, 1, 0, 3, 1,
        1, 1, 1, 1, 1,
    };
    int32_t out[15];
    uint32_t *sizes = NULL;
    size_t nc = 0;
    ms_err err;
    CHECK_EQ_INT(ms_cc_label(v, 1, 3, 5, 4, -1, out, &sizes, &nc, &err), MS_OK);
    CHECK_EQ_INT(nc, 2);
    CHECK_EQ_INT(out[1], 1);
    CHECK_EQ_INT(out[4], 1);
    CHECK_EQ_INT(out[8], 2);
    CHECK_EQ_INT(out[10], 1);
    CHECK_EQ_INT(sizes[1], 9);
    CHECK_EQ_INT(sizes[2], 1);
    free(sizes);
    /* with 8-connectivity the 3 stays apart (different value) */
    CHECK_EQ_INT(ncomp_of(v, 1, 3, 5, 8), 2);
    /* a 3D volume where the second slice starts a component earlier in its
     * slice than the first slice's: order is still by z first */
    uint8_t t[2 * 1 * 4] = {0, 0, 0, 5, 5, 0, 0, 0};
    CHECK_EQ_INT(ms_cc_label(t, 2, 1, 4, 6, -1, out, NULL, &nc, &err), MS_OK);
    CHECK_EQ_INT(nc, 2);
    CHECK_EQ_INT(out[3], 1);
    CHECK_EQ_INT(out[4], 2);
}

static void test_instances(void)
{
    /* value 4 in three 26-components; other labels up to 2 */
    uint8_t v[2 * 3 * 4] = {
        4, 0, 0, 4,
        0, 0, 0, 0,
        1, 2, 0, 0,

        0, 4, 0, 0,
        0, 0, 0, 0,
        4, 4, 0, 0,
    };
    uint8_t u[24];
    memcpy(u, v, 24);
    size_t n = 0;
    ms_err err;
    CHECK_EQ_INT(ms_labels_split_instances(u, 2, 3, 4, 4, 26, &n, &err), MS_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(u[0], 3);    /* (0,0,0) + (1,0,1) edge-joined: instance 1 -> 2 + 1 */
    CHECK_EQ_INT(u[13], 3);
    CHECK_EQ_INT(u[3], 4);    /* (0,0,3): instance 2 */
    CHECK_EQ_INT(u[20], 5);   /* (1,2,0..1): instance 3 */
    CHECK_EQ_INT(u[21], 5);
    CHECK_EQ_INT(u[8], 1);
    CHECK_EQ_INT(u[9], 2);
    /* the largest label itself: offset is the max of the others */
    memcpy(u, v, 24);
    for (int i = 0; i < 24; i++)
        u[i] = u[i] == 2 ? 0 : u[i];
    CHECK_EQ_INT(ms_labels_split_instances(u, 2, 3, 4, 4, 6, &n, &err), MS_OK);
    CHECK_EQ_INT(n, 4);       /* 6-connectivity splits the corner pair */
    CHECK_EQ_INT(u[0], 2);
    CHECK_EQ_INT(u[3], 3);
    CHECK_EQ_INT(u[13], 4);
    CHECK_EQ_INT(u[20], 5);
    /* overflow past 255: error, labels untouched */
    memcpy(u, v, 24);
    u[8] = 253;
    CHECK_EQ_INT(ms_labels_split_instances(u, 2, 3, 4, 4, 26, &n, &err), MS_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "255");
    CHECK_EQ_INT(u[0], 4);
    /* absent value: nothing happens */
    memcpy(u, v, 24);
    CHECK_EQ_INT(ms_labels_split_instances(u, 2, 3, 4, 9, 26, &n, &err), MS_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(memcmp(u, v, 24) == 0);
}

static void test_labels_misc(void)
{
    uint8_t v[12] = {0, 1, 12, 3, 12, 0, 0, 0, 0, 0, 0, 7};
    int ids[2] = {12, 7};
    CHECK_EQ_INT(ms_labels_remove(v, 12, ids, 2), 3);
    CHECK_EQ_INT(v[2], 0);
    CHECK_EQ_INT(v[11], 0);
    CHECK_EQ_INT(v[1], 1);
    size_t z[3];
    /* slices of 4: [0 1 0 3] [0 0 0 0] [0 0 0 0] */
    CHECK_EQ_INT(ms_labels_nonzero_slices(v, 3, 4, z), 1);
    CHECK_EQ_INT(z[0], 0);
    uint8_t g[12] = {1, 1, 1, 1, 0, 0, 0, 0, 3, 3, 3, 3};
    size_t keep[2] = {0, 2};
    ms_labels_gather_slices(g, 4, keep, 2);
    CHECK_EQ_INT(g[4], 3);
    CHECK_EQ_INT(g[3], 1);

    /* dtype conversion */
    ms_err err;
    ms_array a = {0};
    size_t shape[1] = {4};
    CHECK_EQ_INT(ms_array_alloc(&a, MS_I16, 1, shape, NULL, &err), MS_OK);
    int16_t *p = a.data;
    p[0] = 0, p[1] = 255, p[2] = 3, p[3] = 17;
    CHECK_EQ_INT(ms_labels_to_u8(&a, "lab.nii", &err), MS_OK);
    CHECK_EQ_INT(a.dtype, MS_U8);
    CHECK_EQ_INT(((uint8_t *)a.data)[1], 255);
    CHECK_EQ_INT(((uint8_t *)a.data)[3], 17);
    ms_array_free(&a);
    CHECK_EQ_INT(ms_array_alloc(&a, MS_I32, 1, shape, NULL, &err), MS_OK);
    ((int32_t *)a.data)[2] = 256;
    CHECK_EQ_INT(ms_labels_to_u8(&a, "lab.nii", &err), MS_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "lab.nii: label value 256");
    ms_array_free(&a);
    CHECK_EQ_INT(ms_array_alloc(&a, MS_I8, 1, shape, NULL, &err), MS_OK);
    ((int8_t *)a.data)[2] = -1;
    CHECK_EQ_INT(ms_labels_to_u8(&a, "lab.nii", &err), MS_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "label value -1");
    ms_array_free(&a);
    CHECK_EQ_INT(ms_array_alloc(&a, MS_F32, 1, shape, NULL, &err), MS_OK);
    ((float *)a.data)[0] = 2.0f;
    ((float *)a.data)[1] = 254.0f;
    CHECK_EQ_INT(ms_labels_to_u8(&a, "lab.nii", &err), MS_OK);
    CHECK_EQ_INT(((uint8_t *)a.data)[0], 2);
    CHECK_EQ_INT(((uint8_t *)a.data)[1], 254);
    ms_array_free(&a);
    CHECK_EQ_INT(ms_array_alloc(&a, MS_F64, 1, shape, NULL, &err), MS_OK);
    ((double *)a.data)[3] = 1.5;
    CHECK_EQ_INT(ms_labels_to_u8(&a, "lab.nii", &err), MS_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "not an integer");
    ((double *)a.data)[3] = NAN;
    CHECK_EQ_INT(ms_labels_to_u8(&a, "lab.nii", &err), MS_EINVAL);
    ms_array_free(&a);
}

static void test_errors(void)
{
    uint8_t v[4] = {1};
    ms_err err;
    CHECK_EQ_INT(ms_cc_label(v, 1, 2, 2, 5, -1, NULL, NULL, NULL, &err), MS_EINVAL);
    CHECK_EQ_INT(ms_cc_label(v, 1, 2, 2, 8, 0, NULL, NULL, NULL, &err), MS_EINVAL);
    CHECK_EQ_INT(ms_cc_label(v, (size_t)1 << 20, (size_t)1 << 20, 4, 8, -1, NULL, NULL, NULL, &err),
                 MS_ELIMIT);
    size_t nc = 7;
    CHECK_EQ_INT(ms_cc_label(v, 0, 2, 2, 8, -1, NULL, NULL, &nc, &err), MS_OK);
    CHECK_EQ_INT(nc, 0);
}

int main(void)
{
    test_connectivity();
    test_multilabel();
    test_raster_numbering();
    test_instances();
    test_labels_misc();
    test_errors();
    test_random();
    test_clean();
    TEST_END();
}
