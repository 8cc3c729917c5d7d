/* ref_stability.h — the check shared by test_cpu_stability*.c: long greedy decodes on `tiny` stay
 * finite and keep producing varied tokens at every precision.
 *
 * Each case decodes 2000 tokens: 4 sequences (8-token seeded prompts) decoded together for 500
 * steps, which fills 508 of tiny's 512 positions.
 *
 * "Not collapsed": every sequence shows at least N = 64 distinct tokens among its last 250.
 * Derivation: a decode that has settled on one token shows 1, one trapped in a cycle of period c
 * shows c. A model whose next token were a fixed function of the current token alone (a random
 * mapping of the V = 256-token vocabulary, the best a decoder that ignores its context can do)
 * enters a cycle after a tail, and the number of distinct tokens it ever visits (tail plus cycle)
 * exceeds k with probability about exp(-k^2 / (2V)) (the birthday bound): for k = 64 that is
 * exp(-8) = 3e-4. So >= 64 distinct tokens in 250 steps means the decode still depends on its
 * context. (Measured on seeds 1-8 at every precision: at least 104.) What it is for: one definition
 * of the check and of its bound, for tests only.
 */
#ifndef DB_TESTS_REF_STABILITY_H
#define DB_TESTS_REF_STABILITY_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "ref_driver.h"

enum { STAB_SEQS = 4, STAB_PROMPT = 8, STAB_STEPS = 500, STAB_TAIL = 250, STAB_MIN_DISTINCT = 64 };

static inline void decode_stays_finite_and_varied(db_precision p, db_kv_dtype kv) {
    db_model_config m = ref_tiny(0);
    db_error err;
    ref_driver d;
    db_engine_opts o = ref_opts(&m, p, kv, 1);
    o.threads = 1;
    assert_int_equal(ref_driver_open(&d, &o, STAB_SEQS, &err), DB_OK);
    int32_t prompt[STAB_SEQS][STAB_PROMPT], cur[STAB_SEQS], next[STAB_SEQS];
    const int32_t *toks[STAB_SEQS];
    int ids[STAB_SEQS], n[STAB_SEQS], seen[STAB_SEQS][256] = {{0}}, distinct[STAB_SEQS] = {0},
                                      non_finite = 0;
    for (int b = 0; b < STAB_SEQS; b++) {
        ref_prompt(prompt[b], STAB_PROMPT, m.vocab_size, 1, b);
        toks[b] = prompt[b], ids[b] = b, n[b] = STAB_PROMPT;
    }
    float *logits = malloc((size_t)STAB_SEQS * m.vocab_size * sizeof(float));
    for (int s = 0; s < STAB_STEPS; s++) {
        assert_int_equal(ref_driver_step(&d, STAB_SEQS, ids, n, toks, next, logits, &err), DB_OK);
        for (int i = 0; i < STAB_SEQS * m.vocab_size; i++)
            non_finite += !isfinite(logits[i]);
        for (int b = 0; b < STAB_SEQS; b++) {
            if (s >= STAB_STEPS - STAB_TAIL && !seen[b][next[b]]++) distinct[b]++;
            cur[b] = next[b], toks[b] = &cur[b], n[b] = 1;
        }
    }
    printf("%s weights, %s KV: distinct tokens in the last %d of each sequence: %d %d %d %d\n",
           db_precision_name(p), db_kv_dtype_name(kv), STAB_TAIL, distinct[0], distinct[1],
           distinct[2], distinct[3]);
    assert_int_equal(non_finite, 0);
    for (int b = 0; b < STAB_SEQS; b++)
        assert_true(distinct[b] >= STAB_MIN_DISTINCT);
    free(logits);
    ref_driver_close(&d);
}

#endif
