/* LiteMedSAM weights: every checkpoint tensor looked up by name, its dtype and
 * shape checked against the model, then re-arranged for the kernels
 * (BatchNorm folded into the conv before it, depthwise weights as [9][C],
 * the TinyViT attention bias table gathered, attention scales folded into
 * the query projections, transposed convs as GEMM weights, GEMM weights packed).
 *
 * All problems are collected in one pass, so the error names every missing,
 * mis-shaped and unexpected key (the first few of each kind, with a count).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "pth.h"

#define BN_EPS 1e-5
#define LIST_MAX 3             /* names quoted per kind of problem */
#define MAX_LINEAR 128         /* GEMM weights in the model: 103 */

typedef struct loader {
    msnn_model *m;
    const msnn_pth *p;
    const char *path;
    size_t n;                  /* tensors in the checkpoint */
    unsigned char *used;       /* [n] */
    char name[160];
    int n_missing, n_shape, n_dtype;
    char missing[LIST_MAX][176], shape[LIST_MAX][320], dtype[LIST_MAX][320];
    int fatal;                 /* MS_ENOMEM or a conversion error code */
    msnn__linear *lin[MAX_LINEAR];   /* every GEMM weight, packed at the end */
    int n_lin;
    ms_err *err;
} loader;

/* ------------------------------------------------------------ bookkeeping */

static float *track(msnn_model *m, size_t nfloats)
{
    if (m->n_allocs == m->cap_allocs) {
        int cap = m->cap_allocs ? 2 * m->cap_allocs : 1024;
        float **a = realloc(m->allocs, (size_t)cap * sizeof(*a));
        if (!a)
            return NULL;
        m->allocs = a;
        m->cap_allocs = cap;
    }
    float *p = malloc((nfloats ? nfloats : 1) * sizeof(float));
    if (!p)
        return NULL;
    m->allocs[m->n_allocs++] = p;
    m->weight_bytes += nfloats * sizeof(float);
    return p;
}

static void untrack_free(msnn_model *m, float *p, size_t nfloats)
{
    for (int i = m->n_allocs - 1; i >= 0; i--)
        if (m->allocs[i] == p) {
            m->allocs[i] = m->allocs[--m->n_allocs];
            m->weight_bytes -= nfloats * sizeof(float);
            free(p);
            return;
        }
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *s)
{
    size_t o = 0;
    if (ndim == 0) {
        snprintf(buf, cap, "scalar");
        return;
    }
    buf[0] = 0;
    for (int i = 0; i < ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, i ? "x%lld" : "%lld", (long long)s[i]);
}

static size_t tensor_index(const loader *L, const msnn_pth_tensor *t)
{
    for (size_t i = 0; i < L->n; i++)
        if (msnn_pth_at(L->p, i) == t)
            return i;
    return L->n;
}

/* Look up L->name; check floating dtype and the expected shape; convert. */
static float *get_shape(loader *L, int ndim, const int64_t *dims)
{
    const msnn_pth_tensor *t = msnn_pth_find(L->p, L->name);
    if (!t) {
        if (L->n_missing < LIST_MAX)
            snprintf(L->missing[L->n_missing], sizeof L->missing[0], "%s", L->name);
        L->n_missing++;
        return NULL;
    }
    size_t idx = tensor_index(L, t);
    if (idx < L->n)
        L->used[idx] = 1;
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->shape[i] == dims[i];
    if (!ok) {
        char got[64], want[64];
        shape_str(got, sizeof got, t->ndim, t->shape);
        shape_str(want, sizeof want, ndim, dims);
        if (L->n_shape < LIST_MAX)
            snprintf(L->shape[L->n_shape], sizeof L->shape[0], "'%s' has shape %s, expected %s",
                     L->name, got, want);
        L->n_shape++;
        return NULL;
    }
    if (t->dtype != MSNN_PTH_F32 && t->dtype != MSNN_PTH_F16 && t->dtype != MSNN_PTH_BF16 &&
        t->dtype != MSNN_PTH_F64) {
        if (L->n_dtype < LIST_MAX)
            snprintf(L->dtype[L->n_dtype], sizeof L->dtype[0], "'%s' is %s, expected float32",
                     L->name, msnn_pth_dtype_name(t->dtype));
        L->n_dtype++;
        return NULL;
    }
    if (L->fatal)
        return NULL;
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)dims[i];          /* small model dims: no overflow */
    float *dst = track(L->m, n);
    if (!dst) {
        L->fatal = MS_ENOMEM;
        return NULL;
    }
    int rc = msnn_pth_to_f32(L->p, t, dst, n, L->err);
    if (rc < 0) {
        L->fatal = rc;
        return NULL;
    }
    return dst;
}

