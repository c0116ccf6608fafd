/* medsam-pre-ct: CT/MR NIfTI image + label volumes -> challenge npz
 * (imgs, gts, spacing), the arrays upstream pre_CT_MR.py writes.
 *
 * Per case (SEMANTICS.md, medsam-pre-ct): labels to uint8, label removal,
 * optional tumour instances, 3D dust (< 100 voxels, 26-connected), 2D dust
 * (< 10 pixels, 8-connected, per slice), keep the labelled slices, CT window
 * or MR percentile normalisation, write.  The label is processed first so a
 * case without labelled slices never reads its image.
 */
#include "config.h"
#include "cli.h"
#include "ms_cc.h"
#include "ms_labels.h"
#include "ms_nifti.h"
#include "ms_npz.h"
#include "ms_outfile.h"
#include "ms_window.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DUST_3D 100   /* upstream voxel_num_thre3d */
#define DUST_2D 10    /* upstream voxel_num_thre2d */

typedef struct opts {
    cli_prep_opts p;            /* the options pre-grey-rgb has too */
    double level, width;        /* CT window */
    long split;                 /* -1: no train/test split */
    int save_nii;
} opts;

/* One case of folder mode (or the single case). */
typedef struct ccase {
    char *img, *gt;             /* input paths */
    char *out;                  /* output .npz path */
    char *nii_base;             /* --save-nii: BASE_img.nii.gz, BASE_gt.nii.gz */
    int img_missing;
} ccase;

enum { CASE_WRITTEN, CASE_EMPTY };

typedef struct run_ctx {
    const opts *o;
    ccase *cases;
    size_t empty;               /* cases without labelled slices */
    pthread_mutex_t lock;
} run_ctx;

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: medsam-pre-ct [OPTIONS] IMAGE.nii[.gz] LABEL.nii[.gz] -o OUT.npz\n"
        "       medsam-pre-ct [OPTIONS] --img-dir DIR --gt-dir DIR --out-dir DIR\n"
        "Convert CT/MR image + label NIfTI volumes into challenge npz files (imgs, gts,\n"
        "spacing), with the arrays of the upstream pre_CT_MR.py.\n"
        "\n"
        "  -o, --output FILE        output .npz (single case)\n"
        "      --img-dir DIR        folder of images (folder mode)\n"
        "      --gt-dir DIR         folder of labels; one case per label file\n"
        "      --out-dir DIR        output folder\n"
        "      --modality NAME      CT (window) or anything else, e.g. MR (percentiles);\n"
        "                           default CT\n"
        "      --anatomy NAME       output names MODALITY_ANATOMY_<case>.npz; default Abd\n"
        "      --window-level N     CT window level; default 40\n"
        "      --window-width N     CT window width; default 400\n"
        "      --remove-labels LIST comma-separated label values set to 0; default none\n"
        "      --tumor-id N         split label N into 26-connected instances\n"
        "      --img-suffix S       image name = case + S; default _0000.nii.gz\n"
        "      --gt-suffix S        label name = case + S; default .nii.gz\n"
        "      --split N            first N sorted cases to MedSAM_train/, the rest to\n"
        "                           MedSAM_test/ (upstream uses 40); default: no split\n"
        "      --save-nii           also write _img.nii.gz and _gt.nii.gz\n"
        "      --shard K/N          folder mode: only cases i with i %% N == K\n"
        CLI_COMPRESS_LEVEL_HELP
        CLI_MAX_MEMORY_HELP
        "  -j, --jobs, --threads N  cases in parallel (folder mode); 0 = all CPUs;\n"
        "                           default 1\n"
        "  -q, --quiet              no progress bar, notes or warnings\n"
        "      --help               show this help and exit\n"
        "      --version            show the version and exit\n"
        "\n"
        "A case with no labelled slice left after clean-up writes nothing (a note on\n"
        "stderr; an output of an earlier run under its name is removed) and is not an\n"
        "error.  Exit status: 0 success, 1 a case failed,\n"
        "2 usage error.\n");
}

/* ------------------------------------------------------------ one case */

static void note(const opts *o, const char *fmt, const char *a, const char *b)
{
    if (!o->p.quiet)
        cli_warn(fmt, a, b);
}

