/* Percentiles exactly as numpy computes them (prefix ms_percentile).
 *
 * numpy.percentile(values, q) with the default 'linear' method (numpy 1.24):
 * virtual index v = (n - 1) * (q / 100) in float64, i = floor(v), t = v - i;
 * with a = sorted[i], b = sorted[i + 1] and d = b - a computed in the
 * array's own dtype (float32 stays float32, integers wrap as numpy's do):
 *   result = a + d * t          if t < 0.5
 *            b - d * (1 - t)    otherwise
 * in float64; v >= n - 1 gives the largest value.
 *
 * The order statistics are found by radix selection on order-preserving
 * keys (16 bits per pass: one pass for 8/16-bit data, two for 32-bit, four
 * for 64-bit) without copying or sorting the data.
 */
#ifndef MS_PERCENTILE_H
#define MS_PERCENTILE_H

#include <stddef.h>
#include "ms_array.h"

#define MS_PERCENTILE_MAX_Q 16

/* For each q[k] (percent, 0..100; nq <= MS_PERCENTILE_MAX_Q) store in out[k]
 * the percentile of the array's values, or with positive_only of the values
 * > 0 only (numpy: np.percentile(a[a > 0], q)).  *count (may be NULL)
 * receives the number of values used; with none, out[] is NaN (numpy would
 * raise) and the return is still MS_OK.  A NaN among the values (possible
 * only without positive_only) makes every result NaN, as in numpy. */
int ms_percentile(const ms_array *a, int positive_only, const double *q, int nq,
                  double *out, size_t *count, ms_err *err);

#endif
