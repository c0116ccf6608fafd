/* Test builds only (meson -Davx512_emulation=true): the AVX-512 intrinsics
 * kernels_avx512.c uses, from SIMDe (Debian libsimde-dev), which implements
 * them in portable C and AVX2, so the AVX-512 variant's code runs, and is
 * compared with the reference, on CPUs without AVX-512.  Its speed means
 * nothing; its results are those of the instructions (SIMDe follows Intel's
 * definitions).  Intrinsics SIMDe 0.7 lacks are defined here the same way. */
#ifndef MSNN_SIMDE_AVX512_H
#define MSNN_SIMDE_AVX512_H

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <math.h>
#include <simde/x86/avx512.h>

/* vcvtps2dq: round to nearest even (the default MXCSR mode), as nearbyintf
 * does in the default rounding mode; every caller passes values in range. */
static inline simde__m512i msnn_simde_mm512_cvtps_epi32(simde__m512 a)
{
    simde__m512_private a_ = simde__m512_to_private(a);
    simde__m512i_private r_;
    for (int i = 0; i < 16; i++)
        r_.i32[i] = (int32_t)nearbyintf(a_.f32[i]);
    return simde__m512i_from_private(r_);
}
#undef _mm512_cvtps_epi32
#define _mm512_cvtps_epi32(a) msnn_simde_mm512_cvtps_epi32(a)

/* Horizontal sum and maximum as GCC's immintrin.h computes them: halves,
 * then quarters, then pairs, then the last two (8 + 8, 4 + 4, 2 + 2, 1 + 1);
 * maxps(a, b) = a > b ? a : b takes the upper part first at the two 256/128-bit
 * steps and the lower element first at the last two. */
static inline float msnn_simde_reduce(simde__m512 a, int max)
{
    simde__m512_private a_ = simde__m512_to_private(a);
    float v[16];
    for (int i = 0; i < 16; i++)
        v[i] = a_.f32[i];
    for (int n = 8; n >= 1; n /= 2)
        for (int i = 0; i < n; i++) {
            float x = n >= 4 ? v[i + n] : v[i], y = n >= 4 ? v[i] : v[i + n];
            v[i] = max ? (x > y ? x : y) : x + y;
        }
    return v[0];
}
#undef _mm512_reduce_add_ps
#undef _mm512_reduce_max_ps
#define _mm512_reduce_add_ps(a) msnn_simde_reduce((a), 0)
#define _mm512_reduce_max_ps(a) msnn_simde_reduce((a), 1)

#endif
