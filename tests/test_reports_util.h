/* test_reports_util.h — small helpers shared by the reports tests (test_reports*.c): reading a
 * written file back and finding gnuplot. Test code only. */
#ifndef DB_TEST_REPORTS_UTIL_H
#define DB_TEST_REPORTS_UTIL_H

#include <stdio.h>
#include <string.h>

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

#endif
