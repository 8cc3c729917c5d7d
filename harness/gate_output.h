/* gate_output.h — how the regression gate's report is shown: an aligned terminal table, a markdown
 * table for pull-request comments, and JUnit XML for CI systems (one testcase per metric: a failure
 * element for REGRESSION and CHANGED, skipped for INCONCLUSIVE).
 *
 * Must not: decide anything (gate.h) or open files; it writes to the FILE* it is given.
 */
#ifndef DB_GATE_OUTPUT_H
#define DB_GATE_OUTPUT_H

#include <stdio.h>

#include "gate.h"

/* What the report is about, for headings. */
typedef struct db_gate_context {
    const char *baseline; /* description of the baseline input(s) */
    const char *current;  /* ... and of the current one(s) */
    const db_gate_params *params;
    const db_gate_mismatch *mismatches; /* (n_mismatches) shown when the gate went on anyway */
    size_t n_mismatches;
    int all_rows; /* list identical exact-only metrics one by one instead of counting them */
} db_gate_context;

/* One line about a row's outcome: the interval and test, the change of an exact metric, or what
 * would decide an inconclusive one ("need ~40 baseline + 40 current runs"). */
void db_gate_row_describe(const db_gate_row *row, double confidence, char *buf, size_t len);

/* The overall line: "REGRESSION (exit 1): 2 of 14 metrics regressed" and, when inconclusive, the
 * largest run count that would decide every undecided metric. */
void db_gate_overall_describe(const db_gate_report *r, char *buf, size_t len);

void db_gate_print_table(FILE *f, const db_gate_report *r, const db_gate_context *ctx);
int db_gate_write_markdown(FILE *f, const db_gate_report *r, const db_gate_context *ctx);
int db_gate_write_junit(FILE *f, const db_gate_report *r, const db_gate_context *ctx);

#endif
