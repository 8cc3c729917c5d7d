/* cupti_absent.c (tests/emu) — engine/cuda_cupti.h for the CUDA backend built against the
 * emulator (test_emu_gpu_engine): CUPTI cannot observe emulated kernels, so a kernel trace cannot
 * start (DB_ERR_UNSUPPORTED, with that reason); with no trace running the backend's step and range
 * hooks are the no-ops they are in the real file when no trace runs, and drain / clock / dropped
 * answer as for a trace that was never started. Never part of a real CUDA build.
 */
#include "cuda_cupti.h"

db_status db_cupti_start(db_error *err) {
    return db_error_set(err, DB_ERR_UNSUPPORTED,
                        "kernel trace: CUPTI cannot trace the CPU emulator's kernels");
}

void db_cupti_stop(void) {}

int db_cupti_active(void) {
    return 0;
}

db_status db_cupti_drain(int final, db_kernel_sink sink, void *ctx, db_error *err) {
    (void)final, (void)sink, (void)ctx;
    return db_error_set(err, DB_ERR_UNSUPPORTED, "kernel trace: not running");
}

db_status db_cupti_now_ns(int64_t *now_ns, db_error *err) {
    (void)now_ns;
    return db_error_set(err, DB_ERR_UNSUPPORTED, "kernel trace: not running");
}

uint64_t db_cupti_dropped(void) {
    return 0;
}

void db_cupti_step_begin(int64_t step) {
    (void)step;
}

void db_cupti_step_end(void) {}

void db_cupti_range_begin(int op) {
    (void)op;
}

void db_cupti_range_end(void) {}
