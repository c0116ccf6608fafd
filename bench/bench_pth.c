/* Time to open a checkpoint (zip + pickle + storages read once) and to
 * convert every tensor to float32.
 *
 *   bench_pth [CHECKPOINT.pth] [REPEATS]
 *   default: tests/data/model/random_seed7.pth (39 MB, 435 tensors), 20 runs
 * Prints the minimum and median wall time of each step in milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pth.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
#ifdef BENCH_DATA_DIR
    const char *path = argc > 1 ? argv[1] : BENCH_DATA_DIR "/random_seed7.pth";
#else
    const char *path = argc > 1 ? argv[1] : "tests/data/model/random_seed7.pth";
#endif
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    if (reps < 1 || reps > 10000) {
        fprintf(stderr, "usage: bench_pth [CHECKPOINT.pth] [REPEATS]\n");
        return 2;
    }
    double *t_open = malloc(reps * sizeof *t_open), *t_conv = malloc(reps * sizeof *t_conv);
    size_t ntensors = 0, nfloats = 0;
    if (!t_open || !t_conv)
        return 1;
    for (int r = 0; r < reps; r++) {
        msnn_pth *p = NULL;
        ms_err err = { 0 };
        double t0 = now_ms();
        if (msnn_pth_open(path, &p, &err)) {
            fprintf(stderr, "bench_pth: %s\n", err.msg);
            return 1;
        }
        double t1 = now_ms();
        ntensors = msnn_pth_count(p);
        nfloats = 0;
        for (size_t i = 0; i < ntensors; i++) {
            const msnn_pth_tensor *t = msnn_pth_at(p, i);
            size_t n = 1;
            for (int d = 0; d < t->ndim; d++)
                n *= (size_t)t->shape[d];
            float *v = malloc((n ? n : 1) * sizeof *v);
            if (!v || msnn_pth_to_f32(p, t, v, n, &err)) {
                fprintf(stderr, "bench_pth: %s\n", v ? err.msg : "out of memory");
                return 1;
            }
            free(v);
            nfloats += n;
        }
        double t2 = now_ms();
        msnn_pth_close(&p);
        t_open[r] = t1 - t0;
        t_conv[r] = t2 - t1;
    }
    qsort(t_open, reps, sizeof *t_open, cmp_double);
    qsort(t_conv, reps, sizeof *t_conv, cmp_double);
    printf("%s: %zu tensors, %zu elements, %d runs\n", path, ntensors, nfloats, reps);
    printf("open        min %8.2f ms  median %8.2f ms\n", t_open[0], t_open[reps / 2]);
    printf("to_f32 all  min %8.2f ms  median %8.2f ms\n", t_conv[0], t_conv[reps / 2]);
    free(t_open);
    free(t_conv);
    return 0;
}
