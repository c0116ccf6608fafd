/* Connected components of uint8 label volumes (prefix ms_cc_).
 *
 * A volume is (d, h, w) uint8 in C order; a 2D image is d = 1.  Two voxels
 * are connected when they are neighbours under the chosen connectivity AND
 * hold the same non-zero value: voxels of different label values are never
 * joined (cc3d's multi-label behaviour).  The 2D connectivities (4, 8) join
 * voxels within one z slice only, so a call on a (d, h, w) volume treats
 * every slice on its own.
 *
 * Components are numbered 1..n in raster order: component k is the k-th one
 * whose first voxel is met in a C-order scan.
 *
 * The work is done on runs (maximal stretches of one non-zero value along
 * x) with a union-find over run indices: memory is one int32 per run (at most
 * one per voxel, in practice a small fraction), no recursion, no per-voxel
 * allocation.  Volumes are limited to INT32_MAX voxels.
 */
#ifndef MS_CC_H
#define MS_CC_H

#include <stddef.h>
#include <stdint.h>
#include "ms_error.h"

/* Connectivity: 4 or 8 (in-plane), 6, 18 or 26 (3D). */
typedef enum ms_conn {
    MS_CONN_4 = 4, MS_CONN_8 = 8, MS_CONN_6 = 6, MS_CONN_18 = 18, MS_CONN_26 = 26
} ms_conn;

/* Label the components of lab (d, h, w).  value < 0: every non-zero value
 * takes part; 0..255: only voxels equal to value (a binary mask of it).
 * out (d, h, w) int32, may be NULL: component number 1..n, 0 elsewhere.
 * *sizes, if sizes != NULL: malloc'd array of n + 1 voxel counts, (*sizes)[k]
 * for component k, (*sizes)[0] = 0; the caller frees it.
 * *ncomp receives n.  Errors: MS_EINVAL (bad connectivity or value),
 * MS_ELIMIT (more than INT32_MAX voxels), MS_ENOMEM. */
int ms_cc_label(const uint8_t *lab, size_t d, size_t h, size_t w, int conn, int value,
                int32_t *out, uint32_t **sizes, size_t *ncomp, ms_err *err);

/* In place: set to 0 every component (per label value) with fewer than
 * min_size voxels (cc3d.dust(threshold=min_size)).  *n_removed (may be NULL)
 * receives the number of components removed. */
int ms_cc_dust(uint8_t *lab, size_t d, size_t h, size_t w, int conn, size_t min_size,
               size_t *n_removed, ms_err *err);

/* In place: the voxels equal to value form components 1..n (raster order);
 * each voxel of component k becomes base + k.  Fails with MS_EINVAL, leaving
 * lab unchanged, when base + n > 255.  *ncomp (may be NULL) receives n. */
int ms_cc_instances(uint8_t *lab, size_t d, size_t h, size_t w, int conn, uint8_t value,
                    unsigned base, size_t *ncomp, ms_err *err);

/* A cleaned label volume as runs (ms_cc_clean): every run of one non-zero
 * value along x, in raster order, with the value it keeps (0: removed). */
typedef struct ms_label_runs {
    size_t d, h, w;
    size_t n;            /* runs */
    size_t removed;      /* runs whose value became 0 */
    uint32_t *row;       /* [d * h + 1]: the runs of row r = z * h + y are row[r] .. row[r + 1] - 1 */
    uint32_t *x0, *x1;   /* [n] first x, one past the last x */
    uint8_t *v;          /* [n] value after the clean-up; 0 = removed */
} ms_label_runs;

/* Upstream pre_CT_MR.py's two dust steps from one scan of lab: the result is
 * that of ms_cc_dust(conn3, min3) followed by ms_cc_dust(conn2, min2) on what
 * is left, but lab is only read: the cleaned volume is *r (free with
 * ms_label_runs_free; empty on failure).  conn2 is 4 or 8 (per slice). */
int ms_cc_clean(const uint8_t *lab, size_t d, size_t h, size_t w, int conn3, size_t min3,
                int conn2, size_t min2, ms_label_runs *r, ms_err *err);

/* Clear the removed runs in lab, the volume *r was made from: it then holds
 * the cleaned labels. */
void ms_label_runs_apply(const ms_label_runs *r, uint8_t *lab);

/* The z indices (ascending) of the slices with a voxel left, into z_out
 * (capacity r->d); returns their count. */
size_t ms_label_runs_nonzero_slices(const ms_label_runs *r, size_t *z_out);

/* out (nz, h, w) = the cleaned slices z[0], z[1], ... (each z[k] < r->d). */
void ms_label_runs_paint(const ms_label_runs *r, const size_t *z, size_t nz, uint8_t *out);

/* The bytes ms_label_runs_paint(r, z, nz, out) would write, as a run source
 * (the callbacks of ms_npz_runs, ms_npz.h): maximal runs, zeros joined
 * across rows and slices.  No buffer of the volume is needed. */
typedef struct ms_label_runs_iter {
    const ms_label_runs *r;
    const size_t *z;
    size_t nz;
    size_t k, y;          /* current kept slice, row in it */
    uint32_t j, je;       /* next run of that row, one past its last */
    size_t x;             /* bytes of that row given out */
} ms_label_runs_iter;

void ms_label_runs_iter_init(ms_label_runs_iter *it, const ms_label_runs *r, const size_t *z,
                             size_t nz);
/* it: an ms_label_runs_iter.  Back to the first byte. */
void ms_label_runs_rewind(void *it);
/* Length of the next run (> 0) and its value in *value; 0 at the end. */
size_t ms_label_runs_next(void *it, unsigned char *value);

void ms_label_runs_free(ms_label_runs *r);

#endif
