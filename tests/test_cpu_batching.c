/* The CPU backend through the engine API (engine.h): what a sequence generates does not depend on
 * how its work is batched or chunked, on whether its context was computed now or earlier, and
 * depends on the seed; KV blocks all come back.
 *
 * Token equality is the contract (argmax of logits); logits of one row may differ in the last bits
 * when the GEMMs see a different number of rows, which is why these tests compare tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "ref_driver.h"

enum { GEN = 24, MAX_PROMPT = 32 };

static db_engine *open_tiny(uint64_t seed, float temperature, int top_k) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_CPU;
    assert_int_equal(db_model_preset("tiny", &o.model), 0);
    o.kv_tokens = 16 * 512;
    o.seed = seed;
    o.threads = 2;
    o.temperature = temperature;
    o.top_k = top_k;
    db_engine *e = NULL;
    db_error err;
    db_status st = db_engine_open(&o, &e, &err);
    if (st != DB_OK) fail_msg("db_engine_open: %s", err.msg);
    return e;
}

static void step_ok(db_engine *e, const db_work *w, int n, int32_t *next) {
    db_error err;
    db_step_result res = {next, NULL, 0.0, 0.0};
    db_status st = db_engine_step(e, w, n, &res, &err);
    if (st != DB_OK) fail_msg("db_engine_step: %s", err.msg);
}

/* Prefills `prompt` (len tokens) on a new sequence in one step and decodes until `gen` tokens were
 * produced; out (gen). Frees the sequence. */
static void generate_alone(db_engine *e, const int32_t *prompt, int len, int gen, int32_t *out) {
    db_error err;
    int id;
    assert_int_equal(db_seq_alloc(e, &id, &err), DB_OK);
    db_work w = {id, 0, len, prompt, 1};
    step_ok(e, &w, 1, &out[0]);
    for (int k = 1; k < gen; k++) {
        w = (db_work){id, len + k - 1, 1, &out[k - 1], 1};
        step_ok(e, &w, 1, &out[k]);
    }
    assert_int_equal(db_seq_free(e, id, &err), DB_OK);
}

static void tokens_do_not_depend_on_the_rest_of_the_batch(void **state) {
    db_engine *e = open_tiny(1, 0.0f, 0);
    enum { N = 8 };
    int32_t prompts[N][MAX_PROMPT], alone[GEN], got[N][GEN], next[N];
    int len[N], id[N], start[N], produced[N] = {0};
    db_error err;
    for (int s = 0; s < N; s++) {
        len[s] = 3 + 2 * s;            /* 3, 5, ..., 17 tokens */
        start[s] = s == 0 ? 0 : s - 1; /* sequence 0 starts with 1; the others join one per step */
        ref_prompt(prompts[s], len[s], 256, 1, s);
        assert_int_equal(db_seq_alloc(e, &id[s], &err), DB_OK);
    }
    generate_alone(e, prompts[0], len[0], GEN, alone);
    /* Continuous batching: each step carries the running decodes plus the prefill of a newcomer. */
    for (int t = 0; produced[0] < GEN; t++) {
        db_work w[N];
        int map[N], n = 0;
        for (int s = 0; s < N; s++) {
            if (t < start[s] || produced[s] >= GEN) continue;
            if (produced[s] == 0)
                w[n] = (db_work){id[s], 0, len[s], prompts[s], 1};
            else
                w[n] = (db_work){id[s], len[s] + produced[s] - 1, 1, &got[s][produced[s] - 1], 1};
            map[n++] = s;
        }
        step_ok(e, w, n, next);
        for (int i = 0; i < n; i++)
            got[map[i]][produced[map[i]]++] = next[i];
    }
    assert_memory_equal(alone, got[0], sizeof alone);
    db_engine_close(e);
}

static void chunked_prefill_equals_one_shot_prefill(void **state) {
    db_engine *e = open_tiny(1, 0.0f, 0);
    enum { LEN = 24 };
    int32_t prompt[LEN], one_shot[GEN], chunked[GEN];
    ref_prompt(prompt, LEN, 256, 3, 0);
    generate_alone(e, prompt, LEN, GEN, one_shot);
    db_error err;
    int id, chunks[] = {5, 7, 12}, pos = 0;
    assert_int_equal(db_seq_alloc(e, &id, &err), DB_OK);
    for (int c = 0; c < 3; c++) { /* only the last chunk asks for a next token */
        db_work w = {id, pos, chunks[c], prompt + pos, c == 2};
        int32_t next;
        step_ok(e, &w, 1, &next);
        if (c < 2)
            assert_int_equal(next, -1);
        else
            chunked[0] = next;
        pos += chunks[c];
    }
    for (int k = 1; k < GEN; k++) {
        db_work w = {id, LEN + k - 1, 1, &chunked[k - 1], 1};
        step_ok(e, &w, 1, &chunked[k]);
    }
    assert_memory_equal(one_shot, chunked, sizeof one_shot);
    db_engine_close(e);
}

