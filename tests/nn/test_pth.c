/* Checkpoint reader (src/nn/pth.c, pickle.c):
 *  - every tensor listed in pth/torch-{1.13,2.11}/EXPECTED.txt (written by
 *    real PyTorch) and pth/handmade/EXPECTED.txt (make_pth_cases.py) reads
 *    back with its dtype, shape, stride, offset and values;
 *  - the legacy format is refused with re-save advice;
 *  - the 435-tensor model fixture matches litemedsam_state_dict.tsv;
 *  - every file of bad/pth/CASES.tsv fails with the listed error, naming the file;
 *  - pickle bombs built in memory hit the machine's limits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_test.h"
#include "pickle.h"
#include "pth.h"

static char data_dir[1024];

static const char *data_path(const char *rel)
{
    static char buf[4][1400];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", data_dir, rel);
    return buf[k];
}

/* ------------------------------------------------------------ EXPECTED.txt */

typedef struct expect {
    char name[128], dtype[16];
    int ndim;
    int64_t shape[MSNN_PTH_MAX_NDIM], stride[MSNN_PTH_MAX_NDIM], offset;
    double *values;
    size_t nvalues;
} expect;

/* "(4, 3)" / "(4,)" / "()" -> dims */
static int parse_tuple(const char *s, int64_t *dims)
{
    int n = 0;
    if (*s++ != '(')
        return -1;
    while (*s && *s != ')') {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || n == MSNN_PTH_MAX_NDIM)
            return -1;
        dims[n++] = v;
        s = end;
        while (*s == ',' || *s == ' ')
            s++;
    }
    return n;
}

/* One tensor line: name \t dtype \t (shape) \t stride=(..) \t offset=N \t values=[..] */
static int parse_line(char *line, expect *e)
{
    char *f[6];
    int nf = 0;
    for (char *tok = strtok(line, "\t\n"); tok && nf < 6; tok = strtok(NULL, "\t\n"))
        f[nf++] = tok;
    memset(e, 0, sizeof *e);
    if (nf != 6 || strncmp(f[3], "stride=", 7) || strncmp(f[4], "offset=", 7) ||
        strncmp(f[5], "values=[", 8))
        return -1;
    snprintf(e->name, sizeof e->name, "%s", f[0]);
    snprintf(e->dtype, sizeof e->dtype, "%s", f[1]);
    e->ndim = parse_tuple(f[2], e->shape);
    if (e->ndim < 0 || parse_tuple(f[3] + 7, e->stride) != e->ndim)
        return -1;
    e->offset = strtoll(f[4] + 7, NULL, 10);
    size_t cap = 16;
    e->values = malloc(cap * sizeof *e->values);
    for (char *s = f[5] + 8; e->values && *s && *s != ']';) {
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            return -1;
        if (e->nvalues == cap)
            e->values = realloc(e->values, (cap *= 2) * sizeof *e->values);
        e->values[e->nvalues++] = v;
        s = end;
        while (*s == ',' || *s == ' ')
            s++;
    }
    return e->values ? 0 : -1;
}

