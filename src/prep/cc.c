/* Connected components of uint8 label volumes, on runs; see ms_cc.h.
 *
 * Three passes over the volume:
 *  1. count the runs (maximal stretches of one non-zero value along x) to
 *     size the union-find array exactly;
 *  2. decode the runs of each slice, union every run with the touching runs
 *     of the same value in the previous row of its slice and (3D) in the
 *     previous slice;
 *  3. decode the runs again in the same order and apply the result (write
 *     component numbers, clear small components, ...).
 *
 * Union-find array p[] (int32, one per run, runs numbered in raster order):
 * p[i] >= 0 is the parent of run i, always a smaller index; p[i] < 0 marks a
 * root and holds -(voxel count of its tree).  Linking the larger root under
 * the smaller keeps every component's root at its first run in raster order,
 * so numbering roots in index order numbers components in raster order.
 */
#include "config.h"
#include "ms_cc.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MS_CC_AVX2 1
#else
#define MS_CC_AVX2 0
#endif

/* Runs of one z slice: run r of row y is r in [row[y], row[y + 1]). */
typedef struct cc_slice {
    uint32_t *x0, *x1;   /* [cap] first x, one past the last x */
    uint8_t *v;          /* [cap] label value */
    uint32_t *row;       /* [h + 1] */
    size_t base;         /* global index of the slice's first run */
} cc_slice;

typedef struct cc_ctx {
    uint8_t *lab;        /* (d, h, w); written only by the apply pass */
    size_t d, h, w;
    int conn;
    int value;           /* -1: all non-zero values; else only == value */
    int32_t *p;          /* [nruns] union-find, then per-run results */
    size_t nruns;
    uint32_t max_slice_runs;
} cc_ctx;

static const uint64_t ONES = 0x0101010101010101ull;

/* Run n of a row is [s, e) of value c: stored when x0 is not NULL (the
 * finders also only count).  Returns n + 1. */
static inline uint32_t put_run(uint32_t n, uint32_t *x0, uint32_t *x1, uint8_t *v, size_t s,
                               size_t e, uint8_t c)
{
    if (x0) {
        x0[n] = (uint32_t)s;
        x1[n] = (uint32_t)e;
        v[n] = c;
    }
    return n + 1;
}

#if MS_CC_AVX2
/* The runs of every non-zero value (row_runs with value -1) from the
 * places where a byte differs from the one before it (row[-1] = 0), found
 * 32 at a time: labels resampled from coarse grids have runs of a few
 * voxels, where a byte loop spends its time on the branches. */
__attribute__((target("avx2,bmi"))) static uint32_t row_runs_avx2(const uint8_t *row, size_t w,
                                                                  uint32_t *x0, uint32_t *x1,
                                                                  uint8_t *v)
{
    uint32_t n = 0;
    size_t s = 0;
    uint8_t c = 0;   /* value of the open run; 0: none open */
#define RUN_EDGE(X)                                \
    do {                                           \
        size_t e_ = (X);                           \
        if (c)                                     \
            n = put_run(n, x0, x1, v, s, e_, c);   \
        c = row[e_];                               \
        s = e_;                                    \
    } while (0)
    size_t b = 0;
    if (w >= 33) {
        uint8_t first[32];   /* row[-1..30], row[-1] = 0 */
        first[0] = 0;
        memcpy(first + 1, row, 31);
        __m256i cur = _mm256_loadu_si256((const __m256i *)row);
        __m256i prev = _mm256_loadu_si256((const __m256i *)first);
        uint32_t m = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(cur, prev));
        for (;;) {
            while (m) {
                RUN_EDGE(b + (size_t)__builtin_ctz(m));
                m &= m - 1;
            }
            b += 32;
            if (b + 32 > w)
                break;
            cur = _mm256_loadu_si256((const __m256i *)(row + b));
            prev = _mm256_loadu_si256((const __m256i *)(row + b - 1));
            m = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(cur, prev));
        }
    }
    for (; b < w; b++)
        if (row[b] != (b ? row[b - 1] : 0))
            RUN_EDGE(b);
