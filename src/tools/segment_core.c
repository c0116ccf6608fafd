/* medsam-segment: loading and checking a case, pre- and post-processing.
 * See segment_core.h and SEMANTICS.md § medsam-segment. */
#include "segment_core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_npz.h"
#include "ms_resize.h"

/* Element i of a numeric array as a double (bool and integers exactly up to
 * 2^53, which any pixel coordinate is). */
static double elem_f64(const ms_array *a, size_t i)
{
    switch (a->dtype) {
    case MS_BOOL: case MS_U8: return ((const uint8_t *)a->data)[i];
    case MS_I8: return ((const int8_t *)a->data)[i];
    case MS_I16: return ((const int16_t *)a->data)[i];
    case MS_U16: return ((const uint16_t *)a->data)[i];
    case MS_I32: return ((const int32_t *)a->data)[i];
    case MS_U32: return ((const uint32_t *)a->data)[i];
    case MS_I64: return (double)((const int64_t *)a->data)[i];
    case MS_U64: return (double)((const uint64_t *)a->data)[i];
    case MS_F32: return ((const float *)a->data)[i];
    case MS_F64: return ((const double *)a->data)[i];
    default: return NAN;
    }
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* imgs: uint8; (D,H,W) for a 3D name; (H,W) or (H,W,3) otherwise. */
static int check_imgs(const char *path, seg_case *c, ms_err *err)
{
    const ms_array *a = &c->imgs;
    if (a->dtype != MS_U8)
        return ms_seterr(err, MS_EUNSUPP, "%s: imgs has dtype %s, expected uint8 (u1)",
                         path, ms_dtype_name(a->dtype));
    if (c->is3d) {
        if (a->ndim != 3)
            return ms_seterr(err, MS_ESHAPE, "%s: the name starts with '3D' but imgs has %d "
                             "dimensions, expected (D, H, W)", path, a->ndim);
        c->d = (int)a->shape[0], c->h = (int)a->shape[1], c->w = (int)a->shape[2];
        c->cn = 1;
    } else {
        if (!(a->ndim == 2 || (a->ndim == 3 && a->shape[2] == 3))) {
            char sh[128] = "(";
            for (int i = 0; i < a->ndim && strlen(sh) < 96; i++)
                snprintf(sh + strlen(sh), sizeof sh - strlen(sh), "%s%zu", i ? ", " : "",
                         a->shape[i]);
            strcat(sh, ")");
            return ms_seterr(err, MS_ESHAPE, "%s: imgs has shape %s, expected (H, W, 3) or "
                             "(H, W) for a 2D case (the name does not start with '3D')",
                             path, sh);
        }
        c->d = 1, c->h = (int)a->shape[0], c->w = (int)a->shape[1];
        c->cn = a->ndim == 3 ? 3 : 1;
    }
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] == 0 || a->shape[i] > (1u << 20))
            return ms_seterr(err, MS_ESHAPE, "%s: imgs dimension %d is %zu", path, i,
                             a->shape[i]);
    int nh, nw;
    ms_resize_longest_side(c->h, c->w, SEG_SIDE, &nh, &nw);
    if (nh < 1 || nw < 1)
        return ms_seterr(err, MS_ESHAPE, "%s: image %dx%d is too elongated to resize to %d",
                         path, c->h, c->w, SEG_SIDE);
    return MS_OK;
}

/* One box: finite, not inverted, inside the image; 3D also z_min < z_max. */
static int check_box(const char *path, const seg_case *c, size_t k, const double *b,
                     ms_err *err)
{
    int nc = c->is3d ? 6 : 4;
    static const char *n2[] = { "x_min", "y_min", "x_max", "y_max" };
    static const char *n3[] = { "x_min", "y_min", "z_min", "x_max", "y_max", "z_max" };
    const char **nm = c->is3d ? n3 : n2;
    for (int i = 0; i < nc; i++)
        if (!isfinite(b[i]))
            return ms_seterr(err, MS_EINVAL, "%s: boxes[%zu]: %s is not finite (%g)",
                             path, k, nm[i], b[i]);
    int x1 = c->is3d ? 3 : 2, y1 = x1 + 1;
    if (b[0] > b[x1] || b[1] > b[y1])
        return ms_seterr(err, MS_EINVAL, "%s: boxes[%zu] is inverted (%s %g > %s %g)", path, k,
                         b[0] > b[x1] ? "x_min" : "y_min", b[0] > b[x1] ? b[0] : b[1],
                         b[0] > b[x1] ? "x_max" : "y_max", b[0] > b[x1] ? b[x1] : b[y1]);
    if (b[0] < 0 || b[1] < 0 || b[x1] > c->w || b[y1] > c->h)
        return ms_seterr(err, MS_EINVAL, "%s: boxes[%zu] (%g, %g, %g, %g) is outside the "
                         "%dx%d image", path, k, b[0], b[1], b[x1], b[y1], c->w, c->h);
    if (c->is3d) {
        if (b[2] >= b[5])
            return ms_seterr(err, MS_EINVAL, "%s: boxes[%zu]: z_min %g >= z_max %g", path, k,
                             b[2], b[5]);
        if (b[2] < 0 || b[5] > c->d)
            return ms_seterr(err, MS_EINVAL, "%s: boxes[%zu]: z range [%g, %g] is outside the "
                             "%d slices", path, k, b[2], b[5], c->d);
    }
    return MS_OK;
}

