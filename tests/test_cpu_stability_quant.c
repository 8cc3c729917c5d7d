/* Long greedy decodes on `tiny` stay finite and varied with fp8 and int8 weights (the check
 * and its bound N = 64 are derived in tests/ref_stability.h). */
#include "ref_stability.h"

static void fp8_weights_fp8_kv(void **state) {
    decode_stays_finite_and_varied(DB_PREC_FP8, DB_KV_FP8);
}
static void int8_weights_bf16_kv(void **state) {
    decode_stays_finite_and_varied(DB_PREC_INT8, DB_KV_BF16);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fp8_weights_fp8_kv),
        cmocka_unit_test(int8_weights_bf16_kv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
