/* test_reports_util.h — small helpers shared by the reports tests (test_reports*.c): reading a
 * written file back and finding gnuplot. Test code only. */
#ifndef DB_TEST_REPORTS_UTIL_H
#define DB_TEST_REPORTS_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot.h"

/* 1 when the first MiB of the file at path holds needle; 0 otherwise (also when it cannot be read).
 */
static inline int file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}

/* 1 when gnuplot is found (its terminal name in term[16]), else 0: the chart tests skip then. */
static inline int have_gnuplot(char *term) {
    char e[256];
    return db_plot_find_gnuplot(term, 16, e, sizeof e) == 0;
}

/* A fresh folder /tmp/db_NAME_PID in dir[len] for a test file's outputs; 0. */
static inline int reports_dir_make(char *dir, size_t len, const char *name) {
    snprintf(dir, len, "/tmp/db_%s_%d", name, (int)getpid());
    mkdir(dir, 0755);
    return 0;
}

/* Removes that folder and what is in it; 0, or -1 when rm failed. */
static inline int reports_dir_remove(const char *dir) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
