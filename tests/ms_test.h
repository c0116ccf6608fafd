/* Minimal test helpers: a failed CHECK prints file:line and the expression,
 * counts the failure, and the test returns non-zero from TEST_END. */
#ifndef MS_TEST_H
#define MS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

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
