/* plot.c — running gnuplot on chart scripts (plot.h). */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs gnuplot with argv[1..] (NULL-terminated), stderr and stdout to log (or /dev/null). Returns
 * the exit status, or -1 when it could not be started (errno set). */
static int run_gnuplot(char *const argv[], const char *log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int db_plot_find_gnuplot(char *term, size_t term_len, char *err, size_t errlen) {
    char *probe_cairo[] = {"gnuplot", "-e", "set terminal pngcairo", NULL};
    char *probe_png[] = {"gnuplot", "-e", "set terminal png", NULL};
    int rc = run_gnuplot(probe_cairo, NULL);
    if (rc < 0) {
        snprintf(err, errlen, "cannot run gnuplot: %s (install gnuplot-nox to draw the plots)",
                 strerror(errno));
        return -1;
    }
    if (rc == 0) {
        snprintf(term, term_len, "pngcairo");
        return 0;
    }
    if (run_gnuplot(probe_png, NULL) == 0) {
        snprintf(term, term_len, "png");
        return 0;
    }
    snprintf(err, errlen, "gnuplot has neither the pngcairo nor the png terminal");
    return -1;
}

int db_plot_open(db_plot_chart *c, const char *out_dir, const char *name, char *err,
                 size_t errlen) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    char dir[1024];
    int n = snprintf(dir, sizeof dir, "%s/plots", out_dir);
    int too_long = n < 0 || (size_t)n >= sizeof dir - 40; /* room for "/NAME.ext" */
    if (!too_long && mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create '%s': %s", dir, strerror(errno));
        return -1;
    }
    too_long |= snprintf(c->gp_path, sizeof c->gp_path, "%s/%.30s.gp", dir, name) < 0;
    too_long |= snprintf(c->dat_path, sizeof c->dat_path, "%s/%.30s.dat", dir, name) < 0;
    too_long |= snprintf(c->log_path, sizeof c->log_path, "%s/%.30s.log", dir, name) < 0;
    too_long |= snprintf(c->png_path, sizeof c->png_path, "%s/%.30s.png", out_dir, name) < 0;
    too_long |= snprintf(c->svg_path, sizeof c->svg_path, "%s/%.30s.svg", out_dir, name) < 0;
    if (too_long) {
        snprintf(err, errlen, "output directory path too long: '%.200s...'", out_dir);
        return -1;
    }
    c->gp = fopen(c->gp_path, "w");
    c->dat = c->gp ? fopen(c->dat_path, "w") : NULL;
    if (!c->gp || !c->dat) {
        snprintf(err, errlen, "cannot write '%s': %s", c->gp ? c->dat_path : c->gp_path,
                 strerror(errno));
        db_plot_abort(c);
        return -1;
    }
    fprintf(c->gp, "# %s — drawn by decodebench report; rerun with: gnuplot %s\n", name,
            c->gp_path);
    fprintf(c->gp, "datafile = ");
    db_plot_quote(c, c->dat_path);
    fprintf(c->gp, "\n");
    /* colours that stay readable on white (matplotlib's tab10), one per line type */
    static const char *const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    for (int i = 0; i < 10; i++)
        fprintf(c->gp, "set linetype %d lc rgb '%s' lw 2 pt 7\n", i + 1, colors[i]);
    fprintf(c->gp, "set linetype cycle 10\nset grid\n");
    return 0;
}

void db_plot_quote(db_plot_chart *c, const char *s) {
    FILE *f = c->gp;
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
    fputc('\'', f);
}

void db_plot_begin_outputs(db_plot_chart *c, const char *term, int width, int height) {
    FILE *f = c->gp;
    fprintf(f, "do for [fmt in \"png svg\"] {\n");
    fprintf(f, "  if (fmt eq \"png\") {\n    set terminal %s size %d,%d font \",11\"\n", term,
            width, height);
    fprintf(f, "    set output ");
    db_plot_quote(c, c->png_path);
    fprintf(f, "\n  } else {\n    set terminal svg size %d,%d font \",11\" dynamic\n", width,
            height);
    fprintf(f, "    set output ");
    db_plot_quote(c, c->svg_path);
    fprintf(f, "\n  }\n");
}

void db_plot_end_outputs(db_plot_chart *c) {
    fprintf(c->gp, "  set output\n}\n");
}

void db_plot_abort(db_plot_chart *c) {
    if (c->gp) fclose(c->gp);
    if (c->dat) fclose(c->dat);
    c->gp = c->dat = NULL;
}

/* The first line of gnuplot's log that says something (for the error message). */
static void first_message(const char *log, char *buf, size_t len) {
    FILE *f = fopen(log, "r");
    buf[0] = '\0';
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strspn(line, " \t^") == strlen(line)) continue;
        if (snprintf(buf, len, "%s", line) >= (int)len && len > 4) strcpy(buf + len - 4, "...");
        break;
    }
    fclose(f);
}

int db_plot_finish(db_plot_chart *c, char *err, size_t errlen) {
    int bad = ferror(c->gp) || ferror(c->dat);
    bad |= fclose(c->gp) != 0;
    bad |= fclose(c->dat) != 0;
    c->gp = c->dat = NULL;
    if (bad) {
        snprintf(err, errlen, "cannot write '%s' or its data file", c->gp_path);
        return -1;
    }
    char *argv[] = {"gnuplot", c->gp_path, NULL};
    int rc = run_gnuplot(argv, c->log_path);
    if (rc != 0) {
        char msg[200];
        first_message(c->log_path, msg, sizeof msg);
        snprintf(err, errlen, "gnuplot failed on '%s' (exit %d): %s", c->gp_path, rc,
                 rc < 0 ? strerror(errno) : msg);
        return -1;
    }
    return 0;
}

int db_plot_precision_color(const char *precision) {
    static const char *const order[] = {"fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4"};
    for (int i = 0; i < 7; i++)
        if (!strcmp(order[i], precision)) return i + 1;
    return 8;
}
