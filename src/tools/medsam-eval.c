/* medsam-eval: DSC and normalised surface dice of predicted segmentations
 * against ground truth, as the challenge's compute_metrics.py computes and
 * prints them (see SEMANTICS.md, medsam-eval). */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ms_npz.h"
#include "ms_outfile.h"
#include "ms_eval.h"

static const char usage_text[] =
    "Usage: medsam-eval --seg-dir DIR --gt-dir DIR -o FILE [OPTIONS]\n"
    "Compute the challenge's accuracy metrics (DSC, NSD) of every case: the\n"
    "prediction DIR/NAME.npz ('segs') against the ground truth NAME.npz ('gts',\n"
    "and 'spacing' for 3D cases), as upstream compute_metrics.py.  A name starting\n"
    "with 3D is a 3D case, with 2D a 2D case; any other name (medsam-pre-ct,\n"
    "medsam-pre-grey-rgb output) is 3D when its 'gts' has 3 dimensions.\n"
    "\n"
    "  -s, --seg-dir DIR      predictions (npz with 'segs')\n"
    "  -g, --gt-dir DIR       ground truth (npz with 'gts', 'spacing')\n"
    "  -o, --output FILE      metrics CSV: case,dsc,nsd (sorted by case)\n"
    "      --no-nsd           skip the normalised surface dice (CSV case,dsc)\n"
    "      --tolerance MM     NSD tolerance in mm (default 2.0)\n"
    "      --per-label FILE   also write a row per case and label:\n"
    "                         case,label,dsc,nsd,gt_voxels,seg_voxels\n"
    "  -j, --jobs N           threads (default 1; 0 = all CPUs): cases in parallel,\n"
    "                         and the labels of a case when there are fewer cases;\n"
    "                         --threads N is the same\n"
    "      --shard K/N        only the cases i with i % N == K (0 <= K < N)\n"
    "      --max-memory SIZE  refuse an array in an input larger than SIZE bytes\n"
    "                         (suffix K, M, G, T: powers of 1024); default 4G\n"
    "  -q, --quiet            no progress bar\n"
    "  -h, --help             show this help and exit\n"
    "  -V, --version          show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 a case failed (the others are still written),\n"
    "2 usage error.\n";

typedef struct eval_opts {
    const char *seg_dir, *gt_dir, *out, *per_label;
    int nsd;
    double tolerance;
    int jobs, quiet, shard_k, shard_n;
    ms_limits lim;        /* --max-memory: budget of one array read (0 = 4 GiB) */
} eval_opts;

typedef struct eval_case {
    char *name;
    int has_gt, has_seg;
    int ok;
    ms_eval_result res;   /* labels kept only for --per-label */
} eval_case;

typedef struct eval_ctx {
    const eval_opts *o;
    eval_case *cases;
    int label_threads;    /* threads over the labels of one case */
} eval_ctx;

/* The labels of one case spread over threads (when there are fewer cases
 * than jobs); the first error is kept. */
typedef struct label_jobs {
    ms_eval_work *work;
    ms_eval_result *res;
    pthread_mutex_t lock;
    int failed;
    ms_err err;
} label_jobs;

static int label_job(size_t i, void *vctx)
{
    label_jobs *lj = vctx;
    ms_err err = { 0 };
    if (ms_eval_label_nsd(lj->work, lj->res, (int)i, &err) == MS_OK)
        return 0;
    pthread_mutex_lock(&lj->lock);
    if (!lj->failed++)
        lj->err = err;
    pthread_mutex_unlock(&lj->lock);
    return 1;
}

