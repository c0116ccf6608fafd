/* Single-precision GEMM with fused epilogue (gemm.h).
 *
 * Reference path: every element is acc = 0; for k = 0..K-1: acc += A(i,k)*B(k,j)
 * (separate multiply and add: ISO C, no contraction), then the epilogue.
 *
 * SIMD paths (gemm_kern.h): B is packed into NR-column panels and A into
 * MR-row panels, blocked KC x NC (B, L3/L2) and MC x KC (A, L2); the
 * micro-kernel keeps an MR x NR tile in registers and accumulates one fused
 * multiply-add per k in increasing k, carrying the partial sums through C
 * between KC blocks.  An element's value therefore depends only on K and the
 * path, not on the blocking, the tile position or the thread split.
 *
 * Row-major A is read in place, a partial last row panel (m < MR rows) by
 * the kernel of its height, so no row is computed for nothing and its
 * epilogue is fused too; only a strided A is packed.  A few rows times a
 * transposed B are computed as B^T A^T so that B needs no packing.  Packing
 * scratch is kept per thread between calls.
 *
 * Threads split the output by rows (or by columns when M is small), in whole
 * tiles, so the result never depends on the thread count.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdatomic.h>

#include "cpu.h"
#include "gemm.h"
#include "gemm_kern.h"

struct msnn_packed_b {
    int K, N;
    int level;              /* MSNN_CPU_* of the kernel it was packed for */
    float *data;            /* REF: K x N row-major; SIMD: ceil(N/NR) panels of K x NR */
    int owns_data;          /* 0: caller memory (msnn_gemm_pack_b_into) */
};

/* Multiply-adds done so far (benchmarks report GFLOP/s from it). */
static atomic_ullong g_macs;

unsigned long long msnn__gemm_macs(void)
{
    return atomic_load_explicit(&g_macs, memory_order_relaxed);
}

static void count_macs(int M, int N, int K)
{
    atomic_fetch_add_explicit(&g_macs, (unsigned long long)M * N * K, memory_order_relaxed);
}

void msnn__gemm_add_macs(unsigned long long n)
{
    atomic_fetch_add_explicit(&g_macs, n, memory_order_relaxed);
}

/* Below this many multiply-adds a GEMM runs on the calling thread. */
#define GEMM_MIN_PARALLEL 2e6

/* The epilogue for one element: act(acc + bias + residual), in that order. */
static inline float epi_one(float v, const msnn_epi *e, int i, int j)
{
    if (!e)
        return v;
    if (e->bias)
        v += e->bias_per_row ? e->bias[i] : e->bias[j];
    if (e->residual)
        v += e->residual[(ptrdiff_t)i * e->ldr + j];
    if (e->act == MSNN_ACT_GELU)
        v = v * 0.5f * (1.0f + erff(v * 0.70710678118654752f));
    else if (e->act == MSNN_ACT_RELU)
        v = v > 0.0f ? v : 0.0f;
    return v;
}

typedef struct gemm_task {
    int M, N, K;
    msnn_mat A, B;
    float *C;
    ptrdiff_t ldc;
    const msnn_epi *e;
    int split_rows;         /* 1: threads split M, 0: threads split N */
} gemm_task;

#define REF_NB 64

/* Rows [i0, i1) x columns [j0, j1) of C. */
static void ref_block(const gemm_task *t, int i0, int i1, int j0, int j1)
{
    float acc[REF_NB];
    for (int i = i0; i < i1; i++) {
        const float *a = t->A.p + (ptrdiff_t)i * t->A.rs;
        for (int jb = j0; jb < j1; jb += REF_NB) {
            int nb = j1 - jb < REF_NB ? j1 - jb : REF_NB;
            for (int jj = 0; jj < nb; jj++)
                acc[jj] = 0.0f;
            for (int k = 0; k < t->K; k++) {
                float av = a[(ptrdiff_t)k * t->A.cs];
                const float *b = t->B.p + (ptrdiff_t)k * t->B.rs + (ptrdiff_t)jb * t->B.cs;
                if (t->B.cs == 1)
                    for (int jj = 0; jj < nb; jj++)
                        acc[jj] += av * b[jj];
                else
                    for (int jj = 0; jj < nb; jj++)
                        acc[jj] += av * b[(ptrdiff_t)jj * t->B.cs];
            }
            float *c = t->C + (ptrdiff_t)i * t->ldc + jb;
            for (int jj = 0; jj < nb; jj++)
                c[jj] = epi_one(acc[jj], t->e, i, jb + jj);
        }
    }
}

