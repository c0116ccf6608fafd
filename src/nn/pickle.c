/* Restricted pickle machine for .pth checkpoints (see pickle.h).
 *
 * The machine keeps Python's data model only as far as a state dict needs:
 * every object is created by one opcode and owned by the msnn__pickle (a
 * flat list freed in one loop, so shared and even cyclic references are
 * harmless).  Callables are never looked up: GLOBAL yields a token from the
 * allow-list, and REDUCE interprets the token itself.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle.h"

/* Objects live in blocks, freed together. */
#define BLOCK_OBJS 1024
typedef struct block {
    struct block *next;
    size_t used;
    msnn__pk_obj o[BLOCK_OBJS];
} block;

struct msnn__pickle {
    const uint8_t *buf;
    size_t len, pos;            /* pos: next byte to read */
    const char *name;
    ms_err *err;

    block *blocks;              /* every object created (owned), newest block first */
    size_t nobjs;
    size_t nitems;              /* container slots in use, all containers */

    msnn__pk_obj **stack;
    size_t sp, capstack;
    size_t marks[MSNN__PK_MAX_MARKS];
    int nmarks;

    msnn__pk_obj **memo;
    size_t nmemo;               /* slots allocated (NULL = unset) */
    size_t memo_count;          /* slots set: Python's len(memo) */
    ms_err local_err;           /* used when the caller passes no ms_err */

    msnn__pk_obj *root;
};

/* Opcodes (Python's Lib/pickle.py names). */
enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1',
    OP_BININT = 'J', OP_BININT1 = 'K', OP_BININT2 = 'M', OP_NONE = 'N',
    OP_BINPERSID = 'Q', OP_REDUCE = 'R', OP_BINUNICODE = 'X',
    OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_APPENDS = 'e',
    OP_BINGET = 'h', OP_LONG_BINGET = 'j', OP_EMPTY_LIST = ']',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
    OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINFLOAT = 'G',
    OP_EMPTY_DICT = '}',
    OP_PROTO = 0x80, OP_LONG1 = 0x8a, OP_NEWTRUE = 0x88, OP_NEWFALSE = 0x89,
    OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87,
    OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d,
    OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
    /* refused: they create instances of arbitrary classes */
    OP_INST = 'i', OP_OBJ = 'o', OP_NEWOBJ = 0x81, OP_NEWOBJ_EX = 0x92,
    OP_EXT1 = 0x82, OP_EXT2 = 0x83, OP_EXT4 = 0x84, OP_PERSID = 'P',
};

static msnn__pk_obj none_obj = { .type = MSNN__PK_NONE };

/* ------------------------------------------------------------ errors */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(msnn__pickle *pk, int code, const char *fmt, ...)
{
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ms_seterr(pk->err, code, "%s: %s (at byte %zu)", pk->name, buf, pk->pos);
}

/* Copy untrusted bytes for a message: printable ASCII only, bounded. */
static void printable(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap; i++)
        dst[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > 0 && k + 4 >= cap) {
        dst[k++] = '.'; dst[k++] = '.'; dst[k++] = '.';
    }
    dst[k] = '\0';
}

