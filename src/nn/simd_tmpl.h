/* Internal: SIMD kernels written once over a small vector vocabulary and
 * instantiated by each ISA file (x86/kernels_avx2.c, x86/kernels_avx512.c,
 * arm/kernels_neon.c), so the logic tested on one ISA is the logic of all.
 *
 * The including file defines, before including this header:
 *   SFX(name)        name with the ISA suffix (name##_avx2 ...)
 *   VL               floats per vector; MR, NV: micro-tile MR x (NV*VL)
 *   VEC, VMASK       vector and comparison-mask types
 *   VLOAD(p) VLOADU(p) VSTOREU(p, v) VSET1(s) VZERO()
 *   VFMA(a, b, c)    a*b + c, one rounding      VADD VSUB VMUL VDIV VMIN VMAX
 *   VABS(v) VSIGN(v) (v with only its sign bit) VOR(a, b) (bitwise)
 *   VLT(a, b)        mask of a < b              VSEL(m, a, b)  m ? a : b
 *   VROUND(v)        nearest integer (ties even) as float
 *   VPOW2I(n)        2^n for integral float n in [-126, 127]
 */

#include <string.h>

#define NR (NV * VL)

/* ------------------------------------------------------------ erf, GELU */

/* exp(r) for t = n ln2 + r, |r| <= ln2/2 (n = rint(t log2e), given):
 * degree-7 Taylor; the caller scales by 2^n. */
static inline VEC SFX(vexp_frac)(VEC t, VEC n)
{
    VEC r = VFMA(n, VSET1(-0x1.62e430p-1f), t);
    r = VFMA(n, VSET1(0x1.05c610p-29f), r);
    VEC p = VSET1(0x1.a01a02p-13f);
    p = VFMA(p, r, VSET1(0x1.6c16c2p-10f));
    p = VFMA(p, r, VSET1(0x1.111112p-7f));
    p = VFMA(p, r, VSET1(0x1.555556p-5f));
    p = VFMA(p, r, VSET1(0x1.555556p-3f));
    p = VFMA(p, r, VSET1(0x1.000000p-1f));
    p = VFMA(p, r, VSET1(1.0f));
    return VFMA(p, r, VSET1(1.0f));
}

/* exp(t) for t in [-87, 0]. */
static inline VEC SFX(vexp_neg)(VEC t)
{
    VEC n = VROUND(VMUL(t, VSET1(0x1.715476p+0f)));
    return VMUL(SFX(vexp_frac)(t, n), VPOW2I(n));
}

/* erf(x), within 3 ulp of erff: x + x P(x^2) for |x| < 0.921875, else
 * sign(x) (1 - R(|x|)) with |x| clamped to 4 (erff(4) rounds to 1).
 * P is a weighted least-squares fit (float coefficients) of erf(x)/x - 1;
 * R = N/D (degrees 5 and 6, D(0) = 1) a least-squares fit of erfc on
 * [0.921875, 4] for absolute error (4.2e-8, under 1 ulp of a result in
 * [0.8, 1]): one division instead of an exp and a degree-7 polynomial. */
static inline VEC SFX(verf)(VEC x)
{
    VEC ax = VABS(x);
    VEC z = VMUL(x, x);
    VEC p = VSET1(-0x1.355250p-11f);
    p = VFMA(p, z, VSET1(0x1.45ff56p-8f));
    p = VFMA(p, z, VSET1(-0x1.b6527ep-6f));
    p = VFMA(p, z, VSET1(0x1.ce1652p-4f));
    p = VFMA(p, z, VSET1(-0x1.8126ccp-2f));
    p = VFMA(p, z, VSET1(0x1.06eba6p-3f));
    VEC small = VFMA(x, p, x);

    VEC a = VMIN(ax, VSET1(4.0f));
    VEC n = VSET1(-0x1.6639cep-10f);
    n = VFMA(n, a, VSET1(0x1.969d02p-6f));
    n = VFMA(n, a, VSET1(-0x1.72c5e2p-3f));
    n = VFMA(n, a, VSET1(0x1.53b83cp-1f));
    n = VFMA(n, a, VSET1(-0x1.38f716p+0f));
    n = VFMA(n, a, VSET1(0x1.d01e16p-1f));
    VEC d = VSET1(0x1.725ed0p-4f);
    d = VFMA(d, a, VSET1(-0x1.b79080p-2f));
    d = VFMA(d, a, VSET1(0x1.25be5cp+0f));
    d = VFMA(d, a, VSET1(-0x1.829aecp+0f));
    d = VFMA(d, a, VSET1(0x1.9ee7a8p+0f));
    d = VFMA(d, a, VSET1(-0x1.6c8a00p-1f));
    d = VFMA(d, a, VSET1(1.0f));
    VEC large = VSUB(VSET1(1.0f), VDIV(n, d));
    large = VOR(large, VSIGN(x));
    return VSEL(VLT(ax, VSET1(0.921875f)), small, large);
}

