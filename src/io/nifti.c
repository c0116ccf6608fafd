/* NIfTI-1 / NIfTI-2 volumes through nifti_clib.
 *
 * nifti_clib prints to stderr when it meets a bad file, and trusts the
 * header's sizes.  So the header is parsed and validated here first (with
 * zlib, which reads .nii and .nii.gz alike); nifti_clib only gets files whose
 * header is sane and whose size fits the caller's limits.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

/* nifti2_io.h includes <znzlib.h>: the dependency puts its folder on the path */
#include <nifti2_io.h>

#include "ms_nifti.h"
#include "ms_outfile.h"
#include "codec.h"

#define N1_HDR_SIZE 348
#define N2_HDR_SIZE 540

/* The header fields we use, whatever the version, in native byte order. */
typedef struct nii_hdr {
    int version;            /* 1 or 2 */
    int64_t dim[8];
    int datatype;
    double pixdim[8];
    double vox_offset;
    double scl_slope, scl_inter;
    int qform_code, sform_code;
    double quatern[6];      /* b, c, d, qoffset x, y, z */
    double srow[3][4];
    int swap;               /* the file's byte order is not ours */
} nii_hdr;

/* ------------------------------------------------------------ byte readers */

typedef struct rd {
    const unsigned char *p;
    int swap;
} rd;

static uint64_t rd_uint(const rd *r, size_t off, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        int k = r->swap ? i : n - 1 - i;  /* little endian unless swapped */
        v = (v << 8) | r->p[off + k];
    }
    return v;
}

static int64_t rd_i16(const rd *r, size_t off) { return (int16_t)rd_uint(r, off, 2); }
static int64_t rd_i32(const rd *r, size_t off) { return (int32_t)rd_uint(r, off, 4); }
static int64_t rd_i64(const rd *r, size_t off) { return (int64_t)rd_uint(r, off, 8); }

