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
#include "sql.h"
#include "stream.h"
#include "util.h"

struct db;
struct db_cursor;

/* What a program's options tell a connection. */
struct db_options {
	/* --zero-date=null: MySQL's zero dates (0000-00-00) read as NULL;
	 * without it such a value is an error. */
	int zero_date_null;
	/* --allow-non-transactional: write MySQL tables whose engine cannot
	 * roll back (never in a dry run). */
	int allow_non_transactional;
	/* Where a csv: directory takes its column types, keys and references
	 * from (NULL: every column text, each table keyed by its whole row):
	 * for a source the tables of dbdump-rows --like DB, for a target the
	 * stream's tables.  Other engines ignore it. */
	const struct schema *like;
};

/* One change a rebuild (db_ops.rebuild_table) makes; one of them is set.
 * A rebuild takes a list of them: every change of one table at once. */
struct rebuild_edit {
	const struct column *col;        /* give column col->name this type, NOT NULL, default */
	const struct ref *drop_ref;      /* drop this foreign key */
	const struct index *drop_unique; /* drop this UNIQUE constraint */
	const struct ref *add_ref;       /* add this foreign key */
	const char *add_constraint;      /* add this table constraint: [CONSTRAINT name] CHECK (...), UNIQUE (...) */
	const struct check *drop_check;  /* drop this table CHECK constraint (by name, else expression) */
};

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
	/* dbapply --schema: the dialect its DDL is built in (sql_ddl.c) and
	 * how one statement of it runs; ddl_commits: every DDL statement
	 * commits by itself (MySQL), so none may run inside the write
	 * transaction. */
	const struct sql_dialect *dialect;
	int (*exec_ddl)(struct db *db, const char *sql);
	/* Where ALTER TABLE cannot change a column or drop a constraint
	 * (SQLite): the statements that make e (below) by rebuilding the
	 * table, read from the schema as it is when called, into sql (for
	 * exec_ddl); -1 with the reason, naming the table, if it cannot be
	 * rebuilt in this transaction.  Edits e[0..n) are made in one rebuild,
	 * each of them once. */
	int (*rebuild_table)(struct db *db, const char *table, const struct rebuild_edit *e, size_t n,
			     struct buf *sql);
	int ddl_commits;
	/* Before the first write of a transaction: the target's tables as
	 * load_schema gave them in it, and for each (by index) whether it is in
	 * a foreign-key cycle or refers to itself.  Both stay the caller's,
	 * unchanged, until commit or rollback. */
	int (*plan_writes)(struct db *db, const struct schema *target, const int *in_cycle);
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
	/* The rows of t for which the SQL condition `where` (the user's text,
	 * in this engine's dialect) holds, in no particular order: the start
	 * rows of dbdump-rows --subset. */
	int (*scan_where_open)(struct db *db, const struct table *t, const char *where,
			       struct db_cursor **out);
	/* dbapply --sql: value i of r (laid out by t) as an SQL literal in
	 * the dialect (sql_literal), that the engine stores as write would;
	 * -1 (db->err) for a value write refuses. */
	int (*literal)(struct db *db, const struct table *t, const struct row *r, size_t i, struct buf *out);
	/* dbapply --sql: the statements that do what reset_sequence does
	 * for t, each ending in ";\n", appended to out (nothing where the
	 * engine moves its counters by itself). */
	int (*sequence_sql)(struct db *db, const struct table *t, struct buf *out);
};

struct db {
	const struct db_ops *ops;
	char *url;          /* never printed: may hold a password */
	char *shown_url;    /* masked, for messages and headers */
	struct env env;     /* the environment it was named by (env.name NULL if none) */
	struct db_options opts;
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
	/* Set around a scan_open whose caller uses the connection for nothing
	 * else until the scan has ended or is closed: the engine may then
	 * stream the rows (PostgreSQL: COPY instead of a cursor's batches). */
	int scan_alone;
	void *impl;
};

/* ops->write, counted (see failed_write). */
int db_write(struct db *db, const struct table *t, const struct change *c);

/* Resolve target (a URL, a .db/.sqlite path, or an environment name) and
 * connect with the options o (NULL: none).  On failure prints the reason
 * and returns NULL. */
struct db *db_connect(const char *target, const struct db_options *o);
void db_disconnect(struct db *db);

/* --zero-date=HOW into o ("null" is the only choice).  -1 for another HOW. */
int db_parse_zero_date(const char *how, struct db_options *o);

/* --- the write vocabulary every backend shares --- */
/* Set db->err to the formatted message; returns -1. */
int db_error(struct db *db, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* An update or delete found no row with its key: db->err says so; -1. */
int db_no_row(struct db *db);

/* What names this database whatever the spelling of its target: for SQLite
 * "sqlite:" and the file's real path, else the masked URL.  Caller frees. */
char *db_identity(const struct db *db);

/* The URL with any password replaced by "***". */
char *db_mask_url(const char *url);

/* Whether target names a database rather than a stream file. */
int db_is_target(const char *target);

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_mysql_ops;
extern const struct db_ops db_pg_ops;
extern const struct db_ops db_csv_ops;

#endif
