/* main.c — the decodebench binary: dispatches to one subcommand (commands.h). The only place that
 * decides the process exit code. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} db_command;

static const db_command commands[] = {
    {"generate", db_cmd_generate, "run the decode engine on synthetic prompts and print the tokens"},
    {"run", db_cmd_run, "replay a workload with continuous batching and report latency and throughput"},
    {"gate", db_cmd_gate, "compare results with a baseline: exit 0 pass, 1 regression, 3 inconclusive"},
    {"roofline", db_cmd_roofline, "measure memory bandwidth and peak FLOP/s; write ceilings.json"},
    {"sweep", db_cmd_sweep, "run a grid of batch x precision x KV dtype x context points into a CSV"},
    {"merge", db_cmd_merge, "combine sweep CSVs (shards) into one"},
    {"report", db_cmd_report, "draw roofline, crossover and latency charts and write report.md"},
    {"profile", db_cmd_profile, "run `run` under nsys or ncu, capturing a window of steps"},
};

static void usage(FILE *f) {
    fprintf(f, "decodebench %s — benchmark and profile LLM inference with an embedded decode engine\n\n"
               "Usage: decodebench <command> [flags]   (decodebench <command> --help for its flags)\n\n"
               "Commands:\n", DECODEBENCH_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nExit codes: 0 success, 1 failure (or gate regression), 2 usage error, 3 gate inconclusive.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return DB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return DB_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("decodebench %s\n", DECODEBENCH_VERSION);
#ifdef DECODEBENCH_HAVE_CUDA
        printf("cuda backend: built in\n");
#else
        printf("cuda backend: not built\n");
#endif
        return DB_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "decodebench: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return DB_EXIT_USAGE;
}
