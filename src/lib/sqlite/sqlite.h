/* sqlite: what the files of the SQLite backend share, and nothing outside
 * this folder includes.  conn.c connects and runs transactions; fkcheck.c
 * checks their foreign keys; catalog.c reads the schema; read.c scans
 * rows; write.c writes them; rebuild.c changes a column by a table
 * rebuild.  Functions returning int give 0 or -1 with the message in
 * db->err, as everywhere in db.h. */
#ifndef DBPIPE_SQLITE_SQLITE_H
#define DBPIPE_SQLITE_SQLITE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "db.h"

/* A table of the check by row (fkcheck.c): a parent (pk set) or a child
 * (refs), or both. */
struct sq_fk_table {
	char *name;
	size_t n;                 /* names its notes: temp.dbpipe_fk_{written,gone}_<n> */
	char *pk;                 /* its one-column primary key, when referred to */
	struct sq_fk_ref {
		char *col, *parent;
		int seen; /* SEEN_*: its values in sq_fk.seen_bits as of a scan */
	} *refs;
	size_t nrefs, refs_alloc;
	int written_made, gone_made;
};

/* The foreign-key check of the write transaction (fkcheck.c). */
struct sq_fk {
	/* The whole check: the violations the target had before the first
	 * change ("table\trowid\tparent\tfkid", sorted), not ours to report. */
	int whole;
	char **before;
	size_t nbefore;
	/* The check by row: the tables it notes rows of. */
	int by_row, actions;
	struct sq_fk_table *tables;
	size_t ntables, alloc;
	/* Violations found by row before DDL ended that check. */
	char **found;
	size_t nfound;
	/* A write transaction is open (sq_fk_begin to its end); a scan in it
	 * found the check by row refused (plan_by_row asked once a scan). */
	int open, scan_refused;
	/* The referencing values a whole scan read in it, of the references
	 * that are SEEN_WHOLE: a filter that tells a deleted parent no
	 * untouched row refers to (sq_fk_scan_begin). */
	uint64_t *seen_bits;
};

enum { SEEN_NO, SEEN_SCANNING, SEEN_WHOLE };

/* A referencing column a whole scan notes in sq_fk.seen_bits. */
struct sq_fk_watch {
	int col;           /* its index among the scan's columns */
	size_t table, ref; /* its sq_fk_table and sq_fk_ref */
	int other;         /* a value neither NULL nor an integer was read */
};

struct sqlite_db {
	sqlite3 *h;
	struct sq_fk fk;
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
	/* a whole scan in a write transaction: its references noted */
	struct sq_fk_watch *watch;
	size_t nwatch;
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
/* The first column of each row of sql (?1 bound to param, unless NULL),
 * as text (NULL as ""), into *v (*n strings, free_strv); on failure
 * db->err says what (NULL: the SQL) failed, and -1. */
int sq_texts(struct db *db, const char *sql, const char *param, const char *what, char ***v, size_t *n);
/* A prepared statement for sql, reused across calls (reset, bindings
 * cleared), owned by the cache; NULL on failure. */
sqlite3_stmt *sq_cached(struct db *db, const char *sql);

/* fkcheck.c */
/* Whether a foreign key of the database has an action (ON DELETE or ON
 * UPDATE other than NO ACTION): 1, 0, or -1. */
int sq_fk_actions(struct db *db);
/* A write transaction begins, no check chosen yet; actions: SQLite
 * enforces the foreign keys itself (sq_fk_actions). */
void sq_fk_begin(struct db *db, int actions);
/* Around each write of change c to t, and before each DDL statement; the
 * first write chooses the check by row where it can be used, else the
 * whole check. */
int sq_fk_before_write(struct db *db, const struct table *t, const struct change *c);
int sq_fk_after_write(struct db *db, const struct table *t, const struct change *c);
int sq_fk_before_ddl(struct db *db);
/* The violations the transaction made, named in db->err: -1 if any. */
int sq_fk_check(struct db *db);
/* The write transaction ends, committed or not. */
void sq_fk_end(struct db *db);
void sq_fk_release(struct db *db);
/* A whole scan c of its table begins, a row of it was read, it read the
 * last: the referencing values it reads are noted, so that the check by
 * row need not scan a child table again for the parents deleted. */
int sq_fk_scan_begin(struct db *db, struct db_cursor *c);
void sq_fk_scan_row(struct db_cursor *c);
void sq_fk_scan_end(struct db_cursor *c);

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
/* SQLite's type affinity of a declared column type (its rules, in order). */
enum sq_affinity { AFF_INTEGER, AFF_TEXT, AFF_BLOB, AFF_REAL, AFF_NUMERIC };
enum sq_affinity sq_affinity_of(const char *decl);
/* Bind the key columns of r (of t) from parameter *pos + 1 on. */
int sq_bind_key(struct db *db, sqlite3_stmt *st, int *pos, const struct table *t, const struct row *r);
int sq_write(struct db *db, const struct table *t, const struct change *c);
int sq_reset_sequence(struct db *db, const struct table *t);
int sq_literal(struct db *db, const struct table *t, const struct row *r, size_t i, struct buf *out);
int sq_sequence_sql(struct db *db, const struct table *t, struct buf *out);
int sq_set_triggers(struct db *db, const struct table *t, int on);

#endif
