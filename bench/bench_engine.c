/* LiteMedSAM engine timings: checkpoint load, encoder, decoder per box, per
 * dispatch path and thread count, with GFLOP/s, % of the measured FMA peak
 * and peak RSS.
 *
 * Usage: bench_engine [-w CKPT.pth] [-d DIR] [-n RUNS] [-t 1,2] [-p ref,avx2] [-e]
 *   DIR holds input.npy (1,3,256,256) and boxes256.npy (B,4) (default: the
 *   test data of 2D_brainpd).  -e: decoder only, over DIR/embedding.npy
 *   (1,256,64,64) instead of an encoding (for profiling the decoder).  Times are medians of RUNS runs after one
 *   warm-up run; "load ms" is one msnn_model_load per path (the first path's
 *   is the cold one of the process; bench_pth --model takes medians over
 *   fresh processes).  The GEMM count comes from the engine's own GEMM calls; the
 *   peak is the micro-kernel's throughput on cached data (per thread).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cpu.h"
#include "gemm_kern.h"
#include "ms_array.h"
#include "ms_npy.h"
#include "msnn.h"
#include "pool.h"

#ifndef BENCH_DATA_DIR
#define BENCH_DATA_DIR "tests/data/model"
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process (all threads): on a busy machine the wall
 * time includes waiting for a core, this does not. */
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