static void ref_task(void *arg, int ith, int nth)
{
    const gemm_task *t = arg;
    int lo, hi;
    if (t->split_rows) {
        msnn_split(t->M, ith, nth, &lo, &hi);
        ref_block(t, lo, hi, 0, t->N);
    } else {
        msnn_split(t->N, ith, nth, &lo, &hi);
        ref_block(t, 0, t->M, lo, hi);
    }
}

static void gemm_ref(int M, int N, int K, msnn_mat A, msnn_mat B, float *C, ptrdiff_t ldc,
                     const msnn_epi *e, msnn_pool *pool)
{
    gemm_task t = { M, N, K, A, B, C, ldc, e, 1 };
    int nth = msnn_pool_size(pool);
    t.split_rows = M >= nth * 4 || M >= N;
    if ((double)M * N * K < GEMM_MIN_PARALLEL)
        pool = NULL;
    msnn_pool_run(pool, ref_task, &t);
}

/* ------------------------------------------------------------ kernels */

static msnn__gemm_kernel g_kern[4];
static pthread_once_t g_kern_once = PTHREAD_ONCE_INIT;

static void kern_init(void)
{
#if ARCH_X86_64
    /* only what this CPU runs: the fill functions are compiled for their
     * ISA, and the compiler may use its instructions there */
    if (msnn_cpu_max_level() >= MSNN_CPU_AVX2)
        msnn__gemm_kernel_avx2(&g_kern[MSNN_CPU_AVX2]);
    if (msnn_cpu_max_level() >= MSNN_CPU_AVX512)
        msnn__gemm_kernel_avx512(&g_kern[MSNN_CPU_AVX512]);
#elif ARCH_AARCH64
    msnn__gemm_kernel_neon(&g_kern[MSNN_CPU_NEON]);
#endif
}

const msnn__gemm_kernel *msnn__gemm_kernel_get(int level)
{
    pthread_once(&g_kern_once, kern_init);
    if (level <= MSNN_CPU_REF || level > MSNN_CPU_AVX512 || level > msnn_cpu_max_level())
        return NULL;
    if (level == MSNN_CPU_NEON && msnn_cpu_max_level() != MSNN_CPU_NEON)
        return NULL;
    return g_kern[level].ukr ? &g_kern[level] : NULL;
}

/* ------------------------------------------------------------ packing */

/* A rows [i0, i0+m) x columns [k0, k0+kc) -> panels of MR x kc, zero padded. */
static void pack_a(const msnn__gemm_kernel *kn, msnn_mat A, int i0, int m, int k0, int kc,
                   float *dst)
{
    const int mr = kn->mr;
    for (int ip = 0; ip < m; ip += mr) {
        int h = m - ip < mr ? m - ip : mr;
        const float *src = A.p + (ptrdiff_t)(i0 + ip) * A.rs + (ptrdiff_t)k0 * A.cs;
        if (A.rs == 1) {
            for (int k = 0; k < kc; k++) {
                memcpy(dst + (size_t)k * mr, src + (ptrdiff_t)k * A.cs, (size_t)h * sizeof *dst);
                for (int r = h; r < mr; r++)
                    dst[(size_t)k * mr + r] = 0.0f;
            }
        } else {
            for (int r = 0; r < h; r++) {
                const float *s = src + (ptrdiff_t)r * A.rs;
                for (int k = 0; k < kc; k++)
                    dst[(size_t)k * mr + r] = s[(ptrdiff_t)k * A.cs];
            }
            for (int r = h; r < mr; r++)
                for (int k = 0; k < kc; k++)
                    dst[(size_t)k * mr + r] = 0.0f;
        }
        dst += (size_t)kc * mr;
    }
}

/* ------------------------------------------------------------ blocked GEMM */

typedef struct fast_task {
    const msnn__gemm_kernel *kn;
    int M, N, K;
    msnn_mat A, B;
    const float *bpk;       /* prepacked B (panels of K x NR) or NULL */
    float *C;
    ptrdiff_t ldc;
    const msnn_epi *e;
    int split_rows;
} fast_task;

/* One tile at C(i, j): tiles of full width go straight to C with the
 * epilogue fused into the micro-kernel (when last), narrower ones through a
 * padded buffer.  ap is a packed panel (lda 0) or the m rows of A read in
 * place (row stride lda). */