#undef RUN_EDGE
    if (c)
        n = put_run(n, x0, x1, v, s, w, c);
    return n;
}

static int cc_avx2(void)
{
    static int on = -1;   /* a benign race: every thread computes the same */
    if (on < 0) {
        const char *e = getenv("MEDSAM_CPU");   /* "ref": the byte loop, as on other CPUs */
        on = !(e && !strcmp(e, "ref")) && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("bmi");
    }
    return on;
}
#endif

/* Runs of one row.  x0/x1/v may be NULL (count only).  Returns the count. */
static uint32_t row_runs(const uint8_t *row, size_t w, int value,
                         uint32_t *x0, uint32_t *x1, uint8_t *v)
{
#if MS_CC_AVX2
    if (value < 0 && cc_avx2())
        return row_runs_avx2(row, w, x0, x1, v);
#endif
    uint32_t n = 0;
    size_t x = 0;
    while (x < w) {
        uint8_t c;
        if (value < 0) {
            /* skip background 32, then 8 bytes at a time: labels are mostly 0 */
            while (x + 32 <= w) {
                uint64_t q[4];
                memcpy(q, row + x, 32);
                if (q[0] | q[1] | q[2] | q[3])
                    break;
                x += 32;
            }
            while (x + 8 <= w) {
                uint64_t q;
                memcpy(&q, row + x, 8);
                if (q)
                    break;
                x += 8;
            }
            while (x < w && row[x] == 0)
                x++;
            if (x == w)
                break;
            c = row[x];
        } else {
            c = (uint8_t)value;
            while (x < w && row[x] != c)
                x++;
            if (x == w)
                break;
        }
        size_t s = x++;
        uint64_t cc = c * ONES;
        while (x + 32 <= w) {
            uint64_t q[4];
            memcpy(q, row + x, 32);
            if (((q[0] ^ cc) | (q[1] ^ cc) | (q[2] ^ cc) | (q[3] ^ cc)) != 0)
                break;
            x += 32;
        }
        while (x + 8 <= w) {
            uint64_t q;
            memcpy(&q, row + x, 8);
            if (q != cc)
                break;
            x += 8;
        }
        while (x < w && row[x] == c)
            x++;
        n = put_run(n, x0, x1, v, s, x, c);
    }
    return n;
}

/* Pass 1: total runs and the largest per-slice count. */
static int count_runs(cc_ctx *c, ms_err *err)
{
    size_t total = 0;
    uint32_t maxs = 0;
    for (size_t z = 0; z < c->d; z++) {
        size_t ns = 0;
        for (size_t y = 0; y < c->h; y++)
            ns += row_runs(c->lab + (z * c->h + y) * c->w, c->w, c->value, NULL, NULL, NULL);
        if (ns > maxs)
            maxs = (uint32_t)ns;   /* ns <= voxels <= INT32_MAX */
        total += ns;
    }
    if (total > (size_t)INT32_MAX)
        return ms_seterr(err, MS_ELIMIT, "connected components: too many runs (%zu)", total);
    c->nruns = total;
    c->max_slice_runs = maxs;
    return MS_OK;
}

static int slice_alloc(cc_slice *s, uint32_t cap, size_t h)
{
    size_t n = cap ? cap : 1;
    s->x0 = malloc(n * sizeof *s->x0);
    s->x1 = malloc(n * sizeof *s->x1);
    s->v = malloc(n);
    s->row = malloc((h + 1) * sizeof *s->row);
    return (s->x0 && s->x1 && s->v && s->row) ? MS_OK : MS_ENOMEM;
}

static void slice_free(cc_slice *s)
{
    free(s->x0);
    free(s->x1);
    free(s->v);
    free(s->row);
    memset(s, 0, sizeof *s);
}

