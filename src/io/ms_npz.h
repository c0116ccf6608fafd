/* medsam-tools I/O library: numpy .npz archives (zip of NAME.npy members).
 * Read through libzip; written by our own zip writer (npz_write.c), which
 * deflates with libdeflate or zlib.
 *
 * Reader: stored and deflated members, zip64.  A member's declared
 * uncompressed size is checked against the limits before any allocation, and
 * the data is streamed from the zip into the array (a zip bomb cannot exhaust
 * memory: we never inflate more than the declared, limit-checked size).
 *
 * Writer: like np.savez_compressed (deflate; level selectable) or np.savez
 * (stored); files written to a temp file in the target folder, fsync'd, then
 * renamed over the destination.
 */
#ifndef MS_NPZ_H
#define MS_NPZ_H

#include "ms_array.h"

typedef struct ms_npz ms_npz; /* an open archive for reading */

int ms_npz_open(const char *path, ms_npz **out, const ms_limits *lim, ms_err *err);
/* The same over an archive held in memory; buf must outlive the ms_npz.
 * `what` names it in messages. */
int ms_npz_open_mem(const void *buf, size_t len, const char *what, ms_npz **out,
                    const ms_limits *lim, ms_err *err);
void ms_npz_close(ms_npz **z);   /* NULLs *z; safe on NULL */

/* Number of members and the i-th member's array name (".npy" stripped). */
int ms_npz_count(const ms_npz *z);
const char *ms_npz_name(const ms_npz *z, int i);
int ms_npz_has(const ms_npz *z, const char *name);

/* Read the member NAME.npy.  MS_ENOTFOUND (with "file: no array 'name'") if absent. */
int ms_npz_read(ms_npz *z, const char *name, ms_array *out, ms_err *err);

/* Header-only look at a member: dtype and shape without reading the data. */
int ms_npz_peek(ms_npz *z, const char *name, ms_array *shape_only, ms_err *err);

/* Convenience: open, read one member, close. */
int ms_npz_load(const char *path, const char *name, ms_array *out,
                const ms_limits *lim, ms_err *err);

/* The bytes of a one-byte array (uint8, int8, bool) as runs of equal values,
 * in C order, for label arrays kept as runs (no buffer of the whole array is
 * needed).  next() returns the length (> 0) of the next run and sets *value,
 * or 0 after the last run; rewind() starts again from the first run.  The
 * runs must add up to the array's size; adjacent runs may hold the same
 * value. */
typedef struct ms_npz_runs {
    size_t (*next)(void *ctx, unsigned char *value);
    void (*rewind)(void *ctx);
    void *ctx;
} ms_npz_runs;

typedef struct ms_npz_entry {
    const char *name;       /* array name, ".npy" appended in the archive */
    const ms_array *array;
    /* Nonzero: a label array (long runs of equal values, e.g. gts, segs).
     * At levels 1..6 it is deflated by a run-length encoder when that
     * compresses it 32 : 1 or better (5-10x faster than a general
     * compressor there, for about level 6's size); otherwise, and at levels
     * 7..12, by the general compressor. */
    int labels;
} ms_npz_entry;

/* level: -1 or 0 = stored (np.savez); 1..12 = deflate (np.savez_compressed
 * uses zlib's default, 6).  With libdeflate (when built with it) levels go
 * to 12 and level 6 gives files slightly smaller than zlib's level 6; with
 * zlib, levels above 9 mean 9.  The npy members are byte-identical to
 * np.save's output; zip64 records are written when a size or offset needs
 * them.  Atomic: temp file + fsync + rename.  Member data is read from the
 * arrays in place (no copy); with libdeflate each member's compressed
 * stream is held in memory before it is written. */
int ms_npz_write(const char *path, const ms_npz_entry *entries, int n, int level,
                 ms_err *err);

/* ms_npz_write with two extras; the file is byte-identical to ms_npz_write's
 * for the same bytes.
 * - runs (may be NULL): runs[i], when not NULL, gives the bytes of
 *   entries[i] (a one-byte dtype) as runs; its array->data is not read and
 *   may be NULL.
 * - scratch[0..scratch_len) (may be NULL): memory whose pages the caller
 *   has touched already (fresh pages cost the kernel's zeroing), used for
 *   the compressed streams and any temporary copy of an array when it is
 *   big enough, instead of fresh allocations.  It must not overlap the data
 *   of any entry; its contents are garbage afterwards. */
int ms_npz_write_ex(const char *path, const ms_npz_entry *entries, int n, int level,
                    const ms_npz_runs *const *runs, void *scratch, size_t scratch_len,
                    ms_err *err);

/* The deflate implementation in use: "libdeflate" or "zlib"
 * (MEDSAM_DEFLATE=zlib in the environment selects zlib). */
const char *ms_npz_codec(void);

#endif
