/* medsam-pre-grey-rgb: 2D image + mask (PNG, JPEG) -> challenge npz (imgs
 * (H, W, 3) uint8, gts (H, W) uint8), the intent of upstream pre_grey_rgb.py
 * (SEMANTICS.md, medsam-pre-grey-rgb; the script is broken as shipped).
 *
 * Mask: palette PNGs give their indices; a grey mask its values (1-bit reads
 * 0/1, 0/255 stays 0/255 unless --binarize); a colour mask is accepted only
 * when its colour channels are equal.  Then label removal and optional
 * tumour instances (8-connected, component c -> c + label_offset + 1).
 * Image: palette PNGs give their colours; max > 255 (16-bit) -> min-max x 255
 * truncated to uint8 (over every channel, as upstream, before the alpha is
 * dropped); grey -> three equal channels; alpha dropped; optional intensity
 * cut-off (percentiles 0.5 / 99.5 of the values > 0, ms_window_percentile).
 */
#include "config.h"
#include "cli.h"
#include "ms_cc.h"
#include "ms_image.h"
#include "ms_labels.h"
#include "ms_npz.h"
#include "ms_outfile.h"
#include "ms_window.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


typedef struct opts {
    cli_prep_opts p;            /* the options pre-ct has too */
    int label_offset;
    int cutoff, binarize;
} opts;

typedef struct gcase {
    char *img, *gt, *out;
} gcase;

typedef struct run_ctx {
    const opts *o;
    gcase *cases;
} run_ctx;

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: medsam-pre-grey-rgb [OPTIONS] IMAGE MASK -o OUT.npz\n"
        "       medsam-pre-grey-rgb [OPTIONS] --img-dir DIR --gt-dir DIR --out-dir DIR\n"
        "Convert 2D images (PNG 8/16-bit grey, RGB, RGBA, palette; JPEG) and their masks\n"
        "(PNG) into challenge npz files: imgs (H, W, 3) uint8, gts (H, W) uint8.\n"
        "\n"
        "  -o, --output FILE        output .npz (single case)\n"
        "      --img-dir DIR        folder of images (folder mode)\n"
        "      --gt-dir DIR         folder of masks; one case per mask file\n"
        "      --out-dir DIR        output folder\n"
        "      --modality NAME      folder mode names MODALITY_ANATOMY_<stem>.npz;\n"
        "                           default Grey\n"
        "      --anatomy NAME       default Anatomy\n"
        "      --img-suffix S       image name = stem + S; default .png\n"
        "      --gt-suffix S        mask name = stem + S; default .png\n"
        "      --intensity-cutoff   clip to the 0.5/99.5 percentiles of the values > 0,\n"
        "                           rescale to 0..255, keep zeros (for grey images)\n"
        "      --remove-labels LIST comma-separated mask values set to 0; default none\n"
        "      --tumor-id N         split mask value N into 8-connected instances,\n"
        "                           instance c (1, 2, ...) becomes c + OFFSET + 1\n"
        "      --label-offset N     OFFSET for --tumor-id; default 0\n"
        "      --binarize           any non-zero mask value becomes 1 (after removal)\n"
        "      --shard K/N          folder mode: only cases i with i %% N == K\n"
        CLI_COMPRESS_LEVEL_HELP
        CLI_MAX_MEMORY_HELP
        "  -j, --jobs, --threads N  cases in parallel (folder mode); 0 = all CPUs;\n"
        "                           default 1\n"
        "  -q, --quiet              no progress bar, notes or summary\n"
        "      --help               show this help and exit\n"
        "      --version            show the version and exit\n"
        "\n"
        "Exit status: 0 success, 1 a case failed (the others are still written),\n"
        "2 usage error.\n");
}

/* ------------------------------------------------------------ mask */