static void check_tensor(const msnn_pth *p, const expect *e, const char *file)
{
    const msnn_pth_tensor *t = msnn_pth_find(p, e->name);
    CHECKF(t != NULL, "%s: tensor %s missing", file, e->name);
    if (!t)
        return;
    CHECKF(strcmp(msnn_pth_dtype_name(t->dtype), e->dtype) == 0, "%s: %s dtype %s, expected %s",
           file, e->name, msnn_pth_dtype_name(t->dtype), e->dtype);
    CHECK_EQ_INT(t->ndim, e->ndim);
    size_t numel = 1;
    for (int d = 0; d < e->ndim && d < t->ndim; d++) {
        CHECKF(t->shape[d] == e->shape[d] && t->stride[d] == e->stride[d],
               "%s: %s dim %d shape %lld stride %lld", file, e->name, d,
               (long long)t->shape[d], (long long)t->stride[d]);
        numel *= (size_t)e->shape[d];
    }
    CHECK_EQ_INT(t->offset, e->offset);
    CHECK_EQ_INT(numel, e->nvalues);
    if (numel != e->nvalues || t->ndim != e->ndim)
        return;
    float *v = malloc((numel ? numel : 1) * sizeof *v);
    ms_err err = { 0 };
    CHECK_EQ_INT(msnn_pth_to_f32(p, t, v, numel, &err), MS_OK);
    for (size_t i = 0; i < numel; i++) {
        double want = e->values[i], got = v[i];
        /* torch's EXPECTED.txt rounds to 6 decimals: allow half a unit there */
        if (isinf(want) || isnan(want))
            CHECKF(isnan(want) ? isnan(got) : got == want, "%s: %s[%zu] = %g, expected %g",
                   file, e->name, i, got, want);
        else
            CHECKF(fabs(got - want) <= 1e-6 * fabs(want) + 5.01e-7,
                   "%s: %s[%zu] = %.9g, expected %.9g", file, e->name, i, got, want);
        if (want == 0.0)
            CHECKF(!!signbit(got) == !!signbit(want), "%s: %s[%zu] sign of zero", file, e->name, i);
    }
    free(v);
}

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

/* Check one checkpoint against a list of expected tensors (the whole state
 * dict), opened from its path (in_memory = 0) or from a copy in memory. */
static void check_file_as(const char *rel, expect *ex, size_t nex, int in_memory)
{
    const char *path = data_path(rel);
    msnn_pth *p = NULL;
    ms_err err = { 0 };
    size_t len = 0;
    void *buf = in_memory ? slurp(path, &len) : NULL;
    int rc = in_memory ? msnn_pth_open_mem(buf, len, rel, MSNN_PTH_DEFAULT_MAX_BYTES, &p, &err)
                       : msnn_pth_open(path, &p, &err);
    CHECKF(rc == MS_OK, "%s: %s", rel, err.msg);
    if (rc) {
        free(buf);
        return;
    }
    CHECKF(msnn_pth_count(p) == nex, "%s: %zu tensors, expected %zu", rel, msnn_pth_count(p), nex);
    for (size_t i = 0; i < nex; i++)
        check_tensor(p, &ex[i], rel);
    /* state dict order is kept */
    for (size_t i = 0; i < nex && i < msnn_pth_count(p); i++)
        CHECKF(strcmp(msnn_pth_at(p, i)->name, ex[i].name) == 0, "%s: tensor %zu is %s", rel, i,
               msnn_pth_at(p, i)->name);
    CHECK(msnn_pth_find(p, "no.such.tensor") == NULL);
    CHECK(msnn_pth_at(p, nex) == NULL);
    msnn_pth_close(&p);
    CHECK(p == NULL);
    free(buf);
}

static void check_file(const char *rel, expect *ex, size_t nex)
{
    check_file_as(rel, ex, nex, 0);
    check_file_as(rel, ex, nex, 1);
}

static void free_expect(expect *ex, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ex[i].values);
}

/* torch-X/EXPECTED.txt describes plain, wrapped and ddp_prefixed alike. */
static void test_torch_dir(const char *dir)
{
    char rel[256], line[8192];
    snprintf(rel, sizeof rel, "pth/%s/EXPECTED.txt", dir);
    FILE *f = fopen(data_path(rel), "r");
    CHECKF(f != NULL, "cannot open %s", rel);
    if (!f)
        return;
    expect ex[32];
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n < 32) {
        if (!strchr(line, '\t'))
            continue;   /* "written by torch ..." */
        CHECKF(parse_line(line, &ex[n]) == 0, "%s: bad line", rel);
        n++;
    }
    fclose(f);
    CHECK(n == 8);
    static const char *files[] = { "plain", "wrapped", "ddp_prefixed" };
    for (int i = 0; i < 3; i++) {
        snprintf(rel, sizeof rel, "pth/%s/%s.pth", dir, files[i]);
        check_file(rel, ex, n);
    }
    free_expect(ex, n);
}

