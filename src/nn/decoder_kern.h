/* Internal: the mask decoder's own loops (decoder_kern.c), a reference C
 * version and, on x86-64 with AVX2 + FMA, a vector version chosen by the
 * dispatch level (cpu.h).  tests/nn/test_decoder_kernels.c compares every
 * variant this CPU runs with the reference on random inputs.
 *
 * Each function computes every output from its own inputs in a fixed order,
 * so callers may split rows (or column blocks) between threads freely.
 */
#ifndef MSNN_DECODER_KERN_H
#define MSNN_DECODER_KERN_H

#include <stddef.h>

#define MSNN_DK_LANES 8

typedef struct msnn__dec_kernels {
    const char *name;

    /* Rows [0, rows) of s (row i at s + i*ld) hold nk (1..8) groups of 8
     * lanes, group t at t*8: in place, a softmax over the nk values of each
     * lane (the image-to-token attention: lane = head, group = token). */
    void (*softmax_lanes)(float *s, int rows, ptrdiff_t ld, int nk);

    /* A softmax down columns, streamed over bands of rows: for the columns
     * [c0, c1) (multiples of 8) of rows [0, rows) of s (row i at s + i*ld),
     * col_max raises m[c] to the column's maximum; exp_cols sets
     * s = exp(s - m[c]) (m[c] >= every value of the column) and adds the
     * column to sum[c] in row order. */
    void (*col_max)(const float *s, int rows, ptrdiff_t ld, int c0, int c1, float *m);
    void (*exp_cols)(float *s, int rows, ptrdiff_t ld, int c0, int c1, const float *m,
                     float *sum);

    /* Per-head products of 8 heads x 16 channels, with the channels of a
     * row interleaved: element (head h, channel c) at c*8 + h (128 floats).
     * bd_scores: s[i][t*8 + h] = sum_c a[i][c*8 + h] b[t][c*8 + h] for rows
     * i < rows, t < nt (<= 8), summed over c in order; other columns of s
     * are not written.
     * bd_accum: y[t][c*8 + h] += sum_i e[i][t*8 + h] v[i][c*8 + h], summed
     * over i in order (y: nt x 128). */
    void (*bd_scores)(const float *a, ptrdiff_t lda, int rows, const float *b, int nt,
                      float *s, ptrdiff_t lds);
    void (*bd_accum)(const float *e, ptrdiff_t lde, int rows, const float *v, ptrdiff_t ldv,
                     int nt, float *y);

    /* Columns of e times rows of v, accumulated into y transposed:
     * y[j*ldy + c] += sum_i e[i*lde + c] v[i*ldv + j] for c < nc (a multiple
     * of 8), j < nj, i < rows; each sum formed in order of i from 0 (as a
     * GEMM's) and then added to y.  No packing: v is read in place. */
    void (*accum_t)(const float *e, ptrdiff_t lde, int rows, int nc, const float *v,
                    ptrdiff_t ldv, int nj, float *y, ptrdiff_t ldy);

    /* y[i] = sum_c h[c] * x[i*ldx + c] over 32 floats, for i in [0, n):
     * 8 lanes summed over c in order, then the lanes in a fixed tree. */
    void (*dot32)(const float *x, ptrdiff_t ldx, int n, const float *h, float *y);
} msnn__dec_kernels;

/* The reference table. */
const msnn__dec_kernels *msnn__dec_kernels_ref(void);

/* The table of a dispatch level (MSNN_CPU_*), or NULL when this build or
 * CPU has no variant for it. */
const msnn__dec_kernels *msnn__dec_kernels_level(int level);

/* The table for the active level (msnn_cpu_level()); never NULL. */
const msnn__dec_kernels *msnn__dec_kernels_get(void);

#endif
