/* medsam-npz2npy: challenge npz (imgs, gts) -> one npy pair per slice for
 * training, the files upstream npz_to_npy.py writes, byte for byte.
 *
 * Per NAME.npz (SEMANTICS.md, medsam-npz2npy):
 *   3D (gts (D, H, W)): for each slice i, imgs/NAME-iii.npy = the slice
 *     repeated to (H, W, 3), (v - min) / max(max - min, 1e-8) in float64 with
 *     min/max of that slice; gts/NAME-iii.npy = gts[i] as uint8 (H, W).
 *   2D (gts (H, W)): imgs (H, W) repeated to 3 channels or (H, W, C) kept,
 *     the same normalisation; gts written in its stored dtype.
 * imgs must be uint8 (what every preprocessing step writes).  The float64
 * value of a uint8 v is (double)(v - min) / (double)(max - min) exactly as
 * numpy divides, so a 256-entry table per slice gives every output value.
 *
 * Memory: the two decompressed members plus one output slice per thread.
 * Writes: each file goes to a temp file renamed over its name (a killed run
 * never leaves a partial file), without an fsync per file -- with hundreds
 * of slices that fsync was most of the run time; one syncfs() of the output
 * file system at the end makes everything durable before exit 0.
 * Options that change the output (the defaults stay upstream's):
 *   --dtype float32   the same values rounded to float32 (np.float32(img_01));
 *   --resize S        longest side to S with INTER_AREA on the uint8 slice (as
 *                     inference does), normalise, zero-pad bottom/right to
 *                     S x S; gts resized with nearest neighbour (cv2's
 *                     INTER_NEAREST: src = floor(dst * src_size / dst_size))
 *                     so they stay label-valued, then zero-padded.
 */
#include "config.h"
#include "cli.h"
#include "ms_labels.h"
#include "ms_npy.h"
#include "ms_npz.h"
#include "ms_outfile.h"
#include "ms_resize.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct opts {
    const char *out_dir;
    int f32;            /* --dtype float32 */
    int resize;         /* --resize S; 0 = keep the size */
    int jobs, quiet;
    int shard_k, shard_n;
    ms_limits lim;              /* --max-memory: budget of one input array */
} opts;

/* One input file being converted. */
typedef struct job {
    const opts *o;
    const char *path;           /* input npz */
    const char *name;           /* output base name */
    ms_array imgs, gts;         /* imgs u8 (D, H, W) or (H, W[, C]); gts (D, H, W) u8 or (H, W) */
    int is3d;
    size_t nslices;
    pthread_mutex_t lock;
    ms_err err;                 /* the first slice error */
    int failed;
} job;

/* ------------------------------------------------------------ per-thread scratch */

static pthread_key_t scratch_key;

typedef struct scratch {
    size_t cap;
    unsigned char *p;
} scratch;

static void scratch_free(void *v)
{
    scratch *s = v;
    if (s)
        free(s->p);
    free(s);
}

/* The calling thread's reusable buffer of at least n bytes (NULL: out of memory). */
static unsigned char *scratch_get(size_t n)
{
    scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        if (!(s = calloc(1, sizeof *s)) || pthread_setspecific(scratch_key, s)) {
            free(s);
            return NULL;
        }
    }
    if (s->cap < n) {
        unsigned char *p = realloc(s->p, n);
        if (!p)
            return NULL;
        s->p = p;
        s->cap = n;
    }
    return s->p;
}

/* ------------------------------------------------------------ writing */

static int write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* np.save's bytes for (t, shape, data) into path: temp file + rename, no
 * fsync (see the top of the file). */
