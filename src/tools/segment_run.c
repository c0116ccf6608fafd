/* medsam-segment: one case through the engine.
 *
 * 2D: one embedding, one decoder run per box.
 * 3D: per box, the middle slice with the box prompt, then upward and downward
 * propagation where each slice's prompt comes from the box's mask on the
 * neighbouring slice (SEMANTICS.md § medsam-segment).  Upstream encodes a
 * slice again for every box that covers it; the embedding depends on the
 * slice only, so we keep embeddings in an LRU cache bounded in bytes. */
#include "segment_run.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define EMB_FLOATS ((size_t)MSNN_EMB_C * MSNN_EMB * MSNN_EMB)   /* (1,256,64,64) */
#define IMG_FLOATS ((size_t)3 * MSNN_IMG * MSNN_IMG)            /* (1,3,256,256) */
#define LOGIT_FLOATS ((size_t)MSNN_IMG * MSNN_IMG)              /* (1,1,256,256) */

typedef struct cache_entry {
    int z;                 /* slice, -1 = empty */
    unsigned long used;    /* LRU clock */
    float *emb;            /* (256, 64, 64) */
    unsigned long long id; /* msnn_opts.emb_id of this embedding */
} cache_entry;

/* emb_id for every embedding this process encodes: unique across cases and
 * threads, since a model's decoder keeps its cache from one case to the next. */
static atomic_ullong next_emb_id;

typedef struct emb_cache {
    const seg_engine *e;
    const seg_case *c;
    const char *what;
    int cap;
    unsigned long clock;
    cache_entry *ent;
    float *x;              /* encoder input scratch (3, 256, 256) */
    int newh, neww;
    seg_stats *stats;
} emb_cache;

static int cache_init(emb_cache *k, const seg_engine *e, const seg_case *c, const char *what,
                      seg_stats *stats, ms_err *err)
{
    memset(k, 0, sizeof *k);
    k->e = e, k->c = c, k->what = what, k->stats = stats;
    size_t cap = e->cache_bytes / (EMB_FLOATS * sizeof(float));
    if (cap < 1)
        cap = 1;
    if (cap > (size_t)c->d)
        cap = (size_t)c->d;
    k->cap = (int)cap;
    k->ent = calloc(cap, sizeof *k->ent);
    k->x = malloc(IMG_FLOATS * sizeof *k->x);
    if (!k->ent || !k->x)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory for the embedding cache", what);
    for (int i = 0; i < k->cap; i++)
        k->ent[i].z = -1;
    return MS_OK;
}

static void cache_free(emb_cache *k)
{
    for (int i = 0; k->ent && i < k->cap; i++)
        free(k->ent[i].emb);
    free(k->ent);
    free(k->x);
    memset(k, 0, sizeof *k);
}

/* The embedding of slice z: from the cache, or encoded into the least
 * recently used entry. */
static int cache_get(emb_cache *k, int z, const float **emb, unsigned long long *id,
                     ms_err *err)
{
    const seg_case *c = k->c;
    int victim = 0;
    for (int i = 0; i < k->cap; i++) {
        if (k->ent[i].z == z) {
            k->ent[i].used = ++k->clock;
            *emb = k->ent[i].emb;
            *id = k->ent[i].id;
            return MS_OK;
        }
        if (k->ent[i].used < k->ent[victim].used)
            victim = i;
    }
    cache_entry *v = &k->ent[victim];
    if (!v->emb && !(v->emb = malloc(EMB_FLOATS * sizeof(float))))
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory for an embedding", k->what);
    v->z = -1;
    size_t slice = (size_t)c->h * c->w * c->cn;
    const uint8_t *img = (const uint8_t *)c->imgs.data + (size_t)z * slice;
    int rc = seg_prep_image(img, c->h, c->w, c->cn, k->x, &k->newh, &k->neww, err);
    if (rc != MS_OK)
        return rc;
    rc = msnn_encode(k->e->model, k->x, v->emb, &k->e->opts, err);
    if (rc != MS_OK)
        return rc;
    if (k->stats)
        k->stats->encodes++;
    v->z = z;
    v->used = ++k->clock;
    v->id = atomic_fetch_add(&next_emb_id, 1) + 1;
    *emb = v->emb;
    *id = v->id;
    return MS_OK;
}

/* Decode one prompt on slice z and post-process into mask (h, w) = 0/value. */
static int infer_slice(emb_cache *k, int z, const float box[4], float *logits, uint8_t value,
                       uint8_t *mask, ms_err *err)
{
    const float *emb = NULL;
    float iou;
    msnn_opts o = k->e->opts;
    int rc = cache_get(k, z, &emb, &o.emb_id, err);
    if (rc != MS_OK)
        return rc;
    rc = msnn_decode(k->e->model, emb, box, logits, &iou, &o, err);
    if (rc != MS_OK)
        return rc;
    if (k->stats)
        k->stats->decodes++;
    long n = seg_postprocess(logits, k->newh, k->neww, k->c->h, k->c->w, value, mask, err);
    return n < 0 ? (int)n : MS_OK;
}

