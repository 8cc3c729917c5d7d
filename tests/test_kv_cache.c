/* test_kv_cache.c — the paged KV-cache block allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kv_cache.h"

static db_kv_cache *pool(int64_t blocks, int block_size) {
    db_kv_cache *kv;
    db_error err;
    assert_int_equal(db_kv_cache_create(blocks, block_size, &kv, &err), DB_OK);
    return kv;
}

static int new_seq(db_kv_cache *kv) {
    int id;
    db_error err;
    assert_int_equal(db_kv_seq_new(kv, &id, &err), DB_OK);
    return id;
}

static db_status grow(db_kv_cache *kv, int seq, int n_new) {
    db_error err;
    return db_kv_reserve(kv, &seq, &n_new, 1, &err);
}

static void assert_consistent(const db_kv_cache *kv) {
    db_error err;
    if (db_kv_cache_check(kv, &err) != DB_OK) fail_msg("%s", err.msg);
}

static void fresh_pool_is_all_free(void **state) {
    db_kv_cache *kv = pool(10, 16);
    assert_int_equal(db_kv_cache_total_blocks(kv), 10);
    assert_int_equal(db_kv_cache_free_blocks(kv), 10);
    assert_int_equal(db_kv_cache_block_size(kv), 16);
    assert_consistent(kv);
    db_kv_cache_destroy(kv);
}

/* With 16-token blocks: 0 tokens + 16 -> 1 block; 0 + 17 -> 2; 15 + 1 -> 0; 16 + 1 -> 1. */
static void blocks_needed_rounds_up_to_whole_blocks(void **state) {
    db_kv_cache *kv = pool(10, 16);
    int a = new_seq(kv), b = new_seq(kv);
    assert_int_equal(db_kv_seq_blocks_needed(kv, a, 16), 1);
    assert_int_equal(db_kv_seq_blocks_needed(kv, a, 17), 2);
    assert_int_equal(grow(kv, a, 15), DB_OK);
    assert_int_equal(db_kv_seq_blocks_needed(kv, a, 1), 0);
    assert_int_equal(grow(kv, b, 16), DB_OK);
    assert_int_equal(db_kv_seq_blocks_needed(kv, b, 1), 1);
    assert_int_equal(db_kv_seq_blocks_needed(kv, 99, 1), -1);
    db_kv_cache_destroy(kv);
}

static void a_fresh_pool_hands_out_blocks_in_ascending_order(void **state) {
    db_kv_cache *kv = pool(8, 4);
    int a = new_seq(kv);
    assert_int_equal(grow(kv, a, 10), DB_OK); /* 3 blocks of 4 tokens */
    int n;
    const int32_t *t = db_kv_seq_blocks(kv, a, &n);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], 0);
    assert_int_equal(t[1], 1);
    assert_int_equal(t[2], 2);
    assert_int_equal(db_kv_seq_tokens(kv, a), 10);
    assert_int_equal(db_kv_cache_free_blocks(kv), 5);
    db_kv_cache_destroy(kv);
}

/* Pool of 4 blocks of 16: A needs 2 blocks (20 tokens), B needs 3 (40): 5 > 4, so neither grows. */
static void whole_step_reserve_is_all_or_nothing(void **state) {
    db_kv_cache *kv = pool(4, 16);
    int a = new_seq(kv), b = new_seq(kv);
    int ids[2] = {a, b}, n_new[2] = {20, 40};
    db_error err;
    assert_int_equal(db_kv_reserve(kv, ids, n_new, 2, &err), DB_ERR_KV_FULL);
    assert_non_null(strstr(err.msg, "needs 5 more blocks, 4 of 4 are free"));
    assert_int_equal(db_kv_cache_free_blocks(kv), 4);
    assert_int_equal(db_kv_seq_tokens(kv, a), 0);
    assert_int_equal(db_kv_seq_tokens(kv, b), 0);
    n_new[1] = 30; /* 2 + 2 = 4 blocks: fits exactly */
    assert_int_equal(db_kv_reserve(kv, ids, n_new, 2, &err), DB_OK);
    assert_int_equal(db_kv_cache_free_blocks(kv), 0);
    assert_consistent(kv);
    db_kv_cache_destroy(kv);
}

static void a_sequence_listed_twice_is_refused_without_change(void **state) {
    db_kv_cache *kv = pool(4, 16);
    int a = new_seq(kv);
    int ids[2] = {a, a}, n_new[2] = {16, 16};
    db_error err;
    assert_int_equal(db_kv_reserve(kv, ids, n_new, 2, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "listed twice"));
    assert_int_equal(db_kv_cache_free_blocks(kv), 4);
    assert_int_equal(db_kv_seq_tokens(kv, a), 0);
    db_kv_cache_destroy(kv);
}

