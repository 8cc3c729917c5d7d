#include "gate_output.h"

#include <math.h>
#include <string.h>

/* ---- words ----------------------------------------------------------------------------------- */

static void need_text(const db_gate_result *r, char *buf, size_t len) {
    if (!isfinite(r->need_base) || !isfinite(r->need_cur))
        snprintf(buf, len, "no feasible run count decides it at this effect size");
    else if (r->need_base == r->need_cur)
        snprintf(buf, len, "need ~%.0f runs a side", r->need_cur);
    else
        snprintf(buf, len, "need ~%.0f baseline + %.0f current runs", r->need_base, r->need_cur);
}

/* The test behind a decided statistical verdict, and the bound it was decided against. */
static void test_text(const db_gate_row *row, char *buf, size_t len) {
    const db_gate_result *r = &row->res;
    double bound = 1 + row->rule.threshold;
    if (r->verdict == DB_GATE_IMPROVEMENT) bound = 1 / bound;
    snprintf(buf, len, "vs x%.4g: Mann-Whitney p %.2g (%s)", bound, r->p_value,
             r->mwu_exact ? "exact" : "normal approx.");
}

void db_gate_row_describe(const db_gate_row *row, double confidence, char *buf, size_t len) {
    const db_gate_result *r = &row->res;
    char more[160];
    if (r->method == DB_GATE_EXACT) {
        snprintf(buf, len, "exact: %s", r->note);
    } else if (r->verdict == DB_GATE_INCONCLUSIVE && r->need_base == 0 && r->need_cur == 0) {
        snprintf(buf, len, "%s", r->note); /* missing data: no run count helps */
    } else if (r->verdict == DB_GATE_INCONCLUSIVE) {
        need_text(r, more, sizeof more);
        snprintf(buf, len, "%s; %s", r->note, more);
    } else {
        test_text(row, more, sizeof more);
        snprintf(buf, len, "ratio %.4g, %g%% CI [%.4g, %.4g] %s", r->ratio, confidence * 100,
                 r->ci_lo, r->ci_hi, more);
    }
}

/* The table's detail column: the interval has its own column, so decided rows show the test. */
static void table_detail(const db_gate_row *row, double confidence, char *buf, size_t len) {
    if (row->res.method == DB_GATE_STATISTICAL && row->res.verdict != DB_GATE_INCONCLUSIVE)
        test_text(row, buf, len);
    else
        db_gate_row_describe(row, confidence, buf, len);
}

static size_t count_verdict(const db_gate_report *r, db_gate_verdict v) {
    size_t n = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        n += r->rows[i].res.verdict == v;
    return n;
}

void db_gate_overall_describe(const db_gate_report *r, char *buf, size_t len) {
    int code = db_gate_exit_code(r->overall);
    size_t reg = count_verdict(r, DB_GATE_REGRESSION), chg = count_verdict(r, DB_GATE_CHANGED);
    size_t inc = count_verdict(r, DB_GATE_INCONCLUSIVE),
           imp = count_verdict(r, DB_GATE_IMPROVEMENT);
    int n = snprintf(buf, len,
                     "%s (exit %d): %zu metrics; %zu regressed, %zu changed, %zu "
                     "inconclusive, %zu improved",
                     db_gate_verdict_name(r->overall), code, r->n_rows, reg, chg, inc, imp);
    if (r->overall != DB_GATE_INCONCLUSIVE || inc == 0 || n < 0 || (size_t)n >= len) return;
    double nb = 0, nc = 0;
    int feasible = 1;
    for (size_t i = 0; i < r->n_rows; i++) {
        const db_gate_result *x = &r->rows[i].res;
        if (x->verdict != DB_GATE_INCONCLUSIVE) continue;
        if (!isfinite(x->need_base) || !isfinite(x->need_cur))
            feasible = 0;
        else
            nb = fmax(nb, x->need_base), nc = fmax(nc, x->need_cur);
    }
    if (nb > 0)
        snprintf(buf + n, len - (size_t)n, "; ~%.0f baseline + %.0f current runs would decide %s",
                 nb, nc, feasible ? "them all" : "the decidable ones");
}

static const char *point_label(const db_gate_row *row) {
    return *row->point ? row->point : "-";
}

static void rule_text(const db_gate_row *row, char *buf, size_t len) {
    if (row->res.method == DB_GATE_EXACT)
        snprintf(buf, len, "exact");
    else
        db_gate_rule_format(&row->rule, buf, len);
}

static void ci_text(const db_gate_result *r, char *buf, size_t len) {
    if (r->method == DB_GATE_STATISTICAL && isfinite(r->ci_lo))
        snprintf(buf, len, "[%.3f, %.3f]", r->ci_lo, r->ci_hi);
    else
        snprintf(buf, len, "-");
}

