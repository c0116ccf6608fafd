/* Checks on medsam-segment outputs, used by test_segment_cli.sh.
 *
 *   segcheck equal OUT.npz REF.npz MINFRAC   fraction of equal segs pixels >= MINFRAC
 *   segcheck dice OUT.npz REF.npz MINDICE    Dice of every label of REF >= MINDICE
 *   segcheck overlay PNG CASE.npz OUT.npz Z  the overlay of slice Z: size, blend, boxes
 *   segcheck nifti NII CASE.npz OUT.npz      NIfTI equals segs, spacing from the case
 *   segcheck info OUT.npz                    prints "segs DTYPE max N" (exit 0)
 * CASE.npz may have gts instead of boxes (boxes derived as medsam-segment
 * --boxes-from-gts does).  Prints what it measured; exit 0 when the check holds, 1 otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ms_image.h"
#include "ms_nifti.h"
#include "ms_npz.h"
#include "segment_core.h"
#include "segment_run.h"

/* Cases without boxes get them from gts, as with --boxes-from-gts (overlay
 * checks then expect box indices, not --segs-as-labels). */
static const seg_load_opts from_gts = { .boxes_from_gts = 1, .margin = 0 };

static int load(const char *p, const char *name, ms_array *a)
{
    ms_err err;
    if (ms_npz_load(p, name, a, NULL, &err) != MS_OK) {
        fprintf(stderr, "segcheck: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static long val(const ms_array *a, size_t i)
{
    switch (a->dtype) {
    case MS_U8: return ((const uint8_t *)a->data)[i];
    case MS_U16: return ((const uint16_t *)a->data)[i];
    case MS_I16: return ((const int16_t *)a->data)[i];
    default: return -1;
    }
}

static int same_shape(const ms_array *a, const ms_array *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

static int cmd_compare(int dice, const char *out, const char *ref, double min)
{
    ms_array a = { 0 }, b = { 0 };
    int ok = 0;
    if (load(out, "segs", &a) || load(ref, "segs", &b))
        goto done;
    if (!same_shape(&a, &b)) {
        fprintf(stderr, "segcheck: %s: shape differs from %s\n", out, ref);
        goto done;
    }
    size_t n = ms_array_nelem(&a), eq = 0;
    long maxl = 0;
    for (size_t i = 0; i < n; i++) {
        eq += val(&a, i) == val(&b, i);
        maxl = val(&b, i) > maxl ? val(&b, i) : maxl;
    }
    if (!dice) {
        double f = (double)eq / n;
        printf("%s: %.6f of %zu pixels equal\n", out, f, n);
        ok = f >= min;
        goto done;
    }
    ok = 1;
    for (long l = 1; l <= maxl; l++) {
        size_t na = 0, nb = 0, both = 0;
        for (size_t i = 0; i < n; i++) {
            int ia = val(&a, i) == l, ib = val(&b, i) == l;
            na += ia, nb += ib, both += ia && ib;
        }
        double d = na + nb ? 2.0 * both / (na + nb) : 1.0;
        printf("%s: label %ld: %zu vs %zu pixels, Dice %.6f\n", out, l, na, nb, d);
        ok &= d >= min;
    }
done:
    ms_array_free(&a);
    ms_array_free(&b);
    return ok ? 0 : 1;
}

/* Every pixel: on a box outline it has the box colour, else it is the
 * image blended 50/50 with its label's colour (or the image itself). */
static int cmd_overlay(const char *png, const char *casep, const char *out, int z)
{
    seg_case c;
    ms_array segs = { 0 }, im = { 0 };
    ms_err err;
    int ok = 0;
    if (seg_case_load_opts(casep, &from_gts, &c, &err) != MS_OK) {
        fprintf(stderr, "segcheck: %s\n", err.msg);
        return 1;
    }
    if (load(out, "segs", &segs))
        goto done;
    if (ms_png_read(png, &im, MS_PALETTE_RGB, NULL, NULL, &err) != MS_OK) {
        fprintf(stderr, "segcheck: %s\n", err.msg);
        goto done;
    }
    if (im.ndim != 3 || im.shape[0] != (size_t)c.h || im.shape[1] != (size_t)c.w ||
        im.shape[2] != 3) {
        fprintf(stderr, "segcheck: %s: not an RGB %dx%d image\n", png, c.h, c.w);
        goto done;
    }
    size_t n = (size_t)c.h * c.w, blended = 0, outline = 0, bad = 0;
    const uint8_t *rgb = im.data;
    const uint8_t *src = (const uint8_t *)c.imgs.data + (size_t)z * n * c.cn;
    for (size_t i = 0; i < n; i++) {
        int x = (int)(i % c.w), y = (int)(i / c.w), on_box = 0;
        for (size_t k = 0; k < c.nbox && !on_box; k++) {
            const double *b = c.boxes[k];
            double x0 = b[0], y0 = b[1], x1 = c.is3d ? b[3] : b[2], y1 = c.is3d ? b[4] : b[3];
            if (c.is3d && (z < b[2] || z > b[5]))
                continue;
            int ix0 = x0 > c.w - 1 ? c.w - 1 : (int)x0, iy0 = y0 > c.h - 1 ? c.h - 1 : (int)y0;
            int ix1 = x1 > c.w - 1 ? c.w - 1 : (int)x1, iy1 = y1 > c.h - 1 ? c.h - 1 : (int)y1;
            on_box = ((x == ix0 || x == ix1) && y >= iy0 && y <= iy1) ||
                     ((y == iy0 || y == iy1) && x >= ix0 && x <= ix1);
        }
        if (on_box) {
            outline++;
            continue;
        }
        long lab = val(&segs, (size_t)z * n + i);
        uint8_t col[3] = { 0, 0, 0 };
        if (lab > 0)
            seg_label_colour((size_t)lab, col);
        for (int ch = 0; ch < 3; ch++) {
            int v = src[i * c.cn + (c.cn == 3 ? ch : 0)];
            int want = lab > 0 ? (v + col[ch] + 1) / 2 : v;
            bad += rgb[i * 3 + ch] != want;
        }
        blended += lab > 0;
    }
    /* the first box's top-left corner carries label 1's colour */
    uint8_t c1[3];
    seg_label_colour(1, c1);
    int bx = (int)c.boxes[0][0], by = (int)c.boxes[0][1];
    const uint8_t *p = rgb + ((size_t)by * c.w + bx) * 3;
    int corner = c.nbox == 0 || c.is3d || (p[0] == c1[0] && p[1] == c1[1] && p[2] == c1[2]);
    printf("%s: %zu labelled pixels blended, %zu outline pixels, %zu wrong values, corner %s\n",
           png, blended, outline, bad, corner ? "ok" : "wrong");
    int covered = 0;   /* some box is drawn on this slice */
    for (size_t k = 0; k < c.nbox; k++)
        covered |= !c.is3d || (z >= c.boxes[k][2] && z <= c.boxes[k][5]);
    ok = bad == 0 && corner && (!covered || outline > 0);
done:
    ms_array_free(&segs);
    ms_array_free(&im);
    seg_case_free(&c);
    return ok ? 0 : 1;
}

static int cmd_nifti(const char *nii, const char *casep, const char *out)
{
    seg_case c;
    ms_array segs = { 0 };
    ms_volume v = { 0 };
    ms_err err;
    int ok = 0;
    if (seg_case_load_opts(casep, &from_gts, &c, &err) != MS_OK || ms_nifti_read(nii, &v, NULL, &err) != MS_OK) {
        fprintf(stderr, "segcheck: %s\n", err.msg);
        return 1;
    }
    if (load(out, "segs", &segs))
        goto done;
    size_t n = ms_array_nelem(&segs), bad = 0;
    if (v.a.ndim != 3 || v.a.shape[0] != (size_t)c.d || v.a.shape[1] != (size_t)c.h ||
        v.a.shape[2] != (size_t)c.w || ms_array_nelem(&v.a) != n) {
        fprintf(stderr, "segcheck: %s: shape differs\n", nii);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        bad += val(&v.a, i) != val(&segs, i);
    int sp = 1;
    for (int i = 0; i < 3; i++)
        sp &= fabs(v.spacing[i] - c.spacing[i]) < 1e-5 * c.spacing[i];
    printf("%s: %zu voxels differ, spacing %g %g %g (%s)\n", nii, bad, v.spacing[0],
           v.spacing[1], v.spacing[2], sp ? "ok" : "wrong");
    ok = bad == 0 && sp;
done:
    ms_array_free(&segs);
    ms_volume_free(&v);
    seg_case_free(&c);
    return ok ? 0 : 1;
}

static int cmd_info(const char *out)
{
    ms_array a = { 0 };
    if (load(out, "segs", &a))
        return 1;
    long mx = 0;
    size_t n = ms_array_nelem(&a);
    for (size_t i = 0; i < n; i++)
        mx = val(&a, i) > mx ? val(&a, i) : mx;
    printf("segs %s max %ld\n", ms_dtype_name(a.dtype), mx);
    ms_array_free(&a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "info"))
        return cmd_info(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "equal"))
        return cmd_compare(0, argv[2], argv[3], atof(argv[4]));
    if (argc == 5 && !strcmp(argv[1], "dice"))
        return cmd_compare(1, argv[2], argv[3], atof(argv[4]));
    if (argc == 6 && !strcmp(argv[1], "overlay"))
        return cmd_overlay(argv[2], argv[3], argv[4], atoi(argv[5]));
    if (argc == 5 && !strcmp(argv[1], "nifti"))
        return cmd_nifti(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: segcheck equal|dice|overlay|nifti ...\n");
    return 2;
}
