/* kv_cache.h — the paged KV-cache block allocator: a fixed pool of blocks of block_size tokens, a free
 * list, and one block table per sequence.
 *
 * What it is for: deciding which physical blocks hold which sequence's tokens, never handing out more
 * blocks than the pool has, and growing a whole step's sequences all-or-nothing.
 * What it must not do: store K/V values (backends own the storage and index it by block id), know about
 * models, requests or the scheduler's policy.
 */
#ifndef DB_KV_CACHE_H
#define DB_KV_CACHE_H

#include <stdint.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    DB_KV_MAX_BLOCK_SIZE = 4096, /* tokens per block */
    DB_KV_MAX_BLOCKS = 1 << 26,  /* blocks in the pool (block ids are int32) */
};

typedef struct db_kv_cache db_kv_cache;

/* A pool of total_blocks blocks (1..DB_KV_MAX_BLOCKS) of block_size tokens (1..DB_KV_MAX_BLOCK_SIZE). */
db_status db_kv_cache_create(int64_t total_blocks, int block_size, db_kv_cache **out,
                             db_error *err);
void db_kv_cache_destroy(db_kv_cache *kv);

int db_kv_cache_block_size(const db_kv_cache *kv);
int64_t db_kv_cache_total_blocks(const db_kv_cache *kv);
int64_t db_kv_cache_free_blocks(const db_kv_cache *kv);
int db_kv_cache_live_seqs(const db_kv_cache *kv);

/* A new empty sequence (no blocks). Ids are small non-negative ints; a freed id may be reused. */
db_status db_kv_seq_new(db_kv_cache *kv, int *seq_id, db_error *err);
/* Returns all the sequence's blocks to the free list and retires the id. */
db_status db_kv_seq_release(db_kv_cache *kv, int seq_id, db_error *err);
int db_kv_seq_exists(const db_kv_cache *kv, int seq_id);
/* Tokens held; -1 for an unknown sequence. */
int db_kv_seq_tokens(const db_kv_cache *kv, int seq_id);
/* Blocks the sequence needs in addition to hold n_new more tokens; -1 for an unknown sequence. */
int64_t db_kv_seq_blocks_needed(const db_kv_cache *kv, int seq_id, int n_new);
/* The block table, in position order (block i holds positions i*block_size ..); NULL if unknown. */
const int32_t *db_kv_seq_blocks(const db_kv_cache *kv, int seq_id, int *n_blocks);

/* Grows sequence seq_ids[i] by n_new[i] >= 0 tokens for every i, taking the blocks that needs.
 * All or nothing: DB_ERR_KV_FULL when the free blocks do not cover the total, DB_ERR_INVALID for an
 * unknown or repeated sequence, DB_ERR_NOMEM when a block table cannot grow; on any error no sequence
 * and no block changed hands. */
db_status db_kv_reserve(db_kv_cache *kv, const int *seq_ids, const int *n_new, int n,
                        db_error *err);
/* Undoes a successful db_kv_reserve with the same arguments: shrinks each sequence by n_new[i] tokens
 * and returns the blocks no longer needed. */
void db_kv_unreserve(db_kv_cache *kv, const int *seq_ids, const int *n_new, int n);

/* Consistency check for tests and invariant checks: every block is either free or owned by exactly one
 * live sequence, and each sequence owns exactly ceil(tokens / block_size) blocks. */
db_status db_kv_cache_check(const db_kv_cache *kv, db_error *err);

#ifdef __cplusplus
}
#endif
#endif
