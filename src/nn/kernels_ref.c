/* Reference C kernels (kernels.h): plain loops, channels innermost so the
 * compiler can vectorise them; the definition every SIMD variant must match. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "gemm.h"
#include "kernels.h"

static inline float act1(float v, int act)
{
    if (act == MSNN_ACT_GELU)
        return v * 0.5f * (1.0f + erff(v * 0.70710678118654752f));
    if (act == MSNN_ACT_RELU)
        return v > 0.0f ? v : 0.0f;
    return v;
}

/* One output pixel of the depthwise conv: acc[c] = b[c] + sum over taps. */
static void dw_pixel(const float *x, int x_row0, int H, int W, int C, int iy0, int ix0,
                     const float *w, const float *b, int act, float *out)
{
    memcpy(out, b, (size_t)C * sizeof(float));
    for (int ky = 0; ky < 3; ky++) {
        int iy = iy0 + ky;
        if (iy < 0 || iy >= H)
            continue;
        const float *row = x + (size_t)(iy - x_row0) * W * C;
        for (int kx = 0; kx < 3; kx++) {
            int ix = ix0 + kx;
            if (ix < 0 || ix >= W)
                continue;
            const float *px = row + (size_t)ix * C;
            const float *wt = w + (size_t)(ky * 3 + kx) * C;
            for (int c = 0; c < C; c++)
                out[c] += px[c] * wt[c];
        }
    }
    if (act != MSNN_ACT_NONE)
        for (int c = 0; c < C; c++)
            out[c] = act1(out[c], act);
}

static void dwconv3x3_ref(const float *x, int x_row0, int x_rows, int H, int W, int C,
                          int stride, const float *w, const float *b, int act,
                          float *y, int oy0, int oy1)
{
    (void)x_rows;
    int Wo = (W - 1) / stride + 1;
    for (int oy = oy0; oy < oy1; oy++) {
        float *yrow = y + (size_t)(oy - oy0) * Wo * C;
        for (int ox = 0; ox < Wo; ox++)
            dw_pixel(x, x_row0, H, W, C, oy * stride - 1, ox * stride - 1, w, b, act,
                     yrow + (size_t)ox * C);
    }
}

static void layernorm_ref(const float *x, ptrdiff_t ldx, float *y, ptrdiff_t ldy,
                          int rows, int C, const float *g, const float *b, float eps)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        float mean = 0.0f, var = 0.0f;
        for (int c = 0; c < C; c++)
            mean += xr[c];
        mean /= (float)C;
        for (int c = 0; c < C; c++) {
            float d = xr[c] - mean;
            var += d * d;
        }
        var /= (float)C;
        float inv = 1.0f / sqrtf(var + eps);
        for (int c = 0; c < C; c++)
            yr[c] = (xr[c] - mean) * inv * g[c] + b[c];
    }
}

static void gelu_ref(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] * 0.5f * (1.0f + erff(x[i] * 0.70710678118654752f));
}