static const char *type_name(msnn__pk_type t)
{
    static const char *names[] = { "None", "bool", "int", "float", "str", "tuple",
                                   "list", "dict", "callable", "storage", "tensor" };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* ------------------------------------------------------------ objects */

static msnn__pk_obj *new_obj(msnn__pickle *pk, msnn__pk_type type)
{
    if (pk->nobjs >= MSNN__PK_MAX_OBJECTS) {
        fail(pk, MS_ELIMIT, "more than %zu objects", MSNN__PK_MAX_OBJECTS);
        return NULL;
    }
    if (!pk->blocks || pk->blocks->used == BLOCK_OBJS) {
        block *b = malloc(sizeof *b);
        if (!b) {
            fail(pk, MS_ENOMEM, "out of memory");
            return NULL;
        }
        b->next = pk->blocks;
        b->used = 0;
        pk->blocks = b;
    }
    msnn__pk_obj *o = &pk->blocks->o[pk->blocks->used++];
    memset(o, 0, sizeof *o);
    o->type = type;
    pk->nobjs++;
    return o;
}

/* Reserve room for `add` more slots in a container. */
static int seq_reserve(msnn__pickle *pk, msnn__pk_obj *o, size_t add)
{
    if (add > MSNN__PK_MAX_ITEMS - pk->nitems)
        return fail(pk, MS_ELIMIT, "containers hold more than %zu items", MSNN__PK_MAX_ITEMS);
    pk->nitems += add;
    size_t need = o->u.seq.n + add;
    if (need <= o->u.seq.cap)
        return MS_OK;
    size_t cap = o->u.seq.cap ? o->u.seq.cap : 4;
    while (cap < need)
        cap *= 2;   /* need <= 2^24 + live items: no overflow */
    msnn__pk_obj **v = realloc(o->u.seq.v, cap * sizeof *v);
    if (!v)
        return fail(pk, MS_ENOMEM, "out of memory");
    o->u.seq.v = v;
    o->u.seq.cap = cap;
    return MS_OK;
}

/* ------------------------------------------------------------ stack */

static int push(msnn__pickle *pk, msnn__pk_obj *o)
{
    if (!o)
        return pk->err->code;
    if (pk->sp == pk->capstack) {
        if (pk->capstack >= MSNN__PK_MAX_STACK)
            return fail(pk, MS_ELIMIT, "stack deeper than %zu items", MSNN__PK_MAX_STACK);
        size_t cap = pk->capstack ? pk->capstack * 2 : 64;
        msnn__pk_obj **v = realloc(pk->stack, cap * sizeof *v);
        if (!v)
            return fail(pk, MS_ENOMEM, "out of memory");
        pk->stack = v;
        pk->capstack = cap;
    }
    pk->stack[pk->sp++] = o;
    return MS_OK;
}

/* Items above the innermost MARK may not be popped as plain items. */
static size_t floor_sp(const msnn__pickle *pk)
{
    return pk->nmarks ? pk->marks[pk->nmarks - 1] : 0;
}

static msnn__pk_obj *pop(msnn__pickle *pk)
{
    if (pk->sp <= floor_sp(pk)) {
        fail(pk, MS_EFORMAT, "stack underflow");
        return NULL;
    }
    return pk->stack[--pk->sp];
}

static msnn__pk_obj *top(msnn__pickle *pk)
{
    if (pk->sp <= floor_sp(pk)) {
        fail(pk, MS_EFORMAT, "stack underflow");
        return NULL;
    }
    return pk->stack[pk->sp - 1];
}

/* Pop to the innermost MARK: the items are stack[*first .. sp). */
static int pop_mark(msnn__pickle *pk, size_t *first)
{
    if (pk->nmarks == 0)
        return fail(pk, MS_EFORMAT, "no MARK on the stack");
    *first = pk->marks[--pk->nmarks];
    return MS_OK;
}

/* ------------------------------------------------------------ reading */

static int need(msnn__pickle *pk, size_t n)
{
    if (n > pk->len - pk->pos)
        return fail(pk, MS_ETRUNC, "pickle ends inside an opcode argument");
    return MS_OK;
}

static uint64_t rd_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int arg_uint(msnn__pickle *pk, int n, uint64_t *v)
{
    int rc = need(pk, (size_t)n);
    if (rc)
        return rc;
    *v = rd_le(pk->buf + pk->pos, n);
    pk->pos += (size_t)n;
    return MS_OK;
}

/* ------------------------------------------------------------ opcodes */

static int op_int(msnn__pickle *pk, int64_t v)
{
    msnn__pk_obj *o = new_obj(pk, MSNN__PK_INT);
    if (o)
        o->u.i = v;
    return push(pk, o);
}

static int op_long1(msnn__pickle *pk)
{
    uint64_t n, v;
    int rc = arg_uint(pk, 1, &n);
    if (rc)
        return rc;
    if (n > 8)
        return fail(pk, MS_EUNSUPP, "integer wider than 64 bits");
    if ((rc = arg_uint(pk, (int)n, &v)))
        return rc;
    if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * n);   /* sign-extend */
    int64_t s;
    memcpy(&s, &v, sizeof s);
    return op_int(pk, s);
}

