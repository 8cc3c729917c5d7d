/* engine.h — the seam between the harness and the decode backends (cpu | cuda | sim).
 *
 * What it is for: open an engine for one model shape, precision scheme and KV-cache budget; allocate
 * sequences on a paged KV cache; run one continuous-batching step over a mixed batch of prefill chunks
 * and decode tokens; report the analytic FLOPs and bytes of a step per op class.
 * What it must not do: know anything about requests, arrivals, clocks of the harness or metrics;
 * call exit(); print. Every call returns a status (DB_OK = 0) and fills a db_error on failure.
 */
#ifndef DB_ENGINE_H
#define DB_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------------------------------ */

typedef enum db_status {
    DB_OK = 0,
    DB_ERR_INVALID = 1,     /* a bad argument or bad user input (flag, file content) */
    DB_ERR_IO = 2,          /* a file could not be read or written */
    DB_ERR_NOMEM = 3,       /* host or device allocation failed */
    DB_ERR_KV_FULL = 4,     /* not enough free KV blocks for the step; nothing was changed */
    DB_ERR_UNSUPPORTED = 5, /* the backend or device cannot do this (e.g. no CUDA device) */
    DB_ERR_DEVICE = 6,      /* a CUDA / cuBLAS / driver error */
    DB_ERR_INTERNAL = 7,
} db_status;

typedef struct db_error {
    db_status code;
    char msg[512]; /* a human message naming the file / field / flag and what was expected */
} db_error;

