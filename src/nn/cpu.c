/* CPU feature detection and the dispatch level (cpu.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#if ARCH_X86_64
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ __volatile__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static unsigned detect_flags(void)
{
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave)
        return 0;
    unsigned long long xcr0 = xgetbv0();
    int ymm_ok = (xcr0 & 0x6) == 0x6;            /* XMM + YMM state */
    int zmm_ok = ymm_ok && (xcr0 & 0xe0) == 0xe0; /* opmask + ZMM hi */
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned b7 = b;
    __cpuid_count(7, 1, a, b, c, d);
    unsigned a71 = a;
    if (ymm_ok) {
        if ((b7 >> 5) & 1)
            f |= MSNN_CPUF_AVX2;
        if (fma)
            f |= MSNN_CPUF_FMA;
        if (f16c)
            f |= MSNN_CPUF_F16C;
    }
    if (zmm_ok) {
        if ((b7 >> 16) & 1)
            f |= MSNN_CPUF_AVX512F;
        if ((b7 >> 17) & 1)
            f |= MSNN_CPUF_AVX512DQ;
        if ((b7 >> 30) & 1)
            f |= MSNN_CPUF_AVX512BW;
        if ((b7 >> 31) & 1)
            f |= MSNN_CPUF_AVX512VL;
        if ((a71 >> 5) & 1)
            f |= MSNN_CPUF_AVX512BF16;
    }
#if defined(MSNN_AVX512_EMULATED) && MSNN_AVX512_EMULATED
    /* a test build whose AVX-512 variant is SIMDe over AVX2 (meson option
     * avx512_emulation): it runs wherever AVX2 and FMA do */
    if ((f & (MSNN_CPUF_AVX2 | MSNN_CPUF_FMA)) == (MSNN_CPUF_AVX2 | MSNN_CPUF_FMA))
        f |= MSNN_CPUF_AVX512F | MSNN_CPUF_AVX512DQ | MSNN_CPUF_AVX512BW | MSNN_CPUF_AVX512VL;
#endif
    return f;
}

static int level_from_flags(unsigned f)
{
    const unsigned avx2 = MSNN_CPUF_AVX2 | MSNN_CPUF_FMA;
    const unsigned avx512 = avx2 | MSNN_CPUF_AVX512F | MSNN_CPUF_AVX512BW |
                            MSNN_CPUF_AVX512VL | MSNN_CPUF_AVX512DQ;
    if ((f & avx512) == avx512)
        return MSNN_CPU_AVX512;
    if ((f & avx2) == avx2)
        return MSNN_CPU_AVX2;
    return MSNN_CPU_REF;
}
#elif ARCH_AARCH64
static unsigned detect_flags(void)
{
    return MSNN_CPUF_NEON;  /* Advanced SIMD is mandatory on AArch64 */
}

static int level_from_flags(unsigned f)
{
    return (f & MSNN_CPUF_NEON) ? MSNN_CPU_NEON : MSNN_CPU_REF;
}
#else
static unsigned detect_flags(void)
{
    return 0;
}

static int level_from_flags(unsigned f)
{
    (void)f;
    return MSNN_CPU_REF;
}
#endif

static int g_flags = -1;
static int g_level = -1;

unsigned msnn_cpu_flags(void)
{
    if (g_flags < 0)
        g_flags = (int)detect_flags();
    return (unsigned)g_flags;
}

int msnn_cpu_max_level(void)
{
    return level_from_flags(msnn_cpu_flags());
}

/* Lower a requested level to one this CPU runs.  NEON and the x86 levels
 * are different families: asking for the other family gives ref. */
static int clamp_level(int want)
{
    int max = msnn_cpu_max_level();
    if (want <= MSNN_CPU_REF)
        return MSNN_CPU_REF;
    if (max == MSNN_CPU_NEON)
        return want == MSNN_CPU_NEON ? MSNN_CPU_NEON : MSNN_CPU_REF;
    if (want == MSNN_CPU_NEON)
        return MSNN_CPU_REF;
    return want < max ? want : max;
}

int msnn_cpu_parse_level(const char *name)
{
    static const char *const names[] = { "ref", "neon", "avx2", "avx512" };
    if (!name)
        return -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i]))
            return i;
    if (!strcmp(name, "c") || !strcmp(name, "none"))
        return MSNN_CPU_REF;
    return -1;
}

const char *msnn_cpu_level_name(int level)
{
    switch (level) {
    case MSNN_CPU_REF: return "ref";
    case MSNN_CPU_NEON: return "neon";
    case MSNN_CPU_AVX2: return "avx2";
    case MSNN_CPU_AVX512: return "avx512";
    default: return "?";
    }
}

int msnn_cpu_level(void)
{
    if (g_level < 0) {
        int want = msnn_cpu_max_level();
        int env = msnn_cpu_parse_level(getenv("MEDSAM_CPU"));
        if (env >= 0)
            want = env;
        g_level = clamp_level(want);
    }
    return g_level;
}

int msnn_cpu_set_level(int level)
{
    g_level = clamp_level(level);
    return g_level;
}
