/* simt.cpp (tests/emu) — a small SIMT emulator that runs the CUDA kernels of the kernels/ .cu
 * files, compiled as C++20 against the headers of tests/emu, on the CPU: every CUDA thread of a
 * block is an OS thread, __syncthreads is a std::barrier of the block, a warp shuffle meets at a
 * std::barrier of the warp (each lane writes its value, all arrive, each reads its source lane's).
 * It also keeps the runtime's last launch error (cudaGetLastError) and error names; memory,
 * streams, events, graphs and device queries are tests/emu/runtime.cpp.
 *
 * Launch checks (those of a GPU of compute capability 9.0): at most 1024 threads per block (x, y
 * <= 1024, z <= 64), grid x < 2^31, grid y and z <= 65535, no zero dimension
 * (cudaErrorInvalidConfiguration); dynamic shared memory within 48 KiB, or within the kernel's
 * cudaFuncAttributeMaxDynamicSharedMemorySize, itself at most 227 KiB (cudaErrorInvalidValue). A
 * failed launch runs nothing and is reported by the next cudaGetLastError. Dynamic shared memory
 * is a malloc of exactly the launch's size, filled with 0xFF bytes (NaN), so AddressSanitizer sees
 * an access past it and a read before any write gives NaN.
 *
 * Order: blocks run one after another, x fastest, then y, then z; with DB_EMU_BLOCK_ORDER=reverse
 * in the environment, in the exact reverse order. Both are legal schedules of a GPU, so a result
 * that depends on the order between blocks (a race between blocks) shows as a difference.
 *
 * What it does NOT model: blocks running concurrently (atomics and inter-block communication are
 * only exercised in these two orders), timing of any kind, warps diverging between shuffles
 * (lanes meet only at shuffles; a shuffle by a partial warp aborts, lanes waiting at different
 * barriers hang), CUDA's math intrinsics (host libm), FMA contraction, the memory model beyond
 * what the barriers order, static shared memory's limit, registers, caches. Test use only.
 */
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <thread>
#include <vector>

#include "cuda_runtime.h"

thread_local uint3 threadIdx, blockIdx;
thread_local dim3 blockDim, gridDim;

namespace {

constexpr size_t kDefaultSmem = 48 * 1024;   /* dynamic shared memory without the attribute */
constexpr size_t kMaxOptinSmem = 227 * 1024; /* cudaDevAttrMaxSharedMemoryPerBlockOptin, cc 9.0 */

[[noreturn]] void fatal(const char *what) {
    fprintf(stderr, "CUDA emulator: %s (block %u,%u,%u thread %u,%u,%u)\n", what, blockIdx.x,
            blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z);
    abort();
}

struct warp_state;

/* Runs once per phase of a warp's barrier, when every live lane has arrived. */
struct warp_check {
    warp_state *w;
    void operator()() noexcept;
};

struct warp_state {
    std::unique_ptr<std::barrier<warp_check>> bar;
    unsigned size = 0;             /* lanes launched (32 but in a block's last, partial warp) */
    std::atomic<unsigned> live{0}; /* lanes not yet returned from the kernel */
    std::atomic<bool> shuffling{false}; /* a shuffle is in this phase (not only returning lanes) */
    uint32_t slot[2][32] = {};          /* shuffle k writes and reads slot[k % 2] */
};

void warp_check::operator()() noexcept {
    /* Every live lane is blocked in this phase, so `live` cannot change while this runs. */
    if (w->shuffling.load() && (w->size != 32 || w->live.load() != 32))
        fatal("warp shuffle with mask 0xFFFFFFFF while lanes of the warp are missing or have "
              "returned (undefined on a GPU)");
    w->shuffling.store(false);
}

struct block_state {
    std::unique_ptr<std::barrier<>> bar;
    std::vector<warp_state> warps;
    void *smem = nullptr;
    uint3 idx{0, 0, 0};
    dim3 grid, block;
    void (*body)(void *) = nullptr;
    void *body_ctx = nullptr;
};

thread_local block_state *tl_block;
thread_local unsigned tl_tid;      /* linear thread index in the block */
thread_local unsigned tl_shuffles; /* shuffles this thread has made in its block */

/* Worker threads kept across launches (creating 128-1024 threads per block would dominate). */
class worker_pool {
  public:
    ~worker_pool() {
        {
            std::lock_guard<std::mutex> g(mu_);
            stop_ = true;
            gen_++;
        }
        cv_.notify_all();
        for (auto &t : threads_)
            t.join();
    }

