/* test_env.c — the environment fingerprint (harness/env.h): CPU model parsing from
 * /proc/cpuinfo-format text, the collected keys and their order and types, and the run facts the
 * caller adds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "env.h"

/* Write text to a fresh temporary file; returns its path (static buffer). */
static const char *temp_file(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/db_test_env_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void cpu_model_comes_from_the_model_name_line(void **state) {
    const char *path =
        temp_file("processor\t: 0\nvendor_id\t: AuthenticAMD\n"
                  "model name\t: AMD EPYC 7B13 64-Core Processor  \nflags\t\t: fpu\n");
    char buf[128];
    assert_int_equal(db_env_cpu_model(path, buf, sizeof buf), 0);
    assert_string_equal(buf, "AMD EPYC 7B13 64-Core Processor"); /* trailing spaces trimmed */
    unlink(path);
}

static void cpu_model_falls_back_to_the_hardware_line(void **state) {
    /* ARM kernels print no "model name" on some boards, only "Hardware" */
    const char *path = temp_file("processor\t: 0\nBogoMIPS\t: 48.00\nHardware\t: BCM2835\n");
    char buf[128];
    assert_int_equal(db_env_cpu_model(path, buf, sizeof buf), 0);
    assert_string_equal(buf, "BCM2835");
    unlink(path);
}

static void a_missing_cpuinfo_gives_unknown(void **state) {
    char buf[128];
    assert_int_equal(db_env_cpu_model("/nonexistent/cpuinfo", buf, sizeof buf), -1);
    assert_string_equal(buf, "unknown");
}

static void collected_facts_come_in_the_documented_order_and_types(void **state) {
    static const char *const keys[] = {"decodebench_version",
                                       "git_commit",
                                       "build_type",
                                       "compiler",
                                       "hostname",
                                       "os",
                                       "kernel_release",
                                       "kernel_version",
                                       "arch",
                                       "cpu_model",
                                       "cpu_cores",
                                       "memory_bytes"};
    db_kv_list l = {0};
    char err[128];
    assert_int_equal(db_env_collect(&l, err, sizeof err), 0);
    assert_int_equal(l.n, 12);
    for (size_t i = 0; i < 12; i++)
        assert_string_equal(l.items[i].key, keys[i]);
    /* the build defines these for db_core (harness/CMakeLists.txt) */
    assert_string_not_equal(db_kv_find(&l, "compiler")->value, "unknown");
    assert_string_not_equal(db_kv_find(&l, "decodebench_version")->value, "unknown");
    assert_string_equal(db_kv_find(&l, "os")->value, "Linux");
    assert_int_equal(db_kv_find(&l, "cpu_cores")->kind, DB_KV_INT);
    assert_true(db_kv_find(&l, "cpu_cores")->int_value >= 1);
    assert_int_equal(db_kv_find(&l, "memory_bytes")->kind, DB_KV_INT);
    assert_true(db_kv_find(&l, "memory_bytes")->int_value > 0);
    db_kv_free(&l);
}

static void run_facts_skip_what_was_not_given(void **state) {
    db_kv_list l = {0};
    char err[128];
    db_env_run_facts f = {
        .backend = "sim", .model = "llama2-7b", .precision = "bf16", .seed = 42, .has_seed = true};
    assert_int_equal(db_env_add_run_facts(&l, &f, err, sizeof err), 0);
    assert_int_equal(l.n, 4); /* backend, model, precision, seed */
    assert_string_equal(l.items[0].key, "backend");
    assert_null(db_kv_find(&l, "device"));
    assert_int_equal(db_kv_find(&l, "seed")->int_value, 42);
    db_kv_free(&l);
}

static void a_seed_beyond_int64_is_kept_as_text(void **state) {
    db_kv_list l = {0};
    char err[128];
    db_env_run_facts f = {.seed = UINT64_MAX, .has_seed = true};
    assert_int_equal(db_env_add_run_facts(&l, &f, err, sizeof err), 0);
    assert_int_equal(db_kv_find(&l, "seed")->kind, DB_KV_TEXT);
    assert_string_equal(db_kv_find(&l, "seed")->value, "18446744073709551615");
    db_kv_free(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_model_comes_from_the_model_name_line),
        cmocka_unit_test(cpu_model_falls_back_to_the_hardware_line),
        cmocka_unit_test(a_missing_cpuinfo_gives_unknown),
        cmocka_unit_test(collected_facts_come_in_the_documented_order_and_types),
        cmocka_unit_test(run_facts_skip_what_was_not_given),
        cmocka_unit_test(a_seed_beyond_int64_is_kept_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
