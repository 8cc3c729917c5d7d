/* env.h — the environment fingerprint of a run, collected at run time: host name, OS and kernel
 * (uname), CPU model (/proc/cpuinfo), online cores, physical memory, and the build's facts
 * (version, git commit, build type, compiler; macros set by harness/CMakeLists.txt). The run
 * command adds what it chose (backend, device, model, precision, KV dtype, workload, arrival,
 * seed). Stored as an ordered key/value list (metrics_kv.h) that reports/ serialises into
 * summary.json. Must not: print, exit, or run external programs; a fact it cannot read is recorded
 * as "unknown".
 */
#ifndef DB_ENV_H
#define DB_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics_kv.h"

/* Append the host and build facts to l, in this order: decodebench_version, git_commit, build_type,
 * compiler, hostname, os, kernel_release, kernel_version, arch, cpu_model, cpu_cores (integer),
 * memory_bytes (integer). Returns 0, or -1 with a message in err when memory runs out. */
int db_env_collect(db_kv_list *l, char *err, size_t errlen);

/* What the run command chose; NULL strings are skipped. */
typedef struct db_env_run_facts {
    const char *backend;   /* cpu | cuda | sim */
    const char *device;    /* e.g. "NVIDIA H100 80GB HBM3", "sim:h100-sxm", the CPU model */
    const char *model;     /* model preset or checkpoint path */
    const char *precision; /* fp32 | tf32 | fp16 | bf16 | fp8 | int8 | int4 */
    const char *kv_dtype;  /* fp32 | fp16 | bf16 | fp8 */
    const char *workload;  /* length source / trace description */
    const char *arrival;   /* arrival process as given */
    uint64_t seed;
    bool has_seed;
} db_env_run_facts;

/* Append the run facts to l (keys: backend, device, model, precision, kv_dtype, workload, arrival,
 * seed). Returns 0, or -1 with a message in err when memory runs out. */
int db_env_add_run_facts(db_kv_list *l, const db_env_run_facts *f, char *err, size_t errlen);

/* The CPU model name from a /proc/cpuinfo-format file ("model name", else "Hardware" or "Processor"
 * line) copied into buf; 0, or -1 (buf = "unknown") when the file or the line is missing. */
int db_env_cpu_model(const char *cpuinfo_path, char *buf, size_t len);

#endif
