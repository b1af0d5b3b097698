/* schemadiff: what differs between two schemas (OLD and NEW), as the
 * schema records of a change stream (dbpipe(5)) and as lines for people,
 * and which differences are additive (dbapply --schema makes them).
 *
 * Tables are matched by name, columns by name, indexes by their columns
 * and uniqueness (not their names: engines name them as they like),
 * references by their columns and the table and columns they point at,
 * checks by their expressions (check_equal: as every engine reads them).
 * Within one engine a column's native type is compared too; across
 * engines only the neutral type, so the PostgreSQL and MySQL copies of one
 * schema compare equal (int is int).  Across engines a default that is
 * not portable (default_is_portable) on both sides is not compared, nor a
 * plain index on exactly a reference's columns (MySQL makes one for every
 * foreign key by itself), and RESTRICT is NO ACTION.
 *
 * A schema_diff points into both schemas: it lives no longer than they. */
#ifndef DBPIPE_SCHEMADIFF_H
#define DBPIPE_SCHEMADIFF_H

#include "schema.h"
#include "util.h"

enum schema_change_kind {
	SC_ADD_TABLE, SC_DROP_TABLE, SC_ADD_COLUMN, SC_DROP_COLUMN, SC_ALTER_COLUMN,
	SC_ALTER_KEY, SC_ADD_INDEX, SC_DROP_INDEX, SC_ADD_REFERENCE, SC_DROP_REFERENCE,
	SC_ALTER_REFERENCE, SC_ADD_CHECK, SC_DROP_CHECK, SC_ADD_TRIGGER, SC_DROP_TRIGGER,
	SC_ALTER_TRIGGER,
	/* Within PostgreSQL: the tables a table inherits from (old_i and
	 * new_i unused), and a function of its triggers that differs or that
	 * one side lacks (old_i or new_i SIZE_MAX: that side has none of
	 * that signature).  Not compared across engines: no other engine has
	 * either. */
	SC_ALTER_INHERITS, SC_ALTER_FUNCTION,
};

/* One difference.  old_t/new_t: the table on each side (NULL where it is
 * absent); old_i/new_i: the column, index or reference of that table the
 * change is about, on each side that has it. */
struct schema_change {
	enum schema_change_kind kind;
	const struct table *old_t, *new_t;
	size_t old_i, new_i;
	/* Written with the engine's own names (ref_to_json, index_to_json):
	 * an undo stream's add_index and add_reference, which put back what
	 * --mirror dropped as it was. */
	int names;
};

struct schema_diff {
	struct schema_change *v;
	size_t n, alloc;
};

/* The changes that turn old into new: per table of new in its order, then
 * the tables only old has.  same_engine: both come from one engine. */
void schema_diff_compute(const struct schema *old, const struct schema *new_, int same_engine,
			 struct schema_diff *out);
void schema_diff_release(struct schema_diff *d);

/* Whether ix is a plain index on exactly the columns of one of t's
 * references: the one MySQL makes for a foreign key by itself. */
int schema_index_of_reference(const struct table *t, const struct index *ix);

/* "add_column", ... */
const char *schema_change_name(enum schema_change_kind k);
/* Whether dbapply --schema makes this change (it removes nothing). */
int schema_change_additive(enum schema_change_kind k);
/* The schema record of c, one line of JSON without the newline. */
void schema_change_to_json(struct buf *out, const struct schema_change *c);
/* c for people, e.g. 'column "clients"."phone" (text, VARCHAR(20)) is only
 * in NEW'; old_name and new_name say what the sides are called. */
void schema_change_describe(struct buf *out, const struct schema_change *c, const char *old_name,
			    const char *new_name);

/* A schema record as a reader keeps it: its kind and a table of the
 * record's name holding just what a drop needs: for drop_table the whole
 * table record, for drop_column its one column, for drop_index its one
 * index, for drop_reference its one reference; for an undo stream's
 * restores, add_column its one column (by name only: the table record
 * has it whole) and alter_column its one column as "new" defines it
 * (other kinds: the name only).  Owned. */
struct schema_record {
	enum schema_change_kind kind;
	struct table *t;
};
/* Parse one; -1 with the reason in err. */
int schema_record_from_json(const struct jv *rec, struct schema_record *out, struct buf *err);

#endif