static int write_npy(const char *path, ms_dtype t, int ndim, const size_t *shape,
                     const void *data, ms_err *err)
{
    ms_array a = {.dtype = t, .ndim = ndim};
    unsigned char hdr[512];
    size_t hlen, nbytes;
    ms_limits nolimit = {UINT64_MAX};
    memcpy(a.shape, shape, (size_t)ndim * sizeof *shape);
    int rc = ms_npy_header(&a, hdr, sizeof hdr, &hlen, err);
    if (rc || (rc = ms_shape_bytes(t, ndim, shape, &nolimit, &nbytes, path, err)))
        return rc;
    ms_outfile o;
    if ((rc = ms_outfile_reserve(&o, path, "", err)))
        return rc;
    int fd = open(o.tmp_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    int bad = fd < 0 || write_all(fd, hdr, hlen) || write_all(fd, data, nbytes);
    int e = errno;
    if (fd >= 0 && close(fd) && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(o.tmp_path, o.final_path)) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        rc = ms_seterr(err, MS_EIO, "%s: write failed: %s", path, strerror(e));
        unlink(o.tmp_path);
    }
    free(o.tmp_path);
    free(o.final_path);
    return rc;
}

/* ------------------------------------------------------------ one slice */

/* cv2.resize INTER_NEAREST of an (sh, sw) plane of esz-byte elements into
 * the top-left (dh, dw) of a zeroed (S, S) plane. */
static void nearest_pad(const unsigned char *src, size_t sh, size_t sw, size_t esz,
                        unsigned char *dst, size_t dh, size_t dw, size_t S)
{
    double fy = (double)sh / (double)dh, fx = (double)sw / (double)dw;
    memset(dst, 0, S * S * esz);
    for (size_t y = 0; y < dh; y++) {
        size_t sy = (size_t)(y * fy);
        if (sy > sh - 1)
            sy = sh - 1;
        for (size_t x = 0; x < dw; x++) {
            size_t sx = (size_t)(x * fx);
            if (sx > sw - 1)
                sx = sw - 1;
            memcpy(dst + (y * S + x) * esz, src + (sy * sw + sx) * esz, esz);
        }
    }
}

/* (h, w, c) uint8 -> (oh, ow, oc) float64/32 normalised with min/max of the
 * plane, written into the top-left of out; rep3: c == 1 repeated to 3.
 * Elements outside (h, w) are left as they are (zeroed by the caller). */
static void normalise(const uint8_t *src, size_t h, size_t w, size_t c, int rep3, int f32,
                      void *out, size_t ow)
{
    size_t n = h * w * c;
    uint8_t lo = 255, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = src[i] < lo ? src[i] : lo;
        hi = src[i] > hi ? src[i] : hi;
    }
    /* numpy: uint8 (v - min) / clip(uint8 (max - min), 1e-8, None) in float64 */
    double den = hi > lo ? (double)(uint8_t)(hi - lo) : 1e-8;
    double lut[256];
    for (int v = lo; v <= hi; v++)
        lut[v] = (double)(uint8_t)(v - lo) / den;
    size_t oc = rep3 ? 3 : c;
    for (size_t y = 0; y < h; y++) {
        const uint8_t *s = src + y * w * c;
        size_t o0 = y * ow * oc;
        if (f32) {
            float *d = (float *)out + o0;
            for (size_t i = 0; i < w * c; i++)
                for (size_t k = 0; k < (rep3 ? 3u : 1u); k++)
                    *d++ = (float)lut[s[i]];
        } else {
            double *d = (double *)out + o0;
            for (size_t i = 0; i < w * c; i++)
                for (size_t k = 0; k < (rep3 ? 3u : 1u); k++)
                    *d++ = lut[s[i]];
        }
    }
}

static char *out_path(const job *j, const char *sub, long idx)
{
    size_t len = strlen(j->o->out_dir) + strlen(sub) + strlen(j->name) + 32;
    char *p = malloc(len);
    if (!p)
        return NULL;
    if (idx < 0)
        snprintf(p, len, "%s/%s/%s.npy", j->o->out_dir, sub, j->name);
    else
        snprintf(p, len, "%s/%s/%s-%03ld.npy", j->o->out_dir, sub, j->name, idx);
    return p;
}

