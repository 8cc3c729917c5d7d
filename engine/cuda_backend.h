/* cuda_backend.h — the CUDA backend (db_backend_cuda in backend.h): its state, the per-step plan
 * and the forward pass it enqueues.
 *
 * What it is for: running one continuous-batching step of the Llama decoder on a GPU with the CPU
 * reference's numerics (engine/cpu.h): the same weights (generated on the device), every GEMM
 * output rounded to the scheme's activation type as it is read, fp32 norms / RoPE / softmax /
 * attention sums, K and V stored in the KV dtype and read back from the cache by attention.
 * Decode-only steps run from CUDA graphs, one per batch-size bucket (powers of two up to
 * DB_CUDA_GRAPH_MAX_BATCH; the padding rows of a bucket write no KV and their outputs are ignored),
 * when opts.cuda_graphs is set. Next tokens: argmax on the device; with temperature > 0 the logits
 * come back to the host and the CPU backend's seeded sampler (engine/cpu_sample.h) chooses, so both
 * backends sample alike. What it must not do: allocate KV blocks (engine.c owns the block tables),
 * print, or exit.
 *
 * Files: cuda_backend.c (open/close, vtable, KV sizing), cuda_step.c (validation, the plan and its
 * upload, graphs, results), cuda_forward.c (the kernels of one step), cuda_weights.c, cuda_gemm.c.
 */
#ifndef DB_CUDA_BACKEND_H
#define DB_CUDA_BACKEND_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#include "backend.h"
#include "cuda_gemm.h"
#include "cuda_nvtx.h"
#include "cuda_types.cuh"
#include "cuda_weights.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DB_CUDA_GRAPH_MAX_BATCH 1024
#define DB_CUDA_GRAPH_BUCKETS 11 /* 1, 2, 4, ..., 1024 */

/* Device buffers of one step's activations, grown on demand. T = token rows, L = LM-head rows,
 * d = dim, q = n_heads * head_size, kv = kv_dim, h = hidden_dim, V = vocab; ld16(n) = n rounded up
 * to 16. */
typedef struct db_cuda_acts {
    int cap_tokens;      /* T capacity */
    int cap_lm;          /* L capacity */
    float *x;            /* (T, d) residual stream */
    float *qkv;          /* (T, q + 2 kv) QKV GEMM output, then rounded and rotated in place */
    float *att;          /* (T, q) attention output */
    float *proj;         /* (T, d) wo / w2 output before the residual add */
    float *h13;          /* (T, 2 h) w1|w3 output */
    void *xin;           /* (ld16(T), ld16(max(d, h))) GEMM input in the scheme's input type */
    float *xin_scale;    /* (ld16(T)) fp8 token scales */
    void *lmin;          /* (ld16(L), ld16(d)) LM-head input rows */
    float *lmin_scale;   /* (ld16(L)) */
    float *logits;       /* (L, V) */
    int32_t *next;       /* (L) argmax */
    float *partial;      /* decode-attention split partials */
    size_t cap_partial;  /* floats */
    void *meta;          /* the step's metadata (cuda_step.c) */
    size_t cap_meta;     /* bytes */
    void *h_meta;        /* pinned host mirror of meta */
    int32_t *h_next;     /* pinned (L) */
    float *h_logits;     /* pinned (L, V) when logits are asked for */
    size_t cap_h_logits; /* floats */
} db_cuda_acts;

/* What the forward pass of one step runs over; every pointer is device memory. */
typedef struct db_cuda_plan {
    int T;                   /* token rows (a graph bucket's size in graph mode) */
    const int32_t *tok_id;   /* (T) */
    const int *tok_pos;      /* (T) position; -1 for a padding row */
    const int64_t *tok_slot; /* (T) physical KV slot; -1 for a padding row */
    const int *tok_bt;       /* (T) start of the row's block table in bt */
    const int *bt;           /* block tables */
    int n_dec;               /* rows for the decode-attention kernel */
    const int *dec_rows;     /* (n_dec), or NULL for rows 0 .. n_dec-1 */
    int n_splits;            /* decode-attention KV splits */
    int n_tiles;             /* prefill-attention tiles */
    const int *tiles;        /* (2 n_tiles) */
    int n_lm;                /* LM-head rows */
    const int *lm_rows;      /* (n_lm) token rows */
    int nvtx_ops;            /* emit per-layer and per-op NVTX ranges */
} db_cuda_plan;

typedef struct db_cuda_graph {
    cudaGraphExec_t exec;
    uint64_t generation; /* the buffers' generation it was captured with */
} db_cuda_graph;

typedef struct db_cuda_backend {
    db_engine_opts opts; /* checkpoint_path and sim_device are not kept (NULL) */
    db_model_config config;
    int device, sm_count, cc_major, cc_minor;
    char device_name[320];
    cudaStream_t stream;
    cudaEvent_t ev_start, ev_end;
    db_cuda_gemm gemm;
    db_cuda_weights w;
    db_num_type act_round; /* GEMM outputs are rounded to this as they are read */
    db_num_type act_in;    /* GEMM inputs are stored in this */
    db_cuda_kv_layer *kv;  /* (n_layers) views into the storage below */
    void *kv_k, *kv_v;     /* (n_layers, total_blocks, n_kv_heads, block_size, head_size) */
    float *kv_k_scale, *kv_v_scale; /* fp8: (n_layers, total_blocks, n_kv_heads, block_size) */
    int64_t total_blocks;
    int block_size;
    int max_blocks_per_seq; /* ceil(max_seq_len / block_size) */
    float *rope_freq;       /* (head_size / 2) */
    db_cuda_acts a;
    uint64_t generation; /* bumped when an activation buffer moves */
    db_cuda_graph graphs[DB_CUDA_GRAPH_BUCKETS];
    int64_t step_index;
    db_nvtx nvtx;
    int *h_want_item; /* (cap_want) host: item of each LM-head row */
    int cap_want;
    int *h_sample_idx; /* (V) host scratch of the sampler (temperature > 0) */
} db_cuda_backend;

db_status db_cuda_open(const db_engine_opts *o, int64_t total_blocks, db_cuda_backend **out,
                       db_error *err);
void db_cuda_close(db_cuda_backend *b);

/* One step (what db_backend_cuda.step does), with the CPU backend's validation and results. */
db_status db_cuda_step(db_cuda_backend *b, const db_work *work, const db_backend_seq_view *seqs,
                       int n, db_step_result *res, db_error *err);

/* ---- internal to the backend's files
 * ---------------------------------------------------------------- */

/* Enqueues the forward pass of a plan (embedding .. argmax into a.next) on b->stream. */
db_status db_cuda_forward(db_cuda_backend *b, const db_cuda_plan *p, db_error *err);

/* Activation capacity for T token rows and L LM-head rows (and their GEMM scratch). */
db_status db_cuda_acts_reserve(db_cuda_backend *b, int T, int L, db_error *err);
void db_cuda_acts_free(db_cuda_acts *a);
/* The generation of every buffer a captured graph refers to. */
static inline uint64_t db_cuda_generation(const db_cuda_backend *b) {
    return b->generation + b->gemm.generation;
}

#ifdef __cplusplus
}
#endif
#endif
