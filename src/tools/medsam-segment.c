/* medsam-segment: LiteMedSAM inference on challenge npz files, as upstream's
 * CVPR24_LiteMedSAM_infer.py (2D and 3D with propagation). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "ms_nifti.h"
#include "ms_npz.h"
#include "ms_outfile.h"
#include "pool.h"
#include "segment_run.h"

typedef struct opts {
    const char *weights, *outdir, *overlay_dir, *csv;
    int threads, quiet, verbose, nifti, overlay_all;
    int segs_as_labels;
    seg_load_opts load;
    long cache_mb;
    int shard_k, shard_n;
} opts;

static void usage(void)
{
    printf("Usage: %s [OPTIONS] -w CHECKPOINT.pth INPUT... -o OUT_DIR\n"
           "Segment challenge npz files (imgs + boxes) with LiteMedSAM, as the MedSAM\n"
           "authors' CVPR24_LiteMedSAM_infer.py does.  INPUT: npz files or folders of\n"
           "them; a file whose name starts with \"3D\" is a (D,H,W) volume with\n"
           "(x_min,y_min,z_min,x_max,y_max,z_max) boxes, any other a 2D image.\n"
           "Writes OUT_DIR/<same name>.npz with `segs` (uint8; uint16 over 255 boxes).\n"
           "\n"
           "Options:\n"
           "  -w, --weights FILE       LiteMedSAM checkpoint (lite_medsam.pth); required\n"
           "  -o, --output DIR         output folder (created); required\n"
           "  -j, -t, --threads N      engine threads (default: all CPUs)\n"
           CLI_MAX_MEMORY_HELP
           "      --cache-mb N         3D: memory for cached slice embeddings, MiB\n"
           "                           (default 256; 4 MiB per slice, at least one)\n"
           "      --overlay DIR        also write PNG overlays (image, labels, boxes)\n"
           "      --overlay-slices WHICH  3D overlays: 'mid' (middle slice of each box,\n"
           "                           default) or 'all'\n"
           "      --nifti              also write OUT_DIR/<name>.nii.gz with the spacing\n"
           "      --boxes-from-gts     an input without boxes but with gts (medsam-pre-ct,\n"
           "                           medsam-pre-grey-rgb output) gets one box per label,\n"
           "                           ascending; 3D when gts has 3 dimensions, whatever\n"
           "                           the name; the output also holds labels and boxes\n"
           "      --box-margin N       widen derived boxes by N pixels in x and y (default 0)\n"
           "      --segs-as-labels     derived boxes paint their gts label, not their index\n"
           "      --efficiency-csv FILE  write case,time (seconds per case)\n"
           "      --shard K/N          process only cases i with i %% N == K\n"
           "  -q, --quiet              no progress bar, no notes\n"
           "  -v, --verbose            one line per case: boxes, encoder and decoder runs, time\n"
           "  -h, --help               show this help and exit\n"
           "  -V, --version            show the version and exit\n"
           "\n"
           "Exit status: 0 success, 1 a case or the checkpoint failed, 2 usage error.\n",
           cli_prog());
}

enum { OPT_CACHE = 256, OPT_OVERLAY, OPT_OVERLAY_SLICES, OPT_NIFTI, OPT_CSV, OPT_SHARD,
       OPT_FROM_GTS, OPT_MARGIN, OPT_AS_LABELS, OPT_MAX_MEMORY };

static int parse_args(int argc, char **argv, opts *o, int *first_input)
{
    static const struct option lo[] = {
        { "weights", required_argument, NULL, 'w' },
        { "output", required_argument, NULL, 'o' },
        { "threads", required_argument, NULL, 't' },
        { "cache-mb", required_argument, NULL, OPT_CACHE },
        { "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
        { "overlay", required_argument, NULL, OPT_OVERLAY },
        { "overlay-slices", required_argument, NULL, OPT_OVERLAY_SLICES },
        { "nifti", no_argument, NULL, OPT_NIFTI },
        { "efficiency-csv", required_argument, NULL, OPT_CSV },
        { "shard", required_argument, NULL, OPT_SHARD },
        { "boxes-from-gts", no_argument, NULL, OPT_FROM_GTS },
        { "box-margin", required_argument, NULL, OPT_MARGIN },
        { "segs-as-labels", no_argument, NULL, OPT_AS_LABELS },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    long v;
    int ch, margin_given = 0;
    memset(o, 0, sizeof *o);
    o->cache_mb = 256;
    o->shard_n = 1;
    while ((ch = getopt_long(argc, argv, "w:o:j:t:qvhV", lo, NULL)) != -1) {
        switch (ch) {
        case 'w': o->weights = optarg; break;
        case 'o': o->outdir = optarg; break;
        case 'j':   /* -j as in the other tools; -t kept */
        case 't':
            if (cli_parse_long(optarg, 1, 1024, &v) != 0)
                return cli_usage("invalid thread count '%s'", optarg);
            o->threads = (int)v;
            break;
        case OPT_CACHE:
            if (cli_parse_long(optarg, 0, 1L << 20, &v) != 0)
                return cli_usage("invalid --cache-mb '%s'", optarg);
            o->cache_mb = v;
            break;
        case OPT_OVERLAY: o->overlay_dir = optarg; break;
        case OPT_OVERLAY_SLICES:
            if (strcmp(optarg, "all") && strcmp(optarg, "mid"))
                return cli_usage("--overlay-slices must be 'mid' or 'all', not '%s'", optarg);
            o->overlay_all = !strcmp(optarg, "all");
            break;
        case OPT_NIFTI: o->nifti = 1; break;
        case OPT_CSV: o->csv = optarg; break;
        case OPT_SHARD:
            if (cli_parse_shard(optarg, &o->shard_k, &o->shard_n) != 0)
                return cli_usage("invalid --shard '%s' (expected K/N with 0 <= K < N)", optarg);
            break;
        case OPT_FROM_GTS: o->load.boxes_from_gts = 1; break;
        case OPT_MAX_MEMORY:
            if (cli_parse_max_memory(optarg, &o->load.lim))
                return cli_usage("--max-memory: '%s' is not a size such as 4G or 512M", optarg);
            break;
        case OPT_MARGIN:
            if (cli_parse_long(optarg, 0, 1L << 20, &v) != 0)
                return cli_usage("invalid --box-margin '%s'", optarg);
            o->load.margin = (int)v;
            margin_given = 1;
            break;
        case OPT_AS_LABELS: o->segs_as_labels = 1; break;
        case 'q': o->quiet = 1; break;
        case 'v': o->verbose = 1; break;
        case 'h': usage(); exit(CLI_EXIT_OK);
        case 'V': cli_print_version(); exit(CLI_EXIT_OK);
        default:   /* getopt has named the bad option */
            fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog());
            return CLI_EXIT_USAGE;
        }
    }
    if ((margin_given || o->segs_as_labels) && !o->load.boxes_from_gts)
        return cli_usage("%s needs --boxes-from-gts",
                         margin_given ? "--box-margin" : "--segs-as-labels");
    if (!o->weights)
        return cli_usage("no checkpoint given (-w CHECKPOINT.pth)");
    if (!o->outdir)
        return cli_usage("no output folder given (-o OUT_DIR)");
    if (optind >= argc)
        return cli_usage("no input given");
    *first_input = optind;
    return 0;
}

