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

/* ---- internal, shared with eval.c ---- */

/* Where the crop builder reads "inside": a binary mask, or the voxels equal
 * to `label` in a label map of bytes or of 16-bit labels. */
typedef struct ms__mask_src {
    const uint8_t *bin;
    const uint8_t *lab8;
    const uint16_t *lab16;
    unsigned label;
} ms__mask_src;

/* NSD of gt vs pred (volumes of `shape`) whose union lies in the inclusive
 * box lo..hi (not empty). */
int ms__nsd_in_box(const ms__mask_src *gt, const ms__mask_src *pred, const size_t shape[3],
                   const size_t lo[3], const size_t hi[3], const double spacing[3],
                   double tol, double *nsd, ms_err *err);
int ms__check_spacing_tol(const double spacing[3], double tol, ms_err *err);

#endif
