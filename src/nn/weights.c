/* LiteMedSAM weights: every checkpoint tensor looked up by name, its dtype and
 * shape checked against the model, then re-arranged for the kernels
 * (BatchNorm folded into the conv before it, depthwise weights as [9][C],
 * the TinyViT attention bias table gathered, attention scales folded into
 * the query projections, transposed convs as GEMM weights, GEMM weights packed,
 * the neck's 3x3 conv as Winograd F(4x4,3x3) weights).
 *
 * All problems are collected in one pass, so the error names every missing,
 * mis-shaped and unexpected key (the first few of each kind, with a count).
 *
 * Memory (the load is paid once per run, mostly in first-touch page faults):
 * the weights the kernels read unpacked live in a few large chunks (bump
 * allocated, 64-byte aligned, transparent huge pages where the kernel allows
 * them).  A GEMM weight is not converted at lookup: its checkpoint tensor is
 * remembered with the per-row scale to fold in, and at the end it is read
 * straight from the mapped file (float32, contiguous: the usual case) into
 * one [in][out] scratch, which msnn_gemm_pack_b_into copies into panels, all
 * in one chunk.  The scratch is the memory the dense positional encoding
 * fills afterwards.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "net.h"
#include "pth.h"

#define BN_EPS 1e-5
#define LIST_MAX 3             /* names quoted per kind of problem */
#define MAX_LINEAR 128         /* GEMM weights in the model: 103 */

#define CHUNK_ALIGN ((size_t)2 << 20)          /* a huge page */
#define CHUNK_MIN_FLOATS ((size_t)2 << 20)     /* 8 MB chunks */

/* How a GEMM weight is read from its checkpoint tensor W into B = W'^T
 * ([in][out] row-major, in = K rows, out = N columns). */
enum {
    LIN_PLAIN,    /* W [out][in] (or [out][in][1][1]):  B[i][o] = W[o][i] * scale[o] */
    LIN_CONVT,    /* ConvTranspose 2x2 W [in][co][2][2]:  B[i][t*co_n + co] = W[i][co][t] */
};

typedef struct lin_src {
    msnn__linear *l;
    const msnn_pth_tensor *t;  /* the weight tensor (checked) */
    const float *scale;        /* [out] or NULL (LIN_PLAIN only) */
    int kind;
    int sub;                   /* LIN_CONVT: co_n */
} lin_src;

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
    lin_src lin[MAX_LINEAR];   /* every GEMM weight, packed at the end */
    const msnn_pth_tensor *neck2;   /* the neck's 3x3 conv weight, for Winograd */
    int n_lin;
    float *chunk;              /* current chunk of model memory */
    size_t chunk_used, chunk_cap;   /* floats */
    float *tmp;                /* conversion scratch for non-float32 / strided tensors */
    size_t tmp_cap;
    ms_err *err;
} loader;

/* ------------------------------------------------------------ bookkeeping */

/* A new chunk of at least nfloats floats, freed with the model. */
static float *new_chunk(msnn_model *m, size_t nfloats, size_t *cap)
{
    if (m->n_allocs == m->cap_allocs) {
        int c = m->cap_allocs ? 2 * m->cap_allocs : 16;
        float **a = realloc(m->allocs, (size_t)c * sizeof(*a));
        if (!a)
            return NULL;
        m->allocs = a;
        m->cap_allocs = c;
    }
    if (nfloats < CHUNK_MIN_FLOATS)
        nfloats = CHUNK_MIN_FLOATS;
    if (nfloats > (SIZE_MAX - CHUNK_ALIGN) / sizeof(float))
        return NULL;
    size_t bytes = (nfloats * sizeof(float) + CHUNK_ALIGN - 1) & ~(CHUNK_ALIGN - 1);
    float *p = aligned_alloc(CHUNK_ALIGN, bytes);
    if (!p)
        return NULL;
#ifdef MADV_HUGEPAGE
    /* 2 MB pages: one first-touch fault (and zeroing) where 512 would be (advice only) */
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    m->allocs[m->n_allocs++] = p;
    *cap = bytes / sizeof(float);
    return p;
}

