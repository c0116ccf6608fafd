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

/* Depthwise 3x3 conv, channels last: every output pixel is bias plus the
 * valid taps in (ky, kx) order, one vector of channels at a time. */
static void SFX(k_dwconv3x3)(const float *x, int x_row0, int x_rows, int H, int W, int C,
                             int stride, const float *w, const float *b, int act,
                             float *y, int oy0, int oy1)
{
    (void)x_rows;
    int Wo = (W - 1) / stride + 1;
    int cv = C / VL * VL;
    for (int oy = oy0; oy < oy1; oy++) {
        float *yrow = y + (size_t)(oy - oy0) * Wo * C;
        int iy0 = oy * stride - 1;
        const float *rows[3];
        int ky0 = iy0 < 0 ? 1 : 0, ky1 = iy0 + 2 >= H ? H - iy0 : 3;
        for (int ky = ky0; ky < ky1; ky++)
            rows[ky] = x + (size_t)(iy0 + ky - x_row0) * W * C;
        for (int ox = 0; ox < Wo; ox++) {
            int ix0 = ox * stride - 1;
            int kx0 = ix0 < 0 ? 1 : 0, kx1 = ix0 + 2 >= W ? W - ix0 : 3;
            float *out = yrow + (size_t)ox * C;
            for (int c = 0; c < cv; c += VL) {
                VEC acc = VLOADU(b + c);
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        acc = VFMA(VLOADU(rows[ky] + (size_t)(ix0 + kx) * C + c),
                                   VLOADU(w + (size_t)(ky * 3 + kx) * C + c), acc);
                if (act == MSNN_ACT_GELU)
                    acc = SFX(vgelu)(acc);
                else if (act == MSNN_ACT_RELU)
                    acc = VMAX(acc, VZERO());
                VSTOREU(out + c, acc);
            }
            for (int c = cv; c < C; c++) {
                float acc = b[c];
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        acc = fmaf(rows[ky][(size_t)(ix0 + kx) * C + c],
                                   w[(size_t)(ky * 3 + kx) * C + c], acc);
                out[c] = SFX(act_scalar)(acc, act);
            }
        }
    }
}

/* LayerNorm of each row: mean and biased variance with vector partial sums. */
static void SFX(k_layernorm)(const float *x, ptrdiff_t ldx, float *y, ptrdiff_t ldy,
                             int rows, int C, const float *g, const float *b, float eps)
{
    int cv = C / VL * VL;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        VEC s = VZERO();
        for (int c = 0; c < cv; c += VL)
            s = VADD(s, VLOADU(xr + c));
        float sum = VHSUM(s);
        for (int c = cv; c < C; c++)
            sum += xr[c];
        float mean = sum / (float)C;
        VEC vm = VSET1(mean);
        VEC q = VZERO();
        for (int c = 0; c < cv; c += VL) {
            VEC d = VSUB(VLOADU(xr + c), vm);
            q = VFMA(d, d, q);
        }
        float var = VHSUM(q);
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
    return SFX(vexp_neg)(VMAX(t, VSET1(-87.0f)));
}

static void SFX(k_softmax)(float *x, int rows, int n, ptrdiff_t ld)
{
    int nv = n / VL * VL;
    for (int r = 0; r < rows; r++) {
        float *xr = x + r * ld;
        float mx = -FLT_MAX;
        if (nv) {
            VEC m = VLOADU(xr);
            for (int i = VL; i < nv; i += VL)
                m = VMAX(m, VLOADU(xr + i));
            mx = VHMAX(m);
        }
        for (int i = nv; i < n; i++)
            mx = xr[i] > mx ? xr[i] : mx;
        VEC vm = VSET1(mx), s = VZERO();
        for (int i = 0; i < nv; i += VL) {
            VEC e = SFX(vexp_le0)(VSUB(VLOADU(xr + i), vm));
            VSTOREU(xr + i, e);
            s = VADD(s, e);
        }
        float sum = VHSUM(s);
        for (int i = nv; i < n; i++) {
            xr[i] = expf(xr[i] - mx);
            sum += xr[i];
        }
        float inv = 1.0f / sum;
        VEC vi = VSET1(inv);
        for (int i = 0; i < nv; i += VL)
            VSTOREU(xr + i, VMUL(VLOADU(xr + i), vi));
        for (int i = nv; i < n; i++)
            xr[i] *= inv;
    }
}

/* Per head: S = q k^T + bias (GEMM with the bias as residual), softmax,
 * out_h = S v; the reference's steps with this ISA's softmax. */
static void SFX(k_window_attn)(const float *qkv, ptrdiff_t ldqkv, int N, int heads, int kd,
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

/* Override the table entries this ISA implements. */
static void SFX(fill_kernels)(msnn_kernels *k)
{
    k->dwconv3x3 = SFX(k_dwconv3x3);
    k->layernorm = SFX(k_layernorm);
    k->gelu = SFX(gelu_array);
    k->relu = SFX(k_relu);
    k->softmax = SFX(k_softmax);
    k->window_attn = SFX(k_window_attn);
}
