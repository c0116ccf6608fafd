/* Label-map clean-up shared by the preprocessing tools (prefix ms_labels_).
 *
 * Label maps are uint8 (d, h, w) arrays in C order (d = 1 for 2D).
 */
#ifndef MS_LABELS_H
#define MS_LABELS_H

#include <stddef.h>
#include <stdint.h>
#include "ms_array.h"

/* Convert a label array of any dtype to uint8, in place (the buffer is
 * shrunk with realloc, so no second full-size copy is made).  Every value
 * must be an integer in 0..255 (upstream's np.uint8() would wrap or
 * truncate silently): otherwise MS_EINVAL with "what: label value V ..." and
 * the array's contents are unspecified (free it).  A no-op for uint8; bool
 * becomes 0/1. */
int ms_labels_to_u8(ms_array *a, const char *what, ms_err *err);

/* Set the listed label values to 0.  Returns the number of voxels cleared. */
size_t ms_labels_remove(uint8_t *lab, size_t n, const int *ids, int nids);

/* Largest value in lab, ignoring voxels equal to `skip` (skip < 0: none). */
uint8_t ms_labels_max(const uint8_t *lab, size_t n, int skip);

/* Tumour instances (upstream pre_CT_MR.py step 3): the voxels equal to id
 * are split into connected components (conn: ms_conn) numbered 1..k in
 * raster order, and component c becomes c + the largest remaining label
 * value.  MS_EINVAL (lab unchanged) if that would exceed 255.  *ninst (may be
 * NULL) receives k. */
int ms_labels_split_instances(uint8_t *lab, size_t d, size_t h, size_t w, uint8_t id,
                              int conn, size_t *ninst, ms_err *err);

/* The z indices (ascending) of the slices holding any non-zero voxel,
 * written to z_out (capacity d).  Returns their count. */
size_t ms_labels_nonzero_slices(const uint8_t *lab, size_t d, size_t slice, size_t *z_out);

/* Move the listed slices (ascending indices) to the front of lab, in
 * place: afterwards lab holds lab[z_keep[0]], lab[z_keep[1]], ... */
void ms_labels_gather_slices(uint8_t *lab, size_t slice, const size_t *z_keep, size_t n);

#endif