/* handmade/EXPECTED.txt: a line without tabs names the next file. */
static void test_handmade(void)
{
    char line[8192], file[256] = "";
    size_t nl;
    FILE *f = fopen(data_path("pth/handmade/EXPECTED.txt"), "r");
    CHECK(f != NULL);
    if (!f)
        return;
    expect ex[32];
    size_t n = 0;
    int files = 0;
    fgets(line, sizeof line, f);    /* comment */
    for (;;) {
        char *got = fgets(line, sizeof line, f);
        if (!got || !strchr(line, '\t')) {
            if (file[0]) {
                char rel[300];
                snprintf(rel, sizeof rel, "pth/handmade/%s", file);
                check_file(rel, ex, n);
                files++;
            }
            free_expect(ex, n);
            n = 0;
            if (!got)
                break;
            nl = strcspn(line, "\n");
            if (nl >= sizeof file)
                nl = sizeof file - 1;
            memcpy(file, line, nl);
            file[nl] = '\0';
            continue;
        }
        if (n < 32) {
            CHECKF(parse_line(line, &ex[n]) == 0, "handmade: bad line for %s", file);
            n++;
        }
    }
    fclose(f);
    CHECK(files == 3);
}

/* ------------------------------------------------------------ model fixture */

static void test_model(void)
{
    const char *path = data_path("model/random_seed7.pth");
    msnn_pth *p = NULL;
    ms_err err = { 0 };
    int rc = msnn_pth_open(path, &p, &err);
    CHECKF(rc == MS_OK, "%s", err.msg);
    if (rc)
        return;
    CHECK_EQ_INT(msnn_pth_count(p), 435);
    FILE *f = fopen(data_path("model/litemedsam_state_dict.tsv"), "r");
    CHECK(f != NULL);
    char line[512];
    size_t rows = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *name = strtok(line, "\t\n"), *dtype = strtok(NULL, "\t\n"), *shape = strtok(NULL, "\t\n");
        if (!name || !dtype || !shape || strcmp(name, "key") == 0)
            continue;
        rows++;
        const msnn_pth_tensor *t = msnn_pth_find(p, name);
        CHECKF(t != NULL, "model: %s missing", name);
        if (!t)
            continue;
        CHECKF(strcmp(msnn_pth_dtype_name(t->dtype), dtype) == 0, "model: %s is %s", name,
               msnn_pth_dtype_name(t->dtype));
        int nd = 0;
        int64_t dims[MSNN_PTH_MAX_NDIM];
        if (strcmp(shape, "scalar") != 0)
            for (char *s = shape; *s && nd < MSNN_PTH_MAX_NDIM; s += (*s == 'x')) {
                char *end;
                dims[nd++] = strtoll(s, &end, 10);
                s = end;
            }
        CHECKF(t->ndim == nd, "model: %s has %d dims, expected %d", name, t->ndim, nd);
        for (int d = 0; d < nd && d < t->ndim; d++)
            CHECKF(t->shape[d] == dims[d], "model: %s dim %d = %lld", name, d, (long long)t->shape[d]);
    }
    if (f)
        fclose(f);
    CHECK_EQ_INT(rows, 435);

    /* every tensor converts; random weights are finite and not all zero */
    size_t nonzero = 0;
    for (size_t i = 0; i < msnn_pth_count(p); i++) {
        const msnn_pth_tensor *t = msnn_pth_at(p, i);
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++)
            numel *= (size_t)t->shape[d];
        float *v = malloc(numel * sizeof *v);
        CHECK_EQ_INT(msnn_pth_to_f32(p, t, v, numel, &err), MS_OK);
        int finite = 1;
        for (size_t k = 0; k < numel; k++) {
            finite &= isfinite(v[k]) != 0;
            nonzero += v[k] != 0.0f;
        }
        CHECKF(finite, "model: %s has a non-finite value", t->name);
        free(v);
    }
    CHECK(nonzero > 9000000);

    /* wrong element count is a caller error */
    const msnn_pth_tensor *t = msnn_pth_at(p, 0);
    float one;
    CHECK_EQ_INT(msnn_pth_to_f32(p, t, &one, 1, &err), MS_EINVAL);
    CHECK_STR_CONTAINS(err.msg, t->name);
    msnn_pth_close(&p);
    msnn_pth_close(&p);     /* NULL-safe */

    /* a limit below the 39 MB of storages is refused */
    rc = msnn_pth_open_limit(path, 1 << 20, &p, &err);
    CHECK_EQ_INT(rc, MS_ELIMIT);
    CHECK(p == NULL);
    CHECK_STR_CONTAINS(err.msg, "random_seed7.pth");
}

