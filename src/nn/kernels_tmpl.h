/* Internal: SIMD versions of the engine's elementwise kernels (kernels.h),
 * written once over the vector vocabulary of simd_tmpl.h (include that
 * first) and instantiated per ISA.  Extra macros: VHSUM(v), VHMAX(v)
 * (horizontal sum / max to a float).
 *
 * They compute the reference's function with vector arithmetic (fused
 * multiply-adds, the vector erf/exp, tree sums), so results differ from the
 * reference by rounding only; channels that do not fill a vector take a
 * scalar path.  Rows are independent, so results never depend on threads.
 */

#include <float.h>
#include <math.h>

#include "kernels.h"

static inline float SFX(act_scalar)(float v, int act)
{
    if (act == MSNN_ACT_GELU)
        return v * 0.5f * (1.0f + erff(v * 0.70710678118654752f));
    if (act == MSNN_ACT_RELU)
        return v > 0.0f ? v : 0.0f;
    return v;
}

static inline VEC SFX(act_vec)(VEC v, int act)
{
    if (act == MSNN_ACT_GELU)
        return SFX(vgelu)(v);
    if (act == MSNN_ACT_RELU)
        return VMAX(v, VZERO());
    return v;
}

/* Four interior output pixels of a stride-1 depthwise conv, channels
 * [0, cv): p[ky] points at input pixel (iy0+ky, ix0); each output gets its
 * taps in (ky, kx) order, as in the generic path. */
static inline void SFX(dw_quad)(const float *const p[3], int C, int cv, const float *w,
                                const float *b, int act, float *out)
{
    for (int c = 0; c < cv; c += VL) {
        VEC a0 = VLOADU(b + c), a1 = a0, a2 = a0, a3 = a0;
        for (int ky = 0; ky < 3; ky++) {
            const float *q = p[ky] + c;
            VEC w0 = VLOADU(w + (size_t)(ky * 3) * C + c);
            VEC w1 = VLOADU(w + (size_t)(ky * 3 + 1) * C + c);
            VEC w2 = VLOADU(w + (size_t)(ky * 3 + 2) * C + c);
            VEC x0 = VLOADU(q), x1 = VLOADU(q + C), x2 = VLOADU(q + 2 * (size_t)C);
            VEC x3 = VLOADU(q + 3 * (size_t)C), x4 = VLOADU(q + 4 * (size_t)C);
            VEC x5 = VLOADU(q + 5 * (size_t)C);
            a0 = VFMA(x0, w0, a0), a1 = VFMA(x1, w0, a1), a2 = VFMA(x2, w0, a2), a3 = VFMA(x3, w0, a3);
            a0 = VFMA(x1, w1, a0), a1 = VFMA(x2, w1, a1), a2 = VFMA(x3, w1, a2), a3 = VFMA(x4, w1, a3);
            a0 = VFMA(x2, w2, a0), a1 = VFMA(x3, w2, a1), a2 = VFMA(x4, w2, a2), a3 = VFMA(x5, w2, a3);
        }
        VSTOREU(out + c, SFX(act_vec)(a0, act));
        VSTOREU(out + C + c, SFX(act_vec)(a1, act));
        VSTOREU(out + 2 * (size_t)C + c, SFX(act_vec)(a2, act));
        VSTOREU(out + 3 * (size_t)C + c, SFX(act_vec)(a3, act));
    }
}

/* dw_quad for stride 2: p[ky] points at input pixel (iy0+ky, 2 ox - 1) of
 * the first of four outputs, which read input columns 0..8 from there. */
#define DW_CB 64           /* channels per block of the specialised rows */
static inline __attribute__((always_inline)) void
SFX(dw_quad_s2)(const float *const p[3], const int C, int cv, const float *w, const float *b,
                const int act, float *out)
{
    for (int c = 0; c < cv; c += VL) {
        VEC a0 = VLOADU(b + c), a1 = a0, a2 = a0, a3 = a0;
        for (int ky = 0; ky < 3; ky++) {
            const float *q = p[ky] + c;
            VEC w0 = VLOADU(w + (size_t)(ky * 3) * C + c);
            VEC w1 = VLOADU(w + (size_t)(ky * 3 + 1) * C + c);
            VEC w2 = VLOADU(w + (size_t)(ky * 3 + 2) * C + c);
            VEC x0 = VLOADU(q), x1 = VLOADU(q + C), x2 = VLOADU(q + 2 * (size_t)C);
            a0 = VFMA(x0, w0, a0), a0 = VFMA(x1, w1, a0), a0 = VFMA(x2, w2, a0);
            VEC x3 = VLOADU(q + 3 * (size_t)C), x4 = VLOADU(q + 4 * (size_t)C);
            a1 = VFMA(x2, w0, a1), a1 = VFMA(x3, w1, a1), a1 = VFMA(x4, w2, a1);
            VEC x5 = VLOADU(q + 5 * (size_t)C), x6 = VLOADU(q + 6 * (size_t)C);
            a2 = VFMA(x4, w0, a2), a2 = VFMA(x5, w1, a2), a2 = VFMA(x6, w2, a2);
            VEC x7 = VLOADU(q + 7 * (size_t)C), x8 = VLOADU(q + 8 * (size_t)C);
            a3 = VFMA(x6, w0, a3), a3 = VFMA(x7, w1, a3), a3 = VFMA(x8, w2, a3);
        }
        VSTOREU(out + c, SFX(act_vec)(a0, act));
        VSTOREU(out + C + c, SFX(act_vec)(a1, act));
        VSTOREU(out + 2 * (size_t)C + c, SFX(act_vec)(a2, act));
        VSTOREU(out + 3 * (size_t)C + c, SFX(act_vec)(a3, act));
    }
}

