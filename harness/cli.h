/* cli.h — small helpers shared by the subcommands: flag value parsing with messages that name the flag,
 * and the usage-error exit code. Used only by harness/main.c and harness/cmd_*.c.
 * Must not: exit() (callers return DB_EXIT_USAGE from their command function).
 */
#ifndef DB_CLI_H
#define DB_CLI_H

#include <stddef.h>
#include <stdint.h>

enum {
    DB_EXIT_OK = 0,
    DB_EXIT_FAIL = 1,  /* a run failed, or (gate) a regression */
    DB_EXIT_USAGE = 2, /* bad flag, bad value, bad input file */
};

/* Each parser prints "decodebench CMD: FLAG expects ..., got 'VALUE'" to stderr and returns -1 on
 * error; 0 on success. */
int db_cli_int(const char *cmd, const char *flag, const char *value, long long lo, long long hi,
               long long *out);
int db_cli_double(const char *cmd, const char *flag, const char *value, double lo, double hi,
                  double *out);
/* Seconds with a unit (ns, us, ms, s, m, h); a bare number is seconds. */
int db_cli_duration(const char *cmd, const char *flag, const char *value, double *seconds);
/* Bytes with a unit (B, K, M, G, KiB, MiB, GiB, KB, MB, GB); a bare number is bytes. */
int db_cli_bytes(const char *cmd, const char *flag, const char *value, int64_t *bytes);
/* Splits argv[*i], "--NAME=VALUE" or "--NAME VALUE" (then *i moves onto VALUE), into NAME (in
 * name[0..namelen)) and *value. 0, or DB_EXIT_USAGE with the message printed: an argument that is
 * not a --flag, or a flag without a value. */
int db_cli_flag_value(const char *cmd, int argc, char **argv, int *i, char *name, size_t namelen,
                      const char **value);
/* mkdir -p: creates path and its missing parents (mode 0777 before the umask). 0 when path is then a
 * directory, or -1 with errno set (ENAMETOOLONG past 4095 bytes, ENOTDIR when it is not a directory). */
int db_cli_make_dirs(const char *path);
/* Prints "decodebench CMD: MESSAGE\nTry 'decodebench CMD --help'." and returns DB_EXIT_USAGE. */
int db_cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
