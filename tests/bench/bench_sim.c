/* bench_sim.c — how fast the sim backend prices steps: simulated decode steps per wall-clock second
 * for llama2-7b bf16 on h100-sxm at several batch sizes, and the modelled step time for each.
 * Usage: bench_sim [steps_per_batch]   (1..3967, default 3000: contexts stay within 4096 tokens)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend.h"
#include "model.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs `steps` decode steps of `batch` sequences (each starting at context 128). */
static int run(int batch, int steps) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    db_model_preset("llama2-7b", &o.model);
    o.kv_tokens = (int64_t)batch * (128 + steps + 16);
    db_engine *e;
    db_error err;
    if (db_engine_open(&o, &e, &err) != DB_OK) {
        fprintf(stderr, "bench_sim: %s\n", err.msg);
        return 1;
    }
    db_work *w = calloc((size_t)batch, sizeof *w);
    int32_t *next = calloc((size_t)batch, sizeof *next);
    static int32_t prompt[128];
    for (int i = 0; i < batch; i++) {
        db_seq_alloc(e, &w[i].seq_id, &err);
        w[i] = (db_work){.seq_id = w[i].seq_id, .pos = 0, .n_tokens = 128, .tokens = prompt,
                         .want_next = 1};
    }
    db_step_result r = {.next_tokens = next};
    int rc = db_engine_step(e, w, batch, &r, &err) != DB_OK;
    double modelled = 0, t0 = now();
    for (int s = 0; !rc && s < steps; s++) {
        for (int i = 0; i < batch; i++)
            w[i].pos = db_seq_len(e, w[i].seq_id), w[i].n_tokens = 1, w[i].tokens = &next[i];
        rc = db_engine_step(e, w, batch, &r, &err) != DB_OK;
        modelled = r.step_seconds;
    }
    double wall = now() - t0;
    if (rc)
        fprintf(stderr, "bench_sim: %s\n", err.msg);
    else
        printf("batch %5d: %9.0f sim steps/s (%6.2f us per step), modelled step %.3f ms\n", batch,
               steps / wall, 1e6 * wall / steps, 1e3 * modelled);
    free(w);
    free(next);
    db_engine_close(e);
    return rc;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 3000;
    if (steps < 1 || steps > 4096 - 128 - 1) {
        fprintf(stderr, "usage: bench_sim [steps_per_batch in 1..3967]\n");
        return 2;
    }
    const int batches[] = {1, 16, 64, 256, 1024};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++)
        if (run(batches[i], steps)) return 1;
    return 0;
}
