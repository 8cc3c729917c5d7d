/* kv_cache.c — paged KV-cache block allocator (free list + per-sequence block tables). */
#include "kv_cache.h"

#include <stdlib.h>
#include <string.h>

typedef struct kv_seq {
    int32_t *blocks; /* (n_blocks) physical block ids in position order */
    int n_blocks;
    int cap; /* allocated length of blocks */
    int tokens;
    int live;
    uint64_t mark; /* reserve epoch that last listed this sequence (repeat detection) */
} kv_seq;

struct db_kv_cache {
    int block_size;
    int64_t total_blocks;
    int32_t *free_list; /* (total_blocks) stack of free block ids; the top is free_list[n_free-1] */
    int64_t n_free;
    kv_seq *seqs; /* (seq_cap) indexed by seq id */
    int seq_cap;
    int n_seqs;    /* ids 0 .. n_seqs-1 have been handed out at least once */
    int *free_ids; /* (seq_cap) stack of retired ids */
    int n_free_ids;
    int live_seqs;
    uint64_t epoch;
};

db_status db_kv_cache_create(int64_t total_blocks, int block_size, db_kv_cache **out,
                             db_error *err) {
    *out = NULL;
    if (block_size < 1 || block_size > DB_KV_MAX_BLOCK_SIZE)
        return db_error_set(err, DB_ERR_INVALID, "KV block size must be in 1..%d tokens, got %d",
                            DB_KV_MAX_BLOCK_SIZE, block_size);
    if (total_blocks < 1 || total_blocks > DB_KV_MAX_BLOCKS)
        return db_error_set(err, DB_ERR_INVALID, "KV capacity must be 1..%d blocks, got %lld",
                            DB_KV_MAX_BLOCKS, (long long)total_blocks);
    db_kv_cache *kv = calloc(1, sizeof *kv);
    if (kv) kv->free_list = malloc((size_t)total_blocks * sizeof *kv->free_list);
    if (!kv || !kv->free_list) {
        free(kv);
        return db_error_set(err, DB_ERR_NOMEM, "KV cache: cannot allocate %lld block ids",
                            (long long)total_blocks);
    }
    kv->block_size = block_size;
    kv->total_blocks = total_blocks;
    /* Block 0 on top, so blocks are handed out in ascending order from a fresh pool. */
    for (int64_t i = 0; i < total_blocks; i++)
        kv->free_list[i] = (int32_t)(total_blocks - 1 - i);
    kv->n_free = total_blocks;
    *out = kv;
    return DB_OK;
}

void db_kv_cache_destroy(db_kv_cache *kv) {
    if (!kv) return;
    for (int i = 0; i < kv->n_seqs; i++)
        free(kv->seqs[i].blocks);
    free(kv->seqs);
    free(kv->free_ids);
    free(kv->free_list);
    free(kv);
}

int db_kv_cache_block_size(const db_kv_cache *kv) {
    return kv->block_size;
}
int64_t db_kv_cache_total_blocks(const db_kv_cache *kv) {
    return kv->total_blocks;
}
int64_t db_kv_cache_free_blocks(const db_kv_cache *kv) {
    return kv->n_free;
}
int db_kv_cache_live_seqs(const db_kv_cache *kv) {
    return kv->live_seqs;
}

static kv_seq *find(const db_kv_cache *kv, int seq_id) {
    if (seq_id < 0 || seq_id >= kv->n_seqs || !kv->seqs[seq_id].live) return NULL;
    return &kv->seqs[seq_id];
}

int db_kv_seq_exists(const db_kv_cache *kv, int seq_id) {
    return find(kv, seq_id) != NULL;
}

int db_kv_seq_tokens(const db_kv_cache *kv, int seq_id) {
    const kv_seq *s = find(kv, seq_id);
    return s ? s->tokens : -1;
}

static int64_t blocks_for(const db_kv_cache *kv, int64_t tokens) {
    return (tokens + kv->block_size - 1) / kv->block_size;
}

