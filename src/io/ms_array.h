/* medsam-tools I/O library: the n-dimensional array every reader returns.
 *
 * Arrays in memory are always C order and native byte order; readers convert
 * big-endian or Fortran-order files on load.  `data` is owned by the array
 * and freed by ms_array_free().
 */
#ifndef MS_ARRAY_H
#define MS_ARRAY_H

#include <stddef.h>
#include <stdint.h>
#include "ms_error.h"

#define MS_MAX_NDIM 8

typedef enum ms_dtype {
    MS_BOOL = 0, /* numpy b1: one byte, 0 or 1 */
    MS_I8, MS_U8, MS_I16, MS_U16, MS_I32, MS_U32, MS_I64, MS_U64,
    MS_F32, MS_F64,
    MS_DTYPE_COUNT
} ms_dtype;

typedef struct ms_array {
    ms_dtype dtype;
    int ndim;                    /* 0 .. MS_MAX_NDIM (0 = scalar, one element) */
    size_t shape[MS_MAX_NDIM];
    void *data;                  /* owned; C order, native endian; may be NULL if nelem==0 */
} ms_array;

/* Limits a reader enforces before allocating.  A zero field means the default. */
typedef struct ms_limits {
    uint64_t max_bytes;          /* one array's decoded size; default MS_DEFAULT_MAX_BYTES */
} ms_limits;

#define MS_DEFAULT_MAX_BYTES ((uint64_t)4 << 30) /* 4 GiB: a large CT volume */

size_t ms_dtype_size(ms_dtype t);
/* numpy's descr without the byte-order char ("u1", "f8", "b1"); NULL if invalid. */
const char *ms_dtype_name(ms_dtype t);

/* Number of elements; 0 on overflow is impossible: use ms_array_check_size. */
size_t ms_array_nelem(const ms_array *a);
size_t ms_array_nbytes(const ms_array *a);

/* Overflow-safe product of shape × itemsize, checked against lim (NULL = defaults).
 * On success stores the byte count in *nbytes. `what` names the source for the message. */
int ms_shape_bytes(ms_dtype t, int ndim, const size_t *shape, const ms_limits *lim,
                   size_t *nbytes, const char *what, ms_err *err);

/* Allocate a zero-filled array (calloc). Caller owns it; free with ms_array_free. */
int ms_array_alloc(ms_array *a, ms_dtype t, int ndim, const size_t *shape,
                   const ms_limits *lim, ms_err *err);

/* Free a->data and reset *a to an empty array. Safe on an already-freed array. */
void ms_array_free(ms_array *a);

#endif