/* GELU(x) = x Phi(x), Phi(x) = 0.5 (1 + erf(x / sqrt 2)), through the
 * normal tail Q(a) = 1 - Phi(a) = 0.5 erfc(a / sqrt 2) of a = |x|:
 * GELU(x) = x - a Q(a) for x >= 0 and -a Q(a) otherwise, that is
 * max(x, 0) - a Q(a), one multiply-add.  Q = N/D (degrees 6 and 7,
 * D(0) = 1, N(0) = 0.5) is a weighted least-squares fit for absolute error
 * on [0, 5.4] (7.6e-8 evaluated in float, against 7.2e-8 for Phi through
 * verf's 2 ulp); Q = 0 beyond (Q(5.4) = 3.3e-8), so GELU(x) = 0 for
 * x <= -5.4.  20 vector operations: 14 multiply-adds, a division, abs,
 * min, max, a compare and an and (measured: within 1.04 eps |x| of the
 * exact GELU).  On our Zen 3 (data in L1) it ran 15-25 % faster than
 * x Phi(x) with Phi = x < 0 ? Q : 1 - Q (two compares, two blends, a
 * subtraction and a product after Q: 22 operations), and its single
 * rounding after the product is more accurate (that form: 1.21 eps |x|). */
static inline VEC SFX(vgelu)(VEC x)
{
    VEC a = VABS(x);
    VEC c = VMIN(a, VSET1(5.4f));
    VEC n = VSET1(0x1.d3a9dap-16f);
    n = VFMA(n, c, VSET1(-0x1.b86478p-11f));
    n = VFMA(n, c, VSET1(0x1.5be324p-7f));
    n = VFMA(n, c, VSET1(-0x1.27433ep-4f));
    n = VFMA(n, c, VSET1(0x1.1c2416p-2f));
    n = VFMA(n, c, VSET1(-0x1.2621p-1f));
    n = VFMA(n, c, VSET1(0.5f));
    VEC d = VSET1(0x1.2ccee4p-13f);
    d = VFMA(d, c, VSET1(0x1.14d02ap-13f));
    d = VFMA(d, c, VSET1(-0x1.067118p-10f));
    d = VFMA(d, c, VSET1(0x1.64cc86p-6f));
    d = VFMA(d, c, VSET1(-0x1.d9c698p-5f));
    d = VFMA(d, c, VSET1(0x1.197386p-2f));
    d = VFMA(d, c, VSET1(-0x1.677b2ep-2f));
    d = VFMA(d, c, VSET1(1.0f));
    VEC q = VKEEP(VLT(a, VSET1(5.4f)), VDIV(n, d));
    return VFNMA(a, q, VMAX(VZERO(), x));
}

/* y[i] = erf(x[i]) (exported for the accuracy test). */
static void SFX(erf_array)(const float *x, float *y, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        VSTOREU(y + i, SFX(verf)(VLOADU(x + i)));
    if (i < n) {
        float t[VL] = { 0 };
        memcpy(t, x + i, (n - i) * sizeof *t);
        VSTOREU(t, SFX(verf)(VLOADU(t)));
        memcpy(y + i, t, (n - i) * sizeof *t);
    }
}

/* In place GELU over n floats. */
static void SFX(gelu_array)(float *x, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        VSTOREU(x + i, SFX(vgelu)(VLOADU(x + i)));
    if (i < n) {
        float t[VL] = { 0 };
        memcpy(t, x + i, (n - i) * sizeof *t);
        VSTOREU(t, SFX(vgelu)(VLOADU(t)));
        memcpy(x + i, t, (n - i) * sizeof *t);
    }
}

