/* sql: the SQL text every engine writes, built in one place.
 *
 * A backend describes what its SQL does differently in a struct sql_dialect
 * (identifier quotes, placeholders, the ORDER BY that gives value_cmp's
 * order, how a whole-row key compares) and builds statements with sql_addf,
 * whose directives quote names and spell keys the same way for everyone.
 * Statements are built whole: none is edited after it is built. */
#ifndef DBPIPE_SQL_H
#define DBPIPE_SQL_H

#include <stddef.h>

#include "schema.h"
#include "util.h"

struct db;

struct sql_dialect {
	char quote;                 /* identifier quote: " or ` */
	const char *null_safe_eq;   /* an = that matches NULL to NULL, with spaces */
	int schemas;                /* "a.b" names table b of schema a */
	/* The n-th parameter, from 1. */
	void (*placeholder)(struct buf *sql, size_t n);
	/* The ORDER BY term of key column c that gives value_cmp's order of
	 * its values (order: value_key_order of its type).  NULLs first. */
	void (*order_key)(struct buf *sql, const struct sql_dialect *d, const struct column *c,
			  enum key_order order);
	/* Optional: column c of a whole-row key, or its parameter n (n > 0), as
	 * compared in a key condition (types without an equality operator). */
	void (*key_operand)(struct buf *sql, const struct sql_dialect *d, const struct column *c,
			    size_t n);
};

/* Append SQL text: fmt is copied, with these directives taking arguments:
 *   %s  const char *, as is           %d int    %zu size_t    %%  a '%'
 *   %I  const char *, an identifier, quoted
 *   %T  const char *, a table name ("schema.table" qualified where the
 *       dialect has schemas)
 *   %C  const struct table *: every column, quoted, comma-separated
 *   %K  const struct table *: the key columns in key order, comma-separated
 *   %W  const struct table *, size_t *n: the key condition "k1 = $n+1 AND
 *       ..." (null-safe for a whole-row key); *n counts the parameters
 *   %O  const struct table *: the ORDER BY terms of the key
 *   %P  size_t *n: the next parameter */
void sql_addf(struct buf *sql, const struct sql_dialect *d, const char *fmt, ...);

void sql_ident(struct buf *sql, const struct sql_dialect *d, const char *name);
/* The table name; "schema.table" becomes a qualified name. */
void sql_table(struct buf *sql, const struct sql_dialect *d, const char *name);
/* Whether column i of t takes part in writes (generated columns do not). */
int sql_writable(const struct table *t, size_t i);
/* Whether an update of t writes column i of row set: present, not a key
 * column, writable. */
int sql_sets(const struct table *t, const struct row *set, size_t i);

/* SELECT cols FROM t ORDER BY key. */
void sql_select(struct buf *sql, const struct sql_dialect *d, const struct table *t);
/* INSERT INTO t (writable cols) VALUES (params).  Parameters in column order. */
void sql_insert(struct buf *sql, const struct sql_dialect *d, const struct table *t);
/* UPDATE t SET cols of set (sql_sets) WHERE key; parameters: the set
 * columns, then the key columns. */
void sql_update(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		const struct row *set);
/* DELETE FROM t WHERE key; parameters: the key columns. */
void sql_delete(struct buf *sql, const struct sql_dialect *d, const struct table *t);

/* Statements a backend keeps to run later, each for one table: how
 * set_triggers puts back what it turned off. */
struct sql_later {
	char **v;   /* "table\0sql"; the sql is emptied once run */
	size_t n;
};
void sql_later_add(struct sql_later *l, const char *table, const char *sql);
/* Run the statements kept for table, once each and in the order kept,
 * through run; 0, or -1 at the first that fails. */
int sql_later_run(struct sql_later *l, struct db *db, const char *table,
		  int (*run)(struct db *db, const char *sql));
void sql_later_clear(struct sql_later *l);

/* Prepared statements by their SQL text, for backends that keep them: the
 * last `size` used stay, and the engine's release function frees the
 * statement a newer one pushes out. */
struct stmt_cache {
	size_t size, n, next;
	struct { char *sql; void *stmt; } *v;
	void (*release)(void *ctx, void *stmt);
	void *ctx;
};
void stmt_cache_init(struct stmt_cache *c, size_t size, void (*release)(void *ctx, void *stmt),
		     void *ctx);
/* The statement kept for sql, or NULL. */
void *stmt_cache_find(const struct stmt_cache *c, const char *sql);
/* Keep stmt for sql (pushing out the oldest when full). */
void stmt_cache_put(struct stmt_cache *c, const char *sql, void *stmt);
/* Release every statement kept. */
void stmt_cache_clear(struct stmt_cache *c);

#endif
