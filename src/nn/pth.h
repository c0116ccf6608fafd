/* medsam-tools inference engine: PyTorch checkpoint (.pth) reader.
 *
 * Reads the zip-format save (ARCHIVE/data.pkl + ARCHIVE/data/N; the archive
 * folder name varies) with libzip and a restricted pickle machine that knows
 * only what a state dict needs: dict / OrderedDict, lists/tuples, strings,
 * numbers, torch._utils._rebuild_tensor_v2 and persistent ids naming storages
 * (Float/Half/BFloat16/Double/Long/Int/Byte/Bool storages).  Any other GLOBAL
 * or REDUCE target is refused (MS_EUNSAFE): the reader never executes code.
 * The pre-1.6 legacy (non-zip) format is refused with advice to re-save.
 *
 * Accepts a plain state dict, {"model": state_dict, ...} (or "state_dict"),
 * and "module."-prefixed keys (the prefix is stripped).
 */
#ifndef MSNN_PTH_H
#define MSNN_PTH_H

#include <stddef.h>
#include <stdint.h>
#include "ms_error.h"

typedef enum msnn_pth_dtype {
    MSNN_PTH_F32, MSNN_PTH_F16, MSNN_PTH_BF16, MSNN_PTH_F64,
    MSNN_PTH_I64, MSNN_PTH_I32, MSNN_PTH_U8, MSNN_PTH_BOOL,
} msnn_pth_dtype;

#define MSNN_PTH_MAX_NDIM 8

typedef struct msnn_pth_tensor {
    const char *name;           /* key, prefix stripped; owned by the msnn_pth */
    msnn_pth_dtype dtype;
    int ndim;
    int64_t shape[MSNN_PTH_MAX_NDIM];
    int64_t stride[MSNN_PTH_MAX_NDIM];  /* in elements */
    int64_t offset;                     /* storage offset, in elements */
    const void *storage;                /* storage bytes (little endian), owned by msnn_pth;
                                           read-only and possibly unaligned (it may
                                           point into a mapping of the file) */
    size_t storage_nbytes;
} msnn_pth_tensor;

typedef struct msnn_pth msnn_pth;

/* Storage bytes a checkpoint may hold before msnn_pth_open refuses it
 * (MS_ELIMIT).  LiteMedSAM needs 39 MB. */
#define MSNN_PTH_DEFAULT_MAX_BYTES ((size_t)4 << 30)

/* Open and validate a checkpoint.  Only the tensors of the state dict are
 * kept (non-tensor values and other entries of a wrapping dict are ignored);
 * every storage they use is read once into memory and checked to hold every
 * element its tensors address.  Errors: MS_EIO, MS_EFORMAT (not a zip, no
 * data.pkl, bad pickle, out-of-bounds view), MS_ETRUNC (short storage),
 * MS_EUNSAFE (a GLOBAL or opcode that would run code), MS_EUNSUPP (legacy
 * format, big endian, unknown dtype), MS_ELIMIT.  On success *out is owned by
 * the caller: free with msnn_pth_close. */
int msnn_pth_open(const char *path, msnn_pth **out, ms_err *err);
/* Same with a caller-chosen limit on the storage bytes. */
int msnn_pth_open_limit(const char *path, size_t max_bytes, msnn_pth **out, ms_err *err);
/* Same from a checkpoint already in memory; buf must outlive *out (tensors
 * point into it).  name is used in error messages. */
int msnn_pth_open_mem(const void *buf, size_t len, const char *name, size_t max_bytes,
                      msnn_pth **out, ms_err *err);
void msnn_pth_close(msnn_pth **p);

/* Tensors in the order of the state dict, one array: msnn_pth_at(p, i) is
 * msnn_pth_at(p, 0) + i (so a found tensor's index is a subtraction);
 * find() is a binary search. */

size_t msnn_pth_count(const msnn_pth *p);
const msnn_pth_tensor *msnn_pth_at(const msnn_pth *p, size_t i);
const msnn_pth_tensor *msnn_pth_find(const msnn_pth *p, const char *name);

size_t msnn_pth_dtype_size(msnn_pth_dtype t);
const char *msnn_pth_dtype_name(msnn_pth_dtype t);   /* "float32", "int64", ... */

/* Copy a tensor into dst as contiguous C-order float32 (converting f16/bf16/
 * f64/int; honouring strides and offset).  n must equal the element count.
 * Bounds of every element against the storage were checked at open. */
int msnn_pth_to_f32(const msnn_pth *p, const msnn_pth_tensor *t, float *dst, size_t n,
                    ms_err *err);

#endif