/* Expand files and folders into one list of npz paths. */
static int collect_inputs(char **args, int nargs, char ***out, size_t *n, int *failed)
{
    char **list = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < nargs; i++) {
        struct stat st;
        char **names = NULL;
        size_t nn = 0;
        ms_err err;
        if (stat(args[i], &st) != 0) {
            cli_error("%s: no such file or folder", args[i]);
            (*failed)++;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (cli_list_dir(args[i], ".npz", &names, &nn, &err) != MS_OK) {
                cli_error("%s", err.msg);
                (*failed)++;
                continue;
            }
        }
        size_t add = S_ISDIR(st.st_mode) ? nn : 1;
        if (len + add > cap) {
            cap = (len + add) * 2;
            char **t = realloc(list, cap * sizeof *t);
            if (!t) {
                cli_free_list(names, nn);
                cli_free_list(list, len);
                return -1;
            }
            list = t;
        }
        if (S_ISDIR(st.st_mode)) {
            for (size_t j = 0; j < nn; j++)
                list[len++] = cli_join(args[i], names[j]);
            cli_free_list(names, nn);
        } else {
            list[len++] = strdup(args[i]);
        }
    }
    *out = list;
    *n = len;
    return 0;
}

/* segs as a NIfTI volume: 2D becomes (1,H,W); uint16 becomes int16. */
static int write_nifti(const char *path, const seg_case *c, const ms_array *segs, ms_err *err)
{
    ms_array v = { 0 };
    size_t shape[3] = { (size_t)c->d, (size_t)c->h, (size_t)c->w };
    int rc;
    if (segs->dtype == MS_U16) {
        if (seg_max_value(c) > 32767)
            return ms_seterr(err, MS_EUNSUPP, "%s: label %zu does not fit NIfTI int16",
                             path, seg_max_value(c));
        if ((rc = ms_array_alloc(&v, MS_I16, 3, shape, NULL, err)) != MS_OK)
            return rc;
        size_t n = ms_array_nelem(segs);
        for (size_t i = 0; i < n; i++)
            ((int16_t *)v.data)[i] = (int16_t)((const uint16_t *)segs->data)[i];
        rc = ms_nifti_write(path, &v, c->spacing, NULL, err);
        ms_array_free(&v);
        return rc;
    }
    v = *segs;
    v.ndim = 3;
    memcpy(v.shape, shape, sizeof shape);
    return ms_nifti_write(path, &v, c->spacing, NULL, err);
}

