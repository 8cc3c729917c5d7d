/* test_cost.c — the analytic cost model against hand counts (definitions in engine/cost.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "cost.h"
#include "model.h"

static db_model_config preset(const char *name) {
    db_model_config m;
    assert_int_equal(db_model_preset(name, &m), 0);
    return m;
}

static const int32_t tokens[64] = {0};

static db_work item(int pos, int n, int want_next) {
    db_work w = {.seq_id = 0, .pos = pos, .n_tokens = n, .tokens = tokens, .want_next = want_next};
    return w;
}

/* Doubles here are sums of integers far below 2^53: compare exactly. */
#define assert_count(x, want) assert_true((double)(x) == (double)(want))

/* llama2-7b, bf16, one decode token at context 0 with want_next (d 4096, h 11008, L 32, V 32000):
 *   qkv      2*L*d*(d+2kv)   = 2*32*4096*12288       = 3,221,225,472
 *   out      2*L*d*d                                  = 1,073,741,824
 *   mlp      2*L*3*d*h + L*5*h = 8,657,043,456 + 1,761,280
 *   attention L*4*d*1 (one key)                       = 524,288
 *   norm     L*(2*4d + 2d + 3*(d+kv)) + 4d            = 2,113,536
 *   lm_head  2*V*d                                    = 262,144,000
 *   total    13,218,553,856 — i.e. 2 * 6.74e9 parameters minus the embedding (2*V*d) plus the small
 *   elementwise terms. */
static void llama2_7b_decode_flops_are_twice_the_non_embedding_parameters(void **state) {
    db_model_config m = preset("llama2-7b");
    db_work w = item(0, 1, 1);
    db_cost c;
    db_cost_model(&m, DB_PREC_BF16, DB_KV_BF16, &w, 1, &c);
    assert_count(c.flops[DB_OP_QKV], 3221225472.0);
    assert_count(c.flops[DB_OP_OUT], 1073741824.0);
    assert_count(c.flops[DB_OP_MLP], 8657043456.0 + 1761280.0);
    assert_count(c.flops[DB_OP_ATTN], 524288.0);
    assert_count(c.flops[DB_OP_NORM], 2113536.0);
    assert_count(c.flops[DB_OP_LMHEAD], 262144000.0);
    assert_count(c.total_flops, 13218553856.0);
}

/* Weight bytes of that step in bf16: every layer linear 2 * 32 * 202,375,168 = 12,952,010,752;
 * RMSNorm gains fp32 4 * (2*32 + 1) * 4096 = 1,064,960; classifier 2 * 32000 * 4096 = 262,144,000;
 * the one gathered embedding row 2 * 4096 = 8,192. Sum 13,215,227,904
 * (= 2 * (P - embedding) + the fp32 norm gains' extra 2 bytes + one embedding row). */
static void llama2_7b_decode_reads_every_weight_once_in_bf16(void **state) {
    db_model_config m = preset("llama2-7b");
    db_work w = item(0, 1, 1);
    db_cost c;
    db_cost_model(&m, DB_PREC_BF16, DB_KV_BF16, &w, 1, &c);
    assert_count(c.weight_bytes, 13215227904.0);
    assert_count(2.0 * (db_model_param_count(&m) - db_model_embedding_params(&m)) + 532480.0 +
                     8192.0,
                 13215227904.0);
}

/* Weights are read once per step: 64 decode tokens read the same weights as 1, plus 63 more gathered
 * embedding rows (63 * 2 * 4096 = 516,096 bytes). */
static void weight_bytes_do_not_grow_with_the_batch(void **state) {
    db_model_config m = preset("llama2-7b");
    db_work one = item(10, 1, 1), many[64];
    for (int i = 0; i < 64; i++)
        many[i] = item(10, 1, 1);
    db_cost c1, c64;
    db_cost_model(&m, DB_PREC_BF16, DB_KV_BF16, &one, 1, &c1);
    db_cost_model(&m, DB_PREC_BF16, DB_KV_BF16, many, 64, &c64);
    assert_count(c64.weight_bytes - c1.weight_bytes, 516096.0);
    assert_count(c64.flops[DB_OP_QKV], 64.0 * c1.flops[DB_OP_QKV]);
    assert_int_equal(c64.decode_tokens, 64);
}

/* tiny (L 2, d 64, kv 32), fp32 KV. A 4-token prefill chunk at position 0 attends to 1+2+3+4 = 10 keys:
 * 2 * 4*64 * 10 = 5,120 FLOPs. The same chunk at position 6 attends to 7+8+9+10 = 34 keys: 17,408. */