/* One output pixel, channels [0, C): bias plus the valid taps (rows
 * [ky0, ky1), columns [kx0, kx1) of the 3x3 window) in (ky, kx) order. */
static inline void SFX(dw_pixel)(const float *const rows[3], int ky0, int ky1, int ix0, int kx0,
                                 int kx1, int C, int cv, const float *w, const float *b, int act,
                                 float *out)
{
    for (int c = 0; c < cv; c += VL) {
        VEC acc = VLOADU(b + c);
        for (int ky = ky0; ky < ky1; ky++)
            for (int kx = kx0; kx < kx1; kx++)
                acc = VFMA(VLOADU(rows[ky] + (size_t)(ix0 + kx) * C + c),
                           VLOADU(w + (size_t)(ky * 3 + kx) * C + c), acc);
        VSTOREU(out + c, SFX(act_vec)(acc, act));
    }
    for (int c = cv; c < C; c++) {
        float acc = b[c];
        for (int ky = ky0; ky < ky1; ky++)
            for (int kx = kx0; kx < kx1; kx++)
                acc = fmaf(rows[ky][(size_t)(ix0 + kx) * C + c], w[(size_t)(ky * 3 + kx) * C + c],
                           acc);
        out[c] = SFX(act_scalar)(acc, act);
    }
}

/* One output row whose three input rows all exist (r[ky] at input row
 * iy0 + ky, column 0), W >= 4 S + 2: column 0 (its left tap is padding),
 * then quads from column 1 while their last input column (4 S + 1 from
 * the quad's) is inside, then the last columns one at a time; the values
 * of the generic path.  Inlined into a caller with C, act and the stride S
 * constant (dw_row_*), so every address is a row pointer plus a constant,
 * the act test is gone and the edge pixels' tap loops unroll: the generic
 * dw_quad, with C in a register, kept its 18 input addresses on the stack
 * and ran at a third of the multiply-add rate. */
static inline __attribute__((always_inline)) void
SFX(dw_row_c)(const int C, const int act, const int S, const float *const r[3], int W,
              const float *w, const float *b, float *out)
{
    const int Wo = (W - 1) / S + 1, nq = S == 1 ? (W - 2) / 4 : (W - 2) / 8;
    SFX(dw_pixel)(r, 0, 3, -1, 1, 3, C, C, w, b, act, out);
    /* blocks of DW_CB channels along the whole row: a block's nine weight
     * vectors stay in L1, and an input line is read from L2 once (by the
     * quads sharing it); a quad over all channels touched more than L1
     * holds (18 pixels, 9 weight rows) and lost them before the next quad */
    for (int cb = 0; cb < C; cb += DW_CB) {
        const int cn = C - cb < DW_CB ? C - cb : DW_CB;
        const size_t i1 = (size_t)(S - 1) * C + cb;   /* output 1's left tap */
        const float *q0 = r[0] + i1, *q1 = r[1] + i1, *q2 = r[2] + i1;
        float *o = out + C + cb;
        for (int n = 0; n < nq; n++) {
            const float *const p[3] = { q0, q1, q2 };
            if (S == 1)
                SFX(dw_quad)(p, C, cn, w + cb, b + cb, act, o);
            else
                SFX(dw_quad_s2)(p, C, cn, w + cb, b + cb, act, o);
            q0 += 4 * (size_t)S * C, q1 += 4 * (size_t)S * C, q2 += 4 * (size_t)S * C;
            o += 4 * (size_t)C;
        }
    }
    for (int ox = 1 + 4 * nq; ox < Wo; ox++) {
        int ix0 = ox * S - 1;
        if (ix0 + 2 < W)
            SFX(dw_pixel)(r, 0, 3, ix0, 0, 3, C, C, w, b, act, out + (size_t)ox * C);
        else                                           /* right tap is padding */
            SFX(dw_pixel)(r, 0, 3, ix0, 0, 2, C, C, w, b, act, out + (size_t)ox * C);
    }
}

