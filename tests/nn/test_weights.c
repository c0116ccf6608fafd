/* Load-time helpers:
 *  - the loader's GEMM-weight transposition (src/nn/weights.c): the tiled
 *    (SSE2 on x86-64) msnn__transpose against the plain loop, bit for bit, on
 *    ragged shapes (K or N not a multiple of the 4x4 blocks or 16-row bands),
 *    with and without a row scale, including the model's own shapes;
 *  - the dense positional encoding (src/nn/prompt.c), computed for half the
 *    pixels and mirrored, against the formula at every pixel: within 1 ulp
 *    of sin/cos in double precision, the mirrored half exactly;
 *  - msnn_gemm_pack_b_into (the loader packs every weight into one chunk):
 *    the same products as msnn_gemm_pack_b, refused when the room is short. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_test.h"
#include "net.h"

static uint32_t rng = 12345;

static float rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((int32_t)rng >> 8) * (1.0f / 4096.0f);
}

static void check(int N, int K, int scaled)
{
    size_t n = (size_t)N * K;
    float *W = malloc(n * sizeof *W), *s = malloc((size_t)N * sizeof *s);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    CHECK(W && s && a && b);
    if (!W || !s || !a || !b)
        goto out;
    for (size_t i = 0; i < n; i++)
        W[i] = rnd();
    for (int o = 0; o < N; o++)
        s[o] = rnd() * 0.37f;
    memset(a, 0xa5, n * sizeof *a);
    memset(b, 0x5a, n * sizeof *b);
    msnn__transpose_ref(W, N, K, scaled ? s : NULL, a);
    msnn__transpose(W, N, K, scaled ? s : NULL, b);
    int same = memcmp(a, b, n * sizeof *a) == 0;
    if (!same)
        fprintf(stderr, "transpose N=%d K=%d scaled=%d differs\n", N, K, scaled);
    CHECK(same);
    /* and it is the transpose */
    int ok = 1;
    for (int o = 0; o < N && ok; o++)
        for (int i = 0; i < K && ok; i++)
            ok = a[(size_t)i * N + o] == (scaled ? W[(size_t)o * K + i] * s[o]
                                                 : W[(size_t)o * K + i]);
    CHECK(ok);
out:
    free(W), free(s), free(a), free(b);
}

/* pe[y*64+x][j] = sin(f), [128+j] = cos(f), f = 2pi*((2u-1) G0j + (2v-1) G1j)
 * with f rounded as float32 upstream; sin and cos within 1 ulp of the exact
 * value (the double-precision one); the mirrored half bit-exact. */
static int within_ulp(float got, double want)
{
    float lo = nextafterf((float)want, -INFINITY), hi = nextafterf((float)want, INFINITY);
    return got >= lo && got <= hi && fabs((double)got - want) <= fabs((double)hi - (double)lo);
}

static void check_dense_pe(float gscale)
{
    float G[2 * 128];
    for (int i = 0; i < 256; i++)
        G[i] = rnd() * gscale;
    G[5] = 3e7f;                /* beyond the fast reduction: sinf / cosf */
    msnn__prompt p;
    memset(&p, 0, sizeof p);
    p.gauss = G;
    size_t n = (size_t)MSNN_EMB * MSNN_EMB * MSNN_EMB_C;
    float *pe = malloc(n * sizeof *pe);
    CHECK(pe != NULL);
    if (!pe)
        return;
    msnn__prompt_dense_pe(&p, pe);
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    size_t bad = 0, mirror = 0;
    for (int y = 0; y < MSNN_EMB; y++)
        for (int x = 0; x < MSNN_EMB; x++) {
            float cu = 2.0f * (((float)x + 0.5f) / (float)MSNN_EMB) - 1.0f;
            float cv = 2.0f * (((float)y + 0.5f) / (float)MSNN_EMB) - 1.0f;
            const float *row = pe + ((size_t)y * MSNN_EMB + x) * MSNN_EMB_C;
            const float *opp = pe + ((size_t)(MSNN_EMB - 1 - y) * MSNN_EMB + (MSNN_EMB - 1 - x)) *
                                        MSNN_EMB_C;
            for (int j = 0; j < 128; j++) {
                float f = cu * G[j] + cv * G[128 + j];
                f = two_pi * f;
                if (j == 5)
                    bad += row[j] != sinf(f) || row[128 + j] != cosf(f);
                else
                    bad += !within_ulp(row[j], sin((double)f)) ||
                           !within_ulp(row[128 + j], cos((double)f));
                mirror += row[j] != -opp[j] || row[128 + j] != opp[128 + j];
            }
        }
    CHECKF(bad == 0, "dense PE: %zu of %zu pixel-frequencies off by more than 1 ulp", bad, n / 2);
    CHECKF(mirror == 0, "dense PE: %zu values not mirrored exactly", mirror);
    free(pe);
}

static void check_pack_into(int M, int K, int N)
{
    size_t pf = msnn_gemm_packed_floats(K, N);
    float *A = malloc((size_t)M * K * sizeof *A), *Bm = malloc((size_t)K * N * sizeof *Bm);
    float *c1 = malloc((size_t)M * N * sizeof *c1), *c2 = malloc((size_t)M * N * sizeof *c2);
    float *mem = aligned_alloc(64, (pf + 16) * sizeof *mem);
    CHECK(A && Bm && c1 && c2 && mem && pf % 16 == 0 && pf >= (size_t)K * N);
    if (!A || !Bm || !c1 || !c2 || !mem)
        goto out;
    for (size_t i = 0; i < (size_t)M * K; i++)
        A[i] = rnd();
    for (size_t i = 0; i < (size_t)K * N; i++)
        Bm[i] = rnd();
    msnn_mat a = { A, K, 1 }, b = { Bm, N, 1 };
    CHECK(msnn_gemm_pack_b_into(K, N, b, mem, pf - 1) == NULL);
    msnn_packed_b *p1 = msnn_gemm_pack_b(K, N, b), *p2 = msnn_gemm_pack_b_into(K, N, b, mem, pf);
    CHECK(p1 && p2);
    if (p1 && p2) {
        msnn_gemm_packed(M, p1, a, c1, N, NULL, NULL);
        msnn_gemm_packed(M, p2, a, c2, N, NULL, NULL);
        CHECK(memcmp(c1, c2, (size_t)M * N * sizeof *c1) == 0);
    }
    msnn_gemm_packed_free(&p1);
    msnn_gemm_packed_free(&p2);     /* frees the handle only: mem is ours */
    CHECK(p2 == NULL);
out:
    free(A), free(Bm), free(c1), free(c2), free(mem);
}

int main(void)
{
    check_pack_into(37, 64, 50);
    check_pack_into(5, 3, 32);
    check_dense_pe(1.0f);
    check_dense_pe(9.0f);
    static const int shapes[][2] = {
        { 1, 1 }, { 3, 5 }, { 4, 4 }, { 5, 7 }, { 16, 16 }, { 17, 33 }, { 31, 18 },
        { 32, 3 }, { 64, 32 }, { 4, 256 }, { 32, 256 }, { 480, 160 }, { 256, 2048 },
        { 2048, 256 }, { 320, 1280 }, { 250, 130 },
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int scaled = 0; scaled < 2; scaled++)
            check(shapes[k][0], shapes[k][1], scaled);
    TEST_END();
}
