/* Test builds only (meson -Dneon_emulation=true, on x86-64): the NEON
 * intrinsics kernels_neon.c uses, from SIMDe (Debian libsimde-dev), which
 * implements them with SSE/AVX, so the NEON variant runs the whole engine
 * and its fixture tests at native speed on the CI machine (the real
 * instructions run under qemu-aarch64 in .ci/cross-nn.sh, for the kernel
 * tests only).  Intrinsics SIMDe 0.7 lacks are defined here as AArch64
 * defines them. */
#ifndef MSNN_SIMDE_NEON_H
#define MSNN_SIMDE_NEON_H

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <math.h>
#include <stdint.h>
#include <simde/arm/neon.h>

/* FDIV: IEEE division per lane. */
static inline simde_float32x4_t msnn_simde_vdivq_f32(simde_float32x4_t a, simde_float32x4_t b)
{
    simde_float32x4_private a_ = simde_float32x4_to_private(a), b_ = simde_float32x4_to_private(b);
    simde_float32x4_private r_;
    for (int i = 0; i < 4; i++)
        r_.values[i] = a_.values[i] / b_.values[i];
    return simde_float32x4_from_private(r_);
}
#undef vdivq_f32
#define vdivq_f32(a, b) msnn_simde_vdivq_f32((a), (b))

/* FMLS: a - b c per lane, one rounding. */
static inline simde_float32x4_t msnn_simde_vfmsq_f32(simde_float32x4_t a, simde_float32x4_t b,
                                                     simde_float32x4_t c)
{
    simde_float32x4_private a_ = simde_float32x4_to_private(a), b_ = simde_float32x4_to_private(b);
    simde_float32x4_private c_ = simde_float32x4_to_private(c), r_;
    for (int i = 0; i < 4; i++)
        r_.values[i] = fmaf(-b_.values[i], c_.values[i], a_.values[i]);
    return simde_float32x4_from_private(r_);
}
#undef vfmsq_f32
#define vfmsq_f32(a, b, c) msnn_simde_vfmsq_f32((a), (b), (c))

/* FCVTNS: round to nearest, ties to even (nearbyintf in the default mode);
 * every caller passes values well inside the int32 range. */
static inline simde_int32x4_t msnn_simde_vcvtnq_s32_f32(simde_float32x4_t a)
{
    simde_float32x4_private a_ = simde_float32x4_to_private(a);
    simde_int32x4_private r_;
    for (int i = 0; i < 4; i++)
        r_.values[i] = (int32_t)nearbyintf(a_.values[i]);
    return simde_int32x4_from_private(r_);
}
#undef vcvtnq_s32_f32
#define vcvtnq_s32_f32(a) msnn_simde_vcvtnq_s32_f32(a)

#endif