/* segs; for boxes derived from gts also `labels` (N,) and `boxes` (N,4|6) int64. */
static int write_segs(const char *path, const seg_case *c, const ms_array *segs, ms_err *err)
{
    ms_array lab = { 0 }, box = { 0 };
    int nc = c->is3d ? 6 : 4, maxl = 0;
    size_t ln[1] = { c->nbox }, bn[2] = { c->nbox, (size_t)nc };
    ms_npz_entry ent[3] = { { "segs", segs, 1 }, { "labels", &lab, 0 }, { "boxes", &box, 0 } };
    if (!c->labels)
        return ms_npz_write(path, ent, 1, 6, err);
    for (size_t k = 0; k < c->nbox; k++)
        maxl = c->labels[k] > maxl ? c->labels[k] : maxl;
    int rc = ms_array_alloc(&lab, maxl > 255 ? MS_U16 : MS_U8, 1, ln, NULL, err);
    if (rc == MS_OK)
        rc = ms_array_alloc(&box, MS_I64, 2, bn, NULL, err);
    if (rc == MS_OK) {
        for (size_t k = 0; k < c->nbox; k++) {
            if (lab.dtype == MS_U16)
                ((uint16_t *)lab.data)[k] = c->labels[k];
            else
                ((uint8_t *)lab.data)[k] = (uint8_t)c->labels[k];
            for (int i = 0; i < nc; i++)
                ((int64_t *)box.data)[k * nc + i] = (int64_t)c->boxes[k][i];
        }
        rc = ms_npz_write(path, ent, 3, 6, err);
    }
    ms_array_free(&lab);
    ms_array_free(&box);
    return rc;
}