/* Prefix err's message with path unless it already starts with it. */
static int name_file(ms_err *err, int rc, const char *path)
{
    if (strncmp(err->msg, path, strlen(path)) != 0) {
        char msg[MS_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        ms_seterr(err, rc, "%s: %s", path, msg);
    }
    return rc;
}

/* (H, W, C) mask -> (H, W): the colour channels must agree (alpha ignored). */
static int mask_to_plane(ms_array *m, const char *path, ms_err *err)
{
    if (m->ndim == 2)
        return MS_OK;
    size_t h = m->shape[0], w = m->shape[1], c = m->shape[2], es = ms_dtype_size(m->dtype);
    size_t cc = (c == 2 || c == 4) ? c - 1 : c;  /* colour channels */
    unsigned char *p = m->data;
    for (size_t i = 0; i < h * w; i++)
        for (size_t k = 1; k < cc; k++)
            if (memcmp(p + (i * c + k) * es, p + i * c * es, es))
                return ms_seterr(err, MS_EUNSUPP,
                                 "%s: colour mask (pixel %zu, %zu has different channels); "
                                 "expected a grey or palette label image",
                                 path, i / w, i % w);
    for (size_t i = 0; i < h * w; i++)
        memmove(p + i * es, p + i * c * es, es);
    m->ndim = 2;
    return MS_OK;
}

static int load_mask(const opts *o, const char *path, ms_array *m, ms_err *err)
{
    int rc = ms_image_read(path, m, MS_PALETTE_INDEX, NULL, &o->p.lim, err);
    if (rc || (rc = mask_to_plane(m, path, err)) || (rc = ms_labels_to_u8(m, path, err)))
        return rc;
    size_t h = m->shape[0], w = m->shape[1], n = h * w;
    uint8_t *v = m->data;
    ms_labels_remove(v, n, o->p.remove, o->p.nremove);
    if (o->binarize)
        for (size_t i = 0; i < n; i++)
            v[i] = v[i] != 0;
    if (o->p.tumor_id > 0) {
        /* upstream: instance c (1..n) -> c + label_id_offset + 1 */
        rc = ms_cc_instances(v, 1, h, w, MS_CONN_8, (uint8_t)o->p.tumor_id,
                             (unsigned)o->label_offset + 1, NULL, err);
        if (rc)
            return name_file(err, rc, path);
    }
    return MS_OK;
}

/* ------------------------------------------------------------ image */

/* Any dtype/shape from ms_image_read -> (H, W, 3) uint8 in out. */
static int image_to_rgb(const opts *o, const char *path, const ms_array *a, ms_array *out,
                        ms_err *err)
{
    size_t h = a->shape[0], w = a->shape[1], c = a->ndim == 3 ? a->shape[2] : 1;
    size_t n = h * w * c, shape[3] = {h, w, 3};
    size_t nbytes;
    int rc = ms_shape_bytes(MS_U8, 3, shape, &o->p.lim, &nbytes, path, err);
    if (rc || (rc = ms_array_alloc(out, MS_U8, 3, shape, &o->p.lim, err)))
        return name_file(err, rc, path);
    /* colour channels taken: grey (+alpha) -> 1, RGB(A) -> 3 */
    size_t take = c >= 3 ? 3 : 1;
    uint8_t *d = out->data;
    if (a->dtype == MS_U16) {
        const uint16_t *s = a->data;
        uint16_t lo = UINT16_MAX, hi = 0;
        for (size_t i = 0; i < n; i++) {
            lo = s[i] < lo ? s[i] : lo;
            hi = s[i] > hi ? s[i] : hi;
        }
        int scale = hi > 255;   /* upstream: only when max > 255 */
        double den = (double)(hi - lo);
        if (scale && lo == hi) {
            /* upstream would divide 0 by 0 */
            if (!o->p.quiet)
                cli_warn("%s: constant 16-bit image; imgs are all 0", path);
            return MS_OK;   /* out is zero-filled */
        }
        for (size_t i = 0; i < h * w; i++)
            for (size_t k = 0; k < 3; k++) {
                uint16_t v = s[i * c + (take == 3 ? k : 0)];
                d[i * 3 + k] = scale ? (uint8_t)((double)(v - lo) / den * 255.0) : (uint8_t)v;
            }
    } else if (a->dtype == MS_U8) {
        const uint8_t *s = a->data;
        for (size_t i = 0; i < h * w; i++)
            for (size_t k = 0; k < 3; k++)
                d[i * 3 + k] = s[i * c + (take == 3 ? k : 0)];
    } else {
        return ms_seterr(err, MS_EUNSUPP, "%s: unsupported image sample type %s", path,
                         ms_dtype_name(a->dtype));
    }
    if (!o->cutoff)
        return MS_OK;
    ms_window_info info;
    uint8_t *cut = malloc(h * w * 3);
    if (!cut)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    rc = ms_window_percentile(out, 0.5, 99.5, NULL, h, cut, &info, err);
    if (!rc)
        memcpy(d, cut, h * w * 3);
    free(cut);
    if (rc)
        return name_file(err, rc, path);
    if (!o->p.quiet && (info.flags & MS_WINDOW_NO_POSITIVE))
        cli_warn("%s: no value > 0 to take percentiles of; imgs are all 0", path);
    else if (!o->p.quiet && (info.flags & MS_WINDOW_CONSTANT))
        cli_warn("%s: the clipped image is constant; imgs are all 0", path);
    return MS_OK;
}

static int process_case(const opts *o, const gcase *c, ms_err *err)
{
    ms_array mask = {0}, raw = {0}, img = {0};
    int rc;
    if ((rc = ms_outfile_check_not_input(c->out, c->img, err)) ||
        (rc = ms_outfile_check_not_input(c->out, c->gt, err)))
        goto fail;
    if ((rc = load_mask(o, c->gt, &mask, err)) ||
        (rc = ms_image_read(c->img, &raw, MS_PALETTE_RGB, NULL, &o->p.lim, err)))
        goto fail;
    if (raw.shape[0] != mask.shape[0] || raw.shape[1] != mask.shape[1]) {
        rc = ms_seterr(err, MS_ESHAPE, "%s: image is %zux%zu (WxH) but mask %s is %zux%zu",
                       c->img, raw.shape[1], raw.shape[0], c->gt, mask.shape[1], mask.shape[0]);
        goto fail;
    }
    if ((rc = image_to_rgb(o, c->img, &raw, &img, err)))
        goto fail;
    ms_array_free(&raw);
    ms_npz_entry e[2] = {{"imgs", &img, 0}, {"gts", &mask, 1}};
    rc = ms_npz_write(c->out, e, 2, o->p.npz_level, err);
fail:
    ms_array_free(&mask);
    ms_array_free(&raw);
    ms_array_free(&img);
    return rc;
}

/* ------------------------------------------------------------ folder mode */

static int run_one(size_t i, void *vctx)
{
    run_ctx *r = vctx;
    ms_err err;
    ms_err_clear(&err);
    if (process_case(r->o, &r->cases[i], &err)) {
        cli_error("%s", err.msg);
        return 1;
    }
    return 0;
}

static void free_cases(gcase *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        free(c[i].img);
        free(c[i].gt);
        free(c[i].out);
    }
    free(c);
}

