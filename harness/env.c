/* env.c — the environment fingerprint (env.h). */
#include "env.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef DECODEBENCH_VERSION
#define DECODEBENCH_VERSION "unknown"
#endif
#ifndef DECODEBENCH_GIT_COMMIT
#define DECODEBENCH_GIT_COMMIT "unknown"
#endif
#ifndef DECODEBENCH_BUILD_TYPE
#define DECODEBENCH_BUILD_TYPE "unknown"
#endif
#ifndef DECODEBENCH_COMPILER
#define DECODEBENCH_COMPILER "unknown"
#endif

static void copy_trimmed(char *buf, size_t len, const char *s) {
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= len) n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

int db_env_cpu_model(const char *cpuinfo_path, char *buf, size_t len) {
    static const char *const keys[] = {"model name", "Hardware", "Processor"};
    char found[3][256] = {"", "", ""};
    char line[512];
    snprintf(buf, len, "unknown");
    FILE *f = fopen(cpuinfo_path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        char key[64];
        copy_trimmed(key, sizeof key, line);
        for (int k = 0; k < 3; k++)
            if (!found[k][0] && !strcmp(key, keys[k]))
                copy_trimmed(found[k], sizeof found[k], colon + 1);
    }
    fclose(f);
    for (int k = 0; k < 3; k++)
        if (found[k][0]) {
            snprintf(buf, len, "%s", found[k]);
            return 0;
        }
    return -1;
}

/* MemTotal from /proc/meminfo in bytes, else pages * page size; -1 when neither answers. */
static int64_t memory_bytes(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        long long kib = -1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemTotal: %lld kB", &kib) == 1) break;
        fclose(f);
        if (kib > 0) return (int64_t)kib * 1024;
    }
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (int64_t)pages * page : -1;
}

int db_env_collect(db_kv_list *l, char *err, size_t errlen) {
    struct utsname u;
    bool have_uname = uname(&u) == 0;
    char host[256] = "unknown", cpu[256];
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    db_env_cpu_model("/proc/cpuinfo", cpu, sizeof cpu);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t mem = memory_bytes();
    int rc = 0;
    rc |= db_kv_set(l, "decodebench_version", DECODEBENCH_VERSION);
    rc |= db_kv_set(l, "git_commit", DECODEBENCH_GIT_COMMIT);
    rc |= db_kv_set(l, "build_type", DECODEBENCH_BUILD_TYPE);
    rc |= db_kv_set(l, "compiler", DECODEBENCH_COMPILER);
    rc |= db_kv_set(l, "hostname", host);
    rc |= db_kv_set(l, "os", have_uname ? u.sysname : "unknown");
    rc |= db_kv_set(l, "kernel_release", have_uname ? u.release : "unknown");
    rc |= db_kv_set(l, "kernel_version", have_uname ? u.version : "unknown");
    rc |= db_kv_set(l, "arch", have_uname ? u.machine : "unknown");
    rc |= db_kv_set(l, "cpu_model", cpu);
    rc |= cores > 0 ? db_kv_set_int(l, "cpu_cores", cores) : db_kv_set(l, "cpu_cores", "unknown");
    rc |= mem > 0 ? db_kv_set_int(l, "memory_bytes", mem) : db_kv_set(l, "memory_bytes", "unknown");
    if (rc != 0) {
        if (err && errlen) snprintf(err, errlen, "environment fingerprint: out of memory");
        return -1;
    }
    return 0;
}

int db_env_add_run_facts(db_kv_list *l, const db_env_run_facts *f, char *err, size_t errlen) {
    const struct {
        const char *key, *value;
    } text[] = {{"backend", f->backend},     {"device", f->device},     {"model", f->model},
                {"precision", f->precision}, {"kv_dtype", f->kv_dtype}, {"workload", f->workload},
                {"arrival", f->arrival}};
    int rc = 0;
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (text[i].value) rc |= db_kv_set(l, text[i].key, text[i].value);
    if (f->has_seed) {
        if (f->seed <= (uint64_t)INT64_MAX)
            rc |= db_kv_set_int(l, "seed", (int64_t)f->seed);
        else
            rc |= db_kv_setf(l, "seed", "%" PRIu64, f->seed);
    }
    if (rc != 0) {
        if (err && errlen) snprintf(err, errlen, "environment fingerprint: out of memory");
        return -1;
    }
    return 0;
}
