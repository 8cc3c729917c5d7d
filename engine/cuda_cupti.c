/* cuda_cupti.c — the kernel trace with CUPTI's activity API (cuda_cupti.h). */
#include "cuda_cupti.h"

#include <cuda_runtime_api.h>
#include <cupti.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The C++ runtime's demangler, __cxa_demangle (libstdc++ and libc++abi export it with C linkage),
 * looked up among the libraries already loaded (cuBLAS and CUPTI bring libstdc++). When there is
 * none the names stay as the driver reports them, and kernels.csv says so (demangled = 0). */
typedef char *(*demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

enum {
    BUFFER_BYTES = 8 << 20, /* one activity buffer */
    CORR_SLOTS = 1 << 20,   /* correlation ids remembered (the newest million launches) */
};

#define EXT_KIND CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0

/* (step, op) in one external id: ((step + 1) << 8) | (op + 2); 0 = no tag. */
static uint64_t tag_of(int64_t step, int op) {
    return ((uint64_t)(step + 1) << 8) | (uint64_t)(op + 2);
}
static int64_t tag_step(uint64_t tag) {
    return tag ? (int64_t)(tag >> 8) - 1 : -1;
}
static int tag_op(uint64_t tag) {
    return tag ? (int)(tag & 0xff) - 2 : DB_KERNEL_OP_NONE;
}

typedef struct corr_slot {
    uint32_t corr;
    uint64_t tag;
} corr_slot;

typedef struct node_slot {
    uint64_t node; /* 0 = empty */
    int op;
} node_slot;

typedef struct name_slot {
    const char *mangled; /* CUPTI's shared name pointer; NULL = empty */
    char *demangled;     /* NULL when it could not be demangled */
} name_slot;

typedef struct pending {
    uint8_t *buf;
    size_t valid;
} pending;

static struct {
    bool active;
    CUpti_SubscriberHandle sub;
    pthread_mutex_t mu; /* guards queue and dropped (CUPTI's worker thread adds to them) */
    pending *queue;
    size_t n_queue, cap_queue;
    uint64_t dropped;
    corr_slot *corr;  /* (CORR_SLOTS) direct-mapped by correlation id */
    node_slot *nodes; /* (cap_nodes) open addressing by graph node id */
    size_t n_nodes, cap_nodes;
    name_slot *names; /* (cap_names) open addressing by name pointer */
    size_t n_names, cap_names;
    int64_t cur_step; /* the launching thread's tags */
    int cur_op;
    int depth;                        /* ranges open inside the step */
    bool pushed[DB_CUPTI_MAX_DEPTH];  /* range i pushed an external id */
    int saved_op[DB_CUPTI_MAX_DEPTH]; /* cur_op before range i */
    bool oom;                         /* a map could not grow: some tags are missing */
    demangle_fn demangle;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cur_step = -1, .cur_op = DB_KERNEL_OP_NONE};

static db_status cupti_failed(db_error *err, CUptiResult r, const char *call) {
    const char *text = NULL;
    if (cuptiGetResultString(r, &text) != CUPTI_SUCCESS || !text) text = "unknown error";
    if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED)
        return db_error_set(err, DB_ERR_UNSUPPORTED,
                            "kernel trace: %s failed: another CUPTI client (a profiler such as "
                            "nsys or ncu) is attached: %s",
                            call, text);
    return db_error_set(err, DB_ERR_DEVICE, "kernel trace: %s failed: %s", call, text);
}

