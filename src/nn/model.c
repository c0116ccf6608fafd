/* LiteMedSAM model (msnn.h): load, encode, decode, and the working-memory
 * arena the networks share across layers and calls. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

#define ARENA_ALIGN 64

/* ------------------------------------------------------------ arena */

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

float *msnn__arena_alloc(msnn__arena *a, size_t nfloats)
{
    if (nfloats > (SIZE_MAX - ARENA_ALIGN) / sizeof(float))
        return NULL;
    size_t bytes = round_up(nfloats * sizeof(float));
    if (a->base && a->cap - a->used >= bytes) {
        float *p = (float *)(a->base + a->used);
        a->used += bytes;
        if (a->used + a->extra_bytes > a->peak)
            a->peak = a->used + a->extra_bytes;
        return p;
    }
    /* overflow chunk, kept until the next reset */
    if (a->n_extra == a->cap_extra) {
        int cap = a->cap_extra ? 2 * a->cap_extra : 16;
        void **e = realloc(a->extra, (size_t)cap * sizeof(*e));
        if (!e)
            return NULL;
        a->extra = e;
        a->cap_extra = cap;
    }
    void *p = aligned_alloc(ARENA_ALIGN, bytes ? bytes : ARENA_ALIGN);
    if (!p)
        return NULL;
    a->extra[a->n_extra++] = p;
    a->extra_bytes += bytes;
    if (a->used + a->extra_bytes > a->peak)
        a->peak = a->used + a->extra_bytes;
    return p;
}

size_t msnn__arena_mark(const msnn__arena *a)
{
    return a->used;
}

void msnn__arena_release(msnn__arena *a, size_t mark)
{
    /* overflow chunks stay until the reset: they may hold live data */
    if (mark <= a->used)
        a->used = mark;
}

static void free_extra(msnn__arena *a)
{
    for (int i = 0; i < a->n_extra; i++)
        free(a->extra[i]);
    a->n_extra = 0;
    a->extra_bytes = 0;
}

int msnn__arena_reset(msnn__arena *a)
{
    int grow = a->n_extra > 0 || a->peak > a->cap;
    free_extra(a);
    a->used = 0;
    if (grow) {
        /* one block of the peak seen so far: the next run fits */
        size_t cap = round_up(a->peak);
        free(a->base);
        a->base = aligned_alloc(ARENA_ALIGN, cap);
        a->cap = a->base ? cap : 0;
        if (!a->base)
            return MS_ENOMEM;
    }
    return MS_OK;
}

void msnn__arena_free(msnn__arena *a)
{
    free_extra(a);
    free(a->extra);
    free(a->base);
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
    return msnn__decoder_forward(&m->dec, &m->pr, emb, box, logits, iou, &r, err);
}

size_t msnn_model_bytes(const msnn_model *m)
{
    size_t arena = m->arena.cap > m->arena.peak ? m->arena.cap : m->arena.peak;
    return m->weight_bytes + arena;
}
