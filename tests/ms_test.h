/* Minimal test helpers: a failed CHECK prints file:line and the expression,
 * counts the failure, and the test returns non-zero from TEST_END. */
#ifndef MS_TEST_H
#define MS_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

/* Reproducible random numbers for kernel tests: one xorshift64 step of *s
 * (s must not be 0). */
static inline uint64_t ms_test_xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A float in [-1, 1) from 24 bits (16..39) of the next state. */
static inline float ms_test_frand(uint64_t *s)
{
    return (float)(((ms_test_xorshift(s) >> 16) & 0xffffff) / 16777216.0 * 2.0 - 1.0);
}

/* n such floats, 64-byte aligned (release with free()); exits when out of
 * memory. */
static inline float *ms_test_rand_buf(uint64_t *s, size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = ms_test_frand(s);
    return p;
}

static int ms_test_failures;
static int ms_test_checks;

#define CHECK(cond) do { ms_test_checks++; if (!(cond)) { ms_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECKF(cond, ...) do { ms_test_checks++; if (!(cond)) { ms_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
    CHECKF(_a == _b, "%s = %lld, %s = %lld", #a, _a, #b, _b); } while (0)
#define CHECK_NEAR(a, b, tol) do { double _a = (double)(a), _b = (double)(b); \
    CHECKF(fabs(_a - _b) <= (tol), "%s = %.9g, %s = %.9g, tol %g", #a, _a, #b, _b, (double)(tol)); } while (0)
#define CHECK_STR_CONTAINS(s, sub) CHECKF(strstr((s), (sub)) != NULL, "\"%s\" lacks \"%s\"", (s), (sub))

#define TEST_END() do { printf("%d checks, %d failed\n", ms_test_checks, ms_test_failures); \
    return ms_test_failures ? 1 : 0; } while (0)

#endif