    /* Runs the block's nt threads on workers 0 .. nt-1 and waits for all of them. */
    void run_block(block_state *b, unsigned nt) {
        while (threads_.size() < nt) {
            unsigned id = (unsigned)threads_.size();
            threads_.emplace_back([this, id] { loop(id); });
        }
        {
            std::lock_guard<std::mutex> g(mu_);
            job_ = b;
            job_threads_ = nt;
            remaining_ = nt;
            gen_++;
        }
        cv_.notify_all();
        std::unique_lock<std::mutex> g(mu_);
        done_.wait(g, [this] { return remaining_ == 0; });
    }

  private:
    void loop(unsigned id) {
        unsigned long long seen = 0;
        for (;;) {
            block_state *b;
            {
                std::unique_lock<std::mutex> g(mu_);
                cv_.wait(g, [&] { return gen_ != seen; });
                seen = gen_;
                if (stop_) return;
                if (id >= job_threads_) continue;
                b = job_;
            }
            run_thread(b, id);
            std::lock_guard<std::mutex> g(mu_);
            if (--remaining_ == 0) done_.notify_one();
        }
    }

    static void run_thread(block_state *b, unsigned tid) {
        tl_block = b;
        tl_tid = tid;
        tl_shuffles = 0;
        unsigned bx = b->block.x, by = b->block.y;
        threadIdx = uint3{tid % bx, tid / bx % by, tid / (bx * by)};
        blockIdx = b->idx;
        blockDim = b->block;
        gridDim = b->grid;
        b->body(b->body_ctx);
        /* A returned thread no longer holds back the block's or its warp's barriers. */
        warp_state &w = b->warps[tid / 32];
        w.live.fetch_sub(1);
        w.bar->arrive_and_drop();
        b->bar->arrive_and_drop();
    }

    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable cv_, done_;
    unsigned long long gen_ = 0;
    bool stop_ = false;
    block_state *job_ = nullptr;
    unsigned job_threads_ = 0, remaining_ = 0;
};

std::mutex g_mu; /* the last error and the attribute map (host calls may come from any thread) */
cudaError_t g_last_error = cudaSuccess;
std::map<const void *, size_t> g_max_smem;

void set_error(cudaError_t e) {
    std::lock_guard<std::mutex> g(g_mu);
    g_last_error = e;
}

bool reverse_order() {
    static const int rev = [] {
        const char *v = getenv("DB_EMU_BLOCK_ORDER");
        if (!v || !strcmp(v, "forward")) return 0;
        if (!strcmp(v, "reverse")) return 1;
        fprintf(stderr, "CUDA emulator: DB_EMU_BLOCK_ORDER is '%s', expected forward or reverse\n",
                v);
        abort();
    }();
    return rev != 0;
}

cudaError_t check_launch(const void *kernel, dim3 g, dim3 b, size_t smem) {
    unsigned long long nt = (unsigned long long)b.x * b.y * b.z;
    if (nt == 0 || nt > 1024 || b.x > 1024 || b.y > 1024 || b.z > 64)
        return cudaErrorInvalidConfiguration;
    if (g.x == 0 || g.y == 0 || g.z == 0 || g.x > 0x7FFFFFFFu || g.y > 65535 || g.z > 65535)
        return cudaErrorInvalidConfiguration;
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_max_smem.find(kernel);
    size_t limit = it == g_max_smem.end() ? kDefaultSmem : it->second;
    return smem > limit ? cudaErrorInvalidValue : cudaSuccess;
}

worker_pool &pool() {
    static worker_pool p;
    return p;
}

} // namespace

cudaError_t db_emu_check_launch(const void *kernel, dim3 grid, dim3 block, size_t dynamic_smem) {
    return check_launch(kernel, grid, block, dynamic_smem);
}

void db_emu_set_launch_error(cudaError_t e) {
    set_error(e);
}