/* ------------------------------------------------------------ refusals */

static void test_legacy(void)
{
    static const char *files[] = { "pth/torch-1.13/legacy_format.pth", "pth/torch-2.11/legacy_format.pth" };
    for (int i = 0; i < 2; i++) {
        msnn_pth *p = NULL;
        ms_err err = { 0 };
        CHECK_EQ_INT(msnn_pth_open(data_path(files[i]), &p, &err), MS_EUNSUPP);
        CHECK(p == NULL);
        CHECK_STR_CONTAINS(err.msg, "legacy_format.pth");
        CHECK_STR_CONTAINS(err.msg, "torch.save(");
        CHECK_STR_CONTAINS(err.msg, "re-save");
    }
    msnn_pth *p = NULL;
    ms_err err = { 0 };
    CHECK_EQ_INT(msnn_pth_open(data_path("pth/no-such-file.pth"), &p, &err), MS_EIO);
    CHECK_STR_CONTAINS(err.msg, "no-such-file.pth");
}

static int code_of(const char *s)
{
    static const struct { const char *name; int code; } codes[] = {
        { "MS_EIO", MS_EIO }, { "MS_EFORMAT", MS_EFORMAT }, { "MS_ETRUNC", MS_ETRUNC },
        { "MS_ELIMIT", MS_ELIMIT }, { "MS_EUNSUPP", MS_EUNSUPP }, { "MS_ENOTFOUND", MS_ENOTFOUND },
        { "MS_EUNSAFE", MS_EUNSAFE },
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(s, codes[i].name) == 0)
            return codes[i].code;
    return 1;
}

static void test_bad(void)
{
    FILE *f = fopen(data_path("bad/pth/CASES.tsv"), "r");
    CHECK(f != NULL);
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char *file = strtok(line, "\t\n"), *code = strtok(NULL, "\t\n"), *part = strtok(NULL, "\t\n");
        if (!file || !code || !part)
            continue;
        char rel[300];
        snprintf(rel, sizeof rel, "bad/pth/%s", file);
        msnn_pth *p = NULL;
        ms_err err = { 0 };
        int rc = msnn_pth_open(data_path(rel), &p, &err);
        CHECKF(rc == code_of(code), "%s: got %d (%s), expected %s", file, rc, err.msg, code);
        CHECK(p == NULL);
        CHECK_STR_CONTAINS(err.msg, file);
        CHECK_STR_CONTAINS(err.msg, part);
        CHECKF(strchr(err.msg, '\n') == NULL, "%s: multi-line message", file);
        /* the same from memory */
        size_t len = 0;
        void *buf = slurp(data_path(rel), &len);
        rc = msnn_pth_open_mem(buf, len, file, MSNN_PTH_DEFAULT_MAX_BYTES, &p, &err);
        CHECKF(rc == code_of(code), "%s in memory: got %d (%s), expected %s", file, rc, err.msg, code);
        CHECK(p == NULL);
        CHECK_STR_CONTAINS(err.msg, file);
        free(buf);
        n++;
    }
    if (f)
        fclose(f);
    CHECKF(n >= 30, "only %d bad cases", n);
}

