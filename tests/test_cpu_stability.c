/* Long greedy decodes on `tiny` stay finite and varied with fp32 and tf32 weights (the check
 * and its bound N = 64 are derived in tests/ref_stability.h). */
#include "ref_stability.h"

static void fp32_weights_fp32_kv(void **state) {
    decode_stays_finite_and_varied(DB_PREC_FP32, DB_KV_FP32);
}
static void tf32_weights_fp32_kv(void **state) {
    decode_stays_finite_and_varied(DB_PREC_TF32, DB_KV_FP32);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fp32_weights_fp32_kv),
        cmocka_unit_test(tf32_weights_fp32_kv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