int64_t db_kv_seq_blocks_needed(const db_kv_cache *kv, int seq_id, int n_new) {
    const kv_seq *s = find(kv, seq_id);
    if (!s || n_new < 0) return -1;
    return blocks_for(kv, (int64_t)s->tokens + n_new) - s->n_blocks;
}

const int32_t *db_kv_seq_blocks(const db_kv_cache *kv, int seq_id, int *n_blocks) {
    const kv_seq *s = find(kv, seq_id);
    if (n_blocks) *n_blocks = s ? s->n_blocks : 0;
    return s ? s->blocks : NULL;
}

/* Room for one more sequence id in seqs and free_ids. */
static int grow_seq_table(db_kv_cache *kv) {
    if (kv->n_seqs < kv->seq_cap) return 0;
    if (kv->seq_cap >= (1 << 28)) return -1;
    int cap = kv->seq_cap ? 2 * kv->seq_cap : 64;
    kv_seq *seqs = realloc(kv->seqs, (size_t)cap * sizeof *seqs);
    if (!seqs) return -1;
    kv->seqs = seqs;
    memset(seqs + kv->seq_cap, 0, (size_t)(cap - kv->seq_cap) * sizeof *seqs);
    int *ids = realloc(kv->free_ids, (size_t)cap * sizeof *ids);
    if (!ids) return -1; /* seqs grew but seq_cap did not: the next call retries both */
    kv->free_ids = ids;
    kv->seq_cap = cap;
    return 0;
}

db_status db_kv_seq_new(db_kv_cache *kv, int *seq_id, db_error *err) {
    int id;
    if (kv->n_free_ids > 0) {
        id = kv->free_ids[--kv->n_free_ids];
    } else {
        if (grow_seq_table(kv) != 0)
            return db_error_set(err, DB_ERR_NOMEM,
                                "KV cache: cannot grow the sequence table past %d", kv->seq_cap);
        id = kv->n_seqs++;
    }
    kv_seq *s = &kv->seqs[id];
    s->live = 1;
    s->tokens = 0;
    s->n_blocks = 0;
    kv->live_seqs++;
    *seq_id = id;
    return DB_OK;
}

db_status db_kv_seq_release(db_kv_cache *kv, int seq_id, db_error *err) {
    kv_seq *s = find(kv, seq_id);
    if (!s) return db_error_set(err, DB_ERR_INVALID, "unknown sequence %d", seq_id);
    /* Pushed in reverse so a following reserve takes them back in the same order. */
    for (int i = s->n_blocks - 1; i >= 0; i--)
        kv->free_list[kv->n_free++] = s->blocks[i];
    s->n_blocks = 0;
    s->tokens = 0;
    s->live = 0;
    kv->free_ids[kv->n_free_ids++] = seq_id;
    kv->live_seqs--;
    return DB_OK;
}

/* Checks the items and counts the blocks they need; marks each listed sequence with this epoch. */
static db_status count_needed(db_kv_cache *kv, const int *seq_ids, const int *n_new, int n,
                              int64_t *need, db_error *err) {
    uint64_t epoch = ++kv->epoch;
    *need = 0;
    for (int i = 0; i < n; i++) {
        kv_seq *s = find(kv, seq_ids[i]);
        if (!s) return db_error_set(err, DB_ERR_INVALID, "unknown sequence %d", seq_ids[i]);
        if (s->mark == epoch)
            return db_error_set(err, DB_ERR_INVALID, "sequence %d is listed twice", seq_ids[i]);
        s->mark = epoch;
        if (n_new[i] < 0 || (int64_t)s->tokens + n_new[i] > INT32_MAX)
            return db_error_set(err, DB_ERR_INVALID, "sequence %d cannot grow by %d tokens",
                                seq_ids[i], n_new[i]);
        *need += blocks_for(kv, (int64_t)s->tokens + n_new[i]) - s->n_blocks;
    }
    return DB_OK;
}

