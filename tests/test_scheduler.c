/* The scheduler's invariants and policy, on the sim backend (deterministic): exact token counts, KV
 * never over-committed, FCFS first scheduling, chunked prefill within the step budgets, admission
 * that reserves whole prompts, preemption of the newest request and its recovery by recompute,
 * failures with reasons, and static batching. Expected step numbers are derived by hand in each
 * test. */
#include "test_scheduler_fixture.h"

static db_scheduler *make_sched(db_engine *e, db_sched_opts o, int n) {
    db_scheduler *s = NULL;
    db_error err;
    if (db_sched_create(e, &o, (size_t)n, &s, &err) != DB_OK) fail_msg("create: %s", err.msg);
    return s;
}

/* 128 KV tokens in blocks of 16: 8 blocks (the fixture's cache for the tight tests). */
static void a_128_token_cache_holds_8_blocks(void **state) {
    (void)state;
    db_engine *e = fx_open_sim(128);
    assert_int_equal(db_engine_kv_block_size(e), 16);
    assert_int_equal(db_engine_kv_total_blocks(e), 8);
    db_engine_close(e);
}

/* Ten requests of assorted lengths, ample KV: each emits exactly its requested output tokens (the
 * end-of-sequence token is ignored), in exactly output_tokens emissions. */
static void every_request_gets_exactly_its_requested_tokens(void **state) {
    (void)state;
    enum { N = 10 };
    int32_t prompt[N], output[N];
    for (int r = 0; r < N; r++) {
        prompt[r] = 5 + (13 * r) % 90;
        output[r] = 1 + (7 * r) % 40;
    }
    db_engine *e = fx_open_sim(8192);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 4, 64, 16), N);
    assert_int_equal(fx_submit_all(s, N, prompt, output, NULL), 0);
    static fx_log lg;
    fx_drive(e, s, N, &lg, 10000);
    for (int r = 0; r < N; r++) {
        assert_int_equal(lg.emitted[r], output[r]);
        assert_int_equal(db_sched_request(s, r)->generated, output[r]);
        assert_int_equal(db_sched_request(s, r)->state, DB_RS_FINISHED);
    }
    assert_int_equal(lg.kv_violations, 0);
    assert_true(lg.max_items <= 4 && lg.max_tokens <= 64);
    db_sched_free(s);
    db_engine_close(e);
}

/* Four requests of 20 + 60 tokens in 8 blocks: each needs ceil(79/16) = 5 blocks at its end, 20 in
 * all, so decode growth must preempt. All four are admitted at step 0 (2 blocks of prompt each);
 * when they reach 32 tokens each needs a third block with none free, and the newest are preempted.
 */
static void tight_kv_preempts_the_newest_and_every_request_recovers(void **state) {
    (void)state;
    enum { N = 4 };
    int32_t prompt[N] = {20, 20, 20, 20}, output[N] = {60, 60, 60, 60};
    db_engine *e = fx_open_sim(128);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 4, 64, 32), N);
    assert_int_equal(fx_submit_all(s, N, prompt, output, NULL), 0);
    static fx_log lg;
    fx_drive(e, s, N, &lg, 10000);
    assert_true(lg.preempted > 0);
    assert_int_equal(db_sched_preemptions(s), lg.preempted);
    assert_int_equal(lg.newest_violations, 0);
    assert_int_equal(lg.kv_violations, 0);
    assert_int_equal(lg.recompute_mismatch, 0); /* recompute fed prompt + generated ids */
    for (int r = 0; r < N; r++) {
        assert_int_equal(lg.emitted[r], 60);
        assert_int_equal(db_sched_request(s, r)->state, DB_RS_FINISHED);
    }
    assert_int_equal(db_engine_kv_free_blocks(e), 8);
    db_sched_free(s);
    db_engine_close(e);
}