void db_emu_run(const void *kernel, dim3 grid, dim3 block, size_t dynamic_smem,
                void (*body)(void *), void *body_ctx) {
    cudaError_t e = check_launch(kernel, grid, block, dynamic_smem);
    if (e != cudaSuccess) {
        set_error(e);
        return;
    }
    unsigned nt = block.x * block.y * block.z, nw = (nt + 31) / 32;
    unsigned long long n_blocks = (unsigned long long)grid.x * grid.y * grid.z;
    bool rev = reverse_order();
    for (unsigned long long i = 0; i < n_blocks; i++) {
        unsigned long long lin = rev ? n_blocks - 1 - i : i;
        block_state b;
        b.idx = uint3{(unsigned)(lin % grid.x), (unsigned)(lin / grid.x % grid.y),
                      (unsigned)(lin / ((unsigned long long)grid.x * grid.y))};
        b.grid = grid;
        b.block = block;
        b.body = body;
        b.body_ctx = body_ctx;
        b.bar = std::make_unique<std::barrier<>>(nt);
        b.warps = std::vector<warp_state>(nw);
        for (unsigned w = 0; w < nw; w++) {
            unsigned n = nt - 32 * w < 32 ? nt - 32 * w : 32;
            b.warps[w].bar = std::make_unique<std::barrier<warp_check>>(n, warp_check{&b.warps[w]});
            b.warps[w].size = n;
            b.warps[w].live = n;
        }
        if (dynamic_smem) {
            b.smem = malloc(dynamic_smem);
            if (!b.smem) fatal("out of host memory for dynamic shared memory");
            memset(b.smem, 0xFF, dynamic_smem);
        }
        pool().run_block(&b, nt);
        free(b.smem);
    }
}

void *db_emu_dynamic_shared() {
    return tl_block->smem;
}

cudaError_t db_emu_set_max_dynamic_shared(const void *kernel, int bytes) {
    if (bytes < 0 || (size_t)bytes > kMaxOptinSmem) return cudaErrorInvalidValue;
    std::lock_guard<std::mutex> g(g_mu);
    g_max_smem[kernel] = (size_t)bytes;
    return cudaSuccess;
}

void __syncthreads() {
    tl_block->bar->arrive_and_wait();
}

unsigned db_emu_lane() {
    return tl_tid & 31u;
}

uint32_t db_emu_shfl(unsigned mask, uint32_t bits, unsigned src_lane) {
    if (mask != 0xFFFFFFFFu) fatal("warp shuffle with a partial mask (not emulated)");
    warp_state &w = tl_block->warps[tl_tid / 32];
    /* One barrier per shuffle: shuffle k uses slot[k % 2], and no lane can write slot[k % 2] again
     * (shuffle k + 2) before every lane has passed shuffle k + 1, i.e. has read shuffle k. */
    unsigned k = tl_shuffles++;
    w.slot[k & 1u][tl_tid & 31u] = bits;
    w.shuffling.store(true);
    w.bar->arrive_and_wait();
    return w.slot[k & 1u][src_lane];
}

unsigned long long atomicMin(unsigned long long *address, unsigned long long value) {
    std::atomic_ref<unsigned long long> a(*address);
    unsigned long long old = a.load();
    while (value < old && !a.compare_exchange_weak(old, value)) {
    }
    return old;
}

/* ---- runtime API on host memory ----------------------------------------------------------------
 */

extern "C" {

cudaError_t cudaGetLastError(void) {
    std::lock_guard<std::mutex> g(g_mu);
    cudaError_t e = g_last_error;
    g_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) {
    std::lock_guard<std::mutex> g(g_mu);
    return g_last_error;
}

const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess:
        return "cudaSuccess";
    case cudaErrorInvalidValue:
        return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
        return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
        return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice:
        return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle:
        return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalState:
        return "cudaErrorIllegalState";
    case cudaErrorNotReady:
        return "cudaErrorNotReady";
    case cudaErrorStreamCaptureUnsupported:
        return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated:
        return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureImplicit:
        return "cudaErrorStreamCaptureImplicit";
    case cudaErrorStreamCaptureWrongThread:
        return "cudaErrorStreamCaptureWrongThread";
    }
    return "cudaErrorUnknown";
}

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess:
        return "no error";
    case cudaErrorInvalidValue:
        return "invalid argument";
    case cudaErrorMemoryAllocation:
        return "out of memory";
    case cudaErrorInvalidConfiguration:
        return "invalid configuration argument";
    case cudaErrorInvalidDevice:
        return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle:
        return "invalid resource handle";
    case cudaErrorIllegalState:
        return "the operation cannot be performed in the present state";
    case cudaErrorNotReady:
        return "device not ready";
    case cudaErrorStreamCaptureUnsupported:
        return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
        return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
        return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorStreamCaptureWrongThread:
        return "attempt to terminate a thread-local capture sequence from another thread";
    }
    return "unknown error";
}

}