static void unknown_or_released_sequences_are_refused(void **state) {
    db_kv_cache *kv = pool(4, 16);
    int a = new_seq(kv);
    db_error err;
    assert_int_equal(db_kv_seq_release(kv, a, &err), DB_OK);
    assert_int_equal(grow(kv, a, 1), DB_ERR_INVALID);
    assert_int_equal(db_kv_seq_release(kv, a, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unknown sequence"));
    assert_int_equal(grow(kv, -1, 1), DB_ERR_INVALID);
    db_kv_cache_destroy(kv);
}

static void release_returns_every_block(void **state) {
    db_kv_cache *kv = pool(64, 8);
    int ids[6];
    for (int i = 0; i < 6; i++) {
        ids[i] = new_seq(kv);
        assert_int_equal(grow(kv, ids[i], 7 + 13 * i), DB_OK);
    }
    assert_true(db_kv_cache_free_blocks(kv) < 64);
    db_error err;
    for (int i = 0; i < 6; i++)
        assert_int_equal(db_kv_seq_release(kv, ids[i], &err), DB_OK);
    assert_int_equal(db_kv_cache_free_blocks(kv), 64);
    assert_int_equal(db_kv_cache_live_seqs(kv), 0);
    assert_consistent(kv);
    db_kv_cache_destroy(kv);
}

/* After unreserve the pool is exactly as before: the same blocks come back on the next reserve. */
static void unreserve_restores_tables_and_free_list(void **state) {
    db_kv_cache *kv = pool(16, 4);
    int a = new_seq(kv), b = new_seq(kv);
    assert_int_equal(grow(kv, a, 3), DB_OK);
    int ids[2] = {a, b}, n_new[2] = {6, 9};
    db_error err;
    assert_int_equal(db_kv_reserve(kv, ids, n_new, 2, &err), DB_OK);
    int n;
    int32_t first[8];
    const int32_t *t = db_kv_seq_blocks(kv, b, &n);
    memcpy(first, t, (size_t)n * sizeof *t);
    db_kv_unreserve(kv, ids, n_new, 2);
    assert_int_equal(db_kv_seq_tokens(kv, a), 3);
    assert_int_equal(db_kv_seq_tokens(kv, b), 0);
    assert_int_equal(db_kv_cache_free_blocks(kv), 15);
    assert_consistent(kv);
    assert_int_equal(db_kv_reserve(kv, ids, n_new, 2, &err), DB_OK);
    t = db_kv_seq_blocks(kv, b, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(t, first, (size_t)n * sizeof *t);
    db_kv_cache_destroy(kv);
}

static void released_ids_are_reused(void **state) {
    db_kv_cache *kv = pool(4, 16);
    int a = new_seq(kv), b = new_seq(kv);
    db_error err;
    assert_int_equal(db_kv_seq_release(kv, a, &err), DB_OK);
    int c = new_seq(kv);
    assert_int_equal(c, a);
    assert_int_not_equal(c, b);
    assert_int_equal(db_kv_seq_tokens(kv, c), 0);
    db_kv_cache_destroy(kv);
}

/* A seeded random walk of new / grow / release: the pool is never over-committed, every block is free
 * or owned exactly once after every operation, and releasing everything returns the whole pool. */
static void random_walk_never_over_commits(void **state) {
    enum { BLOCKS = 50, SEQS = 40, STEPS = 3000 };
    db_kv_cache *kv = pool(BLOCKS, 16);
    int live[SEQS], n_live = 0, full = 0;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    db_error err;
    for (int step = 0; step < STEPS; step++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(x >> 33);
        if (n_live < SEQS && (n_live == 0 || r % 4 == 0)) {
            live[n_live++] = new_seq(kv);
        } else if (r % 4 == 1) {
            int i = (int)((r >> 4) % (unsigned)n_live);
            assert_int_equal(db_kv_seq_release(kv, live[i], &err), DB_OK);
            live[i] = live[--n_live];
        } else {
            int i = (int)((r >> 4) % (unsigned)n_live);
            int64_t before = db_kv_cache_free_blocks(kv);
            db_status s = grow(kv, live[i], 1 + (int)((r >> 12) % 40));
            assert_true(s == DB_OK || s == DB_ERR_KV_FULL);
            if (s == DB_ERR_KV_FULL) {
                full++;
                assert_int_equal(db_kv_cache_free_blocks(kv), before);
            }
        }
        assert_true(db_kv_cache_free_blocks(kv) >= 0);
        assert_consistent(kv);
    }
    assert_true(full > 0); /* the walk did reach a full pool */
    for (int i = 0; i < n_live; i++)
        assert_int_equal(db_kv_seq_release(kv, live[i], &err), DB_OK);
    assert_int_equal(db_kv_cache_free_blocks(kv), BLOCKS);
    db_kv_cache_destroy(kv);
}

static void create_rejects_bad_sizes(void **state) {
    db_kv_cache *kv;
    db_error err;
    assert_int_equal(db_kv_cache_create(0, 16, &kv, &err), DB_ERR_INVALID);
    assert_null(kv);
    assert_int_equal(db_kv_cache_create(10, 0, &kv, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "block size"));
    assert_int_equal(db_kv_cache_create((int64_t)DB_KV_MAX_BLOCKS + 1, 16, &kv, &err),
                     DB_ERR_INVALID);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_pool_is_all_free),
        cmocka_unit_test(blocks_needed_rounds_up_to_whole_blocks),
        cmocka_unit_test(a_fresh_pool_hands_out_blocks_in_ascending_order),
        cmocka_unit_test(whole_step_reserve_is_all_or_nothing),
        cmocka_unit_test(a_sequence_listed_twice_is_refused_without_change),
        cmocka_unit_test(unknown_or_released_sequences_are_refused),
        cmocka_unit_test(release_returns_every_block),
        cmocka_unit_test(unreserve_restores_tables_and_free_list),
        cmocka_unit_test(released_ids_are_reused),
        cmocka_unit_test(random_walk_never_over_commits),
        cmocka_unit_test(create_rejects_bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
