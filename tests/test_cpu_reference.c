/* The CPU backend's fp32 forward pass against the independent float64 reference
 * (tests/ref_model.h).
 *
 * Error norm throughout: rel = max_v |engine[v] - ref[v]| / max_v |ref[v]| over one row of logits.
 * Bound 1e-4: the engine accumulates dot products of at most 172 terms in fp32 (unit roundoff
 * 2^-24 = 6e-8; a sum of n terms errs by at most ~n u relative to the sum of magnitudes, ~1e-5
 * here) through 2 layers and the classifier; 1e-4 leaves a factor ~10 of margin while a single
 * wrong operation (a misplaced RoPE pair, a wrong KV position, a missing gain) moves logits by
 * O(1).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "ref_driver.h"
#include "ref_model.h"

enum { N_SEQ = 3, DECODE_STEPS = 64 };
static const int prompt_len[N_SEQ] = {8, 5, 11};

static double rel_error(const float *a, const double *b, int n) {
    double num = 0.0, den = 0.0;
    for (int i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return num / den;
}

/* Top-2 margin of the reference row, to know when its argmax is unambiguous. */
static double top2_margin(const double *b, int n, int *arg) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (b[i] > b[best]) best = i;
    double second = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != best) second = fmax(second, b[i]);
    *arg = best;
    return b[best] - second;
}

/* Runs N_SEQ sequences batched (prefill together, then DECODE_STEPS decode steps together) and
 * checks every row of logits against one reference model per sequence fed the same tokens. Returns
 * the largest relative error seen. */
static double run_against_reference(const db_model_config *m, uint64_t seed) {
    db_error err;
    ref_driver d;
    db_engine_opts o = ref_opts(m, DB_PREC_FP32, DB_KV_FP32, seed);
    assert_int_equal(ref_driver_open(&d, &o, N_SEQ, &err), DB_OK);
    ref_model ref[N_SEQ];
    int32_t prompts[N_SEQ][16], cur[N_SEQ], next[N_SEQ];
    const int32_t *toks[N_SEQ];
    int ids[N_SEQ], n_tok[N_SEQ];
    float *logits = malloc((size_t)N_SEQ * m->vocab_size * sizeof(float));
    double worst = 0.0;
    for (int s = 0; s < N_SEQ; s++) {
        ref_model_synth(&ref[s], m, seed);
        ref_prompt(prompts[s], prompt_len[s], m->vocab_size, seed, s);
        ids[s] = s, n_tok[s] = prompt_len[s], toks[s] = prompts[s];
    }
    for (int step = 0; step <= DECODE_STEPS; step++) {
        assert_int_equal(ref_driver_step(&d, N_SEQ, ids, n_tok, toks, next, logits, &err), DB_OK);
        for (int s = 0; s < N_SEQ; s++) {
            const double *rl = NULL;
            for (int j = 0; j < n_tok[s]; j++)
                rl = ref_model_forward(&ref[s], toks[s][j], d.seqs[s].len - n_tok[s] + j);
            double e = rel_error(logits + (size_t)s * m->vocab_size, rl, m->vocab_size);
            worst = fmax(worst, e);
            int arg;
            if (top2_margin(rl, m->vocab_size, &arg) > 1e-3 * fabs(rl[arg]))
                assert_int_equal(next[s], arg);
            cur[s] = next[s], toks[s] = &cur[s], n_tok[s] = 1;
        }
    }
    for (int s = 0; s < N_SEQ; s++)
        ref_model_free(&ref[s]);
    free(logits);
    ref_driver_close(&d);
    return worst;
}

static void fp32_logits_match_float64_reference_over_64_decode_steps(void **state) {
    db_model_config m = ref_tiny(0);
    double worst = run_against_reference(&m, 1);
    printf("tiny fp32 vs float64: max rel error %.3g over %d steps\n", worst, DECODE_STEPS + 1);
    assert_true(worst <= 1e-4);
}

static void shared_classifier_logits_match_reference(void **state) {
    db_model_config m = ref_tiny(0);
    m.shared_classifier = 1;
    double worst = run_against_reference(&m, 7);
    printf("tiny (shared classifier) fp32 vs float64: max rel error %.3g\n", worst);
    assert_true(worst <= 1e-4);
}

/* Multi-query attention (1 KV head for 4 query heads) and a larger RoPE base exercise the GQA head
 * mapping and rope_theta. */
static void mqa_and_rope_theta_match_reference(void **state) {
    db_model_config m = ref_tiny(0);
    m.n_kv_heads = 1;
    m.rope_theta = 500000.0f;
    double worst = run_against_reference(&m, 3);
    printf("tiny (1 KV head, theta 5e5) fp32 vs float64: max rel error %.3g\n", worst);
    assert_true(worst <= 1e-4);
}

/* A sanity check of the check itself: another seed's weights are a different model, far outside
 * 1e-4. */
static void reference_with_other_weights_is_far_off(void **state) {
    db_model_config m = ref_tiny(0);
    db_error err;
    ref_driver d;
    db_engine_opts o = ref_opts(&m, DB_PREC_FP32, DB_KV_FP32, 1);
    assert_int_equal(ref_driver_open(&d, &o, 1, &err), DB_OK);
    ref_model ref;
    ref_model_synth(&ref, &m, 2);
    int32_t tok = 5, next;
    const int32_t *toks[1] = {&tok};
    int id = 0, n = 1;
    float *logits = malloc((size_t)m.vocab_size * sizeof(float));
    assert_int_equal(ref_driver_step(&d, 1, &id, &n, toks, &next, logits, &err), DB_OK);
    assert_true(rel_error(logits, ref_model_forward(&ref, tok, 0), m.vocab_size) > 0.1);
    free(logits);
    ref_model_free(&ref);
    ref_driver_close(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fp32_logits_match_float64_reference_over_64_decode_steps),
        cmocka_unit_test(shared_classifier_logits_match_reference),
        cmocka_unit_test(mqa_and_rope_theta_match_reference),
        cmocka_unit_test(reference_with_other_weights_is_far_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
