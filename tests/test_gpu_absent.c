/* A CUDA build on a machine without a CUDA device (no driver, or no GPU): the build still runs,
 * says so and falls back. db_cuda_device_count() is 0 (and prints nothing); backend auto opens the
 * CPU backend; backend cuda fails with DB_ERR_UNSUPPORTED "backend cuda: no CUDA device is present
 * (...)", whether the KV capacity is given (the backend's open answers) or left to the backend's
 * default (its default_kv_bytes answers first); the device-info call answers DB_ERR_UNSUPPORTED.
 * Skipped (77) in a build without CUDA (test_engine.c covers that build) and on a machine with a
 * device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "cuda_info.h"
#include "model.h"

#ifdef DECODEBENCH_HAVE_CUDA
static db_engine_opts tiny_opts(db_backend_kind b, int64_t kv_tokens) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = b;
    assert_int_equal(db_model_preset("tiny", &o.model), 0);
    o.kv_tokens = kv_tokens;
    o.threads = 1;
    return o;
}

static void device_count_is_zero(void **state) {
    assert_int_equal(db_cuda_device_count(), 0);
}

static void auto_backend_opens_the_cpu(void **state) {
    db_engine_opts o = tiny_opts(DB_BACKEND_AUTO, 256);
    db_engine *e = NULL;
    db_error err;
    assert_int_equal(db_engine_open(&o, &e, &err), DB_OK);
    assert_int_equal(db_engine_backend(e), DB_BACKEND_CPU);
    db_engine_close(e);
}

static void cuda_backend_says_no_device_is_present(void **state) {
    const int64_t kv[2] = {256, 0}; /* given capacity; the backend's default */
    for (int i = 0; i < 2; i++) {
        db_engine_opts o = tiny_opts(DB_BACKEND_CUDA, kv[i]);
        db_engine *e = NULL;
        db_error err;
        assert_int_equal(db_engine_open(&o, &e, &err), DB_ERR_UNSUPPORTED);
        assert_null(e);
        if (!strstr(err.msg, "backend cuda: no CUDA device is present"))
            fail_msg("message: %s", err.msg);
    }
}

static void device_info_is_unsupported(void **state) {
    db_cuda_device_info info;
    db_error err;
    assert_int_equal(db_cuda_device_info_get(0, &info, &err), DB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "no CUDA device is present"));
}
#endif

int main(void) {
#ifdef DECODEBENCH_HAVE_CUDA
    if (db_cuda_device_count() > 0) {
        printf("skipped: a CUDA device is present (this test is for machines without one)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_count_is_zero),
        cmocka_unit_test(auto_backend_opens_the_cpu),
        cmocka_unit_test(cuda_backend_says_no_device_is_present),
        cmocka_unit_test(device_info_is_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#else
    printf("skipped: this build has no CUDA backend (test_engine.c covers it)\n");
    return 77;
#endif
}
