/* cublasLt.h (tests/emu) — kernels/cuda_check.h includes it; cuBLASLt shares cuBLAS's status type
 * (tests/emu/cublas_v2.h). No cuBLASLt operation is emulated.
 */
#ifndef DB_TESTS_EMU_CUBLASLT_H
#define DB_TESTS_EMU_CUBLASLT_H

#include "cublas_v2.h"

#endif
