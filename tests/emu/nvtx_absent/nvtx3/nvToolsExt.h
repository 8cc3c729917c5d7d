/* nvtx3/nvToolsExt.h (tests/emu/nvtx_absent) — for the emulated CUDA backend on machines without
 * the CUDA toolkit's header-only NVTX3 (where it exists, tests/emu/CMakeLists.txt uses the real
 * one). The calls engine/cuda_nvtx.h makes, with NVTX3's names and the behaviour NVTX3 has when no
 * tool is attached (always the case under the emulator): nothing is recorded, handles are NULL,
 * push/pop return -1 ("no tool"). Never part of a real CUDA build.
 */
#ifndef DB_TESTS_EMU_NVTOOLSEXT_H
#define DB_TESTS_EMU_NVTOOLSEXT_H

#include <stdint.h>

#define NVTX_VERSION 3
#define NVTX_PAYLOAD_TYPE_INT64 2
#define NVTX_MESSAGE_TYPE_ASCII 1
#define NVTX_MESSAGE_TYPE_REGISTERED 3

typedef struct nvtxDomainRegistration_st *nvtxDomainHandle_t;
typedef struct nvtxStringRegistration_st *nvtxStringHandle_t;

typedef struct nvtxEventAttributes_v2 {
    uint16_t version;
    uint16_t size;
    uint32_t category;
    int32_t colorType;
    uint32_t color;
    int32_t payloadType;
    int32_t reserved0;
    union {
        uint64_t ullValue;
        int64_t llValue;
        double dValue;
    } payload;
    int32_t messageType;
    union {
        const char *ascii;
        nvtxStringHandle_t registered;
    } message;
} nvtxEventAttributes_t;

#define NVTX_EVENT_ATTRIB_STRUCT_SIZE ((uint16_t)(sizeof(nvtxEventAttributes_t)))

static inline nvtxDomainHandle_t nvtxDomainCreateA(const char *name) {
    (void)name;
    return (nvtxDomainHandle_t)0;
}

static inline nvtxStringHandle_t nvtxDomainRegisterStringA(nvtxDomainHandle_t d, const char *s) {
    (void)d, (void)s;
    return (nvtxStringHandle_t)0;
}

static inline int nvtxDomainRangePushEx(nvtxDomainHandle_t d, const nvtxEventAttributes_t *a) {
    (void)d, (void)a;
    return -1;
}

static inline int nvtxDomainRangePop(nvtxDomainHandle_t d) {
    (void)d;
    return -1;
}

#endif