static void vname(loader *L, const char *fmt, va_list ap)
{
    vsnprintf(L->name, sizeof L->name, fmt, ap);
}

/* get(L, ndim, d0, d1, d2, d3, fmt, ...): a tensor of the given shape. */
static float *get(loader *L, int ndim, int d0, int d1, int d2, int d3, const char *fmt, ...)
{
    int64_t dims[4] = { d0, d1, d2, d3 };
    va_list ap;
    va_start(ap, fmt);
    vname(L, fmt, ap);
    va_end(ap);
    return get_shape(L, ndim, dims);
}

/* BatchNorm's num_batches_tracked: an integer scalar, value unused. */
static void get_nbt(loader *L, const char *prefix)
{
    snprintf(L->name, sizeof L->name, "%s.bn.num_batches_tracked", prefix);
    const msnn_pth_tensor *t = msnn_pth_find(L->p, L->name);
    if (!t) {
        if (L->n_missing < LIST_MAX)
            snprintf(L->missing[L->n_missing], sizeof L->missing[0], "%s", L->name);
        L->n_missing++;
        return;
    }
    size_t idx = tensor_index(L, t);
    if (idx < L->n)
        L->used[idx] = 1;
}

/* ------------------------------------------------------------ layer loaders */

static void add_linear(loader *L, msnn__linear *l)
{
    if (L->n_lin < MAX_LINEAR)
        L->lin[L->n_lin++] = l;
    else
        L->fatal = MS_ENOMEM;   /* cannot happen with this model */
}

/* Scale per output channel s = gamma / sqrt(var + eps) and shift beta - mean*s. */
static int bn_fold(loader *L, const char *prefix, int c, float **scale, float **shift)
{
    float *g = get(L, 1, c, 0, 0, 0, "%s.bn.weight", prefix);
    float *b = get(L, 1, c, 0, 0, 0, "%s.bn.bias", prefix);
    float *mu = get(L, 1, c, 0, 0, 0, "%s.bn.running_mean", prefix);
    float *var = get(L, 1, c, 0, 0, 0, "%s.bn.running_var", prefix);
    get_nbt(L, prefix);
    if (!g || !b || !mu || !var)
        return 0;
    for (int i = 0; i < c; i++) {
        double s = (double)g[i] / sqrt((double)var[i] + BN_EPS);
        g[i] = (float)s;
        b[i] = (float)((double)b[i] - (double)mu[i] * s);
    }
    *scale = g;
    *shift = b;
    return 1;
}