static int op_binfloat(msnn__pickle *pk)
{
    int rc = need(pk, 8);
    if (rc)
        return rc;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)   /* big endian */
        v = (v << 8) | pk->buf[pk->pos + i];
    pk->pos += 8;
    msnn__pk_obj *o = new_obj(pk, MSNN__PK_FLOAT);
    if (o)
        memcpy(&o->u.f, &v, sizeof v);
    return push(pk, o);
}

static int op_string(msnn__pickle *pk, int lenbytes)
{
    uint64_t n;
    int rc = arg_uint(pk, lenbytes, &n);
    if (rc)
        return rc;
    if (n > pk->len - pk->pos)
        return fail(pk, MS_EFORMAT, "string length exceeds the pickle");
    msnn__pk_obj *o = new_obj(pk, MSNN__PK_STR);
    if (o) {
        o->u.str.p = (const char *)pk->buf + pk->pos;
        o->u.str.n = (size_t)n;
    }
    pk->pos += (size_t)n;
    return push(pk, o);
}

/* Build a tuple from stack[first .. sp) and replace those items by it. */
static int make_tuple(msnn__pickle *pk, size_t first)
{
    size_t n = pk->sp - first;
    msnn__pk_obj *o = new_obj(pk, MSNN__PK_TUPLE);
    if (!o)
        return pk->err->code;
    if (n) {
        int rc = seq_reserve(pk, o, n);
        if (rc)
            return rc;
        memcpy(o->u.seq.v, pk->stack + first, n * sizeof *o->u.seq.v);
        o->u.seq.n = n;
    }
    pk->sp = first;
    return push(pk, o);
}

static int op_tupleN(msnn__pickle *pk, size_t n)
{
    if (pk->sp - floor_sp(pk) < n)
        return fail(pk, MS_EFORMAT, "stack underflow");
    return make_tuple(pk, pk->sp - n);
}

static int op_mark(msnn__pickle *pk)
{
    if (pk->nmarks >= MSNN__PK_MAX_MARKS)
        return fail(pk, MS_EFORMAT, "MARK nesting deeper than %d: not a state dict", MSNN__PK_MAX_MARKS);
    pk->marks[pk->nmarks++] = pk->sp;
    return MS_OK;
}

static int memo_put(msnn__pickle *pk, uint64_t idx)
{
    msnn__pk_obj *o = top(pk);
    if (!o)
        return pk->err->code;
    /* A pickler numbers memo entries 0, 1, 2...: one per opcode at most. */
    if (idx >= MSNN__PK_MAX_MEMO || idx > pk->len)
        return fail(pk, MS_EFORMAT, "memo index beyond the pickle's length");
    if (idx >= pk->nmemo) {
        size_t n = pk->nmemo ? pk->nmemo : 64;
        while (n <= idx)
            n *= 2;
        msnn__pk_obj **v = realloc(pk->memo, n * sizeof *v);
        if (!v)
            return fail(pk, MS_ENOMEM, "out of memory");
        memset(v + pk->nmemo, 0, (n - pk->nmemo) * sizeof *v);
        pk->memo = v;
        pk->nmemo = n;
    }
    if (!pk->memo[idx])
        pk->memo_count++;
    pk->memo[idx] = o;
    return MS_OK;
}

static int memo_get(msnn__pickle *pk, uint64_t idx)
{
    if (idx >= pk->nmemo || !pk->memo[idx])
        return fail(pk, MS_EFORMAT, "memo index %llu is not set", (unsigned long long)idx);
    return push(pk, pk->memo[idx]);
}

