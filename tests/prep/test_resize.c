/* INTER_AREA against OpenCV 4.6 (exact equality) and bilinear against a
 * float32 reference of PyTorch's kernel (tests/gen_resize_refs.py). */
#include <stdint.h>
#include <stdlib.h>

#include "ms_npz.h"
#include "ms_resize.h"
#include "ms_test.h"

static char *data_path(const char *name)
{
    const char *dir = getenv("MS_TEST_DATA");
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/resize/%s", dir ? dir : "tests/data", name);
    return buf;
}

static int load_pair(const char *name, ms_array *src, ms_array *dst)
{
    ms_err err;
    const char *p = data_path(name);
    if (ms_npz_load(p, "src", src, NULL, &err) != MS_OK ||
        ms_npz_load(p, "dst", dst, NULL, &err) != MS_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static void test_area_case(int n)
{
    char name[64];
    ms_array src = { 0 }, dst = { 0 };
    snprintf(name, sizeof name, "area%02d.npz", n);
    CHECKF(load_pair(name, &src, &dst) == 0, "%s", name);
    if (!src.data || !dst.data)
        goto done;
    CHECK(src.dtype == MS_U8 && dst.dtype == MS_U8);
    int cn = src.ndim == 3 ? (int)src.shape[2] : 1;
    int sh = (int)src.shape[0], sw = (int)src.shape[1];
    int dh = (int)dst.shape[0], dw = (int)dst.shape[1];
    uint8_t *out = malloc((size_t)dh * dw * cn);
    ms_err err;
    CHECK_EQ_INT(ms_resize_area_u8(src.data, sh, sw, cn, out, dh, dw, &err), MS_OK);
    size_t nbad = 0, first = 0, total = (size_t)dh * dw * cn;
    for (size_t i = 0; i < total; i++)
        if (out[i] != ((uint8_t *)dst.data)[i] && nbad++ == 0)
            first = i;
    CHECKF(nbad == 0, "%s: %dx%dx%d -> %dx%d: %zu of %zu values differ (first at %zu: %d vs %d)",
           name, sh, sw, cn, dh, dw, nbad, total, first, out[first],
           ((uint8_t *)dst.data)[first]);
    free(out);
done:
    ms_array_free(&src);
    ms_array_free(&dst);
}

static void test_bilinear_case(int n)
{
    char name[64];
    ms_array src = { 0 }, dst = { 0 };
    snprintf(name, sizeof name, "bilin%02d.npz", n);
    CHECKF(load_pair(name, &src, &dst) == 0, "%s", name);
    if (!src.data || !dst.data)
        goto done;
    CHECK(src.dtype == MS_F32 && dst.dtype == MS_F32);
    int sh = (int)src.shape[0], sw = (int)src.shape[1];
    int dh = (int)dst.shape[0], dw = (int)dst.shape[1];
    float *out = malloc((size_t)dh * dw * sizeof *out);
    ms_err err;
    CHECK_EQ_INT(ms_resize_bilinear_f32(src.data, sh, sw, sw, out, dh, dw, &err), MS_OK);
    double maxd = 0;
    for (size_t i = 0; i < (size_t)dh * dw; i++) {
        double d = fabs(out[i] - ((float *)dst.data)[i]);
        maxd = d > maxd ? d : maxd;
    }
    /* Same formula and order in float32: agreement to the last bits. */
    CHECKF(maxd <= 1e-5, "%s: max |diff| %g", name, maxd);
    free(out);
done:
    ms_array_free(&src);
    ms_array_free(&dst);
}

/* Properties that hold whatever OpenCV does. */
static void test_properties(void)
{
    uint8_t src[6 * 4 * 3], dst[6 * 4 * 3];
    ms_err err;
    for (int i = 0; i < (int)sizeof src; i++)
        src[i] = (uint8_t)(i * 37 + 11);
    CHECK_EQ_INT(ms_resize_area_u8(src, 6, 4, 3, dst, 6, 4, &err), MS_OK);
    CHECK(memcmp(src, dst, sizeof src) == 0);
    /* constant image stays constant under shrink and enlarge */
    uint8_t c[9 * 7], big[20 * 15], small[4 * 3];
    memset(c, 77, sizeof c);
    CHECK_EQ_INT(ms_resize_area_u8(c, 9, 7, 1, big, 20, 15, &err), MS_OK);
    CHECK_EQ_INT(ms_resize_area_u8(c, 9, 7, 1, small, 4, 3, &err), MS_OK);
    int okb = 1, oks = 1;
    for (size_t i = 0; i < sizeof big; i++)
        okb &= big[i] == 77;
    for (size_t i = 0; i < sizeof small; i++)
        oks &= small[i] == 77;
    CHECK(okb && oks);
    CHECK_EQ_INT(ms_resize_area_u8(c, 0, 7, 1, small, 4, 3, &err), MS_EINVAL);
    CHECK_EQ_INT(ms_resize_area_u8(c, 9, 7, 5, small, 4, 3, &err), MS_EINVAL);

    int nh, nw;
    ms_resize_longest_side(257, 221, 256, &nh, &nw);
    CHECK(nh == 256 && nw == 220);
    ms_resize_longest_side(128, 128, 256, &nh, &nw);
    CHECK(nh == 256 && nw == 256);
    ms_resize_longest_side(512, 301, 256, &nh, &nw);
    CHECK(nh == 256 && nw == 151);
}

int main(void)
{
    for (int n = 0; n < 25; n++)
        test_area_case(n);
    for (int n = 0; n < 6; n++)
        test_bilinear_case(n);
    test_properties();
    TEST_END();
}
