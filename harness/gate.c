#include "gate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const db_gate_default_ignore[] = {"schema_version", "start_epoch_s",
                                              "engine.mean_host_overhead_ms", "point"};
const size_t db_gate_default_ignore_count =
    sizeof db_gate_default_ignore / sizeof db_gate_default_ignore[0];

const char *const db_gate_default_must_match[] = {"backend",
                                                  "device",
                                                  "model",
                                                  "model_name",
                                                  "model_layers",
                                                  "precision",
                                                  "kv_dtype",
                                                  "workload",
                                                  "arrival",
                                                  "seed",
                                                  "batching",
                                                  "max_batch",
                                                  "max_batch_tokens",
                                                  "prefill_chunk",
                                                  "kv_block_size",
                                                  "kv_blocks",
                                                  "kv_watermark",
                                                  "threads",
                                                  "scheduled_requests"};
const size_t db_gate_default_must_match_count =
    sizeof db_gate_default_must_match / sizeof db_gate_default_must_match[0];

void db_gate_config_default(db_gate_config *c) {
    memset(c, 0, sizeof *c);
    c->params = (db_gate_params){0.95, 10000, DB_CI_PERCENTILE, 1};
    c->auto_exact_sim = 1;
    c->detect_min = 3;
    c->ignore = db_gate_default_ignore;
    c->n_ignore = db_gate_default_ignore_count;
    c->must_match = db_gate_default_must_match;
    c->n_must_match = db_gate_default_must_match_count;
}

int db_gate_exit_code(db_gate_verdict overall) {
    switch (overall) {
    case DB_GATE_PASS:
    case DB_GATE_IMPROVEMENT:
        return DB_GATE_EXIT_PASS;
    case DB_GATE_REGRESSION:
    case DB_GATE_CHANGED:
        return DB_GATE_EXIT_REGRESSION;
    case DB_GATE_INCONCLUSIVE:
        break;
    }
    return DB_GATE_EXIT_INCONCLUSIVE;
}

void db_gate_report_free(db_gate_report *r) {
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* ---- fingerprint ----------------------------------------------------------------------------- */

static void check_env(const db_gate_env *ref, const db_gate_env *e, const char *const *fields,
                      size_t n, db_gate_mismatch *out, size_t max, size_t *found) {
    for (size_t i = 0; i < n; i++) {
        const char *a = db_gate_env_get(ref, fields[i]), *b = db_gate_env_get(e, fields[i]);
        if ((!a && !b) || (a && b && !strcmp(a, b))) continue;
        if (*found < max) {
            db_gate_mismatch *m = &out[*found];
            snprintf(m->field, sizeof m->field, "%s", fields[i]);
            snprintf(m->expected, sizeof m->expected, "%s", a ? a : "(absent)");
            snprintf(m->found, sizeof m->found, "%s", b ? b : "(absent)");
            snprintf(m->source, sizeof m->source, "%s", e->source);
        }
        (*found)++;
    }
}

size_t db_gate_fingerprint_check(const db_gate_samples *base, const db_gate_samples *cur,
                                 const char *const *fields, size_t n, db_gate_mismatch *out,
                                 size_t max, int *checked) {
    *checked = base->n_envs > 0 && cur->n_envs > 0;
    if (!*checked) return 0;
    const db_gate_env *ref = &base->envs[0];
    size_t found = 0;
    for (size_t i = 1; i < base->n_envs; i++)
        check_env(ref, &base->envs[i], fields, n, out, max, &found);
    for (size_t i = 0; i < cur->n_envs; i++)
        check_env(ref, &cur->envs[i], fields, n, out, max, &found);
    return found < max ? found : max;
}

/* ---- rows ------------------------------------------------------------------------------------ */

static int in_list(const char *const *list, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], s)) return 1;
    return 0;
}

/* The effective rules: defaults (unless turned off) with caller rules replacing the same metric;
 * "off" rules removed. Writes at most max rules; returns the count. */
