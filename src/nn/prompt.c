/* The SAM prompt encoder, for box prompts only (LiteMedSAM's inference uses
 * points = None, masks = None; the dense embedding is then no_mask_embed at
 * every pixel, added by the decoder).
 *
 * Random Fourier positional encoding of a point (u, v) in [0,1]^2:
 *   c = 2*(u,v) - 1;  f = 2*pi * (c @ G)  (G: 2 x 128);  pe = [sin f, cos f].
 */
#include "config.h"

#include <math.h>

#include "net.h"

#define PE_F 128   /* frequencies; the encoding has 2*PE_F = 256 channels */

/* Computed in float, in the same order as upstream (float32 tensors). */
static void pe_encode(const float *G, float u, float v, float *out)
{
    float cu = 2.0f * u - 1.0f, cv = 2.0f * v - 1.0f;
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    for (int j = 0; j < PE_F; j++) {
        float f = cu * G[j] + cv * G[PE_F + j];
        f = two_pi * f;
        out[j] = sinf(f);
        out[PE_F + j] = cosf(f);
    }
}

/* Box corners (x0,y0) and (x1,y1), shifted to pixel centres (+0.5) and
 * normalised by the 256x256 input frame; + point_embeddings[2] / [3]. */
void msnn__prompt_box(const msnn__prompt *p, const float box[4], float *tokens)
{
    for (int c = 0; c < 2; c++) {
        float u = (box[2 * c] + 0.5f) / (float)MSNN_IMG;
        float v = (box[2 * c + 1] + 0.5f) / (float)MSNN_IMG;
        float *t = tokens + c * MSNN_EMB_C;
        pe_encode(p->gauss, u, v, t);
        for (int i = 0; i < MSNN_EMB_C; i++)
            t[i] += p->point[2 + c][i];
    }
}

/* get_dense_pe(): the encoding of every embedding pixel centre,
 * ((x+0.5)/64, (y+0.5)/64); stored channels-last: pe[y*64 + x][256].
 *
 * Half of it is computed: c = 2*(x+0.5)/64 - 1 = (2x - 63)/64 is exact in
 * float and flips sign at 63 - x, so pixel (63-x, 63-y) has f = -f(x, y)
 * exactly (every rounding of -a*b, -a + -b, 2*pi*(-f) is the negated one):
 * its sines are the negated sines, its cosines the same. */
void msnn__prompt_dense_pe(const msnn__prompt *p, float *pe)
{
    for (int y = 0; y < MSNN_EMB / 2; y++)
        for (int x = 0; x < MSNN_EMB; x++) {
            float *a = pe + ((size_t)y * MSNN_EMB + x) * MSNN_EMB_C;
            float *b = pe + ((size_t)(MSNN_EMB - 1 - y) * MSNN_EMB + (MSNN_EMB - 1 - x)) *
                                MSNN_EMB_C;
            pe_encode(p->gauss, ((float)x + 0.5f) / (float)MSNN_EMB,
                      ((float)y + 0.5f) / (float)MSNN_EMB, a);
            for (int j = 0; j < PE_F; j++) {
                b[j] = -a[j];
                b[PE_F + j] = a[PE_F + j];
            }
        }
}
