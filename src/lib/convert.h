/* convert: a stream's values in the form the target column keeps them.
 *
 * A value crosses engines as its neutral type's canonical text (value.h),
 * but the column it lands in may have another type: Django keeps a UUID in
 * SQLite's char(32) as 32 hex digits, PostgreSQL's uuid reads a text UUID
 * back with dashes, a naive timestamp goes into a column with a zone as UTC.
 * dbapply turns each value of the stream into the text the target will read
 * back, before it compares or writes, so the comparison is made on the
 * target column's type, a second sync finds nothing to do, and the undo
 * stream holds the target's own values.  What the target cannot hold
 * exactly is refused with the reason, never changed. */
#ifndef DBPIPE_CONVERT_H
#define DBPIPE_CONVERT_H

#include <stdint.h>

#include "schema.h"
#include "util.h"
#include "value.h"

/* A copy of st (a stream's table) whose columns carry the types and flags
 * of proj (table_project of the target's table for st), or NULL when every
 * column already has the target's type: the table its rows are compared,
 * spooled and written as once converted. */
struct table *convert_table(const struct table *st, const struct table *proj);

/* The changes a user allows (dbapply --lossy), and how many were made. */
enum { LOSSY_FRACTION = 1 }; /* cut digits beyond a column's scale */
struct convert_opts {
	unsigned lossy;
	uint64_t cut;
};

/* Value i of r, of stream column `from`, turned into the form of target
 * column `to`.  Returns 0, or -1 with the reason in err (emptied first). */
int convert_value(struct row *r, size_t i, const struct column *from, const struct column *to,
		  struct convert_opts *o, struct buf *err);

/* Every value of r (of stream table from) into the form of table to's
 * columns (same layout).  On -1, err names the column and the reason. */
int convert_row(struct row *r, const struct table *from, const struct table *to, struct convert_opts *o,
		struct buf *err);

#endif
