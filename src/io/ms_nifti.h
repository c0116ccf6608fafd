/* medsam-tools I/O library: NIfTI-1 and NIfTI-2 volumes (.nii, .nii.gz),
 * through nifti_clib.
 *
 * A volume becomes an array in (z, y, x) order: element [k][j][i] is voxel
 * (i, j, k) in file storage order, no reorientation (SimpleITK's
 * GetArrayFromImage).  Stored values are scaled by scl_slope/scl_inter when
 * scl_slope is finite, non-zero and (slope, inter) != (1, 0); scaled integer
 * data is returned as float32, computed as ITK does: float(v), then
 * v * slope + inter in double, rounded to float.  Float data is scaled in its
 * own type.  Unscaled data keeps its type.
 * Only 2D/3D images (dim[0] <= 3, or higher dims of size 1) are accepted.
 */
#ifndef MS_NIFTI_H
#define MS_NIFTI_H

#include "ms_array.h"

typedef struct ms_volume {
    ms_array a;          /* (z, y, x); 2D images come back as (1, y, x) */
    double spacing[3];   /* |pixdim[1..3]|: x, y, z (mm); 1.0 where pixdim is 0,
                            not finite, or the dimension is absent */
    int nifti_version;   /* 1 or 2 */
    ms_dtype stored_dtype;      /* dtype in the file, before scaling */
    double scl_slope, scl_inter; /* as stored (the header's floats) */
    /* qform/sform kept for writing back outputs in the same space */
    int qform_code, sform_code;
    float quatern[6];    /* b, c, d, qoffset x, y, z */
    float qfac;
    float srow[3][4];    /* sform rows (srow_x, srow_y, srow_z) */
} ms_volume;

/* Read a whole volume.  The header is validated before nifti_clib sees the
 * file (dims, datatype, vox_offset, size against the limits, file length for
 * uncompressed files), so nifti_clib never prints for a malformed file.  As
 * in nifti_clib (and hence ITK), non-finite float voxels read as 0.  The file
 * name must end in .nii or .nii.gz (case-insensitive).  On failure *out is
 * empty.  Free with ms_volume_free(). */
int ms_nifti_read(const char *path, ms_volume *out, const ms_limits *lim, ms_err *err);

/* ms_nifti_read, with the voxels read into buf where that saves fresh
 * memory (a .nii.gz: buf is realloc'd to the size needed).  buf is a
 * malloc'd buffer of any size, or NULL; the call owns it in every case and
 * its contents are lost.
 * voxel_at NULL: the voxels start at out->a.data, as ms_nifti_read.  Else
 * they start at (char *)out->a.data + *voxel_at, which may be past the
 * start (a .nii.gz's header bytes left in front instead of the whole volume
 * moved down over them); out->a.data is still what ms_volume_free frees. */
int ms_nifti_read_into(const char *path, ms_volume *out, const ms_limits *lim, void *buf,
                       size_t *voxel_at, ms_err *err);

/* Header only: dtype (after scaling rule) and shape, no voxel data read. */
int ms_nifti_peek(const char *path, ms_volume *out, const ms_limits *lim, ms_err *err);

/* Write a u8 / i16 / f32 (z,y,x) or (y,x) array as NIfTI-1 (.nii or .nii.gz by
 * suffix), with the given spacing (x, y, z).  If `like` is non-NULL its
 * qform/sform are copied; otherwise the geometry is what SimpleITK writes for
 * an image with that spacing, origin 0 and identity direction (qform and sform
 * code 1, matrix diag(-sx, -sy, sz) from ITK's LPS to NIfTI's RAS).
 * Atomic (temp + rename). */
int ms_nifti_write(const char *path, const ms_array *a, const double spacing[3],
                   const ms_volume *like, ms_err *err);

void ms_volume_free(ms_volume *v);

#endif
