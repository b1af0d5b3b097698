/* pg: the PostgreSQL backend (libpq), private to src/lib/pg/.
 *
 *   conn.c     connecting, running statements, error text, transactions,
 *              the outcome of a lost COMMIT; db_pg_ops
 *   catalog.c  load_schema, the type mapping, the SQL dialect (key order,
 *              key operands), table names and relkinds
 *   read.c     scans: a cursor or COPY ... TO STDOUT, since a mark, by keys
 *   write.c    writes: COPY ... FROM STDIN, batches over arrays, the
 *              pipeline, sequences, triggers
 *
 * Tables are named ONLY where they are ordinary tables (rows of inheriting
 * tables are theirs, not the parent's) and always schema-qualified, so that
 * search_path cannot redirect them. */
#ifndef DBPIPE_PG_H
#define DBPIPE_PG_H

#include <postgresql/libpq-fe.h> /* Debian: /usr/include/postgresql */

#include "db.h"

/* Rows per FETCH: the first batch is small, the next ones aim at about
 * FETCH_BYTES of text whatever the width of the rows. */
#define FETCH_FIRST 256
#define FETCH_MAX 10000
#define FETCH_BYTES (2 << 20)
#define STMT_CACHE 64
/* Updates and deletes sent before their results are read (pipeline mode). */
#define PIPE_MAX 256
/* Updates and deletes of one shape done as one statement over arrays. */
#define BATCH_ROWS 5000
#define BATCH_MIN 16   /* fewer go through the pipeline */
#define BATCH_BYTES (4 << 20)

/* A table as statements name it: looked up once per connection. */
struct pg_rel {
	char *name;      /* as the stream has it */
	char *qname;     /* "schema.table", for %T */
	const char *only; /* "ONLY " for an ordinary table, "" for a partitioned one */
};

/* Updates (of the same columns) or deletes of one table, collected as one
 * array literal per column and run as one statement that also returns the
 * first key it did not find. */
struct batch {
	int active;
	enum rec_type kind;
	const struct table *src;  /* the caller's table: compared, never read */
	struct table *t;          /* our copy of it */
	const struct pg_rel *rel;
	size_t ncols, nkey;
	size_t *cols;       /* indexes into t->cols: the key, then the set columns */
	struct buf *arr;    /* the array literal of each */
	size_t rows, bytes;
	struct buf sql;
	/* Every row of the batch is held (at most BATCH_ROWS, BATCH_BYTES): a
	 * batch that ends with fewer than BATCH_MIN is sent row by row through
	 * the pipeline, cheaper than one statement over arrays (alternating
	 * updates and deletes make such batches); a statement over arrays that
	 * fails is undone (a savepoint) and its rows sent one by one, so that
	 * the row at fault is named. */
	struct row *held;
	size_t held_alloc;  /* rows of held initialised */
	int arrays;
	uint64_t first;     /* db->nwrites of its first row */
};

struct pg_db {
	PGconn *conn;
	int reading;                    /* in a read-only snapshot (begin_read) */
	struct db_cursor *copy_out;     /* the scan whose COPY TO STDOUT is running */
	struct batch batch;
	/* Prepared statements: their names (char *), DEALLOCATEd when pushed out. */
	struct stmt_cache stmts;
	unsigned long seq;              /* for statement and cursor names */
	struct buf sql, tmp, line;
	/* Updates and deletes in flight: what each one is, for its error. */
	int piping;
	char *pdesc[PIPE_MAX];
	char *pparams[PIPE_MAX];   /* the column of each parameter, '\n' after each */
	uint64_t pwrite[PIPE_MAX]; /* the db->nwrites of each */
	uint64_t cur_write;        /* that of the row send_row sends */
	char xid[32];              /* the write transaction's id (txid_current) */
	size_t npending;
	/* The cursor whose next FETCH was sent ahead and not yet collected. */
	struct db_cursor *ahead;
	/* The COPY in progress (inserts into copy_table), if any. */
	int copying;
	char *copy_table;
	unsigned long copy_rows;
	uint64_t copy_first;     /* db->nwrites of the COPY's first row */
	/* Sequences to move past their column's largest id at commit:
	 * "table\0column" pairs.  setval() is not transactional, so a rolled
	 * back (dry) run must never have called it. */
	char **seqs;
	size_t nseqs;
	/* The tables named so far (pg_rel). */
	struct pg_rel **rels;
	size_t nrels;
	/* What turns the triggers set_triggers turned off back on, as they were. */
	struct sql_later triggers_back;
	/* The condition on xmin of the mark since_usable accepted. */
	char since_where[160];
	/* Parameters of the statement being run. */
	const char **pv;
	int *pl, *pf;
	size_t palloc;
};

