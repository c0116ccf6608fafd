/* The reference kernel table (kernels_ref.c) against direct double-precision
 * formulas on small random inputs: depthwise conv (stride 1 and 2, all
 * borders), LayerNorm, softmax, GELU/ReLU, window attention with bias, the
 * transposed-conv scatter and PyTorch-style bilinear resizing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "kernels.h"
#include "ms_test.h"

static unsigned rng = 12345;

static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = frand();
}

static void test_dwconv(const msnn_kernels *k, int stride)
{
    enum { H = 9, W = 7, C = 5 };
    float x[H * W * C], w[9 * C], b[C], y[H * W * C];
    fill(x, sizeof x / 4);
    fill(w, sizeof w / 4);
    fill(b, C);
    int Ho = (H - 1) / stride + 1, Wo = (W - 1) / stride + 1;
    /* rows [2, Ho) from an input band holding rows [1, H) */
    int oy0 = 2, r0 = oy0 * stride - 1;
    k->dwconv3x3(x + r0 * W * C, r0, H - r0, H, W, C, stride, w, b, MSNN_ACT_NONE, y, oy0, Ho);
    double worst = 0;
    for (int oy = oy0; oy < Ho; oy++)
        for (int ox = 0; ox < Wo; ox++)
            for (int c = 0; c < C; c++) {
                double acc = b[c];
                for (int t = 0; t < 9; t++) {
                    int iy = oy * stride - 1 + t / 3, ix = ox * stride - 1 + t % 3;
                    if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                        acc += (double)x[(iy * W + ix) * C + c] * w[t * C + c];
                }
                worst = fmax(worst, fabs(acc - y[((oy - oy0) * Wo + ox) * C + c]));
            }
    CHECKF(worst < 1e-5, "dwconv stride %d: %g", stride, worst);
}

static void test_norm_softmax_act(const msnn_kernels *k)
{
    enum { R = 3, C = 37 };
    float x[R * C], y[R * C], g[C], b[C];
    fill(x, R * C);
    fill(g, C);
    fill(b, C);
    k->layernorm(x, C, y, C, R, C, g, b, 1e-5f);
    double worst = 0;
    for (int r = 0; r < R; r++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++)
            m += x[r * C + c];
        m /= C;
        for (int c = 0; c < C; c++)
            v += (x[r * C + c] - m) * (x[r * C + c] - m);
        v /= C;
        for (int c = 0; c < C; c++)
            worst = fmax(worst, fabs((x[r * C + c] - m) / sqrt(v + 1e-5) * g[c] + b[c] - y[r * C + c]));
    }
    CHECKF(worst < 1e-5, "layernorm: %g", worst);
    memcpy(y, x, sizeof x);
    k->softmax(y, R, C, C);
    worst = 0;
    for (int r = 0; r < R; r++) {
        double s = 0;
        for (int c = 0; c < C; c++)
            s += exp(x[r * C + c]);
        for (int c = 0; c < C; c++)
            worst = fmax(worst, fabs(exp(x[r * C + c]) / s - y[r * C + c]));
    }
    CHECKF(worst < 1e-6, "softmax: %g", worst);
    memcpy(y, x, sizeof x);
    k->gelu(y, R * C);
    worst = 0;
    for (int i = 0; i < R * C; i++)
        worst = fmax(worst, fabs(0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0))) - y[i]));
    CHECKF(worst < 1e-6, "gelu: %g", worst);
    memcpy(y, x, sizeof x);
    k->relu(y, R * C);
    for (int i = 0; i < R * C; i++)
        CHECK(y[i] == (x[i] > 0 ? x[i] : 0));
}

static void test_window_attn(const msnn_kernels *k)
{
    enum { N = 9, H = 2, KD = 4, LD = 3 * H * KD + 1 };
    float qkv[N * LD], bias[H * N * N], out[N * H * KD], s[N * N];
    fill(qkv, sizeof qkv / 4);
    fill(bias, sizeof bias / 4);
    k->window_attn(qkv, LD, N, H, KD, KD, bias, out, H * KD, s);
    double worst = 0;
    for (int h = 0; h < H; h++)
        for (int i = 0; i < N; i++) {
            double p[N], sum = 0;
            for (int j = 0; j < N; j++) {
                double d = bias[(h * N + i) * N + j];
                for (int c = 0; c < KD; c++)
                    d += (double)qkv[i * LD + h * 3 * KD + c] * qkv[j * LD + h * 3 * KD + KD + c];
                p[j] = exp(d);
                sum += p[j];
            }
            for (int c = 0; c < KD; c++) {
                double o = 0;
                for (int j = 0; j < N; j++)
                    o += p[j] / sum * qkv[j * LD + h * 3 * KD + 2 * KD + c];
                worst = fmax(worst, fabs(o - out[i * H * KD + h * KD + c]));
            }
        }
    CHECKF(worst < 1e-5, "window_attn: %g", worst);
}

static void test_scatter_bilinear(const msnn_kernels *k)
{
    enum { W = 3, HH = 2, C = 2 };
    float t[HH * W * 4 * C], y[4 * HH * W * C];
    for (int i = 0; i < HH * W * 4 * C; i++)
        t[i] = (float)i;
    k->convt2x2_scatter(t, W, C, y, 0, HH * W);
    for (int p = 0; p < HH * W; p++)
        for (int q = 0; q < 4; q++)
            for (int c = 0; c < C; c++) {
                int oy = 2 * (p / W) + q / 2, ox = 2 * (p % W) + q % 2;
                CHECK(y[(oy * 2 * W + ox) * C + c] == t[p * 4 * C + q * C + c]);
            }
    /* F.interpolate([[0, 1]], size=(1, 4), bilinear, align_corners=False)
     * = [0, 0.25, 0.75, 1]; shrinking 4 -> 2 samples at 0.5 and 2.5 */
    float src[4] = { 0, 1, 0, 0 }, dst[4];
    k->bilinear(src, 1, 2, 2, dst, 1, 4, 4, 0, 1);
    CHECK(dst[0] == 0.0f && dst[1] == 0.25f && dst[2] == 0.75f && dst[3] == 1.0f);
    float s4[4] = { 0, 1, 2, 4 }, d2[2];
    k->bilinear(s4, 1, 4, 4, d2, 1, 2, 2, 0, 1);
    CHECK(d2[0] == 0.5f && d2[1] == 3.0f);
}

int main(void)
{
    msnn_kernels k;
    msnn_kernels_ref(&k);
    test_dwconv(&k, 1);
    test_dwconv(&k, 2);
    test_norm_softmax_act(&k);
    test_window_attn(&k);
    test_scatter_bilinear(&k);
    /* the active table computes the same functions */
    const msnn_kernels *a = msnn_kernels_get();
    test_dwconv(a, 2);
    test_norm_softmax_act(a);
    test_window_attn(a);
    test_scatter_bilinear(a);
    TEST_END();
}
