/* ahead: a database cursor's rows read on a thread of their own, a batch
 * ahead of their consumer, so that reading the rows and using them run on
 * two cores (dbdiff's two databases; dbapply's target while it compares).
 *
 * The thread fills batches of rows from the cursor, two of them in turn:
 * while the consumer takes the rows of one, the thread fills the other.
 * Nothing else may use the cursor's connection until rows_ahead_stop. */
#ifndef DBPIPE_AHEAD_H
#define DBPIPE_AHEAD_H

#include "db.h"

#define AHEAD_BATCH 512

struct rows_ahead;

/* Start reading cursor (of db; rows of ncols values) on a thread; *h is
 * made on first use and reused after.  0, or -1 with a message. */
int rows_ahead_start(struct rows_ahead **h, struct db *db, struct db_cursor *cursor, size_t ncols);
/* The next row: 1 with *r (valid until the next call), 0 at the end, -1
 * after a failed read (rows_ahead_error says why; nothing said yet). */
int rows_ahead_next(struct rows_ahead *h, const struct row **r);
const char *rows_ahead_error(const struct rows_ahead *h);
/* Stop and join the thread, if one runs; the cursor stays the caller's. */
void rows_ahead_stop(struct rows_ahead *h);
void rows_ahead_free(struct rows_ahead *h);

#endif
