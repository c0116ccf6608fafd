/* One case of the challenge's compute_metrics.py: DSC and normalised surface
 * dice (ms_surface.h) of every label 1..max(gt), the case means with
 * upstream's rules, and the numbers as upstream's CSV prints them.
 */
#ifndef MS_EVAL_H
#define MS_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include "ms_array.h"
#include "ms_error.h"
#include "ms_surface.h"

typedef struct ms_eval_label {
    uint64_t n_gt, n_seg, n_both;  /* voxels with the label in gt, seg, both */
    size_t lo[3], hi[3];           /* inclusive bounding box of gt|seg (if any) */
    double dsc;                    /* NaN when both are empty */
    double nsd;                    /* NaN when both are empty or not computed */
} ms_eval_label;

enum {
    MS_EVAL_NSD_NONE = 0,     /* DSC only */
    MS_EVAL_NSD_UPSTREAM = 1, /* NSD only when the case DSC > 0.2, else case NSD 0 */
    MS_EVAL_NSD_ALL = 2,      /* as UPSTREAM for the case NSD, but every label's
                                 NSD is computed (for per-label reports) */
};

typedef struct ms_eval_result {
    double dsc;               /* mean over labels 1..n (numpy mean: NaN propagates;
                                 NaN when n == 0) */
    double nsd;               /* mean over labels, or 0 (DSC <= 0.2 or NaN), or NaN
                                 when mode is NONE */
    int nsd_computed;         /* the case NSD is a mean of label NSDs */
    int nlabels;              /* max(gt) */
    ms_eval_label *labels;    /* (nlabels,), labels[i] is label i+1; owned */
} ms_eval_result;

/* Evaluate one case.  gt and seg: integer (or bool) arrays of the same shape,
 * ndim 3 (d0, d1, d2) or 2 (H, W) taken as (H, W, 1).  Labels are 1..max(gt);
 * seg values outside that range count as background.  spacing applies to
 * axes 0, 1, 2 as given (upstream passes the npz spacing as stored).
 * Fills *res (free with ms_eval_result_free).  Errors: MS_EUNSUPP (float
 * dtype), MS_ESHAPE, MS_ELIMIT (max(gt) > 65535), MS_EINVAL, MS_ENOMEM.
 * `what` names the case in messages. */
int ms_eval_case(const ms_array *gt, const ms_array *seg, const double spacing[3],
                 double tolerance_mm, int nsd_mode, ms_eval_result *res,
                 const char *what, ms_err *err);
void ms_eval_result_free(ms_eval_result *res);

/* ms_eval_case in three steps, so that a caller can spread the labels' NSD
 * over threads (the library starts none):
 *   ms_eval_prepare   checks, DSC of every label and of the case, and decides
 *                     which NSDs are needed; *work holds the label maps
 *   ms_eval_label_nsd NSD of label index+1 (a no-op when not needed); calls
 *                     for different indices may run concurrently
 *   ms_eval_finish    the case NSD; frees *work (also after an error)
 * On an error of prepare, *res is freed and *work is NULL. */
typedef struct ms_eval_work ms_eval_work;
int ms_eval_prepare(const ms_array *gt, const ms_array *seg, const double spacing[3],
                    double tolerance_mm, int nsd_mode, ms_eval_result *res,
                    ms_eval_work **work, const char *what, ms_err *err);
int ms_eval_nsd_wanted(const ms_eval_work *work);
int ms_eval_label_nsd(ms_eval_work *work, ms_eval_result *res, int index, ms_err *err);
int ms_eval_finish(ms_eval_work **work, ms_eval_result *res, ms_err *err);

/* numpy's mean of a float64 vector (its pairwise summation, then / n). */
double ms_eval_mean(const double *v, size_t n);

/* numpy's round(x, 4): rint(x * 1e4) / 1e4. */
double ms_eval_round4(double x);

/* x as Python's repr() prints it (shortest round-trip digits; "1.0", "0.7466",
 * "1e-05", "nan", "inf").  buf needs 32 bytes.  Returns buf. */
char *ms_eval_pyrepr(double x, char *buf, size_t size);

#endif
