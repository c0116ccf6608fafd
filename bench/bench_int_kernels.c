/* Would integer arithmetic make the encoder's GEMMs faster on an AVX2 CPU
 * without VNNI (e.g. Zen 3)?  The inner loop of a 6 x 16 register tile, its
 * operands in L1, three ways (x86-64 only):
 *   f32   one vfmadd231ps per 8 multiply-adds (the engine's kernel);
 *   i16   vpmaddwd + vpaddd per 16 (int16 pairs into int32);
 *   i8    vpmaddubsw + vpmaddwd (by ones) + vpaddd per 32 (uint8 x int8:
 *         the pair sums saturate at int16, so activations need 7 bits).
 * Prints the multiply-adds per second of each and the ratio to f32.  A
 * quantized path pays more on top (quantizing activations, rescaling), so
 * it needs a clear margin here to be worth its accuracy cost.
 * usage: bench_int_kernels [SECONDS_PER_KERNEL] (default 1, in 20 rounds) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma"), noinline))
#define K 256   /* multiply-adds per output per call: operands stay in L1 */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* a: K x 6 broadcasts, b: K x 16 -> c: 6 x 16 */
static TGT void tile_f32(const float *a, const float *b, float *c)
{
    __m256 acc[6][2];
    for (int r = 0; r < 6; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m256 b0 = _mm256_loadu_ps(b + 16 * k), b1 = _mm256_loadu_ps(b + 16 * k + 8);
        for (int r = 0; r < 6; r++) {
            __m256 x = _mm256_broadcast_ss(a + 6 * k + r);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < 6; r++) {
        _mm256_storeu_ps(c + 16 * r, acc[r][0]);
        _mm256_storeu_ps(c + 16 * r + 8, acc[r][1]);
    }
}

/* a: K/2 x 6 int16 pairs, b: K/2 x 16 pairs -> c: 6 x 16 int32 */
static TGT void tile_i16(const int32_t *a, const int16_t *b, int32_t *c)
{
    __m256i acc[6][2];
    for (int r = 0; r < 6; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int k = 0; k < K / 2; k++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + 32 * k));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 32 * k + 16));
        for (int r = 0; r < 6; r++) {
            __m256i x = _mm256_set1_epi32(a[6 * k + r]);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x, b0));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x, b1));
        }
    }
    for (int r = 0; r < 6; r++) {
        _mm256_storeu_si256((__m256i *)(c + 16 * r), acc[r][0]);
        _mm256_storeu_si256((__m256i *)(c + 16 * r + 8), acc[r][1]);
    }
}

/* a: K/4 x 6 uint8 quads, b: K/4 x 16 int8 quads -> c: 6 x 16 int32 */
static TGT void tile_i8(const int32_t *a, const int8_t *b, int32_t *c)
{
    const __m256i one = _mm256_set1_epi16(1);
    __m256i acc[6][2];
    for (int r = 0; r < 6; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int k = 0; k < K / 4; k++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + 64 * k));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 64 * k + 32));
        for (int r = 0; r < 6; r++) {
            __m256i x = _mm256_set1_epi32(a[6 * k + r]);
            acc[r][0] = _mm256_add_epi32(acc[r][0],
                                         _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), one));
            acc[r][1] = _mm256_add_epi32(acc[r][1],
                                         _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), one));
        }
    }
    for (int r = 0; r < 6; r++) {
        _mm256_storeu_si256((__m256i *)(c + 16 * r), acc[r][0]);
        _mm256_storeu_si256((__m256i *)(c + 16 * r + 8), acc[r][1]);
    }
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("bench_int_kernels: this CPU has no AVX2 + FMA\n");
        return 0;
    }
    static float af[6 * K], bf[16 * K], cf[96];
    static int32_t ai[6 * K], ci[96];
    static int16_t b16[16 * K];
    static int8_t b8[16 * K];
    for (int i = 0; i < 6 * K; i++) {
        af[i] = 1e-3f * (float)(i % 97);
        ai[i] = i & 0x007f007f;     /* small values: no overflow, 7-bit uint8 lanes */
    }
    for (int i = 0; i < 16 * K; i++) {
        bf[i] = 1e-3f * (float)(i % 89);
        b16[i] = (int16_t)(i % 127);
        b8[i] = (int8_t)(i % 63);
    }
    const double macs = 6.0 * 16 * K;
    double rate[3] = { 0, 0, 0 };
    const char *name[3] = { "f32 vfmadd231ps", "i16 vpmaddwd + vpaddd",
                            "i8  vpmaddubsw + vpmaddwd + vpaddd" };
    long sink = 0;
    /* 20 rounds, the three kernels in turn in each: the best rate of each,
     * so a slow stretch of a shared machine does not land on one kernel */
    for (int round = 0; round < 20; round++)
        for (int v = 0; v < 3; v++) {
            long n = 0;
            double t0 = now(), t;
            do {
                for (int i = 0; i < 200; i++) {
                    if (v == 0)
                        tile_f32(af, bf, cf);
                    else if (v == 1)
                        tile_i16(ai, b16, ci);
                    else
                        tile_i8(ai, b8, ci);
                }
                n += 200;
                t = now() - t0;
            } while (t < secs / 20);
            if (macs * (double)n / t > rate[v])
                rate[v] = macs * (double)n / t;
            sink += (long)cf[5] + ci[7];
        }
    printf("6x16 register tile, K = %d, operands in L1, 1 thread, best of 20 rounds "
           "(checksum %ld)\n", K, sink);
    for (int v = 0; v < 3; v++)
        printf("%-36s %6.1f G multiply-adds/s  %.2fx f32\n", name[v], rate[v] * 1e-9,
               rate[v] / rate[0]);
    return 0;
}
#else
int main(void)
{
    printf("bench_int_kernels: x86-64 only\n");
    return 0;
}
#endif