/* Decode slice z into s (runs numbered from s->base). */
static void slice_decode(const cc_ctx *c, size_t z, cc_slice *s)
{
    uint32_t n = 0;
    for (size_t y = 0; y < c->h; y++) {
        s->row[y] = n;
        n += row_runs(c->lab + (z * c->h + y) * c->w, c->w, c->value,
                      s->x0 + n, s->x1 + n, s->v + n);
    }
    s->row[c->h] = n;
}

static int32_t uf_find(int32_t *p, int32_t x)
{
    while (p[x] >= 0) {
        int32_t q = p[x];
        if (p[q] >= 0)
            p[x] = p[q];   /* path halving */
        x = q;
    }
    return x;
}

static void uf_union(int32_t *p, int32_t a, int32_t b)
{
    a = uf_find(p, a);
    b = uf_find(p, b);
    if (a == b)
        return;
    if (a > b) {
        int32_t t = a;
        a = b;
        b = t;
    }
    p[a] += p[b];          /* sizes are negative; |sum| <= voxels <= INT32_MAX */
    p[b] = a;
}

/* Union the runs of row ya of slice A with the touching, same-valued runs
 * of row yb of slice B.  diag = 1 lets runs touch diagonally along x (the
 * neighbour row's x-1 and x+1 count), diag = 0 requires an x overlap. */
static void join_rows(int32_t *p, const cc_slice *A, size_t ya, const cc_slice *B, size_t yb,
                      uint32_t diag)
{
    uint32_t ia = A->row[ya], ea = A->row[ya + 1];
    uint32_t j0 = B->row[yb], eb = B->row[yb + 1];
    for (; ia < ea && j0 < eb; ia++) {
        uint32_t lo = A->x0[ia], hi = A->x1[ia] + diag;
        while (j0 < eb && B->x1[j0] + diag <= lo)
            j0++;
        for (uint32_t j = j0; j < eb && B->x0[j] < hi; j++)
            if (B->v[j] == A->v[ia])
                uf_union(p, (int32_t)(A->base + ia), (int32_t)(B->base + j));
    }
}

/* Neighbour rows of row y for each connectivity: same slice y-1, and in
 * the previous slice y-1, y, y+1, with their diagonal flag. */
static void join_slice(const cc_ctx *c, const cc_slice *cur, const cc_slice *prev, size_t y)
{
    int32_t *p = c->p;
    int conn = c->conn;
    uint32_t in_plane_diag = (conn == 8 || conn == 18 || conn == 26);
    if (y > 0)
        join_rows(p, cur, y, cur, y - 1, in_plane_diag);
    if (!prev || conn == 4 || conn == 8)
        return;
    uint32_t ddiag = (conn == 26);            /* z and y both differ */
    join_rows(p, cur, y, prev, y, conn != 6); /* z differs, y same */
    if (conn == 6)
        return;
    if (y > 0)
        join_rows(p, cur, y, prev, y - 1, ddiag);
    if (y + 1 < c->h)
        join_rows(p, cur, y, prev, y + 1, ddiag);
}

/* Pass 2. */
static int union_pass(cc_ctx *c, ms_err *err)
{
    cc_slice s[2] = {{0}};
    int rc = MS_ENOMEM;
    c->p = malloc((c->nruns ? c->nruns : 1) * sizeof *c->p);
    if (!c->p || slice_alloc(&s[0], c->max_slice_runs, c->h) || slice_alloc(&s[1], c->max_slice_runs, c->h))
        goto fail;
    size_t base = 0;
    for (size_t z = 0; z < c->d; z++) {
        cc_slice *cur = &s[z & 1], *prev = z ? &s[(z - 1) & 1] : NULL;
        cur->base = base;
        slice_decode(c, z, cur);
        uint32_t n = cur->row[c->h];
        for (uint32_t r = 0; r < n; r++)
            c->p[base + r] = -(int32_t)(cur->x1[r] - cur->x0[r]);
        for (size_t y = 0; y < c->h; y++)
            join_slice(c, cur, prev, y);
        base += n;
    }
    rc = MS_OK;
fail:
    slice_free(&s[0]);
    slice_free(&s[1]);
    if (rc)
        ms_seterr(err, rc, "connected components: out of memory (%zu runs)", c->nruns);
    return rc;
}