static double rd_f32(const rd *r, size_t off)
{
    uint32_t u = (uint32_t)rd_uint(r, off, 4);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double rd_f64(const rd *r, size_t off)
{
    uint64_t u = rd_uint(r, off, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* ------------------------------------------------------------ header parse */

static void parse_n1(const rd *r, nii_hdr *h)
{
    h->version = 1;
    for (int i = 0; i < 8; i++) {
        h->dim[i] = rd_i16(r, 40 + 2 * i);
        h->pixdim[i] = rd_f32(r, 76 + 4 * i);
    }
    h->datatype = (int)rd_i16(r, 70);
    h->vox_offset = rd_f32(r, 108);
    h->scl_slope = rd_f32(r, 112);
    h->scl_inter = rd_f32(r, 116);
    h->qform_code = (int)rd_i16(r, 252);
    h->sform_code = (int)rd_i16(r, 254);
    for (int i = 0; i < 6; i++)
        h->quatern[i] = rd_f32(r, 256 + 4 * i);
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 4; i++)
            h->srow[j][i] = rd_f32(r, 280 + 16 * j + 4 * i);
}

static void parse_n2(const rd *r, nii_hdr *h)
{
    h->version = 2;
    h->datatype = (int)rd_i16(r, 12);
    for (int i = 0; i < 8; i++) {
        h->dim[i] = rd_i64(r, 16 + 8 * i);
        h->pixdim[i] = rd_f64(r, 104 + 8 * i);
    }
    h->vox_offset = (double)rd_i64(r, 168);
    h->scl_slope = rd_f64(r, 176);
    h->scl_inter = rd_f64(r, 184);
    h->qform_code = (int)rd_i32(r, 344);
    h->sform_code = (int)rd_i32(r, 348);
    for (int i = 0; i < 6; i++)
        h->quatern[i] = rd_f64(r, 352 + 8 * i);
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 4; i++)
            h->srow[j][i] = rd_f64(r, 400 + 32 * j + 8 * i);
}

static int dtype_from_nifti(int dt, ms_dtype *t)
{
    switch (dt) {
    case NIFTI_TYPE_UINT8: *t = MS_U8; return 1;
    case NIFTI_TYPE_INT8: *t = MS_I8; return 1;
    case NIFTI_TYPE_UINT16: *t = MS_U16; return 1;
    case NIFTI_TYPE_INT16: *t = MS_I16; return 1;
    case NIFTI_TYPE_UINT32: *t = MS_U32; return 1;
    case NIFTI_TYPE_INT32: *t = MS_I32; return 1;
    case NIFTI_TYPE_UINT64: *t = MS_U64; return 1;
    case NIFTI_TYPE_INT64: *t = MS_I64; return 1;
    case NIFTI_TYPE_FLOAT32: *t = MS_F32; return 1;
    case NIFTI_TYPE_FLOAT64: *t = MS_F64; return 1;
    default: return 0;
    }
}

static int is_float(ms_dtype t) { return t == MS_F32 || t == MS_F64; }

/* SEMANTICS.md: scaled when the slope is finite, non-zero and (slope, inter)
 * is not exactly (1, 0). */
static int needs_scaling(const nii_hdr *h)
{
    return isfinite(h->scl_slope) && h->scl_slope != 0.0 &&
           !(h->scl_slope == 1.0 && h->scl_inter == 0.0);
}

/* Recognise the version from the first bytes (both byte orders) and check the
 * magic.  buf holds n bytes. */
static int check_magic(const unsigned char *buf, size_t n, const char *path, nii_hdr *h,
                       ms_err *err)
{
    static const unsigned char n2magic[8] = { 'n', '+', '2', 0, '\r', '\n', 0x1a, '\n' };
    rd r = { buf, 0 };

    if (n >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        return ms_seterr(err, MS_EUNSUPP, "%s: gzip-compressed data in a file not named .gz", path);
    if (n < 4)
        return ms_seterr(err, MS_ETRUNC, "%s: file too short for a NIfTI header (%zu bytes)", path, n);
    int64_t sz = rd_i32(&r, 0);
    if (sz != N1_HDR_SIZE && sz != N2_HDR_SIZE) {
        r.swap = 1;
        sz = rd_i32(&r, 0);
    }
    if (sz != N1_HDR_SIZE && sz != N2_HDR_SIZE)
        return ms_seterr(err, MS_EFORMAT, "%s: not a NIfTI file (sizeof_hdr is neither 348 nor 540)", path);
    if ((size_t)sz > n)
        return ms_seterr(err, MS_ETRUNC, "%s: NIfTI-%d header truncated (%zu of %d bytes)", path,
                         sz == N1_HDR_SIZE ? 1 : 2, n, (int)sz);
    if (sz == N1_HDR_SIZE) {
        if (!memcmp(buf + 344, "ni1", 4))
            return ms_seterr(err, MS_EUNSUPP, "%s: NIfTI-1 header of a .hdr/.img pair: only single .nii files are supported", path);
        if (memcmp(buf + 344, "n+1", 4))
            return ms_seterr(err, MS_EFORMAT, "%s: bad NIfTI-1 magic (not \"n+1\"; ANALYZE 7.5 is not supported)", path);
        parse_n1(&r, h);
    } else {
        if (!memcmp(buf + 4, "ni2", 4))
            return ms_seterr(err, MS_EUNSUPP, "%s: NIfTI-2 header of a .hdr/.img pair: only single .nii files are supported", path);
        if (memcmp(buf + 4, n2magic, 8))
            return ms_seterr(err, MS_EFORMAT, "%s: bad NIfTI-2 magic", path);
        parse_n2(&r, h);
    }
    h->swap = r.swap;
    return MS_OK;
}

/* Dims, datatype and offset; fills the output shape (z, y, x), the stored and
 * returned dtypes and the byte counts (checked against the limits). */
static int check_header(const nii_hdr *h, const char *path, const ms_limits *lim,
                        size_t shape[3], ms_dtype *stored, ms_dtype *out_t,
                        size_t *raw_bytes, ms_err *err)
{
    int64_t nd = h->dim[0];
    size_t out_bytes;
    int rc;

    if (nd < 1 || nd > 7)
        return ms_seterr(err, MS_EFORMAT, "%s: dim[0] = %lld is not in 1..7", path, (long long)nd);
    for (int i = 1; i <= nd; i++)
        if (h->dim[i] < 1)
            return ms_seterr(err, MS_EFORMAT, "%s: dim[%d] = %lld is not positive", path, i,
                             (long long)h->dim[i]);
    for (int i = 4; i <= nd; i++)
        if (h->dim[i] != 1)
            return ms_seterr(err, MS_EUNSUPP, "%s: %lldD image (dim[%d] = %lld): only 2D and 3D volumes are supported",
                             path, (long long)nd, i, (long long)h->dim[i]);
    if (!dtype_from_nifti(h->datatype, stored)) {
        const char *name = nifti_datatype_to_string(h->datatype);
        return ms_seterr(err, MS_EUNSUPP, "%s: datatype %d (%s) is not supported", path,
                         h->datatype, name ? name : "unknown");
    }
    if (!isfinite(h->vox_offset) || h->vox_offset < (h->version == 1 ? N1_HDR_SIZE : N2_HDR_SIZE) ||
        h->vox_offset > 1e15 || h->vox_offset != floor(h->vox_offset))
        return ms_seterr(err, MS_EFORMAT, "%s: vox_offset %g is invalid", path, h->vox_offset);
    for (int i = 0; i < 3; i++) {
        int64_t d = (3 - i <= nd) ? h->dim[3 - i] : 1;
        if ((uint64_t)d > SIZE_MAX)
            return ms_seterr(err, MS_ELIMIT, "%s: dim[%d] = %lld is too large", path, 3 - i, (long long)d);
        shape[i] = (size_t)d;
    }
    rc = ms_shape_bytes(*stored, 3, shape, lim, raw_bytes, path, err);
    if (rc < 0)
        return rc;
    *out_t = (needs_scaling(h) && !is_float(*stored)) ? MS_F32 : *stored;
    return ms_shape_bytes(*out_t, 3, shape, lim, &out_bytes, path, err);
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcasecmp(s + n - m, suf);
}

/* Read up to N2_HDR_SIZE bytes of header and validate it. */
static int read_header(const char *path, nii_hdr *h, ms_err *err)
{
    unsigned char buf[N2_HDR_SIZE];
    size_t n = 0;

    memset(h, 0, sizeof *h);
    if (ends_with(path, ".gz")) {
        gzFile gz = gzopen(path, "rb");
        if (!gz)
            return ms_seterr(err, MS_EIO, "%s: %s", path, errno ? strerror(errno) : "cannot open");
        int k = gzread(gz, buf, sizeof buf);
        int zerr = 0;
        const char *zmsg = gzerror(gz, &zerr);
        if (k < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR)) {
            int rc = ms_seterr(err, zerr == Z_DATA_ERROR ? MS_EFORMAT : MS_EIO,
                               "%s: gzip: %s", path, zmsg ? zmsg : "read error");
            gzclose(gz);
            return rc;
        }
        gzclose(gz);
        n = (size_t)k;
    } else {
        FILE *f = fopen(path, "rb");
        if (!f)
            return ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
        n = fread(buf, 1, sizeof buf, f);
        int bad = ferror(f);
        fclose(f);
        if (bad)
            return ms_seterr(err, MS_EIO, "%s: read error", path);
    }
    return check_magic(buf, n, path, h, err);
}

/* ------------------------------------------------------------ volume fill */

static double spacing_of(const nii_hdr *h, int i)
{
    double p = h->pixdim[i];
    if (i > h->dim[0] || !isfinite(p) || p == 0.0)
        return 1.0;
    return fabs(p);
}

static void fill_geometry(ms_volume *v, const nii_hdr *h)
{
    for (int i = 0; i < 3; i++)
        v->spacing[i] = spacing_of(h, i + 1);
    v->nifti_version = h->version;
    v->scl_slope = h->scl_slope;
    v->scl_inter = h->scl_inter;
    v->qform_code = h->qform_code;
    v->sform_code = h->sform_code;
    for (int i = 0; i < 6; i++)
        v->quatern[i] = (float)h->quatern[i];
    v->qfac = h->pixdim[0] < 0 ? -1.0f : 1.0f;
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 4; i++)
            v->srow[j][i] = (float)h->srow[j][i];
}