static void run_tile(const fast_task *t, int kc, const float *ap, ptrdiff_t lda, const float *bp,
                     int i, int j, int m, int n, int load, int last, float *tile)
{
    const msnn__gemm_kernel *kn = t->kn;
    const msnn_epi *e = t->e;
    float *c = t->C + (ptrdiff_t)i * t->ldc + j;
    if (n == kn->nr && (m == kn->mr || lda)) {
        msnn__tile_epi te = { 0 }, *tp = NULL;
        if (last && (e->bias || e->residual || e->act != MSNN_ACT_NONE)) {
            tp = &te;
            if (e->bias && e->bias_per_row)
                te.bias_row = e->bias + i;
            else if (e->bias)
                te.bias_col = e->bias + j;
            if (e->residual) {
                te.res = e->residual + (ptrdiff_t)i * e->ldr + j;
                te.ldr = e->ldr;
            }
            te.act = e->act;
        }
        if (lda)
            kn->ukr_rows_m[m](kc, ap, lda, bp, c, t->ldc, load, tp);
        else
            kn->ukr(kc, ap, bp, c, t->ldc, load, tp);
        return;
    }
    if (load) {
        memset(tile, 0, (size_t)kn->mr * kn->nr * sizeof *tile);
        for (int r = 0; r < m; r++)
            memcpy(tile + r * kn->nr, c + r * t->ldc, (size_t)n * sizeof *tile);
    }
    if (lda)
        kn->ukr_rows_m[m](kc, ap, lda, bp, tile, kn->nr, load, NULL);
    else
        kn->ukr(kc, ap, bp, tile, kn->nr, load, NULL);
    for (int r = 0; r < m; r++)
        memcpy(c + r * t->ldc, tile + r * kn->nr, (size_t)n * sizeof *tile);
    if (last)
        kn->epi(c, t->ldc, m, n, i, j, e);
}

/* The K block: K split into equal blocks of at most kn->kc (a multiple of 8),
 * so no block is a short remainder.  Any blocking gives the same sums. */
static int kc_for(const msnn__gemm_kernel *kn, int K)
{
    int nb = (K + kn->kc - 1) / kn->kc;
    if (nb < 1)
        nb = 1;
    int kc = (K + nb - 1) / nb;
    kc = (kc + 7) & ~7;
    return kc < kn->kc ? kc : kn->kc;
}

/* C rows [m0, m1) x columns [n0, n1); n0 is a multiple of NR. */
static void fast_region(const fast_task *t, int m0, int m1, int n0, int n1, float *abuf,
                        float *bbuf, float *tile)
{
    const msnn__gemm_kernel *kn = t->kn;
    const int mr = kn->mr, nr = kn->nr, K = t->K, kcb = kc_for(kn, K);
    if (K == 0) {
        for (int i = m0; i < m1; i++)
            memset(t->C + (ptrdiff_t)i * t->ldc + n0, 0, (size_t)(n1 - n0) * sizeof(float));
        kn->epi(t->C + (ptrdiff_t)m0 * t->ldc + n0, t->ldc, m1 - m0, n1 - n0, m0, n0, t->e);
        return;
    }
    for (int jc = n0; jc < n1; jc += kn->nc) {
        int nc = n1 - jc < kn->nc ? n1 - jc : kn->nc;
        for (int pc = 0; pc < K; pc += kcb) {
            int kc = K - pc < kcb ? K - pc : kcb;
            int last = pc + kc == K;
            if (!t->bpk)
                kn->pack_b(t->B, pc, kc, jc, nc, bbuf);
            for (int ic = m0; ic < m1; ic += kn->mc) {
                int mc = m1 - ic < kn->mc ? m1 - ic : kn->mc;
                /* Row-major A is read in place (a partial last panel by
                 * the kernel of its height); only a strided A is packed. */
                int direct = t->A.cs == 1 ? mc : 0;
                if (direct < mc)
                    pack_a(kn, t->A, ic + direct, mc - direct, pc, kc, abuf);
                for (int jr = 0; jr < nc; jr += nr) {
                    const float *bp = t->bpk
                        ? t->bpk + ((size_t)(jc + jr) / nr) * K * nr + (size_t)pc * nr
                        : bbuf + (size_t)(jr / nr) * kc * nr;
                    int n = nc - jr < nr ? nc - jr : nr;
                    for (int ir = 0; ir < mc; ir += mr) {
                        int m = mc - ir < mr ? mc - ir : mr;
                        const float *ap;
                        ptrdiff_t lda = 0;
                        if (ir < direct) {
                            ap = t->A.p + (ptrdiff_t)(ic + ir) * t->A.rs + pc;
                            lda = t->A.rs;
                        } else {
                            ap = abuf + (size_t)((ir - direct) / mr) * kc * mr;
                        }
                        run_tile(t, kc, ap, lda, bp, ic + ir, jc + jr, m, n, pc > 0, last,
                                 tile);
                    }
                }
            }
        }
    }
}