static void prefill_attention_is_causal_within_the_chunk(void **state) {
    db_model_config m = preset("tiny");
    db_work a = item(0, 4, 0), b = item(6, 4, 0);
    db_cost ca, cb;
    db_cost_model(&m, DB_PREC_FP32, DB_KV_FP32, &a, 1, &ca);
    db_cost_model(&m, DB_PREC_FP32, DB_KV_FP32, &b, 1, &cb);
    assert_count(ca.flops[DB_OP_ATTN], 5120.0);
    assert_count(cb.flops[DB_OP_ATTN], 17408.0);
    assert_int_equal(cb.prefill_tokens, 4);
}

/* The chunk at position 6 reads the whole cache once, 6 + 4 = 10 tokens: L * 10 * 2*kv * 4 bytes
 * = 2 * 10 * 64 * 4 = 5,120; it writes its 4 new tokens: 2 * 4 * 64 * 4 = 2,048. */
static void kv_traffic_reads_the_whole_cache_and_writes_new_tokens(void **state) {
    db_model_config m = preset("tiny");
    db_work b = item(6, 4, 0);
    db_cost c;
    db_cost_model(&m, DB_PREC_FP32, DB_KV_FP32, &b, 1, &c);
    assert_count(c.kv_read_bytes, 5120.0);
    assert_count(c.kv_write_bytes, 2048.0);
}

/* Decode at context 1000 on llama2-7b, bf16 KV: reads (1000 + 1) * 524,288 bytes of KV (2 * 32 * 4096 * 2
 * per token), attends to 1001 keys: 32 * 4 * 4096 * 1001 FLOPs. */
static void decode_attention_reads_its_context(void **state) {
    db_model_config m = preset("llama2-7b");
    db_work w = item(1000, 1, 1);
    db_cost c;
    db_cost_model(&m, DB_PREC_BF16, DB_KV_BF16, &w, 1, &c);
    assert_count(db_kv_bytes_per_token(&m, DB_KV_BF16), 524288.0);
    assert_count(c.kv_read_bytes, 1001.0 * 524288.0);
    assert_count(c.flops[DB_OP_ATTN], 32.0 * 4 * 4096 * 1001);
}

/* llama3-8b (32 layers, 8 KV heads of 128): a bf16 KV token is 2 * 32 * 1024 * 2 = 131072 bytes; an
 * fp8 token is 2 * 32 * (1024 * 1 + 8 * 4) = 67584 bytes: half, plus one fp32 scale per (token, KV
 * head) for K and for V (the fp8 KV convention of engine/cpu.h). */
static void fp8_kv_is_half_of_bf16_plus_its_scales(void **state) {
    db_model_config m = preset("llama3-8b");
    db_work w = item(500, 1, 1);
    db_cost b, f;
    db_cost_model(&m, DB_PREC_BF16, DB_KV_BF16, &w, 1, &b);
    db_cost_model(&m, DB_PREC_BF16, DB_KV_FP8, &w, 1, &f);
    assert_count(db_kv_bytes_per_token(&m, DB_KV_BF16), 131072.0);
    assert_count(db_kv_bytes_per_token(&m, DB_KV_FP8), 67584.0);
    assert_count(b.kv_read_bytes, 501.0 * 131072.0);
    assert_count(f.kv_read_bytes, 501.0 * 67584.0);
    assert_count(f.kv_write_bytes, 67584.0);
}

/* The LM head runs only for items with want_next: 2 * 1 * 32000 * 4096 FLOPs for one of two items,
 * nothing (and no classifier read) when no item wants a token. */
static void lm_head_runs_only_for_items_that_want_a_token(void **state) {
    db_model_config m = preset("llama2-7b");
    db_work w[2] = {item(0, 8, 0), item(3, 1, 1)};
    db_cost c;
    db_cost_model(&m, DB_PREC_BF16, DB_KV_BF16, w, 2, &c);
    assert_count(c.flops[DB_OP_LMHEAD], 2.0 * 32000 * 4096);
    w[1].want_next = 0;
    db_cost_model(&m, DB_PREC_BF16, DB_KV_BF16, w, 2, &c);
    assert_count(c.flops[DB_OP_LMHEAD], 0.0);
    assert_count(c.bytes[DB_OP_LMHEAD], 0.0);
}

/* Linear storage (as engine/linear.h): int8 4096 x 11008 = 45,088,768 + 4 * 4096 row scales;
 * int4: 4096 rows * 86 groups (11008 / 128) * 66 bytes = 23,248,896; bf16: 2 bytes per weight. */