static int peek_common(const char *path, ms_volume *out, const ms_limits *lim, nii_hdr *h,
                       size_t *raw_bytes, ms_err *err)
{
    size_t shape[3];
    ms_dtype stored = MS_U8, out_t = MS_U8;
    int rc;

    memset(out, 0, sizeof *out);
    if (!ends_with(path, ".nii") && !ends_with(path, ".nii.gz"))
        return ms_seterr(err, MS_EUNSUPP, "%s: a NIfTI file name must end in .nii or .nii.gz", path);
    rc = read_header(path, h, err);
    if (rc < 0)
        return rc;
    rc = check_header(h, path, lim, shape, &stored, &out_t, raw_bytes, err);
    if (rc < 0)
        return rc;
    out->a.dtype = out_t;
    out->a.ndim = 3;
    memcpy(out->a.shape, shape, sizeof shape);
    out->stored_dtype = stored;
    fill_geometry(out, h);
    return MS_OK;
}

int ms_nifti_peek(const char *path, ms_volume *out, const ms_limits *lim, ms_err *err)
{
    nii_hdr h;
    size_t raw;
    int rc = peek_common(path, out, lim, &h, &raw, err);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ITK's order of operations: integers are first cast to float, then
 * (double)v * slope + inter is computed in double and stored as float (or in
 * the stored type for float/double data). */
#define SCALE_LOOP(T, MID, DT) do { \
        const T *s = (const T *)src; DT *d = (DT *)dst; \
        for (size_t i = 0; i < n; i++) \
            d[i] = (DT)((double)(MID)s[i] * slope + inter); \
    } while (0)