/* Conv2d_BN with a 1x1 kernel -> linear with folded BN. */
static void conv_bn_1x1(loader *L, msnn__linear *l, int in, int out, const char *fmt, ...)
{
    char prefix[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    l->in = in;
    l->out = out;
    add_linear(L, l);
    l->w = get(L, 4, out, in, 1, 1, "%s.c.weight", prefix);
    float *s, *sh;
    if (!bn_fold(L, prefix, out, &s, &sh) || !l->w)
        return;
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
            l->w[(size_t)o * in + i] *= s[o];
    l->b = sh;
}

/* Conv2d_BN depthwise 3x3 -> [9][C] weights with folded BN. */
static void conv_bn_dw(loader *L, msnn__dw3 *d, int c, const char *fmt, ...)
{
    char prefix[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    d->c = c;
    float *w = get(L, 4, c, 1, 3, 3, "%s.c.weight", prefix);
    float *s, *sh;
    if (!bn_fold(L, prefix, c, &s, &sh) || !w)
        return;
    d->w = track(L->m, (size_t)9 * c);
    if (!d->w) {
        L->fatal = MS_ENOMEM;
        return;
    }
    for (int ch = 0; ch < c; ch++)
        for (int t = 0; t < 9; t++)
            d->w[(size_t)t * c + ch] = w[ch * 9 + t] * s[ch];
    untrack_free(L->m, w, (size_t)9 * c);
    d->b = sh;
}

static void linear(loader *L, msnn__linear *l, int in, int out, int bias, const char *prefix)
{
    l->in = in;
    l->out = out;
    add_linear(L, l);   /* packed (and w freed) after loading */
    l->w = get(L, 2, out, in, 0, 0, "%s.weight", prefix);
    l->b = bias ? get(L, 1, out, 0, 0, 0, "%s.bias", prefix) : NULL;
}

/* A linear whose [out][in] weight stays unpacked: the mask decoder's
 * attention reads per-head slices of it (decoder.c). */
static void linear_raw(loader *L, msnn__linear *l, int in, int out, int bias, const char *prefix)
{
    l->in = in;
    l->out = out;
    l->w = get(L, 2, out, in, 0, 0, "%s.weight", prefix);
    l->b = bias ? get(L, 1, out, 0, 0, 0, "%s.bias", prefix) : NULL;
}

static void norm(loader *L, msnn__norm *n, int c, const char *prefix)
{
    n->c = c;
    n->g = get(L, 1, c, 0, 0, 0, "%s.weight", prefix);
    n->b = get(L, 1, c, 0, 0, 0, "%s.bias", prefix);
}

/* Multiply output rows [r0, r1) of a linear layer (weights and bias) by s. */
static void scale_rows(msnn__linear *l, int r0, int r1, float s)
{
    if (!l->w || !l->b)
        return;
    for (int r = r0; r < r1; r++) {
        for (int i = 0; i < l->in; i++)
            l->w[(size_t)r * l->in + i] *= s;
        l->b[r] *= s;
    }
}

/* ------------------------------------------------------------ TinyViT */

/* ab[h][i][j] = attention_biases[h][idx(i, j)]: TinyViT numbers the offsets
 * (|dy|, |dx|) in order of first appearance over (p1, p2) in row-major order;
 * p1 = (0,0) alone already meets every offset, in the order dy*ws + dx. */
static float *gather_ab(loader *L, const float *biases, int heads, int ws)
{
    int N = ws * ws;
    float *ab = track(L->m, (size_t)heads * N * N);
    if (!ab) {
        L->fatal = MS_ENOMEM;
        return NULL;
    }
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int dy = abs(i / ws - j / ws), dx = abs(i % ws - j % ws);
                ab[((size_t)h * N + i) * N + j] = biases[h * N + dy * ws + dx];
            }
    return ab;
}

static void load_vitblock(loader *L, msnn__vitblock *b, int stage, int i)
{
    int C = msnn__dims[stage], heads = msnn__heads[stage], ws = msnn__windows[stage];
    char pre[128], name[160];
    snprintf(pre, sizeof pre, "image_encoder.layers.%d.blocks.%d", stage, i);
    float *biases = get(L, 2, heads, ws * ws, 0, 0, "%s.attn.attention_biases", pre);
    if (biases)
        b->ab = gather_ab(L, biases, heads, ws);
    snprintf(name, sizeof name, "%s.attn.norm", pre);
    norm(L, &b->attn_norm, C, name);
    snprintf(name, sizeof name, "%s.attn.qkv", pre);
    linear(L, &b->qkv, C, 3 * C, 1, name);
    snprintf(name, sizeof name, "%s.attn.proj", pre);
    linear(L, &b->proj, C, C, 1, name);
    conv_bn_dw(L, &b->local, C, "%s.local_conv", pre);
    snprintf(name, sizeof name, "%s.mlp.norm", pre);
    norm(L, &b->mlp_norm, C, name);
    snprintf(name, sizeof name, "%s.mlp.fc1", pre);
    linear(L, &b->fc1, C, 4 * C, 1, name);
    snprintf(name, sizeof name, "%s.mlp.fc2", pre);
    linear(L, &b->fc2, 4 * C, C, 1, name);
    /* q of head h: output rows h*3kd .. h*3kd+kd (attn_ratio 1: d = kd) */
    int kd = C / heads;
    float scale = 1.0f / sqrtf((float)kd);
    for (int h = 0; h < heads; h++)
        scale_rows(&b->qkv, h * 3 * kd, h * 3 * kd + kd, scale);
}

static void load_tinyvit(loader *L, msnn__tinyvit *t)
{
    conv_bn_1x1(L, &t->pe0, 3, 32, "image_encoder.patch_embed.seq.0");
    conv_bn_1x1(L, &t->pe1, 32, 64, "image_encoder.patch_embed.seq.2");
    for (int i = 0; i < 2; i++) {
        const char *f = "image_encoder.layers.0.blocks.%d.conv%d";
        conv_bn_1x1(L, &t->mb[i].conv1, 64, 256, f, i, 1);
        conv_bn_dw(L, &t->mb[i].conv2, 256, f, i, 2);
        conv_bn_1x1(L, &t->mb[i].conv3, 256, 64, f, i, 3);
    }
    for (int s = 0; s < 3; s++) {
        int in = msnn__dims[s], out = msnn__dims[s + 1];
        const char *f = "image_encoder.layers.%d.downsample.conv%d";
        conv_bn_1x1(L, &t->merge[s].conv1, in, out, f, s, 1);
        conv_bn_dw(L, &t->merge[s].conv2, out, f, s, 2);
        conv_bn_1x1(L, &t->merge[s].conv3, out, out, f, s, 3);
        t->merge[s].stride = out == 320 ? 1 : 2;   /* as upstream's PatchMerging */
    }
    for (int s = 1; s < MSNN_STAGES; s++) {
        t->blocks[s] = (msnn__vitblock *)track(L->m, (sizeof(msnn__vitblock) *
                                                      msnn__depths[s] + 3) / 4);
        if (!t->blocks[s]) {
            L->fatal = MS_ENOMEM;
            return;
        }
        memset(t->blocks[s], 0, sizeof(msnn__vitblock) * msnn__depths[s]);
        for (int i = 0; i < msnn__depths[s]; i++)
            load_vitblock(L, &t->blocks[s][i], s, i);
    }
    t->neck0.in = 320;
    t->neck0.out = 256;
    add_linear(L, &t->neck0);
    t->neck0.w = get(L, 4, 256, 320, 1, 1, "image_encoder.neck.0.weight");
    norm(L, &t->neck1, 256, "image_encoder.neck.1");
    float *w2 = get(L, 4, 256, 256, 3, 3, "image_encoder.neck.2.weight");
    norm(L, &t->neck3, 256, "image_encoder.neck.3");
    t->neck2.in = 9 * 256;
    t->neck2.out = 256;
    add_linear(L, &t->neck2);
    if (!w2)
        return;
    /* [co][ci][ky][kx] -> [co][(ky*3+kx)*256 + ci], the im2col column order */
    t->neck2.w = track(L->m, (size_t)256 * 2304);
    if (!t->neck2.w) {
        L->fatal = MS_ENOMEM;
        return;
    }
    for (int co = 0; co < 256; co++)
        for (int ci = 0; ci < 256; ci++)
            for (int tap = 0; tap < 9; tap++)
                t->neck2.w[(size_t)co * 2304 + tap * 256 + ci] = w2[((size_t)co * 256 + ci) * 9 + tap];
    untrack_free(L->m, w2, (size_t)256 * 2304);
}

/* ------------------------------------------------------------ prompt encoder + decoder */

static void load_prompt(loader *L, msnn__prompt *p)
{
    p->gauss = get(L, 2, 2, 128, 0, 0, "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix");
    for (int i = 0; i < 4; i++)
        p->point[i] = get(L, 2, 1, 256, 0, 0, "prompt_encoder.point_embeddings.%d.weight", i);
    p->not_a_point = get(L, 2, 1, 256, 0, 0, "prompt_encoder.not_a_point_embed.weight");
    p->no_mask = get(L, 2, 1, 256, 0, 0, "prompt_encoder.no_mask_embed.weight");
    /* the mask input branch is never used with box prompts: checked only */
    const char *md = "prompt_encoder.mask_downscaling";
    get(L, 4, 4, 1, 2, 2, "%s.0.weight", md);
    get(L, 1, 4, 0, 0, 0, "%s.0.bias", md);
    get(L, 1, 4, 0, 0, 0, "%s.1.weight", md);
    get(L, 1, 4, 0, 0, 0, "%s.1.bias", md);
    get(L, 4, 16, 4, 2, 2, "%s.3.weight", md);
    get(L, 1, 16, 0, 0, 0, "%s.3.bias", md);
    get(L, 1, 16, 0, 0, 0, "%s.4.weight", md);
    get(L, 1, 16, 0, 0, 0, "%s.4.bias", md);
    get(L, 4, 256, 16, 1, 1, "%s.6.weight", md);
    get(L, 1, 256, 0, 0, 0, "%s.6.bias", md);
}

static void load_attn(loader *L, msnn__attn *a, int internal, const char *prefix)
{
    char name[200];
    a->heads = 8;
    snprintf(name, sizeof name, "%.180s.q_proj", prefix);
    linear_raw(L, &a->q, 256, internal, 1, name);
    snprintf(name, sizeof name, "%.180s.k_proj", prefix);
    linear_raw(L, &a->k, 256, internal, 1, name);
    snprintf(name, sizeof name, "%.180s.v_proj", prefix);
    linear_raw(L, &a->v, 256, internal, 1, name);
    snprintf(name, sizeof name, "%.180s.out_proj", prefix);
    linear_raw(L, &a->o, internal, 256, 1, name);
    scale_rows(&a->q, 0, internal, 1.0f / sqrtf((float)(internal / a->heads)));
}

/* ConvTranspose2d weight [in][out][2][2] + bias [out] -> linear in -> 4*out,
 * output column (dy*2+dx)*out + o. */
static void convt(loader *L, msnn__linear *l, int in, int out, const char *prefix)
{
    float *w = get(L, 4, in, out, 2, 2, "%s.weight", prefix);
    float *b = get(L, 1, out, 0, 0, 0, "%s.bias", prefix);
    l->in = in;
    l->out = 4 * out;
    add_linear(L, l);
    if (!w || !b)
        return;
    l->w = track(L->m, (size_t)4 * out * in);
    l->b = track(L->m, (size_t)4 * out);
    if (!l->w || !l->b) {
        L->fatal = MS_ENOMEM;
        return;
    }
    for (int t = 0; t < 4; t++)
        for (int o = 0; o < out; o++) {
            l->b[t * out + o] = b[o];
            for (int i = 0; i < in; i++)
                l->w[((size_t)t * out + o) * in + i] = w[((size_t)i * out + o) * 4 + t];
        }
}

static void load_decoder(loader *L, msnn__decoder *d)
{
    char pre[160], name[200];
    for (int i = 0; i < 2; i++) {
        msnn__twoway *l = &d->layer[i];
        snprintf(pre, sizeof pre, "mask_decoder.transformer.layers.%d", i);
        snprintf(name, sizeof name, "%s.self_attn", pre);
        load_attn(L, &l->self_attn, 256, name);
        snprintf(name, sizeof name, "%s.cross_attn_token_to_image", pre);
        load_attn(L, &l->t2i, 128, name);
        snprintf(name, sizeof name, "%s.cross_attn_image_to_token", pre);
        load_attn(L, &l->i2t, 128, name);
        msnn__norm *n[4] = { &l->norm1, &l->norm2, &l->norm3, &l->norm4 };
        for (int k = 0; k < 4; k++) {
            snprintf(name, sizeof name, "%s.norm%d", pre, k + 1);
            norm(L, n[k], 256, name);
        }
        snprintf(name, sizeof name, "%s.mlp.lin1", pre);
        linear(L, &l->lin1, 256, 2048, 1, name);
        snprintf(name, sizeof name, "%s.mlp.lin2", pre);
        linear(L, &l->lin2, 2048, 256, 1, name);
    }
    load_attn(L, &d->final_attn, 128, "mask_decoder.transformer.final_attn_token_to_image");
    norm(L, &d->norm_final, 256, "mask_decoder.transformer.norm_final_attn");
    d->iou_token = get(L, 2, 1, 256, 0, 0, "mask_decoder.iou_token.weight");
    d->mask_tokens = get(L, 2, 4, 256, 0, 0, "mask_decoder.mask_tokens.weight");
    convt(L, &d->up0, 256, 64, "mask_decoder.output_upscaling.0");
    norm(L, &d->up1, 64, "mask_decoder.output_upscaling.1");
    convt(L, &d->up3, 64, 32, "mask_decoder.output_upscaling.3");
    for (int m = 0; m < 4; m++)
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "mask_decoder.output_hypernetworks_mlps.%d.layers.%d", m, k);
            linear(L, &d->hyper[m][k], 256, k == 2 ? 32 : 256, 1, name);
        }
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "mask_decoder.iou_prediction_head.layers.%d", k);
        linear(L, &d->iou_head[k], 256, k == 2 ? 4 : 256, 1, name);
    }
}

