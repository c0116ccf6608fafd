/* LiteMedSAM model (msnn.h): load, encode, decode, and the working-memory
 * arena the networks share across layers and calls.
 *
 * The arena belongs to the model, so one model runs one encode or decode at
 * a time (use the pool for parallelism, or one model per thread). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

#define ARENA_ALIGN 64
#define ARENA_MIN_BLOCK ((size_t)16 << 20)   /* first-run growth step */

/* ------------------------------------------------------------ arena */

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static int push_block(msnn__arena *a, size_t start, size_t cap)
{
    if (a->n_blocks == a->cap_blocks) {
        int n = a->cap_blocks ? 2 * a->cap_blocks : 8;
        msnn__arena_block *b = realloc(a->blocks, (size_t)n * sizeof(*b));
        if (!b)
            return MS_ENOMEM;
        a->blocks = b;
        a->cap_blocks = n;
    }
    char *p = aligned_alloc(ARENA_ALIGN, cap);
    if (!p)
        return MS_ENOMEM;
    a->blocks[a->n_blocks++] = (msnn__arena_block){ p, start, cap };
    return MS_OK;
}

float *msnn__arena_alloc(msnn__arena *a, size_t nfloats)
{
    if (nfloats > (SIZE_MAX / 2) / sizeof(float))
        return NULL;
    size_t bytes = round_up(nfloats ? nfloats * sizeof(float) : 1);
    msnn__arena_block *top = a->n_blocks ? &a->blocks[a->n_blocks - 1] : NULL;
    if (!top || top->start + top->cap - a->used < bytes) {
        /* the rest of the top block is skipped; a new block starts here */
        size_t cap = bytes > ARENA_MIN_BLOCK ? bytes : ARENA_MIN_BLOCK;
        if (push_block(a, a->used, cap) < 0)
            return NULL;
        top = &a->blocks[a->n_blocks - 1];
    }
    float *p = (float *)(top->p + (a->used - top->start));
    a->used += bytes;
    if (a->used > a->peak)
        a->peak = a->used;
    return p;
}

size_t msnn__arena_mark(const msnn__arena *a)
{
    return a->used;
}

void msnn__arena_release(msnn__arena *a, size_t mark)
{
    if (mark > a->used)
        return;
    /* blocks entirely above the mark go back to the system (first run only:
     * later runs fit in block 0) */
    while (a->n_blocks > 1 && a->blocks[a->n_blocks - 1].start >= mark)
        free(a->blocks[--a->n_blocks].p);
    a->used = mark;
}

int msnn__arena_reset(msnn__arena *a)
{
    a->used = 0;
    if (a->n_blocks == 1 && a->blocks[0].cap >= a->peak)
        return MS_OK;
    while (a->n_blocks > 0)
        free(a->blocks[--a->n_blocks].p);
    if (a->peak == 0)
        return MS_OK;
    return push_block(a, 0, round_up(a->peak));
}

void msnn__arena_free(msnn__arena *a)
{
    while (a->n_blocks > 0)
        free(a->blocks[--a->n_blocks].p);
    free(a->blocks);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------ model */

int msnn_model_load(const char *path, msnn_model **out, ms_err *err)
{
    *out = NULL;
    msnn_model *m = calloc(1, sizeof *m);
    if (!m)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    m->k = msnn_kernels_get();
    int rc = msnn__weights_load(m, path, err);
    if (rc < 0) {
        msnn_model_free(&m);
        return rc;
    }
    *out = m;
    return MS_OK;
}

void msnn_model_free(msnn_model **pm)
{
    if (!pm || !*pm)
        return;
    msnn__weights_free(*pm);
    msnn__arena_free(&(*pm)->arena);
    msnn__dec_cache_free(&(*pm)->dcache);
    free(*pm);
    *pm = NULL;
}

static int begin(msnn_model *m, const msnn_opts *o, msnn__run *r, ms_err *err)
{
    if (msnn__arena_reset(&m->arena) < 0)
        return ms_seterr(err, MS_ENOMEM, "model: out of memory for the working arena");
    r->k = m->k;
    r->pool = o ? o->pool : NULL;
    r->arena = &m->arena;
    r->o = o;
    return MS_OK;
}

int msnn_encode(msnn_model *m, const float *x, float *emb, const msnn_opts *o, ms_err *err)
{
    msnn__run r;
    int rc = begin(m, o, &r, err);
    if (rc < 0)
        return rc;
    return msnn__tinyvit_forward(&m->enc, x, emb, &r, err);
}

int msnn_decode(msnn_model *m, const float *emb, const float box[4], float *logits,
                float *iou, const msnn_opts *o, ms_err *err)
{
    for (int i = 0; i < 4; i++)
        if (!(box[i] > -1e6f && box[i] < 1e6f))
            return ms_seterr(err, MS_EINVAL, "box coordinate %d is not a finite number", i);
    msnn__run r;
    int rc = begin(m, o, &r, err);
    if (rc < 0)
        return rc;
    return msnn__decoder_forward(&m->dec, &m->pr, emb, box, logits, iou, &m->dcache, &r, err);
}

size_t msnn_model_bytes(const msnn_model *m)
{
    /* the decoder's cache (decoder.c cache_prepare): kx and three
     * projections, and the embedding's copy when a decode had no emb_id */
    size_t cache = (m->dcache.block ? (size_t)(256 + 3 * 128) * 4096 * sizeof(float) : 0) +
                   (m->dcache.emb ? (size_t)256 * 4096 * sizeof(float) : 0);
    return m->weight_bytes + m->arena.peak + cache;
}
