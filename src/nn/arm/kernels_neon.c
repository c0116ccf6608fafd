/* NEON variants: GEMM micro-kernel 8x12, epilogue, erf/GELU and the
 * elementwise kernels (simd_tmpl.h, kernels_tmpl.h: the same code as the
 * x86 paths).  AArch64 only. */
#include "config.h"

#ifdef MSNN_NEON_SIMDE
#include "simde_neon.h"     /* test builds: emulated on x86-64 */
#else
#include <arm_neon.h>
#endif

#include "cpu.h"
#include "gemm_kern.h"
#include "kernels_simd.h"

#define SFX(name) name##_neon
#define VL 4
#define MR 8
#define NV 3
#define VEC float32x4_t
#define VMASK uint32x4_t
#define VLOAD(p) vld1q_f32(p)
#define VLOADU(p) vld1q_f32(p)
#define VSTOREU(p, v) vst1q_f32((p), (v))
#define VSET1(s) vdupq_n_f32(s)
#define VZERO() vdupq_n_f32(0.0f)
#define VFMA(a, b, c) vfmaq_f32((c), (a), (b))
#define VFNMA(a, b, c) vfmsq_f32((c), (a), (b))
#define VADD(a, b) vaddq_f32((a), (b))
#define VSUB(a, b) vsubq_f32((a), (b))
#define VMUL(a, b) vmulq_f32((a), (b))
#define VDIV(a, b) vdivq_f32((a), (b))
#define VMIN(a, b) vminq_f32((a), (b))
#define VMAX(a, b) vmaxq_f32((a), (b))
#define VABS(v) vabsq_f32(v)
#define VSIGN(v) vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vdupq_n_u32(0x80000000u)))
#define VOR(a, b) vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)))
#define VLT(a, b) vcltq_f32((a), (b))
#define VSEL(m, a, b) vbslq_f32((m), (a), (b))
#define VKEEP(m, a) vreinterpretq_f32_u32(vandq_u32((m), vreinterpretq_u32_f32(a)))
#define VROUND(v) vrndnq_f32(v)
#define VPOW2I(n) vreinterpretq_f32_s32(vshlq_n_s32( \
    vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23))
#define VHSUM(v) vaddvq_f32(v)
#define VHMAX(v) vmaxvq_f32(v)

#include "simd_tmpl.h"
#include "kernels_tmpl.h"

void msnn__gemm_kernel_neon(msnn__gemm_kernel *k)
{
    fill_kernel_neon(k, "neon", MSNN_CPU_NEON);
    k->kc = 320;
    k->mc = 64;
    k->nc = 3072;
}

void msnn__kernels_init_neon(msnn_kernels *k)
{
    fill_kernels_neon(k);
}
