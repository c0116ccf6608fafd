/* Internal: 3x3 convolution, stride 1, zero padding 1, no bias, by
 * Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray, 2015).
 *
 * Each 4x4 block of output pixels (a tile) comes from the 6x6 input patch
 * d around it:  Y = A^T [ (G g G^T) (.) (B^T d B) ] A,  with 36
 * element-wise products per (input, output) channel pair instead of 144:
 * the channel sums become 36 GEMMs, one per position xi of the 6x6
 * transformed tile,
 *     M_xi (tiles x cout) = V_xi (tiles x cin) . U_xi (cin x cout),
 * U_xi = (G g G^T)[xi] transformed once at load.  For the
 * LiteMedSAM neck (64x64, 256 -> 256) that is 0.60 G multiply-adds in the
 * GEMMs instead of 2.42 G.  The result differs from the direct sum by
 * rounding only (tests/nn/test_winograd.c bounds it).
 *
 * Each output value is computed from its own tile by the same operations
 * whatever range of tile rows a call covers, so callers may split tile rows
 * between threads freely.
 */
#ifndef MSNN_WINOGRAD_H
#define MSNN_WINOGRAD_H

#include <stddef.h>

#include "gemm.h"

#define MSNN_WINO_XI 36       /* 6x6 transformed tile */
#define MSNN_WINO_T 4         /* output tile side */

typedef struct msnn__wino {
    int cin, cout;
    msnn_packed_b *u[MSNN_WINO_XI];   /* U_xi, cin x cout, packed into mem; owned */
    float *mem;                        /* one block (huge pages) for all 36; owned */
} msnn__wino;

/* g: the filter as [cout][cin][3][3] (a PyTorch Conv2d weight).  tmp: NULL,
 * or tmp_cap floats of scratch the call may use (13 * cin * cout are
 * enough; else it allocates its own).  Returns 0, or -1 when out of memory (w->u
 * then all NULL). */
int msnn__wino_init(msnn__wino *w, const float *g, int cin, int cout, float *tmp,
                    size_t tmp_cap);
void msnn__wino_free(msnn__wino *w);

/* Floats of scratch one call with up to `tiles` tiles needs. */
size_t msnn__wino_scratch(const msnn__wino *w, int tiles);

/* x: H x W x cin, channels last (pixel (y, x) at x + (y*W + x)*ldx);
 * y: H x W x cout (pixel at y + (y*W + x)*ldy).  Computes the output rows
 * of tile rows [ty0, ty1) (pixel rows 4*ty0 .. min(4*ty1, H) - 1), in
 * bands of at most `band` tiles, with scratch of msnn__wino_scratch(w, band)
 * floats. */
void msnn__wino_conv(const msnn__wino *w, const float *x, ptrdiff_t ldx, int H, int W,
                     int ty0, int ty1, float *y, ptrdiff_t ldy, float *scratch, int band);

#endif
