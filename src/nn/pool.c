/* A thread pool created once (pool.h).
 *
 * nth - 1 worker threads wait for a new "generation"; msnn_pool_run publishes
 * (fn, arg), bumps the generation, runs part 0 itself and waits until every
 * worker has reported done.  Workers spin briefly before sleeping on a
 * condition variable, so back-to-back runs of small layers stay cheap while
 * an idle pool costs no CPU.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"

#define SPIN_ITERS 4000

struct msnn_pool {
    int nth;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t cv_start;
    pthread_cond_t cv_done;
    msnn_task_fn fn;
    void *arg;
    atomic_uint gen;        /* bumped once per run (and once to quit) */
    atomic_int pending;     /* workers still running the current generation */
    int quit;
    int nsleep_done;        /* caller sleeping on cv_done */
};

typedef struct worker_arg {
    msnn_pool *p;
    int ith;
} worker_arg;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Wait until p->gen differs from seen; returns the new generation. */
static unsigned wait_gen(msnn_pool *p, unsigned seen)
{
    for (int i = 0; i < SPIN_ITERS; i++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen)
            return g;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    unsigned g;
    while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
        pthread_cond_wait(&p->cv_start, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *v)
{
    worker_arg *wa = v;
    msnn_pool *p = wa->p;
    int ith = wa->ith;
    free(wa);
    unsigned seen = 0;
    for (;;) {
        seen = wait_gen(p, seen);
        if (p->quit)
            break;
        p->fn(p->arg, ith, p->nth);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            if (p->nsleep_done)
                pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > 256 ? 256 : (int)n;
}

msnn_pool *msnn_pool_new(int nthreads)
{
    if (nthreads <= 0)
        nthreads = online_cpus();
    if (nthreads > 1024)
        nthreads = 1024;
    msnn_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->nth = 1;
    p->tid = calloc((size_t)nthreads, sizeof *p->tid);
    if (!p->tid)
        goto fail;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_start, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    for (int i = 1; i < nthreads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa)
            goto fail;
        wa->p = p;
        wa->ith = i;
        if (pthread_create(&p->tid[i], NULL, worker_main, wa) != 0) {
            free(wa);
            goto fail;
        }
        p->nth = i + 1;
    }
    return p;
fail:
    msnn_pool_free(&p);
    return NULL;
}

void msnn_pool_free(msnn_pool **pp)
{
    msnn_pool *p = pp ? *pp : NULL;
    if (!p)
        return;
    if (p->tid) {
        pthread_mutex_lock(&p->mu);
        p->quit = 1;
        atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
        pthread_cond_broadcast(&p->cv_start);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->nth; i++)
            pthread_join(p->tid[i], NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv_start);
        pthread_cond_destroy(&p->cv_done);
        free(p->tid);
    }
    free(p);
    *pp = NULL;
}

int msnn_pool_size(const msnn_pool *p)
{
    return p ? p->nth : 1;
}

void msnn_pool_run(msnn_pool *p, msnn_task_fn fn, void *arg)
{
    if (!p || p->nth <= 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->nth - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);

    fn(arg, 0, p->nth);

    for (int i = 0; i < SPIN_ITERS; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0)
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    p->nsleep_done = 1;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0)
        pthread_cond_wait(&p->cv_done, &p->mu);
    p->nsleep_done = 0;
    pthread_mutex_unlock(&p->mu);
}

void msnn_split(int n, int ith, int nth, int *lo, int *hi)
{
    if (nth < 1)
        nth = 1;
    long long q = (long long)n / nth, r = (long long)n % nth;
    long long a = ith * q + (ith < r ? ith : r);
    long long b = a + q + (ith < r ? 1 : 0);
    *lo = (int)a;
    *hi = (int)b;
}