/* Requests are first scheduled in their arrival (submission) order, with and without preemption. */
static void first_scheduling_follows_arrival_order(void **state) {
    (void)state;
    enum { N = 12 };
    int32_t prompt[N], output[N];
    for (int r = 0; r < N; r++) {
        prompt[r] = 8 + (29 * r) % 40;
        output[r] = 10 + (17 * r) % 50;
    }
    const int64_t caches[2] = {8192, 128};
    for (int c = 0; c < 2; c++) {
        db_engine *e = fx_open_sim(caches[c]);
        db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 3, 48, 16), N);
        assert_int_equal(fx_submit_all(s, N, prompt, output, NULL), 0);
        static fx_log lg;
        fx_drive(e, s, N, &lg, 20000);
        assert_int_equal(lg.n_first, N);
        for (int k = 0; k < N; k++)
            assert_int_equal(lg.first_order[k], k);
        assert_int_equal(lg.kv_violations, 0);
        db_sched_free(s);
        db_engine_close(e);
    }
}

/* tiny's max_seq_len is 512: 400 + 113 = 513 can never run; 400 + 112 = 512 can. */
static void a_request_beyond_max_seq_len_fails_with_a_reason(void **state) {
    (void)state;
    int32_t prompt[2] = {400, 400}, output[2] = {113, 112};
    const char *reasons[2];
    db_engine *e = fx_open_sim(8192);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 4, 512, 512), 2);
    assert_int_equal(fx_submit_all(s, 2, prompt, output, reasons), 1);
    assert_non_null(reasons[0]);
    assert_non_null(strstr(reasons[0], "max_seq_len"));
    assert_int_equal(db_sched_request(s, 0)->state, DB_RS_FAILED);
    assert_null(reasons[1]);
    static fx_log lg;
    fx_drive(e, s, 2, &lg, 10000);
    assert_int_equal(lg.emitted[0], 0);
    assert_int_equal(lg.emitted[1], 112);
    db_sched_free(s);
    db_engine_close(e);
}

/* 8 blocks hold 128 tokens. The last output token is never written to the cache, so a request needs
 * prompt + output - 1 tokens: 100 + 30 - 1 = 129 (9 blocks) can never run; 100 + 29 - 1 = 128 fills
 * the cache exactly and runs. */
static void a_request_larger_than_the_kv_cache_fails_and_one_that_fills_it_runs(void **state) {
    (void)state;
    int32_t prompt[2] = {100, 100}, output[2] = {30, 29};
    const char *reasons[2];
    db_engine *e = fx_open_sim(128);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 4, 128, 128), 2);
    assert_int_equal(fx_submit_all(s, 2, prompt, output, reasons), 1);
    assert_non_null(strstr(reasons[0], "KV cache"));
    static fx_log lg;
    fx_drive(e, s, 2, &lg, 10000);
    assert_int_equal(lg.emitted[1], 29);
    assert_int_equal(lg.kv_violations, 0);
    db_sched_free(s);
    db_engine_close(e);
}

/* One request of 100 prompt tokens and 3 output tokens, prefill_chunk 32: the steps carry 32, 32,
 * 32 and 4 prompt tokens (the last chunk samples token 1), then two decode tokens (tokens 2 and 3).
 */
static void prefill_is_split_into_chunks_of_prefill_chunk(void **state) {
    (void)state;
    int32_t prompt[1] = {100}, output[1] = {3};
    db_engine *e = fx_open_sim(8192);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 4, 64, 32), 1);
    fx_submit_all(s, 1, prompt, output, NULL);
    const int expect_n[6] = {32, 32, 32, 4, 1, 1}, expect_pos[6] = {0, 32, 64, 96, 100, 101};
    const int expect_emit[6] = {0, 0, 0, 1, 1, 1};
    int32_t next[8];
    db_error err;
    for (int k = 0; k < 6; k++) {
        db_sched_step *t;
        assert_int_equal(db_sched_plan(s, &t, &err), DB_OK);
        assert_int_equal(t->n, 1);
        assert_int_equal(t->work[0].n_tokens, expect_n[k]);
        assert_int_equal(t->work[0].pos, expect_pos[k]);
        assert_int_equal(t->work[0].want_next, expect_emit[k]);
        db_step_result res = {.next_tokens = next};
        assert_int_equal(db_engine_step(e, t->work, t->n, &res, &err), DB_OK);
        assert_int_equal(db_sched_commit(s, &res, &err), DB_OK);
        assert_int_equal(t->n_emitted, expect_emit[k]);
    }
    assert_int_equal(db_sched_request(s, 0)->state, DB_RS_FINISHED);
    db_sched_free(s);
    db_engine_close(e);
}