/* The cells of one row, as text. */
typedef struct row_cells {
    char rule[16], n[24], base[24], cur[24], ratio[16], ci[40], detail[400];
} row_cells;

static void cells_of(const db_gate_row *row, double confidence, row_cells *c) {
    const db_gate_result *r = &row->res;
    rule_text(row, c->rule, sizeof c->rule);
    ci_text(r, c->ci, sizeof c->ci);
    snprintf(c->n, sizeof c->n, "%zu/%zu", r->n_base, r->n_cur);
    snprintf(c->base, sizeof c->base, isnan(r->base_median) ? "-" : "%.6g", r->base_median);
    snprintf(c->cur, sizeof c->cur, isnan(r->cur_median) ? "-" : "%.6g", r->cur_median);
    snprintf(c->ratio, sizeof c->ratio, isfinite(r->ratio) ? "%.4f" : "-", r->ratio);
    table_detail(row, confidence, c->detail, sizeof c->detail);
}

/* Rows the tables list one by one: everything but identical exact-only metrics, which are counted
 * instead (a sim gate compares a hundred of them), unless every row is asked for. */
static int listed(const db_gate_row *row, int all_rows) {
    return all_rows || row->has_rule || row->res.method != DB_GATE_EXACT ||
           row->res.verdict != DB_GATE_PASS;
}

static size_t unlisted(const db_gate_report *r, int all_rows) {
    size_t n = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        n += !listed(&r->rows[i], all_rows);
    return n;
}

/* ---- terminal -------------------------------------------------------------------------------- */

void db_gate_print_table(FILE *f, const db_gate_report *r, const db_gate_context *ctx) {
    double c = ctx->params->confidence;
    fprintf(f, "decodebench gate: baseline %s; current %s\n", ctx->baseline, ctx->current);
    fprintf(f,
            "baseline and current columns are medians; ratio = current / baseline; confidence %g, "
            "bootstrap %d resamples (%s interval), seed %llu%s\n\n",
            c, ctx->params->resamples, ctx->params->ci == DB_CI_BCA ? "BCa" : "percentile",
            (unsigned long long)ctx->params->seed,
            r->exact_all ? "; every metric compared exactly (deterministic runs)" : "");
    int pw = 5;
    for (size_t i = 0; i < r->n_rows; i++) {
        int l = (int)strlen(point_label(&r->rows[i]));
        if (l > pw) pw = l < 40 ? l : 40;
    }
    fprintf(f, "%-*s  %-24s %-6s %7s %12s %12s %7s %-17s %-12s %s\n", pw, "point", "metric", "rule",
            "n b/c", "baseline", "current", "ratio", "CI", "verdict", "detail");
    for (size_t i = 0; i < r->n_rows; i++) {
        const db_gate_row *row = &r->rows[i];
        if (!listed(row, ctx->all_rows)) continue;
        row_cells k;
        cells_of(row, c, &k);
        fprintf(f, "%-*s  %-24s %-6s %7s %12s %12s %7s %-17s %-12s %s\n", pw, point_label(row),
                row->metric, k.rule, k.n, k.base, k.cur, k.ratio, k.ci,
                db_gate_verdict_name(row->res.verdict), k.detail);
    }
    size_t hidden = unlisted(r, ctx->all_rows);
    if (hidden) fprintf(f, "(%zu more metrics compared exactly: identical)\n", hidden);
    for (size_t i = 0; i < ctx->n_mismatches; i++)
        fprintf(f, "warning: fingerprint field %s differs: baseline '%s', %s '%s' (allowed)\n",
                ctx->mismatches[i].field, ctx->mismatches[i].expected, ctx->mismatches[i].source,
                ctx->mismatches[i].found);
    for (size_t i = 0; i < r->n_notes; i++)
        fprintf(f, "note: %s\n", r->notes[i]);
    char overall[512];
    db_gate_overall_describe(r, overall, sizeof overall);
    fprintf(f, "\nOverall: %s\n", overall);
}

/* ---- markdown -------------------------------------------------------------------------------- */