db_status db_kv_reserve(db_kv_cache *kv, const int *seq_ids, const int *n_new, int n,
                        db_error *err) {
    if (n < 0) return db_error_set(err, DB_ERR_INVALID, "negative item count %d", n);
    int64_t need;
    db_status st = count_needed(kv, seq_ids, n_new, n, &need, err);
    if (st != DB_OK) return st;
    if (need > kv->n_free)
        return db_error_set(err, DB_ERR_KV_FULL,
                            "KV cache full: the step needs %lld more blocks, %lld of %lld are free",
                            (long long)need, (long long)kv->n_free, (long long)kv->total_blocks);
    /* Grow the tables first: a failure here leaves every sequence as it was. */
    for (int i = 0; i < n; i++) {
        kv_seq *s = &kv->seqs[seq_ids[i]];
        int64_t want = blocks_for(kv, (int64_t)s->tokens + n_new[i]);
        if (want <= s->cap) continue;
        int cap = s->cap ? s->cap : 4;
        while (cap < want)
            cap *= 2;
        int32_t *blocks = realloc(s->blocks, (size_t)cap * sizeof *blocks);
        if (!blocks)
            return db_error_set(err, DB_ERR_NOMEM,
                                "KV cache: cannot grow the block table of sequence %d", seq_ids[i]);
        s->blocks = blocks;
        s->cap = cap;
    }
    for (int i = 0; i < n; i++) {
        kv_seq *s = &kv->seqs[seq_ids[i]];
        s->tokens += n_new[i];
        int64_t want = blocks_for(kv, s->tokens);
        while (s->n_blocks < want)
            s->blocks[s->n_blocks++] = kv->free_list[--kv->n_free];
    }
    return DB_OK;
}

void db_kv_unreserve(db_kv_cache *kv, const int *seq_ids, const int *n_new, int n) {
    /* In reverse, so the free list ends exactly as it was before the reserve. */
    for (int i = n - 1; i >= 0; i--) {
        kv_seq *s = find(kv, seq_ids[i]);
        if (!s) continue;
        s->tokens -= n_new[i] < s->tokens ? n_new[i] : s->tokens;
        int64_t keep = blocks_for(kv, s->tokens);
        while (s->n_blocks > keep)
            kv->free_list[kv->n_free++] = s->blocks[--s->n_blocks];
    }
}

static db_status check_seqs(const db_kv_cache *kv, unsigned char *owned, db_error *err) {
    for (int id = 0; id < kv->n_seqs; id++) {
        const kv_seq *s = &kv->seqs[id];
        if (!s->live) continue;
        if (s->n_blocks != blocks_for(kv, s->tokens))
            return db_error_set(err, DB_ERR_INTERNAL, "sequence %d holds %d tokens in %d blocks",
                                id, s->tokens, s->n_blocks);
        for (int i = 0; i < s->n_blocks; i++) {
            int32_t b = s->blocks[i];
            if (b < 0 || b >= kv->total_blocks || owned[b]++)
                return db_error_set(err, DB_ERR_INTERNAL,
                                    "block %d of sequence %d is out of range or owned twice", b,
                                    id);
        }
    }
    return DB_OK;
}

db_status db_kv_cache_check(const db_kv_cache *kv, db_error *err) {
    unsigned char *owned = calloc((size_t)kv->total_blocks, 1);
    if (!owned) return db_error_set(err, DB_ERR_NOMEM, "KV check: out of memory");
    db_status st = DB_OK;
    for (int64_t i = 0; st == DB_OK && i < kv->n_free; i++) {
        int32_t b = kv->free_list[i];
        if (b < 0 || b >= kv->total_blocks || owned[b]++)
            st = db_error_set(err, DB_ERR_INTERNAL, "free block %d is out of range or listed twice",
                              b);
    }
    if (st == DB_OK) st = check_seqs(kv, owned, err);
    for (int64_t b = 0; st == DB_OK && b < kv->total_blocks; b++)
        if (!owned[b])
            st = db_error_set(err, DB_ERR_INTERNAL, "block %lld is neither free nor owned",
                              (long long)b);
    free(owned);
    return st;
}
