/* 3x3 convolution by Winograd F(4x4, 3x3): see winograd.h.
 *
 * Transforms (points 0, 1, -1, 2, -2, infinity):
 *   B^T = [4  0 -5  0  1  0]   G = [ 1/4     0     0 ]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1  1  0]       [-1/6 -1/6  -1/6 ]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1  1  0]       [-1/6  1/6  -1/6 ]         [0 1  1 4  4 0]
 *         [0 -2 -1  2  1  0]       [1/24  1/12  1/6 ]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2  1  0]       [1/24 -1/12  1/6 ]
 *         [0  4  0 -5  0  1]       [  0     0     1 ]
 * The input and output transforms run over whole channel vectors (the inner
 * loops are over contiguous channels, which the compiler vectorises); the
 * channel sums are the 36 GEMMs on the packed U_xi.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "winograd.h"

#define XI MSNN_WINO_XI

static const float G6[6][3] = {
    { 1.0f / 4, 0, 0 },
    { -1.0f / 6, -1.0f / 6, -1.0f / 6 },
    { -1.0f / 6, 1.0f / 6, -1.0f / 6 },
    { 1.0f / 24, 1.0f / 12, 1.0f / 6 },
    { 1.0f / 24, -1.0f / 12, 1.0f / 6 },
    { 0, 0, 1 },
};

#define BLOCK_ALIGN ((size_t)2 << 20)   /* a huge page */

void msnn__wino_free(msnn__wino *w)
{
    for (int i = 0; i < XI; i++)
        msnn_gemm_packed_free(&w->u[i]);
    free(w->mem);
    w->mem = NULL;
}

int msnn__wino_init(msnn__wino *w, const float *g, int cin, int cout, float *tmp,
                    size_t tmp_cap)
{
    memset(w, 0, sizeof *w);
    w->cin = cin;
    w->cout = cout;
    /* U_xi = (G g G^T)[xi] (in float: its rounding is far below that of the
     * data transforms, test_winograd), one row a of the 6x6 at a time: gt =
     * g as [cout][tap][cin] (input channels contiguous), t = the half
     * transform [cout][kx][cin] for that a, u = one U_xi stored as
     * [cout][cin] and packed through a transposed view. */
    size_t per = msnn_gemm_packed_floats(cin, cout);   /* a multiple of 16 */
    if (per == 0 || per > (SIZE_MAX - BLOCK_ALIGN) / sizeof(float) / XI)
        return -1;
    size_t bytes = (per * XI * sizeof(float) + BLOCK_ALIGN - 1) & ~(BLOCK_ALIGN - 1);
    size_t nt = (size_t)cout * 12 * cin, nu = (size_t)cin * cout;
    float *own = NULL, *t, *u;
    if (tmp && tmp_cap >= nt + nu) {
        t = tmp;
    } else if (!(t = own = malloc((nt + nu) * sizeof *t))) {
        return -1;
    }
    u = t + nt;
    float *gt = t + (size_t)cout * 3 * cin;    /* g as [cout][9][cin] */
    for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++)
            for (int tap = 0; tap < 9; tap++)
                gt[((size_t)co * 9 + tap) * cin + ci] = g[((size_t)co * cin + ci) * 9 + tap];
    w->mem = aligned_alloc(BLOCK_ALIGN, bytes);
    if (!w->mem)
        goto fail;
#ifdef MADV_HUGEPAGE
    madvise(w->mem, bytes, MADV_HUGEPAGE);   /* a few first-touch faults, not ~2300 (advice) */
#endif
    for (int a = 0; a < 6; a++) {
        for (int co = 0; co < cout; co++) {       /* t[kx] = sum_ky G[a][ky] g[ky][kx] */
            for (int kx = 0; kx < 3; kx++) {
                float *ta = t + ((size_t)co * 3 + kx) * cin;
                const float *k0 = gt + ((size_t)co * 9 + kx) * cin, *k1 = k0 + 3 * (size_t)cin,
                            *k2 = k1 + 3 * (size_t)cin;
                for (int ci = 0; ci < cin; ci++)
                    ta[ci] = G6[a][0] * k0[ci] + G6[a][1] * k1[ci] + G6[a][2] * k2[ci];
            }
        }
        for (int b = 0; b < 6; b++) {             /* U[a*6 + b] = sum_kx t[kx] G[b][kx] */
            for (int co = 0; co < cout; co++) {
                const float *t0 = t + (size_t)co * 3 * cin, *t1 = t0 + cin, *t2 = t1 + cin;
                float *ub = u + (size_t)co * cin;
                for (int ci = 0; ci < cin; ci++)
                    ub[ci] = t0[ci] * G6[b][0] + t1[ci] * G6[b][1] + t2[ci] * G6[b][2];
            }
            msnn_mat B = { u, 1, cin };            /* (ci, co) at u[co*cin + ci] */
            if (!(w->u[a * 6 + b] = msnn_gemm_pack_b_into(
                      cin, cout, B, w->mem + (size_t)(a * 6 + b) * per, per)))
                goto fail;
        }
    }
    free(own);
    return 0;
fail:
    free(own);
    msnn__wino_free(w);
    return -1;
}

