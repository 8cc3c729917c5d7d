/* test_engine_linear_pool.c — the thread pool behind the linear layers (engine/threadpool.h): every
 * thread index runs exactly once per job, jobs see each other's writes in order, ranges split
 * exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "threadpool.h"

typedef struct count_job {
    atomic_int hits[16];
    atomic_int wrong_n;
    int expect_n;
} count_job;

static void count_fn(void *arg, int t, int n) {
    count_job *j = arg;
    if (n != j->expect_n) atomic_fetch_add(&j->wrong_n, 1);
    atomic_fetch_add(&j->hits[t], 1);
}

static void every_index_runs_exactly_once_per_job(void **state) {
    (void)state;
    for (int nt = 1; nt <= 5; nt++) {
        db_threadpool *pool;
        assert_int_equal(db_threadpool_create(nt, &pool, NULL), DB_OK);
        assert_int_equal(db_threadpool_size(pool), nt);
        for (int rep = 0; rep < (nt <= 2 ? 2000 : 200); rep++) {
            count_job j = {.expect_n = nt};
            db_threadpool_run(pool, count_fn, &j);
            /* run has returned: every index has run once, none twice, none beyond n */
            for (int t = 0; t < 16; t++)
                assert_int_equal(atomic_load(&j.hits[t]), t < nt ? 1 : 0);
            assert_int_equal(atomic_load(&j.wrong_n), 0);
        }
        db_threadpool_destroy(pool);
    }
}

static void null_pool_runs_inline(void **state) {
    (void)state;
    count_job j = {.expect_n = 1};
    db_threadpool_run(NULL, count_fn, &j);
    assert_int_equal(atomic_load(&j.hits[0]), 1);
    assert_int_equal(db_threadpool_size(NULL), 1);
}

typedef struct chain_job {
    int64_t *data; /* (len) */
    int64_t len;
    int64_t step;
} chain_job;

/* Each job adds step to its share; the next job reads the previous job's writes of other threads.
 */
static void chain_fn(void *arg, int t, int n) {
    chain_job *j = arg;
    int64_t b, e;
    db_threadpool_split(j->len, 1, (t + 1) % n, n, &b, &e); /* a different share each time */
    for (int64_t i = b; i < e; i++)
        j->data[i] += j->step;
}

static void jobs_see_previous_jobs_writes(void **state) {
    (void)state;
    db_threadpool *pool;
    assert_int_equal(db_threadpool_create(2, &pool, NULL), DB_OK);
    int64_t data[1000] = {0};
    for (int64_t s = 1; s <= 500; s++) {
        chain_job j = {data, 1000, s};
        db_threadpool_run(pool, chain_fn, &j);
    }
    /* sum of 1..500 = 125250 everywhere */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(data[i], 125250);
    db_threadpool_destroy(pool);
}

static void split_covers_range_with_aligned_boundaries(void **state) {
    (void)state;
    const int64_t totals[] = {0, 1, 7, 8, 100, 1001, 32000};
    for (size_t ti = 0; ti < sizeof totals / sizeof totals[0]; ti++)
        for (int64_t align = 1; align <= 16; align *= 2)
            for (int n = 1; n <= 7; n++) {
                int64_t prev_end = 0, min_units = INT64_MAX, max_units = 0;
                for (int t = 0; t < n; t++) {
                    int64_t b, e;
                    db_threadpool_split(totals[ti], align, t, n, &b, &e);
                    assert_int_equal(b, prev_end); /* contiguous, in order */
                    assert_true(e >= b);
                    assert_true(b % align == 0 || b == totals[ti]);
                    int64_t units = (e - b + align - 1) / align;
                    min_units = units < min_units ? units : min_units;
                    max_units = units > max_units ? units : max_units;
                    prev_end = e;
                }
                assert_int_equal(prev_end, totals[ti]);
                assert_true(max_units - min_units <= 1);
            }
    /* 100 rows, align 8, 2 threads: 13 units -> 7 and 6 units -> [0, 56) and [56, 100). */
    int64_t b, e;
    db_threadpool_split(100, 8, 1, 2, &b, &e);
    assert_int_equal(b, 56);
    assert_int_equal(e, 100);
}