static void relu_ref(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void softmax_ref(float *x, int rows, int n, ptrdiff_t ld)
{
    for (int r = 0; r < rows; r++) {
        float *xr = x + r * ld;
        float mx = -FLT_MAX;
        for (int i = 0; i < n; i++)
            mx = xr[i] > mx ? xr[i] : mx;
        float sum = 0.0f;
        for (int i = 0; i < n; i++) {
            xr[i] = expf(xr[i] - mx);
            sum += xr[i];
        }
        float inv = 1.0f / sum;
        for (int i = 0; i < n; i++)
            xr[i] *= inv;
    }
}

/* Per head: S = q k^T + bias (N x N), softmax, out_h = S v. */
static void window_attn_ref(const float *qkv, ptrdiff_t ldqkv, int N, int heads, int kd,
                            int d, const float *bias, float *out, ptrdiff_t ldo,
                            float *scratch)
{
    int hs = 2 * kd + d;
    for (int h = 0; h < heads; h++) {
        const float *q = qkv + h * hs, *k = q + kd, *v = q + 2 * kd;
        msnn_epi e = { 0 };
        e.residual = bias ? bias + (size_t)h * N * N : NULL;
        e.ldr = N;
        msnn_mat A = { q, ldqkv, 1 }, B = { k, 1, ldqkv };
        msnn_gemm(N, N, kd, A, B, scratch, N, &e, NULL);
        softmax_ref(scratch, N, N, N);
        msnn_mat S = { scratch, N, 1 }, V = { v, ldqkv, 1 };
        msnn_gemm(N, d, N, S, V, out + h * d, ldo, NULL, NULL);
    }
}

/* The qkv row of token j of a ws x ws window whose real tokens are the
 * top-left hy x wx (compact rows), the padding tokens sharing row hy*wx. */
static inline int part_row(int j, int ws, int hy, int wx)
{
    int ty = j / ws, tx = j - ty * ws;
    return ty < hy && tx < wx ? ty * wx + tx : hy * wx;
}

/* Per head and real query i (token ti): s_j = q_i . k_j + bias[ti][j] for
 * every token j, softmax, out_i = sum_j s_j v_j; each sum in increasing
 * index from 0 as the reference GEMM does.  scratch: N floats. */
static void window_attn_part_ref(const float *qkv, ptrdiff_t ldqkv, int ws, int hy, int wx,
                                 int heads, int kd, int d, const float *bias, float *out,
                                 ptrdiff_t ldo, float *scratch)
{
    const int N = ws * ws, M = hy * wx, hs = 2 * kd + d;
    float *s = scratch;
    for (int h = 0; h < heads; h++) {
        for (int i = 0; i < M; i++) {
            const float *q = qkv + (ptrdiff_t)i * ldqkv + h * hs;
            const float *br = bias ? bias + ((size_t)h * N + (size_t)(i / wx * ws + i % wx)) * N
                                   : NULL;
            for (int j = 0; j < N; j++) {
                const float *k = qkv + (ptrdiff_t)part_row(j, ws, hy, wx) * ldqkv + h * hs + kd;
                float acc = 0.0f;
                for (int c = 0; c < kd; c++)
                    acc += q[c] * k[c];
                s[j] = br ? acc + br[j] : acc;
            }
            softmax_ref(s, 1, N, N);
            float *o = out + (ptrdiff_t)i * ldo + h * d;
            for (int c = 0; c < d; c++)
                o[c] = 0.0f;
            for (int j = 0; j < N; j++) {
                const float *v = qkv + (ptrdiff_t)part_row(j, ws, hy, wx) * ldqkv + h * hs + 2 * kd;
                for (int c = 0; c < d; c++)
                    o[c] += s[j] * v[c];
            }
        }
    }
}

static size_t window_attn_part_scratch_ref(int N, int kd, int d)
{
    (void)kd, (void)d;
    return (size_t)N;
}

static void convt2x2_scatter_ref(const float *t, int W, int C, float *y, int p0, int p1)
{
    for (int p = p0; p < p1; p++) {
        int py = p / W, px = p % W;
        const float *tr = t + (size_t)p * 4 * C;
        for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++) {
                size_t o = ((size_t)(2 * py + dy) * 2 * W + 2 * px + dx) * C;
                memcpy(y + o, tr + (dy * 2 + dx) * C, (size_t)C * sizeof(float));
            }
    }
}

/* Source index and weights along one axis, as PyTorch's upsample_bilinear2d
 * computes them in float for align_corners=False. */
static void bilin_axis(int in, int out, int o, int *i0, int *i1, float *l0, float *l1)
{
    float scale = (float)in / (float)out;
    float s = scale * ((float)o + 0.5f) - 0.5f;
    if (s < 0.0f)
        s = 0.0f;
    int i = (int)s;
    *i0 = i;
    *i1 = i + (i < in - 1 ? 1 : 0);
    *l1 = s - (float)i;
    *l0 = 1.0f - *l1;
}

static void bilinear_ref(const float *src, int sh, int sw, ptrdiff_t lds,
                         float *dst, int dh, int dw, ptrdiff_t ldd, int dy0, int dy1)
{
    for (int oy = dy0; oy < dy1; oy++) {
        int y0, y1;
        float h0, h1;
        bilin_axis(sh, dh, oy, &y0, &y1, &h0, &h1);
        const float *r0 = src + y0 * lds, *r1 = src + y1 * lds;
        for (int ox = 0; ox < dw; ox++) {
            int x0, x1;
            float w0, w1;
            bilin_axis(sw, dw, ox, &x0, &x1, &w0, &w1);
            dst[oy * ldd + ox] = h0 * (w0 * r0[x0] + w1 * r0[x1]) +
                                 h1 * (w0 * r1[x0] + w1 * r1[x1]);
        }
    }
}

void msnn_kernels_ref(msnn_kernels *k)
{
    k->dwconv3x3 = dwconv3x3_ref;
    k->layernorm = layernorm_ref;
    k->gelu = gelu_ref;
    k->relu = relu_ref;
    k->softmax = softmax_ref;
    k->window_attn = window_attn_ref;
    k->window_attn_part = window_attn_part_ref;
    k->window_attn_part_scratch = window_attn_part_scratch_ref;
    k->convt2x2_scatter = convt2x2_scatter_ref;
    k->bilinear = bilinear_ref;
}