static int load_boxes(const char *path, ms_npz *z, seg_case *c, ms_err *err)
{
    ms_array b = { 0 };
    int nc = c->is3d ? 6 : 4;
    int rc = ms_npz_read(z, "boxes", &b, err);
    if (rc != MS_OK)
        return rc;
    if (b.dtype == MS_BOOL || b.ndim != 2 || b.shape[1] != (size_t)nc) {
        rc = ms_seterr(err, MS_ESHAPE, "%s: boxes must be a numeric (N, %d) array for a %s "
                       "case (got rank %d, dtype %s)", path, nc, c->is3d ? "3D" : "2D",
                       b.ndim, ms_dtype_name(b.dtype));
        goto fail;
    }
    c->nbox = b.shape[0];
    c->boxes = calloc(c->nbox ? c->nbox : 1, sizeof *c->boxes);
    if (!c->boxes) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory for %zu boxes", path, c->nbox);
        goto fail;
    }
    for (size_t k = 0; k < c->nbox; k++) {
        for (int i = 0; i < nc; i++)
            c->boxes[k][i] = elem_f64(&b, k * nc + i);
        if ((rc = check_box(path, c, k, c->boxes[k], err)) != MS_OK)
            goto fail;
    }
fail:
    ms_array_free(&b);
    return rc;
}

static int load_spacing(const char *path, ms_npz *z, seg_case *c, ms_err *err)
{
    c->spacing[0] = c->spacing[1] = c->spacing[2] = 1.0;
    if (!ms_npz_has(z, "spacing"))
        return MS_OK;
    ms_array s = { 0 };
    int rc = ms_npz_read(z, "spacing", &s, err);
    if (rc != MS_OK)
        return rc;
    size_t n = ms_array_nelem(&s);
    if (n != 3 && !(n == 2 && !c->is3d)) {
        rc = ms_seterr(err, MS_ESHAPE, "%s: spacing has %zu values, expected 3", path, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            double v = elem_f64(&s, i);
            if (!isfinite(v) || v <= 0) {
                rc = ms_seterr(err, MS_EINVAL, "%s: spacing[%zu] = %g is not a positive "
                               "number", path, i, v);
                break;
            }
            c->spacing[i] = v;
        }
        c->has_spacing = rc == MS_OK;
    }
    ms_array_free(&s);
    return rc;
}

/* gts: an integer label map of the image's spatial shape. */
static int check_gts(const char *path, const seg_case *c, const ms_array *g, ms_err *err)
{
    switch (g->dtype) {
    case MS_BOOL: case MS_U8: case MS_I8: case MS_U16: case MS_I16:
    case MS_U32: case MS_I32: case MS_U64: case MS_I64: break;
    default:
        return ms_seterr(err, MS_EUNSUPP, "%s: gts has dtype %s, expected integer labels",
                         path, ms_dtype_name(g->dtype));
    }
    size_t want[3] = { (size_t)c->d, (size_t)c->h, (size_t)c->w };
    const size_t *w = c->is3d ? want : want + 1;
    int nd = c->is3d ? 3 : 2;
    for (int i = 0; i < nd; i++)
        if (g->shape[i] != w[i])
            return ms_seterr(err, MS_ESHAPE, "%s: gts dimension %d is %zu but imgs has %zu",
                             path, i, g->shape[i], w[i]);
    return MS_OK;
}

/* Tight inclusive box of every label present in gts, ascending labels;
 * bb[l] = x0 y0 z0 x1 y1 z1 (x1 = -1: label absent). */