/* Writes s with the characters markdown tables treat specially escaped. */
static void md_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`' || *s == '<')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void md_row(FILE *f, const db_gate_row *row, double confidence) {
    row_cells k;
    cells_of(row, confidence, &k);
    fputs("| ", f);
    md_text(f, point_label(row));
    fputs(" | ", f);
    md_text(f, row->metric);
    fprintf(f, " | %s | %s | %s | %s | %s | %s | **%s** | ", k.rule, k.n, k.base, k.cur, k.ratio,
            k.ci, db_gate_verdict_name(row->res.verdict));
    md_text(f, k.detail);
    fputs(" |\n", f);
}

int db_gate_write_markdown(FILE *f, const db_gate_report *r, const db_gate_context *ctx) {
    char overall[512];
    db_gate_overall_describe(r, overall, sizeof overall);
    fprintf(f, "### decodebench gate: **%s**\n\n", db_gate_verdict_name(r->overall));
    md_text(f, overall);
    fprintf(f, "\n\nBaseline: ");
    md_text(f, ctx->baseline);
    fprintf(f, "; current: ");
    md_text(f, ctx->current);
    fprintf(f, ". Medians; ratio = current / baseline; confidence %g, %d bootstrap resamples.\n\n",
            ctx->params->confidence, ctx->params->resamples);
    fprintf(f, "| point | metric | rule | n (b/c) | baseline | current | ratio | CI | verdict | "
               "detail |\n|---|---|---|---:|---:|---:|---:|---|---|---|\n");
    for (size_t i = 0; i < r->n_rows; i++)
        if (listed(&r->rows[i], ctx->all_rows)) md_row(f, &r->rows[i], ctx->params->confidence);
    size_t hidden = unlisted(r, ctx->all_rows);
    if (hidden) fprintf(f, "\n%zu more metrics compared exactly: identical.\n", hidden);
    for (size_t i = 0; i < ctx->n_mismatches; i++) {
        fprintf(f, "%s- fingerprint field ", i ? "" : "\n");
        md_text(f, ctx->mismatches[i].field);
        fputs(" differs: baseline ", f);
        md_text(f, ctx->mismatches[i].expected);
        fputs(", current ", f);
        md_text(f, ctx->mismatches[i].found);
        fputs(" (allowed)\n", f);
    }
    for (size_t i = 0; i < r->n_notes; i++) {
        fprintf(f, "%s- ", i || ctx->n_mismatches ? "" : "\n");
        md_text(f, r->notes[i]);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

/* ---- JUnit XML ------------------------------------------------------------------------------- */

/* Writes s as XML character data / attribute text; control characters XML 1.0 forbids are
 * dropped. */
static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            if (ch >= 0x20 || ch == '\t' || ch == '\n') fputc(ch, f);
        }
    }
}

static void junit_case(FILE *f, const db_gate_row *row, double confidence) {
    char detail[400], name[400], rule[16];
    db_gate_row_describe(row, confidence, detail, sizeof detail);
    rule_text(row, rule, sizeof rule);
    snprintf(name, sizeof name, "%s (%s)", row->metric, rule);
    fputs("    <testcase classname=\"decodebench.gate", f);
    if (*row->point) {
        fputc('.', f);
        xml_text(f, row->point);
    }
    fputs("\" name=\"", f);
    xml_text(f, name);
    fputs("\" time=\"0\">\n", f);
    db_gate_verdict v = row->res.verdict;
    if (v == DB_GATE_REGRESSION || v == DB_GATE_CHANGED) {
        fprintf(f, "      <failure type=\"%s\" message=\"", db_gate_verdict_name(v));
        xml_text(f, detail);
        fprintf(f, "\">baseline median %.10g, current median %.10g, ratio %.6g</failure>\n",
                row->res.base_median, row->res.cur_median, row->res.ratio);
    } else if (v == DB_GATE_INCONCLUSIVE) {
        fputs("      <skipped message=\"INCONCLUSIVE: ", f);
        xml_text(f, detail);
        fputs("\"/>\n", f);
    } else {
        fputs("      <system-out>", f);
        fprintf(f, "%s: ", db_gate_verdict_name(v));
        xml_text(f, detail);
        fputs("</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
}

int db_gate_write_junit(FILE *f, const db_gate_report *r, const db_gate_context *ctx) {
    size_t failures = count_verdict(r, DB_GATE_REGRESSION) + count_verdict(r, DB_GATE_CHANGED);
    size_t skipped = count_verdict(r, DB_GATE_INCONCLUSIVE);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites name=\"decodebench gate\" tests=\"%zu\" failures=\"%zu\" "
            "errors=\"0\" skipped=\"%zu\">\n",
            r->n_rows, failures, skipped);
    fprintf(f,
            "  <testsuite name=\"decodebench gate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
            "skipped=\"%zu\" time=\"0\">\n",
            r->n_rows, failures, skipped);
    fputs("    <properties>\n      <property name=\"baseline\" value=\"", f);
    xml_text(f, ctx->baseline);
    fputs("\"/>\n      <property name=\"current\" value=\"", f);
    xml_text(f, ctx->current);
    fprintf(f,
            "\"/>\n      <property name=\"confidence\" value=\"%g\"/>\n"
            "      <property name=\"overall\" value=\"%s\"/>\n    </properties>\n",
            ctx->params->confidence, db_gate_verdict_name(r->overall));
    for (size_t i = 0; i < r->n_rows; i++)
        junit_case(f, &r->rows[i], ctx->params->confidence);
    fputs("  </testsuite>\n</testsuites>\n", f);
    return ferror(f) ? -1 : 0;
}
