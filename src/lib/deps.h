/* deps: the foreign-key graph of a schema, the order to load it in, and how
 * each cycle in it is broken.
 *
 * Order.  deps_compute puts parents before children, keeping name order
 * among tables that do not depend on each other (like pg_dump_sort: the
 * smallest order by name that respects the references).  A table's reference
 * to itself does not constrain the order.  References to tables outside the
 * schema are ignored (a filtered dump).
 *
 * Cycles.  The strongly connected components of the graph (Tarjan) are the
 * cycles: a component of two or more tables, or one table that references
 * itself.  Inside a component the tables are ordered so that the keys the
 * load must break are ones it can break, in this preference:
 *
 *   DEPS_DEFER      the constraint is deferrable: the engine checks it at
 *                   commit, rows are written as they are;
 *   DEPS_SET_NULL   every column of the key is nullable (and none is part of
 *                   the table's own key): the row is inserted with them NULL
 *                   and a later update, after every insert, fills them in;
 *   DEPS_NONE       NOT NULL and not deferrable: the cycle cannot be loaded
 *                   row by row (a self-reference of this kind can, but only
 *                   when every row refers to rows before it in key order).
 *
 * Among the tables of a component whose unbreakable keys are satisfied, the
 * one that breaks the fewest keys by update, then the fewest by deferral, then
 * the first by name, is placed next; when none is (a loop of unbreakable
 * keys), the first by name is, and its keys are reported as DEPS_NONE.
 *
 * Worked example: staff.store_id -> store (NOT NULL, deferrable) and
 * store.manager_id -> staff (nullable, not deferrable).  Placing store first
 * breaks store.manager_id by update; placing staff first breaks
 * staff.store_id by deferral, which costs nothing: staff, then store.
 *
 * Ownership: struct deps owns every array in it; deps_release frees them.
 * Nothing here fails or prints (out of memory exits, as everywhere). */
#ifndef DBPIPE_DEPS_H
#define DBPIPE_DEPS_H

#include <stddef.h>

#include "schema.h"

/* deps_compute_flags: plan for an engine that cannot defer any check
 * (treat every key as not deferrable), e.g. a stream bound for MySQL. */
#define DEPS_NO_DEFER 1u
/* deps_compute_flags: plan for an engine that defers every check itself
 * (SQLite's defer_foreign_keys; the MySQL backend, which writes a cycle's
 * tables with checks off and verifies them before the commit). */
#define DEPS_ALL_DEFER 2u

enum deps_how { DEPS_DEFER, DEPS_SET_NULL, DEPS_NONE };

/* One foreign key that the load breaks: a reference from a table to a table
 * of its own cycle that is loaded after it (or to itself). */
struct deps_break {
	size_t table;          /* schema index of the referencing table */
	size_t ref;            /* index into that table's refs */
	size_t parent;         /* schema index of the referenced table */
	enum deps_how how;
};

struct deps_cycle {
	size_t nmembers;
	size_t *members;       /* schema indexes, in load order */
	size_t nbreaks;
	struct deps_break *breaks; /* by the load order of .table, then .ref */
	int self_reference;    /* one table referencing itself */
	int loadable;          /* 0 when some break is DEPS_NONE */
};

struct deps {
	size_t n;
	size_t *order;    /* indexes into the schema, parents first */
	size_t *level;    /* per schema index: 0 for tables without parents,
			   * else 1 + the highest level of a parent loaded before it */
	int *in_cycle;    /* per schema index: in a cycle of two or more tables */
	int *self_ref;    /* per schema index: references itself */
	size_t ncycles;   /* the cycles, in the load order of their first member */
	struct deps_cycle *cycles;
	long *cycle_of;   /* per schema index: index into cycles, or -1 */
	/* Per schema index: the columns (indexes into the table's cols, ascending,
	 * no repeats) that a load must insert as NULL and set by an update once
	 * every row is inserted: the columns of its DEPS_SET_NULL breaks. */
	size_t *nnull_cols;
	size_t **null_cols;
};

/* Compute order, levels and cycles of s's tables.  Never fails. */
void deps_compute(const struct schema *s, struct deps *out);
/* The same with flags (DEPS_NO_DEFER). */
void deps_compute_flags(const struct schema *s, unsigned flags, struct deps *out);
void deps_release(struct deps *d);
/* 1 when no cycle has a DEPS_NONE break, 0 when one cannot be loaded row by row. */
int deps_all_loadable(const struct deps *d);
/* "defer", "set-null" or "none". */
const char *deps_how_name(enum deps_how how);
/* Reorder s->tables in place into dependency order. */
void deps_sort_schema(struct schema *s);

#endif