/* Replace every root by keep(size) and every other run by its root's
 * result, in index order (parents have smaller indices, so they are done).
 * mode 0: component number 1..n (sizes[k] filled if sizes != NULL);
 * mode 1: 1 if size >= min_size else 0.  Returns n, or the removed count. */
static size_t resolve(cc_ctx *c, int mode, size_t min_size, uint32_t *sizes)
{
    int32_t *p = c->p;
    size_t n = 0;
    for (size_t i = 0; i < c->nruns; i++) {
        if (p[i] < 0) {
            size_t size = (size_t)-(int64_t)p[i];
            if (mode == 0) {
                n++;
                if (sizes)
                    sizes[n] = (uint32_t)size;
                p[i] = (int32_t)n;
            } else {
                n += size < min_size;
                p[i] = size >= min_size;
            }
        } else {
            p[i] = p[p[i]];
        }
    }
    return n;
}

static size_t count_roots(const cc_ctx *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nruns; i++)
        n += c->p[i] < 0;
    return n;
}

enum { APPLY_LABEL, APPLY_DUST, APPLY_INST };

/* Pass 3: decode the runs again and apply p[].  Writing lab in place is
 * safe: a row is decoded forward and each run is rewritten after it has
 * been read. */
static int apply_pass(cc_ctx *c, int mode, int32_t *out, unsigned base, ms_err *err)
{
    size_t cap = c->w ? c->w : 1;   /* a row has at most w runs */
    uint32_t *x0 = malloc(cap * sizeof *x0), *x1 = malloc(cap * sizeof *x1);
    uint8_t *v = malloc(cap);
    if (!x0 || !x1 || !v) {
        free(x0);
        free(x1);
        free(v);
        return ms_seterr(err, MS_ENOMEM, "connected components: out of memory");
    }
    size_t i = 0;
    for (size_t r = 0; r < c->d * c->h; r++) {
        uint8_t *row = c->lab + r * c->w;
        int32_t *orow = out ? out + r * c->w : NULL;
        uint32_t n = row_runs(row, c->w, c->value, x0, x1, v);
        if (orow)
            memset(orow, 0, c->w * sizeof *orow);
        for (uint32_t k = 0; k < n; k++, i++) {
            int32_t res = c->p[i];
            if (mode == APPLY_LABEL) {
                for (uint32_t x = x0[k]; x < x1[k]; x++)
                    orow[x] = res;
            } else if (mode == APPLY_DUST) {
                if (!res)
                    memset(row + x0[k], 0, x1[k] - x0[k]);
            } else {
                memset(row + x0[k], (int)(base + (unsigned)res), x1[k] - x0[k]);
            }
        }
    }
    free(x0);
    free(x1);
    free(v);
    return MS_OK;
}

/* The connectivity and the grid's size (voxels in *n, 0 for an empty grid). */
static int check_grid(size_t d, size_t h, size_t w, int conn, size_t *n, ms_err *err)
{
    if (conn != 4 && conn != 8 && conn != 6 && conn != 18 && conn != 26)
        return ms_seterr(err, MS_EINVAL, "connected components: connectivity %d is not 4, 8, 6, 18 or 26", conn);
    *n = 0;
    if (d && h && w && (__builtin_mul_overflow(d, h, n) || __builtin_mul_overflow(*n, w, n)))
        *n = SIZE_MAX;
    if (*n > (size_t)INT32_MAX)
        return ms_seterr(err, MS_ELIMIT, "connected components: volume %zux%zux%zu exceeds %d voxels",
                         d, h, w, INT32_MAX);
    return MS_OK;
}