static int write_overlays(const opts *o, const char *stem, const seg_case *c,
                          const ms_array *segs, ms_err *err)
{
    char name[64];
    int rc = MS_OK;
    if (!c->is3d) {
        char *p = cli_join(o->overlay_dir, stem);
        char *png = p ? malloc(strlen(p) + 5) : NULL;
        if (!png) {
            free(p);
            return ms_seterr(err, MS_ENOMEM, "out of memory");
        }
        sprintf(png, "%s.png", p);
        rc = seg_overlay_write(png, c, segs, 0, err);
        free(p);
        free(png);
        return rc;
    }
    unsigned char *want = calloc((size_t)c->d, 1);
    if (!want)
        return ms_seterr(err, MS_ENOMEM, "out of memory");
    for (size_t k = 0; k < c->nbox; k++)
        want[(int)((c->boxes[k][5] - c->boxes[k][2]) / 2 + c->boxes[k][2])] = 1;
    for (int z = 0; z < c->d && rc == MS_OK; z++) {
        if (!o->overlay_all && !want[z])
            continue;
        snprintf(name, sizeof name, "_z%03d.png", z);
        char *p = cli_join(o->overlay_dir, stem);
        char *png = p ? malloc(strlen(p) + sizeof name) : NULL;
        if (png) {
            sprintf(png, "%s%s", p, name);
            rc = seg_overlay_write(png, c, segs, z, err);
        } else {
            rc = ms_seterr(err, MS_ENOMEM, "out of memory");
        }
        free(p);
        free(png);
    }
    free(want);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One case: load, segment, write segs (+ NIfTI, overlays).  Nothing is
 * written under the final name unless the segmentation succeeded. */
static int run_one(const opts *o, const seg_engine *e, const char *path, double *secs,
                   ms_err *err)
{
    seg_case c;
    ms_array segs = { 0 };
    double t0 = now_s();
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char *out = cli_join(o->outdir, base), *stem = cli_stem(path, ".npz");
    char *nii = NULL;
    int rc;
    if (!out || !stem) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    if ((rc = ms_outfile_check_not_input(out, path, err)) != MS_OK)
        goto done;
    if ((rc = seg_case_load_opts(path, &o->load, &c, err)) != MS_OK)
        goto done;
    c.paint_labels = o->segs_as_labels;
    seg_stats st = { 0 };
    rc = seg_run_case(e, &c, path, &segs, &st, &o->load.lim, err);
    if (rc == MS_OK) {
        if (c.nbox > 255 && !c.paint_labels && !o->quiet)
            cli_warn("%s: %zu boxes: segs written as uint16 (upstream would wrap at 256)",
                     path, c.nbox);
        rc = write_segs(out, &c, &segs, err);
    }
    if (rc == MS_OK && o->nifti) {
        nii = cli_join(o->outdir, stem);
        char *p = nii ? realloc(nii, strlen(nii) + 8) : NULL;
        if (!p) {
            rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        } else {
            nii = p;
            strcat(nii, ".nii.gz");
            rc = write_nifti(nii, &c, &segs, err);
        }
    }
    if (rc == MS_OK && o->overlay_dir)
        rc = write_overlays(o, stem, &c, &segs, err);
    if (rc == MS_OK && o->verbose)
        fprintf(stderr, "%s: %s: %zu boxes, %zu encoder runs, %zu decoder runs, %.2f s\n",
                cli_prog(), path, c.nbox, st.encodes, st.decodes, now_s() - t0);
    ms_array_free(&segs);
    seg_case_free(&c);
done:
    free(out);
    free(stem);
    free(nii);
    *secs = now_s() - t0;
    return rc;
}

static int write_csv(const char *path, char **cases, const double *secs, const int *ok,
                     size_t n, ms_err *err)
{
    ms_outfile f;
    int rc = ms_outfile_open(&f, path, err);
    if (rc != MS_OK)
        return rc;
    fprintf(f.f, "case,time\n");
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        const char *b = strrchr(cases[i], '/') ? strrchr(cases[i], '/') + 1 : cases[i];
        fprintf(f.f, "%s,%.4f\n", b, secs[i]);
    }
    return ms_outfile_commit(&f, err);
}

int main(int argc, char **argv)
{
    opts o;
    int first = 0, failed = 0;
    char **cases = NULL;
    size_t n = 0;
    seg_engine e = { 0 };
    msnn_pool *pool = NULL;
    double *secs = NULL;
    int *ok = NULL;
    ms_err err;
    cli_init(argv[0]);
    int rc = parse_args(argc, argv, &o, &first);
    if (rc)
        return rc;
    if (collect_inputs(argv + first, argc - first, &cases, &n, &failed) != 0) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    cli_apply_shard(cases, &n, o.shard_k, o.shard_n);
    if (ms_mkdirs(o.outdir, &err) != MS_OK ||
        (o.overlay_dir && ms_mkdirs(o.overlay_dir, &err) != MS_OK)) {
        cli_error("%s", err.msg);
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (msnn_model_load(o.weights, &e.model, &err) != MS_OK) {
        cli_error("%s", err.msg);
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    pool = msnn_pool_new(o.threads);
    if (!pool) {
        cli_error("cannot start %d engine threads", o.threads);
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    e.opts.pool = pool;
    e.cache_bytes = (size_t)o.cache_mb << 20;
    secs = calloc(n ? n : 1, sizeof *secs);
    ok = calloc(n ? n : 1, sizeof *ok);
    if (!secs || !ok) {
        cli_error("out of memory");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    cli_progress *prog = cli_progress_new("segment", n, o.quiet);
    for (size_t i = 0; i < n; i++) {
        if (run_one(&o, &e, cases[i], &secs[i], &err) == MS_OK) {
            ok[i] = 1;
        } else {
            cli_error("%s", err.msg);
            failed++;
        }
        cli_progress_tick(prog);
    }
    cli_progress_free(&prog);
    if (o.csv && write_csv(o.csv, cases, secs, ok, n, &err) != MS_OK) {
        cli_error("%s", err.msg);
        failed++;
    }
    rc = failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
done:
    msnn_pool_free(&pool);
    msnn_model_free(&e.model);
    cli_free_list(cases, n);
    free(secs);
    free(ok);
    return rc;
}