/* Per-thread scratch, kept between calls (a fresh 100 KB - 5 MB buffer per
 * GEMM would be mapped and page-faulted every time); freed when the thread
 * exits.  Slot 0 is the GEMM's packing space, slot 1 is lent to kernels
 * that do not call msnn_gemm while they hold it (gemm_kern.h). */
#define SCRATCH_SLOTS 2

typedef struct scratch {
    void *p[SCRATCH_SLOTS];
    size_t cap[SCRATCH_SLOTS];
} scratch;

static pthread_key_t g_scratch_key;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;
static int g_scratch_ok;

static void scratch_free(void *v)
{
    scratch *sc = v;
    for (int i = 0; i < SCRATCH_SLOTS; i++)
        free(sc->p[i]);
    free(sc);
}

static void scratch_init(void)
{
    g_scratch_ok = pthread_key_create(&g_scratch_key, scratch_free) == 0;
}

void *msnn__thread_scratch(int slot, size_t bytes)
{
    if (slot < 0 || slot >= SCRATCH_SLOTS || bytes > SIZE_MAX - 63)
        return NULL;
    bytes = (bytes + 63) & ~(size_t)63;
    pthread_once(&g_scratch_once, scratch_init);
    if (!g_scratch_ok)
        return NULL;
    scratch *sc = pthread_getspecific(g_scratch_key);
    if (!sc) {
        sc = calloc(1, sizeof *sc);
        if (!sc || pthread_setspecific(g_scratch_key, sc) != 0) {
            free(sc);
            return NULL;
        }
    }
    if (sc->cap[slot] < bytes) {
        void *p = aligned_alloc(64, bytes);
        if (!p)
            return NULL;
        free(sc->p[slot]);
        sc->p[slot] = p;
        sc->cap[slot] = bytes;
    }
    return sc->p[slot];
}

static void *scratch_get(size_t bytes)
{
    return msnn__thread_scratch(0, bytes);
}

static void fast_task_fn(void *arg, int ith, int nth)
{
    const fast_task *t = arg;
    const msnn__gemm_kernel *kn = t->kn;
    int lo, hi, m0 = 0, m1 = t->M, n0 = 0, n1 = t->N;
    if (t->split_rows) {
        msnn_split((t->M + kn->mr - 1) / kn->mr, ith, nth, &lo, &hi);
        m0 = lo * kn->mr;
        m1 = hi * kn->mr < t->M ? hi * kn->mr : t->M;
    } else {
        msnn_split((t->N + kn->nr - 1) / kn->nr, ith, nth, &lo, &hi);
        n0 = lo * kn->nr;
        n1 = hi * kn->nr < t->N ? hi * kn->nr : t->N;
    }
    if (m0 >= m1 || n0 >= n1)
        return;
    /* Buffers sized for this region (small GEMMs get small buffers). */
    int kc = t->K < kn->kc ? t->K : kc_for(kn, t->K);
    int mcr = m1 - m0 < kn->mc ? m1 - m0 : kn->mc;
    int ncr = n1 - n0 < kn->nc ? n1 - n0 : kn->nc;
    size_t na = t->A.cs == 1 ? 0
                : (size_t)((mcr + kn->mr - 1) / kn->mr) * kn->mr * (size_t)(kc ? kc : 1);
    size_t nb = t->bpk ? 0 : (size_t)((ncr + kn->nr - 1) / kn->nr) * kn->nr * (size_t)(kc ? kc : 1);
    size_t nt = (size_t)kn->mr * kn->nr;
    float *buf = scratch_get((na + nb + nt) * sizeof(float));
    if (!buf) {
        /* Out of memory for 100 KB of scratch: fall back to the reference
         * loop for this region (still deterministic for this thread split). */
        gemm_task rt = { t->M, t->N, t->K, t->A, t->B, t->C, t->ldc, t->e, 1 };
        ref_block(&rt, m0, m1, n0, n1);
        return;
    }
    fast_region(t, m0, m1, n0, n1, buf, buf + na, buf + na + nb);
}