/* Write imgs/... for the image plane src (h, w, c). */
static int write_img(const job *j, const char *path, const uint8_t *src, size_t h, size_t w,
                     size_t c, ms_err *err)
{
    const opts *o = j->o;
    int rep3 = j->is3d || j->imgs.ndim == 2;
    size_t oc = rep3 ? 3 : c, esz = o->f32 ? 4 : 8;
    ms_dtype t = o->f32 ? MS_F32 : MS_F64;
    if (!o->resize) {
        unsigned char *buf = scratch_get(h * w * oc * esz);
        if (!buf)
            return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        normalise(src, h, w, c, rep3, o->f32, buf, w);
        size_t shape[3] = {h, w, oc};
        return write_npy(path, t, 3, shape, buf, err);
    }
    /* uint8 resize (longest side S), normalise, zero-pad to (S, S) */
    int nh, nw;
    size_t S = (size_t)o->resize;
    ms_resize_longest_side((int)h, (int)w, o->resize, &nh, &nw);
    nh = nh < 1 ? 1 : nh;
    nw = nw < 1 ? 1 : nw;
    size_t rbytes = (size_t)nh * (size_t)nw * c, obytes = S * S * oc * esz;
    unsigned char *buf = scratch_get(rbytes + obytes);
    if (!buf)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    int rc = ms_resize_area_u8(src, (int)h, (int)w, (int)c, buf, nh, nw, err);
    if (rc)
        return rc;
    memset(buf + rbytes, 0, obytes);
    normalise(buf, (size_t)nh, (size_t)nw, c, rep3, o->f32, buf + rbytes, S);
    size_t shape[3] = {S, S, oc};
    return write_npy(path, t, 3, shape, buf + rbytes, err);
}

/* Write gts/... for the label plane src (h, w) of esz-byte elements. */
static int write_gt(const job *j, const char *path, const void *src, ms_dtype t, size_t h,
                    size_t w, ms_err *err)
{
    const opts *o = j->o;
    if (!o->resize) {
        size_t shape[2] = {h, w};
        return write_npy(path, t, 2, shape, src, err);
    }
    int nh, nw;
    size_t S = (size_t)o->resize, esz = ms_dtype_size(t);
    ms_resize_longest_side((int)h, (int)w, o->resize, &nh, &nw);
    nh = nh < 1 ? 1 : nh;
    nw = nw < 1 ? 1 : nw;
    unsigned char *buf = scratch_get(S * S * esz);
    if (!buf)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    nearest_pad(src, h, w, esz, buf, (size_t)nh, (size_t)nw, S);
    size_t shape[2] = {S, S};
    return write_npy(path, t, 2, shape, buf, err);
}

/* Slice i (3D) or the whole image (2D, i = 0). */
static int do_slice(job *j, size_t i, ms_err *err)
{
    size_t h = j->gts.shape[j->is3d], w = j->gts.shape[j->is3d + 1];
    size_t c = (!j->is3d && j->imgs.ndim == 3) ? j->imgs.shape[2] : 1;
    const uint8_t *img = (const uint8_t *)j->imgs.data + i * h * w * c;
    const unsigned char *gt = (const unsigned char *)j->gts.data +
                              i * h * w * ms_dtype_size(j->gts.dtype);
    long idx = j->is3d ? (long)i : -1;
    char *pi = out_path(j, "imgs", idx), *pg = out_path(j, "gts", idx);
    int rc;
    if (!pi || !pg)
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", j->path);
    else if (!(rc = ms_outfile_check_not_input(pi, j->path, err)) &&
             !(rc = ms_outfile_check_not_input(pg, j->path, err)) &&
             !(rc = write_img(j, pi, img, h, w, c, err)))
        rc = write_gt(j, pg, gt, j->gts.dtype, h, w, err);
    free(pi);
    free(pg);
    return rc;
}

static int slice_worker(size_t i, void *ctx)
{
    job *j = ctx;
    ms_err err;
    ms_err_clear(&err);
    int rc = do_slice(j, i, &err);
    if (rc) {
        pthread_mutex_lock(&j->lock);
        if (!j->failed)
            j->err = err;
        j->failed = 1;
        pthread_mutex_unlock(&j->lock);
    }
    return rc ? 1 : 0;
}

/* ------------------------------------------------------------ one file */

