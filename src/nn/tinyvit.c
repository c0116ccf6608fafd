/* The TinyViT image encoder of LiteMedSAM, with its neck.
 *
 *   image (3,256,256) -> patch_embed (1x1 convs) -> 256x256x64
 *   layer 0: 2 MBConv at 256x256x64, PatchMerging -> 128x128x128
 *   layer 1: 2 TinyViT blocks (window 7),  PatchMerging -> 64x64x160
 *   layer 2: 6 TinyViT blocks (window 14), PatchMerging (stride 1) -> 64x64x320
 *   layer 3: 2 TinyViT blocks (window 7)
 *   neck: 1x1 conv 320->256, LayerNorm2d, 3x3 conv, LayerNorm2d -> (256,64,64)
 *
 * Activations are channels-last (rows = pixels).  Every 1x1 conv / linear /
 * attention product goes through msnn_gemm (fused bias, residual, GELU).
 */
#include "config.h"

#include <string.h>

#include "net.h"

const int msnn__dims[MSNN_STAGES] = { 64, 128, 160, 320 };
const int msnn__depths[MSNN_STAGES] = { 2, 2, 6, 2 };
const int msnn__heads[MSNN_STAGES] = { 0, 4, 5, 10 };
const int msnn__windows[MSNN_STAGES] = { 0, 7, 14, 7 };
const int msnn__res[MSNN_STAGES] = { 256, 128, 64, 64 };

#define LN_EPS 1e-5f
#define LN2D_EPS 1e-6f
#define HID_ROWS 5         /* MBConv / PatchMerging hidden rows buffered (>= 3) */
#define HID_PAD 16         /* zero channels after each hidden pixel (64 bytes) */
#define STRIP_COLS 64      /* MBConv / PatchMerging output columns per strip */
#define MLP_HID_FLOATS (64 * 1024)   /* MLP hidden floats per chunk (256 KB) */
#define PE_CHUNK 1024      /* patch_embed pixels per chunk */

#define ALLOC(p, n) do { if (!((p) = msnn__arena_alloc(r->arena, (n)))) goto oom; } while (0)

/* ------------------------------------------------------------ threaded kernels */

static void probe(msnn__run *r, const char *name, const float *x, size_t tokens, size_t C)
{
    if (r->o && r->o->probe) {
        size_t shape[3] = { 1, tokens, C };
        r->o->probe(r->o->probe_user, name, x, 3, shape);
    }
}

/* ------------------------------------------------------------ layer 0 */

/* y = act3(conv3(GELU(dw_s(GELU(conv1(x))))) [+ x]): MBConv (stride 1,
 * shortcut, GELU) and PatchMerging (stride 1 or 2, no shortcut, no act).
 * x: H*W x C, y: Ho*Wo x C3, Ho = (H-1)/s + 1.
 *
 * Each thread takes a contiguous range of output rows, cut into strips of
 * STRIP_COLS output columns, and runs down each strip one output row at a
 * time: conv1 makes the hidden rows that row needs and does not hold yet,
 * the dwconv makes the row, conv3 takes it to y.  So only three hidden rows
 * (a few tens of KB each), one dwconv row and the two weight panels are in
 * use at a time, well inside the core's L2.  The hidden rows are kept in a
 * buffer of HID_ROWS rows and moved to its top only when it is full.  A
 * strip holds the input columns its outputs need (one more on each side,
 * the halo, computed twice); the dwconv runs on the strip as an image of
 * its width, whose outputs next to a cut edge are wrong and not used.
 * Hidden and dwconv pixels are Ch + HID_PAD floats apart, the pad zero (its
 * weights and bias too, so the dwconv makes zeros there, which nothing
 * reads): with 256 channels a pixel is then 17 cache lines, not 16, and the
 * 18 pixels the dwconv reads at once fall in different L1 sets instead of
 * 4 of 64 (the dwconv ran at about half speed, missing L1).  Every value
 * is computed by the same kernels on the same inputs as in one pass over
 * the image, so the result depends neither on the strip and buffer sizes
 * nor on the thread count. */
