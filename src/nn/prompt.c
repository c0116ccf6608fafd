/* The SAM prompt encoder, for box prompts only (LiteMedSAM's inference uses
 * points = None, masks = None; the dense embedding is then no_mask_embed at
 * every pixel, added by the decoder).
 *
 * Random Fourier positional encoding of a point (u, v) in [0,1]^2:
 *   c = 2*(u,v) - 1;  f = 2*pi * (c @ G)  (G: 2 x 128);  pe = [sin f, cos f].
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "net.h"

#define PE_F 128   /* frequencies; the encoding has 2*PE_F = 256 channels */

/* sin and cos of n floats, each within 1 ulp of the exact value (the
 * rounding of a double-precision result): Cody-Waite reduction by pi/2 and
 * fdlibm's kernel polynomials, branch-free so the loop vectorises.  Inputs
 * beyond 2^20 in magnitude (never in a sane checkpoint) go to sinf/cosf. */
static void sincos_n(const float *x, float *s, float *c, int n)
{
    const double two_over_pi = 6.36619772367581382433e-01;
    const double pio2_1 = 1.57079632673412561417e+00;   /* first 33 bits of pi/2 */
    const double pio2_1t = 6.07710050650619224932e-11;  /* pi/2 - pio2_1 */
    const double shift = 0x1.8p52;                      /* rounds to an integer */
    const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                 S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                 S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
    const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                 C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                 C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
    int big = 0;
    for (int j = 0; j < n; j++) {
        double xd = x[j];
        double kd = xd * two_over_pi + shift;
        uint64_t kb;
        memcpy(&kb, &kd, sizeof kb);        /* low bits: k mod 4 */
        kd -= shift;
        double r = (xd - kd * pio2_1) - kd * pio2_1t, r2 = r * r;
        double sp = r + r * r2 * (S1 + r2 * (S2 + r2 * (S3 + r2 * (S4 + r2 * (S5 + r2 * S6)))));
        double cp = 1.0 - 0.5 * r2 +
                    r2 * r2 * (C1 + r2 * (C2 + r2 * (C3 + r2 * (C4 + r2 * (C5 + r2 * C6)))));
        uint64_t odd = 0 - (kb & 1), sb, cb, spb, cpb;
        memcpy(&spb, &sp, sizeof spb);
        memcpy(&cpb, &cp, sizeof cpb);
        sb = ((spb & ~odd) | (cpb & odd)) ^ ((kb & 2) << 62);          /* q: s, c, -s, -c */
        cb = ((cpb & ~odd) | (spb & odd)) ^ (((kb + 1) & 2) << 62);    /* q: c, -s, -c, s */
        double sv, cv;
        memcpy(&sv, &sb, sizeof sv);
        memcpy(&cv, &cb, sizeof cv);
        s[j] = (float)sv;
        c[j] = (float)cv;
        big |= !(fabsf(x[j]) <= 0x1p20f);   /* also NaN */
    }
    if (big)
        for (int j = 0; j < n; j++)
            if (!(fabsf(x[j]) <= 0x1p20f)) {
                s[j] = sinf(x[j]);
                c[j] = cosf(x[j]);
            }
}

/* The angles in float, in the same order as upstream (float32 tensors);
 * their sines and cosines within 1 ulp (as torch's vectorised sin/cos). */
static void pe_encode(const float *G, float u, float v, float *out)
{
    float cu = 2.0f * u - 1.0f, cv = 2.0f * v - 1.0f, f[PE_F];
    const float two_pi = (float)(2.0 * 3.14159265358979323846);
    for (int j = 0; j < PE_F; j++) {
        f[j] = cu * G[j] + cv * G[PE_F + j];
        f[j] = two_pi * f[j];
    }
    sincos_n(f, out, out + PE_F, PE_F);
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
