/* progress: a one-line meter on stderr (table, rows, rows/s, bytes), only
 * when stderr is a terminal and not silenced; nothing at all otherwise. */
#ifndef DBPIPE_PROGRESS_H
#define DBPIPE_PROGRESS_H

#include <stdint.h>

/* Turn the meter on if stderr is a terminal and quiet is 0. */
void progress_init(int quiet);
/* A new stage: e.g. ("dump", "clients"). */
void progress_table(const char *what, const char *table);
/* Count rows and bytes; redraws at most ten times a second. */
void progress_rows(uint64_t rows, uint64_t bytes);
/* Clear the line (before other output to stderr, and at the end). */
void progress_done(void);

#endif