static int boxes_of_gts(const char *path, seg_case *c, const ms_array *g, int margin,
                        ms_err *err)
{
    enum { NL = 65536 };
    int (*bb)[6] = malloc(NL * sizeof *bb);
    if (!bb)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    for (int l = 0; l < NL; l++)
        bb[l][0] = bb[l][1] = bb[l][2] = INT32_MAX, bb[l][3] = bb[l][4] = bb[l][5] = -1;
    size_t i = 0;
    for (int z = 0; z < c->d; z++)
        for (int y = 0; y < c->h; y++)
            for (int x = 0; x < c->w; x++, i++) {
                double v = elem_f64(g, i);
                if (v == 0)
                    continue;
                if (!(v > 0 && v < NL)) {
                    free(bb);
                    return ms_seterr(err, MS_EINVAL, "%s: gts label %.0f at (z %d, y %d, x %d) "
                                     "is outside 0..65535", path, v, z, y, x);
                }
                int *b = bb[(int)v];
                b[0] = x < b[0] ? x : b[0], b[3] = x > b[3] ? x : b[3];
                b[1] = y < b[1] ? y : b[1], b[4] = y > b[4] ? y : b[4];
                b[2] = z < b[2] ? z : b[2], b[5] = z > b[5] ? z : b[5];
            }
    size_t nb = 0;
    for (int l = 1; l < NL; l++)
        nb += bb[l][3] >= 0;
    c->boxes = calloc(nb ? nb : 1, sizeof *c->boxes);
    c->labels = calloc(nb ? nb : 1, sizeof *c->labels);
    if (!c->boxes || !c->labels) {
        free(bb);
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory for %zu boxes", path, nb);
    }
    for (int l = 1; l < NL; l++) {
        const int *b = bb[l];
        if (b[3] < 0)
            continue;
        double *o = c->boxes[c->nbox];
        double x0 = b[0] - margin < 0 ? 0 : b[0] - margin;
        double y0 = b[1] - margin < 0 ? 0 : b[1] - margin;
        double x1 = b[3] > c->w - 1 - margin ? c->w - 1 : b[3] + margin;
        double y1 = b[4] > c->h - 1 - margin ? c->h - 1 : b[4] + margin;
        if (c->is3d)
            o[0] = x0, o[1] = y0, o[2] = b[2], o[3] = x1, o[4] = y1, o[5] = b[5];
        else
            o[0] = x0, o[1] = y0, o[2] = x1, o[3] = y1;
        c->labels[c->nbox++] = (uint16_t)l;
    }
    free(bb);
    return MS_OK;
}

/* No `boxes`: gts decides 2D/3D by its rank, then gives the boxes. */
static int load_gts_boxes(const char *path, ms_npz *z, seg_case *c, int margin, ms_err *err)
{
    ms_array g = { 0 };
    int rc = ms_npz_read(z, "gts", &g, err);
    if (rc != MS_OK)
        return rc;
    if (g.ndim != 2 && g.ndim != 3) {
        rc = ms_seterr(err, MS_ESHAPE, "%s: gts has %d dimensions, expected (H, W) or "
                       "(D, H, W)", path, g.ndim);
        goto fail;
    }
    c->is3d = g.ndim == 3;
    if ((rc = ms_npz_read(z, "imgs", &c->imgs, err)) != MS_OK ||
        (rc = check_imgs(path, c, err)) != MS_OK ||
        (rc = check_gts(path, c, &g, err)) != MS_OK)
        goto fail;
    rc = boxes_of_gts(path, c, &g, margin, err);
fail:
    ms_array_free(&g);
    return rc;
}

int seg_case_load_opts(const char *path, const seg_load_opts *o, seg_case *c, ms_err *err)
{
    ms_npz *z = NULL;
    memset(c, 0, sizeof *c);
    c->is3d = strncmp(base_name(path), "3D", 2) == 0;
    int rc = ms_npz_open(path, &z, o ? &o->lim : NULL, err);
    if (rc != MS_OK)
        goto fail;
    if (o && o->boxes_from_gts && !ms_npz_has(z, "boxes") && ms_npz_has(z, "gts")) {
        if ((rc = load_gts_boxes(path, z, c, o->margin, err)) != MS_OK)
            goto fail;
    } else {
        if ((rc = ms_npz_read(z, "imgs", &c->imgs, err)) != MS_OK)
            goto fail;
        if ((rc = check_imgs(path, c, err)) != MS_OK)
            goto fail;
        if ((rc = load_boxes(path, z, c, err)) != MS_OK)
            goto fail;
    }
    rc = load_spacing(path, z, c, err);
fail:
    ms_npz_close(&z);
    if (rc != MS_OK)
        seg_case_free(c);
    return rc;
}

int seg_case_load(const char *path, seg_case *c, ms_err *err)
{
    return seg_case_load_opts(path, NULL, c, err);
}

size_t seg_box_value(const seg_case *c, size_t k)
{
    return c->paint_labels && c->labels ? c->labels[k] : k + 1;
}

size_t seg_max_value(const seg_case *c)
{
    size_t m = 0;
    for (size_t k = 0; k < c->nbox; k++)
        m = seg_box_value(c, k) > m ? seg_box_value(c, k) : m;
    return m;
}

