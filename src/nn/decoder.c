/* The SAM mask decoder (two-way transformer + upscaling + hypernetwork), for
 * one box prompt with multimask_output = False (mask 0 and iou 0 only).
 *
 *   tokens (7 x 256) = [iou_token, mask_tokens 0..3, box corner 0, corner 1]
 *   image  (4096 x 256) = embedding (channels-last) + no_mask_embed
 *   2 TwoWayAttentionBlocks, final token->image attention, LayerNorm
 *   upscaling: ConvT 2x2/2 256->64, LayerNorm2d, GELU, ConvT 64->32, GELU
 *   logits (256 x 256) = upscaled (65536 x 32) . hypernetwork_0(mask token 0)
 *   iou = iou_head(iou token)[0]
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoder_kern.h"
#include "net.h"

#define NTOK 7
#define D 256
#define LN_EPS 1e-5f
#define LN2D_EPS 1e-6f
#define HW (MSNN_EMB * MSNN_EMB)

#define ALLOC(p, n) do { if (!((p) = msnn__arena_alloc(r->arena, (n)))) goto oom; } while (0)

/* in (n x 256) -> pre, if given (computed earlier), else a projection in the arena. */
static const float *project(const msnn__linear *l, const float *in, int n, const float *pre,
                            msnn__run *r)
{
    if (pre)
        return pre;
    float *y = msnn__arena_alloc(r->arena, (size_t)n * l->out);
    if (y)
        msnn__linear_fwd(l, n, in, D, y, l->out, NULL, 0, MSNN_ACT_NONE, r->pool);
    return y;
}

/* out (nq x 256) = out_proj(MHA(q_proj(qin), k_proj(kin), v_proj(vin))) + res.
 * The 1/sqrt(head dim) scale is folded into q_proj at load.  pre[0..2]: the
 * q, k, v projections when already known (NULL: computed here). */