static void scratch_is_aligned_and_grows(void **state) {
    (void)state;
    db_threadpool *pool;
    assert_int_equal(db_threadpool_create(2, &pool, NULL), DB_OK);
    for (int slot = 0; slot <= 2; slot++) {
        char *a = db_threadpool_scratch(pool, slot, 100);
        assert_non_null(a);
        assert_int_equal((uintptr_t)a % 64, 0);
        a[99] = 1;
        char *b = db_threadpool_scratch(pool, slot, 1 << 20);
        assert_non_null(b);
        assert_int_equal((uintptr_t)b % 64, 0);
        b[(1 << 20) - 1] = 1;
    }
    assert_null(db_threadpool_scratch(pool, 3, 16)); /* slots are 0 .. size */
    assert_null(db_threadpool_scratch(pool, -1, 16));
    db_threadpool_destroy(pool);
}

static void zero_threads_means_one_per_cpu(void **state) {
    (void)state;
    db_threadpool *pool;
    assert_int_equal(db_threadpool_create(0, &pool, NULL), DB_OK);
    assert_true(db_threadpool_size(pool) >= 1);
    count_job j = {.expect_n = db_threadpool_size(pool)};
    db_threadpool_run(pool, count_fn, &j);
    for (int t = 0; t < j.expect_n && t < 16; t++)
        assert_int_equal(atomic_load(&j.hits[t]), 1);
    db_threadpool_destroy(pool);
}

typedef struct task_job {
    atomic_int hits[1000];
    atomic_int busy[8];  /* 1 while a call runs on that worker */
    atomic_int overlaps; /* a worker index used by two calls at once */
    atomic_int bad_worker;
    int size;
} task_job;

static void task_fn(void *arg, int task, int worker) {
    task_job *j = arg;
    if (worker < 0 || worker >= j->size) {
        atomic_fetch_add(&j->bad_worker, 1);
        return;
    }
    if (atomic_exchange(&j->busy[worker], 1)) atomic_fetch_add(&j->overlaps, 1);
    atomic_fetch_add(&j->hits[task], 1);
    atomic_store(&j->busy[worker], 0);
}

static void every_task_runs_once_on_a_distinct_worker(void **state) {
    (void)state;
    static task_job j; /* large: not on the stack */
    const int counts[] = {1, 2, 7, 1000};
    for (int nt = 1; nt <= 4; nt++) {
        db_threadpool *pool;
        assert_int_equal(db_threadpool_create(nt, &pool, NULL), DB_OK);
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
            for (int rep = 0; rep < 50; rep++) {
                memset(&j, 0, sizeof j);
                j.size = nt;
                db_threadpool_run_tasks(pool, counts[c], task_fn, &j);
                for (int t = 0; t < 1000; t++)
                    assert_int_equal(atomic_load(&j.hits[t]), t < counts[c] ? 1 : 0);
                assert_int_equal(atomic_load(&j.overlaps), 0);
                assert_int_equal(atomic_load(&j.bad_worker), 0);
            }
        db_threadpool_destroy(pool);
    }
    /* No pool: in order on the caller (worker 0); zero tasks: nothing runs. */
    memset(&j, 0, sizeof j);
    j.size = 1;
    db_threadpool_run_tasks(NULL, 5, task_fn, &j);
    db_threadpool_run_tasks(NULL, 0, task_fn, &j);
    for (int t = 0; t < 5; t++)
        assert_int_equal(atomic_load(&j.hits[t]), 1);
    assert_int_equal(atomic_load(&j.hits[5]), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_index_runs_exactly_once_per_job),
        cmocka_unit_test(null_pool_runs_inline),
        cmocka_unit_test(every_task_runs_once_on_a_distinct_worker),
        cmocka_unit_test(jobs_see_previous_jobs_writes),
        cmocka_unit_test(split_covers_range_with_aligned_boundaries),
        cmocka_unit_test(scratch_is_aligned_and_grows),
        cmocka_unit_test(zero_threads_means_one_per_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
