/* One case of compute_metrics.py: DSC and NSD of every label, the case
 * means, and the numbers as upstream prints them (see ms_eval.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_eval.h"

/* Value of element x of an integer array as int64 (uint64 above INT64_MAX
 * saturates: such labels are out of range anyway). */
static int64_t int_at(const ms_array *a, size_t x)
{
    switch (a->dtype) {
    case MS_BOOL:
    case MS_U8: return ((const uint8_t *)a->data)[x];
    case MS_I8: return ((const int8_t *)a->data)[x];
    case MS_U16: return ((const uint16_t *)a->data)[x];
    case MS_I16: return ((const int16_t *)a->data)[x];
    case MS_U32: return ((const uint32_t *)a->data)[x];
    case MS_I32: return ((const int32_t *)a->data)[x];
    case MS_I64: return ((const int64_t *)a->data)[x];
    case MS_U64: {
        uint64_t v = ((const uint64_t *)a->data)[x];
        return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    }
    default: return 0;
    }
}

static int check_label_array(const ms_array *a, const char *role, const char *what, ms_err *err)
{
    if (a->dtype == MS_F32 || a->dtype == MS_F64 || a->dtype >= MS_DTYPE_COUNT)
        return ms_seterr(err, MS_EUNSUPP, "%s: %s has dtype %s, expected integer labels",
                         what, role, ms_dtype_name(a->dtype) ? ms_dtype_name(a->dtype) : "?");
    if (a->ndim != 2 && a->ndim != 3)
        return ms_seterr(err, MS_ESHAPE, "%s: %s has %d dimensions, expected 2 or 3",
                         what, role, a->ndim);
    return MS_OK;
}

/* A label map as the evaluation reads it: bytes when every label fits
 * (uint8 input is used in place), else 16-bit.  Values outside 1..nlab may
 * remain in an in-place map; they never equal a label and are skipped. */
typedef struct labmap {
    const uint8_t *u8;
    const uint16_t *u16;
    void *owned;
} labmap;

static int make_labmap(const ms_array *a, size_t n, int nlab, labmap *m, ms_err *err)
{
    memset(m, 0, sizeof *m);
    if (a->dtype == MS_U8 || a->dtype == MS_BOOL) {
        m->u8 = a->data;
        return MS_OK;
    }
    size_t item = nlab <= 255 ? 1 : 2;
    m->owned = malloc(n ? n * item : 1);
    if (!m->owned)
        return ms_seterr(err, MS_ENOMEM, "evaluation: out of memory for %zu voxels", n);
    if (item == 1) {
        uint8_t *u = m->owned;
        for (size_t x = 0; x < n; x++) {
            int64_t v = int_at(a, x);
            u[x] = v >= 1 && v <= nlab ? (uint8_t)v : 0;
        }
        m->u8 = u;
    } else {
        uint16_t *u = m->owned;
        for (size_t x = 0; x < n; x++) {
            int64_t v = int_at(a, x);
            u[x] = v >= 1 && v <= nlab ? (uint16_t)v : 0;
        }
        m->u16 = u;
    }
    return MS_OK;
}

static unsigned lab_at(const labmap *m, size_t x)
{
    return m->u8 ? m->u8[x] : m->u16[x];
}

static void box_add(ms_eval_label *l, size_t i, size_t j, size_t k)
{
    if (i < l->lo[0]) l->lo[0] = i;
    if (i > l->hi[0]) l->hi[0] = i;
    if (j < l->lo[1]) l->lo[1] = j;
    if (j > l->hi[1]) l->hi[1] = j;
    if (k < l->lo[2]) l->lo[2] = k;
    if (k > l->hi[2]) l->hi[2] = k;
}

/* One pass: voxel counts and bounding boxes of every label. */
static void count_labels(const labmap *g, const labmap *s, unsigned nlab, const size_t shape[3],
                         ms_eval_label *lab /* index 0 = label 1 */)
{
    for (size_t i = 0; i < shape[0]; i++)
        for (size_t j = 0; j < shape[1]; j++) {
            size_t row = (i * shape[1] + j) * shape[2];
            for (size_t k = 0; k < shape[2]; k++) {
                unsigned a = lab_at(g, row + k), b = lab_at(s, row + k);
                if (a) {
                    lab[a - 1].n_gt++;
                    box_add(&lab[a - 1], i, j, k);
                }
                if (b && b <= nlab) {
                    lab[b - 1].n_seg++;
                    if (b == a)
                        lab[b - 1].n_both++;
                    else
                        box_add(&lab[b - 1], i, j, k);
                }
            }
        }
}