/* Fills err (when non-NULL) and returns code. printf-style. */
db_status db_error_set(db_error *err, db_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void db_error_clear(db_error *err);

/* ---- model shape ------------------------------------------------------------------------------- */

typedef struct db_model_config {
    char name[64];
    int dim;               /* model width d */
    int hidden_dim;        /* SwiGLU inner width */
    int n_layers;
    int n_heads;           /* query heads */
    int n_kv_heads;        /* key/value heads (GQA when < n_heads) */
    int vocab_size;
    int max_seq_len;       /* longest position the model supports */
    float rope_theta;      /* RoPE base, e.g. 10000 (llama2) or 500000 (llama3) */
    float norm_eps;        /* RMSNorm epsilon */
    int shared_classifier; /* 1: LM head is the token embedding (llama2.c shared checkpoints) */
} db_model_config;

/* head_size = dim / n_heads; kv_dim = n_kv_heads * head_size. */
static inline int db_model_head_size(const db_model_config *m) { return m->dim / m->n_heads; }
static inline int db_model_kv_dim(const db_model_config *m) {
    return m->n_kv_heads * (m->dim / m->n_heads);
}

/* ---- precision schemes ------------------------------------------------------------------------- */

/* Weight/compute precision scheme (sweep axis `precision`). */
typedef enum db_precision {
    DB_PREC_FP32 = 0,
    DB_PREC_TF32, /* GPU only */
    DB_PREC_FP16,
    DB_PREC_BF16,
    DB_PREC_FP8,  /* e4m3 W8A8, per-channel weight scale, per-token activation scale */
    DB_PREC_INT8, /* weight-only, symmetric per-channel scale, bf16 activations */
    DB_PREC_INT4, /* weight-only, symmetric group-128 scale, bf16 activations */
    DB_PREC_COUNT
} db_precision;

/* KV-cache element type (its own axis). */
typedef enum db_kv_dtype {
    DB_KV_FP32 = 0,
    DB_KV_FP16,
    DB_KV_BF16,
    DB_KV_FP8,
    DB_KV_COUNT
} db_kv_dtype;

const char *db_precision_name(db_precision p);           /* "fp32", "int4", ... */
int db_precision_parse(const char *s, db_precision *out); /* 0 on success, -1 if unknown */
const char *db_kv_dtype_name(db_kv_dtype k);
int db_kv_dtype_parse(const char *s, db_kv_dtype *out);
/* Bytes of storage per weight element, scales included (int4 g128 with a 2-byte scale: 0.5+2/128). */
double db_precision_weight_bytes(db_precision p);
double db_kv_dtype_bytes(db_kv_dtype k);

/* ---- backends ---------------------------------------------------------------------------------- */

typedef enum db_backend_kind {
    DB_BACKEND_AUTO = 0, /* cuda if a GPU answers, else cpu */
    DB_BACKEND_CPU,
    DB_BACKEND_CUDA,
    DB_BACKEND_SIM,
} db_backend_kind;

const char *db_backend_name(db_backend_kind b);
int db_backend_parse(const char *s, db_backend_kind *out);

typedef struct db_engine_opts {
    db_backend_kind backend;
    db_model_config model;       /* resolved shape (see model.h: presets, JSON, checkpoint header) */
    const char *checkpoint_path; /* llama2.c .bin, or NULL for seeded synthetic weights */
    db_precision precision;
    db_kv_dtype kv_dtype;
    int64_t kv_tokens;   /* KV capacity in tokens (all sequences together); 0: use kv_bytes */
    int64_t kv_bytes;    /* KV capacity in bytes; 0 with kv_tokens 0: a backend default */
    int kv_block_size;   /* tokens per KV block; 0: 16 */
    uint64_t seed;       /* synthetic weights and sampling */
    int threads;         /* cpu: worker threads; 0: all cores */
    int cuda_graphs;     /* cuda: capture decode steps in graphs */
    int cuda_device;     /* cuda: device ordinal */
    const char *sim_device;     /* sim: preset name (h100-sxm, h200, a100-80g, l40s) or ceilings JSON */
    double sim_step_overhead_s; /* sim: fixed per-step overhead; < 0: the preset default */
    float temperature;   /* 0: greedy argmax */
    int top_k;           /* with temperature > 0; 0: whole vocabulary */
    int kernel_trace;    /* cuda: record every kernel with CUPTI from open on (see "profiling");
                            other backends refuse it (DB_ERR_UNSUPPORTED) */
} db_engine_opts;

/* Defaults: auto backend, fp32, fp32 KV, block 16, seed 1, greedy. model must still be set. */
void db_engine_opts_default(db_engine_opts *o);

typedef struct db_engine db_engine;

db_status db_engine_open(const db_engine_opts *opts, db_engine **out, db_error *err);
void db_engine_close(db_engine *e);

/* What was actually opened (auto resolved, defaults filled). */
db_backend_kind db_engine_backend(const db_engine *e);
const db_engine_opts *db_engine_get_opts(const db_engine *e);
/* A one-line description of the device (CPU model / GPU name / sim preset). */
const char *db_engine_device_name(const db_engine *e);

/* ---- sequences on the paged KV cache ------------------------------------------------------------ */

int db_engine_kv_block_size(const db_engine *e);
int64_t db_engine_kv_total_blocks(const db_engine *e);
int64_t db_engine_kv_free_blocks(const db_engine *e);
/* Blocks the sequence would need in addition to hold n_new more tokens. */
int64_t db_seq_blocks_needed(const db_engine *e, int seq_id, int n_new);

/* A new empty sequence (no blocks yet; blocks are taken as tokens are written by steps). */
db_status db_seq_alloc(db_engine *e, int *seq_id, db_error *err);
/* Returns every block of the sequence to the pool. */
db_status db_seq_free(db_engine *e, int seq_id, db_error *err);
/* Tokens currently held in the sequence's KV cache. */
int db_seq_len(const db_engine *e, int seq_id);
/* Consistency check of the paged KV cache (for tests and invariant checks; O(total blocks)): every
 * block is free or owned by exactly one live sequence, and each sequence owns exactly
 * ceil(len / block size) blocks. DB_ERR_INTERNAL with the first violation otherwise. */
db_status db_engine_kv_check(const db_engine *e, db_error *err);

/* ---- one step of continuous batching ------------------------------------------------------------ */

/* One item of a step: n_tokens = 1 is a decode token; n_tokens > 1 (or a first chunk) a prefill chunk.
 * Tokens are written to the KV cache at positions pos .. pos+n_tokens-1; pos must equal db_seq_len. */
typedef struct db_work {
    int seq_id;
    int pos;
    int n_tokens;
    const int32_t *tokens; /* n_tokens token ids */
    int want_next;         /* 1: sample a next token from the last position's logits */
} db_work;

typedef struct db_step_result {
    int32_t *next_tokens;  /* caller-owned, length >= n; -1 where want_next was 0 */
    float *logits;         /* optional caller-owned [n][vocab] for items with want_next; may be NULL */
    double step_seconds;   /* cpu/cuda: measured; sim: modelled (the virtual clock advances by it) */
    double device_seconds; /* time spent in device work (cuda events; cpu = step; sim = modelled) */
} db_step_result;

/* Runs the whole batch or nothing: DB_ERR_KV_FULL (no change) if the KV pool cannot hold it. */
db_status db_engine_step(db_engine *e, const db_work *work, int n, db_step_result *res,
                         db_error *err);

/* ---- analytic cost --------------------------------------------------------------------------- */

typedef enum db_op_class {
    DB_OP_QKV = 0,
    DB_OP_ATTN,
    DB_OP_OUT,    /* attention output projection */
    DB_OP_MLP,
    DB_OP_NORM,   /* RMSNorms, residual adds, RoPE */
    DB_OP_LMHEAD, /* final norm excluded (NORM); classifier GEMM + argmax */
    DB_OP_COUNT
} db_op_class;

const char *db_op_class_name(db_op_class c); /* "qkv", "attention", "out_proj", "mlp", "norm", "lm_head" */

typedef struct db_cost {
    double flops[DB_OP_COUNT];
    double bytes[DB_OP_COUNT]; /* bytes moved to/from memory per op class */
    double weight_bytes;       /* of which weights (scales included) */
    double kv_read_bytes;
    double kv_write_bytes;
    double act_bytes;          /* activations in and out of each op */
    double total_flops;
    double total_bytes;
    int64_t prefill_tokens;
    int64_t decode_tokens;
} db_cost;

/* FLOPs and bytes of running this batch on this engine's model/precision/KV dtype. No side effects. */
void db_engine_cost(const db_engine *e, const db_work *work, int n, db_cost *out);
/* The same without an engine (for planning and the sim backend). */
void db_cost_model(const db_model_config *m, db_precision p, db_kv_dtype kv, const db_work *work,
                   int n, db_cost *out);

/* Parameter count of the shape (embedding + layers + final norm + classifier unless shared). */
int64_t db_model_param_count(const db_model_config *m);

/* ---- profiling ----------------------------------------------------------------------------------- */

/* The device profiler's capture window: cuda calls cudaProfilerStart / cudaProfilerStop (what
 * `nsys profile --capture-range=cudaProfilerApi` and `ncu --profile-from-start off` wait for).
 * cpu and sim have no device profiler: both return DB_OK and do nothing. */
db_status db_engine_profiler_start(db_engine *e, db_error *err);
db_status db_engine_profiler_stop(db_engine *e, db_error *err);
/* 1 when profiler_start/stop reach a device profiler (cuda), else 0. */
int db_engine_has_device_profiler(const db_engine *e);

/* Kernel trace (opts.kernel_trace; cuda only): every kernel the device ran, from CUPTI's activity
 * API, tagged with the engine step and the op range it was launched in. */
#define DB_KERNEL_OP_NONE (-1)              /* launched outside any op range */
#define DB_KERNEL_OP_EMBEDDING DB_OP_COUNT /* the token-embedding gather (counted under norm by
                                              the cost model) */

