/* latency_files.c — latency.hlog and NAME.hgrm (latency_files.h). */
#include "latency_files.h"

#include <errno.h>
#include <string.h>

#include "atomic_file.h"
#include "hdr.h"

const db_latency db_hlog_metrics[DB_HLOG_METRICS] = {DB_LAT_TTFT, DB_LAT_TPOT, DB_LAT_ITL,
                                                     DB_LAT_E2E, DB_LAT_QUEUE};

int db_latency_hlog(FILE *f, const db_metrics *m, double start_epoch_s) {
    const db_metrics_summary *s = db_metrics_summary_get(m);
    if (!s || !(start_epoch_s >= 0)) return -1;
    db_hdr_log_writer w;
    if (db_hdr_log_writer_open(&w, f, start_epoch_s, start_epoch_s) != DB_HDR_OK) return -1;
    char comment[160];
    snprintf(
        comment, sizeof comment,
        "[decodebench: one interval per metric covering the measurement window; values in ns]");
    if (db_hdr_log_write_comment(&w, comment) != DB_HDR_OK) return -1;
    double start = start_epoch_s + (double)s->window_start_ns * 1e-9;
    for (int i = 0; i < DB_HLOG_METRICS; i++) {
        db_latency k = db_hlog_metrics[i];
        if (db_hdr_log_write_interval(&w, db_latency_tag(k), start, s->duration_s,
                                      db_metrics_histogram(m, k)) != DB_HDR_OK)
            return -1;
    }
    return 0;
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