/* Two prompts of 50, max_batch_tokens 40, prefill_chunk 32. Step 0: request 0 takes 32, request 1
 * the 8 left. Step 1 (oldest first): 0 takes its last 18 (token 1), 1 takes the 22 left of the
 * budget. Step 2: 0 decodes 1 token; 1 takes its last 20. */
static void prefill_chunks_share_max_batch_tokens_oldest_first(void **state) {
    (void)state;
    int32_t prompt[2] = {50, 50}, output[2] = {4, 4};
    db_engine *e = fx_open_sim(8192);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 4, 40, 32), 2);
    fx_submit_all(s, 2, prompt, output, NULL);
    const int expect[3][2] = {{32, 8}, {18, 22}, {1, 20}};
    int32_t next[8];
    db_error err;
    for (int k = 0; k < 3; k++) {
        db_sched_step *t;
        assert_int_equal(db_sched_plan(s, &t, &err), DB_OK);
        assert_int_equal(t->n, 2);
        for (int i = 0; i < 2; i++)
            assert_int_equal(t->work[i].n_tokens, expect[k][t->req[i]]);
        assert_true(t->prefill_tokens + t->decode_tokens <= 40);
        db_step_result res = {.next_tokens = next};
        assert_int_equal(db_engine_step(e, t->work, t->n, &res, &err), DB_OK);
        assert_int_equal(db_sched_commit(s, &res, &err), DB_OK);
    }
    db_sched_free(s);
    db_engine_close(e);
}

/* Request 0 (10 + 20) decodes while request 1's 300-token prompt is prefilled in chunks: every step
 * from request 0's first token to its last carries one decode token for it (no stall). */
static void running_decodes_are_never_stalled_by_prefill(void **state) {
    (void)state;
    int32_t prompt[2] = {10, 300}, output[2] = {20, 2};
    db_engine *e = fx_open_sim(8192);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 4, 40, 32), 2);
    fx_submit_all(s, 2, prompt, output, NULL);
    int32_t next[8];
    db_error err;
    int decode_steps = 0;
    while (db_sched_request(s, 0)->state != DB_RS_FINISHED) {
        db_sched_step *t;
        assert_int_equal(db_sched_plan(s, &t, &err), DB_OK);
        bool has0 = false;
        for (int i = 0; i < t->n; i++)
            has0 |= t->req[i] == 0;
        assert_true(has0);
        decode_steps += db_sched_request(s, 0)->generated >= 1;
        db_step_result res = {.next_tokens = next};
        assert_int_equal(db_engine_step(e, t->work, t->n, &res, &err), DB_OK);
        assert_int_equal(db_sched_commit(s, &res, &err), DB_OK);
    }
    assert_int_equal(decode_steps, 19); /* tokens 2..20 */
    db_sched_free(s);
    db_engine_close(e);
}

/* 8 blocks, prefill_chunk 16. Request 0 (100 + 4) is admitted at step 0 reserving its whole prompt,
 * ceil(100/16) = 7 blocks, though its first chunk holds 1. Request 1 (40 + 2) needs 3 blocks, more
 * than the 1 left, so it waits. Request 0: prompt chunks at steps 0..6 (6 x 16 + 4, token 1 at step
 * 6), decodes at steps 7, 8, 9 (tokens 2..4), finished at step 9, its 103 tokens never needing an
 * 8th block. Request 1 is admitted at step 10. */