/* ------------------------------------------------------------ GEMM tile */

/* GELU over the first m rows of a tile, in place: one copy of the code for
 * every kernel, looped (the twelve erf evaluations of a tile unrolled in
 * each kernel made the kernels several KB long, and they ran slower: the
 * epilogue runs once per tile, so it mostly came from outside the op cache). */
static __attribute__((noinline)) void SFX(gelu_tile)(float *c, ptrdiff_t ldc, int m)
{
#pragma GCC unroll 1
    for (int r = 0; r < m; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            VSTOREU(c + r * ldc + v * VL, SFX(vgelu)(VLOADU(c + r * ldc + v * VL)));
}

/* acc[r][v] += a(r, k) * (vector v of B's row k) for k = 0 .. kc-1 in turn,
 * one fused multiply-add each, for r < M and v < NVV (compile-time
 * constants): A's element (r, k) at a[r*rsa + k*csa], B's row k at b + k*ldb.
 * The k loop of the GEMM micro-kernel (ukr_body) and of the attention tiles
 * (kernels_tmpl.h attn_tile): one chain, so both give the same bits. */
static inline __attribute__((always_inline)) void
SFX(fma_chain)(const int M, const int NVV, int kc, const float *a, ptrdiff_t rsa,
               ptrdiff_t csa, const float *b, ptrdiff_t ldb, VEC acc[MR][NV])
{
    for (int k = 0; k < kc; k++) {
        VEC bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NVV; v++)
            bv[v] = VLOADU(b + v * VL);
#pragma GCC unroll 16
        for (int r = 0; r < M; r++) {
            VEC av = VSET1(a[r * rsa]);
#pragma GCC unroll 4
            for (int v = 0; v < NVV; v++)
                acc[r][v] = VFMA(av, bv[v], acc[r][v]);
        }
        a += csa;
        b += ldb;
    }
}

/* The M x NR tile at c (leading dim ldc), M <= MR a compile-time constant,
 * += or = A x b-panel, one fused multiply-add per k in increasing k
 * (gemm_kern.h), then the fused epilogue when te != NULL.  A's element (r, k)
 * is a[r*rsa + k*csa]: a packed panel (rsa 1, csa MR) or M rows of a
 * row-major matrix (rsa lda, csa 1).  A row's values do not depend on M. */
