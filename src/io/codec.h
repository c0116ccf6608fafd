/* Deflate and gzip for the I/O library (internal, not part of the public API).
 *
 * Two implementations of the same formats: libdeflate (whole-buffer, 2-4x
 * faster than zlib on our data, see bench/RESULTS.md) when the build found it,
 * zlib otherwise.  Setting MEDSAM_DEFLATE=zlib in the environment selects zlib
 * in a libdeflate build, so the tests run both.  The streams either writes are
 * standard raw deflate: numpy/zipfile/gzip read them all alike; only the
 * compressed bytes differ.
 */
#ifndef MS_CODEC_H
#define MS_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ms_error.h"

/* "libdeflate" or "zlib": the implementation in use. */
const char *ms__codec_name(void);

/* CRC-32 (zip/gzip polynomial); start with crc = 0. */
uint32_t ms__crc32(uint32_t crc, const void *p, size_t n);

/* Raw deflate of the bytes hdr[0..hlen) followed by data[0..n) into f at its
 * current position; *csize = bytes written.  hlen <= 65535.  level 1..12
 * (zlib caps at 9).  `what` names the destination in messages.  The data
 * is read in place, never copied; with libdeflate the compressed stream is
 * held in memory (at most n + n/1000 + 1 KiB) before it is written. */
int ms__deflate_to_file(FILE *f, const void *hdr, size_t hlen, const void *data, size_t n,
                        int level, uint64_t *csize, const char *what, ms_err *err);

/* The same; with libdeflate the compressed stream goes into
 * scratch[0..scratch_len) (memory whose pages the caller has touched
 * already; it must not overlap hdr or data) when it fits there, else into
 * a fresh buffer.  The bytes written are the same either way. */
int ms__deflate_to_file_scratch(FILE *f, const void *hdr, size_t hlen, const void *data, size_t n,
                                int level, void *scratch, size_t scratch_len, uint64_t *csize,
                                const char *what, ms_err *err);

/* Run-length deflate for label volumes (deflate_rle.c): hdr[0..hlen) as
 * literals, then data[0..n) with every run of 4+ equal bytes as one literal
 * and distance-1 back-references, in one block with Huffman codes fitted to
 * the data.  Writes at most cap bytes to out; returns the stream's length,
 * or 0 when it does not fit (the data is not label-like: use a general
 * compressor). */
size_t ms__deflate_rle(const void *hdr, size_t hlen, const void *data, size_t n,
                       unsigned char *out, size_t cap);

/* The same over a run source (ms_npz.h) for data of n bytes: the stream is
 * byte-identical to ms__deflate_rle over the bytes the runs spell.  Returns 0
 * also when the runs do not add up to n bytes. */
struct ms_npz_runs;
size_t ms__deflate_rle_runs(const void *hdr, size_t hlen, const struct ms_npz_runs *src, size_t n,
                            unsigned char *out, size_t cap);

/* 1 when libdeflate is in use (whole-buffer paths pay off), else 0. */
int ms__codec_whole_buffer(void);

/* Raw inflate of in[0..inlen) into exactly out[0..outlen): a stream that
 * ends early or holds more is MS_EFORMAT ("what: ...").  Only when
 * ms__codec_whole_buffer() (zlib streams through libzip instead). */
int ms__inflate_raw(const void *in, size_t inlen, void *out, size_t outlen, const char *what,
                    ms_err *err);

/* Decompress the gzip file at path (one or more members), discard the first
 * `skip` bytes and return the next n in *out (malloc'ed, n + 1 bytes; the
 * caller frees).  Data after them is ignored.  Fewer bytes: MS_ETRUNC; a
 * damaged stream: MS_EFORMAT.  The caller has checked n against its limits. */
int ms__gunzip_file(const char *path, uint64_t skip, size_t n, void **out, ms_err *err);

/* The same, into reuse (a malloc'd buffer of any size, or NULL) realloc'd to
 * the size needed: pages a caller has touched already are cheaper than
 * fresh ones.  The call owns reuse in every case (*out or freed).  at NULL:
 * the n bytes start at *out; else they start at *out + *at (the skipped
 * bytes are left in front rather than the data moved down over them, when
 * that keeps the data 16-byte aligned). */
int ms__gunzip_file_reuse(const char *path, uint64_t skip, size_t n, void *reuse, void **out,
                          size_t *at, ms_err *err);

/* malloc / calloc, with transparent huge pages asked for when n >= 8 MiB
 * (fewer page faults for the volumes); free() the result. */
void *ms__malloc_big(size_t n);
void *ms__calloc_big(size_t n);

#endif
