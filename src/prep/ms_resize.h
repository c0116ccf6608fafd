/* medsam-tools preprocessing: image resizing that reproduces upstream exactly.
 *
 * ms_resize_area_u8()      OpenCV 4.6 cv::resize(..., INTER_AREA) on uint8
 *                          images with any number of interleaved channels:
 *                          - same size: a copy;
 *                          - integer shrink factors in both axes: block means
 *                            (OpenCV's "area fast" path, including its
 *                            (sum + 2) >> 2 rounding for 2x2 blocks);
 *                          - other shrinks: area-weighted averages in float;
 *                          - any enlargement (one axis suffices): OpenCV's
 *                            bilinear-like scheme with area-derived
 *                            coefficients in 11-bit fixed point.
 * ms_resize_bilinear_f32() PyTorch F.interpolate(mode="bilinear",
 *                          align_corners=False) on one float plane.
 * ms_resize_longest_side() the (newh, neww) of upstream's resize_longest_side.
 */
#ifndef MS_RESIZE_H
#define MS_RESIZE_H

#include <stddef.h>
#include <stdint.h>
#include "ms_error.h"

/* src: (sh, sw, cn) u8 interleaved, C order; dst: (dh, dw, cn), caller-allocated.
 * All sizes >= 1, cn in 1..4.  MS_EINVAL for bad sizes, MS_ENOMEM. */
int ms_resize_area_u8(const uint8_t *src, int sh, int sw, int cn,
                      uint8_t *dst, int dh, int dw, ms_err *err);

/* src: (sh, sw) f32 plane with row stride src_stride (elements);
 * dst: (dh, dw) f32 contiguous. */
int ms_resize_bilinear_f32(const float *src, int sh, int sw, size_t src_stride,
                           float *dst, int dh, int dw, ms_err *err);

/* scale = target / max(h, w); newh = int(h * scale + 0.5), neww likewise
 * (double arithmetic, as Python does). */
void ms_resize_longest_side(int h, int w, int target, int *newh, int *neww);

#endif
