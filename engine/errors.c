#include <stdarg.h>
#include <stdio.h>

#include "engine.h"

db_status db_error_set(db_error *err, db_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void db_error_clear(db_error *err) {
    if (err) {
        err->code = DB_OK;
        err->msg[0] = '\0';
    }
}