static size_t chmax(const msnn__wino *w)
{
    return (size_t)(w->cin > w->cout ? w->cin : w->cout);
}

size_t msnn__wino_scratch(const msnn__wino *w, int tiles)
{
    /* V: XI x tiles x cin, M: XI x tiles x cout, a tile's 6x6 row-transformed
     * channels (XI x max), a zero channel vector (cin) */
    return (size_t)XI * tiles * (w->cin + w->cout) + (size_t)XI * chmax(w) + (size_t)w->cin;
}

/* o[k*os] for k < 6 = B^T (d0..d5), over n channels. */
static void bt6(const float *const d[6], float *o, ptrdiff_t os, int n)
{
    for (int c = 0; c < n; c++) {
        float d0 = d[0][c], d1 = d[1][c], d2 = d[2][c], d3 = d[3][c], d4 = d[4][c],
              d5 = d[5][c];
        o[c] = 4.0f * d0 - 5.0f * d2 + d4;
        o[os + c] = (d3 + d4) - 4.0f * (d1 + d2);
        o[2 * os + c] = (d4 - d3) + 4.0f * (d1 - d2);
        o[3 * os + c] = (d4 - d2) + 2.0f * (d3 - d1);
        o[4 * os + c] = (d4 - d2) - 2.0f * (d3 - d1);
        o[5 * os + c] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

/* o[k*os] for k < 4 = A^T (m0..m5), over n channels. */
static void at6(const float *const m[6], float *const o[4], int n)
{
    for (int c = 0; c < n; c++) {
        float m0 = m[0][c], s12 = m[1][c] + m[2][c], d12 = m[1][c] - m[2][c];
        float s34 = m[3][c] + m[4][c], d34 = m[3][c] - m[4][c];
        o[0][c] = m0 + s12 + s34;
        o[1][c] = d12 + 2.0f * d34;
        o[2][c] = s12 + 4.0f * s34;
        o[3][c] = d12 + 8.0f * d34 + m[5][c];
    }
}

void msnn__wino_conv(const msnn__wino *w, const float *x, ptrdiff_t ldx, int H, int W,
                     int ty0, int ty1, float *y, ptrdiff_t ldy, float *scratch, int band)
{
    const int cin = w->cin, cout = w->cout, TW = (W + 3) / 4;
    float *V = scratch, *M = V + (size_t)XI * band * cin;
    float *tt = M + (size_t)XI * band * cout, *zero = tt + (size_t)XI * chmax(w);
    memset(zero, 0, (size_t)cin * sizeof *zero);
    for (int t0 = ty0 * TW; t0 < ty1 * TW; t0 += band) {
        int n = ty1 * TW - t0 < band ? ty1 * TW - t0 : band;
        /* V[xi][i][ci] = (B^T d B)[xi] of tile t0 + i */
        for (int i = 0; i < n; i++) {
            int py = (t0 + i) / TW * 4 - 1, px = (t0 + i) % TW * 4 - 1;
            for (int r = 0; r < 6; r++) {          /* rows: tt[r][b] = d[r] B */
                const float *d[6];
                for (int j = 0; j < 6; j++) {
                    int sy = py + r, sx = px + j;
                    d[j] = sy < 0 || sy >= H || sx < 0 || sx >= W
                               ? zero : x + ((ptrdiff_t)sy * W + sx) * ldx;
                }
                bt6(d, tt + (size_t)r * 6 * cin, cin, cin);
            }
            for (int b = 0; b < 6; b++) {          /* columns: V[a][b] = B^T tt[.][b] */
                const float *d[6];
                for (int r = 0; r < 6; r++)
                    d[r] = tt + ((size_t)r * 6 + b) * cin;
                bt6(d, V + ((size_t)b * band + i) * cin, (ptrdiff_t)6 * band * cin, cin);
            }
        }
        for (int xi = 0; xi < XI; xi++) {
            msnn_mat A = { V + (size_t)xi * band * cin, cin, 1 };
            msnn_gemm_packed(n, w->u[xi], A, M + (size_t)xi * band * cout, cout, NULL, NULL);
        }
        /* Y = A^T M A, written where the tile lies inside the image */
        for (int i = 0; i < n; i++) {
            int py = (t0 + i) / TW * 4, px = (t0 + i) % TW * 4;
            for (int a = 0; a < 6; a++) {          /* tt[a][q] = M[a][.] A */
                const float *m[6];
                float *o[4];
                for (int b = 0; b < 6; b++)
                    m[b] = M + ((size_t)(a * 6 + b) * band + i) * cout;
                for (int q = 0; q < 4; q++)
                    o[q] = tt + ((size_t)a * 4 + q) * cout;
                at6(m, o, cout);
            }
            for (int q = 0; q < 4; q++) {          /* Y[p][q] = A^T tt[.][q] */
                const float *m[6];
                float *o[4], *spill = tt + (size_t)24 * cout;
                for (int a = 0; a < 6; a++)
                    m[a] = tt + ((size_t)a * 4 + q) * cout;
                for (int p = 0; p < 4; p++)
                    o[p] = py + p < H && px + q < W
                               ? y + ((ptrdiff_t)(py + p) * W + px + q) * ldy
                               : spill + (size_t)p * cout;
                at6(m, o, cout);
            }
        }
    }
}
