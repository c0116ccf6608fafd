/* The Winograd F(4x4, 3x3) convolution (src/nn/winograd.h) against a direct
 * 3x3 convolution in double, on every dispatch level this CPU runs, for
 * image sizes that are and are not multiples of the tile, and the
 * guarantee the encoder's threading relies on: the same output bits for
 * any split of the tile rows and any band size.
 *
 * Error bound: per output, |wino - exact| <= TOL * sum |g x| over its 9 x cin
 * terms (the scale of the rounding of any summation order); measured
 * alongside the error of a plain float sum for comparison.
 *
 * Usage: test_winograd
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "ms_test.h"
#include "winograd.h"

#define TOL 1e-5

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

/* The worst ratio |y - exact| / sum|terms| over the image. */
static double worst_ratio(const float *x, const float *g, const float *y, int H, int W,
                          int cin, int cout, double *worst_float)
{
    double worst = 0;
    *worst_float = 0;
    for (int py = 0; py < H; py++)
        for (int px = 0; px < W; px++)
            for (int co = 0; co < cout; co++) {
                double s = 0, a = 0;
                float sf = 0;
                for (int tap = 0; tap < 9; tap++) {
                    int sy = py + tap / 3 - 1, sx = px + tap % 3 - 1;
                    if (sy < 0 || sy >= H || sx < 0 || sx >= W)
                        continue;
                    const float *xv = x + ((size_t)sy * W + sx) * cin;
                    const float *gv = g + (size_t)co * cin * 9 + tap;
                    for (int ci = 0; ci < cin; ci++) {
                        s += (double)gv[ci * 9] * xv[ci];
                        a += fabs((double)gv[ci * 9] * xv[ci]);
                        sf += gv[ci * 9] * xv[ci];
                    }
                }
                double v = y[((size_t)py * W + px) * cout + co];
                double r = a > 0 ? fabs(v - s) / a : fabs(v - s);
                if (!(r <= worst))   /* NaN counts as the worst */
                    worst = r;
                double rf = a > 0 ? fabs(sf - s) / a : 0;
                if (rf > *worst_float)
                    *worst_float = rf;
            }
    return worst;
}

static void one(int H, int W, int cin, int cout)
{
    size_t nx = (size_t)H * W * cin, ny = (size_t)H * W * cout;
    float *x = malloc(nx * sizeof *x), *g = malloc((size_t)cout * 9 * cin * sizeof *g);
    float *y = malloc(ny * sizeof *y), *y2 = malloc(ny * sizeof *y2);
    CHECK(x && g && y && y2);
    if (!x || !g || !y || !y2)
        goto done;
    for (size_t i = 0; i < nx; i++)
        x[i] = frand();
    for (size_t i = 0; i < (size_t)cout * 9 * cin; i++)
        g[i] = frand() / sqrtf(9.0f * (float)cin);
    int TH = (H + 3) / 4, TW = (W + 3) / 4;
    for (int lv = 0; lv <= msnn_cpu_max_level(); lv++) {
        if (msnn_cpu_set_level(lv) != lv)
            continue;
        msnn__wino w;
        CHECK(msnn__wino_init(&w, g, cin, cout, NULL, 0) == 0);
        int band = 48;
        float *s = malloc(msnn__wino_scratch(&w, band) * sizeof *s);
        CHECK(s != NULL);
        if (!s) {
            msnn__wino_free(&w);
            continue;
        }
        for (size_t i = 0; i < ny; i++)
            y[i] = NAN;
        msnn__wino_conv(&w, x, cin, H, W, 0, TH, y, cout, s, band);
        double wf, wr = worst_ratio(x, g, y, H, W, cin, cout, &wf);
        CHECKF(wr <= TOL, "%s %dx%d %d->%d: error %.3g of sum|terms| > %.1g (float sum: %.3g)",
               msnn_cpu_level_name(lv), H, W, cin, cout, wr, TOL, wf);
        printf("%-6s %3dx%-3d %3d->%-3d  error / sum|terms|: winograd %.3g, float sum %.3g\n",
               msnn_cpu_level_name(lv), H, W, cin, cout, wr, wf);
        /* split tile rows in two calls, smaller bands: the same bits */
        int mid = TH / 2, small = TW > 1 ? TW - 1 : 1;
        for (size_t i = 0; i < ny; i++)
            y2[i] = NAN;
        msnn__wino_conv(&w, x, cin, H, W, 0, mid, y2, cout, s, small);
        msnn__wino_conv(&w, x, cin, H, W, mid, TH, y2, cout, s, band);
        CHECKF(memcmp(y, y2, ny * sizeof *y) == 0, "%s %dx%d: split result differs",
               msnn_cpu_level_name(lv), H, W);
        /* weights made in caller scratch: the same bits */
        msnn__wino w2;
        size_t ntmp = (size_t)13 * cin * cout;
        float *tmp = malloc(ntmp * sizeof *tmp);
        CHECK(tmp && msnn__wino_init(&w2, g, cin, cout, tmp, ntmp) == 0);
        if (tmp) {
            msnn__wino_conv(&w2, x, cin, H, W, 0, TH, y2, cout, s, band);
            CHECKF(memcmp(y, y2, ny * sizeof *y) == 0, "%s %dx%d: weights from scratch differ",
                   msnn_cpu_level_name(lv), H, W);
            msnn__wino_free(&w2);
        }
        free(tmp);
        free(s);
        msnn__wino_free(&w);
    }
    msnn_cpu_set_level(msnn_cpu_max_level());
done:
    free(x);
    free(g);
    free(y);
    free(y2);
}

int main(void)
{
    one(1, 1, 3, 5);
    one(4, 4, 16, 16);
    one(13, 7, 5, 9);
    one(6, 11, 17, 33);
    one(64, 64, 24, 40);
    one(16, 16, 256, 256);   /* the neck's channels */
    TEST_END();
}
