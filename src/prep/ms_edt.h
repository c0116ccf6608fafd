/* Exact Euclidean distance transform of a 3D volume with anisotropic voxel
 * spacing (Felzenszwalb & Huttenlocher, "Distance transforms of sampled
 * functions", 2012): one linear pass per axis, double precision.
 *
 * Used by the surface dice (medsam-eval) the way upstream uses
 * scipy.ndimage.distance_transform_edt(~features, sampling=spacing): the
 * result at every voxel is the distance to the nearest feature voxel.
 */
#ifndef MS_EDT_H
#define MS_EDT_H

#include <stddef.h>
#include <stdint.h>
#include "ms_error.h"

/* Squared distances (mm^2) to the nearest feature voxel.
 *   feature: (shape[0], shape[1], shape[2]) C order, nonzero = feature
 *   spacing: mm per step along axis 0, 1, 2 (finite, > 0)
 *   dist2:   (shape[0], shape[1], shape[2]) output; INFINITY everywhere when
 *            there is no feature; 0 on features.
 * For the nearest feature at index offsets (a, b, c) the value is computed as
 * ((a*s0)^2 + (b*s1)^2) + (c*s2)^2, the same floating-point operations as
 * scipy's distance_transform_edt before its square root.
 * Returns MS_OK, MS_EINVAL (bad spacing) or MS_ENOMEM. */
int ms_edt_sq(const uint8_t *feature, const size_t shape[3], const double spacing[3],
              double *dist2, ms_err *err);

/* As ms_edt_sq, but values above limit2 (mm^2) may be INFINITY instead: much
 * faster when only distances up to a tolerance matter.  Values <= limit2 are
 * exactly those of ms_edt_sq.  limit2 = INFINITY (or NaN) is ms_edt_sq. */
int ms_edt_sq_upto(const uint8_t *feature, const size_t shape[3], const double spacing[3],
                   double limit2, double *dist2, ms_err *err);

#endif