static int cc_setup(cc_ctx *c, const uint8_t *lab, size_t d, size_t h, size_t w, int conn,
                    int value, ms_err *err)
{
    memset(c, 0, sizeof *c);
    size_t n;
    int rc = check_grid(d, h, w, conn, &n, err);
    if (rc)
        return rc;
    if (value == 0 || value > 255)
        return ms_seterr(err, MS_EINVAL, "connected components: label value %d out of 1..255", value);
    c->lab = (uint8_t *)lab;   /* written only by the in-place entry points */
    c->d = n ? d : 0;
    c->h = h;
    c->w = w;
    c->conn = conn;
    c->value = value;
    rc = count_runs(c, err);
    return rc ? rc : union_pass(c, err);
}

int ms_cc_label(const uint8_t *lab, size_t d, size_t h, size_t w, int conn, int value,
                int32_t *out, uint32_t **sizes, size_t *ncomp, ms_err *err)
{
    cc_ctx c;
    uint32_t *sz = NULL;
    if (sizes)
        *sizes = NULL;
    int rc = cc_setup(&c, lab, d, h, w, conn, value, err);
    if (rc)
        goto fail;
    if (sizes) {
        sz = calloc(count_roots(&c) + 1, sizeof *sz);
        if (!sz) {
            rc = ms_seterr(err, MS_ENOMEM, "connected components: out of memory");
            goto fail;
        }
    }
    size_t n = resolve(&c, 0, 0, sz);
    if (out && c.d) {
        rc = apply_pass(&c, APPLY_LABEL, out, 0, err);
        if (rc)
            goto fail;
    } else if (out) {
        memset(out, 0, d * h * w * sizeof *out);   /* empty volume: d*h*w == 0 */
    }
    if (ncomp)
        *ncomp = n;
    if (sizes) {
        *sizes = sz;
        sz = NULL;
    }
fail:
    free(sz);
    free(c.p);
    return rc;
}

int ms_cc_dust(uint8_t *lab, size_t d, size_t h, size_t w, int conn, size_t min_size,
               size_t *n_removed, ms_err *err)
{
    cc_ctx c;
    int rc = cc_setup(&c, lab, d, h, w, conn, -1, err);
    if (rc)
        goto fail;
    size_t removed = resolve(&c, 1, min_size, NULL);
    if (removed)
        rc = apply_pass(&c, APPLY_DUST, NULL, 0, err);
    if (!rc && n_removed)
        *n_removed = removed;
fail:
    free(c.p);
    return rc;
}

int ms_cc_instances(uint8_t *lab, size_t d, size_t h, size_t w, int conn, uint8_t value,
                    unsigned base, size_t *ncomp, ms_err *err)
{
    cc_ctx c;
    int rc = MS_EINVAL;
    if (value == 0) {
        ms_seterr(err, rc, "instances: label value 0 cannot be split");
        return rc;
    }
    rc = cc_setup(&c, lab, d, h, w, conn, value, err);
    if (rc)
        goto fail;
    size_t n = resolve(&c, 0, 0, NULL);
    if (base + n > 255) {
        rc = ms_seterr(err, MS_EINVAL,
                       "label %u has %zu connected instances; numbered above label %u they "
                       "exceed 255, the uint8 maximum (upstream would wrap them around)",
                       (unsigned)value, n, base);
        goto fail;
    }
    if (n)
        rc = apply_pass(&c, APPLY_INST, NULL, base, err);
    if (!rc && ncomp)
        *ncomp = n;
fail:
    free(c.p);
    return rc;
}

/* ------------------------------------------------------------ whole-volume runs
 *
 * ms_cc_clean keeps every run of the volume (a few per labelled row: ~3 MB
 * for a 512x512x300 CT) and does both dust steps on them: one scan of the
 * voxels instead of the count / union / apply scans of each ms_cc_dust.
 * After the 3D step a removed run gets value 0; the 2D step then joins
 * runs of equal value, so a removed run never joins a live one (removed
 * runs may join each other: they stay removed whatever their size).  The
 * live runs are exactly the runs of the 3D-cleaned volume: a run was a
 * maximal stretch of its value, and its neighbours along x are other
 * values or removed runs, now 0. */

