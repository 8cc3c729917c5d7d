/* metrics_kv.h — an ordered list of key/value facts about a run (the environment fingerprint, run
 * settings) that reports/ serialises without knowing where the facts came from. Keys keep the order
 * they were first set in; setting a key again replaces its value in place. A value is text or an
 * integer (written as a JSON number).
 * Must not: collect facts itself (harness/env.c does) or print.
 */
#ifndef DB_METRICS_KV_H
#define DB_METRICS_KV_H

#include <stddef.h>
#include <stdint.h>

typedef enum db_kv_kind { DB_KV_TEXT = 0, DB_KV_INT = 1 } db_kv_kind;

typedef struct db_kv {
    char *key;
    char *value; /* text; for DB_KV_INT the decimal digits */
    db_kv_kind kind;
    int64_t int_value; /* DB_KV_INT only */
} db_kv;

typedef struct db_kv_list {
    db_kv *items; /* (n) in insertion order */
    size_t n, cap;
} db_kv_list;

/* A zeroed db_kv_list is empty and valid. The setters return 0, or -1 on allocation failure or a
 * NULL or empty key (the list is unchanged). A NULL value is stored as "". */
int db_kv_set(db_kv_list *l, const char *key, const char *value);
int db_kv_setf(db_kv_list *l, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int db_kv_set_int(db_kv_list *l, const char *key, int64_t value);
/* The item with this key, or NULL. */
const db_kv *db_kv_find(const db_kv_list *l, const char *key);
void db_kv_free(db_kv_list *l);

#endif