static size_t effective_rules(const db_gate_config *c, db_gate_rule *out, size_t max) {
    size_t n = 0, nd = 0;
    const db_gate_rule *d = c->no_default_rules ? NULL : db_gate_default_rules(&nd);
    for (size_t i = 0; i < nd && n < max; i++) {
        int replaced = 0;
        for (size_t j = 0; j < c->n_rules; j++)
            replaced |= !strcmp(c->rules[j].metric, d[i].metric);
        if (!replaced) out[n++] = d[i];
    }
    for (size_t j = 0; j < c->n_rules && n < max; j++) {
        int dup = 0;
        for (size_t k = j + 1; k < c->n_rules; k++)
            dup |= !strcmp(c->rules[k].metric, c->rules[j].metric);
        if (!dup && !c->rules[j].off) out[n++] = c->rules[j]; /* the last rule of a metric wins */
    }
    return n;
}

static db_gate_row *new_row(db_gate_report *r, const char *point, const char *metric) {
    if (r->n_rows == r->cap_rows) {
        size_t nc = r->cap_rows ? 2 * r->cap_rows : 32;
        db_gate_row *p = realloc(r->rows, nc * sizeof *p);
        if (!p) return NULL;
        r->rows = p;
        r->cap_rows = nc;
    }
    db_gate_row *row = &r->rows[r->n_rows++];
    memset(row, 0, sizeof *row);
    snprintf(row->point, sizeof row->point, "%s", point);
    snprintf(row->metric, sizeof row->metric, "%s", metric);
    row->rule.off = 1;
    return row;
}

static void add_note(db_gate_report *r, const char *fmt, const char *a, const char *b) {
    if (r->n_notes < sizeof r->notes / sizeof r->notes[0])
        snprintf(r->notes[r->n_notes++], sizeof r->notes[0], fmt, a, b);
}

/* A row that could not be judged: INCONCLUSIVE, no numbers, a note saying why. */
static void unjudged(db_gate_result *res, size_t nb, size_t nc, const char *note) {
    memset(res, 0, sizeof *res);
    res->verdict = DB_GATE_INCONCLUSIVE;
    res->n_base = nb;
    res->n_cur = nc;
    res->base_median = res->cur_median = res->ratio = NAN;
    res->ci_lo = res->ci_hi = res->p_bad = res->p_good = res->p_value = NAN;
    res->need_base = res->need_cur = 0; /* more runs of the same inputs would not help */
    snprintf(res->note, sizeof res->note, "%s", note);
}

static int wants_exact(const db_gate_config *c, int exact_all, const char *metric,
                       const db_gate_series *b, const db_gate_series *s) {
    return exact_all || in_list(c->exact, c->n_exact, metric) ||
           (c->detect_min > 0 &&
            db_gate_looks_deterministic(b->v, b->n, s->v, s->n, c->detect_min));
}

/* One row for metric at a point present on both sides. rule may be NULL (exact-only rows). */
static int judge_row(db_gate_report *r, const db_gate_config *c, const char *key,
                     const char *metric, const db_gate_rule *rule, const db_gate_series *b,
                     const db_gate_series *s) {
    db_gate_row *row = new_row(r, key, metric);
    if (!row) return -1;
    if (rule) row->rule = *rule, row->has_rule = 1;
    if (!b || !s) {
        unjudged(&row->res, b ? b->n : 0, s ? s->n : 0,
                 b ? "missing in the current results" : "missing in the baseline");
        return 0;
    }
    if (wants_exact(c, r->exact_all, metric, b, s)) {
        db_gate_judge_exact(b->v, b->n, s->v, s->n, &row->res);
        return 0;
    }
    return db_gate_judge(rule, b->v, b->n, s->v, s->n, &c->params, &row->res);
}

static int judge_point(db_gate_report *r, const db_gate_config *c, const db_gate_rule *rules,
                       size_t n_rules, const db_gate_point *bp, const db_gate_point *cp) {
    for (size_t i = 0; i < n_rules; i++) {
        const db_gate_series *b = db_gate_point_series(bp, rules[i].metric);
        const db_gate_series *s = db_gate_point_series(cp, rules[i].metric);
        if (!b && !s) continue; /* a default rule for a metric these runs do not report */
        if (judge_row(r, c, bp->key, rules[i].metric, &rules[i], b, s)) return -1;
    }
    for (size_t j = 0; j < bp->n; j++) {
        const db_gate_series *b = &bp->series[j], *s = db_gate_point_series(cp, b->metric);
        int ruled = 0;
        for (size_t i = 0; i < n_rules; i++)
            ruled |= !strcmp(rules[i].metric, b->metric);
        if (ruled || !s || in_list(c->ignore, c->n_ignore, b->metric)) continue;
        if (wants_exact(c, r->exact_all, b->metric, b, s) &&
            judge_row(r, c, bp->key, b->metric, NULL, b, s))
            return -1;
    }
    return 0;
}

