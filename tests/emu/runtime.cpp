/* runtime.cpp (tests/emu) — the CUDA runtime calls of tests/emu/cuda_runtime_api.h on host memory
 * for the emulated GPU tests: memory (device and pinned are aligned mallocs), copies and memsets,
 * one emulated device (compute capability 8.0, 80 GiB), streams, events and CUDA graphs by stream
 * capture.
 *
 * Streams: every operation runs when it is issued (db_emu_submit), so a stream is always idle and
 * synchronising is immediate. Events take the host's steady clock when their record runs.
 * Capture: cudaStreamBeginCapture on a created stream (not the legacy stream) starts recording:
 * the stream's operations (kernel launches, async copies and memsets, event records, cuBLAS GEMMs)
 * are stored in order as closures and nothing runs; cudaStreamEndCapture hands them over as a
 * graph, cudaGraphInstantiate copies them into an executable graph and cudaGraphLaunch replays
 * them in order as one operation of the launch stream. While this thread captures, the calls the
 * real runtime refuses in Global and ThreadLocal mode fail and invalidate the capture: cudaMalloc,
 * cudaFree, cudaMallocHost, cudaFreeHost, cudaMemset, cudaMemcpy, cudaDeviceSynchronize, and
 * cudaStreamSynchronize / cudaEventSynchronize / cudaStreamDestroy on the capturing stream give
 * cudaErrorStreamCaptureUnsupported; work issued to the legacy stream gives
 * cudaErrorStreamCaptureImplicit. An invalidated capture ends with
 * cudaErrorStreamCaptureInvalidated and no graph.
 * What it does NOT model: Relaxed capture mode (treated like ThreadLocal), captures spanning
 * several streams (event waits), capture from several host threads, device memory accounting.
 */
#include <chrono>
#include <functional>
#include <mutex>
#include <stdlib.h>
#include <string.h>
#include <vector>

#include "cuda_profiler_api.h"
#include "cuda_runtime.h"

typedef std::function<cudaError_t()> db_emu_op;

struct CUstream_st {
    bool capturing = false, invalidated = false;
    std::vector<db_emu_op> ops; /* recorded while capturing */
};
struct CUevent_st {
    bool recorded = false;
    std::chrono::steady_clock::time_point t;
};
struct CUgraph_st {
    std::vector<db_emu_op> ops;
};
struct CUgraphExec_st {
    std::vector<db_emu_op> ops;
};

