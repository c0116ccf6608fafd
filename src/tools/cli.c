/* What the medsam-* executables share; see cli.h. */
#include "config.h"
#include "cli.h"

#include <dirent.h>
#include <getopt.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *g_prog = "medsam";

void cli_init(const char *prog)
{
    const char *s = strrchr(prog, '/');
    g_prog = s ? s + 1 : prog;
}

const char *cli_prog(void) { return g_prog; }

/* Format the whole line first so that one fwrite() carries it: lines
 * written by worker threads never interleave. */
static void vmsg(const char *kind, const char *fmt, va_list ap)
{
    char line[2048];
    int n = snprintf(line, sizeof line, "%s: %s", g_prog, kind);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
    fflush(stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", g_prog);
    return CLI_EXIT_USAGE;
}

void cli_print_version(void)
{
    printf("%s (medsam-tools) %s\n", g_prog, MS_VERSION);
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || v != v)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_labels(const char *s, int *out, int cap)
{
    int n = 0;
    const char *p = s;
    if (!s)
        return -1;
    if (!*s)
        return 0;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > 255 || n >= cap)
            return -1;
        out[n++] = (int)v;
        if (*end == '\0')
            return n;
        if (*end != ',')
            return -1;
        p = end + 1;
    }
}

int cli_parse_shard(const char *s, int *k, int *n)
{
    long a, b;
    char buf[64];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || (size_t)(slash - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    if (cli_parse_long(buf, 0, INT_MAX - 1, &a) || cli_parse_long(slash + 1, 1, INT_MAX, &b) ||
        a >= b)
        return -1;
    *k = (int)a;
    *n = (int)b;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int cli_list_dir(const char *dir, const char *suffix, char ***names, size_t *n, ms_err *err)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    *names = NULL;
    *n = 0;
    if (!d)
        return ms_seterr(err, MS_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, suffix))
            continue;
        char *path = cli_join(dir, e->d_name);
        struct stat st;
        int regular = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
        if (!regular)
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv)
                goto oom;
            v = nv;
            cap = nc;
        }
        if (!(v[cnt] = strdup(e->d_name)))
            goto oom;
        cnt++;
    }
    closedir(d);
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_str);
    *names = v;
    *n = cnt;
    return MS_OK;
oom:
    closedir(d);
    cli_free_list(v, cnt);
    return ms_seterr(err, MS_ENOMEM, "%s: out of memory listing the folder", dir);
}

void cli_free_list(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void cli_apply_shard(char **names, size_t *n, int shard_k, int shard_n)
{
    size_t j = 0;
    if (shard_n <= 1)
        return;
    for (size_t i = 0; i < *n; i++) {
        if (i % (size_t)shard_n == (size_t)shard_k)
            names[j++] = names[i];
        else
            free(names[i]);
    }
    *n = j;
}

char *cli_join(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    int slash = ld > 0 && dir[ld - 1] != '/';
    char *s = malloc(ld + (size_t)slash + ln + 1);
    if (!s)
        return NULL;
    memcpy(s, dir, ld);
    if (slash)
        s[ld] = '/';
    memcpy(s + ld + slash, name, ln + 1);
    return s;
}

char *cli_stem(const char *path, const char *suffix)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (suffix && *suffix && ends_with(base, suffix))
        len -= strlen(suffix);
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    memcpy(s, base, len);
    s[len] = '\0';
    return s;
}

/* ------------------------------------------------------------ progress bar */

struct cli_progress {
    pthread_mutex_t lock;
    const char *label;
    size_t total, done;
    int active;      /* stderr is a terminal and not quiet */
    int last_width;  /* last drawn filled width, to redraw only on change */
};

static void progress_draw(cli_progress *p)
{
    enum { W = 30 };
    int filled = p->total ? (int)(p->done * W / p->total) : W;
    char bar[W + 1];
    for (int i = 0; i < W; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[W] = '\0';
    fprintf(stderr, "\r%s: %s [%s] %zu/%zu", g_prog, p->label, bar, p->done, p->total);
    fflush(stderr);
}

cli_progress *cli_progress_new(const char *label, size_t total, int quiet)
{
    cli_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->label = label;
    p->total = total;
    p->active = !quiet && isatty(STDERR_FILENO);
    p->last_width = -1;
    if (p->active)
        progress_draw(p);
    return p;
}

void cli_progress_tick(cli_progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->done++;
    if (p->active)
        progress_draw(p);
    pthread_mutex_unlock(&p->lock);
}

void cli_progress_free(cli_progress **pp)
{
    cli_progress *p = pp ? *pp : NULL;
    if (!p)
        return;
    if (p->active)
        fputc('\n', stderr);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *pp = NULL;
}

/* ------------------------------------------------------------ case workers */

typedef struct jobs_ctx {
    pthread_mutex_t lock;
    size_t next, n, failed;
    int (*fn)(size_t, void *);
    void *ctx;
    cli_progress *p;
} jobs_ctx;

static void *jobs_worker(void *arg)
{
    jobs_ctx *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next < j->n ? j->next++ : j->n;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->n)
            return NULL;
        int rc = j->fn(i, j->ctx);
        pthread_mutex_lock(&j->lock);
        if (rc)
            j->failed++;
        pthread_mutex_unlock(&j->lock);
        cli_progress_tick(j->p);
    }
}

