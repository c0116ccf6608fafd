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
#define VROUND(v) _mm256_round_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VPOW2I(n) _mm256_castsi256_ps(_mm256_slli_epi32( \
    _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
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