static int attention(const msnn__attn *a, const float *qin, int nq, const float *kin,
                     const float *vin, int nk, const float *const pre[3], const float *res,
                     float *out, msnn__run *r)
{
    static const float *const none[3] = { NULL, NULL, NULL };
    int I = a->q.out, hd = I / a->heads;
    size_t mark = msnn__arena_mark(r->arena);
    const float *q, *k, *v;
    float *s, *o;
    pre = pre ? pre : none;
    if (!(q = project(&a->q, qin, nq, pre[0], r)) || !(k = project(&a->k, kin, nk, pre[1], r)) ||
        !(v = project(&a->v, vin, nk, pre[2], r)))
        goto oom;
    ALLOC(s, (size_t)nq * nk);
    ALLOC(o, (size_t)nq * I);
    for (int h = 0; h < a->heads; h++) {
        msnn_mat Q = { q + h * hd, I, 1 }, Kt = { k + h * hd, 1, I };
        msnn_gemm(nq, nk, hd, Q, Kt, s, nk, NULL, r->pool);       /* s: nq x nk */
        r->k->softmax(s, nq, nk, nk);
        msnn_mat S = { s, nk, 1 }, V = { v + h * hd, I, 1 };
        msnn_gemm(nq, hd, nk, S, V, o + h * hd, I, NULL, r->pool); /* o_h: nq x hd */
    }
    msnn__linear_fwd(&a->o, nq, o, I, out, D, res, D, MSNN_ACT_NONE, r->pool);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* Token queries over image keys, keys and values not projected (t2i of the
 * second layer, final attention), reassociated so that no 4096-row
 * projection is needed.  With G_h = q_h Wk_h (nq x 256) the scores are
 * q_h . (kin Wk_h^T + bk_h) = G_h kin^T + const per query row, and the row
 * constant cancels in the softmax; the values sum as P_h (kin Wv_h^T + bv_h)
 * = (P_h vin) Wv_h^T + bv_h because each softmax row sums to 1.  Costs
 * 2 x (heads * nq) x 4096 x 256 multiply-adds instead of 2 x 4096 x 256 x I. */
static int attention_tok(const msnn__attn *a, const float *qin, int nq, const float *kin,
                         const float *vin, int nk, const float *res, float *out, msnn__run *r)
{
    int I = a->q.out, H = a->heads, hd = I / H, nr = H * nq;
    size_t mark = msnn__arena_mark(r->arena);
    float *q, *g, *s, *px, *o;
    ALLOC(q, (size_t)nq * I);
    ALLOC(g, (size_t)nr * D);
    ALLOC(s, (size_t)nr * nk);
    ALLOC(px, (size_t)nr * D);
    ALLOC(o, (size_t)nq * I);
    msnn__linear_fwd(&a->q, nq, qin, D, q, I, NULL, 0, MSNN_ACT_NONE, NULL);
    for (int h = 0; h < H; h++) {   /* g rows h*nq..: q_h (nq x hd) . Wk_h (hd x 256) */
        msnn_mat Q = { q + h * hd, I, 1 }, W = { a->k.w + (size_t)h * hd * D, D, 1 };
        msnn_gemm(nq, D, hd, Q, W, g + (size_t)h * nq * D, D, NULL, NULL);
    }
    msnn_mat G = { g, D, 1 }, Kt = { kin, 1, D };
    msnn_gemm(nr, nk, D, G, Kt, s, nk, NULL, r->pool);          /* s: nr x nk */
    r->k->softmax(s, nr, nk, nk);
    msnn_mat S = { s, nk, 1 }, V = { vin, D, 1 };
    msnn_gemm(nr, D, nk, S, V, px, D, NULL, r->pool);            /* px: nr x 256 */
    for (int h = 0; h < H; h++) {   /* o_h = px_h (nq x 256) . Wv_h^T (256 x hd) + bv_h */
        msnn_mat P = { px + (size_t)h * nq * D, D, 1 };
        msnn_mat Wt = { a->v.w + (size_t)h * hd * D, 1, D };
        msnn_epi e = { 0 };
        e.bias = a->v.b ? a->v.b + h * hd : NULL;
        msnn_gemm(nq, hd, D, P, Wt, o + h * hd, I, &e, NULL);
    }
    msnn__linear_fwd(&a->o, nq, o, I, out, D, res, D, MSNN_ACT_NONE, r->pool);
    msnn__arena_release(r->arena, mark);
    return MS_OK;
oom:
    return MS_ENOMEM;
}

/* Image queries over token keys: one row of scores holds, for 8 heads and
 * up to 8 tokens, the score of (token t, head h) at t*8 + h, so that the
 * softmax over the tokens of each head runs lane-wise. */
#define IMG_LANES MSNN_DK_LANES
#define IMG_COLS (IMG_LANES * IMG_LANES)

#define IMG_CH 192           /* image rows per band (a multiple of 6 and 8) */

typedef struct img_task {
    const msnn_kernels *k;
    const msnn__dec_kernels *dk;
    const float *x;          /* queries: 4096 x kd */
    int kd, nk;
    const msnn_packed_b *pk_s; /* kd x 64: the score columns */
    const float *bs;         /* 64 or NULL: score bias */
    const msnn_packed_b *pk_o; /* (nk*8) x 256: VW */
    const float *bo;         /* 256 */
    const float *res;        /* 4096 x 256 */
    const msnn__norm *n4;
    const float *pe;         /* 4096 x 256 */
    float *kx, *kp;          /* 4096 x 256 each (may be x, res) */
    float *buf;              /* per thread: IMG_CH x (64 + 256) */
} img_task;

static void img_band(const img_task *t, int i0, int m, float *buf)
{
    float *s = buf, *o = buf + (size_t)IMG_CH * IMG_COLS;
    msnn_mat X = { t->x + (size_t)i0 * t->kd, t->kd, 1 };
    msnn_epi es = { 0 };
    es.bias = t->bs;
    msnn_gemm_packed(m, t->pk_s, X, s, IMG_COLS, &es, NULL);
    t->dk->softmax_lanes(s, m, IMG_COLS, t->nk);
    msnn_mat P = { s, IMG_COLS, 1 };
    msnn_epi eo = { 0 };
    eo.bias = t->bo;
    eo.residual = t->res + (size_t)i0 * D;
    eo.ldr = D;
    msnn_gemm_packed(m, t->pk_o, P, o, D, &eo, NULL);
    float *kx = t->kx + (size_t)i0 * D, *kp = t->kp + (size_t)i0 * D;
    const float *pe = t->pe + (size_t)i0 * D;
    t->k->layernorm(o, D, kx, D, m, D, t->n4->g, t->n4->b, LN_EPS);
    for (size_t i = 0; i < (size_t)m * D; i++)
        kp[i] = kx[i] + pe[i];
}

static void img_task_fn(void *arg, int ith, int nth)
{
    const img_task *t = arg;
    int lo, hi, nb = (HW + IMG_CH - 1) / IMG_CH;
    msnn_split(nb, ith, nth, &lo, &hi);
    for (int b = lo; b < hi; b++) {
        int i0 = b * IMG_CH, m = HW - i0 < IMG_CH ? HW - i0 : IMG_CH;
        img_band(t, i0, m, t->buf + (size_t)ith * IMG_CH * (IMG_COLS + D));
    }
}

/* The image attends to the tokens, then norm4:
 *   kx = LN4(res + bo + sum_h softmax(q_h k_h^T) v_h Wo_h^T),  kp = kx + pe.
 * The output projection is folded into the values, VW_(t,h) = v_h[t] Wo_h^T
 * (256 wide), so the image side is two products per band of rows: the
 * scores and P VW.  The scores are qpre (4096 x 128, the cached q_proj)
 * times a block-diagonal K (128 x 64), or, without qpre, qin (Wq_h^T k_h^T)
 * + bq_h . k_h: qin times a 256 x 64 matrix.  Bands of rows are independent
 * (kx, kp may alias qin, res: a band reads its rows before writing them). */
static int attention_img(const msnn__attn *a, const float *qin, const float *qpre,
                         const float *kin, const float *vin, int nk, const float *res,
                         const msnn__norm *n4, const float *pe, float *kx, float *kp,
                         msnn__run *r)
{
    int I = a->q.out, H = a->heads, hd = I / H, kd = qpre ? I : D;
    int nth = msnn_pool_size(r->pool), rc = MS_ENOMEM;
    size_t mark = msnn__arena_mark(r->arena);
    msnn_packed_b *pk_s = NULL, *pk_o = NULL;
    float *k, *v, *bs, *vw, *bias = NULL;
    if (H != IMG_LANES || nk > IMG_LANES)
        return MS_EINVAL;
    ALLOC(k, (size_t)nk * I);
    ALLOC(v, (size_t)nk * I);
    ALLOC(bs, (size_t)kd * IMG_COLS);
    ALLOC(vw, (size_t)nk * IMG_LANES * D);
    msnn__linear_fwd(&a->k, nk, kin, D, k, I, NULL, 0, MSNN_ACT_NONE, NULL);
    msnn__linear_fwd(&a->v, nk, vin, D, v, I, NULL, 0, MSNN_ACT_NONE, NULL);
    memset(bs, 0, (size_t)kd * IMG_COLS * sizeof *bs);
    if (qpre) {     /* bs[h*hd + c][t*8 + h] = k[t][h*hd + c] */
        for (int t = 0; t < nk; t++)
            for (int h = 0; h < H; h++)
                for (int c = 0; c < hd; c++)
                    bs[(size_t)(h * hd + c) * IMG_COLS + t * IMG_LANES + h] =
                        k[(size_t)t * I + h * hd + c];
    } else {        /* bs^T rows t*8 + h: k_h[t] (hd) . Wq_h (hd x 256) */
        ALLOC(bias, IMG_COLS);
        memset(bias, 0, IMG_COLS * sizeof *bias);
        for (int h = 0; h < H; h++) {
            msnn_mat Kh = { k + h * hd, I, 1 }, W = { a->q.w + (size_t)h * hd * D, D, 1 };
            msnn_gemm(nk, D, hd, Kh, W, bs + (size_t)h * D, IMG_LANES * D, NULL, NULL);
            for (int t = 0; t < nk; t++) {
                float acc = 0.0f;
                for (int c = 0; c < hd; c++)
                    acc += (a->q.b ? a->q.b[h * hd + c] : 0.0f) * k[(size_t)t * I + h * hd + c];
                bias[t * IMG_LANES + h] = acc;
            }
        }
    }
    for (int h = 0; h < H; h++) {   /* vw rows t*8 + h: v_h[t] (hd) . Wo_h^T (hd x 256) */
        msnn_mat Vh = { v + h * hd, I, 1 }, Wt = { a->o.w + h * hd, 1, I };
        msnn_gemm(nk, D, hd, Vh, Wt, vw + (size_t)h * D, IMG_LANES * D, NULL, NULL);
    }
    msnn_mat Bs = qpre ? (msnn_mat){ bs, IMG_COLS, 1 } : (msnn_mat){ bs, 1, D };
    msnn_mat Bo = { vw, D, 1 };
    if (!(pk_s = msnn_gemm_pack_b(kd, IMG_COLS, Bs)) ||
        !(pk_o = msnn_gemm_pack_b(nk * IMG_LANES, D, Bo)))
        goto fail;
    img_task t = { r->k, msnn__dec_kernels_get(), qpre ? qpre : qin, kd, nk, pk_s, bias, pk_o, a->o.b, res, n4, pe,
                   kx, kp, NULL };
    ALLOC(t.buf, (size_t)nth * IMG_CH * (IMG_COLS + D));
    msnn_pool_run(r->pool, img_task_fn, &t);
    rc = MS_OK;
    goto fail;
oom:
    rc = MS_ENOMEM;
fail:
    msnn_gemm_packed_free(&pk_s);
    msnn_gemm_packed_free(&pk_o);
    msnn__arena_release(r->arena, mark);
    return rc;
}

static void add(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

static void norm(msnn__run *r, const msnn__norm *n, const float *x, float *y, int rows)
{
    r->k->layernorm(x, D, y, D, rows, D, n->g, n->b, LN_EPS);
}

/* One TwoWayAttentionBlock.  q: tokens (7 x 256), updated in place;
 * kin: image (4096 x 256), kpin = kin + pe; the updated image is written to
 * kx and kx + pe to kp (these may be kin and kpin);
 * tpe: the token embedding used as query PE; pe: the dense image PE.
 * c (first layer only): the image-side values that do not depend on the box. */
static int twoway(const msnn__twoway *l, int first, float *q, const float *kin,
                  const float *kpin, float *kx, float *kp, const float *tpe,
                  const float *pe, const msnn__dec_cache *c, msnn__run *r)
{
    size_t mark = msnn__arena_mark(r->arena);
    float *qp, *qn, *h;
    ALLOC(qp, NTOK * D);
    ALLOC(qn, NTOK * D);
    ALLOC(h, NTOK * 2048);
    /* self attention (the first layer has no PE and no residual) */
    if (first) {
        if (attention(&l->self_attn, q, NTOK, q, q, NTOK, NULL, NULL, qn, r) < 0)
            goto oom;
    } else {
        add(q, tpe, qp, NTOK * D);
        if (attention(&l->self_attn, qp, NTOK, qp, q, NTOK, NULL, q, qn, r) < 0)
            goto oom;
    }
    norm(r, &l->norm1, qn, q, NTOK);
    /* tokens attend to the image */
    add(q, tpe, qp, NTOK * D);
    if (c) {
        const float *t2i_pre[3] = { NULL, c->t2i_k, c->t2i_v };
        if (attention(&l->t2i, qp, NTOK, kpin, kin, HW, t2i_pre, q, qn, r) < 0)
            goto oom;
    } else if (attention_tok(&l->t2i, qp, NTOK, kpin, kin, HW, q, qn, r) < 0) {
        goto oom;
    }
    norm(r, &l->norm2, qn, q, NTOK);
    /* MLP (ReLU) */
    msnn__linear_fwd(&l->lin1, NTOK, q, D, h, 2048, NULL, 0, MSNN_ACT_RELU, r->pool);
    msnn__linear_fwd(&l->lin2, NTOK, h, 2048, qn, D, q, D, MSNN_ACT_NONE, r->pool);
    norm(r, &l->norm3, qn, q, NTOK);
    /* the image attends to the tokens (+ norm4) */
    add(q, tpe, qp, NTOK * D);
    if (attention_img(&l->i2t, kpin, c ? c->i2t_q : NULL, qp, q, NTOK, kin, &l->norm4, pe,
                      kx, kp, r) < 0)
        goto oom;
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
 * with hyper.  The second half runs per band of input rows, in buffers that
 * stay in cache; no scatter pass and no 256x256x32 tensor. */
#define UP_BAND 64           /* input pixels per band: one row of the 64x64 map */
#define UP_ROWS (UP_BAND * 4)

typedef struct up_task {
    const msnn__decoder *d;
    const msnn_kernels *k;
    const msnn__dec_kernels *dk;
    float *t0;               /* 4096 x 256, normalised in place */
    float *buf;              /* per thread: UP_ROWS x 128, then UP_ROWS x 4 */
    const float *hyper;      /* 32 */
    float *logits;           /* 256 x 256 */
} up_task;

static void up_band(const up_task *t, int y, float *buf)
{
    const msnn__decoder *d = t->d;
    float *u = t->t0 + (size_t)y * UP_BAND * 4 * 64;     /* UP_ROWS x 64 */
    t->k->layernorm(u, 64, u, 64, UP_ROWS, 64, d->up1.g, d->up1.b, LN2D_EPS);
    t->k->gelu(u, (size_t)UP_ROWS * 64);
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

static int upscale(const msnn__decoder *d, const float *kx, const float hyper[32],
                   float *logits, msnn__run *r)
{
    size_t mark = msnn__arena_mark(r->arena);
    int nth = msnn_pool_size(r->pool);
    up_task t = { d, r->k, msnn__dec_kernels_get(), NULL, NULL, hyper, logits };
    ALLOC(t.t0, (size_t)HW * 4 * 64);
    ALLOC(t.buf, (size_t)nth * UP_ROWS * 132);
    msnn__linear_fwd(&d->up0, HW, kx, D, t.t0, 4 * 64, NULL, 0, MSNN_ACT_NONE, r->pool);
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

void msnn__dec_cache_free(msnn__dec_cache *c)
{
    free(c->block);
    memset(c, 0, sizeof *c);
}

/* The part of the decoder that depends on the embedding only, kept for the
 * next boxes on the same embedding (every box of a 2D image, of a 3D slice):
 * src = embedding (channels-last) + no_mask_embed, src + PE, and the first
 * layer's image-side projections.  Valid while the embedding is unchanged
 * (compared in full: a few MB, microseconds next to the projections). */
static int cache_prepare(msnn__dec_cache *c, const msnn__decoder *d, const msnn__prompt *p,
                         const float *emb, msnn__run *r)
{
    const size_t ne = (size_t)D * HW, nh = (size_t)HW * 128;
    if (c->valid && memcmp(c->emb, emb, ne * sizeof(float)) == 0)
        return MS_OK;
    c->valid = 0;
    if (!c->block) {
        c->block = malloc((3 * ne + 3 * nh) * sizeof(float));
        if (!c->block)
            return MS_ENOMEM;
        c->emb = c->block;
        c->kx = c->emb + ne;
        c->kp = c->kx + ne;
        c->t2i_k = c->kp + ne;
        c->t2i_v = c->t2i_k + nh;
        c->i2t_q = c->t2i_v + nh;
    }
    memcpy(c->emb, emb, ne * sizeof(float));
    for (int ch = 0; ch < D; ch++)
        for (int i = 0; i < HW; i++)
            c->kx[(size_t)i * D + ch] = emb[(size_t)ch * HW + i] + p->no_mask[ch];
    add(c->kx, p->dense_pe, c->kp, ne);
    const msnn__twoway *l = &d->layer[0];
    msnn__linear_fwd(&l->t2i.k, HW, c->kp, D, c->t2i_k, 128, NULL, 0, MSNN_ACT_NONE, r->pool);
    msnn__linear_fwd(&l->t2i.v, HW, c->kx, D, c->t2i_v, 128, NULL, 0, MSNN_ACT_NONE, r->pool);
    msnn__linear_fwd(&l->i2t.q, HW, c->kp, D, c->i2t_q, 128, NULL, 0, MSNN_ACT_NONE, r->pool);
    c->valid = 1;
    return MS_OK;
}

int msnn__decoder_forward(const msnn__decoder *d, const msnn__prompt *p, const float *emb,
                          const float box[4], float *logits, float *iou,
                          msnn__dec_cache *cache, msnn__run *r, ms_err *err)
{
    float *tok, *q, *kx, *qp, *kp, *qn;
    if (cache_prepare(cache, d, p, emb, r) < 0)
        goto oom;
    ALLOC(tok, NTOK * D);
    ALLOC(q, NTOK * D);
    ALLOC(kx, (size_t)HW * D);
    ALLOC(kp, (size_t)HW * D);
    memcpy(tok, d->iou_token, D * sizeof(float));
    memcpy(tok + D, d->mask_tokens, 4 * D * sizeof(float));
    msnn__prompt_box(p, box, tok + 5 * D);
    memcpy(q, tok, NTOK * D * sizeof(float));
    /* layer 0 reads the cached image, writes kx, kp; layer 1 updates them */
    if (twoway(&d->layer[0], 1, q, cache->kx, cache->kp, kx, kp, tok, p->dense_pe, cache, r) < 0 ||
        twoway(&d->layer[1], 0, q, kx, kp, kx, kp, tok, p->dense_pe, NULL, r) < 0)
        goto oom;
    ALLOC(qp, NTOK * D);
    ALLOC(qn, NTOK * D);
    add(q, tok, qp, NTOK * D);
    if (attention_tok(&d->final_attn, qp, NTOK, kp, kx, HW, q, qn, r) < 0)
        goto oom;
    norm(r, &d->norm_final, qn, q, NTOK);
    /* q[0]: iou token, q[1]: mask token 0 */
    float hyper[32], iou4[4];
    mlp3(d->hyper[0], q + D, hyper, r);
    if (upscale(d, kx, hyper, logits, r) < 0)
        goto oom;
    mlp3(d->iou_head, q, iou4, r);
    *iou = iou4[0];
    return MS_OK;
oom:
    return ms_seterr(err, MS_ENOMEM, "mask decoder: out of memory for activations");
}
