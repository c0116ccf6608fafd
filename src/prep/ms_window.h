/* Intensity normalisation of CT/MR volumes to uint8 (prefix ms_window_),
 * exactly as upstream pre_CT_MR.py computes it with numpy 1.24:
 *
 *   pre = clip(img, lower, upper)
 *   out = uint8((pre - min(pre)) / (max(pre) - min(pre)) * 255.0)
 *
 * min/max over the whole clipped volume.  Integer images are computed in
 * float64; float32 images in float32 (the bounds rounded to float32);
 * float64 images in float64.  uint8() truncates toward zero.
 *
 * The image is (d, ...) with slices along the first axis; only the slices
 * listed in z (all if z == NULL) are written to out, one after the other
 * (out holds nz * slice bytes), but the bounds and min/max always come from
 * the whole volume.
 *
 * In place: out may be img->data itself, or lie before it in the same
 * buffer (the uint8 result then fills the front of the image's buffer).
 * Every output byte lands at or before the input element it comes from,
 * which is read first, as long as z is strictly ascending (MS_EINVAL
 * otherwise, and for an out starting inside the image); the image is
 * garbage afterwards.
 */
#ifndef MS_WINDOW_H
#define MS_WINDOW_H

#include <stddef.h>
#include <stdint.h>
#include "ms_array.h"

/* Flags in ms_window_info.flags: the output is all zeros because... */
enum {
    MS_WINDOW_CONSTANT = 1,      /* the clipped volume is constant (max == min) */
    MS_WINDOW_NO_POSITIVE = 2,   /* percentile mode: no voxel > 0 */
};

typedef struct ms_window_info {
    double lower, upper;   /* clip bounds (as computed in float64) */
    double vmin, vmax;     /* min / max of the clipped volume */
    unsigned flags;
} ms_window_info;

/* CT window: lower = level - width / 2, upper = level + width / 2. */
int ms_window_ct(const ms_array *img, double level, double width, const size_t *z, size_t nz,
                 uint8_t *out, ms_window_info *info, ms_err *err);

/* Percentile window (upstream's MR/other branch): lower/upper = the q_lo /
 * q_hi percentiles (numpy linear) of the voxels > 0; after the min-max
 * scaling, voxels whose original value is 0 become 0. */
int ms_window_percentile(const ms_array *img, double q_lo, double q_hi, const size_t *z,
                         size_t nz, uint8_t *out, ms_window_info *info, ms_err *err);

#endif