typedef void (*SFX(dw_row_fn))(const float *const r[3], int W, const float *w, const float *b,
                               float *out);
#define MSNN__DW_ROW(c, a, an, s)                                                             \
    static void SFX(dw_row_##c##_##an##_s##s)(const float *const r[3], int W, const float *w, \
                                              const float *b, float *out)                     \
    {                                                                                         \
        SFX(dw_row_c)(c, a, s, r, W, w, b, out);                                              \
    }
/* the channel counts of LiteMedSAM's depthwise convs: the TinyViT blocks'
 * local convs (128, 160, 320, no act, stride 1) and layer 0's hidden images
 * with 16 pad channels (tinyvit.c: MBConv 272 and the last PatchMerging's
 * 336 at stride 1, the other PatchMergings' 144 and 176 at stride 2, GELU) */
MSNN__DW_ROW(128, MSNN_ACT_NONE, none, 1)
MSNN__DW_ROW(160, MSNN_ACT_NONE, none, 1)
MSNN__DW_ROW(320, MSNN_ACT_NONE, none, 1)
MSNN__DW_ROW(272, MSNN_ACT_GELU, gelu, 1)
MSNN__DW_ROW(336, MSNN_ACT_GELU, gelu, 1)
MSNN__DW_ROW(144, MSNN_ACT_GELU, gelu, 2)
MSNN__DW_ROW(176, MSNN_ACT_GELU, gelu, 2)
#undef MSNN__DW_ROW

/* The specialised row function for C, act and stride, or NULL. */
static SFX(dw_row_fn) SFX(dw_row_for)(int C, int act, int stride)
{
    if (act == MSNN_ACT_NONE && stride == 1) {
        switch (C) {
        case 128: return SFX(dw_row_128_none_s1);
        case 160: return SFX(dw_row_160_none_s1);
        case 320: return SFX(dw_row_320_none_s1);
        }
    } else if (act == MSNN_ACT_GELU && stride == 1) {
        switch (C) {
        case 272: return SFX(dw_row_272_gelu_s1);
        case 336: return SFX(dw_row_336_gelu_s1);
        }
    } else if (act == MSNN_ACT_GELU && stride == 2) {
        switch (C) {
        case 144: return SFX(dw_row_144_gelu_s2);
        case 176: return SFX(dw_row_176_gelu_s2);
        }
    }
    return NULL;
}

/* Depthwise 3x3 conv, channels last: every output pixel is bias plus the
 * valid taps in (ky, kx) order, one vector of channels at a time; interior
 * pixels of stride-1 rows go four at a time, sharing their input loads. */
static void SFX(k_dwconv3x3)(const float *x, int x_row0, int x_rows, int H, int W, int C,
                             int stride, const float *w, const float *b, int act,
                             float *y, int oy0, int oy1)
{
    (void)x_rows;
    int Wo = (W - 1) / stride + 1;
    int cv = C / VL * VL;
    SFX(dw_row_fn) row_fn = SFX(dw_row_for)(C, act, stride);
    for (int oy = oy0; oy < oy1; oy++) {
        float *yrow = y + (size_t)(oy - oy0) * Wo * C;
        int iy0 = oy * stride - 1;
        const float *rows[3] = { NULL, NULL, NULL };
        int ky0 = iy0 < 0 ? 1 : 0, ky1 = iy0 + 2 >= H ? H - iy0 : 3;
        for (int ky = ky0; ky < ky1; ky++)
            rows[ky] = x + (size_t)(iy0 + ky - x_row0) * W * C;
        if (row_fn && ky0 == 0 && ky1 == 3 && W > 4 * stride + 1) {
            row_fn(rows, W, w, b, yrow);
            continue;
        }
        int ox = 0;
        while (ox < Wo) {
            int ix0 = ox * stride - 1;
            if (stride == 1 && cv == C && ky0 == 0 && ky1 == 3 && ix0 >= 0 && ox + 4 < W) {
                const float *p[3] = { rows[0] + (size_t)ix0 * C, rows[1] + (size_t)ix0 * C,
                                      rows[2] + (size_t)ix0 * C };
                SFX(dw_quad)(p, C, cv, w, b, act, yrow + (size_t)ox * C);
                ox += 4;
                continue;
            }
            int kx0 = ix0 < 0 ? 1 : 0, kx1 = ix0 + 2 >= W ? W - ix0 : 3;
            SFX(dw_pixel)(rows, ky0, ky1, ix0, kx0, kx1, C, cv, w, b, act,
                          yrow + (size_t)ox * C);
            ox++;
        }
    }
}

