/* AVX2 + FMA variants: GEMM micro-kernel 6x16, epilogue, erf/GELU
 * (simd_tmpl.h) and the elementwise kernels of the table (kernels_tmpl.h).  Compiled with -mavx2 -mfma; only called
 * when cpu.c reports AVX2 and FMA. */
#include "config.h"

#include <immintrin.h>

#include "cpu.h"
#include "gemm_kern.h"
#include "kernels_simd.h"

#define SFX(name) name##_avx2
#define VL 8
#define MR 6
#define NV 2
#define VEC __m256
#define VMASK __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VLOADU(p) _mm256_loadu_ps(p)
#define VSTOREU(p, v) _mm256_storeu_ps((p), (v))
#define VSET1(s) _mm256_set1_ps(s)
#define VZERO() _mm256_setzero_ps()
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VFNMA(a, b, c) _mm256_fnmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VDIV(a, b) _mm256_div_ps((a), (b))
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VABS(v) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), (v))
#define VSIGN(v) _mm256_and_ps(_mm256_set1_ps(-0.0f), (v))
#define VOR(a, b) _mm256_or_ps((a), (b))
#define VLT(a, b) _mm256_cmp_ps((a), (b), _CMP_LT_OQ)
#define VSEL(m, a, b) _mm256_blendv_ps((b), (a), (m))
#define VKEEP(m, a) _mm256_and_ps((m), (a))
#define VROUND(v) _mm256_round_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VPOW2I(n) _mm256_castsi256_ps(_mm256_slli_epi32( \
    _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
/* 2^n from s = n + 1.5 * 2^23 (float, |n| <= 126): (bits(s) + 127) << 23,
 * the high bits of s shifted out (kernels_tmpl.h vexp_le0) */
#define VPOW2I_SHIFTED(s) _mm256_castsi256_ps(_mm256_slli_epi32( \
    _mm256_add_epi32(_mm256_castps_si256(s), _mm256_set1_epi32(127)), 23))
#define VHSUM(v) hsum_avx2(v)
#define VHMAX(v) hmax_avx2(v)

static inline float hsum_avx2(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax_avx2(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Column i of the 8 x 8 block at rows[r] + c (r, i < 8) -> dst + i*ldd:
 * the register transpose the attention kernel packs K^T with. */
static inline void transpose8_avx2(const float *const *rows, int c, float *dst, ptrdiff_t ldd)
{
    __m256 r0 = _mm256_loadu_ps(rows[0] + c), r1 = _mm256_loadu_ps(rows[1] + c);
    __m256 r2 = _mm256_loadu_ps(rows[2] + c), r3 = _mm256_loadu_ps(rows[3] + c);
    __m256 r4 = _mm256_loadu_ps(rows[4] + c), r5 = _mm256_loadu_ps(rows[5] + c);
    __m256 r6 = _mm256_loadu_ps(rows[6] + c), r7 = _mm256_loadu_ps(rows[7] + c);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#define VTRANSPOSE_VL(rows, c, dst, ldd) transpose8_avx2((rows), (c), (dst), (ldd))

#include "simd_tmpl.h"
#include "kernels_tmpl.h"

void msnn__gemm_kernel_avx2(msnn__gemm_kernel *k)
{
    fill_kernel_avx2(k, "avx2", MSNN_CPU_AVX2);
    /* K up to 1280 (every K of the encoder) in one block: no partial sums
     * through C, +4 % on the engine's fc2 calls, +15..30 % on whole-layer
     * fc2 / im2col shapes against kc 384 (Zen 3, same process A/B); mc and
     * nc made no difference there.  nc * kc floats of B packing scratch
     * stay ~4.7 MB. */
    k->kc = 1280;
    k->mc = 72;
    k->nc = 960;
}

void msnn__kernels_init_avx2(msnn_kernels *k)
{
    fill_kernels_avx2(k);
}