static int load(job *j, ms_err *err)
{
    ms_npz *z = NULL;
    int rc = ms_npz_open(j->path, &z, &j->o->lim, err);
    if (rc)
        return rc;
    if ((rc = ms_npz_read(z, "imgs", &j->imgs, err)) || (rc = ms_npz_read(z, "gts", &j->gts, err)))
        goto fail;
    ms_array *im = &j->imgs, *gt = &j->gts;
    if (im->dtype != MS_U8) {
        rc = ms_seterr(err, MS_EUNSUPP, "%s: imgs is %s; expected uint8 (u1)", j->path,
                       ms_dtype_name(im->dtype));
        goto fail;
    }
    j->is3d = gt->ndim > 2;
    if (gt->ndim < 2 || gt->ndim > 3) {
        rc = ms_seterr(err, MS_ESHAPE, "%s: gts has %d dimensions; expected 2 or 3", j->path,
                       gt->ndim);
        goto fail;
    }
    int same_hw = im->ndim >= 2 && im->shape[0] == gt->shape[0] && im->shape[1] == gt->shape[1];
    if (j->is3d)
        same_hw = im->ndim == 3 && im->shape[0] == gt->shape[0] && im->shape[1] == gt->shape[1] &&
                  im->shape[2] == gt->shape[2];
    else if (im->ndim > 3 || (im->ndim == 3 && (im->shape[2] < 1 || im->shape[2] > 4)))
        same_hw = 0;
    if (!same_hw) {
        char a[96] = "", b[96] = "";
        for (int k = 0; k < im->ndim && k < 4; k++)
            snprintf(a + strlen(a), sizeof a - strlen(a), "%s%zu", k ? ", " : "", im->shape[k]);
        for (int k = 0; k < gt->ndim; k++)
            snprintf(b + strlen(b), sizeof b - strlen(b), "%s%zu", k ? ", " : "", gt->shape[k]);
        rc = ms_seterr(err, MS_ESHAPE, "%s: imgs shape (%s) does not match gts shape (%s)",
                       j->path, a, b);
        goto fail;
    }
    if (j->gts.shape[j->is3d] == 0 || j->gts.shape[j->is3d + 1] == 0) {
        rc = ms_seterr(err, MS_ESHAPE, "%s: empty image", j->path);
        goto fail;
    }
    if (j->o->resize && (j->gts.shape[j->is3d] > INT_MAX || j->gts.shape[j->is3d + 1] > INT_MAX)) {
        rc = ms_seterr(err, MS_ELIMIT, "%s: image side over %d pixels; cannot --resize", j->path,
                       INT_MAX);
        goto fail;
    }
    if (j->is3d && (rc = ms_labels_to_u8(gt, j->path, err)))
        goto fail;
    j->nslices = j->is3d ? gt->shape[0] : 1;
fail:
    ms_npz_close(&z);
    return rc;
}

/* "x.npz" -> "x": everything before the first ".npz", as upstream splits. */
static char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    char *s = strdup(b ? b + 1 : path);
    char *cut = s ? strstr(s, ".npz") : NULL;
    if (cut)
        *cut = '\0';
    return s;
}

/* After a failed volume: remove its slice files, so that no mix of new,
 * missing and older slices stays behind for a training run to read.  Never
 * an input (the check that failed may have been exactly that). */
static void remove_volume_outputs(const job *j)
{
    for (size_t i = 0; i < j->nslices; i++)
        for (int k = 0; k < 2; k++) {
            char *p = out_path(j, k ? "gts" : "imgs", j->is3d ? (long)i : -1);
            ms_err e;
            if (p && ms_outfile_check_not_input(p, j->path, &e) == MS_OK)
                unlink(p);
            free(p);
        }
}

/* slice_jobs > 0: the slices on that many threads with a progress bar per
 * file (files taken one at a time); 0: one thread, no bar of its own. */