static int64_t max_label(const ms_array *a, size_t n)
{
    int64_t m = INT64_MIN;
    if (a->dtype == MS_U8 || a->dtype == MS_BOOL) {
        const uint8_t *d = a->data;
        uint8_t mu = 0;
        for (size_t x = 0; x < n; x++)
            if (d[x] > mu)
                mu = d[x];
        return n ? mu : 0;
    }
    for (size_t x = 0; x < n; x++) {
        int64_t v = int_at(a, x);
        if (v > m)
            m = v;
    }
    return n ? m : 0;
}

static int label_nsd(const labmap *g, const labmap *s, const size_t shape[3], int label,
                     ms_eval_label *l, const double spacing[3], double tol, ms_err *err)
{
    if (l->n_gt == 0 && l->n_seg == 0) {
        l->nsd = NAN;            /* upstream: 0 / 0 */
        return MS_OK;
    }
    if (l->n_gt == 0 || l->n_seg == 0) {
        l->nsd = 0.0;            /* no surface of one side is within reach */
        return MS_OK;
    }
    ms__mask_src ms = { .lab8 = g->u8, .lab16 = g->u16, .label = (unsigned)label };
    ms__mask_src mp = { .lab8 = s->u8, .lab16 = s->u16, .label = (unsigned)label };
    return ms__nsd_in_box(&ms, &mp, shape, l->lo, l->hi, spacing, tol, &l->nsd, err);
}

struct ms_eval_work {
    labmap g, s;
    size_t shape[3];
    double spacing[3];
    double tolerance_mm;
    int want_nsd;              /* label NSDs to compute */
};

static void work_free(ms_eval_work **w)
{
    if (!*w)
        return;
    free((*w)->g.owned);
    free((*w)->s.owned);
    free(*w);
    *w = NULL;
}

int ms_eval_prepare(const ms_array *gt, const ms_array *seg, const double spacing[3],
                    double tolerance_mm, int nsd_mode, ms_eval_result *res,
                    ms_eval_work **work, const char *what, ms_err *err)
{
    ms_eval_work *w = NULL;
    double *v = NULL;
    int rc;

    *work = NULL;
    memset(res, 0, sizeof *res);
    res->dsc = res->nsd = NAN;
    if ((rc = check_label_array(gt, "gts", what, err))
        || (rc = check_label_array(seg, "segs", what, err)))
        return rc;
    if (gt->ndim != seg->ndim || memcmp(gt->shape, seg->shape, gt->ndim * sizeof gt->shape[0]))
        return ms_seterr(err, MS_ESHAPE, "%s: segs and gts differ in shape", what);
    if (nsd_mode != MS_EVAL_NSD_NONE && (rc = ms__check_spacing_tol(spacing, tolerance_mm, err)))
        return rc;
    size_t n = ms_array_nelem(gt);
    int64_t m = max_label(gt, n);
    if (m > 65535)
        return ms_seterr(err, MS_ELIMIT, "%s: gts has label %lld, more than 65535 labels are "
                         "not supported", what, (long long)m);
    int nlab = m > 0 ? (int)m : 0;
    res->nlabels = nlab;
    res->labels = calloc(nlab ? (size_t)nlab : 1, sizeof *res->labels);
    v = malloc((nlab ? (size_t)nlab : 1) * sizeof *v);
    w = calloc(1, sizeof *w);
    if (!res->labels || !v || !w) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", what);
        goto fail;
    }
    w->shape[0] = gt->shape[0];
    w->shape[1] = gt->shape[1];
    w->shape[2] = gt->ndim == 3 ? gt->shape[2] : 1;
    memcpy(w->spacing, spacing, sizeof w->spacing);
    w->tolerance_mm = tolerance_mm;
    if ((rc = make_labmap(gt, n, nlab, &w->g, err)) || (rc = make_labmap(seg, n, nlab, &w->s, err)))
        goto fail;
    for (int l = 0; l < nlab; l++) {
        ms_eval_label *L = &res->labels[l];
        L->lo[0] = L->lo[1] = L->lo[2] = SIZE_MAX;
        L->nsd = NAN;
    }
    count_labels(&w->g, &w->s, (unsigned)nlab, w->shape, res->labels);
    for (int l = 0; l < nlab; l++) {
        ms_eval_label *L = &res->labels[l];
        uint64_t sum = L->n_gt + L->n_seg;
        L->dsc = sum ? (double)(2 * L->n_both) / (double)sum : NAN;
        v[l] = L->dsc;
    }
    res->dsc = ms_eval_mean(v, (size_t)nlab);
    if (nsd_mode != MS_EVAL_NSD_NONE) {
        /* upstream: NSD only when the case DSC > 0.2 (False for NaN), else 0 */
        res->nsd_computed = res->dsc > 0.2;
        res->nsd = 0.0;
        w->want_nsd = res->nsd_computed || nsd_mode == MS_EVAL_NSD_ALL;
    }
    free(v);
    *work = w;
    return MS_OK;