/* nfloats of model memory, 64-byte aligned (uninitialised). */
static float *wmem(loader *L, size_t nfloats)
{
    size_t n = (nfloats + 15) & ~(size_t)15;   /* model sizes: no overflow */
    if (n == 0)
        n = 16;
    if (L->chunk_cap - L->chunk_used < n) {
        size_t cap;
        float *c = new_chunk(L->m, n, &cap);
        if (!c) {
            L->fatal = MS_ENOMEM;
            return NULL;
        }
        L->chunk = c;
        L->chunk_used = 0;
        L->chunk_cap = cap;
    }
    float *p = L->chunk + L->chunk_used;
    L->chunk_used += n;
    L->m->weight_bytes += nfloats * sizeof(float);
    return p;
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

static void mark_used(loader *L, const msnn_pth_tensor *t)
{
    size_t idx = (size_t)(t - msnn_pth_at(L->p, 0));   /* tensors are one array */
    if (idx < L->n)
        L->used[idx] = 1;
}

/* Look up L->name; check floating dtype and the expected shape.  Problems
 * are recorded (NULL returned); the tensor is not converted. */
static const msnn_pth_tensor *view_shape(loader *L, int ndim, const int64_t *dims)
{
    const msnn_pth_tensor *t = msnn_pth_find(L->p, L->name);
    if (!t) {
        if (L->n_missing < LIST_MAX)
            snprintf(L->missing[L->n_missing], sizeof L->missing[0], "%s", L->name);
        L->n_missing++;
        return NULL;
    }
    mark_used(L, t);
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
    return t;
}

static size_t numel(const msnn_pth_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];      /* checked against the model's small dims */
    return n;
}

/* The n elements of t as C-order float32: in place in the checkpoint when
 * it stores them so (float32, contiguous, aligned), else converted into the
 * loader's scratch (valid until the next call).  NULL: L->fatal set. */
static const float *src_f32(loader *L, const msnn_pth_tensor *t, size_t n)
{
    if (t->dtype == MSNN_PTH_F32) {
        int contiguous = 1;
        int64_t want = 1;
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (t->shape[d] != 1 && t->stride[d] != want)
                contiguous = 0;
            want *= t->shape[d];
        }
        /* elements [offset, offset + n) lie in the storage: checked at open */
        const float *p = (const float *)t->storage + t->offset;
        if (contiguous && ((uintptr_t)t->storage & (sizeof(float) - 1)) == 0)
            return p;
    }
    if (L->tmp_cap < n) {
        free(L->tmp);
        L->tmp_cap = 0;
        if (!(L->tmp = malloc(n * sizeof(float)))) {
            L->fatal = MS_ENOMEM;
            return NULL;
        }
        L->tmp_cap = n;
    }
    int rc = msnn_pth_to_f32(L->p, t, L->tmp, n, L->err);
    if (rc < 0) {
        L->fatal = rc;
        return NULL;
    }
    return L->tmp;
}

