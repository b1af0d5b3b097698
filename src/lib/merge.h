/* merge: the policies that filter a change stream, and the three-way merge
 * of BASE, OURS and THEIRS into the change stream that brings THEIRS up to
 * date with what OURS changed since BASE, keeping what THEIRS changed itself.
 *
 * Three-way, per key (B, O, T: the row on each side, or none):
 *
 *   B  O  T
 *   -  o  -   OURS inserted it:                   insert o
 *   -  o  t   both inserted: the same row        nothing
 *             different rows                     conflict insert/insert
 *   b  -  t   OURS deleted it, t = b:            delete (old = t)
 *             THEIRS changed it                  conflict delete/update
 *   b  o  -   THEIRS deleted it, o = b:          nothing
 *             OURS changed it                    conflict update/delete
 *   b  o  t   column by column: a column OURS changed and THEIRS did not is
 *             set (old = THEIRS' value); one changed alike on both sides is
 *             left; one changed differently makes the row a conflict
 *             update/update, and then nothing of the row is changed
 *   -  -  t, b - -, b b b and the like: nothing
 *
 * "Changed" compares values as dbdiff does (decimals and floats by value);
 * key columns are equal by construction, generated columns are ignored.  A
 * conflict is written as a conflict record (stream.h) unless prefer settles
 * it: PREFER_OURS writes what makes THEIRS' row OURS' (update, delete, or an
 * insert of OURS' row), PREFER_THEIRS leaves THEIRS' values where they
 * conflict and still merges the columns that do not.
 *
 * Memory is constant: one row of each side at a time.  Functions return 0 or
 * -1 after printing a message; they never exit. */
#ifndef DBPIPE_MERGE_H
#define DBPIPE_MERGE_H

#include <stdint.h>

#include "diff.h"
#include "source.h"
#include "stream.h"
#include "summary.h"

enum merge_policy { MERGE_UPSERT, MERGE_INSERT_ONLY, MERGE_MIRROR };
enum merge_prefer { PREFER_NONE, PREFER_OURS, PREFER_THEIRS };

/* "upsert", "insert-only", "mirror": 0, or -1 with nothing printed. */
int merge_policy_parse(const char *s, enum merge_policy *out);
/* "ours", "theirs": 0, or -1 with nothing printed. */
int merge_prefer_parse(const char *s, enum merge_prefer *out);

struct merge_counts {
	uint64_t conflicts;    /* conflict records written */
	uint64_t settled;      /* conflicts settled by prefer */
	uint64_t dropped;      /* updates a policy left out */
};

/* Copy the change stream rd to w (header, table records, every section with
 * recomputed counts and hashes) keeping the changes policy p allows: upsert
 * inserts and updates, insert-only inserts, mirror everything.  Conflict
 * records always pass (counted in mc->conflicts).  Per table counts go to
 * sum; a delete left out counts as kept, an update left out as dropped.
 * On failure w is left for the caller to abandon. */
int merge_filter(struct stream_reader *rd, struct stream_writer *w, enum merge_policy p,
		 struct summary *sum, struct merge_counts *mc);

/* Whether column i of one key's rows b, o, th makes an update/update
 * conflict: both sides changed it since BASE, to other values. */
int merge_column_conflict(const struct table *t, const struct row *b, const struct row *o,
			  const struct row *th, size_t i);

/* How merge_table decides beyond the table above. */
struct merge_rules {
	enum merge_prefer prefer;
	/* prefer settles insert/insert too.  dbapply leaves it 0: a key that
	 * both sides created with other content (a collision) is never an
	 * update, whatever the preference. */
	int prefer_settles_inserts;
	/* If set, whether prefer settles the insert/insert of this key all the
	 * same (dbapply: a key a first sync left out, which no base row
	 * tells an edit from a collision); o is OURS' row, ctx merge_table's. */
	int (*key_unbased)(void *ctx, const struct row *o);
	/* OURS does not remove rows: a row missing from OURS is kept as THEIRS
	 * has it (counted in counts->kept), never deleted nor a conflict.
	 * dbapply's merge: OURS may be partial, and a merge deletes nothing. */
	int keep_missing;
	/* Called after each key with its three rows (NULL where absent) and
	 * whether a conflict record was emitted for it; NULL: not called. */
	int (*after_key)(void *ctx, const struct row *b, const struct row *o, const struct row *th,
			 int conflicted);
};

/* Merge the rows of one table (laid out by t on all three sides) and emit
 * the changes and conflict records in key order.  A row THEIRS changed
 * since BASE and keeps (OURS left those columns as BASE had them) counts in
 * counts->theirs_kept.  Rows of iterators that give their records' bytes
 * (diff.h) are made whole only for keys where OURS and THEIRS differ in
 * them; after_key may then get rows that hold their key only. */
int merge_table(const struct table *t, struct row_iter *base, struct row_iter *ours,
		struct row_iter *theirs, const struct merge_rules *rules, diff_emit_fn emit, void *ctx,
		struct diff_counts *counts, struct merge_counts *mc);

/* The whole three-way merge onto w: a change stream with OURS' header and
 * table records.  Every table of OURS must be in THEIRS with the same
 * columns and key; a table missing from BASE is merged as if BASE had it
 * empty; a table missing from OURS is left alone with a warning.  All three
 * inputs are read to their end before the final end record is written. */
int merge_three_way(struct source *base, struct source *ours, struct source *theirs,
		    struct stream_writer *w, enum merge_prefer prefer, struct summary *sum,
		    struct merge_counts *mc);

#endif