#define CUPTI_TRY(err, call)                                                                       \
    do {                                                                                           \
        CUptiResult cupti_r_ = (call);                                                             \
        if (cupti_r_ != CUPTI_SUCCESS) return cupti_failed((err), cupti_r_, #call);                \
    } while (0)

/* ---- maps -------------------------------------------------------------------------------------
 */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

static node_slot *node_find(uint64_t node) {
    if (!g.cap_nodes) return NULL;
    for (size_t h = mix64(node) & (g.cap_nodes - 1);; h = (h + 1) & (g.cap_nodes - 1))
        if (g.nodes[h].node == node || g.nodes[h].node == 0)
            return g.nodes[h].node == node ? &g.nodes[h] : NULL;
}

static void node_put(uint64_t node, int op) {
    if (node == 0) return;
    if ((g.n_nodes + 1) * 2 > g.cap_nodes) {
        size_t cap = g.cap_nodes ? 2 * g.cap_nodes : 1024;
        node_slot *t = calloc(cap, sizeof *t), *old = g.nodes;
        if (!t) {
            g.oom = true;
            return;
        }
        for (size_t i = 0; i < g.cap_nodes; i++) {
            if (!old[i].node) continue;
            size_t h = mix64(old[i].node) & (cap - 1);
            while (t[h].node)
                h = (h + 1) & (cap - 1);
            t[h] = old[i];
        }
        free(old);
        g.nodes = t;
        g.cap_nodes = cap;
    }
    size_t h = mix64(node) & (g.cap_nodes - 1);
    while (g.nodes[h].node && g.nodes[h].node != node)
        h = (h + 1) & (g.cap_nodes - 1);
    if (!g.nodes[h].node) g.n_nodes++;
    g.nodes[h] = (node_slot){node, op};
}

/* A more specific tag (one with an op) is not replaced by a bare step tag for the same launch. */
static void corr_put(uint32_t corr, uint64_t tag) {
    corr_slot *s = &g.corr[corr & (CORR_SLOTS - 1)];
    if (s->corr == corr && tag_op(s->tag) != DB_KERNEL_OP_NONE && tag_op(tag) == DB_KERNEL_OP_NONE)
        return;
    *s = (corr_slot){corr, tag};
}

static uint64_t corr_get(uint32_t corr) {
    const corr_slot *s = &g.corr[corr & (CORR_SLOTS - 1)];
    return s->corr == corr ? s->tag : 0;
}

/* The demangled name of a kernel (cached by CUPTI's name pointer), or NULL. */
static const char *demangled(const char *mangled) {
    if (!mangled || !g.demangle) return NULL;
    if ((g.n_names + 1) * 2 > g.cap_names) {
        size_t cap = g.cap_names ? 2 * g.cap_names : 256;
        name_slot *t = calloc(cap, sizeof *t), *old = g.names;
        if (!t) return NULL;
        for (size_t i = 0; i < g.cap_names; i++) {
            if (!old[i].mangled) continue;
            size_t h = mix64((uintptr_t)old[i].mangled) & (cap - 1);
            while (t[h].mangled)
                h = (h + 1) & (cap - 1);
            t[h] = old[i];
        }
        free(old);
        g.names = t;
        g.cap_names = cap;
    }
    size_t h = mix64((uintptr_t)mangled) & (g.cap_names - 1);
    while (g.names[h].mangled && g.names[h].mangled != mangled)
        h = (h + 1) & (g.cap_names - 1);
    if (!g.names[h].mangled) {
        int status = -1;
        char *d = g.demangle(mangled, NULL, NULL, &status);
        g.names[h] = (name_slot){mangled, status == 0 ? d : NULL};
        if (status != 0) free(d);
        g.n_names++;
    }
    return g.names[h].demangled;
}

/* ---- CUPTI callbacks ----------------------------------------------------------------------------
 */

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records) {
    *buffer = aligned_alloc(8, BUFFER_BYTES);
    *size = *buffer ? BUFFER_BYTES : 0;
    *max_records = 0;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size,
                                      size_t valid) {
    (void)size;
    size_t dropped = 0;
    if (cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped) != CUPTI_SUCCESS) dropped = 0;
    pthread_mutex_lock(&g.mu);
    g.dropped += dropped;
    if (g.n_queue == g.cap_queue) {
        size_t cap = g.cap_queue ? 2 * g.cap_queue : 16;
        pending *q = realloc(g.queue, cap * sizeof *q);
        if (q) {
            g.queue = q;
            g.cap_queue = cap;
        }
    }
    if (g.n_queue < g.cap_queue && valid > 0) {
        g.queue[g.n_queue++] = (pending){buffer, valid};
        buffer = NULL;
    }
    pthread_mutex_unlock(&g.mu);
    free(buffer); /* empty, or no room to keep it (its records are lost) */
}

/* Graph nodes: created while capturing inside an op range -> that op; cloned -> the original's. */
static void CUPTIAPI on_callback(void *ud, CUpti_CallbackDomain domain, CUpti_CallbackId id,
                                 const void *data) {
    (void)ud;
    if (domain != CUPTI_CB_DOMAIN_RESOURCE) return;
    const CUpti_ResourceData *rd = data;
    const CUpti_GraphData *gd = rd->resourceDescriptor;
    uint64_t node = 0, original = 0;
    if (!gd || cuptiGetGraphNodeId(gd->node, &node) != CUPTI_SUCCESS) return;
    if (id == CUPTI_CBID_RESOURCE_GRAPHNODE_CREATED && g.cur_op != DB_KERNEL_OP_NONE) {
        node_put(node, g.cur_op);
    } else if (id == CUPTI_CBID_RESOURCE_GRAPHNODE_CLONED &&
               cuptiGetGraphNodeId(gd->originalNode, &original) == CUPTI_SUCCESS) {
        const node_slot *o = node_find(original);
        if (o) node_put(node, o->op);
    }
}

