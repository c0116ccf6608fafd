/* medsam-tools inference engine: a thread pool created once.
 *
 * msnn_pool_run(pool, fn, arg) calls fn(arg, ith, nth) for ith = 0..nth-1,
 * one call per thread (the caller's thread is ith 0), and returns when all
 * have finished (a barrier).  Work is split by the callee with ith/nth over
 * output rows, so results never depend on nth.  pool == NULL runs fn(arg, 0, 1).
 */
#ifndef MSNN_POOL_H
#define MSNN_POOL_H

typedef struct msnn_pool msnn_pool;
typedef void (*msnn_task_fn)(void *arg, int ith, int nth);

/* nthreads <= 0: number of online CPUs. Returns NULL on failure. */
msnn_pool *msnn_pool_new(int nthreads);
void msnn_pool_free(msnn_pool **p);
int msnn_pool_size(const msnn_pool *p);   /* 1 for NULL */
void msnn_pool_run(msnn_pool *p, msnn_task_fn fn, void *arg);

/* Split [0, n) into nth nearly equal parts; part ith is [*lo, *hi). */
void msnn_split(int n, int ith, int nth, int *lo, int *hi);

#endif
