/* harness/hdr_hgrm.c — the percentile distribution table (".hgrm") that Java HdrHistogram's
 * outputPercentileDistribution writes and hdr-plot / HistogramLogAnalyzer read (harness/hdr.h). */
#include "hdr.h"

int db_hdr_write_percentiles(FILE *f, const db_hdr *h, int32_t ticks_per_half_distance,
                             double value_scale) {
    if (!f || !h || !h->counts || !(value_scale > 0.0))
        return DB_HDR_EINVAL;
    int digits = h->sig_figs;
    int bad = fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
                      "1/(1-Percentile)") < 0;
    db_hdr_iter it;
    db_hdr_iter_percentiles(&it, h, ticks_per_half_distance);
    while (!bad && db_hdr_iter_next(&it)) {
        double value = (double)it.value / value_scale;
        double level = it.percentile / 100.0;
        if (it.percentile != 100.0)
            bad = fprintf(f, "%12.*f %2.12f %10lld %14.2f\n", digits, value, level,
                          (long long)it.cumulative_count, 1.0 / (1.0 - level)) < 0;
        else
            bad = fprintf(f, "%12.*f %2.12f %10lld\n", digits, value, level,
                          (long long)it.cumulative_count) < 0;
    }
    if (!bad)
        bad = fprintf(f, "#[Mean    = %12.*f, StdDeviation   = %12.*f]\n", digits,
                      db_hdr_mean(h) / value_scale, digits, db_hdr_stddev(h) / value_scale) < 0;
    if (!bad)
        bad = fprintf(f, "#[Max     = %12.*f, Total count    = %12lld]\n", digits,
                      (double)db_hdr_max(h) / value_scale, (long long)h->total_count) < 0;
    if (!bad)
        bad = fprintf(f, "#[Buckets = %12d, SubBuckets     = %12d]\n", h->bucket_count,
                      h->sub_bucket_count) < 0;
    return bad || ferror(f) ? DB_HDR_EIO : DB_HDR_OK;
}
