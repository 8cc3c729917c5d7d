/* threadpool.h — a small persistent pthread pool: a low-latency parallel-for for the CPU backend.
 *
 * What it is for: one function run by n threads together (the caller plus n - 1 workers):
 * fn(arg, i, n) is called exactly once for each index i in [0, n), and db_threadpool_run returns
 * when every call has returned. Indices are claimed by whichever thread is ready first, so the
 * calls may run concurrently or one after another on the same thread (when a worker is not
 * scheduled in time, e.g. on an oversubscribed machine, the caller runs its index); use i, not the
 * OS thread, to pick a share of the work or a scratch slot. Between jobs the workers spin briefly
 * (a decode step issues many small jobs back to back) and then sleep on a condition variable. The
 * pool also keeps scratch buffers, one per index plus one shared.
 * What it must not do: be called re-entrantly (from inside fn) or from two threads at once; call
 * OpenBLAS (that policy lives in linear.h); print or exit.
 */
#ifndef DB_THREADPOOL_H
#define DB_THREADPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct db_threadpool db_threadpool;

/* One job: called once per thread index. */
typedef void (*db_parallel_fn)(void *arg, int thread_idx, int n_threads);

/* n_threads <= 0: one per online CPU. The caller's thread counts as one of them. */
db_status db_threadpool_create(int n_threads, db_threadpool **out, db_error *err);
void db_threadpool_destroy(db_threadpool *pool);

/* Number of threads (>= 1); 1 for a NULL pool. */
int db_threadpool_size(const db_threadpool *pool);

/* Runs fn(arg, i, n) once for every i in [0, n) and waits for all of them. A NULL pool runs fn(arg,
 * 0, 1). */
void db_threadpool_run(db_threadpool *pool, db_parallel_fn fn, void *arg);

/* One task of db_threadpool_run_tasks: task in [0, n_tasks); worker in [0, size) names the thread
 * running it (0 = the caller), unique among the calls running at the same time: use it to pick a
 * scratch slot. */
typedef void (*db_task_fn)(void *arg, int task, int worker);

/* Runs fn(arg, task, worker) once for every task in [0, n_tasks), the tasks claimed in order by
 * whichever thread is free (finer tasks than threads balance uneven progress, e.g. on a loaded
 * machine), and waits for all of them. A NULL pool runs them in order on the caller. */
void db_threadpool_run_tasks(db_threadpool *pool, int n_tasks, db_task_fn fn, void *arg);

/* The share [*begin, *end) of thread_idx when [0, total) is split into n_threads contiguous ranges
 * whose boundaries are multiples of align (align >= 1) and whose sizes in units of align differ by
 * at most one (the earlier threads take the extra units; a range may be empty). */
void db_threadpool_split(int64_t total, int64_t align, int thread_idx, int n_threads,
                         int64_t *begin, int64_t *end);

/* Scratch slot `slot` (0 .. size, where slot size is shared by the caller outside a job) grown to
 * at least `bytes`, 64-byte aligned; NULL if allocation fails. Contents are not kept across calls
 * of library functions that use the pool (db_linear_forward uses every slot). */
void *db_threadpool_scratch(db_threadpool *pool, int slot, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
