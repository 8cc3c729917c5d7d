/* cpu_sample.h — choosing the next token from a row of logits: greedy argmax, or seeded
 * temperature / top-k sampling.
 *
 * What it is for: the last operation of a step, deterministic given (seed, sequence id, position):
 * the uniform draw of a sampled token is a pure function of those three (kernels/synth.h's counter
 * generator), so it does not depend on which other sequences share the step.
 * What it must not do: allocate, print, or exit.
 */
#ifndef DB_CPU_SAMPLE_H
#define DB_CPU_SAMPLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Index of the largest logit; the lowest index among equal maxima; NaNs are never chosen (0 when
 * every logit is NaN). */
int db_cpu_argmax(const float *logits, int n);

/* A uniform draw in [0, 1) for the token that follows position `pos` of sequence `seq_id`. */
double db_cpu_sample_uniform(uint64_t seed, int seq_id, int pos);

/* Samples from softmax(logits / temperature) restricted to the top_k largest logits (top_k <= 0 or
 * >= n: all; ties at the k-th value keep the lower indices) by inverting the cumulative
 * distribution over the candidates in ascending index order at u. idx (n) is scratch. temperature >
 * 0. */
int db_cpu_sample(const float *logits, int n, float temperature, int top_k, double u, int *idx);

#ifdef __cplusplus
}
#endif
#endif