static int op_setitems(msnn__pickle *pk, size_t first)
{
    size_t n = pk->sp - first;
    if (n % 2)
        return fail(pk, MS_EFORMAT, "SETITEMS with an odd number of items");
    pk->sp = first;
    msnn__pk_obj *d = top(pk);
    if (!d)
        return pk->err->code;
    if (d->type != MSNN__PK_DICT)
        return fail(pk, MS_EFORMAT, "SETITEM on a %s", type_name(d->type));
    if (n == 0)
        return MS_OK;
    int rc = seq_reserve(pk, d, n);
    if (rc)
        return rc;
    /* Duplicate keys are kept; lookups take the last one, as Python would. */
    memcpy(d->u.seq.v + d->u.seq.n, pk->stack + first, n * sizeof *d->u.seq.v);
    d->u.seq.n += n;
    return MS_OK;
}

static int op_appends(msnn__pickle *pk, size_t first)
{
    size_t n = pk->sp - first;
    pk->sp = first;
    msnn__pk_obj *l = top(pk);
    if (!l)
        return pk->err->code;
    if (l->type != MSNN__PK_LIST)
        return fail(pk, MS_EFORMAT, "APPEND on a %s", type_name(l->type));
    if (n == 0)
        return MS_OK;
    int rc = seq_reserve(pk, l, n);
    if (rc)
        return rc;
    memcpy(l->u.seq.v + l->u.seq.n, pk->stack + first, n * sizeof *l->u.seq.v);
    l->u.seq.n += n;
    return MS_OK;
}

/* ------------------------------------------------------------ globals */

static const struct {
    const char *module, *name;
    msnn__pk_global id;
    int dtype;              /* for storage types; -1: unsupported storage */
} allowed[] = {
    { "collections", "OrderedDict", MSNN__PKG_ORDERED_DICT, 0 },
    { "torch._utils", "_rebuild_tensor_v2", MSNN__PKG_REBUILD_TENSOR_V2, 0 },
    { "torch._utils", "_rebuild_parameter", MSNN__PKG_REBUILD_PARAMETER, 0 },
    { "torch", "FloatStorage", MSNN__PKG_STORAGE_TYPE, MSNN_PTH_F32 },
    { "torch", "HalfStorage", MSNN__PKG_STORAGE_TYPE, MSNN_PTH_F16 },
    { "torch", "BFloat16Storage", MSNN__PKG_STORAGE_TYPE, MSNN_PTH_BF16 },
    { "torch", "DoubleStorage", MSNN__PKG_STORAGE_TYPE, MSNN_PTH_F64 },
    { "torch", "LongStorage", MSNN__PKG_STORAGE_TYPE, MSNN_PTH_I64 },
    { "torch", "IntStorage", MSNN__PKG_STORAGE_TYPE, MSNN_PTH_I32 },
    { "torch", "ByteStorage", MSNN__PKG_STORAGE_TYPE, MSNN_PTH_U8 },
    { "torch", "BoolStorage", MSNN__PKG_STORAGE_TYPE, MSNN_PTH_BOOL },
    /* harmless but without a dtype here */
    { "torch", "ShortStorage", MSNN__PKG_STORAGE_TYPE, -1 },
    { "torch", "CharStorage", MSNN__PKG_STORAGE_TYPE, -1 },
    { "torch", "ComplexFloatStorage", MSNN__PKG_STORAGE_TYPE, -1 },
    { "torch", "ComplexDoubleStorage", MSNN__PKG_STORAGE_TYPE, -1 },
};

static int streq(const char *s, size_t n, const char *z)
{
    return strlen(z) == n && memcmp(s, z, n) == 0;
}