/* Label file -> uint8 labels (z, y, x) at lab->a.data + *at after removal
 * and instances, the dust steps' result as runs (*runs; the labels
 * themselves not cleaned yet) and the kept slices. */
static int load_labels(const opts *o, const char *path, ms_volume *lab, size_t *at,
                       ms_label_runs *runs, size_t **zk, size_t *nz, ms_err *err)
{
    int rc = ms_nifti_read_into(path, lab, &o->p.lim, NULL, at, err);
    if (rc)
        return rc;
    if (lab->a.dtype != MS_U8 && *at) {   /* converted in place from the start */
        memmove(lab->a.data, (char *)lab->a.data + *at, ms_array_nbytes(&lab->a));
        *at = 0;
    }
    if ((rc = ms_labels_to_u8(&lab->a, path, err)))
        return rc;
    size_t d = lab->a.shape[0], h = lab->a.shape[1], w = lab->a.shape[2];
    uint8_t *v = (uint8_t *)lab->a.data + *at;
    ms_labels_remove(v, d * h * w, o->p.remove, o->p.nremove);
    if (o->p.tumor_id > 0 &&
        (rc = ms_labels_split_instances(v, d, h, w, (uint8_t)o->p.tumor_id, MS_CONN_26, NULL, err)))
        goto ctx;
    /* 3D then 2D dust, on the runs of one scan */
    if ((rc = ms_cc_clean(v, d, h, w, MS_CONN_26, DUST_3D, MS_CONN_8, DUST_2D, runs, err)))
        goto ctx;
    *zk = malloc((d ? d : 1) * sizeof **zk);
    if (!*zk)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    *nz = ms_label_runs_nonzero_slices(runs, *zk);
    return MS_OK;
ctx: {
        /* name the file in messages from the algorithms */
        char msg[MS_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return ms_seterr(err, rc, "%s: %s", path, msg);
    }
}

static int check_grid(const opts *o, const ccase *c, const ms_volume *lab, ms_volume *img,
                      ms_err *err)
{
    int rc = ms_nifti_peek(c->img, img, &o->p.lim, err);
    if (rc)
        return rc;
    const size_t *a = img->a.shape, *b = lab->a.shape;
    if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2])
        return ms_seterr(err, MS_ESHAPE,
                         "%s: image grid %zux%zux%zu (x,y,z) differs from the label's %zux%zux%zu (%s)",
                         c->img, a[2], a[1], a[0], b[2], b[1], b[0], c->gt);
    for (int k = 0; k < 3; k++)
        if (fabs(img->spacing[k] - lab->spacing[k]) > 1e-3 * fabs(img->spacing[k])) {
            char sp[160];
            snprintf(sp, sizeof sp, "image spacing %g,%g,%g differs from the label's %g,%g,%g",
                     img->spacing[0], img->spacing[1], img->spacing[2], lab->spacing[0],
                     lab->spacing[1], lab->spacing[2]);
            note(o, "%s: %s (the image's is written)", c->img, sp);
            break;
        }
    return MS_OK;
}