/* ------------------------------------------------------------ pickle limits in memory */

static int run_pickle(const uint8_t *buf, size_t len, ms_err *err)
{
    msnn__pickle *pk = NULL;
    int rc = msnn__pickle_load(buf, len, "mem.pkl", &pk, err);
    msnn__pickle_free(&pk);
    return rc;
}

static void test_pickle_limits(void)
{
    ms_err err = { 0 };
    /* PROTO 2, EMPTY_DICT, BINPUT 0, k x BINGET 0, STOP: a stack of k + 1 items */
    size_t k = MSNN__PK_MAX_STACK, len = 5 + 2 * k + 1;
    uint8_t *b = malloc(len);
    memcpy(b, "\x80\x02}q\x00", 5);
    for (size_t i = 0; i < k; i++) {
        b[5 + 2 * i] = 'h';
        b[6 + 2 * i] = 0;
    }
    b[5 + 2 * (k - 1)] = '.';   /* k - 1 BINGETs: the limit exactly */
    CHECK_EQ_INT(run_pickle(b, 5 + 2 * (k - 1) + 1, &err), MS_OK);
    b[5 + 2 * (k - 1)] = 'h';
    b[5 + 2 * k] = '.';
    CHECK_EQ_INT(run_pickle(b, len, &err), MS_ELIMIT);
    CHECK_STR_CONTAINS(err.msg, "mem.pkl");
    free(b);

    /* objects: one more fresh int than allowed, popped as they come */
    size_t n = MSNN__PK_MAX_OBJECTS + 1;
    b = malloc(3 + 3 * n + 1);
    b[0] = 0x80; b[1] = 2; b[2] = 'N';
    for (size_t i = 0; i < n; i++) {
        b[3 + 3 * i] = 'K'; b[4 + 3 * i] = 1; b[5 + 3 * i] = '0';
    }
    b[3 + 3 * n] = '.';
    CHECK_EQ_INT(run_pickle(b, 4 + 3 * n, &err), MS_ELIMIT);
    free(b);

    /* no ms_err: codes still come back */
    static const uint8_t evil[] = "\x80\x02" "cos\nsystem\n" "X\x02\x00\x00\x00" "idR.";
    msnn__pickle *pk = NULL;
    CHECK_EQ_INT(msnn__pickle_load(evil, sizeof evil - 1, "x", &pk, NULL), MS_EUNSAFE);
    CHECK(pk == NULL);
    static const uint8_t cyc[] = "\x80\x02" "]q\x00h\x00" "a.";   /* a list containing itself */
    CHECK_EQ_INT(msnn__pickle_load(cyc, sizeof cyc - 1, "x", &pk, &err), MS_OK);
    const msnn__pk_obj *root = msnn__pickle_root(pk);
    CHECK(root && root->type == MSNN__PK_LIST && root->u.seq.n == 1 && root->u.seq.v[0] == root);
    msnn__pickle_free(&pk);
    /* LONG1: sign extension and width */
    static const uint8_t l1[] = "\x80\x02" "\x8a\x02\x00\xff" ".";
    CHECK_EQ_INT(msnn__pickle_load(l1, sizeof l1 - 1, "x", &pk, &err), MS_OK);
    CHECK(msnn__pickle_root(pk)->type == MSNN__PK_INT && msnn__pickle_root(pk)->u.i == -256);
    msnn__pickle_free(&pk);
    static const uint8_t l9[] = "\x80\x02" "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01" ".";
    CHECK_EQ_INT(msnn__pickle_load(l9, sizeof l9 - 1, "x", &pk, &err), MS_EUNSUPP);
}

int main(void)
{
    const char *d = getenv("MS_TEST_DATA");
    snprintf(data_dir, sizeof data_dir, "%s", d ? d : "tests/data");
    test_torch_dir("torch-1.13");
    test_torch_dir("torch-2.11");
    test_handmade();
    test_legacy();
    test_model();
    test_bad();
    test_pickle_limits();
    TEST_END();
}