typedef struct band_task {
    const msnn__linear *conv1, *conv3;
    const msnn__dw3 *dw;
    int stride, shortcut, act3;
    const msnn_kernels *k;
    const float *x;
    float *y;
    int H, W;
    const float *dw_w, *dw_b;  /* dw weights [9][Ch + HID_PAD], bias, zero padded */
    float *bufs;           /* per thread: hid (HID_ROWS x hid_cols) then dw (1 row) */
    size_t buf_stride;     /* floats per thread */
    int hid_cols;
} band_task;

static void band_task_fn(void *arg, int ith, int nth)
{
    const band_task *t = arg;
    const int C = t->conv1->in, Ch = t->conv1->out, C3 = t->conv3->out, Cp = Ch + HID_PAD;
    const int H = t->H, W = t->W, s = t->stride;
    const int Ho = (H - 1) / s + 1, Wo = (W - 1) / s + 1;
    float *hid = t->bufs + (size_t)ith * t->buf_stride;
    float *dw = hid + (size_t)HID_ROWS * t->hid_cols * Cp;
    int ya, yb;
    msnn_split(Ho, ith, nth, &ya, &yb);
    if (ya >= yb)
        return;
    memset(hid, 0, t->buf_stride * sizeof *hid);      /* the pad channels */
    for (int c0 = 0; c0 < Wo; c0 += STRIP_COLS) {
        int c1 = c0 + STRIP_COLS < Wo ? c0 + STRIP_COLS : Wo;
        /* input columns [a, b); strip output o' is centred on column a + o' s,
         * so output column c is o' = c - c0 + off */
        int a = c0 > 0 ? (c0 - 1) * s : 0, off = c0 > 0;
        int b = (c1 - 1) * s + 2 < W ? (c1 - 1) * s + 2 : W;
        const int Ws = b - a;
        const size_t hrow = (size_t)Ws * Cp;          /* floats per hidden row */
        int h0 = 0, h1 = 0;                           /* hidden rows held: [h0, h1) */
        for (int oy = ya; oy < yb; oy++) {
            /* input rows needed: [oy s - 1, oy s + 1] within [0, H) */
            int n0 = oy * s - 1 > 0 ? oy * s - 1 : 0;
            int n1 = oy * s + 2 < H ? oy * s + 2 : H;
            if (h1 <= n0) {                           /* nothing useful held */
                h0 = h1 = n0;
            } else if (n1 - h0 > HID_ROWS) {          /* full: move [n0, h1) up */
                memmove(hid, hid + (size_t)(n0 - h0) * hrow,
                        (size_t)(h1 - n0) * hrow * sizeof *hid);
                h0 = n0;
            }
            /* hid rows [h1, n1) = GELU(conv1(x rows, columns [a, b))) */
            for (int iy = h1; iy < n1; iy++)
                msnn__linear_fwd(t->conv1, Ws, t->x + ((size_t)iy * W + a) * C, C,
                                 hid + (size_t)(iy - h0) * hrow, Cp, NULL, 0, MSNN_ACT_GELU,
                                 NULL);
            h1 = n1;
            /* dw: row oy of the strip image, then y row oy, columns [c0, c1) */
            t->k->dwconv3x3(hid, h0, h1 - h0, H, Ws, Cp, s, t->dw_w, t->dw_b, MSNN_ACT_GELU,
                            dw, oy, oy + 1);
            const float *res = t->shortcut ? t->x + ((size_t)oy * W + c0) * C : NULL;
            msnn__linear_fwd(t->conv3, c1 - c0, dw + (size_t)off * Cp, Cp,
                             t->y + ((size_t)oy * Wo + c0) * C3, C3, res, C, t->act3, NULL);
        }
    }
}