static void linear_storage_counts_scales(void **state) {
    assert_count(db_cost_linear_weight_bytes(4096, 11008, DB_PREC_INT8), 45088768.0 + 16384.0);
    assert_count(db_cost_linear_weight_bytes(4096, 11008, DB_PREC_FP8), 45088768.0 + 16384.0);
    assert_count(db_cost_linear_weight_bytes(4096, 11008, DB_PREC_INT4), 23248896.0);
    assert_count(db_cost_linear_weight_bytes(4096, 11008, DB_PREC_BF16), 90177536.0);
    assert_count(db_cost_linear_weight_bytes(3, 129, DB_PREC_INT4), 3.0 * 2 * 66); /* padded */
}

/* Activation bytes per element: fp32/tf32 4, fp16/bf16/int8/int4 2, fp8 1. */
static void activation_bytes_follow_the_scheme(void **state) {
    assert_count(db_cost_act_bytes(DB_PREC_FP32), 4.0);
    assert_count(db_cost_act_bytes(DB_PREC_TF32), 4.0);
    assert_count(db_cost_act_bytes(DB_PREC_FP16), 2.0);
    assert_count(db_cost_act_bytes(DB_PREC_INT4), 2.0);
    assert_count(db_cost_act_bytes(DB_PREC_FP8), 1.0);
}

/* fp32 stores every parameter in 4 bytes: 4 * 6,738,415,616. */
static void fp32_model_weights_are_four_bytes_per_parameter(void **state) {
    db_model_config m = preset("llama2-7b");
    assert_count(db_cost_weight_bytes(&m, DB_PREC_FP32), 4.0 * 6738415616.0);
}

static void totals_are_the_sums_of_the_parts(void **state) {
    db_model_config m = preset("llama3-8b");
    db_work w[3] = {item(0, 37, 1), item(200, 1, 1), item(17, 1, 0)};
    db_cost c;
    db_cost_model(&m, DB_PREC_INT4, DB_KV_FP8, w, 3, &c);
    double flops = 0, bytes = 0;
    for (int k = 0; k < DB_OP_COUNT; k++)
        flops += c.flops[k], bytes += c.bytes[k];
    assert_true(flops == c.total_flops && bytes == c.total_bytes);
    double parts = c.weight_bytes + c.kv_read_bytes + c.kv_write_bytes + c.act_bytes;
    assert_true(parts > 0.999999 * c.total_bytes && parts < 1.000001 * c.total_bytes);
}

/* A decode token is n_tokens 1 at pos > 0; a 1-token item at position 0 is a (one-token) prefill. */
static void items_are_counted_as_prefill_or_decode(void **state) {
    db_model_config m = preset("tiny");
    db_work w[3] = {item(0, 5, 1), item(7, 1, 1), item(0, 1, 1)};
    db_cost c;
    db_cost_model(&m, DB_PREC_FP32, DB_KV_FP32, w, 3, &c);
    assert_int_equal(c.prefill_tokens, 6);
    assert_int_equal(c.decode_tokens, 1);
}

static void an_empty_batch_costs_nothing(void **state) {
    db_model_config m = preset("tiny");
    db_cost c;
    db_cost_model(&m, DB_PREC_FP32, DB_KV_FP32, NULL, 0, &c);
    assert_count(c.total_flops, 0.0);
    assert_count(c.total_bytes, 0.0);
}

static void op_classes_have_stable_names(void **state) {
    assert_string_equal(db_op_class_name(DB_OP_QKV), "qkv");
    assert_string_equal(db_op_class_name(DB_OP_ATTN), "attention");
    assert_string_equal(db_op_class_name(DB_OP_OUT), "out_proj");
    assert_string_equal(db_op_class_name(DB_OP_MLP), "mlp");
    assert_string_equal(db_op_class_name(DB_OP_NORM), "norm");
    assert_string_equal(db_op_class_name(DB_OP_LMHEAD), "lm_head");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama2_7b_decode_flops_are_twice_the_non_embedding_parameters),
        cmocka_unit_test(llama2_7b_decode_reads_every_weight_once_in_bf16),
        cmocka_unit_test(weight_bytes_do_not_grow_with_the_batch),
        cmocka_unit_test(prefill_attention_is_causal_within_the_chunk),
        cmocka_unit_test(kv_traffic_reads_the_whole_cache_and_writes_new_tokens),
        cmocka_unit_test(decode_attention_reads_its_context),
        cmocka_unit_test(fp8_kv_is_half_of_bf16_plus_its_scales),
        cmocka_unit_test(lm_head_runs_only_for_items_that_want_a_token),
        cmocka_unit_test(linear_storage_counts_scales),
        cmocka_unit_test(activation_bytes_follow_the_scheme),
        cmocka_unit_test(fp32_model_weights_are_four_bytes_per_parameter),
        cmocka_unit_test(totals_are_the_sums_of_the_parts),
        cmocka_unit_test(items_are_counted_as_prefill_or_decode),
        cmocka_unit_test(an_empty_batch_costs_nothing),
        cmocka_unit_test(op_classes_have_stable_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