static void decode_equals_recomputing_from_scratch_at_every_position(void **state) {
    db_engine *e = open_tiny(1, 0.0f, 0);
    enum { LEN = 6, K = 16 };
    int32_t seq[LEN + K], gen[K];
    ref_prompt(seq, LEN, 256, 4, 0);
    generate_alone(e, seq, LEN, K, gen);
    memcpy(seq + LEN, gen, sizeof gen);
    for (int k = 0; k < K; k++) { /* a fresh sequence prefilled with everything before token k */
        int32_t again;
        generate_alone(e, seq, LEN + k, 1, &again);
        assert_int_equal(again, gen[k]);
    }
    db_engine_close(e);
}

static void run_seeded(uint64_t seed, float temperature, int top_k, int32_t *out) {
    db_engine *e = open_tiny(seed, temperature, top_k);
    int32_t prompt[8];
    ref_prompt(prompt, 8, 256, 9, 0);
    generate_alone(e, prompt, 8, GEN, out);
    db_engine_close(e);
}

static int count_differences(const int32_t *a, const int32_t *b, int n) {
    int d = 0;
    for (int i = 0; i < n; i++)
        d += a[i] != b[i];
    return d;
}

/* The seed chooses the synthetic weights: same seed, same tokens; another seed, another model. Two
 * unrelated greedy decodes over a 256-token vocabulary agree at a position with probability ~1/256,
 * so at least half of 24 positions must differ. */
static void greedy_tokens_follow_the_seed(void **state) {
    int32_t a[GEN], b[GEN], c[GEN];
    run_seeded(11, 0.0f, 0, a);
    run_seeded(11, 0.0f, 0, b);
    run_seeded(12, 0.0f, 0, c);
    assert_memory_equal(a, b, sizeof a);
    assert_true(count_differences(a, c, GEN) >= GEN / 2);
}

/* Sampling (temperature 1, top-k 32) is seeded too, and differs from greedy decoding. */
static void sampled_tokens_follow_the_seed(void **state) {
    int32_t a[GEN], b[GEN], c[GEN], greedy[GEN];
    run_seeded(11, 1.0f, 32, a);
    run_seeded(11, 1.0f, 32, b);
    run_seeded(12, 1.0f, 32, c);
    run_seeded(11, 0.0f, 0, greedy);
    assert_memory_equal(a, b, sizeof a);
    assert_true(count_differences(a, c, GEN) >= GEN / 2);
    assert_true(count_differences(a, greedy, GEN) > 0);
}

/* top_k = 1 keeps only the largest logit: sampling at any temperature is greedy decoding. */
static void top_k_one_is_greedy(void **state) {
    int32_t a[GEN], greedy[GEN];
    run_seeded(11, 2.0f, 1, a);
    run_seeded(11, 0.0f, 0, greedy);
    assert_memory_equal(a, greedy, sizeof a);
}

static void kv_blocks_all_return_after_free(void **state) {
    db_engine *e = open_tiny(1, 0.0f, 0);
    int64_t total = db_engine_kv_total_blocks(e);
    assert_int_equal(db_engine_kv_free_blocks(e), total);
    enum { N = 5 };
    int id[N];
    int32_t prompts[N][MAX_PROMPT], next[N];
    db_work w[N];
    db_error err;
    for (int s = 0; s < N; s++) {
        assert_int_equal(db_seq_alloc(e, &id[s], &err), DB_OK);
        ref_prompt(prompts[s], 7 + 5 * s, 256, 1, s); /* 7..27 tokens */
        w[s] = (db_work){id[s], 0, 7 + 5 * s, prompts[s], 1};
    }
    step_ok(e, w, N, next);
    for (int s = 0; s < N; s++)
        w[s] = (db_work){id[s], 7 + 5 * s, 1, &next[s], 1};
    int32_t next2[N];
    step_ok(e, w, N, next2);
    /* Blocks of 16 tokens: sequences of 8, 13, 18, 23, 28 tokens hold 1 + 1 + 2 + 2 + 2 = 8 blocks.
     */
    assert_int_equal(total - db_engine_kv_free_blocks(e), 8);
    for (int s = 0; s < N; s++)
        assert_int_equal(db_seq_free(e, id[s], &err), DB_OK);
    assert_int_equal(db_engine_kv_free_blocks(e), total);
    db_engine_close(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_do_not_depend_on_the_rest_of_the_batch),
        cmocka_unit_test(chunked_prefill_equals_one_shot_prefill),
        cmocka_unit_test(decode_equals_recomputing_from_scratch_at_every_position),
        cmocka_unit_test(greedy_tokens_follow_the_seed),
        cmocka_unit_test(sampled_tokens_follow_the_seed),
        cmocka_unit_test(top_k_one_is_greedy),
        cmocka_unit_test(kv_blocks_all_return_after_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