size_t cli_run_jobs(size_t n, int jobs, int (*fn)(size_t i, void *ctx), void *ctx,
                    cli_progress *p)
{
    jobs_ctx j = { .next = 0, .n = n, .failed = 0, .fn = fn, .ctx = ctx, .p = p };
    pthread_mutex_init(&j.lock, NULL);
    if (jobs <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = c > 0 ? (int)c : 1;
    }
    if ((size_t)jobs > n)
        jobs = n ? (int)n : 1;
    pthread_t *th = jobs > 1 ? calloc((size_t)jobs - 1, sizeof *th) : NULL;
    int started = 0;
    for (int t = 0; th && t < jobs - 1; t++) {
        if (pthread_create(&th[t], NULL, jobs_worker, &j))
            break;
        started++;
    }
    jobs_worker(&j);   /* the calling thread works too */
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    free(th);
    pthread_mutex_destroy(&j.lock);
    return j.failed;
}

int cli_parse_size(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    int shift = 0;
    switch (*s) {
    case '\0': break;
    case 'k': case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return -1;
    }
    if (*s) {
        s++;
        if (strcmp(s, "") && strcmp(s, "B") && strcmp(s, "iB"))
            return -1;
    }
    if (v == 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

int cli_parse_max_memory(const char *s, ms_limits *lim)
{
    uint64_t v;
    if (cli_parse_size(s, &v))
        return -1;
    lim->max_bytes = v;
    return 0;
}

/* ------------------------------------------------------------ shared options */

int cli_parse_compress_level(const char *s, int *level)
{
    long v;
    if (cli_parse_long(s, 0, 12, &v))
        return -1;
    *level = (int)v;
    return 0;
}

/* A name used in output file names: non-empty, no '/'. */
static int good_name(const char *s)
{
    return s && *s && !strchr(s, '/');
}

int cli_prep_opt(cli_prep_opts *p, int c, const char *arg)
{
    long v;
    switch (c) {
    case 'o': p->output = arg; return 0;
    case CLI_PREP_IMG_DIR: p->img_dir = arg; return 0;
    case CLI_PREP_GT_DIR: p->gt_dir = arg; return 0;
    case CLI_PREP_OUT_DIR: p->out_dir = arg; return 0;
    case CLI_PREP_MODALITY:
        if (!good_name(arg))
            return cli_usage("--modality: '%s' is not a name (non-empty, no '/')", arg);
        p->modality = arg;
        return 0;
    case CLI_PREP_ANATOMY:
        if (!good_name(arg))
            return cli_usage("--anatomy: '%s' is not a name (non-empty, no '/')", arg);
        p->anatomy = arg;
        return 0;
    case CLI_PREP_IMG_SUFFIX: p->img_suffix = arg; return 0;
    case CLI_PREP_GT_SUFFIX:
        if (!*arg)
            return cli_usage("--gt-suffix: must not be empty");
        p->gt_suffix = arg;
        return 0;
    case CLI_PREP_REMOVE:
        if ((p->nremove = cli_parse_labels(arg, p->remove, 256)) < 0)
            return cli_usage("--remove-labels: '%s' is not a comma-separated list of 0..255", arg);
        return 0;
    case CLI_PREP_TUMOR:
        if (cli_parse_long(arg, 1, 255, &v))
            return cli_usage("--tumor-id: '%s' is not a label in 1..255", arg);
        p->tumor_id = (int)v;
        return 0;
    case CLI_PREP_LEVEL:
        if (cli_parse_compress_level(arg, &p->npz_level))
            return cli_usage("--compress-level: '%s' is not a level in 0..12", arg);
        return 0;
    default:
        return cli_shared_opt(c, arg, &p->jobs, &p->quiet, &p->shard_k, &p->shard_n, &p->lim);
    }
}

int cli_shared_opt(int c, const char *arg, int *jobs, int *quiet, int *shard_k, int *shard_n,
                   ms_limits *lim)
{
    long v;
    switch (c) {
    case CLI_OPT_SHARD:
        if (cli_parse_shard(arg, shard_k, shard_n))
            return cli_usage("--shard: '%s' is not K/N with 0 <= K < N", arg);
        return 0;
    case CLI_OPT_MAX_MEMORY:
        if (cli_parse_max_memory(arg, lim))
            return cli_usage("--max-memory: '%s' is not a size such as 4G or 512M", arg);
        return 0;
    case 'j':
        if (cli_parse_long(arg, 0, 4096, &v))
            return cli_usage("--jobs: '%s' is not a count in 0..4096", arg);
        *jobs = (int)v;
        return 0;
    case 'q':
        *quiet = 1;
        return 0;
    default:
        return -1;
    }
}

int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
               void (*usage)(FILE *), int (*parse)(void *ctx, int c, const char *arg), void *ctx)
{
    int c, r;
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        if (c == CLI_OPT_HELP) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (c == CLI_OPT_VERSION) {
            cli_print_version();
            return CLI_EXIT_OK;
        }
        if (c == '?' || c == ':')
            return cli_getopt_error(c, argv);
        if ((r = parse(ctx, c, optarg)) != 0)
            return r;
    }
    return -1;
}

int cli_getopt_error(int c, char *const *argv)
{
    if (c == '?' && optopt)
        return cli_usage("unknown option '-%c'", optopt);
    if (c == '?')
        return cli_usage("unknown option '%s'", argv[optind - 1]);
    return cli_usage("option '%s' needs a value", argv[optind - 1]);
}
