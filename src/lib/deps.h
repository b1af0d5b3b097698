/* deps: the foreign-key graph of a schema and the order to load it in.
 *
 * deps_sort puts parents before children, keeping name order among tables
 * that do not depend on each other (like pg_dump_sort: the original order is
 * kept where it can be).  A table's reference to itself does not constrain
 * the order.  When only tables in cycles remain, the first of them by name is
 * placed next and the cycle is recorded: loading it relies on the engine
 * deferring foreign-key checks (or on nullable keys filled in later). */
#ifndef DBPIPE_DEPS_H
#define DBPIPE_DEPS_H

#include <stddef.h>

#include "schema.h"

struct deps {
	size_t n;
	size_t *order;    /* indexes into the schema, parents first */
	size_t *level;    /* per schema index: 0 for tables without parents */
	int *in_cycle;    /* per schema index: part of a cycle (not a self-reference) */
	int *self_ref;    /* per schema index: references itself */
	size_t ncycles;   /* how many times a cycle had to be broken */
};

/* Compute the order of s's tables.  References to tables outside s are
 * ignored (a filtered dump).  Never fails. */
void deps_compute(const struct schema *s, struct deps *out);
void deps_release(struct deps *d);
/* Reorder s->tables in place into dependency order. */
void deps_sort_schema(struct schema *s);

#endif
