/* threadpool.c — persistent workers that spin briefly between jobs, then sleep on a condition
 * variable; the indices of a job are claimed, not assigned.
 *
 * A job is published by bumping `generation` under the mutex (so a worker that checked it under the
 * mutex before waiting cannot miss the wake-up); workers spin on `generation` for up to
 * DB_POOL_SPIN_NS before taking the mutex. Every participant (the caller and each worker that joins
 * in time) claims indices 0..n-1 from an atomic counter and runs them, so when the machine is
 * oversubscribed and a worker is not scheduled, the caller runs that worker's index itself instead
 * of waiting for it. Joining is a Dekker handshake on two sequentially consistent atomics: a worker
 * increments `active` and then reads `open`; the caller clears `open` after the last index is
 * claimed and then waits for `active` to drop to zero. Either the caller sees the worker's
 * increment (and waits for it) or the worker sees the job closed (and touches nothing of it).
 */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DB_POOL_SPIN_NS 200000   /* a worker spins this long after a job before sleeping */
#define DB_POOL_YIELD_SPINS 4096 /* the caller yields its core after this many polls */

struct db_threadpool {
    int n_threads;
    int n_started;      /* workers running (n_threads - 1 once created) */
    pthread_t *workers; /* (n_threads - 1) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint_fast64_t generation; /* bumped once per job (and once to stop) */
    atomic_int next;                 /* the next index of the current job to claim */
    atomic_int open;                 /* 1 while the current job accepts workers */
    atomic_int active;               /* workers inside the current job */
    atomic_int stop;
    db_task_fn fn; /* the current job: n_tasks calls fn(arg, task, worker) */
    void *arg;
    int n_tasks;
    void **scratch;        /* (n_threads + 1) */
    size_t *scratch_bytes; /* (n_threads + 1) */
};

typedef struct worker_start {
    db_threadpool *pool;
    int idx;
} worker_start;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits until the generation differs from `seen`; returns the new generation. */
static uint64_t wait_for_job(db_threadpool *p, uint64_t seen) {
    int64_t start = now_ns();
    for (unsigned spins = 1;; spins++) {
        uint64_t g = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (g != seen) return g;
        cpu_relax();
        if ((spins & 255u) == 0 && now_ns() - start > DB_POOL_SPIN_NS) break;
    }
    pthread_mutex_lock(&p->mu);
    uint64_t g;
    while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return g;
}

/* Claims and runs tasks of the current job until none is left. */
static void run_claimed(db_threadpool *p, int worker) {
    for (;;) {
        int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= p->n_tasks) return;
        p->fn(p->arg, i, worker);
    }
}

static void *worker_main(void *start_arg) {
    worker_start st = *(worker_start *)start_arg;
    free(start_arg);
    db_threadpool *p = st.pool;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_for_job(p, seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) return NULL;
        atomic_fetch_add(&p->active, 1);
        if (atomic_load(&p->open)) run_claimed(p, st.idx);
        atomic_fetch_sub_explicit(&p->active, 1, memory_order_release);
    }
}

static void publish(db_threadpool *p) {
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 1024 ? 1024 : (int)n);
}

db_status db_threadpool_create(int n_threads, db_threadpool **out, db_error *err) {
    *out = NULL;
    if (n_threads <= 0) n_threads = online_cpus();
    db_threadpool *p = calloc(1, sizeof *p);
    if (!p) return db_error_set(err, DB_ERR_NOMEM, "thread pool: out of memory");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->next, 0);
    atomic_init(&p->open, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->stop, 0);
    p->n_threads = n_threads;
    p->workers = calloc((size_t)n_threads, sizeof *p->workers);
    p->scratch = calloc((size_t)n_threads + 1, sizeof *p->scratch);
    p->scratch_bytes = calloc((size_t)n_threads + 1, sizeof *p->scratch_bytes);
    if (!p->workers || !p->scratch || !p->scratch_bytes) {
        db_threadpool_destroy(p);
        return db_error_set(err, DB_ERR_NOMEM, "thread pool: out of memory");
    }
    for (int i = 1; i < n_threads; i++) {
        worker_start *st = malloc(sizeof *st);
        int rc = st ? 0 : -1;
        if (st) {
            *st = (worker_start){p, i};
            rc = pthread_create(&p->workers[i - 1], NULL, worker_main, st);
            if (rc) free(st);
        }
        if (!rc) p->n_started++;
        if (rc) {
            db_threadpool_destroy(p);
            return db_error_set(err, DB_ERR_INTERNAL,
                                "thread pool: could not start thread %d of %d", i + 1, n_threads);
        }
    }
    *out = p;
    return DB_OK;
}

void db_threadpool_destroy(db_threadpool *p) {
    if (!p) return;
    if (p->n_started > 0) {
        atomic_store_explicit(&p->stop, 1, memory_order_release);
        publish(p);
        for (int i = 0; i < p->n_started; i++)
            pthread_join(p->workers[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    if (p->scratch)
        for (int i = 0; i <= p->n_threads; i++)
            free(p->scratch[i]);
    free(p->scratch);
    free(p->scratch_bytes);
    free(p->workers);
    free(p);
}

int db_threadpool_size(const db_threadpool *p) {
    return p ? p->n_threads : 1;
}

void db_threadpool_run_tasks(db_threadpool *p, int n_tasks, db_task_fn fn, void *arg) {
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int i = 0; i < n_tasks; i++)
            fn(arg, i, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store(&p->open, 1);
    publish(p);
    run_claimed(p, 0);
    atomic_store(&p->open, 0);
    for (unsigned spins = 1; atomic_load_explicit(&p->active, memory_order_acquire) > 0; spins++) {
        if (spins % DB_POOL_YIELD_SPINS == 0)
            sched_yield();
        else
            cpu_relax();
    }
}

typedef struct index_job {
    db_parallel_fn fn;
    void *arg;
    int n;
} index_job;

static void index_task(void *arg, int task, int worker) {
    const index_job *j = arg;
    j->fn(j->arg, task, j->n);
}

void db_threadpool_run(db_threadpool *p, db_parallel_fn fn, void *arg) {
    index_job j = {fn, arg, db_threadpool_size(p)};
    db_threadpool_run_tasks(p, j.n, index_task, &j);
}

void db_threadpool_split(int64_t total, int64_t align, int thread_idx, int n_threads,
                         int64_t *begin, int64_t *end) {
    if (align < 1) align = 1;
    int64_t units = (total + align - 1) / align;
    int64_t per = units / n_threads, extra = units % n_threads;
    int64_t u0 = thread_idx * per + (thread_idx < extra ? thread_idx : extra);
    int64_t u1 = u0 + per + (thread_idx < extra ? 1 : 0);
    *begin = u0 * align < total ? u0 * align : total;
    *end = u1 * align < total ? u1 * align : total;
}

void *db_threadpool_scratch(db_threadpool *p, int slot, size_t bytes) {
    if (!p || slot < 0 || slot > p->n_threads) return NULL;
    if (bytes == 0) bytes = 64;
    if (p->scratch_bytes[slot] >= bytes) return p->scratch[slot];
    free(p->scratch[slot]);
    size_t rounded = (bytes + 63) / 64 * 64;
    p->scratch[slot] = aligned_alloc(64, rounded);
    p->scratch_bytes[slot] = p->scratch[slot] ? rounded : 0;
    return p->scratch[slot];
}
