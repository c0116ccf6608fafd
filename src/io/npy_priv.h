/* Internals shared by npy.c and npz.c (not part of the public API). */
#ifndef MS_NPY_PRIV_H
#define MS_NPY_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include "ms_array.h"

/* Longest npy header (magic .. '\n') a reader accepts: numpy 1.24 refuses
 * headers over 10000 bytes by default; allow more, but bounded. */
#define MS__NPY_MAX_HEADER 65536

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
/* numpy >= 1.23 leaves room for the first axis to grow to 21 digits. */
#define NPY_GROWTH_DIGITS 21

static inline int ms__host_big_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 0;
}

/* Magic, version and header length from the first len bytes of buf:
 * *prefix = 10 (v1) or 12 (v2/3), *hlen = dict text length, *utf8 for v3. */
int ms__npy_preamble(const unsigned char *buf, size_t len, size_t *prefix, size_t *hlen,
                     int *utf8, const char *what, ms_err *err);

/* A source of bytes: returns the count read (< n only at the end) or -1. */
typedef struct ms__reader {
    int64_t (*read)(void *ctx, void *buf, size_t n);
    void *ctx;
    const char *(*strerror)(void *ctx); /* message of the last failure */
    int (*errcode)(void *ctx);          /* its MS_E code; NULL = MS_EIO */
} ms__reader;

/* Read magic + header from r into a malloc'ed buffer (*hdr, *hlen bytes,
 * the data starts right after) and parse it into a (data NULL). */
int ms__npy_read_header(const ms__reader *r, unsigned char **hdr, size_t *hlen,
                        ms_array *a, int *fortran, int *big_endian,
                        const ms_limits *lim, const char *what, ms_err *err);

/* Allocate a->data for the parsed header and fill it with exactly nbytes
 * from r, then convert to C order / native endian. */
int ms__npy_read_data(const ms__reader *r, ms_array *a, int fortran, int big_endian,
                      const ms_limits *lim, const char *what, ms_err *err);

/* Convert raw file data (Fortran order and/or foreign byte order) in place
 * to C order native; `tmp` may be NULL when no reordering is needed. */
int ms__npy_to_native(ms_array *a, int fortran, int big_endian, const char *what, ms_err *err);

#endif
