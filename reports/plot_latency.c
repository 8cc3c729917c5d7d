/* plot_latency.c — latency percentile distributions of a run from its .hgrm files, on the 1/(1-p)
 * axis HdrHistogram's plotters use (plot.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

/* Copies the rows "value percentile count 1/(1-p)" of an .hgrm file (values in ms) into the data
 * file as "value inverse" lines; the last row (p = 1, no finite 1/(1-p)) and the footer are left
 * out. Returns the rows copied, or -1 when the file cannot be read (errno set). */
static int copy_hgrm(const char *path, FILE *out, double *max_inv) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        double v, p, inv;
        long long count;
        if (line[0] == '#') continue;
        if (sscanf(line, "%lf %lf %lld %lf", &v, &p, &count, &inv) != 4) continue;
        if (!isfinite(v) || !isfinite(inv) || inv < 1) continue;
        fprintf(out, "%.6g %.6g\n", v, inv);
        *max_inv = fmax(*max_inv, inv);
        n++;
    }
    fclose(f);
    return n;
}

int db_plot_latency_cdf(const char *run_dir, const char *out_dir, const char *term, char *err,
                        size_t errlen) {
    static const char *const files[] = {"ttft", "tpot", "e2e"};
    static const char *const names[] = {"TTFT", "TPOT", "E2E"};
    db_plot_chart ch;
    if (db_plot_open(&ch, out_dir, "latency_cdf", err, errlen)) return -1;
    int blocks[3], n_blocks = 0;
    double max_inv = 10;
    for (int i = 0; i < 3; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s.hgrm", run_dir, files[i]);
        fprintf(ch.dat, "# %s (%s): latency ms, 1/(1-percentile)\n", names[i], path);
        int n = copy_hgrm(path, ch.dat, &max_inv);
        fprintf(ch.dat, "\n\n");
        blocks[i] = n > 0 ? n_blocks : -1;
        n_blocks++;
    }
    if (blocks[0] < 0 && blocks[1] < 0 && blocks[2] < 0) {
        db_plot_abort(&ch);
        snprintf(err, errlen, "%s: no ttft.hgrm, tpot.hgrm or e2e.hgrm with values", run_dir);
        return -1;
    }
    FILE *g = ch.gp;
    double top = pow(10, ceil(log10(max_inv)));
    fprintf(g, "set logscale x\nset xrange [1:%.6g]\n", top);
    fprintf(g, "set xtics (");
    for (int k = 0; pow(10, k) <= top; k++) {
        if (k == 0)
            fprintf(g, "'0%%%%' 1"); /* tic labels are formats: %% is a percent sign */
        else
            fprintf(g, ", '%.*f%%%%' %.0f", k > 2 ? k - 2 : 0, 100.0 - 100.0 / pow(10, k),
                    pow(10, k));
    }
    fprintf(g, ")\nset xlabel 'percentile'\nset ylabel 'latency (ms)'\nset key top left\n");
    fprintf(g, "set yrange [0:*]\n");
    db_plot_begin_outputs(&ch, term, 1500, 520);
    fprintf(g, "  set multiplot layout 1,3 title ");
    char title[1200];
    snprintf(title, sizeof title, "Latency by percentile: %s", run_dir);
    db_plot_quote(&ch, title);
    fprintf(g, "\n");
    for (int i = 0; i < 3; i++) {
        if (blocks[i] < 0) continue;
        fprintf(g, "  set title '%s'\n", names[i]);
        fprintf(g, "  plot datafile index %d using 2:1 with steps lt %d title '%s'\n", blocks[i],
                i + 1, names[i]);
    }
    fprintf(g, "  unset multiplot\n");
    db_plot_end_outputs(&ch);
    return db_plot_finish(&ch, err, errlen);
}
