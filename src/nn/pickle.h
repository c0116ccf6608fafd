/* Internal to the engine: a restricted pickle machine for .pth checkpoints.
 *
 * It understands exactly what torch.save() writes for a state dict
 * (protocols 2-5 opcodes for dicts, lists, tuples, strings, numbers, memo,
 * persistent ids) and evaluates only an allow-list of callables, without
 * importing or running anything:
 *   collections.OrderedDict()                -> an empty dict
 *   torch._utils._rebuild_tensor_v2(...)     -> a tensor description
 *   torch._utils._rebuild_parameter(t, ...)  -> t
 *   torch.<Float|Half|BFloat16|Double|Long|Int|Byte|Bool>Storage
 *                                            (only inside persistent ids)
 * Any other GLOBAL, or code-running opcode (INST, OBJ, NEWOBJ, EXT*), is
 * MS_EUNSAFE.  Work and memory are bounded by the input length and by the
 * limits below; no function here recurses over the object graph.
 */
#ifndef MSNN_PICKLE_H
#define MSNN_PICKLE_H

#include <stddef.h>
#include <stdint.h>
#include "ms_error.h"
#include "pth.h"

/* Limits on one pickle (a 435-tensor state dict needs ~60 KB, ~3.5 k memo
 * entries, ~900 live stack items and MARK depth 4). */
#define MSNN__PK_MAX_BYTES   ((size_t)32 << 20)   /* data.pkl size */
#define MSNN__PK_MAX_MARKS   256                  /* MARK nesting */
#define MSNN__PK_MAX_STACK   ((size_t)1 << 21)    /* live stack items */
#define MSNN__PK_MAX_MEMO    ((size_t)1 << 22)    /* memo index + 1 */
#define MSNN__PK_MAX_OBJECTS ((size_t)1 << 21)    /* objects created (~8 per tensor) */
#define MSNN__PK_MAX_ITEMS   ((size_t)1 << 23)    /* container slots, all containers */
/* Worst case for a hostile data.pkl: about 0.5 GB in objects and containers. */

typedef enum msnn__pk_type {
    MSNN__PK_NONE, MSNN__PK_BOOL, MSNN__PK_INT, MSNN__PK_FLOAT, MSNN__PK_STR,
    MSNN__PK_TUPLE, MSNN__PK_LIST, MSNN__PK_DICT,
    MSNN__PK_GLOBAL,    /* an allow-listed callable or storage type */
    MSNN__PK_STORAGE,   /* persistent id ('storage', type, key, location, numel) */
    MSNN__PK_TENSOR,    /* result of _rebuild_tensor_v2 */
} msnn__pk_type;

typedef enum msnn__pk_global {
    MSNN__PKG_ORDERED_DICT,
    MSNN__PKG_REBUILD_TENSOR_V2,
    MSNN__PKG_REBUILD_PARAMETER,
    MSNN__PKG_STORAGE_TYPE,     /* dtype says which */
} msnn__pk_global;

typedef struct msnn__pk_obj msnn__pk_obj;

typedef struct msnn__pk_tensor {
    const msnn__pk_obj *storage;    /* MSNN__PK_STORAGE */
    int64_t offset;                 /* elements */
    int ndim;
    int64_t shape[MSNN_PTH_MAX_NDIM];
    int64_t stride[MSNN_PTH_MAX_NDIM];
} msnn__pk_tensor;

struct msnn__pk_obj {
    msnn__pk_type type;
    union {
        int64_t i;                                  /* BOOL, INT */
        double f;                                   /* FLOAT */
        struct { const char *p; size_t n; } str;    /* points into the pickle, not NUL-terminated */
        struct { msnn__pk_obj **v; size_t n, cap; } seq;  /* TUPLE, LIST; DICT: v[2k]=key, v[2k+1]=value */
        struct { msnn__pk_global id; msnn_pth_dtype dtype; } glob;
        struct { msnn_pth_dtype dtype; const char *key; size_t keylen; int64_t numel; } storage;
        msnn__pk_tensor *tensor;
    } u;
};

typedef struct msnn__pickle msnn__pickle;

/* Run the pickle buf[0..len) (not copied: buf must outlive *out, strings point
 * into it).  name is used in error messages ("ckpt.pth: data.pkl").  On
 * success *out owns every object; the root is msnn__pickle_root(*out). */
int msnn__pickle_load(const uint8_t *buf, size_t len, const char *name,
                      msnn__pickle **out, ms_err *err);
const msnn__pk_obj *msnn__pickle_root(const msnn__pickle *pk);
void msnn__pickle_free(msnn__pickle **pk);

/* Find a string key in a DICT object (last match wins, as in Python); NULL if absent. */
const msnn__pk_obj *msnn__pk_dict_get(const msnn__pk_obj *dict, const char *key);

/* Storage supplier for msnn__pth_from_pickle: point *data at (at least) `need`
 * bytes of storage `key`, either inside memory that outlives the msnn_pth
 * (*owned = NULL) or in a malloc'd buffer that the msnn_pth frees (*owned =
 * that buffer); or return an error naming the member (short: MS_ETRUNC). */
typedef int (*msnn__pth_fetch_fn)(void *user, const char *key, size_t need,
                                  const void **data, void **owned, ms_err *err);

/* Build a msnn_pth from a pickle and a storage supplier (the zip reader in
 * pth.c, or a fake one in the fuzz target).  path names the file in errors;
 * max_bytes bounds the storage bytes fetched (MS_ELIMIT beyond it). */
int msnn__pth_from_pickle(const uint8_t *pkl, size_t len, const char *path,
                          msnn__pth_fetch_fn fetch, void *user, size_t max_bytes,
                          msnn_pth **out, ms_err *err);

#endif