static int eval_labels(ms_eval_work *w, ms_eval_result *res, int threads, ms_err *err)
{
    if (!ms_eval_nsd_wanted(w))
        return MS_OK;
    if (threads <= 1 || res->nlabels < 2) {
        for (int l = 0; l < res->nlabels; l++) {
            int rc = ms_eval_label_nsd(w, res, l, err);
            if (rc)
                return rc;
        }
        return MS_OK;
    }
    label_jobs lj = { .work = w, .res = res, .failed = 0 };
    pthread_mutex_init(&lj.lock, NULL);
    cli_run_jobs((size_t)res->nlabels, threads, label_job, &lj, NULL);
    pthread_mutex_destroy(&lj.lock);
    if (lj.failed) {
        *err = lj.err;
        return err->code ? err->code : MS_ENOMEM;
    }
    return MS_OK;
}

/* ------------------------------------------------------------ one case */

static int read_spacing(ms_npz *z, const char *path, double spacing[3], ms_err *err)
{
    ms_array a = { 0 };
    int rc = ms_npz_read(z, "spacing", &a, err);
    if (rc)
        return rc;
    size_t n = ms_array_nelem(&a);
    if (a.ndim != 1 || n != 3) {
        rc = ms_seterr(err, MS_ESHAPE, "%s: 'spacing' has %zu values, expected 3", path, n);
        goto done;
    }
    for (int i = 0; i < 3; i++) {
        switch (a.dtype) {
        case MS_F64: spacing[i] = ((const double *)a.data)[i]; break;
        case MS_F32: spacing[i] = ((const float *)a.data)[i]; break;
        case MS_I64: spacing[i] = (double)((const int64_t *)a.data)[i]; break;
        case MS_I32: spacing[i] = ((const int32_t *)a.data)[i]; break;
        default:
            rc = ms_seterr(err, MS_EUNSUPP, "%s: 'spacing' has dtype %s, expected float",
                           path, ms_dtype_name(a.dtype));
            goto done;
        }
    }
done:
    ms_array_free(&a);
    return rc;
}

/* Ground truth: 'gts' (and 'spacing' for 3D cases, as upstream).  is3d: 1 or
 * 0 from the name's 3D / 2D prefix, -1 (no prefix) decided by the rank of gts. */
static int load_gt(const char *path, int is3d, ms_array *gts, double spacing[3],
                   const ms_limits *lim, ms_err *err)
{
    ms_npz *z = NULL;
    int rc = ms_npz_open(path, &z, lim, err);
    if (rc)
        return rc;
    if ((rc = ms_npz_read(z, "gts", gts, err)))
        goto done;
    if (is3d < 0 && gts->ndim != 2 && gts->ndim != 3) {
        rc = ms_seterr(err, MS_ESHAPE, "%s: 'gts' has %d dimensions, expected 2 or 3",
                       path, gts->ndim);
        goto done;
    }
    if (is3d < 0)
        is3d = gts->ndim == 3;
    if (is3d) {
        if ((rc = read_spacing(z, path, spacing, err)))
            goto done;
        if (gts->ndim != 3)
            rc = ms_seterr(err, MS_ESHAPE, "%s: a 3D case needs a 3D 'gts', found %d "
                           "dimensions", path, gts->ndim);
    } else {
        spacing[0] = spacing[1] = spacing[2] = 1.0;
        if (gts->ndim != 2)
            rc = ms_seterr(err, MS_ESHAPE, "%s: a 2D case (name starting with 2D) needs "
                           "a 2D 'gts', found %d dimensions", path, gts->ndim);
    }
done:
    ms_npz_close(&z);
    return rc;
}

/* The evaluation names a case by its file name ("case.npz: segs has dtype
 * f8"): name the file with its folder, the prediction's for segs, the
 * ground truth's for gts. */
static void name_input(ms_err *err, const char *name, const char *gpath, const char *spath)
{
    size_t n = strlen(name);
    if (!gpath || !spath || strncmp(err->msg, name, n) || strncmp(err->msg + n, ": ", 2))
        return;
    char rest[MS_ERR_MSG_MAX];
    snprintf(rest, sizeof rest, "%s", err->msg + n + 2);
    if (!strncmp(rest, "segs and gts", 12))
        ms_seterr(err, err->code, "%s: %s (ground truth %s)", spath, rest, gpath);
    else if (!strncmp(rest, "segs", 4))
        ms_seterr(err, err->code, "%s: %s", spath, rest);
    else if (!strncmp(rest, "gts", 3))
        ms_seterr(err, err->code, "%s: %s", gpath, rest);
}