/* A checked tensor as float32 in model memory. */
static float *get_shape(loader *L, int ndim, const int64_t *dims)
{
    const msnn_pth_tensor *t = view_shape(L, ndim, dims);
    if (!t || L->fatal)
        return NULL;
    size_t n = numel(t);
    float *dst = wmem(L, n);
    if (!dst)
        return NULL;
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

/* view(...): the same checks, no conversion. */
static const msnn_pth_tensor *view(loader *L, int ndim, int d0, int d1, int d2, int d3,
                                   const char *fmt, ...)
{
    int64_t dims[4] = { d0, d1, d2, d3 };
    va_list ap;
    va_start(ap, fmt);
    vname(L, fmt, ap);
    va_end(ap);
    return view_shape(L, ndim, dims);
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
    mark_used(L, t);
}

/* ------------------------------------------------------------ layer loaders */

/* Remember a GEMM weight to pack at the end (t NULL: a problem was recorded). */
static lin_src *add_linear(loader *L, msnn__linear *l, const msnn_pth_tensor *t, int kind,
                           int sub)
{
    if (L->n_lin >= MAX_LINEAR) {
        L->fatal = MS_ENOMEM;   /* cannot happen with this model */
        return NULL;
    }
    lin_src *s = &L->lin[L->n_lin++];
    *s = (lin_src){ l, t, NULL, kind, sub };
    return s;
}

/* Scale per output channel s = gamma / sqrt(var + eps) and shift beta - mean*s. */
static int bn_fold(loader *L, const char *prefix, int c, float **scale, float **shift)
{
    float *g = get(L, 1, c, 0, 0, 0, "%s.bn.weight", prefix);
    float *b = get(L, 1, c, 0, 0, 0, "%s.bn.bias", prefix);
    const msnn_pth_tensor *tmu = view(L, 1, c, 0, 0, 0, "%s.bn.running_mean", prefix);
    const msnn_pth_tensor *tvar = view(L, 1, c, 0, 0, 0, "%s.bn.running_var", prefix);
    get_nbt(L, prefix);
    if (!g || !b || !tmu || !tvar || L->fatal)
        return 0;
    float *mu = wmem(L, (size_t)c);   /* small: model memory, not the scratch */
    const float *mv = mu ? src_f32(L, tmu, (size_t)c) : NULL;
    if (!mv)
        return 0;
    memcpy(mu, mv, (size_t)c * sizeof *mu);
    const float *var = src_f32(L, tvar, (size_t)c);
    if (!var)
        return 0;
    for (int i = 0; i < c; i++) {
        double s = (double)g[i] / sqrt((double)var[i] + BN_EPS);
        g[i] = (float)s;
        b[i] = (float)((double)b[i] - (double)mu[i] * s);
    }
    L->m->weight_bytes -= (size_t)c * sizeof(float);   /* load-time only */
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
    lin_src *ls = add_linear(L, l, view(L, 4, out, in, 1, 1, "%s.c.weight", prefix),
                             LIN_PLAIN, 0);
    float *s, *sh;
    if (!bn_fold(L, prefix, out, &s, &sh) || !ls)
        return;
    ls->scale = s;          /* W[o][i] * s[o] when packed */
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
    const msnn_pth_tensor *tw = view(L, 4, c, 1, 3, 3, "%s.c.weight", prefix);
    float *s, *sh;
    if (!bn_fold(L, prefix, c, &s, &sh) || !tw)
        return;
    const float *w = src_f32(L, tw, (size_t)9 * c);
    if (!w || !(d->w = wmem(L, (size_t)9 * c)))
        return;
    for (int ch = 0; ch < c; ch++)
        for (int t = 0; t < 9; t++)
            d->w[(size_t)t * c + ch] = w[ch * 9 + t] * s[ch];
    d->b = sh;
}

/* A GEMM weight [out][in] (+ bias), packed at the end. */
static lin_src *linear(loader *L, msnn__linear *l, int in, int out, int bias, const char *prefix)
{
    l->in = in;
    l->out = out;
    lin_src *ls = add_linear(L, l, view(L, 2, out, in, 0, 0, "%s.weight", prefix),
                             LIN_PLAIN, 0);
    l->b = bias ? get(L, 1, out, 0, 0, 0, "%s.bias", prefix) : NULL;
    return ls;
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
    float *ab = wmem(L, (size_t)heads * N * N);
    if (!ab)
        return NULL;
    for (int i = 0; i < N; i++) {
        int iy = i / ws, ix = i % ws;
        for (int j = 0, jy = 0, jx = 0; j < N; j++) {
            int idx = abs(iy - jy) * ws + abs(ix - jx);
            for (int h = 0; h < heads; h++)
                ab[((size_t)h * N + i) * N + j] = biases[h * N + idx];
            if (++jx == ws) {
                jx = 0;
                jy++;
            }
        }
    }
    return ab;
}

static void load_vitblock(loader *L, msnn__vitblock *b, int stage, int i)
{
    int C = msnn__dims[stage], heads = msnn__heads[stage], ws = msnn__windows[stage];
    char pre[128], name[160];
    snprintf(pre, sizeof pre, "image_encoder.layers.%d.blocks.%d", stage, i);
    const msnn_pth_tensor *tb = view(L, 2, heads, ws * ws, 0, 0, "%s.attn.attention_biases", pre);
    if (tb && !L->fatal) {
        const float *biases = src_f32(L, tb, (size_t)heads * ws * ws);
        if (biases)
            b->ab = gather_ab(L, biases, heads, ws);
    }
    snprintf(name, sizeof name, "%s.attn.norm", pre);
    norm(L, &b->attn_norm, C, name);
    snprintf(name, sizeof name, "%s.attn.qkv", pre);
    lin_src *qkv = linear(L, &b->qkv, C, 3 * C, 1, name);
    snprintf(name, sizeof name, "%s.attn.proj", pre);
    linear(L, &b->proj, C, C, 1, name);
    conv_bn_dw(L, &b->local, C, "%s.local_conv", pre);
    snprintf(name, sizeof name, "%s.mlp.norm", pre);
    norm(L, &b->mlp_norm, C, name);
    snprintf(name, sizeof name, "%s.mlp.fc1", pre);
    linear(L, &b->fc1, C, 4 * C, 1, name);
    snprintf(name, sizeof name, "%s.mlp.fc2", pre);
    linear(L, &b->fc2, 4 * C, C, 1, name);
    /* q of head h: output rows h*3kd .. h*3kd+kd (attn_ratio 1: d = kd),
     * weights scaled when packed, bias here */
    int kd = C / heads;
    float scale = 1.0f / sqrtf((float)kd);
    if (!qkv || !qkv->t || !b->qkv.b || L->fatal)
        return;
    float *s = wmem(L, (size_t)3 * C);
    if (!s)
        return;
    L->m->weight_bytes -= (size_t)3 * C * sizeof(float);   /* load-time only */
    for (int r = 0; r < 3 * C; r++)
        s[r] = 1.0f;
    for (int h = 0; h < heads; h++)
        for (int r = h * 3 * kd; r < h * 3 * kd + kd; r++) {
            s[r] = scale;
            b->qkv.b[r] *= scale;
        }
    qkv->scale = s;
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
        t->blocks[s] = (msnn__vitblock *)wmem(L, (sizeof(msnn__vitblock) *
                                                  msnn__depths[s] + 3) / 4);
        if (!t->blocks[s])
            return;
        memset(t->blocks[s], 0, sizeof(msnn__vitblock) * msnn__depths[s]);
        for (int i = 0; i < msnn__depths[s]; i++)
            load_vitblock(L, &t->blocks[s][i], s, i);
    }
    t->neck0.in = 320;
    t->neck0.out = 256;
    add_linear(L, &t->neck0, view(L, 4, 256, 320, 1, 1, "image_encoder.neck.0.weight"),
               LIN_PLAIN, 0);
    norm(L, &t->neck1, 256, "image_encoder.neck.1");
    /* the 3x3 conv: transformed for Winograd F(4x4,3x3) once every check
     * has passed (msnn__weights_load) */
    L->neck2 = view(L, 4, 256, 256, 3, 3, "image_encoder.neck.2.weight");
    norm(L, &t->neck3, 256, "image_encoder.neck.3");
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
    view(L, 4, 4, 1, 2, 2, "%s.0.weight", md);
    view(L, 1, 4, 0, 0, 0, "%s.0.bias", md);
    view(L, 1, 4, 0, 0, 0, "%s.1.weight", md);
    view(L, 1, 4, 0, 0, 0, "%s.1.bias", md);
    view(L, 4, 16, 4, 2, 2, "%s.3.weight", md);
    view(L, 1, 16, 0, 0, 0, "%s.3.bias", md);
    view(L, 1, 16, 0, 0, 0, "%s.4.weight", md);
    view(L, 1, 16, 0, 0, 0, "%s.4.bias", md);
    view(L, 4, 256, 16, 1, 1, "%s.6.weight", md);
    view(L, 1, 256, 0, 0, 0, "%s.6.bias", md);
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
    l->in = in;
    l->out = 4 * out;
    add_linear(L, l, view(L, 4, in, out, 2, 2, "%s.weight", prefix), LIN_CONVT, out);
    float *b = get(L, 1, out, 0, 0, 0, "%s.bias", prefix);
    if (!b || !(l->b = wmem(L, (size_t)4 * out)))
        return;
    for (int t = 0; t < 4; t++)
        for (int o = 0; o < out; o++)
            l->b[t * out + o] = b[o];
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

/* ------------------------------------------------------------ transposition */

void msnn__transpose_ref(const float *W, int N, int K, const float *s, float *B)
{
    for (int i = 0; i < K; i++)
        for (int o = 0; o < N; o++)
            B[(size_t)i * N + o] = s ? W[(size_t)o * K + i] * s[o] : W[(size_t)o * K + i];
}

#define TB 16   /* rows of W per band / tile */

#if defined(__SSE2__)
/* The 4x4 block of W at (o, i) into B, rows scaled by s (exact products). */
static inline void block4(const float *W, int N, int K, const float *s, float *B, int o, int i)
{
    const float *w = W + (size_t)o * K + i;
    __m128 r0 = _mm_loadu_ps(w), r1 = _mm_loadu_ps(w + K);
    __m128 r2 = _mm_loadu_ps(w + 2 * (size_t)K), r3 = _mm_loadu_ps(w + 3 * (size_t)K);
    if (s) {
        r0 = _mm_mul_ps(r0, _mm_set1_ps(s[o]));
        r1 = _mm_mul_ps(r1, _mm_set1_ps(s[o + 1]));
        r2 = _mm_mul_ps(r2, _mm_set1_ps(s[o + 2]));
        r3 = _mm_mul_ps(r3, _mm_set1_ps(s[o + 3]));
    }
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    float *b = B + (size_t)i * N + o;
    _mm_storeu_ps(b, r0);
    _mm_storeu_ps(b + N, r1);
    _mm_storeu_ps(b + 2 * (size_t)N, r2);
    _mm_storeu_ps(b + 3 * (size_t)N, r3);
}
#endif

/* B [K][N] = W^T (W [N][K]), row o of W multiplied by s[o] when s: the same
 * values as msnn__transpose_ref, in tiles (4x4 SSE2 blocks on x86-64). */
void msnn__transpose(const float *W, int N, int K, const float *s, float *B)
{
#if defined(__SSE2__)
    /* bands of 16 rows of W swept along K (16 read streams, prefetched a
     * few lines ahead: the source is usually the mapped file, not in cache) */
    int N4 = N & ~3, K4 = K & ~3;
    for (int o0 = 0; o0 < N4; o0 += TB) {
        int o1 = N4 - o0 < TB ? N4 : o0 + TB;
        for (int i = 0; i < K4; i += 4) {
            if ((i & 15) == 0 && i + 64 < K)
                for (int o = o0; o < o1; o++)
                    _mm_prefetch((const char *)(W + (size_t)o * K + i + 64), _MM_HINT_T0);
            for (int o = o0; o < o1; o += 4)
                block4(W, N, K, s, B, o, i);
        }
    }
    /* the last K % 4 columns of W and N % 4 rows */
    for (int i = K4; i < K; i++)
        for (int o = 0; o < N; o++)
            B[(size_t)i * N + o] = s ? W[(size_t)o * K + i] * s[o] : W[(size_t)o * K + i];
    for (int i = 0; i < K4; i++)
        for (int o = N4; o < N; o++)
            B[(size_t)i * N + o] = s ? W[(size_t)o * K + i] * s[o] : W[(size_t)o * K + i];
#else
    for (int o0 = 0; o0 < N; o0 += TB) {
        int o1 = N - o0 < TB ? N : o0 + TB;
        for (int i0 = 0; i0 < K; i0 += TB) {
            int i1 = K - i0 < TB ? K : i0 + TB;
            for (int i = i0; i < i1; i++) {
                float *b = B + (size_t)i * N;
                const float *w = W + i;
                if (s)
                    for (int o = o0; o < o1; o++)
                        b[o] = w[(size_t)o * K] * s[o];
                else
                    for (int o = o0; o < o1; o++)
                        b[o] = w[(size_t)o * K];
            }
        }
    }
#endif
}

/* B[K][N] (row-major) from the checkpoint layout of ls (see LIN_*). */
static void build_b(const lin_src *ls, const float *W, int K, int N, float *B)
{
    if (ls->kind == LIN_PLAIN) {
        msnn__transpose(W, N, K, ls->scale, B);
    } else {
        int co_n = ls->sub, taps = N / co_n;       /* W [K][co_n][taps] */
        for (int i = 0; i < K; i++) {
            const float *w = W + (size_t)i * N;
            float *b = B + (size_t)i * N;
            for (int t = 0; t < taps; t++)
                for (int o = 0; o < co_n; o++)
                    b[t * co_n + o] = w[o * taps + t];
        }
    }
}

/* Pack every GEMM weight through one scratch of `cap` floats into one chunk. */
static int pack_all(loader *L, float *scratch, size_t cap)
{
    msnn_model *m = L->m;
    float *own = NULL;
    size_t need = 0, total = 0;
    for (int i = 0; i < L->n_lin; i++) {
        const msnn__linear *l = L->lin[i].l;
        size_t kn = (size_t)l->in * (size_t)l->out, pf = msnn_gemm_packed_floats(l->in, l->out);
        need = kn > need ? kn : need;
        if (pf > SIZE_MAX / sizeof(float) - total)
            return MS_ENOMEM;
        total += pf;
    }
    if (need > cap) {               /* not with this model (largest: 2048 x 256) */
        if (!(own = malloc(need * sizeof *own)))
            return MS_ENOMEM;
        scratch = own;
    }
    int rc = MS_OK;
    size_t chunk_cap;
    float *dst = new_chunk(m, total, &chunk_cap);
    m->packs = calloc(L->n_lin > 0 ? (size_t)L->n_lin : 1, sizeof(*m->packs));
    if (!dst || !m->packs) {
        rc = MS_ENOMEM;
        goto done;
    }
    for (int i = 0; i < L->n_lin; i++) {
        const lin_src *ls = &L->lin[i];
        msnn__linear *l = ls->l;
        size_t kn = (size_t)l->in * (size_t)l->out;
        const float *W = src_f32(L, ls->t, kn);
        if (!W) {
            rc = L->fatal;
            goto done;
        }
        build_b(ls, W, l->in, l->out, scratch);
        msnn_mat B = { scratch, l->out, 1 };   /* B(k, j) = W'[j][k] */
        size_t pf = msnn_gemm_packed_floats(l->in, l->out);
        if (!(l->pk = msnn_gemm_pack_b_into(l->in, l->out, B, dst, pf))) {
            rc = MS_ENOMEM;
            goto done;
        }
        dst += pf;
        m->packs[m->n_packs++] = l->pk;
        m->weight_bytes += kn * sizeof(float);  /* the packed copy */
        l->w = NULL;
    }
done:
    free(own);
    return rc;
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
    loader *L = calloc(1, sizeof *L);
    if (!L) {
        msnn_pth_close(&p);
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    }
    L->m = m;
    L->p = p;
    L->path = path;
    L->err = err;
    L->n = msnn_pth_count(p);
    L->used = calloc(L->n ? L->n : 1, 1);
    if (!L->used) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    load_tinyvit(L, &m->enc);
    load_prompt(L, &m->pr);
    load_decoder(L, &m->dec);
    if (L->fatal) {
        rc = L->fatal == MS_ENOMEM ? ms_seterr(err, MS_ENOMEM, "%s: out of memory", path)
                                   : L->fatal;
        goto fail;
    }
    rc = report(L);
    if (rc < 0)
        goto fail;
    /* the dense PE's memory is the packing scratch first */
    size_t pe_n = (size_t)MSNN_EMB * MSNN_EMB * MSNN_EMB_C;
    m->pr.dense_pe = wmem(L, pe_n);
    if (!m->pr.dense_pe || (rc = pack_all(L, m->pr.dense_pe, pe_n)) < 0) {
        rc = rc == MS_ENOMEM || L->fatal == MS_ENOMEM || !m->pr.dense_pe
                 ? ms_seterr(err, MS_ENOMEM, "%s: out of memory", path) : rc;
        goto fail;
    }
    const float *g2 = src_f32(L, L->neck2, (size_t)256 * 256 * 9);
    if (!g2 || msnn__wino_init(&m->enc.neck2, g2, 256, 256, m->pr.dense_pe, pe_n) < 0) {
        rc = !g2 && L->fatal != MS_ENOMEM ? L->fatal
                                          : ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    m->weight_bytes += (size_t)MSNN_WINO_XI * 256 * 256 * sizeof(float);
    msnn__prompt_dense_pe(&m->pr, m->pr.dense_pe);
    rc = MS_OK;
fail:
    free(L->used);
    free(L->tmp);
    free(L);
    msnn_pth_close(&p);
    return rc;
}

void msnn__weights_free(msnn_model *m)
{
    msnn__wino_free(&m->enc.neck2);
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
