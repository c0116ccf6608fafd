/* bench_eval: time ms_eval_case on every case of a folder pair and print the
 * metrics at full precision (for comparison with bench/eval_reference.py).
 *
 * usage: bench_eval SEG_DIR GT_DIR [--labels]
 * Built by meson (bench/meson.build); run by bench/bench_eval.sh.
 * Output: "case dsc nsd seconds" per case (%.17g), and with --labels
 * "case label dsc nsd" per label (every label's NSD computed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>

#include "ms_npz.h"
#include "ms_eval.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_case(const char *seg_dir, const char *gt_dir, const char *name, int labels)
{
    char gp[4096], sp[4096];
    ms_array gts = { 0 }, segs = { 0 }, spa = { 0 };
    double spacing[3] = { 1, 1, 1 };
    ms_eval_result r;
    ms_err err = { 0 };
    int rc;

    snprintf(gp, sizeof gp, "%s/%s", gt_dir, name);
    snprintf(sp, sizeof sp, "%s/%s", seg_dir, name);
    if ((rc = ms_npz_load(gp, "gts", &gts, NULL, &err))
        || (rc = ms_npz_load(sp, "segs", &segs, NULL, &err)))
        goto fail;
    if (strncmp(name, "3D", 2) == 0) {
        if ((rc = ms_npz_load(gp, "spacing", &spa, NULL, &err)))
            goto fail;
        for (int i = 0; i < 3; i++)
            spacing[i] = ((const double *)spa.data)[i];
    }
    double t0 = now();
    rc = ms_eval_case(&gts, &segs, spacing, 2.0,
                      labels ? MS_EVAL_NSD_ALL : MS_EVAL_NSD_UPSTREAM, &r, name, &err);
    double t1 = now();
    if (rc)
        goto fail;
    printf("%s %.17g %.17g %.3f\n", name, r.dsc, r.nsd, t1 - t0);
    for (int l = 0; labels && l < r.nlabels; l++)
        printf("%s %d %.17g %.17g\n", name, l + 1, r.labels[l].dsc, r.labels[l].nsd);
    ms_eval_result_free(&r);
fail:
    if (rc)
        fprintf(stderr, "bench_eval: %s\n", err.msg);
    ms_array_free(&gts);
    ms_array_free(&segs);
    ms_array_free(&spa);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_eval SEG_DIR GT_DIR [--labels]\n");
        return 2;
    }
    int labels = argc > 3 && strcmp(argv[3], "--labels") == 0;
    DIR *d = opendir(argv[2]);
    if (!d) {
        perror(argv[2]);
        return 1;
    }
    char *names[4096];
    int n = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".npz") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp);
    double t0 = now();
    for (int i = 0; i < n; i++) {
        bad |= run_case(argv[1], argv[2], names[i], labels) != 0;
        free(names[i]);
    }
    fprintf(stderr, "bench_eval: %d cases, %.3f s\n", n, now() - t0);
    return bad;
}