/* ---- start / stop -------------------------------------------------------------------------------
 */

static db_status enable_all(db_error *err) {
    CUPTI_TRY(err, cuptiSubscribe(&g.sub, on_callback, NULL));
    CUPTI_TRY(err, cuptiEnableCallback(1, g.sub, CUPTI_CB_DOMAIN_RESOURCE,
                                       CUPTI_CBID_RESOURCE_GRAPHNODE_CREATED));
    CUPTI_TRY(err, cuptiEnableCallback(1, g.sub, CUPTI_CB_DOMAIN_RESOURCE,
                                       CUPTI_CBID_RESOURCE_GRAPHNODE_CLONED));
    CUPTI_TRY(err, cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed));
    CUPTI_TRY(err, cuptiActivityEnable(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION));
    CUPTI_TRY(err, cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL));
    return DB_OK;
}

static void disable_all(void) {
    cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
    cuptiActivityDisable(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION);
    if (g.sub) cuptiUnsubscribe(g.sub);
    g.sub = NULL;
}

static void release_all(void) {
    pthread_mutex_lock(&g.mu);
    for (size_t i = 0; i < g.n_queue; i++)
        free(g.queue[i].buf);
    free(g.queue);
    g.queue = NULL;
    g.n_queue = g.cap_queue = 0;
    pthread_mutex_unlock(&g.mu);
    for (size_t i = 0; i < g.cap_names; i++)
        free(g.names[i].demangled);
    free(g.names);
    free(g.nodes);
    free(g.corr);
    g.names = NULL;
    g.nodes = NULL;
    g.corr = NULL;
    g.n_names = g.cap_names = g.n_nodes = g.cap_nodes = 0;
}

db_status db_cupti_start(db_error *err) {
    if (g.active)
        return db_error_set(err, DB_ERR_UNSUPPORTED,
                            "kernel trace: already running (one per process: CUPTI takes one "
                            "client)");
    g.corr = calloc(CORR_SLOTS, sizeof *g.corr);
    if (!g.corr) return db_error_set(err, DB_ERR_NOMEM, "kernel trace: out of memory");
    g.dropped = 0;
    g.oom = false;
    g.cur_step = -1;
    g.cur_op = DB_KERNEL_OP_NONE;
    g.depth = 0;
    void *sym = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    memcpy(&g.demangle, &sym, sizeof sym); /* object pointer to function pointer (POSIX dlsym) */
    db_status st = enable_all(err);
    if (st != DB_OK) {
        disable_all();
        release_all();
        return st;
    }
    g.active = true;
    return DB_OK;
}

void db_cupti_stop(void) {
    if (!g.active) return;
    (void)cudaDeviceSynchronize();
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    disable_all(); /* CUPTI stays loaded but records nothing; a later start subscribes again */
    release_all();
    g.active = false;
}

int db_cupti_active(void) {
    return g.active;
}

uint64_t db_cupti_dropped(void) {
    pthread_mutex_lock(&g.mu);
    uint64_t d = g.dropped;
    pthread_mutex_unlock(&g.mu);
    return d;
}

db_status db_cupti_now_ns(int64_t *now_ns, db_error *err) {
    uint64_t t = 0;
    CUPTI_TRY(err, cuptiGetTimestamp(&t));
    *now_ns = (int64_t)t;
    return DB_OK;
}

/* ---- tags ---------------------------------------------------------------------------------------
 */

void db_cupti_step_begin(int64_t step) {
    if (!g.active) return;
    g.cur_step = step;
    g.cur_op = DB_KERNEL_OP_NONE;
    g.depth = 0;
    cuptiActivityPushExternalCorrelationId(EXT_KIND, tag_of(step, DB_KERNEL_OP_NONE));
}

void db_cupti_step_end(void) {
    if (!g.active) return;
    uint64_t last;
    cuptiActivityPopExternalCorrelationId(EXT_KIND, &last);
    g.cur_step = -1;
}

