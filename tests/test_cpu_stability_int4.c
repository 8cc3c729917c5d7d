/* Long greedy decodes on `tiny` stay finite and varied with int4 weights and fp8 KV (the check
 * and its bound N = 64 are derived in tests/ref_stability.h). */
#include "ref_stability.h"

static void int4_weights_fp8_kv(void **state) {
    decode_stays_finite_and_varied(DB_PREC_INT4, DB_KV_FP8);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(int4_weights_fp8_kv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
