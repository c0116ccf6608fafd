/* PyTorch checkpoint (.pth) reader: zip archive + restricted pickle.
 *
 *   ARCHIVE/data.pkl      the pickled state dict (pickle.c runs it)
 *   ARCHIVE/data/KEY      raw little-endian storage bytes, one per storage
 *   ARCHIVE/byteorder     "little" (torch >= 2.1; absent before)
 *   ARCHIVE/version, .format_version, .storage_alignment,
 *   .data/serialization_id                      (ignored)
 *
 * Only the storages that the state dict's tensors use are touched: stored
 * members are used in place from a read-only mapping of the file, others
 * are read once through libzip.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "pickle.h"
#include "pth.h"

struct msnn_pth {
    msnn_pth_tensor *t;     /* n tensors, state dict order; names malloc'd */
    size_t n;
    size_t *byname;         /* indices of t sorted by name */
    void **storages;        /* nstorages malloc'd buffers (compressed members) */
    size_t nstorages;
    void *map;              /* read-only mapping of the file, or NULL */
    size_t map_len;
};

/* ------------------------------------------------------------ dtypes */

size_t msnn_pth_dtype_size(msnn_pth_dtype t)
{
    switch (t) {
    case MSNN_PTH_F32: case MSNN_PTH_I32: return 4;
    case MSNN_PTH_F16: case MSNN_PTH_BF16: return 2;
    case MSNN_PTH_F64: case MSNN_PTH_I64: return 8;
    case MSNN_PTH_U8: case MSNN_PTH_BOOL: return 1;
    }
    return 0;
}

const char *msnn_pth_dtype_name(msnn_pth_dtype t)
{
    switch (t) {
    case MSNN_PTH_F32: return "float32";
    case MSNN_PTH_F16: return "float16";
    case MSNN_PTH_BF16: return "bfloat16";
    case MSNN_PTH_F64: return "float64";
    case MSNN_PTH_I64: return "int64";
    case MSNN_PTH_I32: return "int32";
    case MSNN_PTH_U8: return "uint8";
    case MSNN_PTH_BOOL: return "bool";
    }
    return "?";
}

/* ------------------------------------------------------------ lookup */

size_t msnn_pth_count(const msnn_pth *p)
{
    return p ? p->n : 0;
}

const msnn_pth_tensor *msnn_pth_at(const msnn_pth *p, size_t i)
{
    return p && i < p->n ? &p->t[i] : NULL;
}

