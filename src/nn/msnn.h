/* medsam-tools inference engine (prefix msnn_): LiteMedSAM on the CPU.
 *
 *   msnn_model_load()  reads lite_medsam.pth (never runs pickle code), checks
 *                      every tensor's name/dtype/shape, folds BatchNorm.
 *   msnn_encode()      image (1,3,256,256) f32 -> embedding (1,256,64,64) f32
 *   msnn_decode()      embedding + one box (256 frame) -> low-res logits
 *                      (1,1,256,256) + iou (1,1)
 *
 * Errors: negative MS_E* codes (ms_error.h) with a message in ms_err.
 * The engine never prints and never exits.  Results do not depend on the
 * number of threads (work is split by output rows only).
 */
#ifndef MSNN_H
#define MSNN_H

#include <stddef.h>
#include "ms_error.h"

typedef struct msnn_model msnn_model;
typedef struct msnn_pool msnn_pool;

#define MSNN_IMG 256      /* encoder input side */
#define MSNN_EMB_C 256    /* embedding channels */
#define MSNN_EMB 64       /* embedding side */

/* Load a checkpoint (plain state dict, {"model": sd, ...}, or "module."-prefixed).
 * On success *out is owned by the caller; free with msnn_model_free. */
int msnn_model_load(const char *path, msnn_model **out, ms_err *err);
void msnn_model_free(msnn_model **m);

/* Optional hook to observe intermediate encoder activations (tests, debugging).
 * name: "patch_embed" (1,64,256,256) NCHW, "stage0" (1,16384,128),
 * "stage1" (1,4096,160), "stage2" (1,4096,320), "stage3" (1,4096,320)
 * (tokens x channels, as the reference fixtures store them). */
typedef void (*msnn_probe_fn)(void *user, const char *name, const float *data,
                              int ndim, const size_t *shape);

typedef struct msnn_opts {
    msnn_pool *pool;        /* NULL = run on the calling thread only */
    msnn_probe_fn probe;    /* NULL = none */
    void *probe_user;
    /* msnn_decode keeps values that depend on the embedding alone for the
     * next box on the same embedding.  0: it compares the embedding in full
     * (4 MB) with the one it kept them for.  Otherwise the caller's promise
     * that two decodes with the same emb_id have the same embedding (a
     * number the caller changes whenever it encodes or edits one): no
     * comparison and no copy.  The results are the same either way. */
    unsigned long long emb_id;
} msnn_opts;

/* x: (1,3,256,256) f32, already normalised and padded.  emb: (1,256,64,64). */
int msnn_encode(msnn_model *m, const float *x, float *emb, const msnn_opts *o, ms_err *err);

/* box: x0, y0, x1, y1 in the 256x256 frame (floats; upstream passes the
 * truncated integers).  logits: (256,256) f32 low-res mask logits; iou: scalar. */
int msnn_decode(msnn_model *m, const float *emb, const float box[4], float *logits,
                float *iou, const msnn_opts *o, ms_err *err);

/* Bytes of working memory the model holds (weights + arenas), for reports. */
size_t msnn_model_bytes(const msnn_model *m);

#endif
