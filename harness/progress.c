/* progress.c — the one-line live display (see progress.h). */
#include "progress.h"

#include <string.h>

#include "clock.h"

#define DB_PROGRESS_REDRAW_S 0.25

int db_progress_init(db_progress *p, FILE *f, bool enabled) {
    memset(p, 0, sizeof *p);
    p->f = f;
    if (!enabled) return 0;
    if (db_hdr_init(&p->ttft, 1000, INT64_C(3600000000000), 3) != DB_HDR_OK) return -1;
    p->enabled = true;
    p->last_draw_s = -1e9;
    return 0;
}

void db_progress_free(db_progress *p) {
    if (p->enabled) db_hdr_close(&p->ttft);
    p->enabled = false;
}

int db_progress_format(const db_run_progress *rp, double p50_ttft_s, char *buf, size_t len) {
    double tok_s = rp->now_s > 0 ? (double)rp->output_tokens / rp->now_s : 0.0;
    char ttft[32] = "-";
    if (p50_ttft_s >= 0) snprintf(ttft, sizeof ttft, "%.1f ms", p50_ttft_s * 1e3);
    char failed[32] = "";
    if (rp->failed) snprintf(failed, sizeof failed, "  %zu failed", rp->failed);
    int secs = (int)rp->now_s;
    return snprintf(buf, len, "run %zu/%zu done%s  %zu in flight  %.0f tok/s  p50 TTFT %s  %d:%02d",
                    rp->completed, rp->total, failed, rp->in_flight, tok_s, ttft, secs / 60,
                    secs % 60);
}

void db_progress_update(void *ctx, const db_run_progress *rp) {
    db_progress *p = ctx;
    if (!p->enabled) return;
    for (int i = 0; i < rp->n_new_ttft; i++) {
        int64_t ns = (int64_t)(rp->new_ttft_s[i] * 1e9);
        db_hdr_record(&p->ttft, ns < 1000 ? 1000 : ns);
    }
    if (rp->final) {
        if (p->drawn) fprintf(p->f, "\r\033[K");
        fflush(p->f);
        p->drawn = false;
        return;
    }
    double now = db_clock_monotonic_s();
    if (now - p->last_draw_s < DB_PROGRESS_REDRAW_S) return;
    p->last_draw_s = now;
    double p50 =
        p->ttft.total_count > 0 ? (double)db_hdr_value_at_percentile(&p->ttft, 50.0) * 1e-9 : -1.0;
    char line[160];
    db_progress_format(rp, p50, line, sizeof line);
    fprintf(p->f, "\r%s\033[K", line);
    fflush(p->f);
    p->drawn = true;
}