void ms_label_runs_free(ms_label_runs *r)
{
    free(r->row);
    free(r->x0);
    free(r->x1);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int runs_grow(ms_label_runs *r, size_t *cap, size_t need)
{
    if (need <= *cap)
        return MS_OK;
    size_t c = *cap * 2 > need ? *cap * 2 : need;
    uint32_t *x0 = realloc(r->x0, c * sizeof *x0);
    if (x0)
        r->x0 = x0;
    uint32_t *x1 = realloc(r->x1, c * sizeof *x1);
    if (x1)
        r->x1 = x1;
    uint8_t *v = realloc(r->v, c);
    if (v)
        r->v = v;
    if (!x0 || !x1 || !v)
        return MS_ENOMEM;
    *cap = c;
    return MS_OK;
}

/* Decode every row of the volume (value -1: all non-zero values). */
static int runs_decode(const cc_ctx *c, ms_label_runs *r)
{
    size_t rows = c->d * c->h, cap = 0;
    r->row = malloc((rows + 1) * sizeof *r->row);
    if (!r->row || runs_grow(r, &cap, rows + c->w + 1))
        return MS_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < rows; i++) {
        r->row[i] = (uint32_t)n;
        if (n + c->w > cap && runs_grow(r, &cap, n + c->w))   /* a row has <= w runs */
            return MS_ENOMEM;
        n += row_runs(c->lab + i * c->w, c->w, -1, r->x0 + n, r->x1 + n, r->v + n);
        if (n > (size_t)INT32_MAX)
            return MS_ELIMIT;
    }
    r->row[rows] = (uint32_t)n;
    r->n = n;
    return MS_OK;
}

/* Dust over r's live runs with connectivity conn: components under min
 * voxels get value 0.  p is scratch of r->n entries. */
static void runs_dust(cc_ctx *c, ms_label_runs *r, int conn, size_t min_size)
{
    int32_t *p = c->p;
    for (size_t i = 0; i < r->n; i++)
        p[i] = -(int32_t)(r->x1[i] - r->x0[i]);
    c->conn = conn;
    cc_slice cur = {.x0 = r->x0, .x1 = r->x1, .v = r->v}, prev = cur;
    for (size_t z = 0; z < c->d; z++) {
        cur.row = r->row + z * c->h;      /* global run indices, base 0 */
        prev.row = z ? r->row + (z - 1) * c->h : NULL;
        for (size_t y = 0; y < c->h; y++)
            join_slice(c, &cur, z ? &prev : NULL, y);
    }
    resolve(c, 1, min_size, NULL);
    size_t removed = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!p[i] && r->v[i]) {
            r->v[i] = 0;
            removed++;
        }
    r->removed += removed;
}

int ms_cc_clean(const uint8_t *lab, size_t d, size_t h, size_t w, int conn3, size_t min3,
                int conn2, size_t min2, ms_label_runs *r, ms_err *err)
{
    cc_ctx c;
    memset(r, 0, sizeof *r);
    if (conn2 != 4 && conn2 != 8)
        return ms_seterr(err, MS_EINVAL, "connected components: 2D connectivity %d is not 4 or 8",
                         conn2);
    memset(&c, 0, sizeof c);
    size_t n;
    int rc = check_grid(d, h, w, conn3, &n, err);
    if (rc)
        return rc;
    c.lab = (uint8_t *)lab;
    c.d = n ? d : 0;
    c.h = n ? h : 0;
    c.w = w;
    c.value = -1;
    r->d = c.d;
    r->h = c.h;
    r->w = w;
    rc = runs_decode(&c, r);
    if (rc == MS_OK) {
        c.nruns = r->n;
        c.p = malloc((r->n ? r->n : 1) * sizeof *c.p);
        rc = c.p ? MS_OK : MS_ENOMEM;
    }
    if (rc) {
        ms_label_runs_free(r);
        free(c.p);
        return ms_seterr(err, rc, rc == MS_ELIMIT ? "connected components: too many runs"
                                                  : "connected components: out of memory");
    }
    runs_dust(&c, r, conn3, min3);
    runs_dust(&c, r, conn2, min2);
    free(c.p);
    return MS_OK;
}