static int convert(const opts *o, const char *path, int slice_jobs, ms_err *err)
{
    job j;
    memset(&j, 0, sizeof j);
    j.o = o;
    j.path = path;
    char *name = base_name(path);
    if (!name)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    j.name = name;
    int rc = load(&j, err);
    if (!rc) {
        pthread_mutex_init(&j.lock, NULL);
        cli_progress *p = slice_jobs ? cli_progress_new(name, j.nslices, o->quiet) : NULL;
        cli_run_jobs(j.nslices, slice_jobs ? slice_jobs : 1, slice_worker, &j, p);
        cli_progress_free(&p);
        pthread_mutex_destroy(&j.lock);
        if (j.failed) {
            *err = j.err;
            rc = err->code ? err->code : MS_EIO;
            remove_volume_outputs(&j);
        }
    }
    ms_array_free(&j.imgs);
    ms_array_free(&j.gts);
    free(name);
    return rc;
}

/* ------------------------------------------------------------ files */

typedef struct run_ctx {
    const opts *o;
    char **paths;
    int slice_jobs;
} run_ctx;

static int file_worker(size_t i, void *ctx)
{
    run_ctx *r = ctx;
    ms_err err;
    ms_err_clear(&err);
    if (convert(r->o, r->paths[i], r->slice_jobs, &err)) {
        cli_error("%s", err.msg);
        return 1;
    }
    return 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Expand the inputs (files, or folders of *.npz, sorted) into paths. */
static int gather(char **args, int nargs, char ***out, size_t *nout, ms_err *err)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    for (int a = 0; a < nargs; a++) {
        char **names = NULL;
        size_t m = 1;
        int dir = is_dir(args[a]);
        if (dir && cli_list_dir(args[a], ".npz", &names, &m, err))
            goto fail;
        if (n + m > cap) {
            size_t nc = (n + m) * 2 + 8;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                cli_free_list(names, dir ? m : 0);
                goto oom;
            }
            v = nv;
            cap = nc;
        }
        for (size_t k = 0; k < m; k++) {
            char *p = dir ? cli_join(args[a], names[k]) : strdup(args[a]);
            if (!p) {
                cli_free_list(names, dir ? m : 0);
                goto oom;
            }
            v[n++] = p;
        }
        cli_free_list(names, dir ? m : 0);
    }
    *out = v;
    *nout = n;
    return MS_OK;
oom:
    ms_seterr(err, MS_ENOMEM, "out of memory");
fail:
    cli_free_list(v, n);
    return err->code;
}

static int run(const opts *o, char **args, int nargs)
{
    ms_err err;
    ms_err_clear(&err);
    char **paths = NULL;
    size_t n = 0;
    char *di = cli_join(o->out_dir, "imgs"), *dg = cli_join(o->out_dir, "gts");
    int rc = !di || !dg ? ms_seterr(&err, MS_ENOMEM, "out of memory") : MS_OK;
    if (!rc && !(rc = ms_mkdirs(di, &err)) && !(rc = ms_mkdirs(dg, &err)))
        rc = gather(args, nargs, &paths, &n, &err);
    free(di);
    free(dg);
    if (rc) {
        cli_error("%s", err.msg);
        return CLI_EXIT_FAIL;
    }
    size_t nall = n;
    cli_apply_shard(paths, &n, o->shard_k, o->shard_n);
    if (n == 0 && nall > 0 && !o->quiet)
        fprintf(stderr, "%s: shard %d/%d selects no case (%zu in all)\n", cli_prog(),
                o->shard_k, o->shard_n, nall);
    else if (n == 0 && !o->quiet)
        cli_warn("no .npz file to convert");
    int jobs = o->jobs;
    if (jobs <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = c > 0 ? (int)c : 1;
    }
    /* Enough files: one per worker.  Fewer files than workers (e.g. one big
     * volume): files one after the other, their slices in parallel. */
    int by_file = n >= (size_t)jobs;
    run_ctx r = {.o = o, .paths = paths, .slice_jobs = by_file ? 0 : jobs};
    cli_progress *p = by_file ? cli_progress_new("files", n, o->quiet) : NULL;
    size_t failed = cli_run_jobs(n, by_file ? jobs : 1, file_worker, &r, p);
    cli_progress_free(&p);
    if (!o->quiet && n > 1)
        fprintf(stderr, "%s: %zu files: %zu converted, %zu failed\n", cli_prog(), n, n - failed,
                failed);
    cli_free_list(paths, n);
    /* durability of everything written, in one call */
    int dfd = open(o->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || syncfs(dfd)) {
        cli_error("%s: cannot flush to disk: %s", o->out_dir, strerror(errno));
        failed++;
    }
    if (dfd >= 0)
        close(dfd);
    return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ------------------------------------------------------------ options */

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: medsam-npz2npy [OPTIONS] INPUT... -o NPY_DIR\n"
        "Convert challenge npz files (imgs, gts) into the per-slice npy files of the\n"
        "upstream npz_to_npy.py: NPY_DIR/imgs/NAME[-iii].npy (float64 (H, W, 3), min-max\n"
        "to [0, 1] per slice) and NPY_DIR/gts/NAME[-iii].npy, byte-identical to upstream.\n"
        "An INPUT is an .npz file or a folder of them.\n"
        "\n"
        "  -o, --output DIR         output folder (imgs/ and gts/ are created in it)\n"
        "      --dtype TYPE         float64 (default, as upstream) or float32\n"
        "      --resize S           longest side to S (INTER_AREA, as inference), then\n"
        "                           zero-pad to S x S; gts resized with nearest neighbour\n"
        "      --shard K/N          only input files i with i %% N == K\n"
        CLI_MAX_MEMORY_HELP
        "  -j, --jobs, --threads N  files (or, for fewer files, slices) in parallel;\n"
        "                           0 = all CPUs; default 1\n"
        "  -q, --quiet              no progress bar or summary\n"
        "      --help               show this help and exit\n"
        "      --version            show the version and exit\n"
        "\n"
        "Exit status: 0 success, 1 a file failed (the others are still converted),\n"
        "2 usage error.\n");
}