/* ------------------------------------------------------------ packing */

static int pack(msnn_model *m, msnn__linear *l)
{
    msnn_mat B = { l->w, 1, l->in };   /* B(k, j) = W[j][k] */
    l->pk = msnn_gemm_pack_b(l->in, l->out, B);
    if (!l->pk)
        return MS_ENOMEM;
    m->packs[m->n_packs++] = l->pk;
    untrack_free(m, l->w, (size_t)l->in * l->out);
    m->weight_bytes += (size_t)l->in * l->out * sizeof(float);   /* the packed copy */
    l->w = NULL;
    return MS_OK;
}

static int pack_all(msnn_model *m, loader *L)
{
    m->packs = calloc((size_t)L->n_lin, sizeof(*m->packs));
    if (!m->packs)
        return MS_ENOMEM;
    for (int i = 0; i < L->n_lin; i++) {
        int rc = pack(m, L->lin[i]);
        if (rc < 0)
            return rc;
    }
    return MS_OK;
}

/* ------------------------------------------------------------ entry */

static int report(loader *L)
{
    char msg[MS_ERR_MSG_MAX];
    size_t o = 0;
    int code = MS_OK;
    msg[0] = 0;
#define ADD(...) do { if (o < sizeof msg) o += (size_t)snprintf(msg + o, sizeof msg - o, __VA_ARGS__); } while (0)
    for (int i = 0; i < L->n_missing && i < LIST_MAX; i++)
        ADD("%smissing key '%s'", o ? "; " : "", L->missing[i]);
    if (L->n_missing > LIST_MAX)
        ADD(" (%d missing in all)", L->n_missing);
    if (L->n_missing)
        code = MS_ENOTFOUND;
    for (int i = 0; i < L->n_shape && i < LIST_MAX; i++)
        ADD("%s%s", o ? "; " : "", L->shape[i]);
    if (L->n_shape > LIST_MAX)
        ADD(" (%d mis-shaped in all)", L->n_shape);
    if (L->n_shape && !code)
        code = MS_ESHAPE;
    for (int i = 0; i < L->n_dtype && i < LIST_MAX; i++)
        ADD("%s%s", o ? "; " : "", L->dtype[i]);
    if (L->n_dtype && !code)
        code = MS_EUNSUPP;
    int n_unexp = 0;
    for (size_t i = 0; i < L->n; i++)
        if (!L->used[i]) {
            if (n_unexp < LIST_MAX)
                ADD("%sunexpected key '%s'", o ? "; " : "", msnn_pth_at(L->p, i)->name);
            n_unexp++;
        }
    if (n_unexp > LIST_MAX)
        ADD(" (%d unexpected in all)", n_unexp);
    if (n_unexp && !code)
        code = MS_EFORMAT;
#undef ADD
    if (code)
        return ms_seterr(L->err, code, "%s: not a LiteMedSAM checkpoint: %s", L->path, msg);
    return MS_OK;
}