static int eval_one(size_t i, void *vctx)
{
    eval_ctx *ctx = vctx;
    const eval_opts *o = ctx->o;
    eval_case *c = &ctx->cases[i];
    char *gpath = cli_join(o->gt_dir, c->name), *spath = cli_join(o->seg_dir, c->name);
    ms_array gts = { 0 }, segs = { 0 };
    double spacing[3];
    ms_err err = { 0 };
    int rc = MS_OK;

    if (!gpath || !spath) {
        rc = ms_seterr(&err, MS_ENOMEM, "%s: out of memory", c->name);
        goto done;
    }
    if (!c->has_gt) {
        rc = ms_seterr(&err, MS_ENOTFOUND, "%s: no ground truth for this prediction "
                       "(%s is missing)", spath, gpath);
        goto done;
    }
    if (!c->has_seg) {
        rc = ms_seterr(&err, MS_ENOTFOUND, "%s: no prediction for this case (%s is missing)",
                       gpath, spath);
        goto done;
    }
    int is3d = strncmp(c->name, "3D", 2) == 0 ? 1 : strncmp(c->name, "2D", 2) == 0 ? 0 : -1;
    if ((rc = load_gt(gpath, is3d, &gts, spacing, &o->lim, &err))
        || (rc = ms_npz_load(spath, "segs", &segs, &o->lim, &err)))
        goto done;
    int mode = !o->nsd ? MS_EVAL_NSD_NONE : o->per_label ? MS_EVAL_NSD_ALL
                                                         : MS_EVAL_NSD_UPSTREAM;
    ms_eval_work *w = NULL;
    rc = ms_eval_prepare(&gts, &segs, spacing, o->tolerance, mode, &c->res, &w, c->name, &err);
    if (!rc)
        rc = eval_labels(w, &c->res, ctx->label_threads, &err);
    int rc2 = ms_eval_finish(&w, &c->res, rc ? NULL : &err);
    if (!rc)
        rc = rc2;
    if (rc)
        ms_eval_result_free(&c->res);
    if (!rc && !o->per_label) {
        free(c->res.labels);
        c->res.labels = NULL;
    }
done:
    if (rc)
        name_input(&err, c->name, gpath, spath);
    if (rc)
        cli_error("%s", err.msg);
    c->ok = rc == MS_OK;
    ms_array_free(&gts);
    ms_array_free(&segs);
    free(gpath);
    free(spath);
    return rc ? 1 : 0;
}

/* ------------------------------------------------------------ CSV output */

/* A CSV field as pandas writes it (csv.QUOTE_MINIMAL). */
static void put_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* ",value": round(x, 4) in Python's repr, NaN as an empty field. */
static void put_metric(FILE *f, double x)
{
    char b[32];
    fputc(',', f);
    x = ms_eval_round4(x);
    if (!isnan(x))
        fputs(ms_eval_pyrepr(x, b, sizeof b), f);
}

static int write_metrics(const eval_opts *o, const eval_case *cases, size_t n, ms_err *err)
{
    ms_outfile of;
    int rc = ms_outfile_open(&of, o->out, err);
    if (rc)
        return rc;
    fputs(o->nsd ? "case,dsc,nsd\n" : "case,dsc\n", of.f);
    for (size_t i = 0; i < n; i++) {
        if (!cases[i].ok)
            continue;
        put_field(of.f, cases[i].name);
        put_metric(of.f, cases[i].res.dsc);
        if (o->nsd)
            put_metric(of.f, cases[i].res.nsd);
        fputc('\n', of.f);
    }
    return ms_outfile_commit(&of, err);
}

