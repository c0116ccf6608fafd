/* DSC and normalised surface dice (see ms_surface.h for the algorithm). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_edt.h"
#include "ms_surface.h"

/* ------------------------------------------------------------ surfel areas */

void ms_surfel_areas(const double spacing[3], double areas[256])
{
    double s0 = spacing[0], s1 = spacing[1], s2 = spacing[2];
    for (int c = 0; c < 256; c++) {
        double sum = 0.0;
        for (int i = 0; i < ms__surfel_normal_count[c]; i++) {
            const double *n = ms__surfel_normals[c][i];
            double a = n[0] * s1 * s2, b = n[1] * s0 * s2, d = n[2] * s0 * s1;
            sum += sqrt(a * a + b * b + d * d);
        }
        areas[c] = sum;
    }
}

/* ------------------------------------------------------------ NSD core */

static int mul_size(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

/* Bytes of a (d0+1, d1+1, d2+1) padded crop, checked. */
static int crop_elems(const size_t c[3], size_t pad, size_t *n)
{
    size_t t;
    if (mul_size(c[0] + pad, c[1] + pad, &t) || mul_size(t, c[2] + pad, n)
        || *n > SIZE_MAX / sizeof(double))
        return -1;
    return 0;
}

/* Neighbour codes of the crop c (c0, c1, c2) from a mask padded with one zero
 * plane below each axis: pad is (c0+1, c1+1, c2+1), pad[i+1][j+1][k+1] = m[i][j][k]
 * and the last plane of m (index c-1) is the zero plane above.  The code of
 * (i,j,k) reads the block pad[i..i+1][j..j+1][k..k+1] = m[i-1..i][j-1..j][k-1..k]. */
static void neighbour_codes(const uint8_t *pad, const size_t c[3], uint8_t *code)
{
    size_t p1 = c[1] + 1, p2 = c[2] + 1, plane = p1 * p2;
    for (size_t i = 0; i < c[0]; i++)
        for (size_t j = 0; j < c[1]; j++) {
            const uint8_t *a = pad + (i * p1 + j) * p2;
            const uint8_t *b = a + p2, *d = a + plane, *e = d + p2;
            uint8_t *out = code + (i * c[1] + j) * c[2];
            for (size_t k = 0; k < c[2]; k++)
                out[k] = (uint8_t)(128 * a[k] + 64 * a[k + 1] + 32 * b[k] + 16 * b[k + 1]
                                   + 8 * d[k] + 4 * d[k + 1] + 2 * e[k] + e[k + 1]);
        }
}

static int is_border(uint8_t code)
{
    return code != 0 && code != 255;
}

/* Surface areas of `from` (total, and within tol of the border of `to`). */
static int surface_overlap(const uint8_t *from, const uint8_t *to, const size_t c[3], size_t n,
                           const double spacing[3], double tol, const double areas[256],
                           uint8_t *feature, double *dist2, double *within, double *total,
                           ms_err *err)
{
    uint64_t in[256] = { 0 }, all[256] = { 0 };
    for (size_t x = 0; x < n; x++)
        feature[x] = (uint8_t)is_border(to[x]);
    /* only "distance <= tol" matters: partial sums of squares far above tol^2
     * are dropped by the transform (the margin keeps every value whose
     * square root could still round to <= tol) */
    int rc = ms_edt_sq_upto(feature, c, spacing, tol * tol * (1.0 + 1e-9) + 1e-300,
                            dist2, err);
    if (rc)
        return rc;
    for (size_t x = 0; x < n; x++) {
        uint8_t code = from[x];
        if (!is_border(code))
            continue;
        all[code]++;
        /* upstream compares the distance (after its square root) */
        if (sqrt(dist2[x]) <= tol)
            in[code]++;
    }
    *within = *total = 0.0;
    for (int k = 0; k < 256; k++) {
        *within += (double)in[k] * areas[k];
        *total += (double)all[k] * areas[k];
    }
    return MS_OK;
}

int ms__check_spacing_tol(const double spacing[3], double tol, ms_err *err)
{
    for (int a = 0; a < 3; a++)
        if (!(spacing[a] > 0.0) || !isfinite(spacing[a]))
            return ms_seterr(err, MS_EINVAL, "surface dice: spacing %g along axis %d is not "
                             "a positive number", spacing[a], a);
    if (!(tol >= 0.0))
        return ms_seterr(err, MS_EINVAL, "surface dice: tolerance %g mm is negative", tol);
    return MS_OK;
}

/* Pad crop of box lo..hi (inclusive) of src (shape) into a zeroed buffer
 * of (c0+1, c1+1, c2+1) with c = hi - lo + 2. */
static void fill_crop(const ms__mask_src *src, const size_t shape[3], const size_t lo[3],
                      const size_t hi[3], const size_t c[3], uint8_t *pad)
{
    size_t p1 = c[1] + 1, p2 = c[2] + 1, len = hi[2] - lo[2] + 1;
    for (size_t i = lo[0]; i <= hi[0]; i++)
        for (size_t j = lo[1]; j <= hi[1]; j++) {
            size_t in = (i * shape[1] + j) * shape[2] + lo[2];
            uint8_t *out = pad + ((i - lo[0] + 1) * p1 + (j - lo[1] + 1)) * p2 + 1;
            if (src->bin) {
                const uint8_t *b = src->bin + in;
                for (size_t k = 0; k < len; k++)
                    out[k] = b[k] != 0;
            } else if (src->lab8) {
                const uint8_t *l = src->lab8 + in;
                for (size_t k = 0; k < len; k++)
                    out[k] = l[k] == src->label;
            } else {
                const uint16_t *l = src->lab16 + in;
                for (size_t k = 0; k < len; k++)
                    out[k] = l[k] == src->label;
            }
        }
}

/* Neighbour codes of src in the crop c of box lo..hi; pad is scratch of
 * npad bytes ((c0+1)(c1+1)(c2+1)). */
static void crop_codes(const ms__mask_src *src, const size_t shape[3], const size_t lo[3],
                       const size_t hi[3], const size_t c[3], uint8_t *pad, size_t npad,
                       uint8_t *code)
{
    memset(pad, 0, npad);
    fill_crop(src, shape, lo, hi, c, pad);
    neighbour_codes(pad, c, code);
}

int ms__nsd_in_box(const ms__mask_src *gt, const ms__mask_src *pred, const size_t shape[3],
                   const size_t lo[3], const size_t hi[3], const double spacing[3],
                   double tol, double *nsd, ms_err *err)
{
    size_t c[3], n, npad;
    uint8_t *pad = NULL, *code_gt = NULL, *code_pred = NULL, *feature = NULL;
    double *dist2 = NULL, areas[256];
    int rc = MS_OK;

    for (int a = 0; a < 3; a++)
        c[a] = hi[a] - lo[a] + 2;
    if (crop_elems(c, 1, &npad) || crop_elems(c, 0, &n))
        return ms_seterr(err, MS_ENOMEM, "surface dice: crop too large");
    /* peak: two code maps + the feature map + a double per voxel of the crop */
    pad = malloc(npad);
    code_gt = malloc(n);
    code_pred = malloc(n);
    if (!pad || !code_gt || !code_pred)
        goto oom;
    crop_codes(gt, shape, lo, hi, c, pad, npad, code_gt);
    crop_codes(pred, shape, lo, hi, c, pad, npad, code_pred);
    free(pad);
    pad = NULL;
    feature = malloc(n);
    dist2 = malloc(n * sizeof *dist2);
    if (!feature || !dist2)
        goto oom;
    ms_surfel_areas(spacing, areas);
    double in_gt, all_gt, in_pred, all_pred;
    rc = surface_overlap(code_gt, code_pred, c, n, spacing, tol, areas, feature, dist2,
                         &in_gt, &all_gt, err);
    if (!rc)
        rc = surface_overlap(code_pred, code_gt, c, n, spacing, tol, areas, feature, dist2,
                             &in_pred, &all_pred, err);
    if (!rc)
        *nsd = (in_gt + in_pred) / (all_gt + all_pred);
    goto done;
oom:
    rc = ms_seterr(err, MS_ENOMEM, "surface dice: out of memory for a %zux%zux%zu crop",
                   c[0], c[1], c[2]);
done:
    free(pad);
    free(code_gt);
    free(code_pred);
    free(feature);
    free(dist2);
    return rc;
}

int ms_surface_dice(const uint8_t *gt, const uint8_t *pred, const size_t shape[3],
                    const double spacing[3], double tolerance_mm, double *nsd, ms_err *err)
{
    int rc = ms__check_spacing_tol(spacing, tolerance_mm, err);
    if (rc)
        return rc;
    size_t lo[3] = { SIZE_MAX, SIZE_MAX, SIZE_MAX }, hi[3] = { 0, 0, 0 };
    int any = 0;
    for (size_t i = 0; i < shape[0]; i++)
        for (size_t j = 0; j < shape[1]; j++)
            for (size_t k = 0; k < shape[2]; k++) {
                size_t x = (i * shape[1] + j) * shape[2] + k;
                if (!gt[x] && !pred[x])
                    continue;
                size_t idx[3] = { i, j, k };
                for (int a = 0; a < 3; a++) {
                    if (idx[a] < lo[a]) lo[a] = idx[a];
                    if (idx[a] > hi[a]) hi[a] = idx[a];
                }
                any = 1;
            }
    if (!any) {
        *nsd = NAN;   /* upstream: 0 / 0 */
        return MS_OK;
    }
    ms__mask_src g = { .bin = gt }, p = { .bin = pred };
    return ms__nsd_in_box(&g, &p, shape, lo, hi, spacing, tolerance_mm, nsd, err);
}

double ms_dice(const uint8_t *gt, const uint8_t *pred, size_t n)
{
    uint64_t sg = 0, sp = 0, both = 0;
    for (size_t x = 0; x < n; x++) {
        sg += gt[x] != 0;
        sp += pred[x] != 0;
        both += gt[x] && pred[x];
    }
    if (sg + sp == 0)
        return NAN;
    return (double)(2 * both) / (double)(sg + sp);
}