static int normalise(const opts *o, const char *path, const ms_volume *img, const size_t *zk,
                     size_t nz, uint8_t *out, ms_err *err)
{
    ms_window_info info;
    int rc = !strcmp(o->p.modality, "CT")
        ? ms_window_ct(&img->a, o->level, o->width, zk, nz, out, &info, err)
        : ms_window_percentile(&img->a, 0.5, 99.5, zk, nz, out, &info, err);
    if (rc) {
        char msg[MS_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return ms_seterr(err, rc, "%s: %s", path, msg);
    }
    if (info.flags & MS_WINDOW_NO_POSITIVE)
        note(o, "%s: %s", path, "no voxel > 0 to take percentiles of; imgs are all 0");
    else if (info.flags & MS_WINDOW_CONSTANT)
        note(o, "%s: %s", path, "the clipped image is constant; imgs are all 0");
    return MS_OK;
}

/* --save-nii: BASE + these, for imgs and gts. */
static const char *const NII_SUFFIX[2] = {"_img.nii.gz", "_gt.nii.gz"};

/* gts from gts->data or, if that is NULL, from the runs of grun; scratch:
 * touched memory the writer may use (ms_npz_write_ex). */
static int write_outputs(const opts *o, const ccase *c, const ms_array *imgs, const ms_array *gts,
                         const ms_npz_runs *grun, const double spacing[3], void *scratch,
                         size_t scratch_len, ms_err *err)
{
    ms_array sp = {.dtype = MS_F64, .ndim = 1, .shape = {3}, .data = (void *)spacing};
    ms_npz_entry e[3] = {{"imgs", imgs, 0}, {"gts", gts, 1}, {"spacing", &sp, 0}};
    const ms_npz_runs *runs[3] = {NULL, gts->data ? NULL : grun, NULL};
    int rc = ms_npz_write_ex(c->out, e, 3, o->p.npz_level, runs, scratch, scratch_len, err);
    if (rc || !o->save_nii)
        return rc;
    size_t n = strlen(c->nii_base) + 16;
    char *p = malloc(n);
    if (!p)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", c->out);
    for (int k = 0; k < 2 && !rc; k++) {
        snprintf(p, n, "%s%s", c->nii_base, NII_SUFFIX[k]);
        rc = ms_nifti_write(p, k ? gts : imgs, spacing, NULL, err);
    }
    free(p);
    return rc;
}

static void remove_old(const opts *o, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    if (unlink(path) == 0)
        note(o, "%s: %s", path, "removed (from an earlier run; this case now has no output)");
    else
        cli_warn("%s: cannot remove the output of an earlier run: %s", path, strerror(errno));
}

/* A case that now writes nothing must not leave the output of an earlier run
 * (other options, other labels) under its name: make would take it as up to
 * date and training would read stale arrays. */
static void remove_stale(const opts *o, const ccase *c)
{
    remove_old(o, c->out);
    if (!o->save_nii)
        return;
    size_t n = strlen(c->nii_base) + 16;
    char *p = malloc(n);
    for (int k = 0; p && k < 2; k++) {
        snprintf(p, n, "%s%s", c->nii_base, NII_SUFFIX[k]);
        remove_old(o, p);
    }
    free(p);
}

/* Memory: fresh pages cost more than the work on them (the kernel zeroes
 * them), so a case touches as few as it can.  imgs is normalised in place
 * into the image's buffer.  When the image has 2+ byte voxels, the label
 * buffer is handed to the image reader to inflate into, and gts is written
 * straight from the label runs (painted behind imgs only for --save-nii);
 * the rest of the image's buffer is the npz writer's scratch, so the
 * compressed streams need no fresh pages either: the case touches little
 * more than the image's decoded size. */
static int process_case(const opts *o, const ccase *c, int *outcome, ms_err *err)
{
    ms_volume lab, img;
    memset(&lab, 0, sizeof lab);
    memset(&img, 0, sizeof img);
    ms_label_runs runs;
    memset(&runs, 0, sizeof runs);
    size_t *zk = NULL, nz = 0, lat = 0, iat = 0;
    ms_array imgs = {0}, gts = {0};
    int rc;
    *outcome = CASE_EMPTY;
    if (c->img_missing) {
        rc = ms_seterr(err, MS_ENOTFOUND, "%s: no image for label %s", c->img, c->gt);
        goto fail;
    }
    if ((rc = ms_outfile_check_not_input(c->out, c->img, err)) ||
        (rc = ms_outfile_check_not_input(c->out, c->gt, err)))
        goto fail;
    if ((rc = load_labels(o, c->gt, &lab, &lat, &runs, &zk, &nz, err)) ||
        (rc = check_grid(o, c, &lab, &img, err)))
        goto fail;
    int paint = ms_dtype_size(img.a.dtype) >= 2;   /* gts fits behind imgs */
    ms_volume_free(&img);
    if (nz == 0) {
        note(o, "%s: %s", c->gt, "no labelled slice left after clean-up; nothing written");
        remove_stale(o, c);
        goto fail;   /* rc == MS_OK */
    }
    size_t h = lab.a.shape[1], w = lab.a.shape[2], slice = h * w;
    gts = lab.a;
    gts.shape[0] = nz;
    void *reuse = NULL;
    if (paint) {
        reuse = lab.a.data;
        lab.a.data = NULL;
    } else {   /* gts = labels[z_kept], cleaned, at the front of their buffer */
        uint8_t *v = (uint8_t *)lab.a.data + lat;
        ms_label_runs_apply(&runs, v);
        uint8_t *g = gts.data;
        for (size_t k = 0; k < nz; k++)
            if (v + zk[k] * slice != g + k * slice)
                memmove(g + k * slice, v + zk[k] * slice, slice);
    }
    if ((rc = ms_nifti_read_into(c->img, &img, &o->p.lim, reuse, &iat, err)))
        goto fail;
    if (memcmp(img.a.shape, lab.a.shape, 3 * sizeof *img.a.shape) != 0 ||
        (paint && ms_dtype_size(img.a.dtype) < 2)) {   /* the file changed since the peek */
        rc = ms_seterr(err, MS_EFORMAT, "%s: changed while being read", c->img);
        goto fail;
    }
    /* imgs (nz, h, w) uint8 in place at the front of the image's buffer,
     * from the voxels at iat */
    ms_volume view = img;
    view.a.data = (char *)img.a.data + iat;
    if ((rc = normalise(o, c->img, &view, zk, nz, img.a.data, err)))
        goto fail;
    imgs = img.a;
    img.a.data = NULL;
    imgs.dtype = MS_U8;
    imgs.ndim = 3;
    imgs.shape[0] = nz;
    imgs.shape[1] = h;
    imgs.shape[2] = w;
    size_t used = nz * slice;
    ms_label_runs_iter it;
    ms_npz_runs grun = {ms_label_runs_next, ms_label_runs_rewind, &it};
    if (paint && o->save_nii) {   /* gts: a view of the buffer's second part */
        gts.data = (uint8_t *)imgs.data + used;
        ms_label_runs_paint(&runs, zk, nz, gts.data);
        used += nz * slice;
    } else if (paint) {
        gts.data = NULL;
        ms_label_runs_iter_init(&it, &runs, zk, nz);
    }
    size_t end = iat + ms_array_nbytes(&img.a);   /* of the voxels read */
    double spacing[3];      /* upstream writes the image's spacing */
    memcpy(spacing, img.spacing, sizeof spacing);
    ms_volume_free(&img);
    if ((rc = write_outputs(o, c, &imgs, &gts, &grun, spacing, (uint8_t *)imgs.data + used,
                            end > used ? end - used : 0, err)))
        goto fail;
    *outcome = CASE_WRITTEN;
fail:
    ms_array_free(&imgs);
    ms_volume_free(&img);
    ms_volume_free(&lab);
    ms_label_runs_free(&runs);
    free(zk);
    return rc;
}

/* ------------------------------------------------------------ folder mode */

static int run_one(size_t i, void *vctx)
{
    run_ctx *r = vctx;
    ms_err err;
    ms_err_clear(&err);
    int outcome;
    int rc = process_case(r->o, &r->cases[i], &outcome, &err);
    if (rc) {
        cli_error("%s", err.msg);
        return 1;
    }
    if (outcome == CASE_EMPTY) {
        pthread_mutex_lock(&r->lock);
        r->empty++;
        pthread_mutex_unlock(&r->lock);
    }
    return 0;
}

static void free_cases(ccase *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        free(c[i].img);
        free(c[i].gt);
        free(c[i].out);
        free(c[i].nii_base);
    }
    free(c);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* "dir/[MedSAM_train/MOD_ANAT/]MOD_ANAT_stem" (malloc'd), creating folders. */
static char *case_base(const opts *o, const char *stem, int part, ms_err *err)
{
    const char *sub = part < 0 ? "" : part ? "MedSAM_test/" : "MedSAM_train/";
    size_t len = strlen(o->p.out_dir) + strlen(sub) + 2 * (strlen(o->p.modality) + strlen(o->p.anatomy)) +
                 strlen(stem) + 8;
    char *dir = malloc(len), *base = malloc(len);
    if (!dir || !base) {
        free(dir);
        free(base);
        ms_seterr(err, MS_ENOMEM, "out of memory");
        return NULL;
    }
    if (part < 0)
        snprintf(dir, len, "%s", o->p.out_dir);
    else
        snprintf(dir, len, "%s/%s%s_%s", o->p.out_dir, sub, o->p.modality, o->p.anatomy);
    snprintf(base, len, "%s/%s_%s_%s", dir, o->p.modality, o->p.anatomy, stem);
    int rc = ms_mkdirs(dir, err);
    free(dir);
    if (rc) {
        free(base);
        return NULL;
    }
    return base;
}

/* Case name (the label name up to the first occurrence of the suffix, as
 * upstream's name.split(suffix)[0]) and the image path; NULL on OOM. */
static char *case_stem(const opts *o, const char *gt_name, char **img)
{
    char *stem = strdup(gt_name);
    *img = NULL;
    if (!stem)
        return NULL;
    char *cut = strstr(stem, o->p.gt_suffix);
    if (cut)
        *cut = '\0';
    char *name = malloc(strlen(stem) + strlen(o->p.img_suffix) + 1);
    if (name) {
        sprintf(name, "%s%s", stem, o->p.img_suffix);
        *img = cli_join(o->p.img_dir, name);
        free(name);
    }
    if (!*img) {
        free(stem);
        return NULL;
    }
    return stem;
}

/* Fill c from its paths; takes ownership of img. */
static int fill_case(const opts *o, const char *gt_name, const char *stem, char *img, int missing,
                     int part, ccase *c, ms_err *err)
{
    c->img = img;
    c->img_missing = missing;
    c->gt = cli_join(o->p.gt_dir, gt_name);
    if (!c->gt)
        return ms_seterr(err, MS_ENOMEM, "out of memory");
    c->nii_base = case_base(o, stem, part, err);
    if (!c->nii_base)
        return err->code ? err->code : MS_ENOMEM;
    c->out = malloc(strlen(c->nii_base) + 5);
    if (!c->out)
        return ms_seterr(err, MS_ENOMEM, "out of memory");
    sprintf(c->out, "%s.npz", c->nii_base);
    return MS_OK;
}

/* The cases of folder mode, sorted, after --shard; *out has *nout cases. */
static int build_cases(const opts *o, ccase **out, size_t *nout, size_t *nall, ms_err *err)
{
    char **names = NULL;
    size_t n = 0, k = 0, with_img = 0;
    int rc = cli_list_dir(o->p.gt_dir, o->p.gt_suffix, &names, &n, err);
    if (rc)
        return rc;
    *nall = n;
    ccase *c = calloc(n ? n : 1, sizeof *c);
    if (!c) {
        rc = ms_seterr(err, MS_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        char *img, *stem = case_stem(o, names[i], &img);
        if (!stem) {
            rc = ms_seterr(err, MS_ENOMEM, "out of memory");
            goto fail;
        }
        int missing = !is_file(img);
        /* the split counts the cases that have an image, as upstream */
        int part = o->split < 0 ? -1 : !missing && (long)with_img < o->split ? 0 : 1;
        with_img += !missing;
        if (o->p.shard_n > 1 && (int)(i % (size_t)o->p.shard_n) != o->p.shard_k) {
            free(stem);
            free(img);
            continue;
        }
        rc = fill_case(o, names[i], stem, img, missing, part, &c[k++], err);
        free(stem);
        if (rc)
            goto fail;
    }
    *out = c;
    *nout = k;
    c = NULL;
    k = 0;
fail:
    cli_free_list(names, n);
    free_cases(c, k);
    return rc;
}

static int folder_mode(const opts *o)
{
    ccase *cases = NULL;
    size_t n = 0, nall = 0;
    ms_err err;
    ms_err_clear(&err);
    int rc = ms_mkdirs(o->p.out_dir, &err);
    if (!rc)
        rc = build_cases(o, &cases, &n, &nall, &err);
    if (rc) {
        cli_error("%s", err.msg);
        return CLI_EXIT_FAIL;
    }
    if (n == 0 && nall > 0 && !o->p.quiet)
        fprintf(stderr, "%s: shard %d/%d selects no case (%zu in all)\n", cli_prog(),
                o->p.shard_k, o->p.shard_n, nall);
    else if (n == 0 && !o->p.quiet)
        cli_warn("%s: no label file ending in '%s'", o->p.gt_dir, o->p.gt_suffix);
    run_ctx r = {.o = o, .cases = cases};
    pthread_mutex_init(&r.lock, NULL);
    cli_progress *p = cli_progress_new("cases", n, o->p.quiet);
    size_t failed = cli_run_jobs(n, o->p.jobs, run_one, &r, p);
    cli_progress_free(&p);
    pthread_mutex_destroy(&r.lock);
    if (!o->p.quiet && n)
        fprintf(stderr, "%s: %zu cases: %zu written, %zu without labels, %zu failed\n", cli_prog(),
                n, n - failed - r.empty, r.empty, failed);
    free_cases(cases, n);
    return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ------------------------------------------------------------ single case */

static int single_mode(const opts *o, const char *img, const char *gt)
{
    ccase c = {0};
    size_t len = strlen(o->p.output);
    c.img = (char *)img;
    c.gt = (char *)gt;
    c.out = (char *)o->p.output;
    c.nii_base = strdup(o->p.output);
    if (!c.nii_base) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    if (len > 4 && !strcmp(c.nii_base + len - 4, ".npz"))
        c.nii_base[len - 4] = '\0';
    ms_err err;
    ms_err_clear(&err);
    int outcome;
    int rc = process_case(o, &c, &outcome, &err);
    free(c.nii_base);
    if (rc) {
        cli_error("%s", err.msg);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ options */

enum { OPT_WL = 256, OPT_WW, OPT_SPLIT, OPT_SAVE_NII };

static const struct option long_opts[] = {
    {"window-level", required_argument, NULL, OPT_WL},
    {"window-width", required_argument, NULL, OPT_WW},
    {"split", required_argument, NULL, OPT_SPLIT},
    {"save-nii", no_argument, NULL, OPT_SAVE_NII},
    CLI_PREP_LONGOPTS,
    {NULL, 0, NULL, 0},
};

static int parse_opt(opts *o, int c, const char *arg)
{
    switch (c) {
    case OPT_WL:
        if (cli_parse_double(arg, &o->level) || !isfinite(o->level))
            return cli_usage("--window-level: '%s' is not a number", arg);
        break;
    case OPT_WW:
        if (cli_parse_double(arg, &o->width) || !(o->width > 0) || !isfinite(o->width))
            return cli_usage("--window-width: '%s' is not a positive number", arg);
        break;
    case OPT_SPLIT:
        if (cli_parse_long(arg, 0, 1L << 40, &o->split))
            return cli_usage("--split: '%s' is not a count >= 0", arg);
        break;
    case OPT_SAVE_NII: o->save_nii = 1; break;
    default: {
        int r = cli_prep_opt(&o->p, c, arg);
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
    opts o = {.p = {.modality = "CT", .anatomy = "Abd", .img_suffix = "_0000.nii.gz",
                    .gt_suffix = ".nii.gz", .tumor_id = -1, .npz_level = CLI_NPZ_LEVEL_DEFAULT,
                    .jobs = 1, .shard_n = 1},
              .level = 40, .width = 400, .split = -1};
    int r = cli_getopt(argc, argv, ":o:j:q", long_opts, usage, parse_opt_cb, &o);
    if (r >= 0)
        return r;
    int npos = argc - optind;
    int folder = o.p.img_dir || o.p.gt_dir || o.p.out_dir;
    if (folder) {
        if (!o.p.img_dir || !o.p.gt_dir || !o.p.out_dir)
            return cli_usage("folder mode needs --img-dir, --gt-dir and --out-dir");
        if (npos || o.p.output)
            return cli_usage("give either IMAGE LABEL -o OUT or the three folders, not both");
        return folder_mode(&o);
    }
    if (npos != 2)
        return cli_usage(npos < 2 ? "missing IMAGE and LABEL (or --img-dir/--gt-dir/--out-dir)"
                                  : "too many arguments");
    if (!o.p.output)
        return cli_usage("missing -o OUT.npz");
    if (o.split >= 0 || o.p.shard_n > 1)
        return cli_usage("--split and --shard apply to folder mode only");
    return single_mode(&o, argv[optind], argv[optind + 1]);
}