void db_cupti_range_begin(int op) {
    if (!g.active) return;
    if (g.depth >= DB_CUPTI_MAX_DEPTH) {
        g.depth++; /* too deep: counted so that the ends still match, not tagged */
        return;
    }
    g.saved_op[g.depth] = g.cur_op;
    g.pushed[g.depth] = op != DB_KERNEL_OP_NONE;
    if (op != DB_KERNEL_OP_NONE) {
        g.cur_op = op;
        cuptiActivityPushExternalCorrelationId(EXT_KIND, tag_of(g.cur_step, op));
    }
    g.depth++;
}

void db_cupti_range_end(void) {
    if (!g.active || g.depth == 0) return;
    if (--g.depth >= DB_CUPTI_MAX_DEPTH) return;
    if (g.pushed[g.depth]) {
        uint64_t last;
        cuptiActivityPopExternalCorrelationId(EXT_KIND, &last);
    }
    g.cur_op = g.saved_op[g.depth];
}

/* ---- drain --------------------------------------------------------------------------------------
 */

static db_kernel_record kernel_record(const CUpti_ActivityKernel10 *k) {
    db_kernel_record r = {
        .mangled_name = k->name ? k->name : "",
        .start_ns = (int64_t)k->start,
        .end_ns = (int64_t)k->end,
        .grid = {k->gridX, k->gridY, k->gridZ},
        .block = {k->blockX, k->blockY, k->blockZ},
        .registers_per_thread = k->registersPerThread,
        .static_shared_bytes = k->staticSharedMemory,
        .dynamic_shared_bytes = k->dynamicSharedMemory,
        .stream = k->streamId,
        .correlation_id = k->correlationId,
        .graph_node_id = k->graphNodeId,
        .graph_id = k->graphId,
    };
    const char *d = demangled(k->name);
    r.name = d ? d : r.mangled_name;
    r.demangled = d != NULL;
    uint64_t tag = corr_get(k->correlationId);
    r.step = tag_step(tag);
    r.op = tag_op(tag);
    if (k->graphNodeId) { /* the tag is the graph launch's: the op comes from the node */
        const node_slot *n = node_find(k->graphNodeId);
        r.op = n ? n->op : DB_KERNEL_OP_NONE;
    }
    return r;
}

/* One pass over one buffer: pass 0 files the external correlations, pass 1 hands the kernels to the
 * sink. The caller runs pass 0 over every drained buffer before pass 1, so a kernel whose launch's
 * correlation record landed in a later buffer still gets its tag. 0, or -1 when the sink stopped. */
static int deliver(const pending *p, int pass, db_kernel_sink sink, void *ctx) {
    CUpti_Activity *rec = NULL;
    while (cuptiActivityGetNextRecord(p->buf, p->valid, &rec) == CUPTI_SUCCESS) {
        if (pass == 0 && rec->kind == CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION) {
            const CUpti_ActivityExternalCorrelation *x = (const void *)rec;
            if (x->externalKind == EXT_KIND) corr_put(x->correlationId, x->externalId);
        } else if (pass == 1 && rec->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) {
            db_kernel_record r = kernel_record((const CUpti_ActivityKernel10 *)rec);
            if (sink(ctx, &r)) return -1;
        }
    }
    return 0;
}

db_status db_cupti_drain(int final, db_kernel_sink sink, void *ctx, db_error *err) {
    if (!g.active) return db_error_set(err, DB_ERR_UNSUPPORTED, "kernel trace: not running");
    if (final) {
        cudaError_t e = cudaDeviceSynchronize();
        if (e != cudaSuccess)
            return db_error_set(err, DB_ERR_DEVICE, "kernel trace: cudaDeviceSynchronize: %s",
                                cudaGetErrorString(e));
    }
    CUPTI_TRY(err, cuptiActivityFlushAll(final ? CUPTI_ACTIVITY_FLAG_FLUSH_FORCED : 0));
    pthread_mutex_lock(&g.mu);
    pending *q = g.queue;
    size_t n = g.n_queue;
    g.queue = NULL;
    g.n_queue = g.cap_queue = 0;
    pthread_mutex_unlock(&g.mu);
    int stopped = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n && !stopped; i++)
            stopped = deliver(&q[i], pass, sink, ctx);
    for (size_t i = 0; i < n; i++)
        free(q[i].buf);
    free(q);
    if (stopped)
        return db_error_set(err, DB_ERR_IO,
                            "kernel trace: the records' consumer stopped (kernels.csv could not be "
                            "written, or out of memory)");
    return DB_OK;
}
