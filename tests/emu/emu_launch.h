/* emu_launch.h (tests/emu) — included before each kernels/ .cu file in the emulated build (the
 * wrappers tests/emu/CMakeLists.txt generates): kernels/cuda_common.cuh's emulated DB_LAUNCH
 * evaluates the launch arguments inside the lambda it runs, which is right for a launch that runs
 * at once; a launch recorded into a CUDA graph runs later, after the launcher has returned (its
 * locals and whatever its pointers pointed to may be gone). Here, as on a GPU, the arguments are
 * evaluated and converted to the kernel's parameter types when the launch is issued, and the
 * launch keeps its own copy of them. Everything else of cuda_common.cuh is unchanged (its include
 * guard keeps the .cu file's own include a no-op).
 */
#ifndef DB_TESTS_EMU_EMU_LAUNCH_H
#define DB_TESTS_EMU_EMU_LAUNCH_H

#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_common.cuh"

/* A callable that runs kernel on a copy of args converted to its parameter types now. */
template <class... P, class... A> static inline auto db_emu_bind(void (*kernel)(P...), A &&...args) {
    static_assert(sizeof...(P) == sizeof...(A), "kernel launched with a wrong number of arguments");
    return [kernel, params = std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)]() {
        std::apply(kernel, params);
    };
}

#undef DB_LAUNCH
#define DB_LAUNCH(kernel, grid, block, smem, stream, ...)                                          \
    db_emu_launch(kernel, grid, block, smem, stream, db_emu_bind(kernel, __VA_ARGS__))

#endif