fail:
    free(v);
    work_free(&w);
    ms_eval_result_free(res);
    return rc;
}

int ms_eval_nsd_wanted(const ms_eval_work *work)
{
    return work && work->want_nsd;
}

int ms_eval_label_nsd(ms_eval_work *w, ms_eval_result *res, int index, ms_err *err)
{
    if (!w->want_nsd || index < 0 || index >= res->nlabels)
        return MS_OK;
    return label_nsd(&w->g, &w->s, w->shape, index + 1, &res->labels[index], w->spacing,
                     w->tolerance_mm, err);
}

int ms_eval_finish(ms_eval_work **work, ms_eval_result *res, ms_err *err)
{
    int rc = MS_OK;
    if (*work && (*work)->want_nsd && res->nsd_computed) {
        double *v = malloc((res->nlabels ? (size_t)res->nlabels : 1) * sizeof *v);
        if (!v) {
            rc = ms_seterr(err, MS_ENOMEM, "evaluation: out of memory");
        } else {
            for (int l = 0; l < res->nlabels; l++)
                v[l] = res->labels[l].nsd;
            res->nsd = ms_eval_mean(v, (size_t)res->nlabels);
            free(v);
        }
    }
    work_free(work);
    return rc;
}

int ms_eval_case(const ms_array *gt, const ms_array *seg, const double spacing[3],
                 double tolerance_mm, int nsd_mode, ms_eval_result *res,
                 const char *what, ms_err *err)
{
    ms_eval_work *w;
    int rc = ms_eval_prepare(gt, seg, spacing, tolerance_mm, nsd_mode, res, &w, what, err);
    for (int l = 0; !rc && ms_eval_nsd_wanted(w) && l < res->nlabels; l++)
        rc = ms_eval_label_nsd(w, res, l, err);
    int rc2 = ms_eval_finish(&w, res, err);
    if (!rc)
        rc = rc2;
    if (rc)
        ms_eval_result_free(res);
    return rc;
}

void ms_eval_result_free(ms_eval_result *res)
{
    if (!res)
        return;
    free(res->labels);
    res->labels = NULL;
    res->nlabels = 0;
}

/* ------------------------------------------------------------ numbers as upstream prints them */

/* numpy's pairwise summation of float64 (blocks of 8 accumulators up to 128
 * elements, halves cut at multiples of 8 above). */
static double pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double r = 0.0;
        for (size_t i = 0; i < n; i++)
            r += a[i];
        return r;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        for (i = 8; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

double ms_eval_mean(const double *v, size_t n)
{
    if (n == 0)
        return NAN;
    return pairwise_sum(v, n) / (double)n;
}

double ms_eval_round4(double x)
{
    return rint(x * 10000.0) / 10000.0;
}

char *ms_eval_pyrepr(double x, char *buf, size_t size)
{
    char e[40], digits[20];
    int p, exp10, nd = 0;

    if (isnan(x)) {
        snprintf(buf, size, "nan");
        return buf;
    }
    if (isinf(x)) {
        snprintf(buf, size, x < 0 ? "-inf" : "inf");
        return buf;
    }
    if (x == 0.0) {
        snprintf(buf, size, signbit(x) ? "-0.0" : "0.0");
        return buf;
    }
    /* shortest number of significant digits that reads back as x */
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, x);
        if (strtod(e, NULL) == x)
            break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, x);
    const char *c = e + (e[0] == '-');
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    digits[nd] = '\0';
    exp10 = atoi(c + 1);

    char out[48];
    size_t o = 0;
    if (x < 0)
        out[o++] = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (int z = 0; z < -exp10 - 1; z++)
                out[o++] = '0';
            for (int d = 0; d < nd; d++)
                out[o++] = digits[d];
        } else {
            for (int d = 0; d <= exp10; d++)
                out[o++] = d < nd ? digits[d] : '0';
            out[o++] = '.';
            if (nd > exp10 + 1)
                for (int d = exp10 + 1; d < nd; d++)
                    out[o++] = digits[d];
            else
                out[o++] = '0';
        }
        out[o] = '\0';
    } else {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (int d = 1; d < nd; d++)
                out[o++] = digits[d];
        }
        snprintf(out + o, sizeof out - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    snprintf(buf, size, "%s", out);
    return buf;
}
