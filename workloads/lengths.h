/* lengths.h — token-length distributions for prompts and outputs, built from a spec string:
 *   fixed:N                      always N
 *   uniform:LO:HI                integers LO..HI inclusive, equally likely
 *   normal:MEAN:SD[:LO:HI]       normal with that mean and sd, rounded, clamped to [LO, HI]
 *   lognormal:MEAN:SD[:LO:HI]    log-normal whose *lengths* have that mean and sd (not the
 *                                log's: sigma^2 = ln(1 + SD^2/MEAN^2), mu = ln(MEAN) -
 *                                sigma^2/2), rounded, clamped to [LO, HI]
 *   zipf:S:MAX                   k in 1..MAX with probability proportional to k^-S (S > 0)
 *   empirical:FILE[:COLUMN]      resamples (with replacement, uniformly) the values of one CSV
 *                                column, by header name or 1-based index (default 1)
 *   mix:W1*SPEC1,W2*SPEC2,...    picks component i with probability Wi / sum(W) (no nesting)
 * Every sample is >= 1 (default clamps are [1, 2147483647]).
 * Must not: know requests, arrivals or traces' timestamps; print.
 */
#ifndef DB_LENGTHS_H
#define DB_LENGTHS_H

#include "rng.h"

#include <stddef.h>
#include <stdint.h>

typedef struct db_length_source db_length_source;

/* Parses spec. `flag` names the option in error messages (e.g. "--prompt-len"): every error reads
 * "FLAG SPEC: what was expected". Returns 0 and *out, or -1 with err filled. */
int db_length_source_parse(const char *spec, const char *flag, db_length_source **out, char *err,
                           size_t errlen);

/* One length (>= 1), drawing from rng. */
int32_t db_length_sample(const db_length_source *src, db_rng *rng);

/* Zero values an empirical source skipped (summed over a mixture's components); 0 otherwise. */
size_t db_length_source_skipped(const db_length_source *src);

void db_length_source_free(db_length_source *src);

#endif
