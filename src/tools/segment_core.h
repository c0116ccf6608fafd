/* medsam-segment: the parts of upstream's inference around the network
 * (CVPR24_LiteMedSAM_infer.py; SEMANTICS.md § medsam-segment), kept free of
 * the engine so that tests can check them on their own.
 *
 *   seg_case_load()     read + validate imgs / boxes / spacing of a challenge npz
 *   seg_case_load_opts() the same, optionally deriving boxes from `gts`
 *   seg_prep_image()    uint8 image -> encoder input (1,3,256,256) f32
 *   seg_box256()        box in pixels -> box in the 256 frame (truncation)
 *   seg_postprocess()   low-res logits (256,256) -> mask (H,W) 0/1
 *   seg_box_from_mask() previous slice's mask -> prompt box (3D propagation)
 */
#ifndef SEGMENT_CORE_H
#define SEGMENT_CORE_H

#include <stddef.h>
#include <stdint.h>
#include "ms_array.h"

#define SEG_SIDE 256

typedef struct seg_case {
    int is3d;            /* file name starts with "3D" */
    int d, h, w;         /* d = 1 for 2D */
    int cn;              /* 3 for a (H,W,3) 2D image, else 1 */
    ms_array imgs;       /* u8: (H,W), (H,W,3) or (D,H,W) */
    size_t nbox;
    double (*boxes)[6];  /* 2D: x0 y0 x1 y1; 3D: x0 y0 z0 x1 y1 z1 (as stored) */
    double spacing[3];   /* npz `spacing` (x, y, z order as stored); 1,1,1 if absent */
    int has_spacing;
    uint16_t *labels;    /* (nbox): gts label of each derived box; NULL if boxes were read */
    int paint_labels;    /* segs get labels[k] instead of k+1 (set by the caller) */
} seg_case;

typedef struct seg_load_opts {
    int boxes_from_gts;  /* no `boxes` but a `gts`: one box per label present */
    int margin;          /* pixels added around a derived box in x and y, clamped */
    ms_limits lim;       /* budget of one array read (0 = MS_DEFAULT_MAX_BYTES) */
} seg_load_opts;

/* Read and validate.  Errors name the file: wrong rank for a 2D/3D name,
 * non-uint8 imgs, boxes not (N,4)/(N,6), non-finite, inverted or outside
 * the image, z_min >= z_max. */
int seg_case_load(const char *path, seg_case *c, ms_err *err);
void seg_case_free(seg_case *c);

/* As seg_case_load(); with o->boxes_from_gts, a file without `boxes` but with
 * an integer `gts` (labels 0..65535, same spatial shape as imgs) gets one box
 * per label value present, in ascending order, as the challenge organisers
 * made them: the tight, inclusive bounding box in pixels, (x0 y0 x1 y1) in 2D
 * or (x0 y0 z0 x1 y1 z1) over the whole volume in 3D, widened by o->margin in
 * x and y and clamped to the image.  Such a case is 3D when gts has rank 3,
 * whatever its name; a label on one slice only gives z0 == z1.
 * c->labels receives the label of each box.  o may be NULL. */
int seg_case_load_opts(const char *path, const seg_load_opts *o, seg_case *c, ms_err *err);

/* The value box k (0-based) paints into segs: its label, or k + 1. */
size_t seg_box_value(const seg_case *c, size_t k);
/* The largest value any box paints (0 without boxes). */
size_t seg_max_value(const seg_case *c);

/* img: (h, w, cn) u8, cn 1 (repeated to 3 channels) or 3.
 * x: (3, 256, 256) f32 written completely.  newh, neww: receive the resized size. */
int seg_prep_image(const uint8_t *img, int h, int w, int cn, float *x,
                   int *newh, int *neww, ms_err *err);

/* box256[i] = int(box[i] * 256 / max(h, w)) for a 2D box (x0, y0, x1, y1). */
void seg_box256(const double box[4], int h, int w, float box256[4]);

/* logits: (256,256) f32; crop [:newh, :neww], bilinear to (h, w), > 0.
 * mask: (h, w) receives `value` where the logit is > 0 and 0 elsewhere.
 * Returns the number of set pixels, or a negative MS_E* code. */
long seg_postprocess(const float *logits, int newh, int neww, int h, int w,
                     uint8_t value, uint8_t *mask, ms_err *err);

/* Upstream get_bbox256(pad(resize_longest_side(mask))): the tight box of the
 * INTER_AREA-resized mask, widened by 3 and clamped to [0, 256].
 * Returns 1 and fills box256 if the resized mask is non-empty, 0 if empty,
 * negative on error. */
int seg_box_from_mask(const uint8_t *mask, int h, int w, float box256[4], ms_err *err);

#endif