static int push_global(msnn__pickle *pk, const char *mod, size_t nmod,
                       const char *name, size_t nname)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        if (!streq(mod, nmod, allowed[i].module) || !streq(name, nname, allowed[i].name))
            continue;
        if (allowed[i].dtype < 0)
            return fail(pk, MS_EUNSUPP, "tensor storage type torch.%s is not supported",
                        allowed[i].name);
        msnn__pk_obj *o = new_obj(pk, MSNN__PK_GLOBAL);
        if (o) {
            o->u.glob.id = allowed[i].id;
            o->u.glob.dtype = (msnn_pth_dtype)allowed[i].dtype;
        }
        return push(pk, o);
    }
    char m[80], n[80], both[170];
    printable(m, sizeof m, mod, nmod);
    printable(n, sizeof n, name, nname);
    snprintf(both, sizeof both, "%s.%s", m, n);
    return fail(pk, MS_EUNSAFE, "refused GLOBAL %s: a checkpoint may hold only a state "
                "dict of tensors (save model.state_dict()); pickle code is never run", both);
}

/* GLOBAL: "module\nname\n" */
static int op_global(msnn__pickle *pk)
{
    const char *line[2];
    size_t n[2];
    for (int k = 0; k < 2; k++) {
        const uint8_t *s = pk->buf + pk->pos;
        size_t avail = pk->len - pk->pos;
        const uint8_t *nl = memchr(s, '\n', avail < 256 ? avail : 256);
        if (!nl)
            return fail(pk, MS_EFORMAT, "GLOBAL name not terminated");
        line[k] = (const char *)s;
        n[k] = (size_t)(nl - s);
        pk->pos += n[k] + 1;
    }
    return push_global(pk, line[0], n[0], line[1], n[1]);
}

static int op_stack_global(msnn__pickle *pk)
{
    msnn__pk_obj *name = pop(pk), *mod = name ? pop(pk) : NULL;
    if (!mod)
        return pk->err->code;
    if (name->type != MSNN__PK_STR || mod->type != MSNN__PK_STR)
        return fail(pk, MS_EFORMAT, "STACK_GLOBAL needs two strings");
    return push_global(pk, mod->u.str.p, mod->u.str.n, name->u.str.p, name->u.str.n);
}

/* ------------------------------------------------------------ tensors */

static int get_int(const msnn__pk_obj *o, int64_t *v)
{
    if (!o || (o->type != MSNN__PK_INT && o->type != MSNN__PK_BOOL))
        return 0;
    *v = o->u.i;
    return 1;
}

/* A tuple of `ndim` non-negative ints. */
static int get_dims(msnn__pickle *pk, const msnn__pk_obj *t, const char *what,
                    int64_t *dims, int *ndim)
{
    if (t->type != MSNN__PK_TUPLE)
        return fail(pk, MS_EFORMAT, "tensor %s is not a tuple", what);
    if (t->u.seq.n > MSNN_PTH_MAX_NDIM)
        return fail(pk, MS_EUNSUPP, "tensor %s has more than 8 dimensions", what);
    for (size_t i = 0; i < t->u.seq.n; i++)
        if (!get_int(t->u.seq.v[i], &dims[i]) || dims[i] < 0)
            return fail(pk, MS_EFORMAT, "tensor %s holds a negative or non-integer value", what);
    *ndim = (int)t->u.seq.n;
    return MS_OK;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
 *                    backward_hooks[, metadata]) */
static int rebuild_tensor(msnn__pickle *pk, const msnn__pk_obj *args)
{
    size_t n = args->u.seq.n;
    msnn__pk_obj *const *a = args->u.seq.v;
    if (n < 4 || n > 7)
        return fail(pk, MS_EFORMAT, "_rebuild_tensor_v2 with a wrong argument count");
    if (a[0]->type != MSNN__PK_STORAGE)
        return fail(pk, MS_EFORMAT, "_rebuild_tensor_v2 on a %s, not a storage",
                    type_name(a[0]->type));
    msnn__pk_tensor t = { .storage = a[0] };
    int nd_stride = 0, rc;
    if (!get_int(a[1], &t.offset) || t.offset < 0)
        return fail(pk, MS_EFORMAT, "tensor storage offset is negative or not an integer");
    if ((rc = get_dims(pk, a[2], "shape", t.shape, &t.ndim)) ||
        (rc = get_dims(pk, a[3], "stride", t.stride, &nd_stride)))
        return rc;
    if (nd_stride != t.ndim)
        return fail(pk, MS_EFORMAT, "tensor shape and stride differ in length");
    msnn__pk_obj *o = new_obj(pk, MSNN__PK_TENSOR);
    if (!o)
        return pk->err->code;
    o->u.tensor = malloc(sizeof t);
    if (!o->u.tensor)
        return fail(pk, MS_ENOMEM, "out of memory");
    *o->u.tensor = t;
    return push(pk, o);
}

