/* medsam-segment without the network: preprocessing of 2D_brainpd equals the
 * upstream encoder input, box scaling equals boxes256, the propagation box and
 * post-processing follow upstream, bad cases are refused with the file named. */
#include <stdint.h>
#include <stdlib.h>

#include "ms_npy.h"
#include "ms_npz.h"
#include "ms_test.h"
#include "segment_core.h"

static const char *data_path(const char *rel)
{
    static char buf[4096];
    const char *dir = getenv("MS_TEST_DATA");
    snprintf(buf, sizeof buf, "%s/segment/%s", dir ? dir : "tests/data", rel);
    return buf;
}

static double as_f64(const ms_array *a, size_t i)
{
    switch (a->dtype) {
    case MS_I64: return (double)((const int64_t *)a->data)[i];
    case MS_I32: return ((const int32_t *)a->data)[i];
    case MS_F32: return ((const float *)a->data)[i];
    case MS_F64: return ((const double *)a->data)[i];
    default: return NAN;
    }
}

static void test_brainpd(void)
{
    seg_case c;
    ms_err err;
    ms_array ref = { 0 }, b256 = { 0 };
    int rc = seg_case_load(data_path("2D_brainpd.npz"), &c, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    if (rc != MS_OK)
        return;
    CHECK(!c.is3d && c.h == 257 && c.w == 221 && c.cn == 3 && c.nbox == 3);

    float *x = malloc(3 * 256 * 256 * sizeof *x);
    int nh = 0, nw = 0;
    CHECK_EQ_INT(seg_prep_image(c.imgs.data, c.h, c.w, c.cn, x, &nh, &nw, &err), MS_OK);
    CHECK(nh == 256 && nw == 220);
    rc = ms_npy_read(data_path("input.npy"), &ref, NULL, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    if (rc == MS_OK) {
        CHECK(ref.dtype == MS_F32 && ms_array_nelem(&ref) == 3 * 256 * 256);
        size_t nbad = 0;
        double maxd = 0;
        for (size_t i = 0; i < 3 * 256 * 256; i++) {
            double d = fabs(x[i] - ((float *)ref.data)[i]);
            nbad += d != 0;
            maxd = d > maxd ? d : maxd;
        }
        CHECKF(nbad == 0, "%zu encoder input values differ, max %g", nbad, maxd);
    }

    rc = ms_npy_read(data_path("boxes256.npy"), &b256, NULL, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    if (rc == MS_OK && b256.ndim == 2 && b256.shape[0] == 3 && b256.shape[1] == 4) {
        for (size_t k = 0; k < 3; k++) {
            float box[4];
            seg_box256(c.boxes[k], c.h, c.w, box);
            for (int i = 0; i < 4; i++)
                CHECKF(box[i] == as_f64(&b256, k * 4 + i), "box %zu[%d]: %g vs %g", k, i,
                       box[i], as_f64(&b256, k * 4 + i));
        }
    } else {
        CHECK(!"boxes256.npy has shape (3, 4)");
    }
    free(x);
    ms_array_free(&ref);
    ms_array_free(&b256);
    seg_case_free(&c);
}

static void test_box_scaling(void)
{
    float b[4];
    const double box[4] = { 10.9, 0.4, 220.99, 256.0 };
    seg_box256(box, 257, 221, b);          /* ratio 256/257: truncation */
    CHECK(b[0] == 10 && b[1] == 0 && b[2] == 220 && b[3] == 255);
    const double small[4] = { 3, 5, 63, 64 };
    seg_box256(small, 64, 32, b);          /* ratio 4 */
    CHECK(b[0] == 12 && b[1] == 20 && b[2] == 252 && b[3] == 256);
}

static void test_box_from_mask(void)
{
    enum { H = 257, W = 221 };
    static uint8_t m[H * W];
    float b[4];
    ms_err err;
    CHECK_EQ_INT(seg_box_from_mask(m, H, W, b, &err), 0);     /* empty */
    memset(m, 1, sizeof m);                                   /* full: clamp to 256 */
    CHECK_EQ_INT(seg_box_from_mask(m, H, W, b, &err), 1);
    CHECK(b[0] == 0 && b[1] == 0 && b[2] == 219 + 3 && b[3] == 256);
    memset(m, 0, sizeof m);
    m[100 * W + 50] = 3;   /* 3/257*256-weight survives INTER_AREA rounding... */
    int r3 = seg_box_from_mask(m, H, W, b, &err);
    m[100 * W + 50] = 1;   /* ...a lone 1 averages below 0.5 and vanishes */
    int r1 = seg_box_from_mask(m, H, W, b, &err);
    CHECK_EQ_INT(r1, 0);
    CHECK_EQ_INT(r3, 1);

    /* enlargement (128 -> 256): block rows 10..20, cols 30..40 */
    static uint8_t e[128 * 128];
    for (int y = 10; y <= 20; y++)
        for (int x = 30; x <= 40; x++)
            e[y * 128 + x] = 2;
    CHECK_EQ_INT(seg_box_from_mask(e, 128, 128, b, &err), 1);
    CHECKF(b[0] == 60 - 3 && b[1] == 20 - 3 && b[2] == 81 + 3 && b[3] == 41 + 3,
           "box %g %g %g %g", b[0], b[1], b[2], b[3]);
}

static void test_postprocess(void)
{
    static float lg[256 * 256];
    static uint8_t mask[100 * 80];
    ms_err err;
    /* positive logits only in columns < 64 of the 256x205 crop */
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++)
            lg[y * 256 + x] = x < 64 ? 5.f : x < 205 ? -5.f : 100.f;
    long n = seg_postprocess(lg, 256, 205, 100, 80, 7, mask, &err);
    CHECK(n > 0);
    int ok = 1;
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 80; x++) {
            /* source column of x: (x + 0.5) * 205/80 - 0.5 */
            double s = (x + 0.5) * 205.0 / 80 - 0.5;
            if (s < 62.5)
                ok &= mask[y * 80 + x] == 7;
            else if (s > 63.5)
                ok &= mask[y * 80 + x] == 0;
        }
    CHECK(ok);   /* the padding (columns >= 205) never leaks in */
    for (int i = 0; i < 256 * 256; i++)
        lg[i] = 1e-30f;        /* sigmoid rounds to 0.5: not > 0.5 upstream */
    CHECK_EQ_INT(seg_postprocess(lg, 256, 256, 100, 80, 1, mask, &err), 0);
}

static void expect_bad(const char *name, int code, const char *fragment)
{
    seg_case c;
    ms_err err;
    char rel[256];
    snprintf(rel, sizeof rel, "bad/%s", name);
    const char *p = data_path(rel);
    int rc = seg_case_load(p, &c, &err);
    CHECKF(rc != MS_OK, "%s accepted", name);
    if (rc == MS_OK) {
        seg_case_free(&c);
        return;
    }
    if (code)
        CHECKF(rc == code, "%s: code %d, expected %d (%s)", name, rc, code, err.msg);
    CHECK_STR_CONTAINS(err.msg, name);
    if (fragment)
        CHECK_STR_CONTAINS(err.msg, fragment);
    CHECKF(strchr(err.msg, '\n') == NULL, "%s: multi-line message", name);
}

static void test_bad_cases(void)
{
    expect_bad("2D_nan.npz", MS_EINVAL, "not finite");
    expect_bad("2D_inf.npz", MS_EINVAL, "not finite");
    expect_bad("2D_inverted.npz", MS_EINVAL, "inverted");
    expect_bad("2D_outside.npz", MS_EINVAL, "outside");
    expect_bad("2D_negative.npz", MS_EINVAL, "outside");
    expect_bad("2D_boxshape.npz", MS_ESHAPE, "(N, 4)");
    expect_bad("2D_box3d.npz", MS_ESHAPE, "(N, 4)");
    expect_bad("2D_rank.npz", MS_ESHAPE, "(H, W, 3)");
    expect_bad("2D_float.npz", MS_EUNSUPP, "uint8");
    expect_bad("2D_noboxes.npz", MS_ENOTFOUND, "boxes");
    expect_bad("2D_truncated.npz", 0, NULL);
    expect_bad("3D_rank.npz", MS_ESHAPE, "(D, H, W)");
    expect_bad("3D_zorder.npz", MS_EINVAL, "z_min");
    expect_bad("3D_zoutside.npz", MS_EINVAL, "slices");
    expect_bad("3D_box2d.npz", MS_ESHAPE, "(N, 6)");
}

static void test_grey_case(void)
{
    seg_case c;
    ms_err err;
    int rc = seg_case_load(data_path("grey_ok/2D_grey.npz"), &c, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    if (rc != MS_OK)
        return;
    CHECK(c.cn == 1 && c.h == 48 && c.w == 64 && c.nbox == 2);
    CHECK(c.boxes[0][0] == (double)5.5f && c.boxes[0][1] == (double)4.2f);
    /* a grey image is repeated to three identical channels */
    float *x = malloc(3 * 256 * 256 * sizeof *x);
    int nh, nw;
    CHECK_EQ_INT(seg_prep_image(c.imgs.data, c.h, c.w, 1, x, &nh, &nw, &err), MS_OK);
    CHECK(nh == 192 && nw == 256);
    CHECK(memcmp(x, x + 65536, 65536 * sizeof *x) == 0);
    CHECK(memcmp(x, x + 2 * 65536, 65536 * sizeof *x) == 0);
    float mn = 1, mx = 0;
    for (int i = 0; i < 192 * 256; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    CHECK(mn == 0.f && mx == 1.f);
    CHECK(x[200 * 256 + 3] == 0.f);   /* padding */
    free(x);
    seg_case_free(&c);
}

int main(void)
{
    test_brainpd();
    test_box_scaling();
    test_box_from_mask();
    test_postprocess();
    test_bad_cases();
    test_grey_case();
    TEST_END();
}
