/* medsam-tools inference engine, internal: the LiteMedSAM weights as the
 * kernels want them, the working-memory arena, and the three networks.
 *
 * Layout conventions: activations are channels-last (rows = pixels/tokens,
 * y*W + x).  A linear layer / 1x1 conv keeps torch's [out][in] weight; the
 * GEMM reads it as a transposed view (or a packed copy).  BatchNorm is folded
 * into the preceding conv at load.  Depthwise 3x3 weights are [9][C].
 */
#ifndef MSNN_NET_H
#define MSNN_NET_H

#include <stddef.h>
#include "gemm.h"
#include "winograd.h"
#include "kernels.h"
#include "msnn.h"
#include "pool.h"

/* ------------------------------------------------------------ weights */

typedef struct msnn__linear {
    int in, out;
    float *w;              /* [out][in] */
    float *b;              /* [out] or NULL */
    msnn_packed_b *pk;     /* w^T packed for the GEMM (NULL: use the view) */
} msnn__linear;

typedef struct msnn__dw3 {  /* depthwise 3x3 conv (+ folded BN) */
    int c;
    float *w;              /* [9][c] */
    float *b;              /* [c] */
} msnn__dw3;

typedef struct msnn__norm {
    int c;
    float *g, *b;          /* [c] */
} msnn__norm;

typedef struct msnn__mbconv {   /* TinyViT stage 0 block */
    msnn__linear conv1;    /* C -> 4C, BN folded, GELU */
    msnn__dw3 conv2;       /* 4C depthwise, BN folded, GELU */
    msnn__linear conv3;    /* 4C -> C, BN folded; + shortcut, GELU */
} msnn__mbconv;

typedef struct msnn__merge {    /* PatchMerging */
    msnn__linear conv1;    /* C -> C', GELU */
    msnn__dw3 conv2;       /* C' depthwise, stride 2 (1 when C' = 320), GELU */
    msnn__linear conv3;    /* C' -> C' */
    int stride;
} msnn__merge;

typedef struct msnn__vitblock { /* TinyViTBlock */
    msnn__norm attn_norm;  /* LayerNorm eps 1e-5 */
    msnn__linear qkv;      /* C -> 3C, q rows pre-scaled by key_dim^-0.5 */
    msnn__linear proj;     /* C -> C */
    float *ab;             /* [heads][N][N], N = window^2: attention_biases gathered */
    msnn__dw3 local;       /* local_conv, BN folded, no activation */
    msnn__norm mlp_norm;
    msnn__linear fc1;      /* C -> 4C, GELU */
    msnn__linear fc2;      /* 4C -> C, + residual */
} msnn__vitblock;

#define MSNN_STAGES 4
extern const int msnn__dims[MSNN_STAGES];    /* 64 128 160 320 */
extern const int msnn__depths[MSNN_STAGES];  /* 2 2 6 2 */
extern const int msnn__heads[MSNN_STAGES];   /* - 4 5 10 */
extern const int msnn__windows[MSNN_STAGES]; /* - 7 14 7 */
extern const int msnn__res[MSNN_STAGES];     /* input side: 256 128 64 64 */

typedef struct msnn__tinyvit {
    msnn__linear pe0;      /* patch_embed: 3 -> 32 (BN folded), GELU */
    msnn__linear pe1;      /* 32 -> 64 (BN folded) */
    msnn__mbconv mb[2];
    msnn__merge merge[3];  /* downsample of layers 0, 1, 2 */
    msnn__vitblock *blocks[MSNN_STAGES];   /* blocks of layers 1..3 */
    msnn__linear neck0;    /* 1x1 320 -> 256, no bias */
    msnn__norm neck1;      /* LayerNorm2d eps 1e-6 */
    msnn__wino neck2;      /* 3x3 conv 256 -> 256, no bias, as Winograd F(4x4,3x3) */
    msnn__norm neck3;
} msnn__tinyvit;

typedef struct msnn__prompt {
    float *gauss;          /* [2][128] positional_encoding_gaussian_matrix */
    float *point[4];       /* [256] each: point_embeddings.0..3 */
    float *not_a_point;    /* [256] */
    float *no_mask;        /* [256] */
    float *dense_pe;       /* [64*64][256] get_dense_pe(), channels-last */
} msnn__prompt;

typedef struct msnn__attn {     /* SAM Attention with downsampling */
    msnn__linear q, k, v;  /* 256 -> internal (q pre-scaled by 1/sqrt(head dim)) */
    msnn__linear o;        /* internal -> 256 */
    int heads;
} msnn__attn;

typedef struct msnn__twoway {
    msnn__attn self_attn, t2i, i2t;
    msnn__norm norm1, norm2, norm3, norm4;  /* eps 1e-5 */
    msnn__linear lin1;     /* 256 -> 2048, ReLU */
    msnn__linear lin2;     /* 2048 -> 256 */
} msnn__twoway;

