/* atomic_file.c — temporary file + rename (atomic_file.h). */
#include "atomic_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void release(db_atomic_file *af) {
    free(af->path);
    free(af->tmp_path);
    *af = (db_atomic_file){0};
}

int db_atomic_open(db_atomic_file *af, const char *path, char *err, size_t errlen) {
    *af = (db_atomic_file){0};
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    if (!*base) return fail(err, errlen, "cannot write '%s': not a file name", path);
    af->path = strdup(path);
    af->tmp_path = malloc(strlen(path) + 16);
    if (!af->path || !af->tmp_path) {
        release(af);
        return fail(err, errlen, "cannot write '%s': out of memory", path);
    }
    sprintf(af->tmp_path, "%.*s.%s.tmp.XXXXXX", (int)dir_len, path, base);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int e = errno;
        release(af);
        return fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    fchmod(fd, 0644); /* mkstemp creates 0600; outputs are meant to be shared */
    af->f = fdopen(fd, "w");
    if (!af->f) {
        int e = errno;
        close(fd);
        unlink(af->tmp_path);
        release(af);
        return fail(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

int db_atomic_commit(db_atomic_file *af, char *err, size_t errlen) {
    int e = 0;
    if (ferror(af->f)) e = errno ? errno : EIO;
    if (!e && fflush(af->f) != 0) e = errno;
    if (!e && fsync(fileno(af->f)) != 0 && errno != EINVAL) e = errno;
    if (fclose(af->f) != 0 && !e) e = errno;
    af->f = NULL;
    if (!e && rename(af->tmp_path, af->path) != 0) e = errno;
    if (e) {
        unlink(af->tmp_path);
        fail(err, errlen, "cannot write '%s': %s", af->path, strerror(e));
        release(af);
        return -1;
    }
    release(af);
    return 0;
}

void db_atomic_abort(db_atomic_file *af) {
    if (af->f) fclose(af->f);
    if (af->tmp_path) unlink(af->tmp_path);
    release(af);
}