void seg_case_free(seg_case *c)
{
    ms_array_free(&c->imgs);
    free(c->boxes);
    free(c->labels);
    c->boxes = NULL;
    c->labels = NULL;
    c->nbox = 0;
}

int seg_prep_image(const uint8_t *img, int h, int w, int cn, float *x,
                   int *newh, int *neww, ms_err *err)
{
    int nh, nw;
    ms_resize_longest_side(h, w, SEG_SIDE, &nh, &nw);
    if (nh < 1 || nw < 1 || nh > SEG_SIDE || nw > SEG_SIDE || (cn != 1 && cn != 3))
        return ms_seterr(err, MS_EINVAL, "preprocess: cannot resize %dx%dx%d to %dx%d",
                         h, w, cn, nh, nw);
    /* A grey slice repeated to 3 channels resizes channel by channel, so
     * resizing it once and repeating the result is the same. */
    uint8_t *r = malloc((size_t)nh * nw * cn);
    if (!r)
        return ms_seterr(err, MS_ENOMEM, "preprocess: out of memory");
    int rc = ms_resize_area_u8(img, h, w, cn, r, nh, nw, err);
    if (rc != MS_OK) {
        free(r);
        return rc;
    }
    size_t n = (size_t)nh * nw * cn;
    uint8_t mn = 255, mx = 0;
    for (size_t i = 0; i < n; i++) {
        mn = r[i] < mn ? r[i] : mn;
        mx = r[i] > mx ? r[i] : mx;
    }
    double range = (double)(mx - mn);
    if (range < 1e-8)
        range = 1e-8;
    memset(x, 0, (size_t)3 * SEG_SIDE * SEG_SIDE * sizeof *x);
    for (int c = 0; c < 3; c++) {
        float *plane = x + (size_t)c * SEG_SIDE * SEG_SIDE;  /* (256, 256), zero-padded */
        int ch = cn == 3 ? c : 0;
        for (int y = 0; y < nh; y++)
            for (int xx = 0; xx < nw; xx++)
                plane[y * SEG_SIDE + xx] =
                    (float)((r[((size_t)y * nw + xx) * cn + ch] - mn) / range);
    }
    free(r);
    *newh = nh;
    *neww = nw;
    return MS_OK;
}

void seg_box256(const double box[4], int h, int w, float box256[4])
{
    double ratio = 256.0 / (h > w ? h : w);
    for (int i = 0; i < 4; i++)
        box256[i] = (float)trunc(box[i] * ratio);   /* Python int(): toward zero */
}

long seg_postprocess(const float *logits, int newh, int neww, int h, int w,
                     uint8_t value, uint8_t *mask, ms_err *err)
{
    size_t n = (size_t)h * w;
    float *up = malloc(n * sizeof *up);
    if (!up)
        return ms_seterr(err, MS_ENOMEM, "postprocess: out of memory for %dx%d", h, w);
    int rc = ms_resize_bilinear_f32(logits, newh, neww, SEG_SIDE, up, h, w, err);
    if (rc != MS_OK) {
        free(up);
        return rc;
    }
    long count = 0;
    for (size_t i = 0; i < n; i++) {
        /* upstream: sigmoid(logit) > 0.5 in float32, i.e. logit > 0 except
         * for logits so small that the sigmoid rounds to 0.5 */
        int on = up[i] > 0 && 1.f / (1.f + expf(-up[i])) > 0.5f;
        mask[i] = on ? value : 0;
        count += on;
    }
    free(up);
    return count;
}

int seg_box_from_mask(const uint8_t *mask, int h, int w, float box256[4], ms_err *err)
{
    int nh, nw;
    ms_resize_longest_side(h, w, SEG_SIDE, &nh, &nw);
    uint8_t *r = malloc((size_t)nh * nw);
    if (!r)
        return ms_seterr(err, MS_ENOMEM, "propagation: out of memory");
    int rc = ms_resize_area_u8(mask, h, w, 1, r, nh, nw, err);
    if (rc != MS_OK) {
        free(r);
        return rc;
    }
    int x0 = nw, y0 = nh, x1 = -1, y1 = -1;
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++)
            if (r[(size_t)y * nw + x]) {
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0;
                y1 = y > y1 ? y : y1;
            }
    free(r);
    if (x1 < 0)
        return 0;
    /* bbox of the mask padded to 256x256, widened by 3, clamped to [0, 256] */
    box256[0] = (float)(x0 - 3 < 0 ? 0 : x0 - 3);
    box256[1] = (float)(y0 - 3 < 0 ? 0 : y0 - 3);
    box256[2] = (float)(x1 + 3 > SEG_SIDE ? SEG_SIDE : x1 + 3);
    box256[3] = (float)(y1 + 3 > SEG_SIDE ? SEG_SIDE : y1 + 3);
    return 1;
}