static int band_convs(const msnn__linear *conv1, const msnn__dw3 *dwc, const msnn__linear *conv3,
                      int stride, int shortcut, int act3, const float *x, float *y, int H,
                      int W, msnn__run *r)
{
    int Ch = conv1->out, Cp = Ch + HID_PAD, nth = msnn_pool_size(r->pool);
    int hid_cols = STRIP_COLS * stride + 2 < W ? STRIP_COLS * stride + 2 : W;
    int dw_cols = (hid_cols - 1) / stride + 1;
    size_t mark = msnn__arena_mark(r->arena);
    size_t per = ((size_t)HID_ROWS * hid_cols + (size_t)dw_cols) * Cp;
    per = (per + 15) & ~(size_t)15;                   /* 64-byte aligned parts */
    float *bufs, *dw_w, *dw_b;
    ALLOC(bufs, per * (size_t)nth);
    ALLOC(dw_w, (size_t)10 * Cp);
    dw_b = dw_w + (size_t)9 * Cp;
    memset(dw_w, 0, (size_t)10 * Cp * sizeof *dw_w);
    for (int k = 0; k < 9; k++)
        memcpy(dw_w + (size_t)k * Cp, dwc->w + (size_t)k * Ch, (size_t)Ch * sizeof *dw_w);
    memcpy(dw_b, dwc->b, (size_t)Ch * sizeof *dw_b);
    band_task t = { conv1, conv3, dwc, stride, shortcut, act3, r->k, x, y, H, W, dw_w, dw_b,
                    bufs, per, hid_cols };
    msnn_pool_run(r->pool, band_task_fn, &t);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* MBConv: y = GELU(x + BN(conv3(GELU(dw(GELU(conv1(x))))))), x, y: H*W x C. */
static int mbconv(const msnn__mbconv *b, const float *x, float *y, int H, int W,
                  msnn__run *r)
{
    return band_convs(&b->conv1, &b->conv2, &b->conv3, 1, 1, MSNN_ACT_GELU, x, y, H, W, r);
}

/* PatchMerging: x (H*W x C) -> y (Ho*Wo x C'), Ho = (H-1)/stride + 1. */
static int merge(const msnn__merge *m, const float *x, float *y, int H, int W, msnn__run *r)
{
    return band_convs(&m->conv1, &m->conv2, &m->conv3, m->stride, 0, MSNN_ACT_NONE, x, y, H,
                      W, r);
}

/* ------------------------------------------------------------ TinyViT block */

/* Window attention part: x += proj(attn(LN(windows(x)))), x: H*W x C.
 *
 * Windows are disjoint sets of pixels, so each thread takes a contiguous
 * range of windows and runs every step on chunks of them (LayerNorm out
 * of x, qkv, attention, proj, add back), with the chunk's qkv in this
 * core's cache.  Upstream pads the image with zeros to whole windows before
 * the LayerNorm: a padding token becomes LN(0) and attends and is attended
 * to, but its output is cropped.  All padding tokens of a window thus have
 * the same qkv row, so a partial window carries its real tokens and one
 * padding row through LN and qkv, and only its real queries through the
 * attention and proj (window_attn_part).  Each value is computed by the
 * same kernels on the same inputs as in one pass over all windows, so the
 * result depends neither on the chunk size nor on the thread count. */
typedef struct attn_task {
    const msnn__vitblock *b;
    const msnn_kernels *k;
    float *x;
    int H, W, C, heads, ws;
    int nwin, chunk;       /* windows, windows per chunk */
    float *bufs;           /* per thread: wb (chunk*N x C), qkv (chunk*N x 3C), scratch */
    size_t buf_stride;     /* floats per thread */
} attn_task;

/* The real extent hy x wx of window w (top-left part of the ws x ws window). */
static void window_extent(int H, int W, int ws, int w, int *hy, int *wx)
{
    int nWw = (W + ws - 1) / ws, y0 = w / nWw * ws, x0 = w % nWw * ws;
    *hy = H - y0 < ws ? H - y0 : ws;
    *wx = W - x0 < ws ? W - x0 : ws;
}

/* LN of window w of x (H x W x C, windows of ws x ws) -> its hy*wx real
 * pixels at wb (row ty*wx + tx <- pixel (wy*ws+ty, wx*ws+tx)), then, if it
 * is partial, LN of one zero row (the padding).  Returns the rows written. */
static int window_ln(const msnn_kernels *k, const msnn__norm *n, const float *x, int H, int W,
                     int C, int ws, int w, float *wb)
{
    int nWw = (W + ws - 1) / ws, y0 = w / nWw * ws, x0 = w % nWw * ws, hy, wx;
    window_extent(H, W, ws, w, &hy, &wx);
    for (int ty = 0; ty < hy; ty++)
        k->layernorm(x + ((size_t)(y0 + ty) * W + x0) * C, C, wb + (size_t)ty * wx * C, C, wx, C,
                     n->g, n->b, LN_EPS);
    if (hy * wx == ws * ws)
        return hy * wx;
    float *pad = wb + (size_t)hy * wx * C;
    memset(pad, 0, (size_t)C * sizeof(float));
    k->layernorm(pad, C, pad, C, 1, C, n->g, n->b, LN_EPS);
    return hy * wx + 1;
}

/* x[pixel] += wb[row] for the hy*wx real pixels of window w (compact rows). */
static void window_add(const float *wb, int H, int W, int C, int ws, int w, float *x)
{
    int nWw = (W + ws - 1) / ws, y0 = w / nWw * ws, x0 = w % nWw * ws, hy, wx;
    window_extent(H, W, ws, w, &hy, &wx);
    for (int ty = 0; ty < hy; ty++) {
        const float *src = wb + (size_t)ty * wx * C;
        float *dst = x + ((size_t)(y0 + ty) * W + x0) * C;
        for (int i = 0; i < wx * C; i++)
            dst[i] = dst[i] + src[i];
    }
}

/* Thread ith's windows [lo, hi): contiguous ranges holding about equal
 * numbers of real tokens (the work of a window is nearly proportional to its
 * queries).  Split by window count instead, stage 2 (14x14 windows on
 * 64x64 tokens, 25 windows) gave one thread 2380 tokens and the other 1716.
 * Which thread computes a window does not change its values. */
static void split_windows(const attn_task *t, int ith, int nth, int *lo, int *hi)
{
    long long total = (long long)t->H * t->W, acc = 0;
    long long want_lo = total * ith / nth, want_hi = total * (ith + 1) / nth;
    int w = 0;
    for (; w < t->nwin && acc < want_lo; w++) {
        int hy, wx;
        window_extent(t->H, t->W, t->ws, w, &hy, &wx);
        acc += (long long)hy * wx;
    }
    *lo = ith == 0 ? 0 : w;
    for (; w < t->nwin && acc < want_hi; w++) {
        int hy, wx;
        window_extent(t->H, t->W, t->ws, w, &hy, &wx);
        acc += (long long)hy * wx;
    }
    *hi = ith == nth - 1 ? t->nwin : w;
}

static void attn_task_fn(void *arg, int ith, int nth)
{
    const attn_task *t = arg;
    const msnn__vitblock *b = t->b;
    const int C = t->C, N = t->ws * t->ws, kd = C / t->heads;
    float *wb = t->bufs + (size_t)ith * t->buf_stride;
    float *qkv = wb + (size_t)t->chunk * N * C;
    float *scratch = qkv + (size_t)t->chunk * N * 3 * C;
    int lo, hi;
    split_windows(t, ith, nth, &lo, &hi);
    for (int w0 = lo; w0 < hi; w0 += t->chunk) {
        int nw = hi - w0 < t->chunk ? hi - w0 : t->chunk, rows = 0, orows = 0;
        for (int i = 0; i < nw; i++)
            rows += window_ln(t->k, &b->attn_norm, t->x, t->H, t->W, C, t->ws, w0 + i,
                              wb + (size_t)rows * C);
        msnn__linear_fwd(&b->qkv, rows, wb, C, qkv, 3 * C, NULL, 0, MSNN_ACT_NONE, NULL);
        /* attention of the real queries into wb (its LN rows are used up) */
        rows = 0;
        for (int i = 0; i < nw; i++) {
            int hy, wx;
            window_extent(t->H, t->W, t->ws, w0 + i, &hy, &wx);
            t->k->window_attn_part(qkv + (size_t)rows * 3 * C, 3 * C, t->ws, hy, wx, t->heads,
                                   kd, kd, b->ab, wb + (size_t)orows * C, C, scratch);
            rows += hy * wx + (hy * wx < N);
            orows += hy * wx;
        }
        /* proj into the qkv buffer (no longer needed), then add back */
        msnn__linear_fwd(&b->proj, orows, wb, C, qkv, C, NULL, 0, MSNN_ACT_NONE, NULL);
        orows = 0;
        for (int i = 0; i < nw; i++) {
            window_add(qkv + (size_t)orows * C, t->H, t->W, C, t->ws, w0 + i, t->x);
            int hy, wx;
            window_extent(t->H, t->W, t->ws, w0 + i, &hy, &wx);
            orows += hy * wx;
        }
    }
}

#define ATTN_CHUNK_FLOATS (128 * 1024)  /* wb + qkv of a chunk: up to 512 KB */

static int vit_attention(const msnn__vitblock *b, float *x, int H, int W, int C, int heads,
                         int ws, msnn__run *r)
{
    int N = ws * ws, nwin = ((H + ws - 1) / ws) * ((W + ws - 1) / ws);
    int nth = msnn_pool_size(r->pool);
    int chunk = ATTN_CHUNK_FLOATS / (N * 4 * C);
    chunk = chunk < 1 ? 1 : chunk;
    size_t mark = msnn__arena_mark(r->arena);
    size_t per = (size_t)chunk * N * 4 * C;
    per = (per + 15) & ~(size_t)15;                   /* 64-byte aligned parts */
    per += (r->k->window_attn_part_scratch(N, C / heads, C / heads) + 15) & ~(size_t)15;
    float *bufs;
    ALLOC(bufs, per * (size_t)nth);
    attn_task t = { b, r->k, x, H, W, C, heads, ws, nwin, chunk, bufs, per };
    msnn_pool_run(r->pool, attn_task_fn, &t);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* The local conv and the MLP in one pass over the image:
 *   y = local_conv(x);  x = y + fc2(GELU(fc1(LN(y)))),  x: H*W x C.
 * Each thread takes a contiguous range of image rows [ya, yb) and runs the
 * MLP on its tokens in chunks of `chunk` tokens (whole row tiles, so no
 * chunk ends in a short tile), their 4C-wide hidden rows in the core's
 * cache.  y exists only as the few image rows around the current chunk, in
 * a ring of rows in this thread's buffer: the whole y image is never
 * written nor read back.
 * The depthwise conv of row r reads x rows r-1..r+1, so a chunk's fc2
 * writes its x rows only after the conv of the row below its last one has
 * run.  The x rows next to a thread's range belong to the neighbouring
 * threads, which may have written them already: the caller copies them
 * (halo rows ya-1 and yb of every thread) before the run.  Per token the
 * same kernels on the same inputs, whatever the chunk or thread count. */
typedef struct mlp_task {
    const msnn__vitblock *b;
    const msnn_kernels *k;
    float *x;
    int H, W, C, chunk;    /* tokens per chunk */
    int yrows;             /* y rows the buffer holds */
    const float *halo;     /* per thread: row ya-1, then row yb (W*C floats each) */
    float *bufs;           /* per thread: y (ring of yrows image rows), LN rows (chunk), hidden
                            * (4x chunk), conv input (3 image rows) */
    size_t buf_stride;
} mlp_task;

/* y = local_conv(x) for image row r of thread ith's range [ya, yb): x rows
 * inside the range are read in place, those outside from the halo copies
 * (through the conv input buffer xin, 3 image rows). */
static void mlp_local_row(const mlp_task *t, int ith, int ya, int yb, int r, float *xin,
                          float *y)
{
    const int H = t->H, W = t->W, C = t->C;
    const size_t row = (size_t)W * C;
    int n0 = r > 0 ? r - 1 : 0, n1 = r + 1 < H ? r + 2 : H;   /* input rows needed */
    const float *src = t->x;
    int src0 = 0, nsrc = H;
    if (n0 < ya || n1 > yb) {
        for (int iy = n0; iy < n1; iy++) {
            const float *from = iy < ya ? t->halo + (size_t)ith * 2 * row
                              : iy >= yb ? t->halo + ((size_t)ith * 2 + 1) * row
                              : t->x + (size_t)iy * row;
            memcpy(xin + (size_t)(iy - n0) * row, from, row * sizeof *xin);
        }
        src = xin;
        src0 = n0;
        nsrc = n1 - n0;
    }
    t->k->dwconv3x3(src, src0, nsrc, H, W, C, 1, t->b->local.w, t->b->local.b,
                    MSNN_ACT_NONE, y, r, r + 1);
}

static void mlp_task_fn(void *arg, int ith, int nth)
{
    const mlp_task *t = arg;
    const msnn__vitblock *b = t->b;
    const int W = t->W, C = t->C, KW = t->yrows * W;
    const size_t row = (size_t)W * C;
    float *y = t->bufs + (size_t)ith * t->buf_stride;   /* token p at y + (p % KW) * C */
    float *tn = y + (size_t)KW * C, *h = tn + (size_t)t->chunk * C;
    float *xin = h + (size_t)t->chunk * 4 * C;
    int ya, yb;
    msnn_split(t->H, ith, nth, &ya, &yb);
    int h1 = ya;                           /* next y row to compute */
    for (int t0 = ya * W; t0 < yb * W; t0 += t->chunk) {
        int t1 = t0 + t->chunk < yb * W ? t0 + t->chunk : yb * W, n = t1 - t0;
        /* y rows up to the one below the chunk's last (the ring's slot of a
         * new row held a row before this chunk's first) */
        int last = (t1 - 1) / W, need = last + 2 < yb ? last + 2 : yb;
        for (; h1 < need; h1++)
            mlp_local_row(t, ith, ya, yb, h1, xin, y + (size_t)(h1 % t->yrows) * row);
        const float *yc = y + (size_t)(t0 % KW) * C;
        float *xc = t->x + (size_t)t0 * C;
        int n1 = KW - t0 % KW < n ? KW - t0 % KW : n;   /* tokens before the ring wraps */
        t->k->layernorm(yc, C, tn, C, n1, C, b->mlp_norm.g, b->mlp_norm.b, LN_EPS);
        if (n1 < n)
            t->k->layernorm(y, C, tn + (size_t)n1 * C, C, n - n1, C, b->mlp_norm.g,
                            b->mlp_norm.b, LN_EPS);
        msnn__linear_fwd(&b->fc1, n, tn, C, h, 4 * C, NULL, 0, MSNN_ACT_GELU, NULL);
        if (n1 == n) {
            msnn__linear_fwd(&b->fc2, n, h, 4 * C, xc, C, yc, C, MSNN_ACT_NONE, NULL);
            continue;
        }
        /* wrapped: the residual added after the GEMM, the same single
         * rounding as in its epilogue (after the bias) */
        msnn__linear_fwd(&b->fc2, n, h, 4 * C, xc, C, NULL, 0, MSNN_ACT_NONE, NULL);
        for (size_t i = 0; i < (size_t)n1 * C; i++)
            xc[i] = xc[i] + yc[i];
        for (size_t i = 0; i < (size_t)(n - n1) * C; i++)
            xc[(size_t)n1 * C + i] = xc[(size_t)n1 * C + i] + y[i];
    }
}

/* TinyViTBlock: x = x + attn(x); x = local_conv(x); x = x + mlp(x). */
static int vit_block(const msnn__vitblock *b, float *x, int H, int W, int C, int heads,
                     int ws, msnn__run *r)
{
    int nth = msnn_pool_size(r->pool);
    if (vit_attention(b, x, H, W, C, heads, ws, r) < 0)
        return MS_ENOMEM;
    /* tokens per chunk: hidden rows of about MLP_HID_FLOATS, whole row tiles */
    int chunk = MLP_HID_FLOATS / (4 * C) / 6 * 6;
    chunk = chunk < 6 ? 6 : chunk;
    /* y rows around a chunk: those it spans (at most (chunk - 1) / W + 2)
     * and the one below */
    int yrows = (chunk - 1) / W + 3;
    const size_t row = (size_t)W * C;
    size_t per = ((size_t)yrows * row + (size_t)chunk * 5 * C + 3 * row + 15) & ~(size_t)15;
    size_t mark = msnn__arena_mark(r->arena);
    float *halo, *bufs;
    ALLOC(halo, 2 * row * (size_t)nth);
    ALLOC(bufs, per * (size_t)nth);
    /* halo rows of every thread: x row ya-1 and row yb, before anyone writes */
    for (int i = 0; i < nth; i++) {
        int ya, yb;
        msnn_split(H, i, nth, &ya, &yb);
        if (ya >= yb)
            continue;
        if (ya > 0)
            memcpy(halo + (size_t)i * 2 * row, x + (size_t)(ya - 1) * row, row * sizeof *x);
        if (yb < H)
            memcpy(halo + ((size_t)i * 2 + 1) * row, x + (size_t)yb * row, row * sizeof *x);
    }
    mlp_task t = { b, r->k, x, H, W, C, chunk, yrows, halo, bufs, per };
    msnn_pool_run(r->pool, mlp_task_fn, &t);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* ------------------------------------------------------------ neck */

/* The neck in two pool runs, each thread on a contiguous range of tokens
 * (then of rows of 4x4 output tiles): neck0 + LayerNorm2d, then the 3x3
 * conv by Winograd F(4x4,3x3) over bands of tile rows (winograd.h: 0.60 G
 * multiply-adds instead of 2.42 G) + LayerNorm2d + the transposition to
 * CHW.  Per value the same kernels on the same inputs, whatever the thread
 * count. */
#define NECK_TROWS 4       /* tile rows (of 16 tiles) per Winograd band */
typedef struct neck_task {
    const msnn__tinyvit *t;
    const msnn_kernels *k;
    const float *x;        /* 64*64 x 320 */
    float *n0;             /* 64*64 x 256: neck0 + LN */
    float *out;            /* 64*64 x 256: conv + LN, channels last */
    float *emb;            /* 256 x 64*64 */
    float *bufs;           /* per thread: Winograd scratch for NECK_TROWS tile rows */
    size_t buf_stride;
} neck_task;

static void neck1_fn(void *arg, int ith, int nth)
{
    const neck_task *nt = arg;
    const int S = MSNN_EMB, C = MSNN_EMB_C;
    int lo, hi;
    msnn_split(S * S, ith, nth, &lo, &hi);
    if (hi <= lo)
        return;
    float *n0 = nt->n0 + (size_t)lo * C;
    msnn__linear_fwd(&nt->t->neck0, hi - lo, nt->x + (size_t)lo * 320, 320, n0, C, NULL, 0,
                     MSNN_ACT_NONE, NULL);
    nt->k->layernorm(n0, C, n0, C, hi - lo, C, nt->t->neck1.g, nt->t->neck1.b, LN2D_EPS);
}

static void neck2_fn(void *arg, int ith, int nth)
{
    const neck_task *nt = arg;
    const int S = MSNN_EMB, C = MSNN_EMB_C, TS = S / MSNN_WINO_T;
    float *scratch = nt->bufs + (size_t)ith * nt->buf_stride;
    int ta, tb;
    msnn_split(TS, ith, nth, &ta, &tb);
    for (int t0 = ta; t0 < tb; t0 += NECK_TROWS) {
        int t1 = t0 + NECK_TROWS < tb ? t0 + NECK_TROWS : tb;
        msnn__wino_conv(&nt->t->neck2, nt->n0, C, S, S, t0, t1, nt->out, C, scratch,
                        NECK_TROWS * TS);
        int y0 = t0 * MSNN_WINO_T, n = (t1 - t0) * MSNN_WINO_T * S;
        float *o = nt->out + (size_t)y0 * S * C;
        nt->k->layernorm(o, C, o, C, n, C, nt->t->neck3.g, nt->t->neck3.b, LN2D_EPS);
        /* pixels [y0*S, y0*S + n) of every channel plane, 16 pixels at a
         * time: their 16 rows of o (1 KB apart, so in 4 of the 64 L1 sets)
         * stay in L1 while every channel is read from them, where a pass
         * over all n pixels per channel read each line from L2 256 times */
        for (int p0 = 0; p0 < n; p0 += 16) {
            int pn = n - p0 < 16 ? n - p0 : 16;
            for (int c = 0; c < C; c++) {
                float *e = nt->emb + (size_t)c * S * S + (size_t)y0 * S + p0;
                const float *oc = o + (size_t)p0 * C + c;
                for (int p = 0; p < pn; p++)
                    e[p] = oc[(size_t)p * C];
            }
        }
    }
}

/* x: 64*64 x 320 -> emb: 256 x 64*64 (NCHW); out: 64*64 x 256 scratch. */
static int neck(const msnn__tinyvit *t, const float *x, float *out, float *emb, msnn__run *r)
{
    const int S = MSNN_EMB, C = MSNN_EMB_C, nth = msnn_pool_size(r->pool);
    size_t mark = msnn__arena_mark(r->arena);
    size_t per = (msnn__wino_scratch(&t->neck2, NECK_TROWS * (S / MSNN_WINO_T)) + 15) &
                 ~(size_t)15;
    float *n0, *bufs;
    ALLOC(n0, (size_t)S * S * C);
    ALLOC(bufs, per * (size_t)nth);
    neck_task nt = { t, r->k, x, n0, out, emb, bufs, per };
    msnn_pool_run(r->pool, neck1_fn, &nt);
    msnn_pool_run(r->pool, neck2_fn, &nt);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* ------------------------------------------------------------ encoder */

static void hwc_to_chw(const float *src, int C, int HW, float *dst)
{
    for (int c = 0; c < C; c++)
        for (int p = 0; p < HW; p++)
            dst[(size_t)c * HW + p] = src[(size_t)p * C + c];
}

/* patch_embed per thread on chunks of PE_CHUNK pixels: CHW -> channels
 * last, 1x1 3->32 + GELU, 1x1 32->64, the 32-wide rows in cache. */
typedef struct pe_task {
    const msnn__tinyvit *t;
    const float *img;      /* 3 x 256*256 */
    float *out;            /* 256*256 x 64 */
    float *bufs;           /* per thread: PE_CHUNK x 3, PE_CHUNK x 32 */
    size_t buf_stride;
} pe_task;

static void pe_fn(void *arg, int ith, int nth)
{
    const pe_task *pt = arg;
    const int HW = MSNN_IMG * MSNN_IMG;
    float *x = pt->bufs + (size_t)ith * pt->buf_stride, *h = x + (size_t)PE_CHUNK * 3;
    int lo, hi;
    msnn_split(HW, ith, nth, &lo, &hi);
    for (int p0 = lo; p0 < hi; p0 += PE_CHUNK) {
        int n = hi - p0 < PE_CHUNK ? hi - p0 : PE_CHUNK;
        for (int p = 0; p < n; p++)
            for (int c = 0; c < 3; c++)
                x[(size_t)p * 3 + c] = pt->img[(size_t)c * HW + p0 + p];
        msnn__linear_fwd(&pt->t->pe0, n, x, 3, h, 32, NULL, 0, MSNN_ACT_GELU, NULL);
        msnn__linear_fwd(&pt->t->pe1, n, h, 32, pt->out + (size_t)p0 * 64, 64, NULL, 0,
                         MSNN_ACT_NONE, NULL);
    }
}

static int patch_embed(const msnn__tinyvit *t, const float *img, float *out, msnn__run *r)
{
    const int S = MSNN_IMG, HW = S * S, nth = msnn_pool_size(r->pool);
    size_t mark = msnn__arena_mark(r->arena);
    size_t per = ((size_t)PE_CHUNK * 35 + 15) & ~(size_t)15;
    float *bufs;
    ALLOC(bufs, per * (size_t)nth);
    pe_task pt = { t, img, out, bufs, per };
    msnn_pool_run(r->pool, pe_fn, &pt);
    if (r->o && r->o->probe) {
        float *nchw;
        ALLOC(nchw, (size_t)HW * 64);
        hwc_to_chw(out, 64, HW, nchw);
        size_t shape[4] = { 1, 64, S, S };
        r->o->probe(r->o->probe_user, "patch_embed", nchw, 4, shape);
    }
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

int msnn__tinyvit_forward(const msnn__tinyvit *t, const float *img, float *emb,
                          msnn__run *r, ms_err *err)
{
    static const char *names[MSNN_STAGES] = { "stage0", "stage1", "stage2", "stage3" };
    const size_t big = (size_t)MSNN_IMG * MSNN_IMG * 64;   /* largest activation */
    float *a, *b;
    ALLOC(a, big);
    ALLOC(b, big);
    if (patch_embed(t, img, a, r) < 0)                     /* a: 256*256 x 64 */
        goto oom;
    int H = msnn__res[0];
    for (int i = 0; i < 2; i++) {
        if (mbconv(&t->mb[i], a, b, H, H, r) < 0)
            goto oom;
        float *tmp = a; a = b; b = tmp;
    }
    for (int s = 0; s < MSNN_STAGES; s++) {
        int C = msnn__dims[s];
        for (int i = 0; s > 0 && i < msnn__depths[s]; i++)
            if (vit_block(&t->blocks[s][i], a, H, H, C, msnn__heads[s], msnn__windows[s], r) < 0)
                goto oom;
        if (s < 3) {                                       /* PatchMerging */
            if (merge(&t->merge[s], a, b, H, H, r) < 0)
                goto oom;
            H = (H - 1) / t->merge[s].stride + 1;
            float *tmp = a; a = b; b = tmp;
            C = msnn__dims[s + 1];
        }
        probe(r, names[s], a, (size_t)H * H, (size_t)C);
    }
    if (neck(t, a, b, emb, r) < 0)                         /* b: scratch */
        goto oom;
    return MS_OK;
oom:
    return ms_seterr(err, MS_ENOMEM, "image encoder: out of memory for activations");
}