typedef struct db_kernel_record {
    const char *name;         /* demangled when the C++ runtime's demangler is present, else as
                                 reported; valid during the sink call only */
    const char *mangled_name; /* as the driver reports it */
    int demangled;            /* 1 when name was demangled */
    int64_t start_ns, end_ns; /* trace clock (db_engine_kernel_trace_clock_ns) */
    int32_t grid[3], block[3];
    int32_t registers_per_thread;
    int32_t static_shared_bytes, dynamic_shared_bytes;
    uint32_t stream;
    uint32_t correlation_id;  /* of the launching API call (a graph launch for graph kernels) */
    uint64_t graph_node_id;   /* 0 when not launched from a CUDA graph */
    uint32_t graph_id;        /* 0 when not launched from a CUDA graph */
    int64_t step;             /* engine step (count of non-empty db_engine_step calls before it);
                                 -1 outside steps (e.g. weight generation at open) */
    int op;                   /* db_op_class, DB_KERNEL_OP_EMBEDDING or DB_KERNEL_OP_NONE */
} db_kernel_record;

/* "qkv" ... "lm_head" (db_op_class_name), "embedding", or "" for DB_KERNEL_OP_NONE. */
const char *db_kernel_op_name(int op);

/* Called once per record; a non-zero return stops the delivery (the rest are dropped). */
typedef int (*db_kernel_sink)(void *ctx, const db_kernel_record *k);

/* Delivers the kernel records completed so far, in the order CUPTI returns them. final: also force
 * out records still buffered (after the last step). DB_ERR_UNSUPPORTED without a kernel trace. */
db_status db_engine_kernel_trace_drain(db_engine *e, int final, db_kernel_sink sink, void *ctx,
                                       db_error *err);
/* The kernel trace's clock now (CUPTI's timestamp, ns), to place records on another clock. */
db_status db_engine_kernel_trace_clock_ns(db_engine *e, int64_t *now_ns, db_error *err);
/* Records CUPTI dropped for lack of buffer space since open (0 without a trace). */
uint64_t db_engine_kernel_trace_dropped(const db_engine *e);

#ifdef __cplusplus
}
#endif
#endif