static void admission_reserves_the_whole_prompt(void **state) {
    (void)state;
    int32_t prompt[2] = {100, 40}, output[2] = {4, 2};
    db_engine *e = fx_open_sim(128);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 4, 64, 16), 2);
    fx_submit_all(s, 2, prompt, output, NULL);
    static fx_log lg;
    fx_drive(e, s, 2, &lg, 1000);
    assert_int_equal(lg.finish_step[0], 9);
    assert_int_equal(lg.first_step[1], 10);
    assert_int_equal(lg.preempted, 0);
    db_sched_free(s);
    db_engine_close(e);
}

/* Watermark 0.25 of 8 blocks = 2 blocks. Request 0 (16 + 50) is admitted alone (watermark waived).
 * Request 1 (96 + 1) needs 6 blocks; with request 0 running, 6 + 2 exceeds the 7 free, so it waits
 * until request 0 finishes: token 1 at step 0, tokens 2..50 at steps 1..49. Request 1 starts at
 * step 50, alone, where 6 <= 8 without the watermark. */
static void the_watermark_applies_only_when_others_run(void **state) {
    (void)state;
    int32_t prompt[2] = {16, 96}, output[2] = {50, 1};
    db_engine *e = fx_open_sim(128);
    db_sched_opts o = fx_opts(DB_BATCHING_CONTINUOUS, 4, 128, 128);
    o.kv_watermark = 0.25;
    db_scheduler *s = make_sched(e, o, 2);
    fx_submit_all(s, 2, prompt, output, NULL);
    static fx_log lg;
    fx_drive(e, s, 2, &lg, 1000);
    assert_int_equal(lg.finish_step[0], 49);
    assert_int_equal(lg.first_step[1], 50);
    assert_int_equal(lg.emitted[1], 1);
    db_sched_free(s);
    db_engine_close(e);
}

/* Static, max_batch 2, prompts of 10, outputs 5, 20, 3, 3, 1. Batch {0, 1}: prefill at step 0
 * (token 1), request 1's token 20 at step 19. Batch {2, 3} starts at step 20 and ends at step 22;
 * batch {4} runs at step 23. Continuous batching starts request 2 as soon as request 0 leaves (its
 * token 5 at step 4): step 5. */
static void static_batching_runs_each_batch_to_completion_before_the_next(void **state) {
    (void)state;
    enum { N = 5 };
    int32_t prompt[N] = {10, 10, 10, 10, 10}, output[N] = {5, 20, 3, 3, 1};
    const int expect_first[N] = {0, 0, 20, 20, 23};
    db_engine *e = fx_open_sim(8192);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_STATIC, 2, 64, 64), N);
    fx_submit_all(s, N, prompt, output, NULL);
    static fx_log lg;
    fx_drive(e, s, N, &lg, 1000);
    for (int r = 0; r < N; r++) {
        assert_int_equal(lg.first_step[r], expect_first[r]);
        assert_int_equal(lg.emitted[r], output[r]);
    }
    assert_int_equal(lg.steps, 24);
    db_sched_free(s);
    db_engine_close(e);

    e = fx_open_sim(8192);
    s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 2, 64, 64), N);
    fx_submit_all(s, N, prompt, output, NULL);
    fx_drive(e, s, N, &lg, 1000);
    assert_int_equal(lg.first_step[2], 5);
    db_sched_free(s);
    db_engine_close(e);
}

/* Static batching reserves prompt + output up front: with 8 blocks and requests needing 5 blocks
 * each, batches hold one request, nothing is ever preempted, and every request completes. */
static void static_batching_never_preempts(void **state) {
    (void)state;
    enum { N = 4 };
    int32_t prompt[N] = {20, 20, 20, 20}, output[N] = {60, 60, 60, 60};
    db_engine *e = fx_open_sim(128);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_STATIC, 4, 64, 32), N);
    fx_submit_all(s, N, prompt, output, NULL);
    static fx_log lg;
    fx_drive(e, s, N, &lg, 10000);
    assert_int_equal(lg.preempted, 0);
    assert_int_equal(lg.kv_violations, 0);
    for (int r = 0; r < N; r++)
        assert_int_equal(lg.emitted[r], 60);
    for (int r = 1; r < N; r++)
        assert_int_equal(lg.first_step[r], lg.finish_step[r - 1] + 1);
    db_sched_free(s);
    db_engine_close(e);
}

