/* cuda_nvtx.h — NVTX3 ranges of the CUDA backend in the domain "decodebench": per step (payload:
 * the step index; the message also gives the batch size and token count), per phase (prefill,
 * decode, mixed; payload: tokens), per layer (payload: layer index) and per op (embedding, qkv,
 * attention, out_proj, mlp, norm, lm_head; payload: layer index, -1 outside layers).
 *
 * What it is for: Nsight Systems timelines that line up with the engine's steps and op classes.
 * NVTX3 is header-only: with no tool attached each call is a check of a function pointer (the step
 * message's snprintf is the only work done per step). Op and layer ranges are host ranges around
 * the launches, so they are emitted only when a step runs eagerly, not when a CUDA graph replays.
 * What it must not do: allocate per call, or destroy the domain (other backends share it).
 */
#ifndef DB_CUDA_NVTX_H
#define DB_CUDA_NVTX_H

#include <nvtx3/nvToolsExt.h>
#include <stdint.h>

typedef enum db_nvtx_range {
    DB_NVTX_PREFILL = 0,
    DB_NVTX_DECODE,
    DB_NVTX_MIXED,
    DB_NVTX_LAYER,
    DB_NVTX_EMBED,
    DB_NVTX_QKV,
    DB_NVTX_ATTN,
    DB_NVTX_OUT,
    DB_NVTX_MLP,
    DB_NVTX_NORM,
    DB_NVTX_LMHEAD,
    DB_NVTX_GRAPH,
    DB_NVTX_COUNT
} db_nvtx_range;

typedef struct db_nvtx {
    nvtxDomainHandle_t domain;
    nvtxStringHandle_t name[DB_NVTX_COUNT];
} db_nvtx;

static inline void db_nvtx_init(db_nvtx *n) {
    static const char *const names[DB_NVTX_COUNT] = {
        "prefill",   "decode",   "mixed", "layer", "embedding", "qkv",
        "attention", "out_proj", "mlp",   "norm",  "lm_head",   "graph_launch"};
    n->domain = nvtxDomainCreateA("decodebench");
    for (int i = 0; i < DB_NVTX_COUNT; i++)
        n->name[i] = nvtxDomainRegisterStringA(n->domain, names[i]);
}

static inline void db_nvtx_attrs(nvtxEventAttributes_t *a, int64_t payload) {
    *a = (nvtxEventAttributes_t){0};
    a->version = NVTX_VERSION;
    a->size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    a->payloadType = NVTX_PAYLOAD_TYPE_INT64;
    a->payload.llValue = payload;
}

static inline void db_nvtx_push(const db_nvtx *n, db_nvtx_range r, int64_t payload) {
    nvtxEventAttributes_t a;
    db_nvtx_attrs(&a, payload);
    a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
    a.message.registered = n->name[r];
    nvtxDomainRangePushEx(n->domain, &a);
}

/* A range with its own text (the step range: "step 12: batch 32, 32 tokens"). */
static inline void db_nvtx_push_text(const db_nvtx *n, const char *text, int64_t payload) {
    nvtxEventAttributes_t a;
    db_nvtx_attrs(&a, payload);
    a.messageType = NVTX_MESSAGE_TYPE_ASCII;
    a.message.ascii = text;
    nvtxDomainRangePushEx(n->domain, &a);
}

static inline void db_nvtx_pop(const db_nvtx *n) {
    nvtxDomainRangePop(n->domain);
}

#endif
