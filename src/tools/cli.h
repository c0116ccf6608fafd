/* What the medsam-* executables share: messages, exit codes, folder listing,
 * sharding (--shard K/N), a progress bar and a pool of case workers.
 *
 * Exit codes (documented in every man page):
 *   0  success
 *   1  a runtime error (bad input file, failed write); in folder mode: at
 *      least one case failed, the others were still processed
 *   2  usage error (bad option or argument)
 */
#ifndef MS_CLI_H
#define MS_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "ms_array.h"
#include "ms_error.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Set the program name used as the prefix of every message. */
void cli_init(const char *prog);
const char *cli_prog(void);

/* "prog: message\n" on stderr (one fprintf, so lines from threads don't mix). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "prog: message" and "Try 'prog --help' for more information."; returns 2. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog (medsam-tools) VERSION" on stdout. */
void cli_print_version(void);

/* Strict integer / double parsing of a whole string, within [min, max]. */
int cli_parse_long(const char *s, long min, long max, long *out);
int cli_parse_double(const char *s, double *out);
/* "1,2,12" -> list of ints in [0,255]; returns count or -1 on a bad list. */
int cli_parse_labels(const char *s, int *out, int cap);

/* A byte count: digits with an optional binary suffix K, M, G or T (also
 * KiB/MiB/GiB/TiB, KB..TB, k; all powers of 1024), e.g. "4G", "512MiB",
 * "1048576".  Refuses 0, signs, fractions and overflow.  Returns 0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);

/* --max-memory SIZE: the memory budget for one input.  Every reader refuses
 * an array whose declared size exceeds it, before allocating (ms_limits).
 * Convention for a tool:
 *     ms_limits lim = {0};                  // 0 = MS_DEFAULT_MAX_BYTES (4 GiB)
 *     { "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
 *     case OPT_MAX_MEMORY:
 *         if (cli_parse_max_memory(optarg, &lim))
 *             return cli_usage("invalid --max-memory '%s'", optarg);
 * then &lim goes to every ms_npz_open / ms_npy_read / ms_nifti_read /
 * ms_image_read / ms_array_alloc of that input; CLI_MAX_MEMORY_HELP is the
 * --help line and the man page says the same. */
int cli_parse_max_memory(const char *s, ms_limits *lim);
#define CLI_MAX_MEMORY_HELP \
    "      --max-memory SIZE    refuse an input array larger than SIZE bytes\n" \
    "                           (suffix K, M, G, T: powers of 1024); default 4G\n"

/* --compress-level N for npz outputs: 0 (stored, as np.savez) .. 12.  The
 * default is 1, not np.savez_compressed's 6: with libdeflate, level 6 alone
 * takes as long as the rest of medsam-pre-ct on a CT, for files about 4 %
 * smaller.  Returns 0 or -1. */
#define CLI_NPZ_LEVEL_DEFAULT 1
int cli_parse_compress_level(const char *s, int *level);
#define CLI_COMPRESS_LEVEL_HELP \
    "      --compress-level N   npz deflate level: 0 stored (np.savez), 1 fastest ..\n" \
    "                           12 smallest; default 1 (6 is np.savez_compressed's)\n"

/* --shard K/N: 0 <= K < N.  Returns 0 or -1. */
int cli_parse_shard(const char *s, int *k, int *n);

/* Regular files in dir whose names end in suffix, sorted by byte order (as
 * Python's sorted()).  *names is a NULL-free array of malloc'd names (not paths). */
int cli_list_dir(const char *dir, const char *suffix, char ***names, size_t *n, ms_err *err);
void cli_free_list(char **names, size_t n);
/* Keep entries i with i % shard_n == shard_k (deterministic over the sorted
 * list); compacts in place, frees the others. */
void cli_apply_shard(char **names, size_t *n, int shard_k, int shard_n);

/* "dir/name" in a new malloc'd string. */
char *cli_join(const char *dir, const char *name);
/* Name without directory, and without `suffix` if it ends with it (malloc'd). */
char *cli_stem(const char *path, const char *suffix);

/* Progress bar on stderr, only when stderr is a terminal and !quiet. Thread-safe. */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_new(const char *label, size_t total, int quiet);
void cli_progress_tick(cli_progress *p);
void cli_progress_free(cli_progress **p);   /* finishes the line */

/* Options every folder-mode tool shares.  Tools put CLI_OPT_SHARD and
 * CLI_OPT_MAX_MEMORY in their long-option tables ("shard", "max-memory") next to
 * 'j' ("jobs") and 'q' ("quiet"), and hand any option they do not know to
 * cli_shared_opt(): returns 0 when it took the option, CLI_EXIT_USAGE after
 * printing a usage error for a bad value, -1 when c is not a shared option. */