struct db_cursor {
	struct db *db;
	const struct table *t;
	char name[32];
	PGresult *res;
	int nrows, pos, done;
	PGresult *next;   /* the batch fetched ahead, once collected */
	int next_ready;
	int want;         /* rows asked for by the FETCH whose result is next */
	/* A scan of a read session (or one with the connection to itself:
	 * db.scan_alone) comes through COPY ... TO STDOUT: the row
	 * PQgetCopyData gave, and its values unescaped and NUL-terminated.
	 * savepoint: in a write transaction, within SAVEPOINT dbpipe_scan, so
	 * that a COPY cancelled before its end leaves the transaction whole. */
	int copy, savepoint;
	char *copy_row;
	struct buf fields;
	size_t *off, *len;
	char *isnull;
};

/* --- conn.c --- */
/* libpq's message msg (one line) into err. */
void pg_add_message(struct buf *err, const char *msg);
/* The error of a failed result: primary message, detail and hint. */
void pg_add_result_error(struct buf *err, const PGresult *res, PGconn *conn);
/* db->err: "what: " (if what is not empty) and the error of res, which
 * is freed; -1. */
int pg_fail_res(struct db *db, const char *what, PGresult *res);
/* db->err: "what: " (if what is not empty) and libpq's last message; -1. */
int pg_fail_conn(struct db *db, const char *what);
/* db->err: the formatted text, ": ", then what db->err said; -1. */
int pg_within(struct db *db, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Make the connection ready for a new command: collect a FETCH sent ahead,
 * end a COPY, a batch or the pipeline (reporting their errors). */
int pg_idle(struct db *db);
/* Run sql (no parameters, no rows wanted). */
int pg_exec(struct db *db, const char *sql);
/* Run a query with text parameters; the result, or NULL (db->err set). */
PGresult *pg_query(struct db *db, const char *sql, int n, const char *const *params);

/* --- catalog.c --- */
extern const struct sql_dialect pg_dialect;
int pg_load_schema(struct db *db, struct schema *out);
/* "schema.table" of a stream's table name (public when it has none);
 * caller frees. */
char *pg_qualify(const char *name);
/* The table called name, or NULL (db->err set). */
const struct pg_rel *pg_rel(struct db *db, const char *name);
void pg_rels_release(struct pg_db *p);
/* Whether values of col can travel in an array literal. */
int pg_arrayable(const struct column *col);
/* Value i of r as an element of an array literal of col's type. */
void pg_array_element(struct buf *out, const struct column *col, const struct row *r, size_t i);

/* --- read.c --- */
/* Collect the result of the FETCH sent ahead, if any, into its cursor. */
void pg_settle(struct db *db);
/* Stop a COPY scan before its end. */
void pg_copy_abandon(struct db_cursor *c);
int pg_scan_open(struct db *db, const struct table *t, struct db_cursor **out);
int pg_scan_next(struct db_cursor *c, struct row *row);
void pg_scan_close(struct db_cursor *c);
int pg_snapshot_mark(struct db *db, struct buf *out);
int pg_since_usable(struct db *db, const char *mark);
int pg_scan_since_open(struct db *db, const struct table *t, const char *mark,
		       struct db_cursor **out);
int pg_scan_where_open(struct db *db, const struct table *t, const char *where, struct db_cursor **out);
int pg_scan_keys_open(struct db *db, const struct table *t, const struct row *const *keys,
		      size_t n, struct db_cursor **out);

/* --- write.c --- */
/* End the COPY in progress, if any, and report how it went. */
int pg_flush_copy(struct db *db);
/* Run the batch of updates or deletes (report 0: just drop it). */
int pg_flush_batch(struct db *db, int report);
/* Read the results of the updates and deletes in flight and leave
 * pipeline mode; the first failure into db->err when report is set. */
int pg_flush_pipeline(struct db *db, int report);
/* Abandon a COPY FROM STDIN in progress (rollback). */
void pg_copy_in_abandon(struct pg_db *p);
/* Forget the sequences and triggers noted for the transaction. */
void pg_write_forget(struct pg_db *p);
/* Free what the writes hold (at close). */
void pg_write_release(struct pg_db *p);
/* Move the sequences reset_sequence noted (at commit). */
int pg_set_sequences(struct db *db);
int pg_write(struct db *db, const struct table *t, const struct change *c);
int pg_reset_sequence(struct db *db, const struct table *t);
int pg_set_triggers(struct db *db, const struct table *t, int on);
int pg_literal(struct db *db, const struct table *t, const struct row *r, size_t i, struct buf *out);
int pg_sequence_sql(struct db *db, const struct table *t, struct buf *out);

#endif