static void gemm_fast(const msnn__gemm_kernel *kn, int M, int N, int K, msnn_mat A, msnn_mat B,
                      const float *bpk, float *C, ptrdiff_t ldc, const msnn_epi *e,
                      msnn_pool *pool);

/* A few rows times a transposed B (attention scores of a few query tokens
 * against many keys): packing B would cost as much as the product, so
 * compute T = B^T A^T (N x M: B^T is read in place, A^T is tiny), then
 * C = epi(T^T).  Each sum is the same fused multiply-add chain over k as
 * in the direct path, and the epilogue the same vector code, so the result
 * is bitwise the same.  A residual must not overlap C (gemm_fast copies
 * one that does first).  Returns 0 if it does not apply (or on OOM). */
static int gemm_small_m_bt(const msnn__gemm_kernel *kn, int M, int N, int K, msnn_mat A,
                           msnn_mat B, float *C, ptrdiff_t ldc, const msnn_epi *e,
                           msnn_pool *pool)
{
    /* few rows: up to 2 row panels, or up to 64 rows against 16 times as many
     * columns (the decoder's 8 heads x 7 tokens against 4096 image keys) */
    int few = M < 2 * kn->mr || (M <= 64 && N >= 16 * M);
    if (!few || N < 4 * kn->nr || K < 1 || B.rs != 1)
        return 0;
    float *T = malloc((size_t)N * M * sizeof *T);
    if (!T)
        return 0;
    msnn_mat At = { B.p, B.cs, 1 };        /* (j, k) = B(k, j): rows of B^T */
    msnn_mat Bt = { A.p, A.cs, A.rs };     /* (k, i) = A(i, k) */
    gemm_fast(kn, N, M, K, At, Bt, NULL, T, M, NULL, pool);
    for (int i = 0; i < M; i++) {
        float *c = C + (ptrdiff_t)i * ldc;
        for (int j = 0; j < N; j++)
            c[j] = T[(size_t)j * M + i];
    }
    free(T);
    if (e)
        kn->epi(C, ldc, M, N, 0, 0, e);
    return 1;
}

static void gemm_fast(const msnn__gemm_kernel *kn, int M, int N, int K, msnn_mat A, msnn_mat B,
                      const float *bpk, float *C, ptrdiff_t ldc, const msnn_epi *e,
                      msnn_pool *pool)
{
    /* A residual that overlaps C (in-place "x = x + f(x)") would be read
     * after C holds partial sums: give the kernels a copy. */
    int overlap = 0;
    if (e && e->residual) {
        const char *r0 = (const char *)e->residual, *c0 = (const char *)C;
        const char *r1 = (const char *)(e->residual + (ptrdiff_t)(M - 1) * e->ldr + N);
        const char *c1 = (const char *)(C + (ptrdiff_t)(M - 1) * ldc + N);
        if ((overlap = r0 < c1 && c0 < r1)) {
            float *rc = malloc((size_t)M * N * sizeof *rc);
            if (rc) {
                for (int i = 0; i < M; i++)
                    memcpy(rc + (size_t)i * N, e->residual + (ptrdiff_t)i * e->ldr,
                           (size_t)N * sizeof *rc);
                msnn_epi e2 = *e;
                e2.residual = rc;
                e2.ldr = N;
                gemm_fast(kn, M, N, K, A, B, bpk, C, ldc, &e2, pool);
                free(rc);
                return;
            }
        }
    }
    if (!bpk && !overlap && gemm_small_m_bt(kn, M, N, K, A, B, C, ldc, e, pool))
        return;
    static const msnn_epi no_epi = { 0 };
    fast_task t = { kn, M, N, K, A, B, bpk, C, ldc, e ? e : &no_epi, 1 };
    int nth = msnn_pool_size(pool);
    int mt = (M + kn->mr - 1) / kn->mr, nt = (N + kn->nr - 1) / kn->nr;
    /* Rows when they give every thread a few tiles and are the longer side. */
    t.split_rows = mt >= nth * 4 && (M >= N || nt < nth * 4);
    if ((double)M * N * K < GEMM_MIN_PARALLEL)
        pool = NULL;
    msnn_pool_run(pool, fast_task_fn, &t);
}