static void submitting_a_request_twice_or_out_of_range_is_an_error(void **state) {
    (void)state;
    db_engine *e = fx_open_sim(8192);
    db_scheduler *s = make_sched(e, fx_opts(DB_BATCHING_CONTINUOUS, 4, 64, 16), 2);
    const char *reason;
    db_error err;
    assert_int_equal(db_sched_submit(s, 0, 10, 10, &reason, &err), DB_OK);
    assert_int_equal(db_sched_submit(s, 0, 10, 10, &reason, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "already"));
    assert_int_equal(db_sched_submit(s, 2, 10, 10, &reason, &err), DB_ERR_INVALID);
    assert_int_equal(db_sched_submit(s, 1, 0, 10, &reason, &err), DB_ERR_INVALID);
    db_sched_free(s);
    db_engine_close(e);
}

/* Every running sequence needs one token per step, so max_batch_tokens < max_batch is refused. */
static void options_with_fewer_batch_tokens_than_sequences_are_refused(void **state) {
    (void)state;
    db_engine *e = fx_open_sim(8192);
    db_sched_opts o = fx_opts(DB_BATCHING_CONTINUOUS, 8, 4, 16);
    db_scheduler *s = NULL;
    db_error err;
    assert_int_equal(db_sched_create(e, &o, 1, &s, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "max_batch_tokens"));
    assert_null(s);
    db_engine_close(e);
}

/* Prompt ids are a function of (seed, request, position), inside [3, vocab). */
static void prompt_tokens_are_seeded_and_in_range(void **state) {
    (void)state;
    int differ = 0;
    for (int p = 0; p < 1000; p++) {
        int32_t a = db_sched_prompt_token(7, 3, p, 256);
        assert_int_equal(a, db_sched_prompt_token(7, 3, p, 256));
        assert_true(a >= 3 && a < 256);
        differ += a != db_sched_prompt_token(8, 3, p, 256);
    }
    assert_true(differ > 900); /* another seed: another prompt (equal by chance ~1/253 per id) */
}

static void batching_names_parse_both_ways(void **state) {
    (void)state;
    db_batching b;
    assert_int_equal(db_batching_parse("static", &b), 0);
    assert_int_equal(b, DB_BATCHING_STATIC);
    assert_string_equal(db_batching_name(b), "static");
    assert_int_equal(db_batching_parse("continuous", &b), 0);
    assert_int_equal(b, DB_BATCHING_CONTINUOUS);
    assert_int_equal(db_batching_parse("dynamic", &b), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_128_token_cache_holds_8_blocks),
        cmocka_unit_test(every_request_gets_exactly_its_requested_tokens),
        cmocka_unit_test(tight_kv_preempts_the_newest_and_every_request_recovers),
        cmocka_unit_test(first_scheduling_follows_arrival_order),
        cmocka_unit_test(a_request_beyond_max_seq_len_fails_with_a_reason),
        cmocka_unit_test(a_request_larger_than_the_kv_cache_fails_and_one_that_fills_it_runs),
        cmocka_unit_test(prefill_is_split_into_chunks_of_prefill_chunk),
        cmocka_unit_test(prefill_chunks_share_max_batch_tokens_oldest_first),
        cmocka_unit_test(running_decodes_are_never_stalled_by_prefill),
        cmocka_unit_test(admission_reserves_the_whole_prompt),
        cmocka_unit_test(the_watermark_applies_only_when_others_run),
        cmocka_unit_test(static_batching_runs_each_batch_to_completion_before_the_next),
        cmocka_unit_test(static_batching_never_preempts),
        cmocka_unit_test(submitting_a_request_twice_or_out_of_range_is_an_error),
        cmocka_unit_test(options_with_fewer_batch_tokens_than_sequences_are_refused),
        cmocka_unit_test(prompt_tokens_are_seeded_and_in_range),
        cmocka_unit_test(batching_names_parse_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
