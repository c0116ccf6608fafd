/* Exact squared Euclidean distance transform, 3D, anisotropic spacing.
 *
 * Axis 0 is a two-sweep nearest-feature count over whole planes (cache
 * friendly); axes 1 and 2 take the lower envelope of parabolas of
 * Felzenszwalb & Huttenlocher along every line.  Axes are processed in the
 * order 0, 1, 2 so that the sum of the per-axis squares is accumulated in the
 * same order as scipy's distance_transform_edt.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ms_edt.h"

typedef struct edt_scratch {
    double *f;      /* (n,) the line's input */
    double *d;      /* (n,) the line's output */
    double *z;      /* (n + 1,) envelope breakpoints, index units */
    size_t *v;      /* (n,) envelope parabola vertices */
} edt_scratch;

/* d[p] = min_q f[q] + ((p - q) * s)^2 over the finite f[q]; INFINITY if none. */
static void edt_line(const double *f, size_t n, double s, double *d, size_t *v, double *z)
{
    size_t k = 0, q = 0;
    double s2x2 = 2.0 * s * s;

    while (q < n && isinf(f[q]))
        q++;
    if (q == n) {
        for (size_t p = 0; p < n; p++)
            d[p] = INFINITY;
        return;
    }
    v[0] = q;
    z[0] = -INFINITY;
    z[1] = INFINITY;
    for (q++; q < n; q++) {
        if (isinf(f[q]))
            continue;
        /* where the parabolas of q and v[k] meet, in index units; z[0] is
         * -inf, so k never goes below 0 */
        double x;
        for (;;) {
            size_t r = v[k];
            x = (f[q] - f[r]) / (s2x2 * (double)(q - r)) + 0.5 * (double)(q + r);
            if (x > z[k])
                break;
            k--;
        }
        k++;
        v[k] = q;
        z[k] = x;
        z[k + 1] = INFINITY;
    }
    k = 0;
    for (size_t p = 0; p < n; p++) {
        while (z[k + 1] < (double)p)
            k++;
        double t = ((double)p - (double)v[k]) * s;
        d[p] = f[v[k]] + t * t;
    }
}

/* Axis 0: steps to the nearest feature in the same (j, k) column, then
 * (steps * s0)^2. */
static void edt_axis0(const uint8_t *feature, size_t n0, size_t plane, double s0,
                      double limit2, double *out)
{
    for (size_t i = 0; i < n0; i++) {
        const uint8_t *fi = feature + i * plane;
        double *oi = out + i * plane;
        const double *prev = i ? oi - plane : NULL;
        for (size_t jk = 0; jk < plane; jk++)
            oi[jk] = fi[jk] ? 0.0 : prev ? prev[jk] + 1.0 : INFINITY;
    }
    for (size_t i = n0 - 1; i-- > 0;) {
        double *oi = out + i * plane;
        const double *next = oi + plane;
        for (size_t jk = 0; jk < plane; jk++)
            if (next[jk] + 1.0 < oi[jk])
                oi[jk] = next[jk] + 1.0;
    }
    size_t n = n0 * plane;
    for (size_t x = 0; x < n; x++) {
        double t = out[x] * s0;   /* INFINITY stays INFINITY */
        out[x] = t * t > limit2 ? INFINITY : t * t;
    }
}

/* One axis with stride `stride` between neighbours, n points per line;
 * lines start at every index of (outer, inner) with base outer*outer_step + inner. */
static void edt_axis(double *data, size_t n, size_t stride, size_t outer, size_t outer_step,
                     size_t inner, double s, double limit2, edt_scratch *w)
{
    for (size_t o = 0; o < outer; o++) {
        for (size_t in = 0; in < inner; in++) {
            double *base = data + o * outer_step + in;
            int any = 0;
            for (size_t p = 0; p < n; p++) {
                w->f[p] = base[p * stride];
                any |= !isinf(w->f[p]);
            }
            if (!any)
                continue;
            edt_line(w->f, n, s, w->d, w->v, w->z);
            for (size_t p = 0; p < n; p++)
                base[p * stride] = w->d[p] > limit2 ? INFINITY : w->d[p];
        }
    }
}

int ms_edt_sq(const uint8_t *feature, const size_t shape[3], const double spacing[3],
              double *dist2, ms_err *err)
{
    return ms_edt_sq_upto(feature, shape, spacing, INFINITY, dist2, err);
}

int ms_edt_sq_upto(const uint8_t *feature, const size_t shape[3], const double spacing[3],
                   double limit2, double *dist2, ms_err *err)
{
    edt_scratch w = { 0 };
    int rc = MS_OK;

    for (int a = 0; a < 3; a++)
        if (!(spacing[a] > 0.0) || !isfinite(spacing[a]))
            return ms_seterr(err, MS_EINVAL, "distance transform: spacing %g along axis %d "
                             "is not a positive number", spacing[a], a);
    size_t n0 = shape[0], n1 = shape[1], n2 = shape[2];
    if (!n0 || !n1 || !n2)
        return MS_OK;
    size_t nmax = n1 > n2 ? n1 : n2;
    /* the caller allocated n0*n1*n2 doubles, so nmax + 1 cannot overflow */
    w.f = malloc(nmax * sizeof *w.f);
    w.d = malloc(nmax * sizeof *w.d);
    w.z = malloc((nmax + 1) * sizeof *w.z);
    w.v = malloc(nmax * sizeof *w.v);
    if (!w.f || !w.d || !w.z || !w.v) {
        rc = ms_seterr(err, MS_ENOMEM, "distance transform: out of memory");
        goto fail;
    }
    /* The sum of squares only grows from axis to axis: a partial sum above
     * the limit can be dropped (INFINITY) and whole lines then skipped. */
    if (!(limit2 >= 0.0))
        limit2 = INFINITY;
    edt_axis0(feature, n0, n1 * n2, spacing[0], limit2, dist2);
    /* axis 1: in each plane i, the lines run along j with stride n2 */
    if (n1 > 1)
        edt_axis(dist2, n1, n2, n0, n1 * n2, n2, spacing[1], limit2, &w);
    /* axis 2: contiguous lines */
    if (n2 > 1)
        edt_axis(dist2, n2, 1, n0 * n1, n2, 1, spacing[2], limit2, &w);
fail:
    free(w.f);
    free(w.d);
    free(w.z);
    free(w.v);
    return rc;
}