namespace {

constexpr size_t kGiB = 1024ull * 1024ull * 1024ull;

std::mutex g_capture_mu;
cudaStream_t g_capturing = nullptr; /* the one stream this process captures into, if any */

/* A call the real runtime refuses during a capture: fails it (and the capture) if one is open. */
cudaError_t refuse_while_capturing(cudaError_t why) {
    std::lock_guard<std::mutex> lock(g_capture_mu);
    if (!g_capturing) return cudaSuccess;
    g_capturing->invalidated = true;
    return why;
}

cudaError_t copy_op(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind) {
    if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return cudaErrorInvalidValue;
    if (bytes && (!dst || !src)) return cudaErrorInvalidValue;
    if (bytes) memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t aligned_alloc_256(void **ptr, size_t bytes) {
    if (!ptr) return cudaErrorInvalidValue;
    cudaError_t e = refuse_while_capturing(cudaErrorStreamCaptureUnsupported);
    if (e != cudaSuccess) return e;
    /* cudaMalloc's 256-byte alignment; exactly `bytes`, so AddressSanitizer sees overruns. */
    if (posix_memalign(ptr, 256, bytes ? bytes : 1) != 0) {
        *ptr = nullptr;
        return cudaErrorMemoryAllocation;
    }
    return cudaSuccess;
}

} // namespace

cudaError_t db_emu_submit(cudaStream_t stream, db_emu_op op) {
    {
        std::lock_guard<std::mutex> lock(g_capture_mu);
        if (stream && stream->capturing) {
            if (!stream->invalidated) stream->ops.push_back(std::move(op));
            return stream->invalidated ? cudaErrorStreamCaptureInvalidated : cudaSuccess;
        }
        if (!stream && g_capturing) { /* the legacy stream would wait for the capturing one */
            g_capturing->invalidated = true;
            return cudaErrorStreamCaptureImplicit;
        }
    }
    return op();
}

extern "C" {

/* ---- memory --------------------------------------------------------------------------------- */

cudaError_t cudaMalloc(void **ptr, size_t bytes) {
    return aligned_alloc_256(ptr, bytes);
}

cudaError_t cudaMallocHost(void **ptr, size_t bytes) {
    return aligned_alloc_256(ptr, bytes);
}

cudaError_t cudaFree(void *ptr) {
    cudaError_t e = refuse_while_capturing(cudaErrorStreamCaptureUnsupported);
    if (e == cudaSuccess) free(ptr);
    return e;
}

cudaError_t cudaFreeHost(void *ptr) {
    return cudaFree(ptr);
}

cudaError_t cudaMemset(void *ptr, int value, size_t bytes) {
    cudaError_t e = refuse_while_capturing(cudaErrorStreamCaptureUnsupported);
    if (e != cudaSuccess) return e;
    if (bytes && !ptr) return cudaErrorInvalidValue;
    if (bytes) memset(ptr, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t stream) {
    if (bytes && !ptr) return cudaErrorInvalidValue;
    return db_emu_submit(stream, [ptr, value, bytes] {
        if (bytes) memset(ptr, value, bytes);
        return cudaSuccess;
    });
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind) {
    cudaError_t e = refuse_while_capturing(cudaErrorStreamCaptureUnsupported);
    return e != cudaSuccess ? e : copy_op(dst, src, bytes, kind);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind,
                            cudaStream_t stream) {
    if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return cudaErrorInvalidValue;
    if (bytes && (!dst || !src)) return cudaErrorInvalidValue;
    return db_emu_submit(stream, [=] { return copy_op(dst, src, bytes, kind); });
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    if (!free_bytes || !total_bytes) return cudaErrorInvalidValue;
    *total_bytes = 80 * kGiB, *free_bytes = 79 * kGiB;
    return cudaSuccess;
}

/* ---- the device ------------------------------------------------------------------------------ */

cudaError_t cudaGetDeviceCount(int *count) {
    if (!count) return cudaErrorInvalidValue;
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
    return device == 0 ? cudaSuccess : cudaErrorInvalidDevice;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device) {
    if (!prop) return cudaErrorInvalidValue;
    if (device != 0) return cudaErrorInvalidDevice;
    memset(prop, 0, sizeof *prop);
    strcpy(prop->name, "emulated A100 (tests/emu, CPU)");
    prop->totalGlobalMem = 80 * kGiB;
    prop->major = 8, prop->minor = 0;
    prop->multiProcessorCount = 108;
    prop->l2CacheSize = 40 * 1024 * 1024;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device) {
    if (!value) return cudaErrorInvalidValue;
    if (device != 0) return cudaErrorInvalidDevice;
    switch (attr) {
    case cudaDevAttrClockRate: *value = 1410000; return cudaSuccess;       /* kHz */
    case cudaDevAttrMultiProcessorCount: *value = 108; return cudaSuccess;
    case cudaDevAttrMemoryClockRate: *value = 1593000; return cudaSuccess; /* kHz */
    case cudaDevAttrGlobalMemoryBusWidth: *value = 5120; return cudaSuccess;
    case cudaDevAttrL2CacheSize: *value = 40 * 1024 * 1024; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *value = 8; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; return cudaSuccess;
    }
    return cudaErrorInvalidValue;
}

cudaError_t cudaDriverGetVersion(int *version) {
    if (!version) return cudaErrorInvalidValue;
    *version = 0; /* no driver */
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *version) {
    if (!version) return cudaErrorInvalidValue;
    *version = 0; /* the emulator, not a CUDA runtime */
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
    return refuse_while_capturing(cudaErrorStreamCaptureUnsupported);
}

cudaError_t cudaProfilerStart(void) {
    return cudaSuccess;
}

cudaError_t cudaProfilerStop(void) {
    return cudaSuccess;
}

/* ---- streams and events ---------------------------------------------------------------------- */

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned flags) {
    if (!stream || flags > cudaStreamNonBlocking) return cudaErrorInvalidValue;
    *stream = new CUstream_st;
    return cudaSuccess;
}

/* Synchronising a capturing stream, or destroying it, is refused (and ends the capture's
 * validity); any other stream has nothing pending. */
static cudaError_t stream_idle(cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(g_capture_mu);
    if (stream && stream->capturing) {
        stream->invalidated = true;
        return cudaErrorStreamCaptureUnsupported;
    }
    if (!stream && g_capturing) {
        g_capturing->invalidated = true;
        return cudaErrorStreamCaptureImplicit;
    }
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    return stream_idle(stream);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    if (!stream) return cudaErrorInvalidResourceHandle;
    cudaError_t e = stream_idle(stream);
    if (e == cudaSuccess) delete stream;
    return e;
}

cudaError_t cudaEventCreate(cudaEvent_t *event) {
    if (!event) return cudaErrorInvalidValue;
    *event = new CUevent_st;
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
    if (!event) return cudaErrorInvalidResourceHandle;
    delete event;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
    if (!event) return cudaErrorInvalidResourceHandle;
    return db_emu_submit(stream, [event] {
        event->recorded = true;
        event->t = std::chrono::steady_clock::now();
        return cudaSuccess;
    });
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
    if (!event) return cudaErrorInvalidResourceHandle;
    return refuse_while_capturing(cudaErrorStreamCaptureUnsupported);
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
    if (!ms) return cudaErrorInvalidValue;
    if (!start || !end) return cudaErrorInvalidResourceHandle;
    if (!start->recorded || !end->recorded) return cudaErrorInvalidResourceHandle;
    *ms = std::chrono::duration<float, std::milli>(end->t - start->t).count();
    return cudaSuccess;
}

/* ---- graphs ---------------------------------------------------------------------------------- */

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode) {
    if (mode < cudaStreamCaptureModeGlobal || mode > cudaStreamCaptureModeRelaxed)
        return cudaErrorInvalidValue;
    std::lock_guard<std::mutex> lock(g_capture_mu);
    if (!stream) return cudaErrorStreamCaptureUnsupported; /* the legacy stream cannot capture */
    if (stream->capturing) return cudaErrorIllegalState;
    if (g_capturing) return cudaErrorStreamCaptureUnsupported; /* one capture at a time here */
    stream->capturing = true, stream->invalidated = false;
    stream->ops.clear();
    g_capturing = stream;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph) {
    if (!graph) return cudaErrorInvalidValue;
    *graph = nullptr;
    std::lock_guard<std::mutex> lock(g_capture_mu);
    if (!stream || !stream->capturing) return cudaErrorIllegalState;
    stream->capturing = false;
    g_capturing = nullptr;
    std::vector<db_emu_op> ops;
    ops.swap(stream->ops);
    if (stream->invalidated) return cudaErrorStreamCaptureInvalidated;
    *graph = new CUgraph_st{std::move(ops)};
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long flags) {
    if (!exec || flags) return cudaErrorInvalidValue;
    *exec = nullptr;
    if (!graph) return cudaErrorInvalidValue;
    *exec = new CUgraphExec_st{graph->ops};
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
    if (!exec) return cudaErrorInvalidValue;
    return db_emu_submit(stream, [exec] {
        for (auto &op : exec->ops) {
            cudaError_t e = op();
            if (e != cudaSuccess) return e;
        }
        return cudaSuccess;
    });
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    if (!graph) return cudaErrorInvalidValue;
    delete graph;
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    if (!exec) return cudaErrorInvalidValue;
    delete exec;
    return cudaSuccess;
}
}
