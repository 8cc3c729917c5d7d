/* latency_files.c — latency.hlog and NAME.hgrm (latency_files.h). */
#include "latency_files.h"

#include <errno.h>
#include <string.h>

#include "atomic_file.h"
#include "hdr.h"

const db_latency db_hlog_metrics[DB_HLOG_METRICS] = {DB_LAT_TTFT, DB_LAT_TPOT, DB_LAT_ITL,
                                                     DB_LAT_E2E, DB_LAT_QUEUE};

/* One interval per metric covering the window (the recorder kept no interval histograms). */
static int write_window(db_hdr_log_writer *w, const db_metrics *m, double start_epoch_s) {
    const db_metrics_summary *s = db_metrics_summary_get(m);
    if (db_hdr_log_write_comment(
            w, "[decodebench: one interval per metric covering the measurement window; values in "
               "ns]") != DB_HDR_OK)
        return -1;
    double start = start_epoch_s + (double)s->window_start_ns * 1e-9;
    for (int i = 0; i < DB_HLOG_METRICS; i++) {
        db_latency k = db_hlog_metrics[i];
        if (db_hdr_log_write_interval(w, db_latency_tag(k), start, s->duration_s,
                                      db_metrics_histogram(m, k)) != DB_HDR_OK)
            return -1;
    }
    return 0;
}

/* The recorder's interval histograms, in time order; per interval the metrics in file order, each
 * only when it has a sample there. */
static int write_periodic(db_hdr_log_writer *w, const db_metrics *m, double start_epoch_s) {
    const db_metrics_summary *s = db_metrics_summary_get(m);
    const db_metrics_intervals *iv = db_metrics_intervals_get(m);
    char comment[240];
    snprintf(comment, sizeof comment,
             "[decodebench: intervals of %.3f s from the window start at %.3f s (run clock) to "
             "%.3f s; each value in the interval in which it was observed; values in ns]",
             (double)iv->length_ns * 1e-9, (double)s->window_start_ns * 1e-9,
             (double)s->span_end_ns * 1e-9);
    if (db_hdr_log_write_comment(w, comment) != DB_HDR_OK) return -1;
    db_hdr h;
    if (db_hdr_init(&h, DB_METRICS_HDR_LOWEST, DB_METRICS_HDR_HIGHEST, DB_METRICS_HDR_SIG_FIGS) !=
        DB_HDR_OK)
        return -1;
    int rc = 0;
    db_interval_cursor c;
    db_metrics_interval_begin(m, &c);
    while (rc == 0 && db_metrics_interval_next(m, &c)) {
        double start = start_epoch_s + (double)c.start_ns * 1e-9;
        for (int i = 0; i < DB_HLOG_METRICS && rc == 0; i++) {
            db_latency k = db_hlog_metrics[i];
            if (db_metrics_interval_histogram(m, &c, k, &h) == 0) continue;
            if (db_hdr_log_write_interval(w, db_latency_tag(k), start, (double)c.length_ns * 1e-9,
                                          &h) != DB_HDR_OK)
                rc = -1;
        }
    }
    db_hdr_close(&h);
    return rc;
}

int db_latency_hlog(FILE *f, const db_metrics *m, double start_epoch_s) {
    const db_metrics_summary *s = db_metrics_summary_get(m);
    if (!s || !(start_epoch_s >= 0)) return -1;
    db_hdr_log_writer w;
    if (db_hdr_log_writer_open(&w, f, start_epoch_s, start_epoch_s) != DB_HDR_OK) return -1;
    if (db_metrics_intervals_get(m)->count > 0) return write_periodic(&w, m, start_epoch_s);
    return write_window(&w, m, start_epoch_s);
}

int db_latency_hlog_write(const char *path, const db_metrics *m, double start_epoch_s, char *err,
                          size_t errlen) {
    db_atomic_file af;
    if (db_atomic_open(&af, path, err, errlen) != 0) return -1;
    errno = 0;
    if (db_latency_hlog(af.f, m, start_epoch_s) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path,
                 errno ? strerror(errno) : "the histogram could not be encoded");
        db_atomic_abort(&af);
        return -1;
    }
    return db_atomic_commit(&af, err, errlen);
}

int db_latency_hgrm_write(const char *path, const db_metrics *m, db_latency k, char *err,
                          size_t errlen) {
    db_atomic_file af;
    if (db_atomic_open(&af, path, err, errlen) != 0) return -1;
    errno = 0;
    if (db_hdr_write_percentiles(af.f, db_metrics_histogram(m, k), 5, 1e6) != DB_HDR_OK) {
        snprintf(err, errlen, "cannot write '%s': %s", path,
                 errno ? strerror(errno) : "write failed");
        db_atomic_abort(&af);
        return -1;
    }
    return db_atomic_commit(&af, err, errlen);
}
