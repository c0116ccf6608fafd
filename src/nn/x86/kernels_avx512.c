/* AVX-512 (F/DQ) variants: GEMM micro-kernel 14x32, epilogue, erf/GELU and
 * the elementwise kernels (simd_tmpl.h, kernels_tmpl.h: the same code as
 * the tested AVX2 path).
 * Compiled with -mavx512f -mavx512dq ...; only called when cpu.c reports
 * AVX-512 F/BW/VL/DQ with the ZMM state enabled by the OS. */
#include "config.h"

#ifdef MSNN_AVX512_SIMDE
#include "simde_avx512.h"   /* test builds: emulated on CPUs without AVX-512 */
#else
#include <immintrin.h>
#endif

#include "cpu.h"
#include "gemm_kern.h"
#include "kernels_simd.h"

#define SFX(name) name##_avx512
#define VL 16
#define MR 14
#define NV 2
#define VEC __m512
#define VMASK __mmask16
#define VLOAD(p) _mm512_loadu_ps(p)
#define VLOADU(p) _mm512_loadu_ps(p)
#define VSTOREU(p, v) _mm512_storeu_ps((p), (v))
#define VSET1(s) _mm512_set1_ps(s)
#define VZERO() _mm512_setzero_ps()
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VFNMA(a, b, c) _mm512_fnmadd_ps((a), (b), (c))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VSUB(a, b) _mm512_sub_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VDIV(a, b) _mm512_div_ps((a), (b))
#define VMIN(a, b) _mm512_min_ps((a), (b))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VABS(v) _mm512_andnot_ps(_mm512_set1_ps(-0.0f), (v))
#define VSIGN(v) _mm512_and_ps(_mm512_set1_ps(-0.0f), (v))
#define VOR(a, b) _mm512_or_ps((a), (b))
#define VLT(a, b) _mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ)
#define VSEL(m, a, b) _mm512_mask_blend_ps((m), (b), (a))
#define VKEEP(m, a) _mm512_maskz_mov_ps((m), (a))
#define VROUND(v) _mm512_roundscale_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VPOW2I(n) _mm512_castsi512_ps(_mm512_slli_epi32( \
    _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
/* 2^n from s = n + 1.5 * 2^23 (float, |n| <= 126): (bits(s) + 127) << 23,
 * the high bits of s shifted out (kernels_tmpl.h vexp_le0) */
#define VPOW2I_SHIFTED(s) _mm512_castsi512_ps(_mm512_slli_epi32( \
    _mm512_add_epi32(_mm512_castps_si512(s), _mm512_set1_epi32(127)), 23))
#define VHSUM(v) _mm512_reduce_add_ps(v)
#define VHMAX(v) _mm512_reduce_max_ps(v)

#include "simd_tmpl.h"
#include "kernels_tmpl.h"

void msnn__gemm_kernel_avx512(msnn__gemm_kernel *k)
{
    fill_kernel_avx512(k, "avx512", MSNN_CPU_AVX512);
    k->kc = 256;
    k->mc = 112;
    k->nc = 3072;
}

void msnn__kernels_init_avx512(msnn_kernels *k)
{
    fill_kernels_avx512(k);
}