static inline __attribute__((always_inline)) void
SFX(ukr_body)(const int M, int kc, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
              float *c, ptrdiff_t ldc, int load, const msnn__tile_epi *te)
{
    VEC acc[MR][NV];
    if (te && te->res) {
        /* the residual is read at the end (often an activation not touched
         * for a while, e.g. the decoder's image tokens): fetch it now */
#pragma GCC unroll 16
        for (int r = 0; r < M; r++) {
            __builtin_prefetch(te->res + r * te->ldr, 0, 3);
            __builtin_prefetch(te->res + r * te->ldr + NR - 1, 0, 3);
        }
    }
    if (!load) {
        /* C is only written at the end: fetch its lines for writing now so
         * the stores do not wait for them. */
#pragma GCC unroll 16
        for (int r = 0; r < M; r++) {
            __builtin_prefetch(c + r * ldc, 1, 3);
            __builtin_prefetch(c + r * ldc + NR - 1, 1, 3);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < M; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[r][v] = load ? VLOADU(c + r * ldc + v * VL) : VZERO();
    SFX(fma_chain)(M, NV, kc, a, rsa, csa, b, NR, acc);
    if (te) {
        if (te->bias_col) {
            VEC bc[NV];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                bc[v] = VLOADU(te->bias_col + v * VL);
#pragma GCC unroll 16
            for (int r = 0; r < M; r++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[r][v] = VADD(acc[r][v], bc[v]);
        } else if (te->bias_row) {
#pragma GCC unroll 16
            for (int r = 0; r < M; r++) {
                VEC br = VSET1(te->bias_row[r]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[r][v] = VADD(acc[r][v], br);
            }
        }
        if (te->res) {
#pragma GCC unroll 16
            for (int r = 0; r < M; r++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[r][v] = VADD(acc[r][v], VLOADU(te->res + r * te->ldr + v * VL));
        }
        if (te->act == MSNN_ACT_RELU) {
#pragma GCC unroll 16
            for (int r = 0; r < M; r++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[r][v] = VMAX(acc[r][v], VZERO());
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < M; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            VSTOREU(c + r * ldc + v * VL, acc[r][v]);
    if (te && te->act == MSNN_ACT_GELU)
        SFX(gelu_tile)(c, ldc, M);
}

static void SFX(ukr)(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int load,
                     const msnn__tile_epi *te)
{
    SFX(ukr_body)(MR, kc, a, 1, MR, b, c, ldc, load, te);
}

static void SFX(ukr_rows)(int kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                          ptrdiff_t ldc, int load, const msnn__tile_epi *te)
{
    SFX(ukr_body)(MR, kc, a, lda, 1, b, c, ldc, load, te);
}

/* ukr_rows on the first m < MR rows only (a tile at the bottom edge of C:
 * only m rows of A exist), for m = 1 .. MR-1. */
#define MSNN__UKR_ROWS_M(m)                                                                  \
    static void SFX(ukr_rows_##m)(int kc, const float *a, ptrdiff_t lda, const float *b,     \
                                  float *c, ptrdiff_t ldc, int load, const msnn__tile_epi *te) \
    {                                                                                        \
        SFX(ukr_body)((m), kc, a, lda, 1, b, c, ldc, load, te);                               \
    }
MSNN__UKR_ROWS_M(1)
MSNN__UKR_ROWS_M(2)
MSNN__UKR_ROWS_M(3)
MSNN__UKR_ROWS_M(4)
MSNN__UKR_ROWS_M(5)
#if MR > 6
MSNN__UKR_ROWS_M(6)
MSNN__UKR_ROWS_M(7)
#endif
#if MR > 8
MSNN__UKR_ROWS_M(8)
MSNN__UKR_ROWS_M(9)
MSNN__UKR_ROWS_M(10)
MSNN__UKR_ROWS_M(11)
MSNN__UKR_ROWS_M(12)
MSNN__UKR_ROWS_M(13)
#endif
#if MR > 14
#error "simd_tmpl.h: edge kernels are instantiated for MR <= 14"
#endif
#undef MSNN__UKR_ROWS_M

/* ------------------------------------------------------------ packing */

/* B rows [k0, k0+kc) x columns [j0, j0+n) -> panels of kc x NR, zero padded
 * (the layout of gemm_kern.h); row-major B is copied a vector at a time. */
static void SFX(pack_b)(msnn_mat B, int k0, int kc, int j0, int n, float *dst)
{
    for (int jp = 0; jp < n; jp += NR) {
        int w = n - jp < NR ? n - jp : NR;
        const float *src = B.p + (ptrdiff_t)k0 * B.rs + (ptrdiff_t)(j0 + jp) * B.cs;
        if (B.cs == 1 && w == NR) {
            for (int k = 0; k < kc; k++) {
                const float *s = src + (ptrdiff_t)k * B.rs;
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    VSTOREU(dst + (size_t)k * NR + v * VL, VLOADU(s + v * VL));
            }
        } else if (B.rs == 1) {
            /* transposed B (e.g. K^T in attention): column c is contiguous in k */
            for (int k = 0; k < kc; k++)
                for (int c = w; c < NR; c++)
                    dst[(size_t)k * NR + c] = 0.0f;
            for (int kb = 0; kb < kc; kb += 16) {  /* 16 rows of the panel at a time */
                int ke = kc - kb < 16 ? kc : kb + 16;
                for (int c = 0; c < w; c++) {
                    const float *col = src + (ptrdiff_t)c * B.cs;
                    for (int k = kb; k < ke; k++)
                        dst[(size_t)k * NR + c] = col[k];
                }
            }
        } else {
            for (int k = 0; k < kc; k++) {
                const float *s = src + (ptrdiff_t)k * B.rs;
                float *d = dst + (size_t)k * NR;
                for (int c = 0; c < w; c++)
                    d[c] = s[(ptrdiff_t)c * B.cs];
                for (int c = w; c < NR; c++)
                    d[c] = 0.0f;
            }
        }
        dst += (size_t)kc * NR;
    }
}

/* ------------------------------------------------------------ epilogue */

/* One vector of row i, columns j..j+VL-1: act(c + bias + residual). */
static inline VEC SFX(epi_vec)(VEC v, const msnn_epi *e, const float *bcol, VEC brow,
                               const float *res)
{
    if (e->bias)
        v = VADD(v, e->bias_per_row ? brow : VLOADU(bcol));
    if (e->residual)
        v = VADD(v, VLOADU(res));
    if (e->act == MSNN_ACT_GELU)
        v = SFX(vgelu)(v);
    else if (e->act == MSNN_ACT_RELU)
        v = VMAX(v, VZERO());
    return v;
}

/* The epilogue on the m x n block of C at c, whose element (0,0) is C(i0, j0).
 * A row's tail shorter than VL goes through a padded buffer so every element
 * sees the same vector instructions. */
static void SFX(epi)(float *c, ptrdiff_t ldc, int m, int n, int i0, int j0, const msnn_epi *e)
{
    if (!e || (!e->bias && !e->residual && e->act == MSNN_ACT_NONE))
        return;
    for (int r = 0; r < m; r++) {
        float *cr = c + r * ldc;
        const float *bcol = e->bias && !e->bias_per_row ? e->bias + j0 : NULL;
        VEC brow = e->bias && e->bias_per_row ? VSET1(e->bias[i0 + r]) : VZERO();
        const float *res = e->residual ? e->residual + (ptrdiff_t)(i0 + r) * e->ldr + j0 : NULL;
        int j = 0;
        for (; j + VL <= n; j += VL)
            VSTOREU(cr + j, SFX(epi_vec)(VLOADU(cr + j), e, bcol ? bcol + j : NULL, brow,
                                          res ? res + j : NULL));
        if (j < n) {
            float tc[VL] = { 0 }, tb[VL] = { 0 }, tr[VL] = { 0 };
            int t = n - j;
            memcpy(tc, cr + j, t * sizeof *tc);
            if (bcol)
                memcpy(tb, bcol + j, t * sizeof *tb);
            if (res)
                memcpy(tr, res + j, t * sizeof *tr);
            VSTOREU(tc, SFX(epi_vec)(VLOADU(tc), e, tb, brow, tr));
            memcpy(cr + j, tc, t * sizeof *tc);
        }
    }
}

/* Fill the GEMM kernel description for this ISA. */
static void SFX(fill_kernel)(msnn__gemm_kernel *k, const char *name, int level)
{
    k->name = name;
    k->level = level;
    k->mr = MR;
    k->nr = NR;
    k->ukr = SFX(ukr);
    k->ukr_rows = SFX(ukr_rows);
    k->ukr_rows_m[0] = NULL;
    k->ukr_rows_m[1] = SFX(ukr_rows_1);
    k->ukr_rows_m[2] = SFX(ukr_rows_2);
    k->ukr_rows_m[3] = SFX(ukr_rows_3);
    k->ukr_rows_m[4] = SFX(ukr_rows_4);
    k->ukr_rows_m[5] = SFX(ukr_rows_5);
#if MR > 6
    k->ukr_rows_m[6] = SFX(ukr_rows_6);
    k->ukr_rows_m[7] = SFX(ukr_rows_7);
#endif
#if MR > 8
    k->ukr_rows_m[8] = SFX(ukr_rows_8);
    k->ukr_rows_m[9] = SFX(ukr_rows_9);
    k->ukr_rows_m[10] = SFX(ukr_rows_10);
    k->ukr_rows_m[11] = SFX(ukr_rows_11);
    k->ukr_rows_m[12] = SFX(ukr_rows_12);
    k->ukr_rows_m[13] = SFX(ukr_rows_13);
#endif
    k->ukr_rows_m[MR] = SFX(ukr_rows);
    k->pack_b = SFX(pack_b);
    k->epi = SFX(epi);
    k->erf = SFX(erf_array);
    k->gelu = SFX(gelu_array);
}
