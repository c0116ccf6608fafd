/* medsam-tools inference engine: CPU features and the kernel dispatch level.
 *
 * The level chooses which kernel variants (reference C, AVX2+FMA, AVX-512,
 * NEON) the GEMM and the kernel table use.  It is detected once from
 * cpuid/xgetbv (x86-64) or fixed (aarch64 always has NEON) and can be lowered
 * with the environment variable MEDSAM_CPU=ref|avx2|avx512|neon; a request
 * for a level the CPU lacks falls back to the best level below it.
 */
#ifndef MSNN_CPU_H
#define MSNN_CPU_H

enum {
    MSNN_CPU_REF = 0,
    MSNN_CPU_NEON = 1,      /* aarch64 Advanced SIMD */
    MSNN_CPU_AVX2 = 2,      /* AVX2 + FMA (+ F16C) */
    MSNN_CPU_AVX512 = 3,    /* AVX-512 F/BW/VL/DQ */
};

/* Feature bits reported by msnn_cpu_flags(). */
enum {
    MSNN_CPUF_AVX2 = 1 << 0,
    MSNN_CPUF_FMA = 1 << 1,
    MSNN_CPUF_F16C = 1 << 2,
    MSNN_CPUF_AVX512F = 1 << 3,
    MSNN_CPUF_AVX512BW = 1 << 4,
    MSNN_CPUF_AVX512VL = 1 << 5,
    MSNN_CPUF_AVX512DQ = 1 << 6,
    MSNN_CPUF_AVX512BF16 = 1 << 7,
    MSNN_CPUF_NEON = 1 << 8,
};

/* What the CPU (and OS, for the register state) supports. */
unsigned msnn_cpu_flags(void);

/* Highest level the CPU supports (ignores MEDSAM_CPU). */
int msnn_cpu_max_level(void);

/* The active level: detected, lowered by MEDSAM_CPU on first use. */
int msnn_cpu_level(void);

/* Force the active level (tests, benchmarks).  A level the CPU lacks is
 * lowered to the best supported level below it; returns the level set.
 * Not thread safe: call before running kernels. */
int msnn_cpu_set_level(int level);

/* "ref", "neon", "avx2", "avx512"; "?" otherwise. */
const char *msnn_cpu_level_name(int level);

/* Parse a level name as MEDSAM_CPU accepts it; -1 if unknown. */
int msnn_cpu_parse_level(const char *name);

#endif
