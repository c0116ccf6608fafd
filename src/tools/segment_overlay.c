/* medsam-segment --overlay: the image with every label in its own colour at
 * 50% opacity and the prompt boxes outlined in the same colour. */
#include "segment_run.h"

#include <stdlib.h>

#include "ms_image.h"

/* Ten well separated colours (matplotlib's tab10), reused cyclically. */
static const uint8_t palette[10][3] = {
    { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 }, { 214, 39, 40 },
    { 148, 103, 189 }, { 140, 86, 75 }, { 227, 119, 194 }, { 127, 127, 127 },
    { 188, 189, 34 }, { 23, 190, 207 },
};

void seg_label_colour(size_t k, uint8_t rgb[3])
{
    const uint8_t *p = palette[(k - 1) % 10];
    rgb[0] = p[0], rgb[1] = p[1], rgb[2] = p[2];
}

static size_t label_at(const ms_array *segs, size_t i)
{
    return segs->dtype == MS_U16 ? ((const uint16_t *)segs->data)[i]
                                 : ((const uint8_t *)segs->data)[i];
}

static int clampi(double v, int hi)
{
    return v < 0 ? 0 : v > hi ? hi : (int)v;
}

/* 1-pixel outline of box (x0, y0, x1, y1), clamped to the image. */
static void draw_box(uint8_t *rgb, int h, int w, const double *b4, const uint8_t col[3])
{
    int x0 = clampi(b4[0], w - 1), y0 = clampi(b4[1], h - 1);
    int x1 = clampi(b4[2], w - 1), y1 = clampi(b4[3], h - 1);
    for (int x = x0; x <= x1; x++)
        for (int c = 0; c < 3; c++) {
            rgb[((size_t)y0 * w + x) * 3 + c] = col[c];
            rgb[((size_t)y1 * w + x) * 3 + c] = col[c];
        }
    for (int y = y0; y <= y1; y++)
        for (int c = 0; c < 3; c++) {
            rgb[((size_t)y * w + x0) * 3 + c] = col[c];
            rgb[((size_t)y * w + x1) * 3 + c] = col[c];
        }
}

int seg_overlay_write(const char *path, const seg_case *c, const ms_array *segs, int z,
                      ms_err *err)
{
    size_t n = (size_t)c->h * c->w;
    size_t shape[3] = { (size_t)c->h, (size_t)c->w, 3 };
    ms_array img = { 0 };
    int rc = ms_array_alloc(&img, MS_U8, 3, shape, NULL, err);
    if (rc != MS_OK)
        return rc;
    uint8_t *rgb = img.data;
    const uint8_t *src = (const uint8_t *)c->imgs.data + (size_t)z * n * c->cn;
    for (size_t i = 0; i < n; i++) {
        size_t lab = label_at(segs, (size_t)z * n + i);
        uint8_t col[3];
        if (lab)
            seg_label_colour(lab, col);
        for (int ch = 0; ch < 3; ch++) {
            int v = src[i * c->cn + (c->cn == 3 ? ch : 0)];
            rgb[i * 3 + ch] = (uint8_t)(lab ? (v + col[ch] + 1) / 2 : v);
        }
    }
    for (size_t k = 0; k < c->nbox; k++) {
        const double *b = c->boxes[k];
        uint8_t col[3];
        seg_label_colour(seg_box_value(c, k), col);
        if (!c->is3d) {
            draw_box(rgb, c->h, c->w, b, col);
        } else if (z >= b[2] && z <= b[5]) {
            double b4[4] = { b[0], b[1], b[3], b[4] };
            draw_box(rgb, c->h, c->w, b4, col);
        }
    }
    rc = ms_png_write(path, &img, err);
    ms_array_free(&img);
    return rc;
}
