/* run_csv.h — requests.csv (one row per request that arrived) and steps.csv (one row per engine
 * step), written with libcsv (text fields quoted by csv_fwrite when they need it). Column lists,
 * units and meanings are in the README ("requests.csv", "steps.csv"); an undefined value is an
 * empty field. Must not: know the engine or scheduler; it writes db_metrics records.
 */
#ifndef DB_RUN_CSV_H
#define DB_RUN_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "metrics.h"

/* Write the rows to f (header first). 0, or -1 when a write failed. */
int db_requests_csv(FILE *f, const db_metrics *m);
int db_steps_csv(FILE *f, const db_metrics *m);
/* Write requests.csv / steps.csv at path atomically. 0, or -1 with err naming the path. */
int db_requests_csv_write(const char *path, const db_metrics *m, char *err, size_t errlen);
int db_steps_csv_write(const char *path, const db_metrics *m, char *err, size_t errlen);

#endif
