/* Image resizing that reproduces OpenCV 4.6 INTER_AREA on uint8 and PyTorch
 * bilinear (align_corners=False) on float, bit for bit where it matters.
 *
 * OpenCV's INTER_AREA has three regimes, all reproduced here:
 *   same size            -> copy
 *   shrink (sx, sy >= 1) -> integer factors: block mean ("area fast");
 *                           otherwise area-weighted mean in float
 *   anything else        -> linear interpolation whose coefficients come from
 *                           the area formula, in 11-bit fixed point with
 *                           OpenCV's (x >> 4) * b >> 16 vertical pass.
 * Rounding follows OpenCV's saturate_cast (round half to even) except where
 * OpenCV itself uses integer shifts.  Float expressions keep OpenCV's order of
 * operations so that every product and sum rounds the same way.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ms_resize.h"

#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)   /* OpenCV INTER_RESIZE_COEF_SCALE */

/* One source->destination contribution (OpenCV's DecimateAlpha). */
typedef struct area_tab {
    int di;        /* destination index (element units, i.e. pixel * cn) */
    int si;        /* source index (element units) */
    float alpha;   /* weight */
} area_tab;

static uint8_t sat_u8_from_float(float v)
{
    long r = lrintf(v);                 /* cvRound: half to even */
    return (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
}

static short sat_s16_from_float(float v)
{
    long r = lrintf(v);
    return (short)(r < -32768 ? -32768 : r > 32767 ? 32767 : r);
}

void ms_resize_longest_side(int h, int w, int target, int *newh, int *neww)
{
    double scale = target * 1.0 / (h > w ? h : w);
    *newh = (int)(h * scale + 0.5);
    *neww = (int)(w * scale + 0.5);
}

/* ---------------------------------------------------------------- shrink */

/* OpenCV computeResizeAreaTab: the weights of the source cells covering
 * each destination cell along one axis.  Returns the number of entries. */
static int area_tab_build(int ssize, int dsize, int cn, double scale, area_tab *tab)
{
    int k = 0;
    for (int dx = 0; dx < dsize; dx++) {
        double fsx1 = dx * scale;
        double fsx2 = fsx1 + scale;
        double cell = scale < ssize - fsx1 ? scale : ssize - fsx1;
        int sx1 = (int)ceil(fsx1), sx2 = (int)floor(fsx2);
        if (sx2 > ssize - 1)
            sx2 = ssize - 1;
        if (sx1 > sx2)
            sx1 = sx2;
        if (sx1 - fsx1 > 1e-3) {
            tab[k].di = dx * cn;
            tab[k].si = (sx1 - 1) * cn;
            tab[k++].alpha = (float)((sx1 - fsx1) / cell);
        }
        for (int sx = sx1; sx < sx2; sx++) {
            tab[k].di = dx * cn;
            tab[k].si = sx * cn;
            tab[k++].alpha = (float)(1.0 / cell);
        }
        if (fsx2 - sx2 > 1e-3) {
            double part = fsx2 - sx2 < 1.0 ? fsx2 - sx2 : 1.0;
            tab[k].di = dx * cn;
            tab[k].si = sx2 * cn;
            tab[k++].alpha = (float)((part < cell ? part : cell) / cell);
        }
    }
    return k;
}

/* True area average for non-integer shrink factors (OpenCV ResizeArea_Invoker,
 * WT = float). */
static int area_general(const uint8_t *src, int sh, int sw, int cn, uint8_t *dst,
                        int dh, int dw, double scale_x, double scale_y, ms_err *err)
{
    size_t rowlen = (size_t)dw * cn;
    area_tab *xtab = malloc(((size_t)sw + 2 * (size_t)dw + 2) * sizeof *xtab);
    area_tab *ytab = malloc(((size_t)sh + 2 * (size_t)dh + 2) * sizeof *ytab);
    float *buf = malloc(2 * rowlen * sizeof *buf);
    int rc = MS_OK;
    if (!xtab || !ytab || !buf) {
        rc = ms_seterr(err, MS_ENOMEM, "resize: out of memory");
        goto fail;
    }
    float *sum = buf + rowlen;
    int nx = area_tab_build(sw, dw, cn, scale_x, xtab);
    int ny = area_tab_build(sh, dh, 1, scale_y, ytab);
    int prev_dy = ytab[0].di;
    memset(sum, 0, rowlen * sizeof *sum);
    for (int j = 0; j < ny; j++) {
        float beta = ytab[j].alpha;
        int dy = ytab[j].di;
        const uint8_t *s = src + (size_t)ytab[j].si * sw * cn;
        memset(buf, 0, rowlen * sizeof *buf);
        for (int k = 0; k < nx; k++) {
            const uint8_t *sp = s + xtab[k].si;
            float *bp = buf + xtab[k].di;
            float a = xtab[k].alpha;
            for (int c = 0; c < cn; c++)
                bp[c] += sp[c] * a;
        }
        if (dy != prev_dy) {
            uint8_t *d = dst + (size_t)prev_dy * rowlen;
            for (size_t x = 0; x < rowlen; x++) {
                d[x] = sat_u8_from_float(sum[x]);
                sum[x] = beta * buf[x];
            }
            prev_dy = dy;
        } else {
            for (size_t x = 0; x < rowlen; x++)
                sum[x] += beta * buf[x];
        }
    }
    uint8_t *d = dst + (size_t)prev_dy * rowlen;
    for (size_t x = 0; x < rowlen; x++)
        d[x] = sat_u8_from_float(sum[x]);
fail:
    free(xtab);
    free(ytab);
    free(buf);
    return rc;
}

/* Integer shrink factors (OpenCV ResizeAreaFast_Invoker).  A 2x2 block with
 * 1, 3 or 4 channels is averaged as (sum + 2) >> 2 (OpenCV's vector path);
 * other factors as saturate_cast(sum * (1.f / area)).  Blocks cut by the
 * border (never for exact factors) average what they hold. */
static void area_fast(const uint8_t *src, int sh, int sw, int cn, uint8_t *dst,
                      int dh, int dw, int ix, int iy)
{
    int area = ix * iy;
    float scale = 1.f / area;
    int shift_mode = ix == 2 && iy == 2 && (cn == 1 || cn == 3 || cn == 4);
    size_t sstride = (size_t)sw * cn;
    int full_w = (sw / ix) * cn;         /* elements with a complete block */
    for (int dy = 0; dy < dh; dy++) {
        uint8_t *d = dst + (size_t)dy * dw * cn;
        int sy0 = dy * iy;
        int w = sy0 + iy <= sh ? full_w : 0;
        if (sy0 >= sh) {
            memset(d, 0, (size_t)dw * cn);
            continue;
        }
        int dx = 0;
        for (; dx < w && dx < dw * cn; dx++) {
            int px = dx / cn, c = dx % cn;
            const uint8_t *s = src + (size_t)sy0 * sstride + (size_t)px * ix * cn + c;
            int acc = 0;
            for (int yy = 0; yy < iy; yy++)
                for (int xx = 0; xx < ix; xx++)
                    acc += s[yy * sstride + (size_t)xx * cn];
            d[dx] = shift_mode ? (uint8_t)((acc + 2) >> 2) : sat_u8_from_float(acc * scale);
        }
        for (; dx < dw * cn; dx++) {
            int px = dx / cn, c = dx % cn;
            int sx0 = px * ix * cn + c, acc = 0, count = 0;
            for (int yy = 0; yy < iy && sy0 + yy < sh; yy++)
                for (int xx = 0; xx < ix * cn && sx0 + xx < sw * cn; xx += cn) {
                    acc += src[(size_t)(sy0 + yy) * sstride + sx0 + xx];
                    count++;
                }
            d[dx] = count ? sat_u8_from_float((float)acc / count) : 0;
        }
    }
}

/* ---------------------------------------------------------------- enlarge */

/* OpenCV's INTER_AREA coefficient for destination index i along one axis. */
static void area_linear_coef(int i, double scale, double inv_scale, int *s, float *f)
{
    int si = (int)floor(i * scale);
    float fi = (float)((i + 1) - (si + 1) * inv_scale);
    fi = fi <= 0 ? 0.f : fi - (float)(int)floorf(fi);
    *s = si;
    *f = fi;
}

/* OpenCV resizeGeneric_ with HResizeLinear<u8,int,short> and the u8
 * VResizeLinear specialisation, coefficients from the area formula. */
static int area_linear(const uint8_t *src, int sh, int sw, int cn, uint8_t *dst,
                       int dh, int dw, double scale_x, double scale_y,
                       double inv_x, double inv_y, ms_err *err)
{
    size_t width = (size_t)dw * cn;
    int *xofs = malloc(width * sizeof *xofs);
    short *ialpha = malloc(width * 2 * sizeof *ialpha);
    int *rows = malloc(width * 2 * sizeof *rows);
    int rc = MS_OK;
    if (!xofs || !ialpha || !rows) {
        rc = ms_seterr(err, MS_ENOMEM, "resize: out of memory");
        goto fail;
    }
    size_t xmax = width;
    for (int dx = 0; dx < dw; dx++) {
        int sx;
        float fx;
        area_linear_coef(dx, scale_x, inv_x, &sx, &fx);
        if (sx < 0)
            fx = 0, sx = 0;
        if (sx + 1 >= sw) {
            if ((size_t)dx * cn < xmax)
                xmax = (size_t)dx * cn;
            if (sx >= sw - 1)
                fx = 0, sx = sw - 1;
        }
        short a0 = sat_s16_from_float((1.f - fx) * COEF_SCALE);
        short a1 = sat_s16_from_float(fx * COEF_SCALE);
        for (int c = 0; c < cn; c++) {
            size_t e = (size_t)dx * cn + c;
            xofs[e] = sx * cn + c;
            ialpha[2 * e] = a0;
            ialpha[2 * e + 1] = a1;
        }
    }
    int *r0 = rows, *r1 = rows + width;
    for (int dy = 0; dy < dh; dy++) {
        int sy;
        float fy;
        area_linear_coef(dy, scale_y, inv_y, &sy, &fy);
        short b0 = sat_s16_from_float((1.f - fy) * COEF_SCALE);
        short b1 = sat_s16_from_float(fy * COEF_SCALE);
        int *r[2] = { r0, r1 };
        for (int k = 0; k < 2; k++) {
            int y = sy + k;
            y = y < 0 ? 0 : y >= sh ? sh - 1 : y;
            const uint8_t *s = src + (size_t)y * sw * cn;
            size_t e = 0;
            for (; e < xmax; e++)
                r[k][e] = s[xofs[e]] * ialpha[2 * e] + s[xofs[e] + cn] * ialpha[2 * e + 1];
            for (; e < width; e++)
                r[k][e] = s[xofs[e]] * COEF_SCALE;
        }
        uint8_t *d = dst + (size_t)dy * width;
        for (size_t e = 0; e < width; e++) {
            int v = (((b0 * (r0[e] >> 4)) >> 16) + ((b1 * (r1[e] >> 4)) >> 16) + 2) >> 2;
            d[e] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
fail:
    free(xofs);
    free(ialpha);
    free(rows);
    return rc;
}

int ms_resize_area_u8(const uint8_t *src, int sh, int sw, int cn,
                      uint8_t *dst, int dh, int dw, ms_err *err)
{
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || cn < 1 || cn > 4)
        return ms_seterr(err, MS_EINVAL, "resize: bad sizes %dx%dx%d -> %dx%d",
                         sh, sw, cn, dh, dw);
    if (sh > (1 << 20) || sw > (1 << 20) || dh > (1 << 20) || dw > (1 << 20))
        return ms_seterr(err, MS_ELIMIT, "resize: size %dx%d -> %dx%d too large",
                         sh, sw, dh, dw);
    if (sh == dh && sw == dw) {
        memcpy(dst, src, (size_t)sh * sw * cn);
        return MS_OK;
    }
    /* OpenCV passes inv_scale = dsize / ssize and inverts it again. */
    double inv_x = (double)dw / sw, inv_y = (double)dh / sh;
    double scale_x = 1. / inv_x, scale_y = 1. / inv_y;
    int ix = (int)lrint(scale_x), iy = (int)lrint(scale_y);
    int fast = fabs(scale_x - ix) < DBL_EPSILON && fabs(scale_y - iy) < DBL_EPSILON;
    if (scale_x >= 1 && scale_y >= 1) {
        if (fast) {
            area_fast(src, sh, sw, cn, dst, dh, dw, ix, iy);
            return MS_OK;
        }
        return area_general(src, sh, sw, cn, dst, dh, dw, scale_x, scale_y, err);
    }
    return area_linear(src, sh, sw, cn, dst, dh, dw, scale_x, scale_y, inv_x, inv_y, err);
}

/* ---------------------------------------------------------------- bilinear */

/* PyTorch compute_source_index_and_lambda (align_corners=False, float). */
static void bilinear_index(int i, float scale, int in_size, int *i0, int *i1,
                           float *l0, float *l1)
{
    float src = (float)(scale * (i + 0.5) - 0.5);  /* dst_index + 0.5 is double */
    if (src < 0)
        src = 0;
    int k = (int)src;
    float lam = src - (float)k;
    lam = lam < 0 ? 0 : lam > 1 ? 1 : lam;
    *i0 = k;
    *i1 = k + (k < in_size - 1 ? 1 : 0);
    *l1 = lam;
    *l0 = 1.f - lam;
}

int ms_resize_bilinear_f32(const float *src, int sh, int sw, size_t src_stride,
                           float *dst, int dh, int dw, ms_err *err)
{
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || src_stride < (size_t)sw)
        return ms_seterr(err, MS_EINVAL, "bilinear resize: bad sizes %dx%d -> %dx%d",
                         sh, sw, dh, dw);
    int *xi = malloc((size_t)dw * 2 * sizeof *xi);
    float *xl = malloc((size_t)dw * 2 * sizeof *xl);
    if (!xi || !xl) {
        free(xi);
        free(xl);
        return ms_seterr(err, MS_ENOMEM, "bilinear resize: out of memory");
    }
    float scale_x = (float)sw / dw, scale_y = (float)sh / dh;
    for (int x = 0; x < dw; x++)
        bilinear_index(x, scale_x, sw, &xi[2 * x], &xi[2 * x + 1], &xl[2 * x], &xl[2 * x + 1]);
    for (int y = 0; y < dh; y++) {
        int y0, y1;
        float h0, h1;
        bilinear_index(y, scale_y, sh, &y0, &y1, &h0, &h1);
        const float *r0 = src + (size_t)y0 * src_stride, *r1 = src + (size_t)y1 * src_stride;
        float *d = dst + (size_t)y * dw;
        for (int x = 0; x < dw; x++) {
            int a = xi[2 * x], b = xi[2 * x + 1];
            float w0 = xl[2 * x], w1 = xl[2 * x + 1];
            float t0 = r0[a] * w0 + r0[b] * w1;
            float t1 = r1[a] * w0 + r1[b] * w1;
            d[x] = t0 * h0 + t1 * h1;
        }
    }
    free(xi);
    free(xl);
    return MS_OK;
}
