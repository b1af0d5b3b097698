/* subset: the rows of a database that a slice of it needs (dbdump-rows
 * --subset): the rows of the start tables that match a condition, every
 * row that refers to them (transitively, along foreign keys: their
 * descendants), and every row that any of those refers to (transitively:
 * their ancestors).  Ancestors do not bring their own descendants, so one
 * customer brings their orders and the products those name, not every
 * other order of those products.  The result loads into an empty database
 * with every foreign key satisfied.
 *
 * The rows chosen are kept in memory as their keys: a subset is meant to
 * be small.  Every table is read in the source's one snapshot. */
#ifndef DBPIPE_SUBSET_H
#define DBPIPE_SUBSET_H

#include <stddef.h>

#include "db.h"
#include "schema.h"
#include "strmap.h"

struct subset_start {
	const char *table;
	const char *where;   /* an SQL condition in the source engine's dialect */
};

struct subset {
	const struct schema *s;
	struct strmap *keys;      /* per table of s: the keys of its rows chosen */
	/* per table of s and per reference of it (refs[t] has t->nrefs maps):
	 * parent_values: the values the chosen rows of the referenced table
	 * hold in the reference's "to" columns; needed: those the chosen rows
	 * of t refer to */
	struct strmap **parent_values, **needed;
	size_t chosen;
};

/* Choose the rows of db's tables in s (dependency order, as the source
 * dumps them) for the starts given.  A start table outside s, or a
 * condition the engine refuses, is an error (printed; -1). */
int subset_compute(struct subset *sub, struct db *db, const struct schema *s,
		   const struct subset_start *starts, size_t nstarts);
/* Whether row r of table ti (index in s) is chosen. */
int subset_has(const struct subset *sub, size_t ti, const struct row *r);
void subset_release(struct subset *sub);

#endif
