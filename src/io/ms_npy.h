/* medsam-tools I/O library: numpy .npy files.
 *
 * Reader: format versions 1.0, 2.0, 3.0; dtypes b1 i1 u1 i2 u2 i4 u4 i8 u8 f4 f8
 * in either byte order ('|', '<', '>', '='); C or Fortran order.  The result is
 * always C order, native byte order.  Every header field is validated and the
 * data size checked against the limits before allocation.
 *
 * Writer: byte-identical to numpy 1.24's np.save (format 1.0 unless the header
 * needs 2.0, header dict padded with spaces + '\n' to a 64-byte boundary).
 */
#ifndef MS_NPY_H
#define MS_NPY_H

#include <stdio.h>
#include "ms_array.h"
#include "ms_outfile.h"

/* Parse an npy header from the first `len` bytes of buf.  On success fills
 * a->dtype/ndim/shape (a->data untouched, NULL), *fortran, *big_endian and
 * *data_offset (bytes from the start of buf to the array data).
 * `what` names the source in error messages (file name, "x.npz: imgs.npy"). */
int ms_npy_parse_header(const unsigned char *buf, size_t len, ms_array *a,
                        int *fortran, int *big_endian, size_t *data_offset,
                        const ms_limits *lim, const char *what, ms_err *err);

/* Decode a complete npy image held in memory (header + data). */
int ms_npy_read_mem(const void *buf, size_t len, ms_array *out,
                    const ms_limits *lim, const char *what, ms_err *err);

/* Read an npy file. On failure *out is left empty. */
int ms_npy_read(const char *path, ms_array *out, const ms_limits *lim, ms_err *err);

/* The exact header np.save would write for this array (magic .. '\n').
 * Writes at most cap bytes into buf; *len receives the header length. */
int ms_npy_header(const ms_array *a, unsigned char *buf, size_t cap, size_t *len,
                  ms_err *err);

/* Serialise to a stream / to a file (atomically: temp file + fsync + rename). */
int ms_npy_write_stream(FILE *f, const ms_array *a, const char *what, ms_err *err);
int ms_npy_write(const char *path, const ms_array *a, ms_err *err);

/* Write header + raw data given separately (data must be C order, native
 * byte order; the descr says the host's order, as np.save does). */
int ms_npy_write_raw(const char *path, ms_dtype t, int ndim, const size_t *shape,
                     const void *data, ms_err *err);

/* Streaming writer, for data produced piece by piece (e.g. one slice at a
 * time): open writes the header to a temp file, put appends C-order native
 * bytes in any chunks, commit checks that exactly shape x itemsize bytes
 * arrived, then fsyncs and renames.  abort (safe after a failed put/commit
 * or on a zeroed writer) removes the temp file.  The result is byte-identical
 * to ms_npy_write / np.save. */
typedef struct ms_npy_writer {
    ms_outfile out;
    uint64_t left;      /* data bytes still expected */
} ms_npy_writer;

int ms_npy_writer_open(ms_npy_writer *w, const char *path, ms_dtype t, int ndim,
                       const size_t *shape, ms_err *err);
int ms_npy_writer_put(ms_npy_writer *w, const void *data, size_t nbytes, ms_err *err);
int ms_npy_writer_commit(ms_npy_writer *w, ms_err *err);
void ms_npy_writer_abort(ms_npy_writer *w);

#endif