static double median(double *t, int n)
{
    qsort(t, n, sizeof *t, cmp_d);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Single-thread GFLOP/s of a level's micro-kernel on L1-resident panels
 * (the practical FMA peak); 0 for ref. */
static double kernel_peak(int level)
{
    const msnn__gemm_kernel *k = msnn__gemm_kernel_get(level);
    if (!k)
        return 0;
    int kc = 128;
    float *a = calloc((size_t)kc * k->mr, sizeof *a), *b = calloc((size_t)kc * k->nr, sizeof *b);
    float *c = calloc((size_t)k->mr * k->nr, sizeof *c);
    double best = 0;
    for (int rep = 0; rep < 7; rep++) {
        int n = 4000;
        double t0 = now();
        for (int i = 0; i < n; i++)
            k->ukr(kc, a, b, c, k->nr, 1, NULL);
        double g = 2.0 * kc * k->mr * k->nr * n / (now() - t0) * 1e-9;
        if (g > best)
            best = g;
    }
    free(a), free(b), free(c);
    return best;
}

static int load_f32(const char *dir, const char *name, ms_array *a)
{
    char path[4096];
    ms_err err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (ms_npy_read(path, a, NULL, &err) < 0) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return -1;
    }
    if (a->dtype != MS_F32) {
        fprintf(stderr, "bench_engine: %s: expected float32\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *ckpt = BENCH_DATA_DIR "/random_seed7.pth";
    const char *dir = BENCH_DATA_DIR "/2D_brainpd";
    const char *threads = "1,2", *paths = NULL;
    int runs = 5, dec_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-w") && i + 1 < argc)
            ckpt = argv[++i];
        else if (!strcmp(argv[i], "-d") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            threads = argv[++i];
        else if (!strcmp(argv[i], "-p") && i + 1 < argc)
            paths = argv[++i];
        else if (!strcmp(argv[i], "-e"))
            dec_only = 1;
        else {
            fprintf(stderr, "usage: bench_engine [-w CKPT] [-d DIR] [-n RUNS] [-t 1,2] "
                            "[-p ref,avx2,...] [-e]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    ms_array in = { 0 }, boxes = { 0 }, embf = { 0 };
    if (load_f32(dir, "input.npy", &in) < 0 || load_f32(dir, "boxes256.npy", &boxes) < 0)
        return 1;
    if (dec_only && load_f32(dir, "embedding.npy", &embf) < 0)
        return 1;
    if (dec_only && ms_array_nelem(&embf) != (size_t)MSNN_EMB_C * MSNN_EMB * MSNN_EMB) {
        fprintf(stderr, "bench_engine: %s/embedding.npy: expected 256x64x64 floats\n", dir);
        return 1;
    }
    int nbox = boxes.ndim == 2 && boxes.shape[1] == 4 ? (int)boxes.shape[0] : 0;
    const float *bx = (const float *)boxes.data;

    int lv[4], nlv = 0;
    if (paths) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", paths);
        for (char *tok = strtok(buf, ","); tok && nlv < 4; tok = strtok(NULL, ",")) {
            int l = msnn_cpu_parse_level(tok);
            if (l >= 0 && (l == MSNN_CPU_REF || msnn__gemm_kernel_get(l)))
                lv[nlv++] = l;
            else
                fprintf(stderr, "bench_engine: path %s not available here, skipped\n", tok);
        }
    } else {
        for (int l = MSNN_CPU_AVX512; l >= MSNN_CPU_NEON; l--)
            if (msnn__gemm_kernel_get(l)) {
                lv[nlv++] = l;
                break;
            }
        if (!nlv)
            lv[nlv++] = MSNN_CPU_REF;
    }
    int nth[8], nnth = 0;
    char tb[64];
    snprintf(tb, sizeof tb, "%s", threads);
    for (char *tok = strtok(tb, ","); tok && nnth < 8; tok = strtok(NULL, ","))
        nth[nnth++] = atoi(tok) > 0 ? atoi(tok) : 1;

    float *emb = malloc((size_t)MSNN_EMB_C * MSNN_EMB * MSNN_EMB * sizeof *emb);
    float *logits = malloc(256 * 256 * sizeof *logits);
    size_t emb_n = (size_t)MSNN_EMB_C * MSNN_EMB * MSNN_EMB;
    float *emb0 = malloc(emb_n * sizeof *emb0);     /* first thread count's result */
    double *t = malloc((size_t)runs * sizeof *t), *tc = malloc((size_t)runs * sizeof *tc);
    if (!emb || !logits || !emb0 || !t || !tc)
        return 1;
    printf("%-6s %3s %9s %11s %11s %9s %6s %11s %11s\n", "path", "thr", "load ms",
           "encoder ms", "enc cpu ms", "GFLOP/s", "%peak", "decoder ms", "dec cpu ms");
    for (int li = 0; li < nlv; li++) {
        msnn_cpu_set_level(lv[li]);
        double peak1 = kernel_peak(lv[li]);
        ms_err err;
        msnn_model *m = NULL;
        double t0 = now(), c0 = cpu_now();
        if (msnn_model_load(ckpt, &m, &err) < 0) {
            fprintf(stderr, "bench_engine: %s\n", err.msg);
            return 1;
        }
        double load_ms = (now() - t0) * 1e3, load_cpu_ms = (cpu_now() - c0) * 1e3;
        for (int ti = 0; ti < nnth; ti++) {
            msnn_pool *pool = nth[ti] > 1 ? msnn_pool_new(nth[ti]) : NULL;
            msnn_opts o = { pool, NULL, NULL, 0 };
            int eruns = lv[li] == MSNN_CPU_REF ? 1 : runs;
            unsigned long long macs = 0;
            if (dec_only) {
                memcpy(emb, embf.data, emb_n * sizeof *emb);
                eruns = 1;
                t[0] = tc[0] = 0;
            }
            for (int r = -1; r < eruns && !dec_only; r++) {
                unsigned long long m0 = msnn__gemm_macs();
                double s = now(), sc = cpu_now();
                if (msnn_encode(m, (const float *)in.data, emb, &o, &err) < 0) {
                    fprintf(stderr, "bench_engine: encode: %s\n", err.msg);
                    return 1;
                }
                if (r >= 0) {
                    t[r] = now() - s;
                    tc[r] = cpu_now() - sc;
                }
                macs = msnn__gemm_macs() - m0;
            }
            double enc = median(t, eruns), enc_cpu = median(tc, eruns);
            double dec = 0, dec_cpu = 0;
            unsigned long long dmacs = 0;
            if (nbox) {
                double *td = malloc((size_t)runs * nbox * sizeof *td);
                double *tdc = malloc((size_t)runs * nbox * sizeof *tdc);
                int nd = 0;
                /* as medsam-segment does: the embedding is named by an id,
                 * so the decoder does not compare it in full on every box */
                o.emb_id = (unsigned long long)ti + 1;
                for (int r = -1; r < runs; r++) {
                    for (int b = 0; b < nbox; b++) {
                        float iou;
                        unsigned long long m0 = msnn__gemm_macs();
                        double s = now(), sc = cpu_now();
                        if (msnn_decode(m, emb, bx + 4 * b, logits, &iou, &o, &err) < 0) {
                            fprintf(stderr, "bench_engine: decode: %s\n", err.msg);
                            return 1;
                        }
                        dmacs = msnn__gemm_macs() - m0;
                        if (r >= 0) {
                            tdc[nd] = cpu_now() - sc;
                            td[nd++] = now() - s;
                        }
                    }
                }
                dec = median(td, nd);
                dec_cpu = median(tdc, nd);
                free(td), free(tdc);
            }
            if (ti == 0)
                memcpy(emb0, emb, emb_n * sizeof *emb);
            else if (memcmp(emb0, emb, emb_n * sizeof *emb))
                printf("       (embedding with %d threads DIFFERS from %d threads)\n", nth[ti],
                       nth[0]);
            else
                printf("       (embedding with %d threads bitwise identical to %d threads)\n",
                       nth[ti], nth[0]);
            double gf = enc > 0 ? 2.0 * macs / enc * 1e-9 : 0;
            double pk = peak1 * nth[ti];
            printf("%-6s %3d %9.1f %11.1f %11.1f %9.1f %5.0f%% %11.2f %11.2f\n",
                   msnn_cpu_level_name(lv[li]), nth[ti], load_ms, enc * 1e3, enc_cpu * 1e3, gf,
                   pk > 0 ? 100 * gf / pk : 0, dec * 1e3, dec_cpu * 1e3);
            if (ti == 0 && li == 0)
                printf("       (GEMM work: encoder %.2f G, decoder %.3f G multiply-adds per box; "
                       "kernel peak %.1f GFLOP/s per thread)\n", macs * 1e-9, dmacs * 1e-9,
                       peak1);
            if (ti == 0 && li == 0 && peak1 > 0)   /* what the GEMMs alone need */
                printf("       (fp32 floor = that work at the kernel peak on 1 thread: encoder "
                       "%.0f ms, decoder %.1f ms per box; n threads at best / n)\n",
                       2.0 * macs / peak1 * 1e-6, 2.0 * dmacs / peak1 * 1e-6);
            fflush(stdout);
            msnn_pool_free(&pool);
        }
        printf("model bytes %.1f MB; load %.1f ms wall, %.1f ms CPU (%s load of this process; "
               "bench_pth --model: cold and warm over fresh processes)\n",
               msnn_model_bytes(m) / 1048576.0, load_ms, load_cpu_ms, li ? "a warm" : "the first");
        msnn_model_free(&m);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.1f MB\n", ru.ru_maxrss / 1024.0);
    free(emb), free(emb0), free(logits), free(t), free(tc);
    ms_array_free(&in);
    ms_array_free(&boxes);
    ms_array_free(&embf);
    return 0;
}