int msnn__weights_load(msnn_model *m, const char *path, ms_err *err)
{
    msnn_pth *p = NULL;
    int rc = msnn_pth_open(path, &p, err);
    if (rc < 0)
        return rc;
    loader L;
    memset(&L, 0, sizeof L);
    L.m = m;
    L.p = p;
    L.path = path;
    L.err = err;
    L.n = msnn_pth_count(p);
    L.used = calloc(L.n ? L.n : 1, 1);
    if (!L.used) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    load_tinyvit(&L, &m->enc);
    load_prompt(&L, &m->pr);
    load_decoder(&L, &m->dec);
    if (L.fatal) {
        rc = L.fatal == MS_ENOMEM ? ms_seterr(err, MS_ENOMEM, "%s: out of memory", path)
                                  : L.fatal;
        goto fail;
    }
    rc = report(&L);
    if (rc < 0)
        goto fail;
    m->pr.dense_pe = track(m, (size_t)MSNN_EMB * MSNN_EMB * MSNN_EMB_C);
    if (!m->pr.dense_pe || (rc = pack_all(m, &L)) < 0) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    msnn__prompt_dense_pe(&m->pr, m->pr.dense_pe);
    rc = MS_OK;
fail:
    free(L.used);
    msnn_pth_close(&p);
    return rc;
}

void msnn__weights_free(msnn_model *m)
{
    for (int i = 0; i < m->n_packs; i++)
        msnn_gemm_packed_free(&m->packs[i]);
    free(m->packs);
    m->packs = NULL;
    m->n_packs = 0;
    for (int i = 0; i < m->n_allocs; i++)
        free(m->allocs[i]);
    free(m->allocs);
    m->allocs = NULL;
    m->n_allocs = m->cap_allocs = 0;
}

void msnn__linear_fwd(const msnn__linear *l, int M, const float *x, ptrdiff_t ldx,
                      float *y, ptrdiff_t ldy, const float *res, ptrdiff_t ldr, int act,
                      msnn_pool *pool)
{
    msnn_epi e = { 0 };
    e.bias = l->b;
    e.residual = res;
    e.ldr = ldr;
    e.act = act;
    msnn_mat A = { x, ldx, 1 };
    if (l->pk) {
        msnn_gemm_packed(M, l->pk, A, y, ldy, &e, pool);
    } else {
        msnn_mat B = { l->w, 1, l->in };
        msnn_gemm(M, l->out, l->in, A, B, y, ldy, &e, pool);
    }
}