enum { OPT_DTYPE = 256, OPT_RESIZE };

static const struct option long_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"dtype", required_argument, NULL, OPT_DTYPE},
    {"resize", required_argument, NULL, OPT_RESIZE},
    {"shard", required_argument, NULL, CLI_OPT_SHARD},
    {"max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY},
    {"jobs", required_argument, NULL, 'j'},
    {"threads", required_argument, NULL, 'j'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, CLI_OPT_HELP},
    {"version", no_argument, NULL, CLI_OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int parse_opt(opts *o, int c, const char *arg)
{
    long v;
    switch (c) {
    case 'o': o->out_dir = arg; break;
    case OPT_DTYPE:
        if (!strcmp(arg, "float64"))
            o->f32 = 0;
        else if (!strcmp(arg, "float32"))
            o->f32 = 1;
        else
            return cli_usage("--dtype: '%s' is not float64 or float32", arg);
        break;
    case OPT_RESIZE:
        if (cli_parse_long(arg, 1, 16384, &v))
            return cli_usage("--resize: '%s' is not a size in 1..16384", arg);
        o->resize = (int)v;
        break;
    default: {
        int r = cli_shared_opt(c, arg, &o->jobs, &o->quiet, &o->shard_k, &o->shard_n, &o->lim);
        return r < 0 ? cli_usage("unknown option") : r;
    }
    }
    return 0;
}

static int parse_opt_cb(void *o, int c, const char *arg)
{
    return parse_opt(o, c, arg) ? CLI_EXIT_USAGE : 0;
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    opts o = {.jobs = 1, .shard_n = 1};
    int r = cli_getopt(argc, argv, ":o:j:q", long_opts, usage, parse_opt_cb, &o);
    if (r >= 0)
        return r;
    if (optind >= argc)
        return cli_usage("missing INPUT (an .npz file or a folder of them)");
    if (!o.out_dir)
        return cli_usage("missing -o NPY_DIR");
    if (pthread_key_create(&scratch_key, scratch_free))
        return cli_error("cannot create a thread key"), CLI_EXIT_FAIL;
    int rc = run(&o, argv + optind, argc - optind);
    scratch_free(pthread_getspecific(scratch_key));   /* the main thread's */
    pthread_setspecific(scratch_key, NULL);
    pthread_key_delete(scratch_key);
    return rc;
}