/* path = dir + "/" + a + b + c (malloc'd) */
static char *join3(const char *dir, const char *a, const char *b, const char *c)
{
    size_t len = strlen(dir) + strlen(a) + strlen(b) + strlen(c) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s%s%s", dir, a, b, c);
    return p;
}

static int build_cases(const opts *o, gcase **out, size_t *nout, size_t *nall, ms_err *err)
{
    char **names = NULL;
    size_t n = 0;
    *nout = 0;
    int rc = cli_list_dir(o->p.gt_dir, o->p.gt_suffix, &names, &n, err);
    if (rc)
        return rc;
    *nall = n;
    cli_apply_shard(names, &n, o->p.shard_k, o->p.shard_n);
    gcase *c = calloc(n ? n : 1, sizeof *c);
    char *prefix = malloc(strlen(o->p.modality) + strlen(o->p.anatomy) + 3);
    if (!c || !prefix)
        goto oom;
    sprintf(prefix, "%s_%s_", o->p.modality, o->p.anatomy);
    for (size_t i = 0; i < n; i++) {
        /* upstream: stem = mask name up to the first occurrence of the suffix */
        char *cut = strstr(names[i], o->p.gt_suffix);
        if (cut)
            *cut = '\0';
        c[i].gt = join3(o->p.gt_dir, names[i], o->p.gt_suffix, "");
        c[i].img = join3(o->p.img_dir, names[i], o->p.img_suffix, "");
        c[i].out = join3(o->p.out_dir, prefix, names[i], ".npz");
        if (cut)
            *cut = *o->p.gt_suffix;
        if (!c[i].gt || !c[i].img || !c[i].out) {
            *nout = i + 1;
            goto oom;
        }
    }
    free(prefix);
    cli_free_list(names, n);
    *out = c;
    *nout = n;
    return MS_OK;
oom:
    free(prefix);
    free_cases(c, c ? *nout : 0);
    cli_free_list(names, n);
    return ms_seterr(err, MS_ENOMEM, "out of memory");
}

