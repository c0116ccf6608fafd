/* medsam-tools inference engine: the non-GEMM kernels, behind a function table.
 *
 * Activations are channels-last everywhere in the engine: an image of H x W
 * pixels with C channels is H*W rows ("tokens") of C floats, row = y*W + x.
 * Kernels work on a range of output rows so that callers can split the work
 * between threads (msnn__parallel_rows) without changing any result.
 *
 * msnn_kernels_ref() fills a table with the plain C reference kernels
 * (kernels_ref.c).  msnn_kernels_get() returns the table for the active CPU
 * level (cpu.h): the reference entries, overridden by SIMD variants where a
 * variant exists for that level.  Every variant must compute the same
 * function as the reference (checked by the checkasm-style tests).
 */
#ifndef MSNN_KERNELS_H
#define MSNN_KERNELS_H

#include <stddef.h>
#include "pool.h"

typedef struct msnn_kernels {
    /* Depthwise 3x3 convolution, padding 1, stride 1 or 2, plus bias, then
     * act (MSNN_ACT_NONE / GELU / RELU, gemm.h).
     * x: input rows [x_row0, x_row0 + x_rows) of an H x W x C image, packed
     *    (row iy of the image is at x + (iy - x_row0) * W * C); rows outside
     *    [0, H) are the zero padding and are never read.
     * w: [9][C] (tap ky*3+kx major, channel minor); b: [C].
     * y: output rows [oy0, oy1) of the Ho x Wo x C result, Ho = (H-1)/stride+1,
     *    written at y + (oy - oy0) * Wo * C.
     * The input rows needed are [oy0*stride - 1, (oy1-1)*stride + 1] ∩ [0, H). */
    void (*dwconv3x3)(const float *x, int x_row0, int x_rows, int H, int W, int C,
                      int stride, const float *w, const float *b, int act,
                      float *y, int oy0, int oy1);

    /* LayerNorm over the last dimension of `rows` rows of C floats:
     * y = (x - mean) / sqrt(var + eps) * g + b  (biased variance).
     * x and y may be the same buffer. */
    void (*layernorm)(const float *x, ptrdiff_t ldx, float *y, ptrdiff_t ldy,
                      int rows, int C, const float *g, const float *b, float eps);

    /* In place: exact GELU x*0.5*(1+erf(x/sqrt 2)); ReLU max(x, 0). */
    void (*gelu)(float *x, size_t n);
    void (*relu)(float *x, size_t n);

    /* In place softmax of each of `rows` rows of n floats (leading dim ld). */
    void (*softmax)(float *x, int rows, int n, ptrdiff_t ld);

    /* Multi-head attention with an additive bias, one window of N tokens.
     * qkv: N rows (leading dim ldqkv); for head h the row holds
     *      q at h*(2*kd+d), k at h*(2*kd+d)+kd, v at h*(2*kd+d)+2*kd
     *      (TinyViT's view(N, heads, -1).split([kd, kd, d])); q already scaled.
     * bias: [heads][N][N] added to q.k before the softmax (NULL = none).
     * out: N rows (leading dim ldo) of heads*d: head h at column h*d.
     * scratch: N*N floats. */
    void (*window_attn)(const float *qkv, ptrdiff_t ldqkv, int N, int heads, int kd,
                        int d, const float *bias, float *out, ptrdiff_t ldo,
                        float *scratch);

    /* window_attn on a window of N = ws*ws tokens (token ty*ws + tx) of
     * which only the top-left hy x wx are real; the others are padding and
     * share one qkv row.  Only the real queries are computed: the result is
     * window_attn's on the full window (padding rows repeated), restricted
     * to the real rows.
     * qkv: the hy*wx real rows (row ty*wx + tx), then, if hy*wx < N, the
     *      padding row; same row layout as window_attn.
     * bias: [heads][N][N] by token; out: hy*wx rows (leading dim ldo).
     * scratch: window_attn_part_scratch(N, kd, d) floats, 64-byte aligned. */
    void (*window_attn_part)(const float *qkv, ptrdiff_t ldqkv, int ws, int hy, int wx,
                             int heads, int kd, int d, const float *bias, float *out,
                             ptrdiff_t ldo, float *scratch);
    size_t (*window_attn_part_scratch)(int N, int kd, int d);

    /* The scatter step of a 2x2 stride-2 transposed convolution: t holds,
     * for input pixels [p0, p1) of an H x W image, rows of 4*C values ordered
     * (dy*2+dx)*C + c; they land at output pixel (2y+dy, 2x+dx) of the
     * 2H x 2W x C image y. */
    void (*convt2x2_scatter)(const float *t, int W, int C, float *y, int p0, int p1);

    /* Bilinear resize of one float plane, PyTorch F.interpolate semantics
     * (align_corners=False, no antialias): src sh x sw (row stride lds) to
     * dst rows [dy0, dy1) of dh x dw (row stride ldd). */
    void (*bilinear)(const float *src, int sh, int sw, ptrdiff_t lds,
                     float *dst, int dh, int dw, ptrdiff_t ldd, int dy0, int dy1);
} msnn_kernels;

/* Fill k with the reference C kernels. */
void msnn_kernels_ref(msnn_kernels *k);

/* The table for the active CPU level (msnn_cpu_level()); never NULL.
 * The first call builds it; call once before starting threads. */
const msnn_kernels *msnn_kernels_get(void);

/* Run fn(arg, lo, hi) over [0, n) split into contiguous parts, one per
 * thread of pool (NULL: one call on this thread).  Parts never overlap, so
 * fn writing rows [lo, hi) gives the same result for any thread count. */
typedef void (*msnn_rows_fn)(void *arg, int lo, int hi);
void msnn__parallel_rows(msnn_pool *pool, int n, msnn_rows_fn fn, void *arg);

#endif
