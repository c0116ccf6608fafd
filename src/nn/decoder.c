/* The SAM mask decoder (two-way transformer + upscaling + hypernetwork), for
 * one box prompt with multimask_output = False (mask 0 and iou 0 only).
 *
 *   tokens (7 x 256) = [iou_token, mask_tokens 0..3, box corner 0, corner 1]
 *   image  (4096 x 256) = embedding (channels-last) + no_mask_embed
 *   2 TwoWayAttentionBlocks, final token->image attention, LayerNorm (the
 *   last two for tokens 0 and 1 only: nothing reads the other five after)
 *   upscaling: ConvT 2x2/2 256->64, LayerNorm2d, GELU, ConvT 64->32, GELU
 *   logits (256 x 256) = upscaled (65536 x 32) . hypernetwork_0(mask token 0)
 *   iou = iou_head(iou token)[0]
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "decoder_kern.h"
#include "gemm_kern.h"
#include "net.h"

#define NTOK 7
#define NOUT 2      /* tokens read after the final attention: iou token, mask token 0 */
#define D 256
#define LN_EPS 1e-5f
#define LN2D_EPS 1e-6f
#define HW (MSNN_EMB * MSNN_EMB)

#define ALLOC(p, n) do { if (!((p) = msnn__arena_alloc(r->arena, (n)))) goto oom; } while (0)

