/* cuda_profiler_api.h (tests/emu) — cudaProfilerStart/Stop for engine/cuda_info.c under the
 * emulator (tests/emu/runtime.cpp): no profiler can attach to the emulator, so both succeed and do
 * nothing, as the real calls do when no profiler is attached. Never part of a real CUDA build.
 */
#ifndef DB_TESTS_EMU_CUDA_PROFILER_API_H
#define DB_TESTS_EMU_CUDA_PROFILER_API_H

#include "cuda_runtime_api.h"

#ifdef __cplusplus
extern "C" {
#endif

cudaError_t cudaProfilerStart(void);
cudaError_t cudaProfilerStop(void);

#ifdef __cplusplus
}
#endif
#endif
