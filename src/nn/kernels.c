/* Kernel dispatch (kernels.h): the reference table, overridden per CPU level.
 *
 * SIMD variants hook in below: a variant file provides
 * msnn__kernels_init_<isa>(msnn_kernels *k) that replaces the entries it
 * implements and leaves the others pointing at the reference.
 */
#include "config.h"

#include "cpu.h"
#include "kernels.h"
#include "kernels_simd.h"

static msnn_kernels tables[4];
static int table_ready[4];

static void build(int level, msnn_kernels *k)
{
    msnn_kernels_ref(k);
    /* SIMD overrides, best last (kernels_simd.h). */
#if ARCH_X86_64
    if (level >= MSNN_CPU_AVX2)
        msnn__kernels_init_avx2(k);
    if (level >= MSNN_CPU_AVX512)
        msnn__kernels_init_avx512(k);
#elif ARCH_AARCH64
    if (level == MSNN_CPU_NEON)
        msnn__kernels_init_neon(k);
#else
    (void)level;
#endif
}

const msnn_kernels *msnn_kernels_get(void)
{
    int level = msnn_cpu_level();
    if (level < 0 || level > 3)
        level = MSNN_CPU_REF;
    if (!table_ready[level]) {
        build(level, &tables[level]);
        table_ready[level] = 1;
    }
    return &tables[level];
}

typedef struct rows_task {
    int n;
    msnn_rows_fn fn;
    void *arg;
} rows_task;

static void rows_run(void *arg, int ith, int nth)
{
    const rows_task *t = arg;
    int lo, hi;
    msnn_split(t->n, ith, nth, &lo, &hi);
    if (hi > lo)
        t->fn(t->arg, lo, hi);
}

void msnn__parallel_rows(msnn_pool *pool, int n, msnn_rows_fn fn, void *arg)
{
    if (n <= 0)
        return;
    if (!pool || msnn_pool_size(pool) <= 1) {
        fn(arg, 0, n);
        return;
    }
    rows_task t = { n, fn, arg };
    msnn_pool_run(pool, rows_run, &t);
}