static int op_reduce(msnn__pickle *pk)
{
    msnn__pk_obj *args = pop(pk), *fn = args ? pop(pk) : NULL;
    if (!fn)
        return pk->err->code;
    if (fn->type != MSNN__PK_GLOBAL)
        return fail(pk, MS_EUNSAFE, "REDUCE on a %s, not an allowed callable", type_name(fn->type));
    if (args->type != MSNN__PK_TUPLE)
        return fail(pk, MS_EFORMAT, "REDUCE arguments are a %s, not a tuple", type_name(args->type));
    switch (fn->u.glob.id) {
    case MSNN__PKG_ORDERED_DICT:
        if (args->u.seq.n != 0)
            return fail(pk, MS_EUNSUPP, "OrderedDict() with arguments");
        return push(pk, new_obj(pk, MSNN__PK_DICT));
    case MSNN__PKG_REBUILD_TENSOR_V2:
        return rebuild_tensor(pk, args);
    case MSNN__PKG_REBUILD_PARAMETER:
        /* _rebuild_parameter(data, requires_grad, backward_hooks) -> data */
        if (args->u.seq.n != 3 || args->u.seq.v[0]->type != MSNN__PK_TENSOR)
            return fail(pk, MS_EFORMAT, "_rebuild_parameter without a tensor");
        return push(pk, args->u.seq.v[0]);
    case MSNN__PKG_STORAGE_TYPE:
        break;
    }
    return fail(pk, MS_EUNSAFE, "REDUCE on a storage type");
}

/* persistent id: ('storage', storage_type, key, location, numel) */
static int op_binpersid(msnn__pickle *pk)
{
    msnn__pk_obj *pid = pop(pk);
    if (!pid)
        return pk->err->code;
    if (pid->type != MSNN__PK_TUPLE || pid->u.seq.n != 5)
        return fail(pk, MS_EFORMAT, "persistent id is not a 5-tuple ('storage', ...)");
    msnn__pk_obj *const *a = pid->u.seq.v;
    int64_t numel;
    if (a[0]->type != MSNN__PK_STR || !streq(a[0]->u.str.p, a[0]->u.str.n, "storage"))
        return fail(pk, MS_EUNSUPP, "persistent id of a kind other than 'storage'");
    if (a[1]->type != MSNN__PK_GLOBAL || a[1]->u.glob.id != MSNN__PKG_STORAGE_TYPE)
        return fail(pk, MS_EFORMAT, "persistent id without a storage type");
    if (a[2]->type != MSNN__PK_STR || a[2]->u.str.n == 0 || a[2]->u.str.n > 64)
        return fail(pk, MS_EFORMAT, "storage key is not a short string");
    /* The key names a zip member: digits/letters only, no path tricks. */
    for (size_t i = 0; i < a[2]->u.str.n; i++) {
        char c = a[2]->u.str.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
            return fail(pk, MS_EFORMAT, "storage key holds a character other than [A-Za-z0-9_]");
    }
    if (!get_int(a[4], &numel) || numel < 0)
        return fail(pk, MS_EFORMAT, "storage size is negative or not an integer");
    if ((uint64_t)numel > (uint64_t)INT64_MAX / 8)
        return fail(pk, MS_ELIMIT, "storage size is absurd");
    msnn__pk_obj *o = new_obj(pk, MSNN__PK_STORAGE);
    if (o) {
        o->u.storage.dtype = a[1]->u.glob.dtype;
        o->u.storage.key = a[2]->u.str.p;
        o->u.storage.keylen = a[2]->u.str.n;
        o->u.storage.numel = numel;
    }
    return push(pk, o);
}

