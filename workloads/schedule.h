/* schedule.h — what a workload hands the load generator: the requests to send (prompt and output
 * lengths) and when (intended arrival times), or, for closed-loop arrivals, how many to keep in flight.
 * Must not: know the engine, the clock or the scheduler.
 */
#ifndef DB_SCHEDULE_H
#define DB_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

typedef struct db_schedule_item {
    double arrival_s;      /* intended arrival, seconds after the run starts (open loop); 0 closed loop */
    int32_t prompt_tokens; /* >= 1 */
    int32_t output_tokens; /* >= 1 */
} db_schedule_item;

typedef enum db_arrival_mode {
    DB_ARRIVAL_OPEN = 0,   /* items[i].arrival_s is the intended arrival time (non-decreasing) */
    DB_ARRIVAL_CLOSED = 1, /* keep `concurrency` requests in flight; a finished request's slot issues the
                              next item after think_s; arrival = that issue time */
} db_arrival_mode;

typedef struct db_schedule {
    db_schedule_item *items; /* owned */
    size_t n;
    db_arrival_mode mode;
    int concurrency; /* closed loop */
    double think_s;  /* closed loop */
    uint64_t seed;
    char description[256]; /* e.g. "trace:AzureLLMInferenceTrace_conv.csv lengths, poisson:5" */
} db_schedule;

/* Frees s->items and zeroes s (safe on a zeroed schedule). */
void db_schedule_free(db_schedule *s);

/* Writes s as the native trace CSV: the header "arrival_s,prompt_tokens,output_tokens", then one
 * line per item, "%.9f,%d,%d" (closed-loop items have arrival 0). The file is written under a
 * temporary name and renamed, so it is complete or absent. Reading it back as a `native` trace with
 * `trace` arrivals gives the same items. Returns 0, or -1 with err filled. */
int db_schedule_dump(const db_schedule *s, const char *path, char *err, size_t errlen);

#endif
