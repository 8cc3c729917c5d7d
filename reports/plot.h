/* plot.h — charts drawn with gnuplot. Each chart is a gnuplot script and a data file written to
 * OUT/plots/ (so it can be restyled and rerun by hand: `gnuplot OUT/plots/NAME.gp`) and two images,
 * OUT/NAME.png (pngcairo when gnuplot has it, else png) and OUT/NAME.svg. gnuplot runs as a child
 * process (no shell) with the script path as its argument; its messages go to OUT/plots/NAME.log
 * and the first one is quoted when it fails.
 *
 * Charts:
 *   roofline     log-log: attainable performance vs arithmetic intensity; one ceiling per
 *                precision (min(peak, AI x bandwidth)) with its ridge point marked and labelled;
 *                the sweep's points coloured by precision and labelled by batch; the title says
 *                whether the ceilings were measured or are datasheet figures.
 *   step_time    step time (ms) vs batch, one curve per precision / KV dtype / context, log-log;
 *                the measured knee (solid) and the predicted crossover (dashed) of each curve.
 *   throughput   decode tokens/s vs batch, the same curves and marks.
 *   latency_cdf  TTFT, TPOT and E2E of a run from its .hgrm files: latency (ms) against the
 *                percentile on the 1/(1-p) axis HdrHistogram plots use (0%, 90%, 99%, 99.9%).
 *
 * What it must not do: know the engine or the sweep runner; print (messages come back in err).
 */
#ifndef DB_PLOT_H
#define DB_PLOT_H

#include <stddef.h>

#include "roofline.h"

/* Checks that gnuplot runs and picks its PNG terminal ("pngcairo", else "png") into term. 0, or -1
 * with err saying gnuplot was not found or cannot draw PNG. */
int db_plot_find_gnuplot(char *term, size_t term_len, char *err, size_t errlen);

/* Each writes OUT/plots/NAME.{gp,dat} and OUT/NAME.{png,svg}. 0, or -1 with err (a file could not
 * be written, gnuplot failed, nothing to draw). out_dir must exist. */
int db_plot_roofline(const db_rl_report *r, const char *out_dir, const char *term, char *err,
                     size_t errlen);
int db_plot_step_time(const db_rl_report *r, const char *out_dir, const char *term, char *err,
                      size_t errlen);
int db_plot_throughput(const db_rl_report *r, const char *out_dir, const char *term, char *err,
                       size_t errlen);

/* Reads RUN/ttft.hgrm, RUN/tpot.hgrm and RUN/e2e.hgrm (those present; at least one). */
int db_plot_latency_cdf(const char *run_dir, const char *out_dir, const char *term, char *err,
                        size_t errlen);

/* ---- shared by the chart writers (plot*.c) ------------------------------------------------------
 */

/* An open chart: its script and data streams and their paths. */
typedef struct db_plot_chart {
    char name[32];
    char gp_path[1024], dat_path[1024], log_path[1024], png_path[1024], svg_path[1024];
    void *gp, *dat; /* FILE * */
} db_plot_chart;

/* Creates OUT/plots/ and opens NAME.gp and NAME.dat. 0, or -1 with err. */
int db_plot_open(db_plot_chart *c, const char *out_dir, const char *name, char *err, size_t errlen);
/* Writes `s` to the script as a gnuplot single-quoted string ('' doubles a quote). */
void db_plot_quote(db_plot_chart *c, const char *s);
/* Closes both files, runs gnuplot on the script. 0, or -1 with err. */
int db_plot_finish(db_plot_chart *c, char *err, size_t errlen);
/* Closes and removes nothing (files stay for inspection); for error paths. */
void db_plot_abort(db_plot_chart *c);
/* Opens a `do for [fmt in "png svg"] { ... }` block in the script that sets the PNG terminal
 * (term) or SVG at width x height and the matching output; the chart's commands follow, then
 * db_plot_end_outputs closes the block, so both images come from the same commands. */
void db_plot_begin_outputs(db_plot_chart *c, const char *term, int width, int height);
void db_plot_end_outputs(db_plot_chart *c);
/* gnuplot line type of a precision (a fixed colour per precision across charts). */
int db_plot_precision_color(const char *precision);

#endif
