/* diff: the merge-join of two key-ordered row sequences of one table into
 * changes.  Memory is constant: one row of each side is held at a time. */
#ifndef DBPIPE_DIFF_H
#define DBPIPE_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "stream.h"

/* A sequence of rows in key order: next gives 1 (row in *out, valid until
 * the next call), 0 at the end, or -1 after printing an error. */
struct row_iter {
	int (*next)(void *ctx, const struct row **out);
	void *ctx;
	const char *name; /* for messages */
	/* Optional.  bytes (NULL: none): 1 and the record the current row was
	 * read from, or would be written as, where records of equal bytes are
	 * equal rows (else 0); whole (NULL: every row comes whole): make the
	 * current row whole, for it may hold only its key until then
	 * (stream.h, lazy); 0 or -1. */
	int (*bytes)(void *ctx, const char **p, size_t *n);
	int (*whole)(void *ctx);
};

/* Make the current row of it whole, if it may not be: 0 or -1. */
int row_iter_whole(struct row_iter *it);
/* Whether the current rows of a and b were read from records of the same
 * bytes, which makes them the same row whatever their types. */
int row_iter_same_bytes(struct row_iter *a, struct row_iter *b);

/* Which kinds of change to produce (the rest are counted as kept). */
struct diff_policy {
	int inserts, updates, deletes;
	/* If set: whether a row only in OLD lies outside what NEW is known to
	 * hold whole (a ranged table, stream.h); such a row is neither deleted
	 * nor counted as kept. */
	int (*outside)(void *ctx, const struct row *o);
	void *outside_ctx;
};

struct diff_counts {
	uint64_t inserts, updates, deletes;
	uint64_t kept;   /* rows only in OLD (or deletes) that the policy keeps */
	uint64_t left;   /* changed rows the policy leaves as they are (no updates) */
	/* three-way (merge.h, dbapply's sync base) */
	uint64_t theirs_kept; /* rows the target changed since the base, kept */
	uint64_t unbased;     /* rows overwritten (--prefer source) with no base to tell an edit from a collision */
	uint64_t unbased_left; /* rows that differ with no base to tell an edit from a collision, not applied */
	uint64_t conflicts;   /* rows changed on both sides, not applied */
	uint64_t collisions;  /* keys both sides created with other content, not applied */
	uint64_t held;        /* rows held back: they refer to a collision or conflict */
	uint64_t rekeyed;     /* collisions inserted under a new key (--rekey) */
	uint64_t trigger_made; /* inserts whose row a trigger of this run had made: written over */
	uint64_t cut;         /* stream values cut to the digits their column keeps (--lossy fraction) */
};

typedef int (*diff_emit_fn)(void *ctx, const struct change *c);

/* Compare OLD and NEW rows of t (both laid out by t) and emit the changes
 * that turn OLD into NEW, in key order.  Two rows of one key whose records
 * have the same bytes (row_iter.bytes) are the same row, decoded no further.  Returns 0 or -1 (an error from an
 * iterator or emit, or a key out of order in either sequence). */
int diff_table(const struct table *t, struct row_iter *old, struct row_iter *new_,
	       const struct diff_policy *policy, diff_emit_fn emit, void *ctx,
	       struct diff_counts *counts);

#endif