static int op_build(msnn__pickle *pk)
{
    msnn__pk_obj *state = pop(pk), *o = state ? top(pk) : NULL;
    if (!o)
        return pk->err->code;
    /* A state_dict() is an OrderedDict carrying `_metadata` (module
     * versions) as instance state: nothing a reader needs. */
    if (o->type != MSNN__PK_DICT)
        return fail(pk, MS_EFORMAT, "BUILD on a %s", type_name(o->type));
    return MS_OK;
}

/* ------------------------------------------------------------ machine */

static int step(msnn__pickle *pk, int op)
{
    uint64_t v = 0;
    size_t first = 0;
    int rc;
    msnn__pk_obj *o;

    switch (op) {
    case OP_PROTO:
        if ((rc = arg_uint(pk, 1, &v)))
            return rc;
        return v >= 2 && v <= 5 ? MS_OK : fail(pk, MS_EUNSUPP, "pickle protocol outside 2-5");
    case OP_FRAME:      /* framing only groups opcodes: skip the frame length */
        return arg_uint(pk, 8, &v);
    case OP_EMPTY_DICT: return push(pk, new_obj(pk, MSNN__PK_DICT));
    case OP_EMPTY_LIST: return push(pk, new_obj(pk, MSNN__PK_LIST));
    case OP_EMPTY_TUPLE: return push(pk, new_obj(pk, MSNN__PK_TUPLE));
    case OP_MARK: return op_mark(pk);
    case OP_TUPLE:
        return (rc = pop_mark(pk, &first)) ? rc : make_tuple(pk, first);
    case OP_TUPLE1: return op_tupleN(pk, 1);
    case OP_TUPLE2: return op_tupleN(pk, 2);
    case OP_TUPLE3: return op_tupleN(pk, 3);
    case OP_BINUNICODE: return op_string(pk, 4);
    case OP_SHORT_BINUNICODE: return op_string(pk, 1);
    case OP_BINUNICODE8: return op_string(pk, 8);
    case OP_BININT:
        if ((rc = arg_uint(pk, 4, &v)))
            return rc;
        return op_int(pk, (int64_t)(int32_t)(uint32_t)v);
    case OP_BININT1:
    case OP_BININT2:
        if ((rc = arg_uint(pk, op == OP_BININT1 ? 1 : 2, &v)))
            return rc;
        return op_int(pk, (int64_t)v);
    case OP_LONG1: return op_long1(pk);
    case OP_BINFLOAT: return op_binfloat(pk);
    case OP_NEWTRUE:
    case OP_NEWFALSE:
        if ((o = new_obj(pk, MSNN__PK_BOOL)))
            o->u.i = op == OP_NEWTRUE;
        return push(pk, o);
    case OP_NONE: return push(pk, &none_obj);
    case OP_BINPUT:
    case OP_LONG_BINPUT:
        if ((rc = arg_uint(pk, op == OP_BINPUT ? 1 : 4, &v)))
            return rc;
        return memo_put(pk, v);
    case OP_MEMOIZE:
        return memo_put(pk, pk->memo_count);
    case OP_BINGET:
    case OP_LONG_BINGET:
        if ((rc = arg_uint(pk, op == OP_BINGET ? 1 : 4, &v)))
            return rc;
        return memo_get(pk, v);
    case OP_SETITEM:
        if (pk->sp - floor_sp(pk) < 2)
            return fail(pk, MS_EFORMAT, "stack underflow");
        return op_setitems(pk, pk->sp - 2);
    case OP_SETITEMS:
        return (rc = pop_mark(pk, &first)) ? rc : op_setitems(pk, first);
    case OP_APPEND:
        if (pk->sp - floor_sp(pk) < 1)
            return fail(pk, MS_EFORMAT, "stack underflow");
        return op_appends(pk, pk->sp - 1);
    case OP_APPENDS:
        return (rc = pop_mark(pk, &first)) ? rc : op_appends(pk, first);
    case OP_POP:
        return pop(pk) ? MS_OK : pk->err->code;
    case OP_POP_MARK:
        if ((rc = pop_mark(pk, &first)))
            return rc;
        pk->sp = first;
        return MS_OK;
    case OP_GLOBAL: return op_global(pk);
    case OP_STACK_GLOBAL: return op_stack_global(pk);
    case OP_REDUCE: return op_reduce(pk);
    case OP_BINPERSID: return op_binpersid(pk);
    case OP_BUILD: return op_build(pk);
    case OP_INST: case OP_OBJ: case OP_NEWOBJ: case OP_NEWOBJ_EX:
    case OP_EXT1: case OP_EXT2: case OP_EXT4: case OP_PERSID:
        return fail(pk, MS_EUNSAFE, "refused pickle opcode 0x%02x (creates arbitrary objects)", op);
    default:
        return fail(pk, MS_EFORMAT, "unsupported pickle opcode 0x%02x", op);
    }
}