static void add(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

/* Self attention of the tokens: out (7 x 256) =
 * out_proj(MHA(q_proj(qin), k_proj(qin), v_proj(vin))) + res (if any).
 * The 1/sqrt(head dim) scale is folded into q_proj at load. */
static int self_attention(const msnn__attn *a, const float *qin, const float *vin,
                          const float *res, float *out, msnn__run *r)
{
    int I = a->q.out, hd = I / a->heads;
    size_t mark = msnn__arena_mark(r->arena);
    float *q, *k, *v, *s, *o;
    ALLOC(q, (size_t)NTOK * I);
    ALLOC(k, (size_t)NTOK * I);
    ALLOC(v, (size_t)NTOK * I);
    ALLOC(s, (size_t)NTOK * NTOK);
    ALLOC(o, (size_t)NTOK * I);
    msnn__linear_fwd(&a->q, NTOK, qin, D, q, I, NULL, 0, MSNN_ACT_NONE, NULL);
    msnn__linear_fwd(&a->k, NTOK, qin, D, k, I, NULL, 0, MSNN_ACT_NONE, NULL);
    msnn__linear_fwd(&a->v, NTOK, vin, D, v, I, NULL, 0, MSNN_ACT_NONE, NULL);
    for (int h = 0; h < a->heads; h++) {
        msnn_mat Q = { q + h * hd, I, 1 }, Kt = { k + h * hd, 1, I };
        msnn_gemm(NTOK, NTOK, hd, Q, Kt, s, NTOK, NULL, NULL);       /* s: 7 x 7 */
        r->k->softmax(s, NTOK, NTOK, NTOK);
        msnn_mat S = { s, NTOK, 1 }, V = { v + h * hd, I, 1 };
        msnn_gemm(NTOK, hd, NTOK, S, V, o + h * hd, I, NULL, NULL);  /* o_h: 7 x hd */
    }
    msnn__linear_fwd(&a->o, NTOK, o, I, out, D, res, D, MSNN_ACT_NONE, NULL);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

static void norm(msnn__run *r, const msnn__norm *n, const float *x, float *y, int rows)
{
    r->k->layernorm(x, D, y, D, rows, D, n->g, n->b, LN_EPS);
}

/* The image side of the transformer runs in three passes over bands of
 * image rows, each band's work done while it is in cache: the token-side
 * steps between passes need only the tokens.
 *   pass 0: layer 0 token->image attention (cached k, v projections);
 *   pass A: layer 0 image->token attention + norm4 -> kx1 (stored), and
 *           layer 1 token->image attention streamed over kx1 + PE, kx1;
 *   pass B: layer 1 image->token attention + norm4 -> kx2 (never stored),
 *           the final token->image attention streamed over kx2 + PE, kx2,
 *           and the first ConvT of the upscaling on kx2.
 * Attention columns: 8 heads x up to 8 token slots, score column t*8 + h
 * (56 used of 64). */
#define HEADS MSNN_DK_LANES
#define SC (HEADS * HEADS)           /* score columns */
#define NUSED (NTOK * HEADS)         /* columns in use: 56 */
#define BAND 128                     /* image rows per band */
#define NBAND (HW / BAND)
#define NGROUP 16                    /* fixed groups of bands: one thread's unit */
#define BPG (NBAND / NGROUP)
_Static_assert(NBAND % NGROUP == 0, "whole bands per group");

#define BD_CH 16                     /* channels per head in the interleaved layout */
#define TILE_MAX_MR 16               /* register tiles i2t_cols handles (AVX-512 14 x 32) */
#define TILE_MAX_NR 32

/* rows of 128 = 8 heads x 16 channels: x[i][h*16 + c] -> y[i][c*8 + h] */
static void interleave(const float *x, ptrdiff_t ldx, int rows, float *y)
{
    for (int i = 0; i < rows; i++)
        for (int h = 0; h < HEADS; h++)
            for (int c = 0; c < BD_CH; c++)
                y[(size_t)i * HEADS * BD_CH + c * HEADS + h] = x[i * ldx + h * BD_CH + c];
}

/* Token queries over the image, as a softmax over the 4096 image rows
 * streamed over bands (the running maximum and sum of each column kept per
 * group of bands, then the groups merged in order: the result does not
 * depend on which thread ran which group).
 * Cached (layer 0): keys and values are the cached k_proj / v_proj (128
 * wide, channels interleaved: head h channel c at c*8 + h) and the per-head
 * products run lane-wise over the 8 heads (bd_scores, bd_accum).
 * Otherwise reassociated so that no 4096-row projection is needed: with
 * G_h = q_h Wk_h (256 wide) the scores are G_h kin^T + a constant per
 * column (cancels in the softmax), and the values sum as
 * (P_h vin) Wv_h^T + bv_h since each softmax column sums to 1. */
typedef struct tq {
    const msnn__attn *a;
    int cached, kd, vd;          /* key and value widths */
    int nt, nu;                  /* tokens computed (the first nt), columns used: nt*8 */
    msnn_packed_b *pk;           /* kd x nu: the score columns (not cached) */
    float *qi;                   /* cached: NTOK x 128, q interleaved */
    float *y;                    /* [NGROUP][ny]: per group [vd][nu] (cached: [nt][128]
                                    interleaved), sum exp(s - m) v */
    size_t ny;
    float *m, *l;                /* [NGROUP][SC]: running max, sum */
} tq;

static int tq_setup(tq *t, const msnn__attn *a, int cached, int nt, const float *qin,
                    msnn__run *r)
{
    int I = a->q.out, hd = I / HEADS;
    float *q, *b;
    memset(t, 0, sizeof *t);
    t->a = a;
    t->cached = cached;
    t->nt = nt;
    t->nu = nt * HEADS;
    t->kd = cached ? I : D;
    t->vd = cached ? I : D;
    ALLOC(q, (size_t)NTOK * I);
    ALLOC(b, (size_t)SC * t->kd);
    t->ny = (size_t)t->vd * (cached ? nt : t->nu);
    ALLOC(t->y, NGROUP * t->ny);
    ALLOC(t->m, (size_t)NGROUP * SC);
    ALLOC(t->l, (size_t)NGROUP * SC);
    msnn__linear_fwd(&a->q, nt, qin, D, q, I, NULL, 0, MSNN_ACT_NONE, NULL);
    memset(b, 0, (size_t)SC * t->kd * sizeof *b);
    if (cached) {   /* qi[t][c*8 + h] = q[t][h*hd + c] */
        if (hd != BD_CH)
            return MS_EINVAL;
        t->qi = b;
        interleave(q, I, nt, t->qi);
    } else {        /* b^T rows t*8 + h: q_h[t] (hd) . Wk_h (hd x 256) */
        for (int h = 0; h < HEADS; h++) {
            msnn_mat Qh = { q + h * hd, I, 1 }, W = { a->k.w + (size_t)h * hd * D, D, 1 };
            msnn_gemm(nt, D, hd, Qh, W, b + (size_t)h * D, HEADS * D, NULL, NULL);
        }
        msnn_mat B = { b, 1, D };
        if (!(t->pk = msnn_gemm_pack_b(t->kd, t->nu, B)))
            goto oom;
    }
    memset(t->y, 0, NGROUP * t->ny * sizeof *t->y);
    for (int i = 0; i < NGROUP * SC; i++) {
        t->m[i] = -FLT_MAX;
        t->l[i] = 0.0f;
    }
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* One band of keys kb (rows x kd) and values vb (rows x vd) into group g.
 * s: rows x SC of scratch. */
static void tq_band(const tq *t, const msnn__dec_kernels *dk, int g, const float *kb,
                    ptrdiff_t ldk, const float *vb, ptrdiff_t ldv, int rows, float *s)
{
    float *m = t->m + g * SC, *l = t->l + g * SC, *y = t->y + g * t->ny;
    float mn[SC];
    int nu = t->nu;
    if (t->cached) {
        dk->bd_scores(kb, ldk, rows, t->qi, t->nt, s, SC);
    } else {
        msnn_mat K = { kb, ldk, 1 };
        msnn_gemm_packed(rows, t->pk, K, s, SC, NULL, NULL);
    }
    memcpy(mn, m, sizeof mn);
    dk->col_max(s, rows, SC, 0, nu, mn);
    /* rescale what the group holds to the new maxima (nothing while its sum
     * is 0: the column of y is still all zeros), row by row of y */
    float f[SC];
    int any = 0;
    for (int c = 0; c < nu; c++) {
        f[c] = 1.0f;
        if (mn[c] > m[c]) {
            if (l[c] > 0.0f) {
                f[c] = expf(m[c] - mn[c]);
                l[c] *= f[c];
                any = 1;
            }
            m[c] = mn[c];
        }
    }
    if (any && t->cached) {     /* column t*8 + h: y[t][j*8 + h] */
        for (int tk = 0; tk < t->nt; tk++)
            for (int j = 0; j < BD_CH; j++)
                for (int h = 0; h < HEADS; h++)
                    y[(size_t)tk * t->vd + j * HEADS + h] *= f[tk * HEADS + h];
    } else if (any) {           /* y[j][c] */
        for (int j = 0; j < t->vd; j++)
            for (int c = 0; c < nu; c++)
                y[(size_t)j * nu + c] *= f[c];
    }
    dk->exp_cols(s, rows, SC, 0, nu, m, l);
    if (t->cached) {
        dk->bd_accum(s, SC, rows, vb, ldv, t->nt, y);
        return;
    }
    dk->accum_t(s, SC, rows, nu, vb, ldv, t->vd, y, nu);
}

/* Merge the groups in order: out (nt x 256) = out_proj(o) + res. */
static int tq_finish(tq *t, const float *res, float *out, msnn__run *r)
{
    const msnn__attn *a = t->a;
    int I = a->q.out, hd = I / HEADS, vd = t->vd, nt = t->nt, nu = t->nu;
    float *px, *o, mx[SC], sum[SC];
    ALLOC(px, (size_t)SC * vd);
    ALLOC(o, (size_t)NTOK * I);
    for (int c = 0; c < nu; c++) {
        mx[c] = -FLT_MAX;
        for (int g = 0; g < NGROUP; g++)
            mx[c] = t->m[g * SC + c] > mx[c] ? t->m[g * SC + c] : mx[c];
        sum[c] = 0.0f;
    }
    memset(px, 0, (size_t)SC * vd * sizeof *px);
    if (t->cached) {    /* o[t][h*hd + j] = sum_g f_g y_g[t][j*8 + h] / sum */
        memset(o, 0, (size_t)NTOK * I * sizeof *o);
        for (int g = 0; g < NGROUP; g++) {
            const float *yg = t->y + g * t->ny;
            for (int c = 0; c < nu; c++) {
                int tk = c / HEADS, h = c % HEADS;
                float f = expf(t->m[g * SC + c] - mx[c]);
                sum[c] += f * t->l[g * SC + c];
                for (int j = 0; j < hd; j++)
                    o[(size_t)tk * I + h * hd + j] += f * yg[(size_t)tk * vd + j * HEADS + h];
            }
        }
        for (int c = 0; c < nu; c++) {
            float inv = 1.0f / sum[c];
            for (int j = 0; j < hd; j++)
                o[(size_t)(c / HEADS) * I + (c % HEADS) * hd + j] *= inv;
        }
    } else {            /* px[j][c] = sum_g f_g y_g[j][c] / sum (vd x SC) */
        float f[NGROUP][SC], inv[SC];
        for (int g = 0; g < NGROUP; g++)
            for (int c = 0; c < nu; c++) {
                f[g][c] = expf(t->m[g * SC + c] - mx[c]);
                sum[c] += f[g][c] * t->l[g * SC + c];
            }
        for (int g = 0; g < NGROUP; g++) {
            const float *yg = t->y + g * t->ny;
            for (int j = 0; j < vd; j++)
                for (int c = 0; c < nu; c++)
                    px[(size_t)j * SC + c] += f[g][c] * yg[(size_t)j * nu + c];
        }
        for (int c = 0; c < nu; c++)
            inv[c] = 1.0f / sum[c];
        for (int j = 0; j < vd; j++)
            for (int c = 0; c < nu; c++)
                px[(size_t)j * SC + c] *= inv[c];
        /* o_h = px_h (nt x 256, token t at column t*8 + h) . Wv_h^T (256 x hd) + bv_h */
        for (int h = 0; h < HEADS; h++) {
            msnn_mat P = { px + h, HEADS, SC };
            msnn_mat Wt = { a->v.w + (size_t)h * hd * D, 1, D };
            msnn_epi e = { 0 };
            e.bias = a->v.b ? a->v.b + h * hd : NULL;
            msnn_gemm(nt, hd, D, P, Wt, o + h * hd, I, &e, NULL);
        }
    }
    msnn__linear_fwd(&a->o, nt, o, I, out, D, res, D, MSNN_ACT_NONE, NULL);
    msnn_gemm_packed_free(&t->pk);
    return MS_OK;
oom:
    msnn_gemm_packed_free(&t->pk);
    return MS_ENOMEM;
}

/* The image attends to the tokens, then norm4, per band:
 *   x' = LN4(x + bo + sum_h softmax(q_h k_h^T) v_h Wo_h^T).
 * The output projection is folded into the values, VW_(t,h) = v_h[t] Wo_h^T
 * (256 wide), so a band costs two products: the scores and P VW.  The
 * scores are per-head products of the cached q_proj (channels interleaved)
 * and k (bd_scores), or (layer 1) x + PE times Wq_h^T k_h^T (256 x 64) plus
 * the bias bq_h . k_h, which saves the 4096-row q projection.
 * With a SIMD GEMM kernel, P VW runs one register tile of rows at a time
 * (the GEMM's micro-kernel on VW packed for it, so the same values), and
 * norm4 and the PE add follow on those rows while they are in L1. */
typedef struct i2t {
    const msnn__attn *a;
    const msnn__norm *n4;
    int kd;                      /* query width */
    msnn_packed_b *pk_s;         /* kd x SC (not cached) */
    float *ki;                   /* cached: NTOK x 128, k interleaved */
    float *bias;                 /* SC, or NULL */
    const msnn__gemm_kernel *kn; /* the SIMD micro-kernel, or NULL (ref) */
    float *vwp;                  /* with kn: VW packed for it */
    msnn_packed_b *pk_o;         /* without kn: VW (NUSED x 256) */
} i2t;

static int i2t_setup(i2t *t, const msnn__attn *a, int cached, const float *kin,
                     const float *vin, const msnn__norm *n4, msnn__run *r)
{
    int I = a->q.out, hd = I / HEADS;
    float *k, *v, *bs, *vw;
    memset(t, 0, sizeof *t);
    t->a = a;
    t->n4 = n4;
    t->kd = cached ? I : D;
    ALLOC(k, (size_t)NTOK * I);
    ALLOC(v, (size_t)NTOK * I);
    ALLOC(bs, (size_t)t->kd * SC);
    ALLOC(vw, (size_t)NUSED * D);
    msnn__linear_fwd(&a->k, NTOK, kin, D, k, I, NULL, 0, MSNN_ACT_NONE, NULL);
    msnn__linear_fwd(&a->v, NTOK, vin, D, v, I, NULL, 0, MSNN_ACT_NONE, NULL);
    memset(bs, 0, (size_t)t->kd * SC * sizeof *bs);
    if (cached) {   /* ki[t][c*8 + h] = k[t][h*hd + c] */
        if (hd != BD_CH)
            return MS_EINVAL;
        t->ki = bs;
        interleave(k, I, NTOK, t->ki);
    } else {        /* bs^T rows t*8 + h: k_h[t] (hd) . Wq_h (hd x 256) */
        ALLOC(t->bias, SC);
        memset(t->bias, 0, SC * sizeof *t->bias);
        for (int h = 0; h < HEADS; h++) {
            msnn_mat Kh = { k + h * hd, I, 1 }, W = { a->q.w + (size_t)h * hd * D, D, 1 };
            msnn_gemm(NTOK, D, hd, Kh, W, bs + (size_t)h * D, HEADS * D, NULL, NULL);
            for (int tk = 0; tk < NTOK; tk++) {
                float acc = 0.0f;
                for (int c = 0; c < hd; c++)
                    acc += (a->q.b ? a->q.b[h * hd + c] : 0.0f) * k[(size_t)tk * I + h * hd + c];
                t->bias[tk * HEADS + h] = acc;
            }
        }
    }
    for (int h = 0; h < HEADS; h++) {   /* vw rows t*8 + h: v_h[t] (hd) . Wo_h^T (hd x 256) */
        msnn_mat Vh = { v + h * hd, I, 1 }, Wt = { a->o.w + h * hd, 1, I };
        msnn_gemm(NTOK, D, hd, Vh, Wt, vw + (size_t)h * D, HEADS * D, NULL, NULL);
    }
    msnn_mat Bs = { bs, 1, D }, Bo = { vw, D, 1 };
    if (!cached && !(t->pk_s = msnn_gemm_pack_b(t->kd, SC, Bs)))
        goto oom;
    t->kn = msnn__gemm_kernel_get(msnn_cpu_level());
    if (t->kn && (t->kn->mr > TILE_MAX_MR || t->kn->nr > TILE_MAX_NR))
        t->kn = NULL;   /* no such kernel: see i2t_cols */
    if (t->kn) {
        ALLOC(t->vwp, msnn_gemm_packed_floats(NUSED, D));
        t->kn->pack_b(Bo, 0, NUSED, 0, D, t->vwp);
    } else if (!(t->pk_o = msnn_gemm_pack_b(NUSED, D, Bo))) {
        goto oom;
    }
    return MS_OK;
oom:
    msnn_gemm_packed_free(&t->pk_s);
    msnn_gemm_packed_free(&t->pk_o);
    return MS_ENOMEM;
}

static void i2t_free(i2t *t)
{
    msnn_gemm_packed_free(&t->pk_s);
    msnn_gemm_packed_free(&t->pk_o);
}

/* The first ConvT of the upscaling, its LayerNorm2d and GELU (see
 * upscale_rest), on a band's new image rows in i2t_rows_simd. */
typedef struct up_rows {
    const msnn__linear *up0;
    const float *w;              /* up0's packed panels for the micro-kernel */
    const msnn__norm *up1;
    float *u;                    /* the band's rows x 256 of output */
} up_rows;

/* Height of the register tile of rows starting where `left` rows remain:
 * full tiles, but a short remainder (under mr/2 rows: few accumulators, a
 * latency-bound kernel) shares the last full tile's rows in two halves. */
static int tile_rows(int left, int mr)
{
    if (left <= mr)
        return left;
    if (left < 2 * mr && left - mr < mr / 2)
        return left / 2;
    return mr;
}

/* The micro-kernel on the m x 256 block c (leading dim ldc) = a (m x kc,
 * lda) . panels w (of 256 columns) + bias + res (ld ldr; either may be
 * NULL), a register tile of columns at a time.  Where the tile width does
 * not divide 256 (NEON's 12) the last tile is handled as msnn_gemm handles
 * an edge tile: the products into a scratch tile, its n columns copied out,
 * then the kernel's epilogue on them (the same operations as in registers),
 * so nothing past column 256 or past the bias is read or written. */
static void i2t_cols(const msnn__gemm_kernel *kn, int m, int kc, const float *a, ptrdiff_t lda,
                     const float *w, const float *bias, const float *res, ptrdiff_t ldr,
                     float *c, ptrdiff_t ldc)
{
    const int nr = kn->nr;
    msnn__tile_epi te = { 0 };
    te.ldr = ldr;
    int j = 0;
    for (; j + nr <= D; j += nr) {
        te.bias_col = bias ? bias + j : NULL;
        te.res = res ? res + j : NULL;
        kn->ukr_rows_m[m](kc, a, lda, w + (size_t)j * kc, c + j, ldc, 0,
                          bias || res ? &te : NULL);
    }
    if (j == D)
        return;
    float ct[TILE_MAX_MR * TILE_MAX_NR];
    kn->ukr_rows_m[m](kc, a, lda, w + (size_t)j * kc, ct, nr, 0, NULL);
    for (int r = 0; r < m; r++)
        memcpy(c + r * ldc + j, ct + r * nr, (size_t)(D - j) * sizeof *c);
    msnn_epi e = { 0 };
    e.bias = bias;
    e.residual = res;
    e.ldr = ldr;
    kn->epi(c + j, ldc, m, D - j, 0, j, &e);
}

/* P VW + bo + x, then norm4, on rows [0, rows) with the micro-kernel, a
 * register tile of rows at a time: xo = LN4(...) and, if kp, kp = xo + pe
 * (all rows x 256), and, if up, the first ConvT on xo with LayerNorm2d and
 * GELU, while the tile's rows are in L1.  Each step's values are those of
 * the GEMM (the same micro-kernel and epilogue: K in one block) and of the
 * kernels on whole bands. */
static void i2t_rows_simd(const i2t *t, const msnn_kernels *k, const float *P, const float *x,
                          int rows, float *xo, const float *pe, float *kp, const up_rows *up)
{
    const msnn__gemm_kernel *kn = t->kn;
    const int mr = kn->mr;
    _Static_assert(4 * 64 == D, "the first ConvT's rows are 256 wide too");
    for (int i = 0, m; i < rows; i += m) {
        m = tile_rows(rows - i, mr);
        float *y = xo + (size_t)i * D;
        i2t_cols(kn, m, NUSED, P + (size_t)i * SC, SC, t->vwp, t->a->o.b, x + (size_t)i * D, D,
                 y, D);
        k->layernorm(y, D, y, D, m, D, t->n4->g, t->n4->b, LN_EPS);
        if (kp)
            add(y, pe + (size_t)i * D, kp + (size_t)i * D, (size_t)m * D);
        if (up) {   /* rows of 4 x 64: one 128x128 pixel each */
            float *u = up->u + (size_t)i * 4 * 64;
            i2t_cols(kn, m, D, y, D, up->w, up->up0->b, NULL, 0, u, 4 * 64);
            k->layernorm(u, 64, u, 64, m * 4, 64, up->up1->g, up->up1->b, LN2D_EPS);
            k->gelu(u, (size_t)m * 4 * 64);
        }
    }
    msnn__gemm_add_macs((unsigned long long)rows * D * (NUSED + (up ? 4 * 64 : 0)));
}

/* One band: queries qb (rows x kd), image x (rows x 256) -> xo (rows x 256,
 * may be ob) and, if kp, kp = xo + pe (may be qb), and, with up (only with
 * t->kn), the first ConvT; s: rows x SC and ob: rows x 256 of scratch. */
static void i2t_band(const i2t *t, const msnn_kernels *k, const msnn__dec_kernels *dk,
                     const float *qb, ptrdiff_t ldq, const float *x, int rows, float *s,
                     float *ob, float *xo, const float *pe, float *kp, const up_rows *up)
{
    if (t->ki) {
        dk->bd_scores(qb, ldq, rows, t->ki, NTOK, s, SC);
    } else {
        msnn_mat Q = { qb, ldq, 1 };
        msnn_epi es = { 0 };
        es.bias = t->bias;
        msnn_gemm_packed(rows, t->pk_s, Q, s, SC, &es, NULL);
    }
    dk->softmax_lanes(s, rows, SC, NTOK);
    if (t->kn) {
        i2t_rows_simd(t, k, s, x, rows, xo, pe, kp, up);
        return;
    }
    msnn_mat P = { s, SC, 1 };
    msnn_epi eo = { 0 };
    eo.bias = t->a->o.b;
    eo.residual = x;
    eo.ldr = D;
    msnn_gemm_packed(rows, t->pk_o, P, ob, D, &eo, NULL);
    k->layernorm(ob, D, xo, D, rows, D, t->n4->g, t->n4->b, LN_EPS);
    if (kp)
        add(xo, pe, kp, (size_t)rows * D);
}

/* One pass over the image; the stages present run on every band. */
typedef struct pass {
    const msnn_kernels *k;
    const msnn__dec_kernels *dk;
    const float *pe;             /* 4096 x 256 */
    const i2t *img;              /* image->token stage, or NULL */
    const float *q;              /* its queries (cached, kd wide), or NULL: x + pe */
    const float *x;              /* the image before the stage (4096 x 256) */
    float *xo;                   /* where the new image goes, or NULL (scratch) */
    tq *tok;                     /* token->image stage over the (new) image, or NULL */
    const float *tk, *tv;        /* without img: its keys, values (kd, vd wide) */
    const msnn__linear *up0;     /* first ConvT on the new image, or NULL */
    const float *up0w;           /* its packed panels for the image stage's micro-kernel
                                    (then it runs in i2t_rows_simd), or NULL */
    const msnn__norm *up1;       /* the LayerNorm2d after it */
    float *t0;                   /* its output, 4096 x 256 (may be x: see pass_band) */
    float *buf;                  /* per thread: PASS_BUF floats */
} pass;

#define PASS_BUF ((size_t)BAND * (2 * D + SC))

static void pass_band(const pass *p, int b, float *buf)
{
    size_t i0 = (size_t)b * BAND;
    float *kb = buf, *s = kb + (size_t)BAND * D, *ob = s + (size_t)BAND * SC;
    const float *xn = NULL;
    if (p->img) {
        const float *qb = p->q ? p->q + i0 * p->img->kd : kb;
        if (!p->q)
            add(p->x + i0 * D, p->pe + i0 * D, kb, (size_t)BAND * D);
        float *xo = p->xo ? p->xo + i0 * D : ob;
        /* kb: the queries (x + pe) until the scores are taken, then xo + pe */
        up_rows up = { p->up0, p->up0w, p->up1, p->t0 + i0 * 4 * 64 };
        i2t_band(p->img, p->k, p->dk, qb, p->q ? p->img->kd : D, p->x + i0 * D, BAND, s, ob,
                 xo, p->pe + i0 * D, p->tok ? kb : NULL, p->up0w ? &up : NULL);
        xn = xo;
    }
    if (p->tok) {
        if (xn) {
            tq_band(p->tok, p->dk, b / BPG, kb, D, xn, D, BAND, s);
        } else {
            tq_band(p->tok, p->dk, b / BPG, p->tk + i0 * p->tok->kd, p->tok->kd,
                    p->tv + i0 * p->tok->vd, p->tok->vd, BAND, s);
        }
    }
    if (p->up0 && !p->up0w) {   /* + LayerNorm2d and GELU on its rows of 64 (upscale_rest) */
        float *u = p->t0 + i0 * 4 * 64;
        msnn__linear_fwd(p->up0, BAND, xn, D, u, 4 * 64, NULL, 0, MSNN_ACT_NONE, NULL);
        p->k->layernorm(u, 64, u, 64, BAND * 4, 64, p->up1->g, p->up1->b, LN2D_EPS);
        p->k->gelu(u, (size_t)BAND * 4 * 64);
    }
}

static void pass_task(void *arg, int ith, int nth)
{
    const pass *p = arg;
    int lo, hi;
    msnn_split(NGROUP, ith, nth, &lo, &hi);
    for (int b = lo * BPG; b < hi * BPG; b++)
        pass_band(p, b, p->buf + (size_t)ith * PASS_BUF);
}

static void run_pass(pass *p, msnn__run *r)
{
    p->k = r->k;
    p->dk = msnn__dec_kernels_get();
    msnn_pool_run(r->pool, pass_task, p);
}

/* Token side of a TwoWayAttentionBlock before its token->image attention:
 * self attention (the first layer has no PE and no residual) and norm1. */
static int tok_self(const msnn__twoway *l, int first, float *q, const float *tpe, msnn__run *r)
{
    size_t mark = msnn__arena_mark(r->arena);
    float *qp, *qn;
    ALLOC(qp, NTOK * D);
    ALLOC(qn, NTOK * D);
    if (first) {
        if (self_attention(&l->self_attn, q, q, NULL, qn, r) < 0)
            goto oom;
    } else {
        add(q, tpe, qp, NTOK * D);
        if (self_attention(&l->self_attn, qp, q, q, qn, r) < 0)
            goto oom;
    }
    norm(r, &l->norm1, qn, q, NTOK);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* After the token->image attention (qn = its output + residual): norm2,
 * the MLP (ReLU) with residual, norm3. */
static int tok_mlp(const msnn__twoway *l, float *q, float *qn, msnn__run *r)
{
    size_t mark = msnn__arena_mark(r->arena);
    float *h;
    ALLOC(h, NTOK * 2048);
    norm(r, &l->norm2, qn, q, NTOK);
    msnn__linear_fwd(&l->lin1, NTOK, q, D, h, 2048, NULL, 0, MSNN_ACT_RELU, r->pool);
    msnn__linear_fwd(&l->lin2, NTOK, h, 2048, qn, D, q, D, MSNN_ACT_NONE, r->pool);
    norm(r, &l->norm3, qn, q, NTOK);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* Upscaling and hypernetwork product, kept in the GEMM layouts.
 *
 * ConvT 2x2/2 as a GEMM: t0 = kx up0 (4096 x [2x2][64]), row p = y*64 + x,
 * column s0*64 + c with s0 = dy0*2 + dx0.  Read as 16384 rows of 64, row
 * p*4 + s0 is the 128x128 pixel (2y+dy0, 2x+dx0): LayerNorm2d and GELU act
 * on such rows in place, and the second ConvT is again a GEMM on them,
 * giving per row [2x2][32] (s1 = dy1*2 + dx1), GELU fused.  The logit of
 * pixel (4y + 2dy0 + dy1, 4x + 2dx0 + dx1) is that row's s1 group dotted
 * with hyper.  The first ConvT, LayerNorm2d and GELU run in pass B on each
 * band of kx2; the rest runs per row of the 64x64 map once hyper is known,
 * in buffers that stay in cache: no scatter pass, no 256x256x32 tensor. */
#define UP_BAND 64           /* input pixels per band: one row of the 64x64 map */
#define UP_ROWS (UP_BAND * 4)

typedef struct up_task {
    const msnn__decoder *d;
    const msnn_kernels *k;
    const msnn__dec_kernels *dk;
    const float *t0;         /* 4096 x 256 */
    float *buf;              /* per thread: UP_ROWS x 128, then UP_ROWS x 4 */
    const float *hyper;      /* 32 */
    float *logits;           /* 256 x 256 */
} up_task;

static void up_band(const up_task *t, int y, float *buf)
{
    const msnn__decoder *d = t->d;
    const float *u = t->t0 + (size_t)y * UP_BAND * 4 * 64;     /* UP_ROWS x 64 */
    msnn__linear_fwd(&d->up3, UP_ROWS, u, 64, buf, 128, NULL, 0, MSNN_ACT_GELU, NULL);
    float *dots = buf + (size_t)UP_ROWS * 128;          /* UP_ROWS x 4 */
    t->dk->dot32(buf, 32, UP_ROWS * 4, t->hyper, dots);
    for (int x = 0; x < UP_BAND; x++)
        for (int s0 = 0; s0 < 4; s0++) {
            const float *v = dots + (x * 4 + s0) * 4;
            float *o = t->logits + (size_t)(4 * y + 2 * (s0 >> 1)) * 256 + 4 * x + 2 * (s0 & 1);
            o[0] = v[0];
            o[1] = v[1];
            o[256] = v[2];
            o[257] = v[3];
        }
}

static void up_task_fn(void *arg, int ith, int nth)
{
    const up_task *t = arg;
    int lo, hi;
    msnn_split(MSNN_EMB, ith, nth, &lo, &hi);
    for (int y = lo; y < hi; y++)
        up_band(t, y, t->buf + (size_t)ith * UP_ROWS * 132);
}

/* t0 (4096 x 256: the first ConvT's output after LayerNorm2d and GELU,
 * done in pass B) -> logits (256 x 256). */
static int upscale_rest(const msnn__decoder *d, const float *t0, const float hyper[32],
                        float *logits, msnn__run *r)
{
    size_t mark = msnn__arena_mark(r->arena);
    int nth = msnn_pool_size(r->pool);
    up_task t = { d, r->k, msnn__dec_kernels_get(), t0, NULL, hyper, logits };
    ALLOC(t.buf, (size_t)nth * UP_ROWS * 132);
    msnn_pool_run(r->pool, up_task_fn, &t);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* MLP with ReLU between layers: x (256) -> out (l[2].out). */
static int mlp3(const msnn__linear l[3], const float *x, float *out, msnn__run *r)
{
    float a[D], b[D];
    msnn__linear_fwd(&l[0], 1, x, D, a, D, NULL, 0, MSNN_ACT_RELU, NULL);
    msnn__linear_fwd(&l[1], 1, a, D, b, D, NULL, 0, MSNN_ACT_RELU, NULL);
    msnn__linear_fwd(&l[2], 1, b, D, out, l[2].out, NULL, 0, MSNN_ACT_NONE, NULL);
    (void)r;
    return MS_OK;
}

#define TR 16       /* pixels per tile of the embedding's transpose */
_Static_assert(HW % TR == 0, "whole tiles");

/* y (4096 x 128) = x (4096 x 256) l^T + b with the output channels
 * interleaved (head h channel j at j*8 + h, for bd_scores / bd_accum): the
 * GEMM on the weight's rows (and bias) in that order, so each value is the
 * plain projection's. */
static int proj_interleaved(const msnn__linear *l, const float *x, float *y, msnn__run *r)
{
    size_t mark = msnn__arena_mark(r->arena);
    float *w, *b = NULL;
    if (l->in != D || l->out != HEADS * BD_CH || !l->w)
        return MS_EINVAL;
    ALLOC(w, (size_t)l->out * D);
    if (l->b)
        ALLOC(b, l->out);
    for (int h = 0; h < HEADS; h++)
        for (int j = 0; j < BD_CH; j++) {
            memcpy(w + (size_t)(j * HEADS + h) * D, l->w + (size_t)(h * BD_CH + j) * D,
                   D * sizeof *w);
            if (b)
                b[j * HEADS + h] = l->b[h * BD_CH + j];
        }
    msnn__linear li = { l->in, l->out, w, b, NULL };
    msnn__linear_fwd(&li, HW, x, D, y, l->out, NULL, 0, MSNN_ACT_NONE, r->pool);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

void msnn__dec_cache_free(msnn__dec_cache *c)
{
    free(c->block);
    free(c->emb);
    memset(c, 0, sizeof *c);
}

/* The part of the decoder that depends on the embedding only, kept for the
 * next boxes on the same embedding (every box of a 2D image, of a 3D slice):
 * src = embedding (channels-last) + no_mask_embed, and the first layer's
 * image-side projections of src and src + PE (rows with the channels of the
 * 8 heads interleaved: head h channel j at j*8 + h).  Valid while the
 * embedding is unchanged: the caller's emb_id says so (msnn.h), or, without
 * one, the embedding compared in full with a copy (a few MB, well under a
 * millisecond next to the 9 ms of projections it saves). */
static int cache_prepare(msnn__dec_cache *c, const msnn__decoder *d, const msnn__prompt *p,
                         const float *emb, unsigned long long id, msnn__run *r)
{
    const size_t ne = (size_t)D * HW, nh = (size_t)HW * 128;
    if (c->valid && c->id == id &&
        (id != 0 || memcmp(c->emb, emb, ne * sizeof(float)) == 0))
        return MS_OK;
    c->valid = 0;
    if (!c->block) {
        c->block = malloc((ne + 3 * nh) * sizeof(float));
        if (!c->block)
            return MS_ENOMEM;
        c->kx = c->block;
        c->t2i_k = c->kx + ne;
        c->t2i_v = c->t2i_k + nh;
        c->i2t_q = c->t2i_v + nh;
    }
    if (id == 0) {
        if (!c->emb && !(c->emb = malloc(ne * sizeof(float))))
            return MS_ENOMEM;
        memcpy(c->emb, emb, ne * sizeof(float));
    }
    size_t mark = msnn__arena_mark(r->arena);
    float *kp;      /* kx + PE: only the projections read it */
    ALLOC(kp, ne);
    /* kx = emb^T + no_mask and kp = kx + PE, TR pixels (rows of kx) at a time */
    for (size_t i0 = 0; i0 < HW; i0 += TR) {
        for (int ch = 0; ch < D; ch++) {
            const float *e = emb + (size_t)ch * HW + i0;
            for (int i = 0; i < TR; i++)
                c->kx[(i0 + i) * D + ch] = e[i] + p->no_mask[ch];
        }
        add(c->kx + i0 * D, p->dense_pe + i0 * D, kp + i0 * D, (size_t)TR * D);
    }
    const msnn__twoway *l = &d->layer[0];
    int rc;
    if ((rc = proj_interleaved(&l->t2i.k, kp, c->t2i_k, r)) < 0 ||
        (rc = proj_interleaved(&l->t2i.v, c->kx, c->t2i_v, r)) < 0 ||
        (rc = proj_interleaved(&l->i2t.q, kp, c->i2t_q, r)) < 0) {
        msnn__arena_release(r->arena, mark);
        return rc;
    }
    msnn__arena_release(r->arena, mark);
    c->id = id;
    c->valid = 1;
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* The token side between passes follows TwoWayTransformer: per layer self
 * attention, token->image attention, MLP, image->token attention; the image
 * side only changes in the image->token steps, so each layer's tokens are
 * final before the pass that updates its image. */
int msnn__decoder_forward(const msnn__decoder *d, const msnn__prompt *p, const float *emb,
                          const float box[4], float *logits, float *iou,
                          msnn__dec_cache *cache, msnn__run *r, ms_err *err)
{
    const msnn__twoway *l0 = &d->layer[0], *l1 = &d->layer[1];
    int nth = msnn_pool_size(r->pool), rc = MS_ENOMEM;
    float *tok, *q, *qp, *qn, *kx1;
    tq ta = { 0 }, tb = { 0 }, tc = { 0 };
    i2t ia = { 0 }, ib = { 0 };
    pass ps = { 0 };
    if ((rc = cache_prepare(cache, d, p, emb, r->o ? r->o->emb_id : 0, r)) < 0) {
        if (rc == MS_EINVAL)
            return ms_seterr(err, rc, "mask decoder: layer 0 projections are not 256 -> 8x16");
        goto oom;
    }
    rc = MS_ENOMEM;
    ALLOC(tok, NTOK * D);
    ALLOC(q, NTOK * D);
    ALLOC(qp, NTOK * D);
    ALLOC(qn, NTOK * D);
    ALLOC(kx1, (size_t)HW * D);
    ALLOC(ps.buf, (size_t)nth * PASS_BUF);
    memcpy(tok, d->iou_token, D * sizeof(float));
    memcpy(tok + D, d->mask_tokens, 4 * D * sizeof(float));
    msnn__prompt_box(p, box, tok + 5 * D);
    memcpy(q, tok, NTOK * D * sizeof(float));
    ps.pe = p->dense_pe;

    /* layer 0: self attention; pass 0: token->image over the cached k, v */
    if (tok_self(l0, 1, q, tok, r) < 0)
        goto oom;
    add(q, tok, qp, NTOK * D);
    if (tq_setup(&ta, &l0->t2i, 1, NTOK, qp, r) < 0)
        goto oom;
    ps.tok = &ta;
    ps.tk = cache->t2i_k;
    ps.tv = cache->t2i_v;
    run_pass(&ps, r);
    if (tq_finish(&ta, q, qn, r) < 0 || tok_mlp(l0, q, qn, r) < 0)
        goto oom;

    /* pass A: layer 0 image->token (cached q) -> kx1; layer 1 token->image */
    add(q, tok, qp, NTOK * D);
    if (i2t_setup(&ia, &l0->i2t, 1, qp, q, &l0->norm4, r) < 0 || tok_self(l1, 0, q, tok, r) < 0)
        goto oom;
    add(q, tok, qp, NTOK * D);
    if (tq_setup(&tb, &l1->t2i, 0, NTOK, qp, r) < 0)
        goto oom;
    memset(&ps, 0, offsetof(pass, buf));
    ps.pe = p->dense_pe;
    ps.img = &ia;
    ps.q = cache->i2t_q;
    ps.x = cache->kx;
    ps.xo = kx1;
    ps.tok = &tb;
    run_pass(&ps, r);
    i2t_free(&ia);
    if (tq_finish(&tb, q, qn, r) < 0 || tok_mlp(l1, q, qn, r) < 0)
        goto oom;

    /* pass B: layer 1 image->token -> kx2; final token->image; ConvT 1
     * into kx1's memory (a band of kx1 is read only before its band of the
     * ConvT is written, both rows [i0, i0 + BAND) of 256 floats) */
    add(q, tok, qp, NTOK * D);
    if (i2t_setup(&ib, &l1->i2t, 0, qp, q, &l1->norm4, r) < 0 ||
        tq_setup(&tc, &d->final_attn, 0, NOUT, qp, r) < 0)
        goto oom;
    memset(&ps, 0, offsetof(pass, buf));
    ps.pe = p->dense_pe;
    ps.img = &ib;
    ps.x = kx1;
    ps.tok = &tc;
    ps.up0 = &d->up0;
    ps.up0w = ib.kn ? msnn__gemm_packed_panels(d->up0.pk, ib.kn) : NULL;
    ps.up1 = &d->up1;
    ps.t0 = kx1;
    run_pass(&ps, r);
    i2t_free(&ib);
    if (tq_finish(&tc, q, qn, r) < 0)
        goto oom;
    norm(r, &d->norm_final, qn, q, NOUT);

    /* q[0]: iou token, q[1]: mask token 0 */
    float hyper[32], iou4[4];
    mlp3(d->hyper[0], q + D, hyper, r);
    if (upscale_rest(d, kx1, hyper, logits, r) < 0)
        goto oom;
    mlp3(d->iou_head, q, iou4, r);
    *iou = iou4[0];
    return MS_OK;
oom:
    msnn_gemm_packed_free(&ta.pk);
    msnn_gemm_packed_free(&tb.pk);
    msnn_gemm_packed_free(&tc.pk);
    i2t_free(&ia);
    i2t_free(&ib);
    return ms_seterr(err, rc, "mask decoder: out of memory for activations");
}