void ms_label_runs_apply(const ms_label_runs *r, uint8_t *lab)
{
    if (!r->removed)
        return;
    for (size_t i = 0; i < r->d * r->h; i++)
        for (uint32_t k = r->row[i]; k < r->row[i + 1]; k++)
            if (!r->v[k])
                memset(lab + i * r->w + r->x0[k], 0, r->x1[k] - r->x0[k]);
}

size_t ms_label_runs_nonzero_slices(const ms_label_runs *r, size_t *z_out)
{
    size_t nz = 0;
    for (size_t z = 0; z < r->d; z++) {
        uint32_t k = r->row[z * r->h], e = r->row[(z + 1) * r->h];
        while (k < e && !r->v[k])
            k++;
        if (k < e)
            z_out[nz++] = z;
    }
    return nz;
}

void ms_label_runs_paint(const ms_label_runs *r, const size_t *z, size_t nz, uint8_t *out)
{
    size_t slice = r->h * r->w;
    for (size_t k = 0; k < nz; k++) {
        uint8_t *o = out + k * slice;
        uint32_t j = r->row[z[k] * r->h], e = r->row[(z[k] + 1) * r->h];
        if (j == e) {
            memset(o, 0, slice);
            continue;
        }
        /* each byte written once: the gaps, then the runs */
        size_t at = 0;
        for (size_t y = 0; y < r->h; y++) {
            size_t i = z[k] * r->h + y;
            for (j = r->row[i]; j < r->row[i + 1]; j++) {
                if (!r->v[j])
                    continue;
                size_t x0 = y * r->w + r->x0[j], x1 = y * r->w + r->x1[j];
                memset(o + at, 0, x0 - at);
                memset(o + x0, r->v[j], x1 - x0);
                at = x1;
            }
        }
        memset(o + at, 0, slice - at);
    }
}

void ms_label_runs_iter_init(ms_label_runs_iter *it, const ms_label_runs *r, const size_t *z,
                             size_t nz)
{
    it->r = r;
    it->z = z;
    it->nz = nz;
    ms_label_runs_rewind(it);
}

void ms_label_runs_rewind(void *vit)
{
    ms_label_runs_iter *it = vit;
    const ms_label_runs *r = it->r;
    it->k = it->y = it->x = 0;
    it->j = it->je = 0;
    if (it->nz && r->h) {
        it->j = r->row[it->z[0] * r->h];
        it->je = r->row[it->z[0] * r->h + 1];
    } else {
        it->k = it->nz;   /* nothing to give */
    }
}

size_t ms_label_runs_next(void *vit, unsigned char *value)
{
    ms_label_runs_iter *it = vit;
    const ms_label_runs *r = it->r;
    const uint32_t *row = r->row;
    size_t zeros = 0, w = r->w, h = r->h;
    while (it->k < it->nz) {
        while (it->j < it->je) {
            uint32_t j = it->j;
            if (!r->v[j]) {   /* removed: zeros, counted from x on */
                it->j = j + 1;
                continue;
            }
            size_t x0 = r->x0[j];
            zeros += x0 - it->x;
            it->x = x0;
            if (zeros) {
                *value = 0;
                return zeros;   /* the run itself next time */
            }
            it->j = j + 1;
            it->x = r->x1[j];
            *value = r->v[j];
            return r->x1[j] - x0;
        }
        /* the rest of the row, then the rows after it without runs */
        zeros += w - it->x;
        it->x = 0;
        size_t base = it->z[it->k] * h;
        for (;;) {
            if (++it->y == h) {
                it->y = 0;
                if (++it->k == it->nz)
                    break;
                base = it->z[it->k] * h;
            }
            if (row[base + it->y] != row[base + it->y + 1])
                break;
            zeros += w;
        }
        if (it->k < it->nz) {
            it->j = row[base + it->y];
            it->je = row[base + it->y + 1];
        }
    }
    *value = 0;
    return zeros;
}
