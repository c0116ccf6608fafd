/* Segmentation accuracy metrics of the challenge (upstream compute_metrics.py
 * and SurfaceDice.py): Dice similarity coefficient (DSC) and normalised
 * surface dice (NSD) of the DeepMind surface-distance algorithm.
 *
 * NSD of two binary masks at tolerance t mm (per upstream):
 *   - crop both masks to the bounding box of their union, zero-padded by one
 *     voxel at the high end of each axis (cval 0 below);
 *   - the neighbour code of voxel (i,j,k) is the 8-bit pattern of the 2x2x2
 *     block m[i-1..i][j-1..j][k-1..k], weight 128 for m[i-1][j-1][k-1] down to
 *     1 for m[i][j][k]; a voxel is a surface voxel when its code is not 0 or 255;
 *   - each surface voxel has an area: the sum of the norms of its code's
 *     surfel normals scaled by the spacing (ms_surfel_areas);
 *   - distances from each surface voxel to the nearest surface voxel of the
 *     other mask (exact Euclidean, spacing in mm);
 *   - NSD = (area of gt surface within t of pred + area of pred surface within
 *     t of gt) / (total gt surface area + total pred surface area).
 * Arrays are C order (d0, d1, d2); spacing[a] is the step along axis a in mm.
 * A 2D image (H, W) is the volume (H, W, 1).
 */
#ifndef MS_SURFACE_H
#define MS_SURFACE_H

#include <stddef.h>
#include <stdint.h>
#include "ms_array.h"
#include "ms_error.h"

/* The neighbour-code table (generated: surface_normals_table.c).  Normals are
 * for unit spacing; a normal's length is the area of its surfel. */
extern const unsigned char ms__surfel_normal_count[256];
extern const double ms__surfel_normals[256][4][3];

/* Area in mm^2 of every neighbour code for this spacing: sum over the code's
 * normals n of |(n0*s1*s2, n1*s0*s2, n2*s0*s1)|. */
void ms_surfel_areas(const double spacing[3], double areas[256]);

/* NSD of two binary masks (nonzero = inside), shape (d0, d1, d2).
 * NaN when both masks are empty, 0 when exactly one is.
 * Returns MS_OK, MS_EINVAL or MS_ENOMEM. */
int ms_surface_dice(const uint8_t *gt, const uint8_t *pred, const size_t shape[3],
                    const double spacing[3], double tolerance_mm, double *nsd, ms_err *err);

/* DSC of two binary masks: 2|G&P| / (|G| + |P|); NaN when both are empty. */
double ms_dice(const uint8_t *gt, const uint8_t *pred, size_t n);

/* ---- multi-label evaluation of one case (compute_metrics.py) ---- */

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