int msnn__pickle_load(const uint8_t *buf, size_t len, const char *name,
                      msnn__pickle **out, ms_err *err)
{
    *out = NULL;
    msnn__pickle *pk = calloc(1, sizeof *pk);
    if (!pk)
        return ms_seterr(err, MS_ENOMEM, "%s: out of memory", name);
    pk->buf = buf;
    pk->len = len;
    pk->name = name;
    pk->err = err ? err : &pk->local_err;
    int rc;
    if (len > MSNN__PK_MAX_BYTES) {
        rc = ms_seterr(pk->err, MS_ELIMIT, "%s: pickle of %zu bytes exceeds the %zu MiB limit",
                       name, len, MSNN__PK_MAX_BYTES >> 20);
        goto fail;
    }
    for (;;) {
        if (pk->pos >= len) {
            rc = fail(pk, MS_ETRUNC, "pickle ends before STOP");
            goto fail;
        }
        int op = buf[pk->pos++];
        if (op == OP_STOP)
            break;
        if ((rc = step(pk, op)))
            goto fail;
    }
    if (!(pk->root = pop(pk))) {
        rc = pk->err->code;
        goto fail;
    }
    /* The stack and memo are no longer needed; objects stay. */
    free(pk->stack);
    free(pk->memo);
    pk->stack = pk->memo = NULL;
    pk->err = NULL;
    *out = pk;
    return MS_OK;
fail:
    msnn__pickle_free(&pk);
    return rc;
}

const msnn__pk_obj *msnn__pickle_root(const msnn__pickle *pk)
{
    return pk ? pk->root : NULL;
}

void msnn__pickle_free(msnn__pickle **ppk)
{
    msnn__pickle *pk = ppk ? *ppk : NULL;
    if (!pk)
        return;
    for (block *b = pk->blocks, *next; b; b = next) {
        for (size_t i = 0; i < b->used; i++) {
            msnn__pk_obj *o = &b->o[i];
            if (o->type == MSNN__PK_TUPLE || o->type == MSNN__PK_LIST || o->type == MSNN__PK_DICT)
                free(o->u.seq.v);
            else if (o->type == MSNN__PK_TENSOR)
                free(o->u.tensor);
        }
        next = b->next;
        free(b);
    }
    free(pk->stack);
    free(pk->memo);
    free(pk);
    *ppk = NULL;
}

const msnn__pk_obj *msnn__pk_dict_get(const msnn__pk_obj *d, const char *key)
{
    if (!d || d->type != MSNN__PK_DICT)
        return NULL;
    for (size_t i = d->u.seq.n; i >= 2; i -= 2) {
        const msnn__pk_obj *k = d->u.seq.v[i - 2];
        if (k->type == MSNN__PK_STR && streq(k->u.str.p, k->u.str.n, key))
            return d->u.seq.v[i - 1];
    }
    return NULL;
}