enum { CLI_OPT_SHARD = 0x4000, CLI_OPT_MAX_MEMORY };
int cli_shared_opt(int c, const char *arg, int *jobs, int *quiet, int *shard_k, int *shard_n,
                   ms_limits *lim);
/* The usage error for getopt_long's '?' (unknown option) and ':' (missing
 * value) results, with opterr = 0 and an optstring starting with ':'.
 * Returns CLI_EXIT_USAGE. */
int cli_getopt_error(int c, char *const *argv);

/* The option loop of the tools: getopt_long over argv (opterr off; the
 * optstring must start with ':'); CLI_OPT_HELP prints usage(stdout) and
 * CLI_OPT_VERSION the version (both end the run with CLI_EXIT_OK); getopt
 * errors are usage errors; every other option goes to parse(ctx, c, optarg),
 * which returns 0 when it took it or an exit code.  Returns -1 when the
 * options are done (optind at the first operand), else the exit code. */
enum { CLI_OPT_HELP = 0x4100, CLI_OPT_VERSION };
struct option;
int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
               void (*usage)(FILE *), int (*parse)(void *ctx, int c, const char *arg), void *ctx);

/* The options medsam-pre-ct and medsam-pre-grey-rgb share: the single case
 * (-o) or the folders, output names, label clean-up, the npz level and the
 * shared options above.  A tool's option table lists CLI_PREP_LONGOPTS and
 * hands the options it does not know to cli_prep_opt(): 0 when it took the
 * option, CLI_EXIT_USAGE after a usage error, -1 when c is not one of them. */
typedef struct cli_prep_opts {
    const char *output, *img_dir, *gt_dir, *out_dir;
    const char *modality, *anatomy;   /* names in output files: non-empty, no '/' */
    const char *img_suffix, *gt_suffix;
    int remove[256], nremove;         /* --remove-labels */
    int tumor_id;                     /* --tumor-id; -1: none */
    int npz_level;                    /* --compress-level */
    int jobs, quiet, shard_k, shard_n;
    ms_limits lim;                    /* --max-memory: budget of one input array */
} cli_prep_opts;
enum {
    CLI_PREP_IMG_DIR = 0x4200, CLI_PREP_GT_DIR, CLI_PREP_OUT_DIR, CLI_PREP_MODALITY,
    CLI_PREP_ANATOMY, CLI_PREP_IMG_SUFFIX, CLI_PREP_GT_SUFFIX, CLI_PREP_REMOVE, CLI_PREP_TUMOR,
    CLI_PREP_LEVEL,
};
#define CLI_PREP_LONGOPTS \
    {"output", required_argument, NULL, 'o'}, \
    {"img-dir", required_argument, NULL, CLI_PREP_IMG_DIR}, \
    {"gt-dir", required_argument, NULL, CLI_PREP_GT_DIR}, \
    {"out-dir", required_argument, NULL, CLI_PREP_OUT_DIR}, \
    {"modality", required_argument, NULL, CLI_PREP_MODALITY}, \
    {"anatomy", required_argument, NULL, CLI_PREP_ANATOMY}, \
    {"img-suffix", required_argument, NULL, CLI_PREP_IMG_SUFFIX}, \
    {"gt-suffix", required_argument, NULL, CLI_PREP_GT_SUFFIX}, \
    {"remove-labels", required_argument, NULL, CLI_PREP_REMOVE}, \
    {"tumor-id", required_argument, NULL, CLI_PREP_TUMOR}, \
    {"compress-level", required_argument, NULL, CLI_PREP_LEVEL}, \
    {"shard", required_argument, NULL, CLI_OPT_SHARD}, \
    {"max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY}, \
    {"jobs", required_argument, NULL, 'j'}, \
    {"threads", required_argument, NULL, 'j'}, \
    {"quiet", no_argument, NULL, 'q'}, \
    {"help", no_argument, NULL, CLI_OPT_HELP}, \
    {"version", no_argument, NULL, CLI_OPT_VERSION}
int cli_prep_opt(cli_prep_opts *p, int c, const char *arg);

/* Run fn(i, ctx) for i in [0, n) on `jobs` threads (jobs <= 0: online CPUs).
 * fn returns 0 on success.  Ticks p after each case.  Returns the number of
 * failed cases. */
size_t cli_run_jobs(size_t n, int jobs, int (*fn)(size_t i, void *ctx), void *ctx,
                    cli_progress *p);

#endif
