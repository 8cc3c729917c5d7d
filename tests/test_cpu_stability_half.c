/* Long greedy decodes on `tiny` stay finite and varied with 16-bit weights and KV (the check
 * and its bound N = 64 are derived in tests/ref_stability.h). */
#include "ref_stability.h"

static void fp16_weights_fp16_kv(void **state) {
    decode_stays_finite_and_varied(DB_PREC_FP16, DB_KV_FP16);
}
static void bf16_weights_bf16_kv(void **state) {
    decode_stays_finite_and_varied(DB_PREC_BF16, DB_KV_BF16);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fp16_weights_fp16_kv),
        cmocka_unit_test(bf16_weights_bf16_kv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
