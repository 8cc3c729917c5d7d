/* atomic_file.h — write a file so that readers only ever see the old file or the complete new one:
 * the data goes to a temporary file in the same directory (".NAME.tmp.XXXXXX"), which is flushed,
 * synced, closed and renamed over NAME only when every write succeeded. Any failure removes the
 * temporary file and reports the path and the system's reason (e.g. "No space left on device").
 * Must not: print or exit; it knows nothing of what is written.
 */
#ifndef DB_ATOMIC_FILE_H
#define DB_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct db_atomic_file {
    FILE *f;        /* write here between open and commit/abort */
    char *path;     /* final name */
    char *tmp_path; /* temporary name in the same directory */
} db_atomic_file;

/* Create the temporary file for path. Returns 0, or -1 with err naming the path and the reason. */
int db_atomic_open(db_atomic_file *af, const char *path, char *err, size_t errlen);
/* Check the stream for earlier write errors, flush, fsync, close and rename into place. Returns 0,
 * or -1 with err naming the path (the temporary file is removed). af is released either way. */
int db_atomic_commit(db_atomic_file *af, char *err, size_t errlen);
/* Close and remove the temporary file; path is left as it was. Safe on a zeroed struct. */
void db_atomic_abort(db_atomic_file *af);

#endif