/* LayerNorm of each row: mean and biased variance with vector partial sums. */
static void SFX(k_layernorm)(const float *x, ptrdiff_t ldx, float *y, ptrdiff_t ldy,
                             int rows, int C, const float *g, const float *b, float eps)
{
    int cv = C / VL * VL, c4 = C / (4 * VL) * (4 * VL);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        /* four partial sums (vectors c, c+1, c+2, c+3 mod 4, the rest in
         * the first): four dependency chains instead of one */
        VEC s0 = VZERO(), s1 = VZERO(), s2 = VZERO(), s3 = VZERO();
        for (int c = 0; c < c4; c += 4 * VL) {
            s0 = VADD(s0, VLOADU(xr + c));
            s1 = VADD(s1, VLOADU(xr + c + VL));
            s2 = VADD(s2, VLOADU(xr + c + 2 * VL));
            s3 = VADD(s3, VLOADU(xr + c + 3 * VL));
        }
        for (int c = c4; c < cv; c += VL)
            s0 = VADD(s0, VLOADU(xr + c));
        float sum = VHSUM(VADD(VADD(s0, s1), VADD(s2, s3)));
        for (int c = cv; c < C; c++)
            sum += xr[c];
        float mean = sum / (float)C;
        VEC vm = VSET1(mean);
        VEC q0 = VZERO(), q1 = VZERO(), q2 = VZERO(), q3 = VZERO();
        for (int c = 0; c < c4; c += 4 * VL) {
            VEC d0 = VSUB(VLOADU(xr + c), vm), d1 = VSUB(VLOADU(xr + c + VL), vm);
            VEC d2 = VSUB(VLOADU(xr + c + 2 * VL), vm), d3 = VSUB(VLOADU(xr + c + 3 * VL), vm);
            q0 = VFMA(d0, d0, q0);
            q1 = VFMA(d1, d1, q1);
            q2 = VFMA(d2, d2, q2);
            q3 = VFMA(d3, d3, q3);
        }
        for (int c = c4; c < cv; c += VL) {
            VEC d = VSUB(VLOADU(xr + c), vm);
            q0 = VFMA(d, d, q0);
        }
        float var = VHSUM(VADD(VADD(q0, q1), VADD(q2, q3)));
        for (int c = cv; c < C; c++) {
            float d = xr[c] - mean;
            var = fmaf(d, d, var);
        }
        var /= (float)C;
        float inv = 1.0f / sqrtf(var + eps);
        VEC vi = VSET1(inv);
        for (int c = 0; c < cv; c += VL) {
            VEC t = VMUL(VSUB(VLOADU(xr + c), vm), vi);
            VSTOREU(yr + c, VFMA(t, VLOADU(g + c), VLOADU(b + c)));
        }
        for (int c = cv; c < C; c++)
            yr[c] = fmaf((xr[c] - mean) * inv, g[c], b[c]);
    }
}