typedef struct msnn__decoder {
    msnn__twoway layer[2];
    msnn__attn final_attn;
    msnn__norm norm_final;
    float *iou_token;      /* [256] */
    float *mask_tokens;    /* [4][256] */
    msnn__linear up0;      /* ConvT 256 -> 64 as GEMM: out = 4*64, column (dy*2+dx)*64 + co */
    msnn__norm up1;        /* LayerNorm2d(64), eps 1e-6 */
    msnn__linear up3;      /* ConvT 64 -> 32: out = 4*32 */
    msnn__linear hyper[4][3];
    msnn__linear iou_head[3];
} msnn__decoder;

/* Decoder values that depend on the embedding only (decoder.c). */
typedef struct msnn__dec_cache {
    int valid;
    unsigned long long id; /* the msnn_opts.emb_id it was built for (0: none) */
    float *block;          /* one allocation holding all below */
    float *emb;            /* [256][64*64] copy of the embedding it was built for
                              (id 0 only: the full comparison needs it) */
    float *kx;             /* [4096][256] embedding + no_mask_embed, channels-last */
    /* [4096][128] each, channel-interleaved across the 8 heads (head h,
     * channel j of the head at column j*8 + h) so the per-head products run
     * lane-wise over heads (decoder_kern.h) */
    float *t2i_k, *t2i_v;  /* layer 0 token->image k_proj(kx + PE), v_proj(kx) */
    float *i2t_q;          /* layer 0 image->token q_proj(kx + PE) */
} msnn__dec_cache;

void msnn__dec_cache_free(msnn__dec_cache *c);

/* ------------------------------------------------------------ arena */

/* Working memory reused across layers and calls: a stack allocator.
 * Allocation bumps an offset; msnn__arena_release() pops back to a mark.
 * When the current block is full a new block is pushed (and freed again on
 * release); the next reset replaces all blocks by one block of the peak
 * size, so from the second run on nothing is allocated at all. */
typedef struct msnn__arena_block {
    char *p;
    size_t start, cap;     /* offsets [start, start + cap) of the stack */
} msnn__arena_block;

typedef struct msnn__arena {
    msnn__arena_block *blocks;
    int n_blocks, cap_blocks;
    size_t used, peak;     /* stack offsets (bytes) */
} msnn__arena;

float *msnn__arena_alloc(msnn__arena *a, size_t nfloats);   /* NULL on OOM */
size_t msnn__arena_mark(const msnn__arena *a);
void msnn__arena_release(msnn__arena *a, size_t mark);      /* free back to a mark */
int msnn__arena_reset(msnn__arena *a);                      /* MS_OK or MS_ENOMEM */
void msnn__arena_free(msnn__arena *a);

/* ------------------------------------------------------------ model */

struct msnn_model {
    msnn__tinyvit enc;
    msnn__prompt pr;
    msnn__decoder dec;
    float **allocs;        /* every weight buffer, freed at the end */
    int n_allocs, cap_allocs;
    msnn_packed_b **packs; /* every packed GEMM weight */
    int n_packs;
    size_t weight_bytes;
    msnn__arena arena;
    msnn__dec_cache dcache;
    const msnn_kernels *k;
};

/* Context of one forward run. */
typedef struct msnn__run {
    const msnn_kernels *k;
    msnn_pool *pool;
    msnn__arena *arena;
    const msnn_opts *o;
} msnn__run;

int msnn__weights_load(msnn_model *m, const char *path, ms_err *err);
/* B [K][N] = W^T for W [N][K] (row o times s[o] when s is not NULL), as the
 * loader feeds GEMM weights to msnn_gemm_pack_b; _ref is the plain loop. */
void msnn__transpose(const float *W, int N, int K, const float *s, float *B);
void msnn__transpose_ref(const float *W, int N, int K, const float *s, float *B);
void msnn__weights_free(msnn_model *m);

/* y (M x out, ld ldy) = act(x (M x in, ld ldx) W^T + b + res). */
void msnn__linear_fwd(const msnn__linear *l, int M, const float *x, ptrdiff_t ldx,
                      float *y, ptrdiff_t ldy, const float *res, ptrdiff_t ldr, int act,
                      msnn_pool *pool);

/* Image (3 x 256 x 256, NCHW) -> embedding (256 x 64 x 64, NCHW). */
int msnn__tinyvit_forward(const msnn__tinyvit *t, const float *img, float *emb,
                          msnn__run *r, ms_err *err);

/* Box (x0,y0,x1,y1, 256 frame) -> the two corner tokens [2][256]. */
void msnn__prompt_box(const msnn__prompt *p, const float box[4], float *tokens);
/* Fill p->dense_pe (p->gauss must be loaded). */
void msnn__prompt_dense_pe(const msnn__prompt *p, float *pe);

int msnn__decoder_forward(const msnn__decoder *d, const msnn__prompt *p, const float *emb,
                          const float box[4], float *logits, float *iou,
                          msnn__dec_cache *cache, msnn__run *r, ms_err *err);

#endif
