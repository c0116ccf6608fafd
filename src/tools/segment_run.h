/* medsam-segment: running LiteMedSAM over one case (2D image or 3D volume
 * with propagation), and drawing overlays. */
#ifndef SEGMENT_RUN_H
#define SEGMENT_RUN_H

#include "msnn.h"
#include "segment_core.h"

typedef struct seg_engine {
    msnn_model *model;
    msnn_opts opts;
    size_t cache_bytes;    /* 3D: budget for cached slice embeddings (>= one) */
} seg_engine;

typedef struct seg_stats {
    size_t encodes;        /* encoder runs */
    size_t decodes;        /* decoder runs */
} seg_stats;

/* Segment a loaded case.  On success *segs is a new (H,W) or (D,H,W) array,
 * u8, or u16 when a value exceeds 255; box k paints seg_box_value(c, k)
 * (k + 1, or its gts label), later boxes overwrite earlier ones.
 * segs must fit lim (NULL = defaults).  stats may be NULL. */
int seg_run_case(const seg_engine *e, const seg_case *c, const char *what,
                 ms_array *segs, seg_stats *stats, const ms_limits *lim, ms_err *err);

/* Overlay PNG of slice z (0 for 2D): the image, every label in its own colour
 * at 50% opacity, and the outline of every box whose z range holds z. */
int seg_overlay_write(const char *path, const seg_case *c, const ms_array *segs, int z,
                      ms_err *err);
/* The colour of label k (1-based): rgb[3]. */
void seg_label_colour(size_t k, uint8_t rgb[3]);

#endif
