/* GEMM throughput on LiteMedSAM's shapes, per dispatch path and thread count.
 *
 * Usage: bench_gemm [-r REPS] [-t THREADS,...] [-p PATH,...] [-s SUBSTRING]
 *   PATH: ref, avx2, avx512, neon (default: every path this CPU runs)
 * Prints the median time of REPS runs, GFLOP/s, and the peak RSS at the end.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cpu.h"
#include "gemm.h"
#include "gemm_kern.h"
#include "pool.h"

typedef struct shape {
    const char *name;
    int M, N, K;
    int nchw;       /* 1: plain row-major A and B (C[Cout][HW] = W[Cout][Cin] X[Cin][HW]);
                     * 0: tokens x W^T with W packed once, as the engine's layers */
    int bt;         /* B stored transposed and not packed (attention Q K^T) */
    int act;
    int res;        /* residual M x N added in the epilogue */
    int at;         /* A stored column-major (A^T row-major), as softmax scores E^T */
} shape;

static const shape shapes[] = {
    /* The calls the engine makes (bench_engine -t 1: the encoder's chunks of
     * tokens and strips of pixels, the decoder's bands of 128 image rows),
     * in the order of their share of the work. */
    { "eng s3 fc2 48x320x1280 +res", 48, 320, 1280, 0, 0, MSNN_ACT_NONE, 1, 0 },
    { "eng s3 fc1 48x1280x320 +GELU", 48, 1280, 320, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "eng s2 fc2 102x160x640 +res", 102, 160, 640, 0, 0, MSNN_ACT_NONE, 1, 0 },
    { "eng s2 fc1 102x640x160 +GELU", 102, 640, 160, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "eng s3 qkv 98x960x320", 98, 960, 320, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng s1 fc2 126x128x512 +res", 126, 128, 512, 0, 0, MSNN_ACT_NONE, 1, 0 },
    { "eng s1 fc1 126x512x128 +GELU", 126, 512, 128, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "eng s0 conv3 64x64x256 +res+GELU", 64, 64, 256, 0, 0, MSNN_ACT_GELU, 1, 0 },
    { "eng s0 conv1 66x256x64 +GELU", 66, 256, 64, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "eng s2 qkv 196x480x160", 196, 480, 160, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng s1 qkv 245x384x128", 245, 384, 128, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng s3 proj 98x320x320", 98, 320, 320, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng neck wino 64x256x256", 64, 256, 256, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng s2 proj 196x160x160", 196, 160, 160, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng s1 proj 245x128x128", 245, 128, 128, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng merge1 conv1 130x128x64 +GELU", 130, 128, 64, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "eng merge1 conv3 64x128x128", 64, 128, 128, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng neck0 4096x256x320", 4096, 256, 320, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng dec up0 128x256x256", 128, 256, 256, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng dec t2i scores 128x64x256", 128, 64, 256, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "eng dec up3 256x128x64 +GELU", 256, 128, 64, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "eng dec i2t out 128x256x56 +res", 128, 256, 56, 0, 0, MSNN_ACT_NONE, 1, 0 },
    { "eng dec t2i E^T V 56x256x128", 56, 256, 128, 1, 0, MSNN_ACT_NONE, 0, 1 },
    /* whole layers as single calls (not what the engine runs) */
    /* the engine is channels last: every conv is tokens x (Cin -> Cout) */
    { "patch_embed 1x1 3->32 +GELU T=65536", 65536, 32, 3, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "patch_embed 1x1 32->64 T=65536", 65536, 64, 32, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s0 merge 1x1 64->128 +GELU T=65536", 65536, 128, 64, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "s0 mbconv 1x1 64->256 +GELU T=65536", 65536, 256, 64, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "s0 mbconv 1x1 64->256 (no act) T=65536", 65536, 256, 64, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s0 mbconv 1x1 256->64 +GELU T=65536", 65536, 64, 256, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "s0 mbconv 1x1 256->64 (no act) T=65536", 65536, 64, 256, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s0 band 1x1 64->256 +GELU T=4608", 4608, 256, 64, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "s0 band 1x1 256->64 +GELU T=4096", 4096, 64, 256, 0, 0, MSNN_ACT_GELU, 0, 0 },
    /* one row of a 40-column strip (until session 5): conv1 over 42 pixels, conv3 over 40 */
    { "s0 strip 1x1 64->256 +GELU T=42", 42, 256, 64, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "s0 strip 1x1 256->64 +GELU T=40", 40, 64, 256, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "s1 qkv  T=16384 128->384", 16384, 384, 128, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s1 proj T=16384 128->128", 16384, 128, 128, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s1 fc1  T=16384 128->512 +GELU", 16384, 512, 128, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "s1 fc2  T=16384 512->128", 16384, 128, 512, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s2 qkv  T=4096 160->480", 4096, 480, 160, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s2 fc1  T=4096 160->640 +GELU", 4096, 640, 160, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "s2 fc2  T=4096 640->160", 4096, 160, 640, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s3 qkv  T=4096 320->960", 4096, 960, 320, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s3 proj T=4096 320->320", 4096, 320, 320, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "s3 fc1  T=4096 320->1280 +GELU", 4096, 1280, 320, 0, 0, MSNN_ACT_GELU, 0, 0 },
    { "s3 fc2  T=4096 1280->320", 4096, 320, 1280, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "neck 1x1 320->256 T=4096", 4096, 256, 320, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "neck 3x3 256->256 im2col T=4096", 4096, 256, 2304, 0, 0, MSNN_ACT_NONE, 0, 0 },
    { "NCHW 1x1 64->256 (256 x 65536 x 64)", 256, 65536, 64, 1, 0, MSNN_ACT_NONE, 0, 0 },
    { "attn 7x7 QK^T (49x49x32)", 49, 49, 32, 0, 1, MSNN_ACT_NONE, 0, 0 },
    { "attn 7x7 AV (49x32x49)", 49, 32, 49, 1, 0, MSNN_ACT_NONE, 0, 0 },
    { "attn 14x14 QK^T (196x196x32)", 196, 196, 32, 0, 1, MSNN_ACT_NONE, 0, 0 },
    { "attn 14x14 AV (196x32x196)", 196, 32, 196, 1, 0, MSNN_ACT_NONE, 0, 0 },
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the process (all threads): excludes time spent waiting for a
 * core on a busy machine. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float *fill(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    return p;
}

/* Median seconds of reps runs of one shape (small shapes batched to ~1 ms);
 * *cpu: the median CPU seconds (all threads) of the same runs. */
static double time_shape(const shape *s, msnn_pool *pool, int reps, double *cpu)
{
    float *a = fill((size_t)s->M * s->K), *b = fill((size_t)s->K * s->N);
    float *c = fill((size_t)s->M * s->N), *bias = fill(s->M > s->N ? s->M : s->N);
    float *res = s->res ? fill((size_t)s->M * s->N) : NULL;
    msnn_epi e = { s->at ? NULL : bias, s->nchw, res, s->N, s->act };
    msnn_mat A = s->at ? (msnn_mat){ a, 1, s->M } : (msnn_mat){ a, s->K, 1 };
    msnn_mat B = s->bt ? (msnn_mat){ b, 1, s->K } : (msnn_mat){ b, s->N, 1 };
    msnn_mat W = { b, 1, s->K };    /* torch Linear weight [N][K] viewed as K x N */
    msnn_packed_b *bp = s->nchw || s->bt ? NULL : msnn_gemm_pack_b(s->K, s->N, W);
    double flops = 2.0 * s->M * s->N * s->K;
    int inner = flops < 2e7 ? (int)(2e7 / flops) + 1 : 1;
    double *t = malloc(reps * sizeof *t), *tc = malloc(reps * sizeof *tc);
    for (int r = -1; r < reps; r++) {       /* r = -1: warm-up */
        double t0 = now(), c0 = cpu_now();
        for (int i = 0; i < inner; i++) {
            if (bp)
                msnn_gemm_packed(s->M, bp, A, c, s->N, &e, pool);
            else
                msnn_gemm(s->M, s->N, s->K, A, B, c, s->N, &e, pool);
        }
        if (r >= 0) {
            t[r] = (now() - t0) / inner;
            tc[r] = (cpu_now() - c0) / inner;
        }
    }
    qsort(t, reps, sizeof *t, cmp_d);
    qsort(tc, reps, sizeof *tc, cmp_d);
    double med = t[reps / 2];
    *cpu = tc[reps / 2];
    free(t), free(tc);
    msnn_gemm_packed_free(&bp);
    free(a), free(b), free(c), free(bias), free(res);
    return med;
}

int main(int argc, char **argv)
{
    int reps = 5;
    const char *threads = "1,2", *paths = NULL, *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            threads = argv[++i];
        else if (!strcmp(argv[i], "-p") && i + 1 < argc)
            paths = argv[++i];
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            filter = argv[++i];
        else {
            fprintf(stderr, "usage: bench_gemm [-r REPS] [-t 1,2] [-p ref,avx2] [-s FILTER]\n");
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    int lv[4], nlv = 0;
    if (paths) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", paths);
        for (char *tok = strtok(buf, ","); tok && nlv < 4; tok = strtok(NULL, ",")) {
            int l = msnn_cpu_parse_level(tok);
            if (l >= 0 && (l == MSNN_CPU_REF || msnn__gemm_kernel_get(l)))
                lv[nlv++] = l;
            else
                fprintf(stderr, "bench_gemm: path %s not available here, skipped\n", tok);
        }
    } else {
        lv[nlv++] = MSNN_CPU_REF;
        for (int l = MSNN_CPU_NEON; l <= MSNN_CPU_AVX512; l++)
            if (msnn__gemm_kernel_get(l))
                lv[nlv++] = l;
    }
    printf("%-40s %-6s %3s %10s %9s %10s %12s\n", "shape (M x N x K)", "path", "thr", "ms",
           "GFLOP/s", "cpu ms", "GFLOP/s/thr");
    char tb[64];
    snprintf(tb, sizeof tb, "%s", threads);
    int nth[8], nnth = 0;
    for (char *tok = strtok(tb, ","); tok && nnth < 8; tok = strtok(NULL, ","))
        nth[nnth++] = atoi(tok);
    for (int ti = 0; ti < nnth; ti++) {
        msnn_pool *pool = nth[ti] > 1 ? msnn_pool_new(nth[ti]) : NULL;
        for (int li = 0; li < nlv; li++) {
            msnn_cpu_set_level(lv[li]);
            double tot_t = 0, tot_f = 0, tot_c = 0;
            for (int si = 0; si < NSHAPES; si++) {
                const shape *s = &shapes[si];
                if (filter && !strstr(s->name, filter))
                    continue;
                double cpu;
                double sec = time_shape(s, pool, lv[li] == MSNN_CPU_REF ? 1 : reps, &cpu);
                double fl = 2.0 * s->M * s->N * s->K;
                tot_t += sec, tot_f += fl, tot_c += cpu;
                printf("%-40s %-6s %3d %10.3f %9.1f %10.3f %12.1f\n", s->name,
                       msnn_cpu_level_name(lv[li]), nth[ti], sec * 1e3, fl / sec * 1e-9,
                       cpu * 1e3, fl / cpu * 1e-9);
                fflush(stdout);
            }
            printf("%-40s %-6s %3d %10.3f %9.1f %10.3f %12.1f\n", "(all shapes, one each)",
                   msnn_cpu_level_name(lv[li]), nth[ti], tot_t * 1e3, tot_f / tot_t * 1e-9,
                   tot_c * 1e3, tot_f / tot_c * 1e-9);
        }
        msnn_pool_free(&pool);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.1f MB\n", ru.ru_maxrss / 1024.0);
    return 0;
}