static int all_sim(const db_gate_samples *s) {
    for (size_t i = 0; i < s->n_envs; i++) {
        const char *b = db_gate_env_get(&s->envs[i], "backend");
        if (!b || strcmp(b, "sim")) return 0;
    }
    return s->n_envs > 0;
}

/* A caller rule must name a metric that exists somewhere, or it is a typo. */
static int check_rule_names(const db_gate_samples *base, const db_gate_samples *cur,
                            const db_gate_config *c, char *msg, size_t len) {
    for (size_t i = 0; i < c->n_rules; i++) {
        int found = 0;
        for (size_t p = 0; !found && p < base->n_points; p++)
            found = db_gate_point_series(&base->points[p], c->rules[i].metric) != NULL;
        for (size_t p = 0; !found && p < cur->n_points; p++)
            found = db_gate_point_series(&cur->points[p], c->rules[i].metric) != NULL;
        if (!found) {
            snprintf(msg, len, "--rule %s: no metric '%s' in the baseline or the current results",
                     c->rules[i].metric, c->rules[i].metric);
            return -1;
        }
    }
    return 0;
}

static db_gate_verdict overall_of(const db_gate_report *r) {
    int seen[5] = {0};
    for (size_t i = 0; i < r->n_rows; i++)
        seen[r->rows[i].res.verdict] = 1;
    if (seen[DB_GATE_REGRESSION]) return DB_GATE_REGRESSION;
    if (seen[DB_GATE_CHANGED]) return DB_GATE_CHANGED;
    if (seen[DB_GATE_INCONCLUSIVE] || r->n_rows == 0) return DB_GATE_INCONCLUSIVE;
    return seen[DB_GATE_IMPROVEMENT] ? DB_GATE_IMPROVEMENT : DB_GATE_PASS;
}

int db_gate_evaluate(const db_gate_samples *base, const db_gate_samples *cur,
                     const db_gate_config *c, db_gate_report *out, char *msg, size_t len) {
    memset(out, 0, sizeof *out);
    db_gate_rule *rules = NULL;
    if (check_rule_names(base, cur, c, msg, len)) return -1;
    size_t n_defaults, cap = c->n_rules;
    db_gate_default_rules(&n_defaults);
    cap += n_defaults;
    rules = malloc((cap ? cap : 1) * sizeof *rules);
    if (!rules) goto oom;
    size_t n_rules = effective_rules(c, rules, cap);
    out->exact_all = c->exact_all || (c->auto_exact_sim && all_sim(base) && all_sim(cur));
    for (size_t p = 0; p < base->n_points; p++) {
        const db_gate_point *bp = &base->points[p];
        const db_gate_point *cp = db_gate_samples_point(cur, bp->key);
        if (!cp) {
            db_gate_row *row = new_row(out, bp->key, "(every metric)");
            if (!row) goto oom;
            unjudged(&row->res, bp->n ? bp->series[0].n : 0, 0, "point not in the current results");
            continue;
        }
        if (judge_point(out, c, rules, n_rules, bp, cp)) goto oom;
    }
    free(rules);
    rules = NULL;
    for (size_t p = 0; p < cur->n_points; p++)
        if (!db_gate_samples_point(base, cur->points[p].key))
            add_note(out, "point %s%s is only in the current results (not gated)",
                     *cur->points[p].key ? cur->points[p].key : "(single run)", "");
    if (out->n_rows == 0)
        add_note(out,
                 "no metric was compared: the baseline and the current results share no "
                 "ruled or deterministic metric%s%s",
                 "", "");
    out->overall = overall_of(out);
    return 0;
oom:
    free(rules);
    snprintf(msg, len, "out of memory");
    db_gate_report_free(out);
    return -1;
}
