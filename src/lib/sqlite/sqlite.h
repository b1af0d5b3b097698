/* sqlite: what the files of the SQLite backend share, and nothing outside
 * this folder includes.  conn.c connects, runs transactions and checks
 * foreign keys; catalog.c reads the schema; read.c scans rows; write.c
 * writes them; rebuild.c changes a column by a table rebuild.  Functions
 * returning int give 0 or -1 with the message in db->err, as everywhere in
 * db.h. */
#ifndef DBPIPE_SQLITE_SQLITE_H
#define DBPIPE_SQLITE_SQLITE_H

#include <stddef.h>

#include <sqlite3.h>

#include "db.h"

struct sqlite_db {
	sqlite3 *h;
	/* The foreign-key violations the target had before this write
	 * transaction ("table\trowid\tparent\tfkid", sorted): not ours to report. */
	char **fk_before;
	size_t nfk_before;
	struct stmt_cache cache;   /* the write statements, prepared once */
	struct buf sql, tmp;
	/* The CREATE TRIGGER of each trigger set_triggers dropped. */
	struct sql_later triggers_back;
};

struct db_cursor {
	struct db *db;
	sqlite3_stmt *stmt;
	const struct table *t;
	/* scan_keys_open: the keys still to look up, one probe each */
	const struct row *const *keys;
	size_t nkeys, next;
	struct buf number;  /* a real's text, made again for each value */
};

/* How SQLite's SQL differs (read.c, next to the reading it orders by). */
extern const struct sql_dialect sq_dialect;
/* catalog.c: the declared type of a column made from a stream (sql.h). */
int sq_column_type(struct buf *sql, const struct column *c, int indexed, const char *src, struct buf *err);

/* conn.c */
/* db->err = "what: " and SQLite's last message; returns -1. */
int sq_fail(struct db *db, const char *what);
int sq_exec(struct db *db, const char *sql);
int sq_prepare(struct db *db, const char *sql, sqlite3_stmt **out);
/* A prepared statement for sql, reused across calls (reset, bindings
 * cleared), owned by the cache; NULL on failure. */
sqlite3_stmt *sq_cached(struct db *db, const char *sql);

/* rebuild.c: db_ops.rebuild_table */
int sq_rebuild_table(struct db *db, const char *table, const struct rebuild_edit *e, size_t n, struct buf *out);

/* catalog.c */
int sq_load_schema(struct db *db, struct schema *out);

/* read.c */
int sq_scan_open(struct db *db, const struct table *t, struct db_cursor **out);
int sq_scan_next(struct db_cursor *c, struct row *row);
int sq_scan_where_open(struct db *db, const struct table *t, const char *where,
		       struct db_cursor **out);
int sq_scan_keys_open(struct db *db, const struct table *t, const struct row *const *keys, size_t n,
		      struct db_cursor **out);
void sq_scan_close(struct db_cursor *c);
/* Whether p (n bytes) starts as "YYYY-MM-DD HH:MM:SS" does, with a space or
 * a 'T' at offset 10. */
int sq_is_timestamp_text(const char *p, size_t n);

/* write.c */
int sq_write(struct db *db, const struct table *t, const struct change *c);
int sq_reset_sequence(struct db *db, const struct table *t);
int sq_literal(struct db *db, const struct table *t, const struct row *r, size_t i, struct buf *out);
int sq_sequence_sql(struct db *db, const struct table *t, struct buf *out);
int sq_set_triggers(struct db *db, const struct table *t, int on);

#endif