/* ------------------------------------------------------------ public API */

void msnn_gemm(int M, int N, int K, msnn_mat A, msnn_mat B, float *C, ptrdiff_t ldc,
               const msnn_epi *e, msnn_pool *pool)
{
    if (M <= 0 || N <= 0)
        return;
    if (K < 0)
        K = 0;
    count_macs(M, N, K);
    const msnn__gemm_kernel *kn = msnn__gemm_kernel_get(msnn_cpu_level());
    if (kn)
        gemm_fast(kn, M, N, K, A, B, NULL, C, ldc, e, pool);
    else
        gemm_ref(M, N, K, A, B, C, ldc, e, pool);
}

/* Floats of a packed K x N on kernel kn (NULL: the reference layout), rounded
 * up to 16 (64 bytes); 0 with *ok = 0 on overflow. */
static size_t packed_floats(const msnn__gemm_kernel *kn, int K, int N, int *ok)
{
    size_t cols = kn ? (size_t)((N + kn->nr - 1) / kn->nr) * kn->nr : (size_t)N;
    *ok = !(K && cols > (SIZE_MAX - 64) / sizeof(float) / (size_t)K);
    return *ok ? ((size_t)K * cols + 15) & ~(size_t)15 : 0;
}

size_t msnn_gemm_packed_floats(int K, int N)
{
    int ok;
    if (K < 0 || N < 0)
        return 0;
    return packed_floats(msnn__gemm_kernel_get(msnn_cpu_level()), K, N, &ok);
}

msnn_packed_b *msnn_gemm_pack_b_into(int K, int N, msnn_mat B, float *mem, size_t cap)
{
    if (K < 0 || N < 0)
        return NULL;
    msnn_packed_b *bp = calloc(1, sizeof *bp);
    if (!bp)
        return NULL;
    bp->K = K;
    bp->N = N;
    bp->level = msnn_cpu_level();
    const msnn__gemm_kernel *kn = msnn__gemm_kernel_get(bp->level);
    if (!kn)
        bp->level = MSNN_CPU_REF;
    int ok;
    size_t n = packed_floats(kn, K, N, &ok);
    if (!ok)
        goto fail;
    if (mem) {
        if (cap < n)
            goto fail;
        bp->data = mem;
    } else {
        bp->data = aligned_alloc(64, (n ? n : 16) * sizeof(float));
        bp->owns_data = 1;
        if (!bp->data)
            goto fail;
    }
    if (kn) {
        kn->pack_b(B, 0, K, 0, N, bp->data);
    } else {
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
                bp->data[(size_t)k * N + j] = B.p[(ptrdiff_t)k * B.rs + (ptrdiff_t)j * B.cs];
    }
    return bp;
fail:
    msnn_gemm_packed_free(&bp);
    return NULL;
}

msnn_packed_b *msnn_gemm_pack_b(int K, int N, msnn_mat B)
{
    return msnn_gemm_pack_b_into(K, N, B, NULL, 0);
}

void msnn_gemm_packed_free(msnn_packed_b **bp)
{
    if (!bp || !*bp)
        return;
    if ((*bp)->owns_data)
        free((*bp)->data);
    free(*bp);
    *bp = NULL;
}

const float *msnn__gemm_packed_panels(const msnn_packed_b *bp, const msnn__gemm_kernel *kn)
{
    return bp && kn && bp->level == kn->level ? bp->data : NULL;
}

void msnn_gemm_packed(int M, const msnn_packed_b *bp, msnn_mat A, float *C, ptrdiff_t ldc,
                      const msnn_epi *e, msnn_pool *pool)
{
    if (M <= 0 || bp->N <= 0)
        return;
    count_macs(M, bp->N, bp->K);
    const msnn__gemm_kernel *kn = msnn__gemm_kernel_get(bp->level);
    if (kn) {
        msnn_mat none = { NULL, 0, 0 };
        gemm_fast(kn, M, bp->N, bp->K, A, none, bp->data, C, ldc, e, pool);
    } else {
        msnn_mat B = { bp->data, bp->N, 1 };
        gemm_ref(M, bp->N, bp->K, A, B, C, ldc, e, pool);
    }
}