static void scale_to(ms_dtype st, const void *src, void *dst, size_t n, double slope,
                     double inter)
{
    switch (st) {
    case MS_U8: SCALE_LOOP(uint8_t, float, float); break;
    case MS_I8: SCALE_LOOP(int8_t, float, float); break;
    case MS_U16: SCALE_LOOP(uint16_t, float, float); break;
    case MS_I16: SCALE_LOOP(int16_t, float, float); break;
    case MS_U32: SCALE_LOOP(uint32_t, float, float); break;
    case MS_I32: SCALE_LOOP(int32_t, float, float); break;
    case MS_U64: SCALE_LOOP(uint64_t, float, float); break;
    case MS_I64: SCALE_LOOP(int64_t, float, float); break;
    case MS_F32: SCALE_LOOP(float, float, float); break;
    case MS_F64: SCALE_LOOP(double, double, double); break;
    default: break;
    }
}

static int file_size_check(const char *path, const nii_hdr *h, size_t raw_bytes, ms_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
    uint64_t need = (uint64_t)h->vox_offset + raw_bytes;
    if ((uint64_t)st.st_size < need)
        return ms_seterr(err, MS_ETRUNC, "%s: truncated: %llu bytes, the header needs %llu", path,
                         (unsigned long long)st.st_size, (unsigned long long)need);
    return MS_OK;
}

