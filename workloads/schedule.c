#include "schedule.h"

#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void db_schedule_free(db_schedule *s) {
    if (!s) return;
    free(s->items);
    memset(s, 0, sizeof *s);
}

static int write_items(const db_schedule *s, FILE *f) {
    if (fputs("arrival_s,prompt_tokens,output_tokens\n", f) < 0) return -1;
    for (size_t i = 0; i < s->n; i++) {
        const db_schedule_item *it = &s->items[i];
        if (fprintf(f, "%.9f,%d,%d\n", it->arrival_s, (int)it->prompt_tokens,
                    (int)it->output_tokens) < 0)
            return -1;
    }
    return 0;
}

int db_schedule_dump(const db_schedule *s, const char *path, char *err, size_t errlen) {
    size_t cap = strlen(path) + 32;
    char *tmp = malloc(cap);
    if (!tmp) return db_errf(err, errlen, "%s: out of memory", path);
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        db_errf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int bad = write_items(s, f);
    int saved = errno;
    if (fclose(f) != 0 && !bad) {
        bad = -1;
        saved = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = -1;
        saved = errno;
    }
    if (bad) {
        remove(tmp);
        db_errf(err, errlen, "%s: cannot write: %s", path, strerror(saved));
    }
    free(tmp);
    return bad ? -1 : 0;
}