const msnn_pth_tensor *msnn_pth_find(const msnn_pth *p, const char *name)
{
    if (!p || !name)
        return NULL;
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->t[p->byname[mid]].name, name);
        if (c == 0)
            return &p->t[p->byname[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void msnn_pth_close(msnn_pth **pp)
{
    msnn_pth *p = pp ? *pp : NULL;
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free((char *)p->t[i].name);
    for (size_t i = 0; i < p->nstorages; i++)
        free(p->storages[i]);
    free(p->t);
    free(p->byname);
    free(p->storages);
    if (p->map)
        munmap(p->map, p->map_len);
    free(p);
    *pp = NULL;
}

/* ------------------------------------------------------------ building */

/* The dict holding the tensors: the root, or root["model"] / root["state_dict"]
 * when those are dicts (training checkpoints). */
static const msnn__pk_obj *state_dict_of(const msnn__pk_obj *root)
{
    static const char *wrappers[] = { "model", "state_dict" };
    for (size_t i = 0; i < 2; i++) {
        const msnn__pk_obj *v = msnn__pk_dict_get(root, wrappers[i]);
        if (v && v->type == MSNN__PK_DICT)
            return v;
    }
    return root;
}

static int has_control_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* A NUL-terminated copy of a key, without a leading "module." (DataParallel). */
static char *tensor_name(const msnn__pk_obj *k)
{
    const char *s = k->u.str.p;
    size_t n = k->u.str.n;
    if (n > 7 && memcmp(s, "module.", 7) == 0) {
        s += 7;
        n -= 7;
    }
    char *name = malloc(n + 1);
    if (name) {
        memcpy(name, s, n);
        name[n] = '\0';
    }
    return name;
}

/* Check that every element the view can address lies in its storage, and
 * that its float32 copy (msnn_pth_to_f32) would fit max_bytes: a view with
 * zero strides can have far more elements than its storage. */
static int check_view(const msnn__pk_tensor *t, const char *path, const char *name,
                      size_t max_bytes, ms_err *err)
{
    uint64_t count = 1;
    for (int d = 0; d < t->ndim; d++)
        if (__builtin_mul_overflow(count, (uint64_t)t->shape[d], &count))
            count = UINT64_MAX;
    if (count > max_bytes / sizeof(float))
        return ms_seterr(err, MS_ELIMIT, "%s: tensor '%s' has more elements than the "
                         "%zu MiB limit allows", path, name, max_bytes >> 20);
    if (count == 0)
        return MS_OK;                       /* no elements: nothing addressed */
    int64_t numel = t->storage->u.storage.numel;
    uint64_t last = (uint64_t)t->offset;    /* offset >= 0, checked by pickle.c */
    for (int d = 0; d < t->ndim; d++) {
        uint64_t span;
        if (__builtin_mul_overflow((uint64_t)(t->shape[d] - 1), (uint64_t)t->stride[d], &span) ||
            __builtin_add_overflow(last, span, &last))
            goto out;
    }
    if (last < (uint64_t)numel)
        return MS_OK;
out:
    return ms_seterr(err, MS_EFORMAT, "%s: tensor '%s' addresses elements beyond its "
                     "storage of %lld elements", path, name, (long long)numel);
}

static int key_cmp(const msnn__pk_obj *a, const msnn__pk_obj *b)
{
    size_t na = a->u.storage.keylen, nb = b->u.storage.keylen;
    int c = memcmp(a->u.storage.key, b->u.storage.key, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

/* qsort has no user pointer: sort (key, index) pairs. */
typedef struct ref {
    const void *key;    /* storage object or name */
    size_t i;
} ref;

static int by_storage(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    int c = key_cmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int by_name(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Fetch each storage once (views sharing a key share the buffer) and point
 * the tensors into it.  views[i] describes p->t[i]. */
static int load_storages(msnn_pth *p, const msnn__pk_tensor **views, const char *path,
                         msnn__pth_fetch_fn fetch, void *user, size_t max_bytes, ms_err *err)
{
    size_t n = p->n, total = 0;
    ref *order = malloc((n ? n : 1) * sizeof *order);
    int rc = MS_OK;
    p->storages = calloc(n ? n : 1, sizeof *p->storages);
    if (!order || !p->storages) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (ref){ views[i]->storage, i };
    qsort(order, n, sizeof *order, by_storage);
    for (size_t g = 0; g < n;) {
        /* group [g, e): one storage key; it must hold the largest declared size */
        size_t e = g, need = 0;
        for (; e < n && key_cmp(order[e].key, order[g].key) == 0; e++) {
            const msnn__pk_obj *s = order[e].key;
            uint64_t b = (uint64_t)s->u.storage.numel * msnn_pth_dtype_size(s->u.storage.dtype);
            if (b > SIZE_MAX) {         /* numel < 2^60: the product fits */
                rc = ms_seterr(err, MS_ELIMIT, "%s: storage too large", path);
                goto done;
            }
            need = b > need ? (size_t)b : need;
        }
        if (need > max_bytes - total) {
            rc = ms_seterr(err, MS_ELIMIT, "%s: tensor storages exceed the %zu MiB limit",
                           path, max_bytes >> 20);
            goto done;
        }
        total += need;
        const msnn__pk_obj *s = order[g].key;
        char key[72];
        memcpy(key, s->u.storage.key, s->u.storage.keylen);   /* keylen <= 64 */
        key[s->u.storage.keylen] = '\0';
        const void *data = NULL;
        void *owned = NULL;
        if ((rc = fetch(user, key, need, &data, &owned, err)))
            goto done;
        if (owned)
            p->storages[p->nstorages++] = owned;
        for (size_t k = g; k < e; k++) {
            msnn_pth_tensor *t = &p->t[order[k].i];
            const msnn__pk_obj *ks = order[k].key;
            t->storage = data;
            t->storage_nbytes = (size_t)ks->u.storage.numel * msnn_pth_dtype_size(ks->u.storage.dtype);
        }
        g = e;
    }
done:
    free(order);
    return rc;
}

/* Fill p->t (names, dtypes, views) from the state dict's tensor entries. */
static int collect(msnn_pth *p, const msnn__pk_obj *sd, const msnn__pk_tensor ***pviews,
                   const char *path, size_t max_bytes, ms_err *err)
{
    size_t cap = sd->u.seq.n / 2;
    p->t = calloc(cap ? cap : 1, sizeof *p->t);
    const msnn__pk_tensor **views = calloc(cap ? cap : 1, sizeof *views);
    *pviews = views;
    if (!p->t || !views)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < cap; i++) {
        const msnn__pk_obj *k = sd->u.seq.v[2 * i], *v = sd->u.seq.v[2 * i + 1];
        if (k->type != MSNN__PK_STR || v->type != MSNN__PK_TENSOR)
            continue;   /* e.g. "epoch" in a flattened training checkpoint */
        const msnn__pk_tensor *vt = v->u.tensor;
        msnn_pth_tensor *t = &p->t[p->n];
        /* names end up in messages and lookups: printable only */
        if (has_control_chars(k->u.str.p, k->u.str.n))
            return ms_seterr(err, MS_EFORMAT, "%s: a tensor name holds control characters", path);
        if (!(t->name = tensor_name(k)))
            return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        p->n++;
        int rc = check_view(vt, path, t->name, max_bytes, err);
        if (rc)
            return rc;
        t->dtype = vt->storage->u.storage.dtype;
        t->ndim = vt->ndim;
        t->offset = vt->offset;
        memcpy(t->shape, vt->shape, sizeof t->shape);
        memcpy(t->stride, vt->stride, sizeof t->stride);
        views[p->n - 1] = vt;
    }
    if (p->n == 0)
        return ms_seterr(err, MS_EFORMAT, "%s: no tensors in the checkpoint's state dict", path);
    return MS_OK;
}

static int index_names(msnn_pth *p, const char *path, ms_err *err)
{
    ref *r = malloc(p->n * sizeof *r);
    p->byname = malloc(p->n * sizeof *p->byname);
    if (!r || !p->byname) {
        free(r);
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < p->n; i++)
        r[i] = (ref){ p->t[i].name, i };
    qsort(r, p->n, sizeof *r, by_name);
    int rc = MS_OK;
    for (size_t i = 0; i < p->n; i++) {
        p->byname[i] = r[i].i;
        if (i > 0 && !rc && strcmp(r[i - 1].key, r[i].key) == 0)
            rc = ms_seterr(err, MS_EFORMAT, "%s: tensor '%s' appears twice (with and "
                           "without 'module.'?)", path, p->t[r[i].i].name);
    }
    free(r);
    return rc;
}

int msnn__pth_from_pickle(const uint8_t *pkl, size_t len, const char *path,
                          msnn__pth_fetch_fn fetch, void *user, size_t max_bytes,
                          msnn_pth **out, ms_err *err)
{
    *out = NULL;
    msnn__pickle *pk = NULL;
    const msnn__pk_tensor **views = NULL;
    msnn_pth *p = calloc(1, sizeof *p);
    char name[512];
    int rc;
    snprintf(name, sizeof name, "%s: data.pkl", path);
    if (!p) {
        rc = ms_seterr(err, MS_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    if ((rc = msnn__pickle_load(pkl, len, name, &pk, err)))
        goto fail;
    const msnn__pk_obj *root = msnn__pickle_root(pk);
    if (root->type != MSNN__PK_DICT) {
        rc = ms_seterr(err, MS_EFORMAT, "%s: the checkpoint holds a %s, not a state dict",
                       path, root->type == MSNN__PK_TENSOR ? "single tensor" :
                       root->type == MSNN__PK_LIST ? "list" : "non-dict object");
        goto fail;
    }
    if ((rc = collect(p, state_dict_of(root), &views, path, max_bytes, err)) ||
        (rc = index_names(p, path, err)) ||
        (rc = load_storages(p, views, path, fetch, user, max_bytes, err)))
        goto fail;
    free(views);
    msnn__pickle_free(&pk);
    *out = p;
    return MS_OK;
fail:
    free(views);
    msnn__pickle_free(&pk);
    msnn_pth_close(&p);
    return rc;
}

/* ------------------------------------------------------------ zip */

/* libzip validates the archive and names the members; stored members (all
 * that torch.save writes) are then used in place from a read-only mapping of
 * the file, which needs each member's local header offset: libzip does not
 * export it, so the central directory is walked here once.  Anything odd
 * there (or a compressed member) falls back to reading through libzip. */
typedef struct zip_ctx {
    zip_t *z;
    const char *path;
    char prefix[256];           /* "ARCHIVE/" */
    const uint8_t *map;         /* whole file, read-only; NULL if mmap failed */
    size_t map_len;
    uint64_t *lho;              /* local header offset of central-directory entry i */
    size_t nlho;
} zip_ctx;

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Central directory: offset and entry count from the (zip64) end record. */
static int find_cd(const uint8_t *m, size_t len, uint64_t *cd, uint64_t *count)
{
    if (len < 22)
        return -1;
    size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
    for (size_t e = len - 22 + 1; e-- > lo;) {
        if (le(m + e, 4) != 0x06054b50 || e + 22 + le(m + e + 20, 2) != len)
            continue;
        *count = le(m + e + 10, 2);
        *cd = le(m + e + 16, 4);
        if ((*count == 0xffff || *cd == 0xffffffffu) && e >= 20 &&
            le(m + e - 20, 4) == 0x07064b50) {
            uint64_t z64 = le(m + e - 20 + 8, 8);
            if (len < 56 || z64 > len - 56 || le(m + z64, 4) != 0x06064b50)
                return -1;
            *count = le(m + z64 + 32, 8);
            *cd = le(m + z64 + 48, 8);
        }
        return 0;
    }
    return -1;
}

/* zip64 extra field: the local header offset follows the sizes that overflowed. */
static uint64_t zip64_lho(const uint8_t *x, size_t n, int skip)
{
    for (size_t i = 0; i + 4 <= n;) {
        size_t id = le(x + i, 2), sz = le(x + i + 2, 2);
        if (i + 4 + sz > n)
            break;
        if (id == 1 && sz >= (size_t)(8 * skip + 8))
            return le(x + i + 4 + 8 * skip, 8);
        i += 4 + sz;
    }
    return UINT64_MAX;
}

static void index_local_headers(zip_ctx *c)
{
    const uint8_t *m = c->map;
    uint64_t cd, count, pos;
    if (!m || find_cd(m, c->map_len, &cd, &count) || count > c->map_len / 46)
        return;
    if (!(c->lho = malloc((count ? count : 1) * sizeof *c->lho)))
        return;
    pos = cd;
    for (uint64_t i = 0; i < count; i++) {
        if (pos > c->map_len || c->map_len - pos < 46 || le(m + pos, 4) != 0x02014b50)
            goto bad;
        size_t nn = le(m + pos + 28, 2), nx = le(m + pos + 30, 2), nc = le(m + pos + 32, 2);
        if (c->map_len - pos - 46 < nn + nx + nc)
            goto bad;
        uint64_t lho = le(m + pos + 42, 4);
        if (lho == 0xffffffffu)
            lho = zip64_lho(m + pos + 46 + nn, nx, (le(m + pos + 24, 4) == 0xffffffffu) +
                            (le(m + pos + 20, 4) == 0xffffffffu));
        c->lho[i] = lho;
        pos += 46 + nn + nx + nc;
    }
    c->nlho = count;
    return;
bad:
    free(c->lho);
    c->lho = NULL;
}

/* The bytes of a stored member inside the mapping, or NULL. */
static const uint8_t *mapped_member(zip_ctx *c, zip_int64_t idx, const zip_stat_t *st)
{
    if (!c->lho || (uint64_t)idx >= c->nlho || !(st->valid & ZIP_STAT_COMP_METHOD) ||
        st->comp_method != ZIP_CM_STORE ||
        ((st->valid & ZIP_STAT_ENCRYPTION_METHOD) && st->encryption_method != ZIP_EM_NONE))
        return NULL;
    const uint8_t *m = c->map;
    uint64_t lho = c->lho[idx];
    if (lho > c->map_len || c->map_len - lho < 30 || le(m + lho, 4) != 0x04034b50)
        return NULL;
    uint64_t nn = le(m + lho + 26, 2), nx = le(m + lho + 28, 2), data = lho + 30 + nn + nx;
    /* the local name must be the one libzip listed at this index */
    const char *name = zip_get_name(c->z, (zip_uint64_t)idx, ZIP_FL_ENC_RAW);
    if (!name || strlen(name) != nn || data > c->map_len || c->map_len - data < st->size ||
        memcmp(m + lho + 30, name, nn) != 0)
        return NULL;
    return m + data;
}

/* Read `need` bytes of member idx into a new buffer. */
static int read_member(zip_ctx *c, zip_int64_t idx, const char *member, size_t need,
                       void **data, ms_err *err)
{
    *data = NULL;
    if (need == 0)
        return MS_OK;
    char *buf = malloc(need);
    if (!buf)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory for '%s' (%zu bytes)",
                         c->path, member, need);
    zip_file_t *f = zip_fopen_index(c->z, (zip_uint64_t)idx, 0);
    if (!f) {
        free(buf);
        return ms_seterr(err, MS_EFORMAT, "%s: cannot open member '%s': %s", c->path, member,
                         zip_strerror(c->z));
    }
    size_t got = 0;
    while (got < need) {
        zip_int64_t r = zip_fread(f, buf + got, need - got);
        if (r <= 0) {
            int rc = ms_seterr(err, r < 0 ? MS_EFORMAT : MS_ETRUNC, "%s: member '%s': %s",
                               c->path, member, r < 0 ? zip_file_strerror(f) : "ends early");
            zip_fclose(f);
            free(buf);
            return rc;
        }
        got += (size_t)r;
    }
    zip_fclose(f);
    *data = buf;
    return MS_OK;
}

/* Locate ARCHIVE/<rest>, check that it holds at least `need` bytes, stat it. */
static int locate(zip_ctx *c, const char *rest, size_t need, zip_int64_t *idx,
                  zip_stat_t *st, char *member, size_t cap, ms_err *err)
{
    snprintf(member, cap, "%s%s", c->prefix, rest);
    *idx = zip_name_locate(c->z, member, ZIP_FL_ENC_RAW);
    if (*idx < 0)
        return ms_seterr(err, MS_ENOTFOUND, "%s: member '%s' is missing", c->path, member);
    if (zip_stat_index(c->z, (zip_uint64_t)*idx, 0, st) < 0 || !(st->valid & ZIP_STAT_SIZE))
        return ms_seterr(err, MS_EFORMAT, "%s: cannot stat member '%s'", c->path, member);
    if (st->size < need)
        return ms_seterr(err, MS_ETRUNC, "%s: storage '%s' holds %llu bytes but its tensors "
                         "need %zu (short storage)", c->path, member,
                         (unsigned long long)st->size, need);
    return MS_OK;
}

/* `need` bytes of a member: in place if stored, else a malloc'd copy (*owned). */
static int member_bytes(zip_ctx *c, const char *rest, size_t need, const void **data,
                        void **owned, ms_err *err)
{
    char member[400];
    zip_int64_t idx;
    zip_stat_t st;
    int rc = locate(c, rest, need, &idx, &st, member, sizeof member, err);
    *data = *owned = NULL;
    if (rc)
        return rc;
    if ((*data = mapped_member(c, idx, &st)))
        return MS_OK;
    rc = read_member(c, idx, member, need, owned, err);
    *data = *owned;
    return rc;
}

static int zip_fetch(void *user, const char *key, size_t need, const void **data,
                     void **owned, ms_err *err)
{
    char rest[80];
    snprintf(rest, sizeof rest, "data/%s", key);
    return member_bytes(user, rest, need, data, owned, err);
}

/* Find the one "ARCHIVE/data.pkl" member and remember "ARCHIVE/". */
static int find_archive(zip_ctx *c, ms_err *err)
{
    zip_int64_t n = zip_get_num_entries(c->z, 0);
    int found = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *s = zip_get_name(c->z, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        const char *slash = s ? strchr(s, '/') : NULL;
        if (!slash || strcmp(slash, "/data.pkl") != 0)
            continue;
        size_t plen = (size_t)(slash - s) + 1;
        if (found++ || plen >= sizeof c->prefix)
            return ms_seterr(err, MS_EFORMAT, "%s: several or odd '*/data.pkl' members",
                             c->path);
        memcpy(c->prefix, s, plen);
        c->prefix[plen] = '\0';
    }
    if (!found)
        return ms_seterr(err, MS_EFORMAT, "%s: no ARCHIVE/data.pkl member: not a "
                         "PyTorch checkpoint (a TorchScript or other zip?)", c->path);
    return MS_OK;
}

/* torch >= 2.1 records the byte order; storages are read as little endian. */
static int check_byteorder(zip_ctx *c, ms_err *err)
{
    char member[300];
    zip_int64_t idx;
    zip_stat_t st;
    ms_err ignore;
    const void *data;
    void *owned;
    if (locate(c, "byteorder", 0, &idx, &st, member, sizeof member, &ignore))
        return MS_OK;       /* absent before torch 2.1: little endian */
    if (st.size > 16)
        return ms_seterr(err, MS_EFORMAT, "%s: odd '%s' member", c->path, member);
    int rc = member_bytes(c, "byteorder", (size_t)st.size, &data, &owned, err);
    if (rc)
        return rc;
    int little = st.size == 6 && memcmp(data, "little", 6) == 0;
    free(owned);
    if (!little)
        return ms_seterr(err, MS_EUNSUPP, "%s: the checkpoint was saved on a big-endian "
                         "machine; only little-endian checkpoints are supported", c->path);
    return MS_OK;
}

/* Before libzip: recognise the pre-1.6 format (a bare pickle starting with
 * PROTO 2 and LONG1 of torch's magic number) and other non-zip files. */
/* Before libzip: recognise the pre-1.6 format (a bare pickle starting with
 * PROTO 2 and LONG1 of torch's magic number) and other non-zip files. */
static int check_magic(const uint8_t *m, size_t len, const char *path, ms_err *err)
{
    if (len >= 4 && m[0] == 'P' && m[1] == 'K' && (m[2] == 3 || m[2] == 5))
        return MS_OK;
    if (len >= 2 && m[0] == 0x80)
        return ms_seterr(err, MS_EUNSUPP, "%s: legacy (pre-1.6) PyTorch checkpoint format is "
                         "not supported; load it in PyTorch >= 1.6 and re-save it with "
                         "torch.save(state_dict, path)", path);
    return ms_seterr(err, len < 4 ? MS_ETRUNC : MS_EFORMAT,
                     "%s: not a PyTorch checkpoint (no zip signature)", path);
}

/* libzip reads the directory from the same bytes that tensors point into. */
static int open_zip(zip_ctx *c, ms_err *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(c->map, c->map_len, 0, &ze);
    if (src && (c->z = zip_open_from_source(src, ZIP_RDONLY, &ze)))
        return MS_OK;
    int zerr = zip_error_code_zip(&ze);
    int code = zerr == ZIP_ER_MEMORY ? MS_ENOMEM : MS_EFORMAT;
    ms_seterr(err, code, "%s: not a readable zip archive (truncated or damaged?): %s",
              c->path, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    if (src)
        zip_source_free(src);
    return code;
}

static int open_common(zip_ctx *c, size_t max_bytes, msnn_pth **out, ms_err *err)
{
    const void *pkl = NULL;
    void *pkl_owned = NULL;
    char member[300];
    zip_int64_t idx;
    zip_stat_t st;
    int rc;
    if ((rc = check_magic(c->map, c->map_len, c->path, err)) || (rc = open_zip(c, err)) ||
        (rc = find_archive(c, err)))
        goto done;
    index_local_headers(c);
    if ((rc = check_byteorder(c, err)) ||
        (rc = locate(c, "data.pkl", 0, &idx, &st, member, sizeof member, err)))
        goto done;
    if (st.size > MSNN__PK_MAX_BYTES) {
        rc = ms_seterr(err, MS_ELIMIT, "%s: '%s' of %llu bytes exceeds the %zu MiB limit",
                       c->path, member, (unsigned long long)st.size, MSNN__PK_MAX_BYTES >> 20);
        goto done;
    }
    if ((rc = member_bytes(c, "data.pkl", (size_t)st.size, &pkl, &pkl_owned, err)))
        goto done;
    rc = msnn__pth_from_pickle(pkl, (size_t)st.size, c->path, zip_fetch, c, max_bytes, out, err);
done:
    free(pkl_owned);
    free(c->lho);
    if (c->z)
        zip_discard(c->z);
    return rc;
}

int msnn_pth_open_mem(const void *buf, size_t len, const char *name, size_t max_bytes,
                      msnn_pth **out, ms_err *err)
{
    zip_ctx c = { .path = name, .map = buf, .map_len = len };
    *out = NULL;
    return open_common(&c, max_bytes, out, err);
}

int msnn_pth_open_limit(const char *path, size_t max_bytes, msnn_pth **out, ms_err *err)
{
    zip_ctx c = { .path = path };
    struct stat sb = { 0 };
    int rc, fd = open(path, O_RDONLY | O_CLOEXEC);
    *out = NULL;
    if (fd < 0)
        return ms_seterr(err, MS_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        const char *why = S_ISREG(sb.st_mode) ? strerror(errno) : "not a regular file";
        rc = ms_seterr(err, MS_EIO, "%s: %s", path, why);
        close(fd);
        return rc;
    }
    if (sb.st_size == 0) {
        close(fd);
        return check_magic(NULL, 0, path, err);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return ms_seterr(err, MS_ELIMIT, "%s: file too large", path);
    }
    /* Read-only mapping: pages shared with the page cache, prefetched. */
    int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
    flags |= MAP_POPULATE;
#endif
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, flags, fd, 0);
    int map_errno = errno;
    close(fd);
    if (m == MAP_FAILED)
        return ms_seterr(err, MS_EIO, "%s: cannot map the file: %s", path, strerror(map_errno));
    c.map = m;
    c.map_len = (size_t)sb.st_size;
    rc = open_common(&c, max_bytes, out, err);
    if (rc == MS_OK) {          /* the tensors may point into the mapping */
        (*out)->map = m;
        (*out)->map_len = c.map_len;
    } else {
        munmap(m, c.map_len);
    }
    return rc;
}

int msnn_pth_open(const char *path, msnn_pth **out, ms_err *err)
{
    return msnn_pth_open_limit(path, MSNN_PTH_DEFAULT_MAX_BYTES, out, err);
}
/* ------------------------------------------------------------ conversion */

static float half_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, u;
    if (exp == 0 && man == 0) {
        u = sign;
    } else if (exp == 0) {          /* subnormal: normalise */
        exp = 113;
        while (!(man & 0x400u)) {
            man <<= 1;
            exp--;
        }
        u = sign | exp << 23 | (man & 0x3ffu) << 13;
    } else if (exp == 31) {
        u = sign | 0x7f800000u | man << 13;
    } else {
        u = sign | (exp + 112) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Element i of a storage as float (unaligned-safe). */
static float load_f32(const unsigned char *s, msnn_pth_dtype dt, uint64_t i)
{
    switch (dt) {
    case MSNN_PTH_F32: { float v; memcpy(&v, s + 4 * i, 4); return v; }
    case MSNN_PTH_F16: { uint16_t v; memcpy(&v, s + 2 * i, 2); return half_to_f32(v); }
    case MSNN_PTH_BF16: {
        uint16_t v; memcpy(&v, s + 2 * i, 2);
        uint32_t u = (uint32_t)v << 16; float f; memcpy(&f, &u, 4); return f;
    }
    case MSNN_PTH_F64: { double v; memcpy(&v, s + 8 * i, 8); return (float)v; }
    case MSNN_PTH_I64: { int64_t v; memcpy(&v, s + 8 * i, 8); return (float)v; }
    case MSNN_PTH_I32: { int32_t v; memcpy(&v, s + 4 * i, 4); return (float)v; }
    case MSNN_PTH_U8: case MSNN_PTH_BOOL: return (float)s[i];
    }
    return 0.0f;
}

int msnn_pth_to_f32(const msnn_pth *p, const msnn_pth_tensor *t, float *dst, size_t n,
                    ms_err *err)
{
    size_t numel = 1;
    for (int d = 0; d < t->ndim; d++)
        numel *= (size_t)t->shape[d];   /* bounded by the storage check at open */
    if (n != numel)
        return ms_seterr(err, MS_EINVAL, "tensor '%s': %zu elements requested, it has %zu",
                         t->name, n, numel);
    if (numel == 0)
        return MS_OK;
    const unsigned char *s = t->storage;
    if (t->ndim == 0) {
        dst[0] = load_f32(s, t->dtype, (uint64_t)t->offset);
        return MS_OK;
    }
    /* odometer over all but the last dimension; the last is a strided run */
    int64_t idx[MSNN_PTH_MAX_NDIM] = { 0 };
    int last = t->ndim - 1;
    int64_t run = t->shape[last], step = t->stride[last];
    for (size_t o = 0; o < numel; o += (size_t)run) {
        uint64_t base = (uint64_t)t->offset;
        for (int d = 0; d < last; d++)
            base += (uint64_t)(idx[d] * t->stride[d]);
        if (t->dtype == MSNN_PTH_F32 && step == 1) {
            memcpy(dst + o, s + 4 * base, (size_t)run * 4);
        } else {
            for (int64_t k = 0; k < run; k++)
                dst[o + (size_t)k] = load_f32(s, t->dtype, base + (uint64_t)(k * step));
        }
        for (int d = last - 1; d >= 0; d--) {
            if (++idx[d] < t->shape[d])
                break;
            idx[d] = 0;
        }
    }
    return MS_OK;
}
