/* metrics_kv.c — ordered key/value run facts (metrics_kv.h). */
#include "metrics_kv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static db_kv *find_mut(db_kv_list *l, const char *key) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i].key, key)) return &l->items[i];
    return NULL;
}

/* Store value (taking ownership of the malloc'ed text) under key. */
static int put(db_kv_list *l, const char *key, char *value, db_kv_kind kind, int64_t int_value) {
    if (!key || !*key || !value) {
        free(value);
        return -1;
    }
    db_kv *item = find_mut(l, key);
    if (item) {
        free(item->value);
        item->value = value;
        item->kind = kind;
        item->int_value = int_value;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        db_kv *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown) {
            free(value);
            return -1;
        }
        l->items = grown;
        l->cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(value);
        return -1;
    }
    l->items[l->n++] = (db_kv){k, value, kind, int_value};
    return 0;
}

int db_kv_set(db_kv_list *l, const char *key, const char *value) {
    return put(l, key, strdup(value ? value : ""), DB_KV_TEXT, 0);
}

int db_kv_setf(db_kv_list *l, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    return put(l, key, text, DB_KV_TEXT, 0);
}

int db_kv_set_int(db_kv_list *l, const char *key, int64_t value) {
    char *text = NULL;
    if (asprintf(&text, "%" PRId64, value) < 0) return -1;
    return put(l, key, text, DB_KV_INT, value);
}

const db_kv *db_kv_find(const db_kv_list *l, const char *key) {
    if (!key) return NULL;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i].key, key)) return &l->items[i];
    return NULL;
}

void db_kv_free(db_kv_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    *l = (db_kv_list){0};
}