static int folder_mode(const opts *o)
{
    gcase *cases = NULL;
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
        cli_warn("%s: no mask file ending in '%s'", o->p.gt_dir, o->p.gt_suffix);
    run_ctx r = {.o = o, .cases = cases};
    cli_progress *p = cli_progress_new("cases", n, o->p.quiet);
    size_t failed = cli_run_jobs(n, o->p.jobs, run_one, &r, p);
    cli_progress_free(&p);
    if (!o->p.quiet && n)
        fprintf(stderr, "%s: %zu cases: %zu written, %zu failed\n", cli_prog(), n, n - failed,
                failed);
    free_cases(cases, n);
    return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ------------------------------------------------------------ options */

enum { OPT_CUTOFF = 256, OPT_OFFSET, OPT_BINARIZE };

static const struct option long_opts[] = {
    {"intensity-cutoff", no_argument, NULL, OPT_CUTOFF},
    {"label-offset", required_argument, NULL, OPT_OFFSET},
    {"binarize", no_argument, NULL, OPT_BINARIZE},
    CLI_PREP_LONGOPTS,
    {NULL, 0, NULL, 0},
};

static int parse_opt(opts *o, int c, const char *arg)
{
    long v;
    switch (c) {
    case OPT_CUTOFF: o->cutoff = 1; break;
    case OPT_OFFSET:
        if (cli_parse_long(arg, 0, 254, &v))
            return cli_usage("--label-offset: '%s' is not a value in 0..254", arg);
        o->label_offset = (int)v;
        break;
    case OPT_BINARIZE: o->binarize = 1; break;
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
    opts o = {.p = {.modality = "Grey", .anatomy = "Anatomy", .img_suffix = ".png",
                    .gt_suffix = ".png", .tumor_id = -1, .npz_level = CLI_NPZ_LEVEL_DEFAULT,
                    .jobs = 1, .shard_n = 1}};
    int r = cli_getopt(argc, argv, ":o:j:q", long_opts, usage, parse_opt_cb, &o);
    if (r >= 0)
        return r;
    int npos = argc - optind;
    if (o.p.img_dir || o.p.gt_dir || o.p.out_dir) {
        if (!o.p.img_dir || !o.p.gt_dir || !o.p.out_dir)
            return cli_usage("folder mode needs --img-dir, --gt-dir and --out-dir");
        if (npos || o.p.output)
            return cli_usage("give either IMAGE MASK -o OUT or the three folders, not both");
        return folder_mode(&o);
    }
    if (npos != 2)
        return cli_usage(npos < 2 ? "missing IMAGE and MASK (or --img-dir/--gt-dir/--out-dir)"
                                  : "too many arguments");
    if (!o.p.output)
        return cli_usage("missing -o OUT.npz");
    if (o.p.shard_n > 1)
        return cli_usage("--shard applies to folder mode only");
    gcase one = {argv[optind], argv[optind + 1], (char *)o.p.output};
    ms_err err;
    ms_err_clear(&err);
    if (process_case(&o, &one, &err)) {
        cli_error("%s", err.msg);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}
