/* db: the one backend interface every engine implements, and the SQL text
 * that all engines share.
 *
 * Every operation returns 0 (or 1/0 for scan_next) and -1 on failure with
 * the engine's message in db->err; nothing is printed and nothing exits, so a
 * caller can always roll back.  Rows handed to and from a backend are laid
 * out by the table passed with them (the stream's columns, in its order, with
 * the target's types: see table_project). */
#ifndef DBPIPE_DB_H
#define DBPIPE_DB_H

#include "env.h"
#include "schema.h"
#include "stream.h"
#include "util.h"

struct db;
struct db_cursor;

struct db_ops {
	const char *engine;     /* as in the stream header: sqlite, postgresql, mysql */
	/* Every foreign-key check of a write transaction waits for
	 * check_constraints, declared deferrable or not, so cycles need no
	 * NULL-then-update plan. */
	int defers_all_checks;
	int (*open)(struct db *db, const char *url);
	void (*close)(struct db *db);
	/* Every table of the default schema (and others where the engine has
	 * them), with keys and references. */
	int (*load_schema)(struct db *db, struct schema *out);
	/* A read-only snapshot that every later scan sees. */
	int (*begin_read)(struct db *db);
	/* One write transaction; foreign keys are checked at the latest point the
	 * engine allows (check_constraints or commit). */
	int (*begin_write)(struct db *db);
	int (*commit)(struct db *db);
	int (*rollback)(struct db *db);
	/* Rows of t in key order (as value_cmp orders them). */
	int (*scan_open)(struct db *db, const struct table *t, struct db_cursor **out);
	int (*scan_next)(struct db_cursor *c, struct row *row); /* 1, 0 at the end, -1 */
	void (*scan_close)(struct db_cursor *c);
	/* Insert, update (row holds the key and the new values) or delete (by key). */
	int (*write)(struct db *db, const struct table *t, const struct change *c);
	/* Run the deferred constraint checks now, so that a dry run reports them. */
	int (*check_constraints)(struct db *db);
	/* Move t's id generator past the largest id it holds. */
	int (*reset_sequence)(struct db *db, const struct table *t);

	/* Optional (NULL where the engine has no such thing). */
	/* Turn off the triggers of t that are on (on 0), until the end of the
	 * write transaction or until turned back on (on 1); a rollback brings
	 * them back too.  NULL where a transaction cannot (MySQL). */
	int (*set_triggers)(struct db *db, const struct table *t, int on);
	/* The mark of the read snapshot: text naming this database and the
	 * point in its history the snapshot stands at, handed back later to
	 * since_usable and scan_since_open. */
	int (*snapshot_mark)(struct db *db, struct buf *out);
	/* Whether the read snapshot can find what changed since mark: 1 yes,
	 * 0 no (db->err says why: another database, too old), -1 failure. */
	int (*since_usable)(struct db *db, const char *mark);
	/* Rows of t written since the snapshot of a usable mark (and possibly a
	 * few older ones), in key order: scan_next reads them.  Deletes are not
	 * seen. */
	int (*scan_since_open)(struct db *db, const struct table *t, const char *mark,
			       struct db_cursor **out);
	/* The rows of t with the n keys given (rows laid out by t, the keys in
	 * key order), in key order.  1 opened, 0 when t's keys cannot be looked
	 * up this way (the caller scans the whole table instead), -1.  With
	 * n 0 it only says which (1 or 0) and opens nothing. */
	int (*scan_keys_open)(struct db *db, const struct table *t, const struct row *const *keys,
			      size_t n, struct db_cursor **out);
};

struct db {
	const struct db_ops *ops;
	char *url;          /* never printed: may hold a password */
	char *shown_url;    /* masked, for messages and headers */
	struct env env;     /* the environment it was named by (env.name NULL if none) */
	struct buf err;
	/* Writes are batched, so a row's failure may surface in a later call:
	 * db_write counts the writes, and a backend that can tell which row
	 * failed sets failed_write to its number (from 1), else leaves 0. */
	uint64_t nwrites, failed_write;
	/* Set by a commit that failed because the connection was lost, when
	 * whether the server committed is not known (commit_unknown), or was
	 * found out on a new connection to have committed (commit_found; the
	 * commit then returns 0). */
	int commit_unknown, commit_found;
	void *impl;
};

/* ops->write, counted (see failed_write). */
int db_write(struct db *db, const struct table *t, const struct change *c);

/* Resolve target (a URL, a .db/.sqlite path, or an environment name) and
 * connect.  On failure prints the reason and returns NULL. */
struct db *db_connect(const char *target);
void db_disconnect(struct db *db);

/* --zero-date=HOW: how the MySQL backend reads 0000-00-00 ("null" is the
 * only choice; without it a zero date is an error).  -1 for another HOW. */
int db_set_zero_date(const char *how);

/* What names this database whatever the spelling of its target: for SQLite
 * "sqlite:" and the file's real path, else the masked URL.  Caller frees. */
char *db_identity(const struct db *db);

/* The URL with any password replaced by "***". */
char *db_mask_url(const char *url);

/* Whether target names a database rather than a stream file. */
int db_is_target(const char *target);

/* --- shared SQL text --- */
struct sql_dialect {
	char quote;                                    /* identifier quote: " or ` */
	const char *null_safe_eq;                      /* = that matches NULL to NULL */
	int schemas;                                   /* "a.b" names table b of schema a */
	void (*placeholder)(struct buf *sql, size_t n); /* the n-th parameter, from 1 */
	/* Optional: the ORDER BY expression of key column c, when the engine's own
	 * order of the column differs from value_cmp's. */
	void (*order_key)(struct buf *sql, const struct sql_dialect *d, const struct column *c);
};
void sql_ident(struct buf *sql, const struct sql_dialect *d, const char *name);
/* The table name; "schema.table" becomes a qualified name. */
void sql_table(struct buf *sql, const struct sql_dialect *d, const char *name);
/* SELECT cols FROM t ORDER BY key; `collate` is appended to text key columns. */
void sql_select(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		const char *text_collate);
/* INSERT INTO t (non-generated cols) VALUES (params).  Parameters in column order. */
void sql_insert(struct buf *sql, const struct sql_dialect *d, const struct table *t);
/* UPDATE t SET set-cols WHERE key; parameters: set-cols then key cols.  set
 * marks which columns (by index) are set. */
void sql_update(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		const struct row *set);
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

/* "(k1,k2)": the key columns of t, quoted, in key order. */
void sql_key_list(struct buf *sql, const struct sql_dialect *d, const struct table *t);
/* Whether column i of t takes part in writes of the given row. */
int sql_writable(const struct table *t, size_t i);

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_mysql_ops;
extern const struct db_ops db_pg_ops;

#endif
