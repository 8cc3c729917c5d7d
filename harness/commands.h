/* commands.h — the subcommands of the decodebench binary, one cmd_*.c each.
 * Each takes argv with argv[0] = the subcommand name and returns the process exit code
 * (0 ok, 1 failure/regression, 2 usage error, 3 inconclusive gate).
 */
#ifndef DB_COMMANDS_H
#define DB_COMMANDS_H

int db_cmd_generate(int argc, char **argv);
int db_cmd_run(int argc, char **argv);
int db_cmd_gate(int argc, char **argv);
int db_cmd_roofline(int argc, char **argv);
int db_cmd_sweep(int argc, char **argv);
int db_cmd_merge(int argc, char **argv);
int db_cmd_report(int argc, char **argv);
int db_cmd_profile(int argc, char **argv);

#endif