static void SFX(k_relu)(float *x, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        VSTOREU(x + i, VMAX(VLOADU(x + i), VZERO()));
    for (; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* exp(t) for t <= 0, clamped below at -87 (exp(-87) ~ 1.6e-38, where expf
 * would continue into subnormals: immaterial next to a softmax sum >= 1). */
static inline VEC SFX(vexp_le0)(VEC t)
{
#ifdef VPOW2I_SHIFTED
    /* vexp_neg's steps with n = rint(t log2e) rounded by adding and taking
     * away 1.5 * 2^23 (exact for |t log2e| < 2^22, ties to even as VROUND),
     * and 2^n from the low bits of the sum instead of a conversion: the same
     * n, r, polynomial and scale, so bitwise vexp_neg's result. */
    t = VMAX(t, VSET1(-87.0f));
    VEC sh = VADD(VMUL(t, VSET1(0x1.715476p+0f)), VSET1(0x1.8p23f));
    VEC n = VSUB(sh, VSET1(0x1.8p23f));
    return VMUL(SFX(vexp_frac)(t, n), VPOW2I_SHIFTED(sh));
#else
    return SFX(vexp_neg)(VMAX(t, VSET1(-87.0f)));
#endif
}

/* Softmax of one row of n floats, with bias row br (NULL: none) added
 * first; the bias is added in the max pass, which stores the sums. */
static inline void SFX(softmax_row)(float *xr, const float *br, int n)
{
    int nv = n / VL * VL;
    float mx = -FLT_MAX;
    if (nv) {
        VEC m;
        if (br) {
            m = VADD(VLOADU(xr), VLOADU(br));
            VSTOREU(xr, m);
            for (int i = VL; i < nv; i += VL) {
                VEC v = VADD(VLOADU(xr + i), VLOADU(br + i));
                VSTOREU(xr + i, v);
                m = VMAX(m, v);
            }
        } else {
            m = VLOADU(xr);
            for (int i = VL; i < nv; i += VL)
                m = VMAX(m, VLOADU(xr + i));
        }
        mx = VHMAX(m);
    }
    for (int i = nv; i < n; i++) {
        if (br)
            xr[i] = xr[i] + br[i];
        mx = xr[i] > mx ? xr[i] : mx;
    }
    VEC vm = VSET1(mx), s = VZERO();
    for (int i = 0; i < nv; i += VL) {
        VEC e = SFX(vexp_le0)(VSUB(VLOADU(xr + i), vm));
        VSTOREU(xr + i, e);
        s = VADD(s, e);
    }
    float sum = VHSUM(s);
    if (nv < n) {   /* the tail through one padded vector (same exp as the body) */
        float tl[VL];
        for (int i = 0; i < VL; i++)
            tl[i] = nv + i < n ? xr[nv + i] : mx;
        VSTOREU(tl, SFX(vexp_le0)(VSUB(VLOADU(tl), vm)));
        for (int i = nv; i < n; i++) {
            xr[i] = tl[i - nv];
            sum += xr[i];
        }
    }
    float inv = 1.0f / sum;
    VEC vi = VSET1(inv);
    for (int i = 0; i < nv; i += VL)
        VSTOREU(xr + i, VMUL(VLOADU(xr + i), vi));
    for (int i = nv; i < n; i++)
        xr[i] *= inv;
}

static void SFX(k_softmax)(float *x, int rows, int n, ptrdiff_t ld)
{
    for (int r = 0; r < rows; r++)
        SFX(softmax_row)(x + r * ld, NULL, n);
}

/* Per head: S = q k^T + bias (GEMM with the bias as residual), softmax,
 * out_h = S v; the reference's steps with this ISA's softmax.  The fallback
 * of the kernel below when its scratch cannot be had. */
static void SFX(window_attn_gemm)(const float *qkv, ptrdiff_t ldqkv, int N, int heads, int kd,
                                  int d, const float *bias, float *out, ptrdiff_t ldo,
                                  float *scratch)
{
    int hs = 2 * kd + d;
    for (int h = 0; h < heads; h++) {
        const float *q = qkv + h * hs, *k = q + kd, *v = q + 2 * kd;
        msnn_epi e = { 0 };
        e.residual = bias ? bias + (size_t)h * N * N : NULL;
        e.ldr = N;
        msnn_mat A = { q, ldqkv, 1 }, B = { k, 1, ldqkv };
        msnn_gemm(N, N, kd, A, B, scratch, N, &e, NULL);
        SFX(k_softmax)(scratch, N, N, N);
        msnn_mat S = { scratch, N, 1 }, V = { v, ldqkv, 1 };
        msnn_gemm(N, d, N, S, V, out + h * d, ldo, NULL, NULL);
    }
}

/* Softmax of the MR full rows of a score panel (row r at x + r*ld, bias row
 * br[r] or none), each row's steps those of softmax_row in the same order,
 * so bitwise its result.  The rows' tails
 * (the n % VL last columns) go through the exp together, packed into
 * vectors, instead of one padded vector per row. */
static inline void SFX(softmax_panel)(float *x, ptrdiff_t ld, const float *const br[MR], int n)
{
    const int nv = n / VL * VL, nt = n - nv;
    float mx[MR], sum[MR];
    float tt[(MR * (VL - 1) + VL - 1) / VL * VL];   /* tails, x - max, row after row */
    for (int r = 0; r < MR; r++) {
        float *xr = x + r * ld;
        float m1 = -FLT_MAX;
        if (nv) {
            VEC m;
            if (br[r]) {
                m = VADD(VLOADU(xr), VLOADU(br[r]));
                VSTOREU(xr, m);
                for (int i = VL; i < nv; i += VL) {
                    VEC v = VADD(VLOADU(xr + i), VLOADU(br[r] + i));
                    VSTOREU(xr + i, v);
                    m = VMAX(m, v);
                }
            } else {
                m = VLOADU(xr);
                for (int i = VL; i < nv; i += VL)
                    m = VMAX(m, VLOADU(xr + i));
            }
            m1 = VHMAX(m);
        }
        float t[VL];
        for (int i = 0; i < nt; i++) {
            t[i] = br[r] ? xr[nv + i] + br[r][nv + i] : xr[nv + i];
            m1 = t[i] > m1 ? t[i] : m1;
        }
        for (int i = 0; i < nt; i++)
            tt[r * nt + i] = t[i] - m1;
        mx[r] = m1;
    }
    for (int r = 0; r < MR; r++) {
        float *xr = x + r * ld;
        VEC vm = VSET1(mx[r]), sv = VZERO();
        for (int i = 0; i < nv; i += VL) {
            VEC e = SFX(vexp_le0)(VSUB(VLOADU(xr + i), vm));
            VSTOREU(xr + i, e);
            sv = VADD(sv, e);
        }
        sum[r] = VHSUM(sv);
    }
    if (nt) {
        const int ntt = MR * nt;
        for (int i = ntt; i < (ntt + VL - 1) / VL * VL; i++)
            tt[i] = 0.0f;
        for (int i = 0; i < ntt; i += VL)
            VSTOREU(tt + i, SFX(vexp_le0)(VLOADU(tt + i)));
        for (int r = 0; r < MR; r++)
            for (int i = 0; i < nt; i++) {
                x[r * ld + nv + i] = tt[r * nt + i];
                sum[r] += tt[r * nt + i];
            }
    }
    for (int r = 0; r < MR; r++) {
        float *xr = x + r * ld, inv = 1.0f / sum[r];
        VEC vi = VSET1(inv);
        for (int i = 0; i < nv; i += VL)
            VSTOREU(xr + i, VMUL(VLOADU(xr + i), vi));
        for (int i = nv; i < n; i++)
            xr[i] *= inv;
    }
}

/* The M x (NVV*VL) tile c (leading dim ldc) = A x B, M <= MR and NVV <= NV
 * compile-time constants: A's element (r, k) at a[r*lda + k], B's row k at
 * b + k*ldb; the GEMM micro-kernel's chain (simd_tmpl.h fma_chain), so
 * bitwise its values, without its prefetches and epilogue. */
static inline __attribute__((always_inline)) void
SFX(attn_tile)(const int M, const int NVV, int kc, const float *a, ptrdiff_t lda, const float *b,
               ptrdiff_t ldb, float *c, ptrdiff_t ldc)
{
    VEC acc[MR][NV];
#pragma GCC unroll 16
    for (int r = 0; r < M; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NVV; v++)
            acc[r][v] = VZERO();
    SFX(fma_chain)(M, NVV, kc, a, lda, 1, b, ldb, acc);
#pragma GCC unroll 16
    for (int r = 0; r < M; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NVV; v++)
            VSTOREU(c + r * ldc + v * VL, acc[r][v]);
}

/* attn_tile on m rows (1 <= m <= MR), NVV = NV (wide) or 1 (narrow): one
 * function each, for every height the kernel's MR allows (ATTN_HEIGHTS). */
#if MR > 8
#define ATTN_HEIGHTS(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)
#elif MR > 6
#define ATTN_HEIGHTS(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)
#else
#define ATTN_HEIGHTS(X) X(1) X(2) X(3) X(4) X(5) X(6)
#endif
#define ATTN_TILE_M(mm)                                                                      \
    static void SFX(attn_tile_w##mm)(int kc, const float *a, ptrdiff_t lda, const float *b,  \
                                     ptrdiff_t ldb, float *c, ptrdiff_t ldc)                 \
    {                                                                                        \
        SFX(attn_tile)((mm), NV, kc, a, lda, b, ldb, c, ldc);                                 \
    }                                                                                        \
    static void SFX(attn_tile_n##mm)(int kc, const float *a, ptrdiff_t lda, const float *b,  \
                                     ptrdiff_t ldb, float *c, ptrdiff_t ldc)                 \
    {                                                                                        \
        SFX(attn_tile)((mm), 1, kc, a, lda, b, ldb, c, ldc);                                  \
    }
ATTN_HEIGHTS(ATTN_TILE_M)
#undef ATTN_TILE_M

typedef void (*SFX(attn_tile_fn))(int kc, const float *a, ptrdiff_t lda, const float *b,
                                  ptrdiff_t ldb, float *c, ptrdiff_t ldc);

/* The tile kernel for m rows, wide (NR columns) or narrow (VL). */
static SFX(attn_tile_fn) SFX(attn_tile_get)(int m, int wide)
{
#define ATTN_W(mm) SFX(attn_tile_w##mm),
#define ATTN_N(mm) SFX(attn_tile_n##mm),
    static const SFX(attn_tile_fn) w[] = { NULL, ATTN_HEIGHTS(ATTN_W) };
    static const SFX(attn_tile_fn) n[] = { NULL, ATTN_HEIGHTS(ATTN_N) };
#undef ATTN_W
#undef ATTN_N
    return wide ? w[m] : n[m];
}
#undef ATTN_HEIGHTS

/* Score columns computed for N keys: NR-wide panels, the last one VL wide
 * when at most VL keys are left. */
static inline int SFX(attn_cols)(int N)
{
    int full = N / NR * NR, rem = N - full;
    return full + (rem == 0 ? 0 : rem <= VL ? VL : NR);
}

/* Floats of working memory of attn_core for N keys (M <= N queries). */
static size_t SFX(attn_core_scratch)(int N, int kd, int d)
{
    size_t Ns = (size_t)SFX(attn_cols)(N), Dp = (size_t)(d + NR - 1) / NR * NR;
    /* each part rounded up to 16 floats: K^T, V, scores, edge output, zero row */
    return ((Ns * kd + 15) & ~(size_t)15) + ((Dp * N + 15) & ~(size_t)15) +
           (((size_t)MR * Ns + 15) & ~(size_t)15) + (size_t)MR * NR +
           (((size_t)kd + 15) & ~(size_t)15);
}

/* The qkv row of key token j: all N rows (ws == 0), or the window layout of
 * window_attn_part (compact real rows, then one padding row). */
static inline int SFX(attn_kv_row)(int j, int ws, int hy, int wx)
{
    if (!ws)
        return j;
    int ty = j / ws, tx = j - ty * ws;
    return ty < hy && tx < wx ? ty * wx + tx : hy * wx;
}

/* K^T of one head in key panels: panel p (keys [p NR, p NR + w), w = NR or
 * the last panel's width) at KT + p NR kd, KT[c w + j] = k(p NR + j, c);
 * key rows past N are the zero row z.  Groups of VL keys by VL channels go
 * through the ISA's register transpose when it has one. */
static void SFX(attn_pack_kt)(const float *k, ptrdiff_t ldqkv, int N, int Ns, int ws, int hy,
                              int wx, int kd, const float *z, float *KT)
{
    for (int j0 = 0; j0 < Ns; j0 += VL) {
        int p = j0 / NR, w = Ns - p * NR < NR ? Ns - p * NR : NR;
        float *dst = KT + (size_t)p * NR * kd + (j0 - p * NR);
        const float *rows[VL];
        for (int j = 0; j < VL; j++)
            rows[j] = j0 + j < N ? k + (ptrdiff_t)SFX(attn_kv_row)(j0 + j, ws, hy, wx) * ldqkv
                                 : z;
        int c = 0;
#ifdef VTRANSPOSE_VL
        for (; c + VL <= kd; c += VL)
            VTRANSPOSE_VL(rows, c, dst + (size_t)c * w, w);
#endif
        for (; c < kd; c++)
            for (int j = 0; j < VL; j++)
                dst[(size_t)c * w + j] = rows[j][c];
    }
}

/* Window attention with register-tile kernels called directly, one panel
 * of MR queries at a time through scores, softmax and values, so the
 * panel's scores (MR x N, padded) stay in L1; K^T (and V of a partial
 * window) packed once per head, the queries, a full window's V and the
 * output read and written in place.  Queries are the first M qkv rows
 * (M = N, or the real tokens of a partial window: ws != 0), keys the N
 * tokens through attn_kv_row.  Every score is the fused multiply-add chain
 * over k in increasing k from 0, then + bias, and every output the chain
 * over keys in increasing order from 0, as msnn_gemm computes them on this
 * path, so the result is bitwise that of window_attn_gemm (on the rows
 * computed).  W: attn_core_scratch(N, kd, d) floats. */
static void SFX(attn_core)(const float *qkv, ptrdiff_t ldqkv, int N, int ws, int hy, int wx,
                           int heads, int kd, int d, const float *bias, float *out,
                           ptrdiff_t ldo, float *W)
{
    const int M = ws ? hy * wx : N;
    const int Ns = SFX(attn_cols)(N);                 /* score columns computed */
    const int Dp = (d + NR - 1) / NR * NR;            /* output columns, padded */
    const int direct_v = !ws || M == N;               /* V rows at stride ldqkv */
    size_t n_kt = (size_t)Ns * kd, n_v = (size_t)Dp * N, n_s = (size_t)MR * Ns;
    float *KT = W;
    float *VP = KT + ((n_kt + 15) & ~(size_t)15);
    float *SP = VP + ((n_v + 15) & ~(size_t)15);
    float *OE = SP + ((n_s + 15) & ~(size_t)15);
    float *Z = OE + (size_t)MR * NR;
    const int hs = 2 * kd + d;
    memset(Z, 0, (size_t)kd * sizeof *Z);
    for (int h = 0; h < heads; h++) {
        const float *q = qkv + h * hs, *k = q + kd, *v = q + 2 * kd;
        SFX(attn_pack_kt)(k, ldqkv, N, Ns, ws, hy, wx, kd, Z, KT);
        /* V in NR-column panels when not read in place: VP[p][j * NR + c] =
         * v(j, p NR + c), zero padded */
        if (!direct_v || d % NR)
            for (int j = 0; j < N; j++) {
                const float *vr = v + (ptrdiff_t)SFX(attn_kv_row)(j, ws, hy, wx) * ldqkv;
                for (int p = 0; p < Dp / NR; p++) {
                    float *dst = VP + (size_t)p * N * NR + (size_t)j * NR;
                    int w = d - p * NR < NR ? d - p * NR : NR;
                    memcpy(dst, vr + p * NR, (size_t)w * sizeof *dst);
                    for (int c = w; c < NR; c++)
                        dst[c] = 0.0f;
                }
            }
        const int vin = direct_v && d % NR == 0;
        const float *bh = bias ? bias + (size_t)h * N * N : NULL;
        for (int i = 0; i < M; i += MR) {
            const int m = M - i < MR ? M - i : MR;
            const float *qi = q + (ptrdiff_t)i * ldqkv;
            /* scores of queries [i, i + m): SP = q k^T (m x Ns) */
            SFX(attn_tile_fn) tw = SFX(attn_tile_get)(m, 1), tn = SFX(attn_tile_get)(m, 0);
            for (int j0 = 0; j0 < Ns; j0 += NR) {
                if (Ns - j0 >= NR)
                    tw(kd, qi, ldqkv, KT + (size_t)j0 * kd, NR, SP + j0, Ns);
                else
                    tn(kd, qi, ldqkv, KT + (size_t)j0 * kd, VL, SP + j0, Ns);
            }
            /* softmax(S + bias) over the N real columns */
            const float *br[MR];
            for (int r = 0; r < m; r++) {
                int ti = ws ? (i + r) / wx * ws + (i + r) % wx : i + r;
                br[r] = bh ? bh + (size_t)ti * N : NULL;
            }
            if (m == MR)
                SFX(softmax_panel)(SP, Ns, br, N);
            else
                for (int r = 0; r < m; r++)
                    SFX(softmax_row)(SP + (size_t)r * Ns, br[r], N);
            /* out rows [i, i + m), head h: S v */
            for (int p = 0; p < Dp / NR; p++) {
                int w = d - p * NR < NR ? d - p * NR : NR;
                float *o = out + (ptrdiff_t)i * ldo + h * d + p * NR;
                if (vin) {
                    tw(N, SP, Ns, v + p * NR, ldqkv, o, ldo);
                    continue;
                }
                const float *bp = VP + (size_t)p * N * NR;
                if (w == NR) {
                    tw(N, SP, Ns, bp, NR, o, ldo);
                    continue;
                }
                tw(N, SP, Ns, bp, NR, OE, NR);
                for (int r = 0; r < m; r++)
                    memcpy(o + (ptrdiff_t)r * ldo, OE + (size_t)r * NR, (size_t)w * sizeof *o);
            }
        }
    }
    msnn__gemm_add_macs((unsigned long long)heads * M * N * (unsigned long long)(kd + d));
}

/* window_attn: attn_core on every row, in the thread's scratch slot 1. */
static void SFX(k_window_attn)(const float *qkv, ptrdiff_t ldqkv, int N, int heads, int kd,
                               int d, const float *bias, float *out, ptrdiff_t ldo,
                               float *scratch)
{
    float *W = msnn__thread_scratch(1, SFX(attn_core_scratch)(N, kd, d) * sizeof(float));
    if (!W) {
        SFX(window_attn_gemm)(qkv, ldqkv, N, heads, kd, d, bias, out, ldo, scratch);
        return;
    }
    SFX(attn_core)(qkv, ldqkv, N, 0, 0, 0, heads, kd, d, bias, out, ldo, W);
}

static void SFX(k_window_attn_part)(const float *qkv, ptrdiff_t ldqkv, int ws, int hy, int wx,
                                    int heads, int kd, int d, const float *bias, float *out,
                                    ptrdiff_t ldo, float *scratch)
{
    SFX(attn_core)(qkv, ldqkv, ws * ws, ws, hy, wx, heads, kd, d, bias, out, ldo, scratch);
}

/* Override the table entries this ISA implements. */
static void SFX(fill_kernels)(msnn_kernels *k)
{
    k->dwconv3x3 = SFX(k_dwconv3x3);
    k->layernorm = SFX(k_layernorm);
    k->gelu = SFX(gelu_array);
    k->relu = SFX(k_relu);
    k->softmax = SFX(k_softmax);
    k->window_attn = SFX(k_window_attn);
    k->window_attn_part = SFX(k_window_attn_part);
    k->window_attn_part_scratch = SFX(attn_core_scratch);
}