static int write_per_label(const eval_opts *o, const eval_case *cases, size_t n, ms_err *err)
{
    ms_outfile of;
    int rc = ms_outfile_open(&of, o->per_label, err);
    if (rc)
        return rc;
    fputs(o->nsd ? "case,label,dsc,nsd,gt_voxels,seg_voxels\n"
                 : "case,label,dsc,gt_voxels,seg_voxels\n", of.f);
    for (size_t i = 0; i < n; i++) {
        if (!cases[i].ok)
            continue;
        for (int l = 0; l < cases[i].res.nlabels; l++) {
            const ms_eval_label *L = &cases[i].res.labels[l];
            put_field(of.f, cases[i].name);
            fprintf(of.f, ",%d", l + 1);
            put_metric(of.f, L->dsc);
            if (o->nsd)
                put_metric(of.f, L->nsd);
            fprintf(of.f, ",%llu,%llu\n", (unsigned long long)L->n_gt,
                    (unsigned long long)L->n_seg);
        }
    }
    return ms_outfile_commit(&of, err);
}

/* ------------------------------------------------------------ case list */

static int has_name(char **v, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid], name);
        if (!c)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Every name in either folder, sorted, sharded, with where it was found. */
static int list_cases(const eval_opts *o, eval_case **out, size_t *nout, size_t *nall,
                      ms_err *err)
{
    char **g = NULL, **s = NULL, **u = NULL;
    size_t ng = 0, ns = 0, nu = 0;
    eval_case *cases = NULL;
    int rc;

    *out = NULL;
    *nout = 0;
    if ((rc = cli_list_dir(o->gt_dir, ".npz", &g, &ng, err))
        || (rc = cli_list_dir(o->seg_dir, ".npz", &s, &ns, err)))
        goto done;
    u = malloc((ng + ns + 1) * sizeof *u);
    if (!u)
        goto oom;
    for (size_t a = 0, b = 0; a < ng || b < ns;) {
        int c = a == ng ? 1 : b == ns ? -1 : strcmp(g[a], s[b]);
        const char *name = c <= 0 ? g[a] : s[b];
        if (!(u[nu] = strdup(name)))
            goto oom;
        nu++;
        a += c <= 0;
        b += c >= 0;
    }
    *nall = nu;
    cli_apply_shard(u, &nu, o->shard_k, o->shard_n);
    cases = calloc(nu ? nu : 1, sizeof *cases);
    if (!cases)
        goto oom;
    for (size_t i = 0; i < nu; i++) {
        cases[i].name = u[i];
        u[i] = NULL;
        cases[i].has_gt = has_name(g, ng, cases[i].name);
        cases[i].has_seg = has_name(s, ns, cases[i].name);
    }
    *out = cases;
    *nout = nu;
    rc = MS_OK;
    goto done;
oom:
    rc = ms_seterr(err, MS_ENOMEM, "out of memory listing the cases");
done:
    cli_free_list(g, ng);
    cli_free_list(s, ns);
    if (u)
        cli_free_list(u, nu);
    return rc;
}

/* Refuse an output that is one of the inputs. */
static int check_outputs(const eval_opts *o, const eval_case *cases, size_t n, ms_err *err)
{
    const char *outs[2] = { o->out, o->per_label };
    for (size_t i = 0; i < n; i++)
        for (int side = 0; side < 2; side++) {
            char *in = cli_join(side ? o->seg_dir : o->gt_dir, cases[i].name);
            int rc = in ? MS_OK : ms_seterr(err, MS_ENOMEM, "out of memory");
            for (int k = 0; k < 2 && !rc; k++)
                if (outs[k])
                    rc = ms_outfile_check_not_input(outs[k], in, err);
            free(in);
            if (rc)
                return rc;
        }
    return MS_OK;
}

/* ------------------------------------------------------------ options */

enum { OPT_NO_NSD = 256, OPT_TOLERANCE, OPT_PER_LABEL };