static void paint(ms_array *segs, size_t off, const uint8_t *mask, size_t n, size_t label)
{
    if (segs->dtype == MS_U16) {
        uint16_t *s = (uint16_t *)segs->data + off;
        for (size_t i = 0; i < n; i++)
            if (mask[i])
                s[i] = (uint16_t)label;
    } else {
        uint8_t *s = (uint8_t *)segs->data + off;
        for (size_t i = 0; i < n; i++)
            if (mask[i])
                s[i] = (uint8_t)label;
    }
}

/* One 3D box: middle slice, then up to z_max, then down to z_min.
 * label: the box's 1-based index; segs receive `value`. */
static int run_box3d(emb_cache *k, const double *b, size_t label, size_t value, ms_array *segs,
                     uint8_t *prev, uint8_t *cur, uint8_t *mid, float *logits, ms_err *err)
{
    const seg_case *c = k->c;
    size_t n = (size_t)c->h * c->w;
    /* the propagation resizes the box's own 0/k mask: keep upstream's values
     * (its uint8 temp volume) so that INTER_AREA rounds as it does there */
    uint8_t val = (uint8_t)(label > 255 ? 255 : label);
    double box2d[4] = { b[0], b[1], b[3], b[4] };
    float mid256[4], box[4];
    seg_box256(box2d, c->h, c->w, mid256);
    int zm = (int)((b[5] - b[2]) / 2 + b[2]);
    int zend = (int)b[5] + 1 < c->d ? (int)b[5] + 1 : c->d;   /* exclusive */
    int zlo = (int)b[2];
    int rc = MS_OK;
    memset(mid, 0, n);
    for (int z = zm; z < zend; z++) {
        int got = 0;
        if (z != zm && (got = seg_box_from_mask(prev, c->h, c->w, box, err)) < 0)
            return got;
        rc = infer_slice(k, z, got ? box : mid256, logits, val, cur, err);
        if (rc != MS_OK)
            return rc;
        paint(segs, (size_t)z * n, cur, n, value);
        if (z == zm)
            memcpy(mid, cur, n);
        uint8_t *t = prev; prev = cur; cur = t;
    }
    memcpy(prev, mid, n);
    for (int z = zm - 1; z >= zlo; z--) {
        int got = seg_box_from_mask(prev, c->h, c->w, box, err);
        if (got < 0)
            return got;
        rc = infer_slice(k, z, got ? box : mid256, logits, val, cur, err);
        if (rc != MS_OK)
            return rc;
        paint(segs, (size_t)z * n, cur, n, value);
        uint8_t *t = prev; prev = cur; cur = t;
    }
    return MS_OK;
}

int seg_run_case(const seg_engine *e, const seg_case *c, const char *what,
                 ms_array *segs, seg_stats *stats, const ms_limits *lim, ms_err *err)
{
    emb_cache k;
    size_t n = (size_t)c->h * c->w;
    uint8_t *bufs = NULL;
    float *logits = NULL;
    size_t shape[3] = { (size_t)c->d, (size_t)c->h, (size_t)c->w };
    ms_dtype st = seg_max_value(c) > 255 ? MS_U16 : MS_U8;
    size_t nbytes;
    int rc = ms_shape_bytes(st, c->is3d ? 3 : 2, c->is3d ? shape : shape + 1, lim, &nbytes,
                            what, err);
    if (rc != MS_OK ||
        (rc = ms_array_alloc(segs, st, c->is3d ? 3 : 2, c->is3d ? shape : shape + 1, lim, err)))
        return rc;
    if ((rc = cache_init(&k, e, c, what, stats, err)) != MS_OK)
        goto fail;
    bufs = malloc(3 * n);
    logits = malloc(LOGIT_FLOATS * sizeof *logits);
    if (!bufs || !logits) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", what);
        goto fail;
    }
    for (size_t b = 0; b < c->nbox; b++) {
        if (c->is3d) {
            rc = run_box3d(&k, c->boxes[b], b + 1, seg_box_value(c, b), segs, bufs, bufs + n, bufs + 2 * n,
                           logits, err);
        } else {
            float box[4];
            seg_box256(c->boxes[b], c->h, c->w, box);
            rc = infer_slice(&k, 0, box, logits, 1, bufs, err);
            if (rc == MS_OK)
                paint(segs, 0, bufs, n, seg_box_value(c, b));
        }
        if (rc != MS_OK)
            goto fail;
    }
fail:
    cache_free(&k);
    free(bufs);
    free(logits);
    if (rc != MS_OK)
        ms_array_free(segs);
    return rc;
}
