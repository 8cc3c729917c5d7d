/* progress.h — the live one-line progress display of `decodebench run`: completed, in flight,
 * output tokens/s and p50 TTFT so far, redrawn in place at most 4 times a second on a terminal. It
 * is silent unless enabled (the caller enables it only when stderr is a terminal and --quiet is not
 * given).
 *
 * Must not: change what is measured (it only reads db_run_progress) or exit.
 */
#ifndef DB_PROGRESS_H
#define DB_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "hdr.h"
#include "run.h"

typedef struct db_progress {
    FILE *f;
    bool enabled;
    bool drawn;         /* a line is on the terminal */
    double last_draw_s; /* real time of the last redraw */
    db_hdr ttft;        /* TTFTs so far, ns */
} db_progress;

/* enabled = false makes every call a no-op. Returns 0, or -1 when the histogram cannot be allocated
 * (the display is then disabled). */
int db_progress_init(db_progress *p, FILE *f, bool enabled);
/* A db_run_progress_fn: ctx is the db_progress. The final call erases the line. */
void db_progress_update(void *ctx, const db_run_progress *rp);
/* Formats the line (without "\r"), e.g. "run 12/100 done  2 failed  3 in flight  1234 tok/s  p50
 * TTFT 56.7 ms  0:12" (the failed count only when there are failures; tok/s and the time on the run
 * clock). */
int db_progress_format(const db_run_progress *rp, double p50_ttft_s, char *buf, size_t len);
void db_progress_free(db_progress *p);

#endif