/* Reverse the bytes of each of the n elements of size sz (1, 2, 4 or 8). */
static void swap_elems(unsigned char *p, size_t n, size_t sz)
{
    if (sz < 2)
        return;
    for (size_t i = 0; i < n; i++, p += sz)
        for (size_t a = 0, b = sz - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* The voxel bytes of a .nii.gz: decompressed by us (codec.c: libdeflate
 * when available, 3-4x faster than the zlib stream nifti_clib reads through),
 * the header having been validated by peek_common. */
static int read_gz_voxels(const char *path, const nii_hdr *h, const ms_volume *v,
                          size_t raw_bytes, void *reuse, void **data, size_t *at, ms_err *err)
{
    int rc = ms__gunzip_file_reuse(path, (uint64_t)h->vox_offset, raw_bytes, reuse, data, at, err);
    if (rc < 0)
        return rc;
    if (h->swap)
        swap_elems((unsigned char *)*data + (at ? *at : 0), ms_array_nelem(&v->a),
                   ms_dtype_size(v->stored_dtype));
    return MS_OK;
}

int ms_nifti_read(const char *path, ms_volume *out, const ms_limits *lim, ms_err *err)
{
    return ms_nifti_read_into(path, out, lim, NULL, NULL, err);
}

int ms_nifti_read_into(const char *path, ms_volume *out, const ms_limits *lim, void *buf,
                       size_t *voxel_at, ms_err *err)
{
    nii_hdr h;
    size_t raw_bytes, at = 0;
    nifti_image *nim = NULL;
    void *raw = NULL;
    int rc, gz = ends_with(path, ".gz");

    rc = peek_common(path, out, lim, &h, &raw_bytes, err);
    if (rc < 0)
        goto fail;
    if (gz) {
        rc = read_gz_voxels(path, &h, out, raw_bytes, buf, &raw, voxel_at ? &at : NULL, err);
        buf = NULL;   /* taken over */
        if (rc < 0)
            goto fail;
    } else {
        free(buf);    /* nifti_clib allocates its own */
        buf = NULL;
        if ((rc = file_size_check(path, &h, raw_bytes, err)) < 0)
            goto fail;
        nifti_set_debug_level(0);
        nifti_set_allow_upper_fext(1);
        nim = nifti_image_read(path, 1);
        if (!nim || !nim->data) {
            rc = ms_seterr(err, MS_EIO, "%s: nifti_clib could not read the voxel data", path);
            goto fail;
        }
        if (nim->nx != (int64_t)out->a.shape[2] || nim->ny != (int64_t)out->a.shape[1] ||
            nim->nz != (int64_t)out->a.shape[0] || nim->datatype != h.datatype ||
            (size_t)nim->nvox * (size_t)nim->nbyper != raw_bytes) {
            rc = ms_seterr(err, MS_EFORMAT, "%s: nifti_clib read a different header than expected",
                           path);
            goto fail;
        }
        raw = nim->data;   /* take nifti_clib's buffer (malloc'd) */
        nim->data = NULL;
        nifti_image_free(nim);
        nim = NULL;
    }
    if (voxel_at)
        *voxel_at = 0;
    if (out->a.dtype == out->stored_dtype && !needs_scaling(&h)) {
        out->a.data = raw;
        raw = NULL;
        if (voxel_at)
            *voxel_at = at;
    } else {
        size_t n = ms_array_nelem(&out->a);
        out->a.data = malloc(n * ms_dtype_size(out->a.dtype) + 1);
        if (!out->a.data) {
            rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
        scale_to(out->stored_dtype, (unsigned char *)raw + at, out->a.data, n, h.scl_slope,
                 isfinite(h.scl_inter) ? h.scl_inter : 0.0);
        free(raw);
    }
    return MS_OK;
fail:
    free(buf);
    free(raw);
    if (nim)
        nifti_image_free(nim);
    ms_volume_free(out);
    return rc;
}

void ms_volume_free(ms_volume *v)
{
    if (!v)
        return;
    ms_array_free(&v->a);
    memset(v, 0, sizeof *v);
}

/* ------------------------------------------------------------ writer */

static int nifti_type_of(ms_dtype t)
{
    switch (t) {
    case MS_U8: return NIFTI_TYPE_UINT8;
    case MS_I16: return NIFTI_TYPE_INT16;
    case MS_F32: return NIFTI_TYPE_FLOAT32;
    default: return 0;
    }
}

/* Geometry: copied from `like`, or SimpleITK's default for the spacing. */
static void set_geometry(nifti_image *nim, const double sp[3], const ms_volume *like)
{
    nim->xyz_units = NIFTI_UNITS_MM;
    nim->time_units = NIFTI_UNITS_SEC;
    if (like) {
        nim->qform_code = like->qform_code;
        nim->sform_code = like->sform_code;
        nim->quatern_b = like->quatern[0];
        nim->quatern_c = like->quatern[1];
        nim->quatern_d = like->quatern[2];
        nim->qoffset_x = like->quatern[3];
        nim->qoffset_y = like->quatern[4];
        nim->qoffset_z = like->quatern[5];
        nim->qfac = like->qfac < 0 ? -1.0 : 1.0;
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < 4; i++)
                nim->sto_xyz.m[j][i] = like->srow[j][i];
    } else {
        /* LPS identity direction = RAS diag(-1, -1, 1): a half turn about z. */
        nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
        nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
        nim->quatern_b = 0.0;
        nim->quatern_c = 0.0;
        nim->quatern_d = 1.0;
        nim->qoffset_x = nim->qoffset_y = nim->qoffset_z = 0.0;
        nim->qfac = 1.0;
        memset(&nim->sto_xyz, 0, sizeof nim->sto_xyz);
        nim->sto_xyz.m[0][0] = -sp[0];
        nim->sto_xyz.m[1][1] = -sp[1];
        nim->sto_xyz.m[2][2] = sp[2];
    }
    nim->sto_xyz.m[3][3] = 1.0;
    nim->qto_xyz = nifti_quatern_to_dmat44(nim->quatern_b, nim->quatern_c, nim->quatern_d,
                                           nim->qoffset_x, nim->qoffset_y, nim->qoffset_z,
                                           sp[0], sp[1], sp[2], nim->qfac);
    nim->qto_ijk = nifti_dmat44_inverse(nim->qto_xyz);
    nim->sto_ijk = nifti_dmat44_inverse(nim->sto_xyz);
}

static int check_write_args(const char *path, const ms_array *a, const double sp[3],
                            int64_t dims[8], ms_err *err)
{
    int gz = ends_with(path, ".nii.gz");
    if (!gz && !ends_with(path, ".nii"))
        return ms_seterr(err, MS_EINVAL, "%s: a NIfTI file name must end in .nii or .nii.gz", path);
    if (!nifti_type_of(a->dtype))
        return ms_seterr(err, MS_EUNSUPP, "%s: cannot write dtype %s as NIfTI (u1, i2 or f4 only)",
                         path, ms_dtype_name(a->dtype) ? ms_dtype_name(a->dtype) : "?");
    if (a->ndim != 2 && a->ndim != 3)
        return ms_seterr(err, MS_ESHAPE, "%s: cannot write a %d-dimensional array as a volume", path, a->ndim);
    for (int i = 0; i < 3; i++)
        if (!isfinite(sp[i]) || sp[i] <= 0)
            return ms_seterr(err, MS_EINVAL, "%s: spacing %g is not positive", path, sp[i]);
    memset(dims, 0, 8 * sizeof *dims);
    dims[0] = a->ndim;
    for (int i = 0; i < a->ndim; i++) {
        size_t d = a->shape[a->ndim - 1 - i];
        if (d < 1 || d > INT16_MAX)
            return ms_seterr(err, MS_ESHAPE, "%s: dimension %zu does not fit NIfTI-1 (1..32767)", path, d);
        dims[i + 1] = (int64_t)d;
    }
    for (int i = a->ndim + 1; i < 8; i++)
        dims[i] = 1;
    return MS_OK;
}

/* nifti_clib reports write errors only on stderr: check the result ourselves
 * (gzclose's status, the plain file's size). */
static int write_nim(nifti_image *nim, const char *tmp, int gz, size_t data_bytes,
                     const char *path, ms_err *err)
{
    znzFile fp = znzopen(tmp, "wb", gz);
    if (znz_isnull(fp))
        return ms_seterr(err, MS_EIO, "%s: cannot open temporary file %s", path, tmp);
    /* write_opts 3: write the data and leave the file open for us to close. */
    znzFile r = nifti_image_write_hdr_img2(nim, 3, "wb", fp, NULL);
    if (znz_isnull(r))
        return ms_seterr(err, MS_EIO, "%s: nifti_clib failed to write the file", path);
    if (znzclose(r) != 0)
        return ms_seterr(err, MS_EIO, "%s: write failed: %s", path, strerror(errno));
    if (!gz) {
        struct stat st;
        if (stat(tmp, &st) != 0 || (uint64_t)st.st_size != (uint64_t)nim->iname_offset + data_bytes)
            return ms_seterr(err, MS_EIO, "%s: short write (disk full?)", path);
    }
    return MS_OK;
}

int ms_nifti_write(const char *path, const ms_array *a, const double spacing[3],
                   const ms_volume *like, ms_err *err)
{
    int64_t dims[8];
    nifti_image *nim = NULL;
    ms_outfile of;
    int rc, gz = ends_with(path, ".nii.gz");
    int have_of = 0;

    rc = check_write_args(path, a, spacing, dims, err);
    if (rc < 0)
        return rc;
    nifti_set_debug_level(0);
    nim = nifti_make_new_nim(dims, nifti_type_of(a->dtype), 0);
    if (!nim)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    for (int i = 0; i < 3; i++)
        nim->pixdim[i + 1] = spacing[i];
    nim->dx = spacing[0];
    nim->dy = spacing[1];
    nim->dz = spacing[2];
    set_geometry(nim, spacing, like);
    nim->scl_slope = 0.0;
    nim->scl_inter = 0.0;
    nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
    free(nim->fname);
    free(nim->iname);
    nim->fname = nifti_strdup(path);
    nim->iname = nifti_strdup(path);
    if (!nim->fname || !nim->iname) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    nim->data = a->data;
    rc = ms_outfile_reserve(&of, path, gz ? ".nii.gz" : ".nii", err);
    if (rc < 0)
        goto fail;
    have_of = 1;
    rc = write_nim(nim, of.tmp_path, gz, ms_array_nbytes(a), path, err);
    if (rc < 0)
        goto fail;
    nim->data = NULL;
    nifti_image_free(nim);
    return ms_outfile_commit(&of, err);
fail:
    if (have_of)
        ms_outfile_abort(&of);
    if (nim) {
        nim->data = NULL;
        nifti_image_free(nim);
    }
    return rc;
}