static int parse_args(int argc, char **argv, eval_opts *o, int *exit_now)
{
    static const struct option longopts[] = {
        { "seg-dir", required_argument, NULL, 's' },
        { "gt-dir", required_argument, NULL, 'g' },
        { "output", required_argument, NULL, 'o' },
        { "no-nsd", no_argument, NULL, OPT_NO_NSD },
        { "tolerance", required_argument, NULL, OPT_TOLERANCE },
        { "per-label", required_argument, NULL, OPT_PER_LABEL },
        { "jobs", required_argument, NULL, 'j' },
        { "threads", required_argument, NULL, 'j' },
        { "shard", required_argument, NULL, CLI_OPT_SHARD },
        { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *exit_now = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:g:o:j:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->seg_dir = optarg; break;
        case 'g': o->gt_dir = optarg; break;
        case 'o': o->out = optarg; break;
        case OPT_NO_NSD: o->nsd = 0; break;
        case OPT_PER_LABEL: o->per_label = optarg; break;
        case OPT_TOLERANCE:
            if (cli_parse_double(optarg, &o->tolerance) || !(o->tolerance >= 0.0)
                || isinf(o->tolerance))
                return cli_usage("--tolerance: '%s' is not a distance in mm (>= 0)", optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            *exit_now = 1;
            return CLI_EXIT_OK;
        case 'V':
            cli_print_version();
            *exit_now = 1;
            return CLI_EXIT_OK;
        case '?':
        case ':':
            return cli_getopt_error(c, argv);
        default: {
            int r = cli_shared_opt(c, optarg, &o->jobs, &o->quiet, &o->shard_k, &o->shard_n,
                                   &o->lim);
            if (r < 0)
                return cli_getopt_error('?', argv);
            if (r)
                return r;
        }
        }
    }
    if (optind < argc)
        return cli_usage("unexpected argument '%s'", argv[optind]);
    if (!o->seg_dir || !o->gt_dir || !o->out)
        return cli_usage("--seg-dir, --gt-dir and -o are required");
    if (o->per_label && strcmp(o->per_label, o->out) == 0)
        return cli_usage("--per-label and -o name the same file");
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    eval_opts o = { .nsd = 1, .tolerance = 2.0, .jobs = 1, .shard_k = 0, .shard_n = 1 };
    eval_case *cases = NULL;
    size_t n = 0, nall = 0;
    ms_err err = { 0 };
    int exit_now, status;

    cli_init(argv[0]);
    status = parse_args(argc, argv, &o, &exit_now);
    if (status || exit_now)
        return status;
    if (list_cases(&o, &cases, &n, &nall, &err) || check_outputs(&o, cases, n, &err)) {
        cli_error("%s", err.msg);
        status = CLI_EXIT_FAIL;
        goto done;
    }
    if (n == 0 && nall > 0 && !o.quiet)
        fprintf(stderr, "%s: shard %d/%d selects no case (%zu in all)\n", cli_prog(),
                o.shard_k, o.shard_n, nall);
    else if (n == 0 && !o.quiet)
        cli_warn("%s: no .npz files", o.gt_dir);
    /* fewer cases than jobs: the spare threads share the labels of a case */
    int jobs = o.jobs;
    if (jobs <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cpus > 0 ? (int)cpus : 1;
    }
    int label_threads = n && (size_t)jobs > n ? (int)((size_t)jobs / n) : 1;
    eval_ctx ctx = { .o = &o, .cases = cases, .label_threads = label_threads };
    cli_progress *p = cli_progress_new("eval", n, o.quiet);
    size_t failed = cli_run_jobs(n, jobs, eval_one, &ctx, p);
    cli_progress_free(&p);
    status = failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    if (write_metrics(&o, cases, n, &err)
        || (o.per_label && write_per_label(&o, cases, n, &err))) {
        cli_error("%s", err.msg);
        status = CLI_EXIT_FAIL;
    }
done:
    for (size_t i = 0; i < n; i++) {
        free(cases[i].name);
        ms_eval_result_free(&cases[i].res);
    }
    free(cases);
    return status;
}
