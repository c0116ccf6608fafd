/* Checkpoint load timings.
 *
 *   bench_pth [CHECKPOINT.pth] [REPEATS]
 *       open (zip + pickle + storages) and convert every tensor to float32,
 *       REPEATS times in this process (default 20); min and median ms.
 *   bench_pth --model [-n RUNS] [-k LOADS] [CHECKPOINT.pth]
 *       msnn_model_load() cold and warm: RUNS fresh processes (default 9,
 *       fork + exec of this program) each load the model LOADS times in a
 *       row (default 5).  The first load of a process is the cold one (what a
 *       medsam-segment run pays once: first-touch page faults of the heap,
 *       the mapping of the file); the others are warm.  Prints min and median
 *       wall and CPU ms of cold loads and of warm loads, the minor page
 *       faults of a cold load, and /proc/loadavg before and after.
 *   default checkpoint: tests/data/model/random_seed7.pth (39 MB, 435 tensors,
 *   the structure and size of lite_medsam.pth).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msnn.h"
#include "pth.h"

#ifdef BENCH_DATA_DIR
#define DEFAULT_CKPT BENCH_DATA_DIR "/random_seed7.pth"
#else
#define DEFAULT_CKPT "tests/data/model/random_seed7.pth"
#endif

#define MAX_RUNS 1000
#define MAX_LOADS 100

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void print_loadavg(const char *when)
{
    char buf[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            snprintf(buf, sizeof buf, "?\n");
        fclose(f);
    }
    printf("loadavg %s: %s", when, buf);
    if (!strchr(buf, '\n'))
        printf("\n");
}

/* Child: load the model `loads` times; one line per load on stdout:
 * "wall_ms cpu_ms minflt". */
static int model_child(const char *path, int loads)
{
    for (int i = 0; i < loads; i++) {
        msnn_model *m = NULL;
        ms_err err = { 0 };
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        double c0 = cpu_ms(), t0 = now_ms();
        if (msnn_model_load(path, &m, &err) < 0) {
            fprintf(stderr, "bench_pth: %s\n", err.msg);
            return 1;
        }
        double t1 = now_ms(), c1 = cpu_ms();
        getrusage(RUSAGE_SELF, &r1);
        msnn_model_free(&m);
        printf("%.3f %.3f %ld\n", t1 - t0, c1 - c0, r1.ru_minflt - r0.ru_minflt);
    }
    return 0;
}

static int model_bench(const char *self, const char *path, int runs, int loads)
{
    double *cw = malloc((size_t)runs * sizeof *cw), *cc = malloc((size_t)runs * sizeof *cc);
    double *cf = malloc((size_t)runs * sizeof *cf);
    int nwarm_max = runs * (loads - 1);
    double *ww = malloc(((size_t)nwarm_max + 1) * sizeof *ww);
    double *wc = malloc(((size_t)nwarm_max + 1) * sizeof *wc);
    double *wf = malloc(((size_t)nwarm_max + 1) * sizeof *wf);
    int nwarm = 0;
    if (!cw || !cc || !cf || !ww || !wc || !wf)
        return 1;
    print_loadavg("before");
    char kbuf[16];
    snprintf(kbuf, sizeof kbuf, "%d", loads);
    for (int r = 0; r < runs; r++) {
        int fd[2];
        if (pipe(fd) != 0) {
            perror("bench_pth: pipe");
            return 1;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("bench_pth: fork");
            return 1;
        }
        if (pid == 0) {
            close(fd[0]);
            if (dup2(fd[1], STDOUT_FILENO) < 0)
                _exit(127);
            close(fd[1]);
            execl(self, self, "--model-child", kbuf, path, (char *)NULL);
            perror("bench_pth: exec");
            _exit(127);
        }
        close(fd[1]);
        FILE *f = fdopen(fd[0], "r");
        double w, c;
        long flt;
        int got = 0;
        while (f && fscanf(f, "%lf %lf %ld", &w, &c, &flt) == 3) {
            if (got == 0) {
                cw[r] = w;
                cc[r] = c;
                cf[r] = (double)flt;
            } else if (nwarm < nwarm_max) {
                ww[nwarm] = w;
                wf[nwarm] = (double)flt;
                wc[nwarm++] = c;
            }
            got++;
        }
        if (f)
            fclose(f);
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || got != loads) {
            fprintf(stderr, "bench_pth: child run %d failed\n", r);
            return 1;
        }
    }
    print_loadavg("after ");
    printf("%s: msnn_model_load, %d fresh processes x %d loads\n", path, runs, loads);
    double mw = median(cw, runs), mc = median(cc, runs), mf = median(cf, runs);
    printf("cold  wall min %7.1f ms  median %7.1f ms   cpu min %7.1f ms  median %7.1f ms"
           "   minor faults median %.0f\n", cw[0], mw, cc[0], mc, mf);
    if (nwarm) {
        double mww = median(ww, nwarm), mwc = median(wc, nwarm), mwf = median(wf, nwarm);
        printf("warm  wall min %7.1f ms  median %7.1f ms   cpu min %7.1f ms  median %7.1f ms"
               "   minor faults median %.0f (%d loads)\n", ww[0], mww, wc[0], mwc, mwf, nwarm);
    }
    free(cw), free(cc), free(cf), free(ww), free(wc), free(wf);
    return 0;
}

static int open_bench(const char *path, int reps)
{
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

static int usage(void)
{
    fprintf(stderr, "usage: bench_pth [CHECKPOINT.pth] [REPEATS]\n"
                    "       bench_pth --model [-n RUNS] [-k LOADS] [CHECKPOINT.pth]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--model-child")) {
        if (argc != 4)
            return usage();
        int loads = atoi(argv[2]);
        return loads < 1 || loads > MAX_LOADS ? usage() : model_child(argv[3], loads);
    }
    if (argc > 1 && !strcmp(argv[1], "--model")) {
        const char *path = DEFAULT_CKPT;
        int runs = 9, loads = 5;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "-n") && i + 1 < argc)
                runs = atoi(argv[++i]);
            else if (!strcmp(argv[i], "-k") && i + 1 < argc)
                loads = atoi(argv[++i]);
            else if (argv[i][0] != '-')
                path = argv[i];
            else
                return usage();
        }
        if (runs < 1 || runs > MAX_RUNS || loads < 1 || loads > MAX_LOADS)
            return usage();
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) {
            perror("bench_pth: /proc/self/exe");
            return 1;
        }
        self[n] = '\0';
        return model_bench(self, path, runs, loads);
    }
    const char *path = argc > 1 ? argv[1] : DEFAULT_CKPT;
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    if (argc > 3 || reps < 1 || reps > 10000)
        return usage();
    return open_bench(path, reps);
}
