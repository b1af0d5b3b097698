/* mysql_int: what the files of the MySQL/MariaDB backend share (see conn.c
 * for how the engine is driven and why).
 *
 *   conn.c     connecting, statements without parameters, errors,
 *              transactions, the write plan, the ops table
 *   catalog.c  the schema: tables, columns and their types, keys, references
 *   read.c     scans: the SELECT, spooling a suspended result, values
 *   param.c    statement parameters and the prepared statements
 *   batch.c    multi-row inserts and deletes, and running any batch
 *   update.c   batched updates through temporary tables
 *   write.c    one write, foreign-key modes, the deferred checks
 *
 * Every function returning int gives 0 (or what its comment says) and -1
 * with the message in db->err, as db.h says of the ops. */
#ifndef DBPIPE_MYSQL_INT_H
#define DBPIPE_MYSQL_INT_H

#include <stdint.h>
#include <stdio.h>

#include <mysql.h>

#include "db.h"

/* The session's settings that values depend on: UTC for TIMESTAMP values,
 * strict mode (a value that does not fit is an error, not a silent
 * truncation), an explicit id 0 stays 0; a connection's (conn.c) and a
 * dbapply --sql script's. */
#define MY_SESSION_SQL \
	"SET time_zone = '+00:00', " \
	"sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE," \
	"ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'"
#define UPD_TMPS 8      /* temporary tables for batched updates kept at once */

/* How a column's text from the server becomes canonical text. */
enum kind { K_RAW, K_BOOL, K_YEAR, K_FLOAT, K_DATE, K_TIME, K_DATETIME, K_TIMESTAMP, K_BIT, K_GEOM };

/* What a pending multi-row statement does. */
enum { BATCH_INSERT, BATCH_DELETE, BATCH_UPDATE };

/* One statement parameter; bytes live in my_db.arena at off. */
struct param {
	enum enum_field_types type;
	size_t off;
	unsigned long len;
	unsigned long long ull;
	float f;
};

/* A temporary table that carries updates: sig names the table and the
 * columns it was made for. */
struct upd_tmp {
	char *sig, *name;
};

struct my_db {
	MYSQL *h;
	int is_mariadb;
	struct stmt_cache stmts;       /* prepared statements (MYSQL_STMT) */
	struct buf sql;                /* the statement being built */
	struct db_cursor *streaming;   /* the cursor whose result the connection is reading */
	int in_tx;
	int writing;            /* in_tx is a write transaction: scans lock what they read */
	/* The write plan (plan_writes): the caller's schema and cycle flags,
	 * never dereferenced after commit or rollback; NULL without a plan. */
	const struct schema *target;
	const int *in_cycle;           /* per target table: in a cycle or self-referencing */
	int *dirty_out, *dirty_in;     /* per target table: references to check (outgoing, incoming) */
	/* write state, from begin_write */
	char **nontx;                  /* tables in non-transactional engines, "name\tengine" */
	size_t nnontx;
	struct buf nontx_written;      /* those written to (allowed): a rollback cannot undo them */
	int fk_off, unverified;
	/* statement parameters: descriptors, their bytes, the bind array */
	struct param *params;
	size_t nparams, aparams;
	struct buf arena;
	MYSQL_BIND *bind;
	size_t abind;
	/* the pending multi-row statement */
	const struct table *batch_t;   /* compared, never read at flush time */
	size_t batch_rows, batch_width;
	uint64_t batch_first;   /* db->nwrites of the batch's first row */
	int batch_op;                  /* BATCH_INSERT, BATCH_DELETE or BATCH_UPDATE */
	struct buf batch_table, batch_head, batch_tuple;
	char **batch_keynames;
	size_t *batch_keypos, batch_nkey;
	enum kind *batch_kind;         /* per column of the batch's table */
	/* updates: the columns set (per column of the table, 1 if set), the
	 * UPDATE ... JOIN, the one-row UPDATE and the DELETE that empties the
	 * temporary table */
	unsigned char *batch_set, *row_set;
	size_t aset;
	struct buf batch_update, batch_single, batch_clear;
	struct upd_tmp tmps[UPD_TMPS];
	size_t ntmps, tmp_seq;
	int no_tmp;                    /* one could not be made: updates go one by one */
};

struct db_cursor {
	struct db *db;
	const struct table *t;
	enum kind *kind;
	unsigned *width;              /* bit width for K_BIT */
	MYSQL_RES *res;               /* streaming, or NULL */
	FILE *spool;                  /* the rest of the result after a suspension */
	int lost;                     /* the suspension failed: the rest is unknown */
	struct buf spool_row;
	char **vals;
	unsigned long *lens;
	struct buf tmp;
};

/* conn.c */
/* db->err = the server's last error (what, when not NULL, before it). */
int my_server_error(struct db *db, const char *what);
/* Run a statement that returns no rows (or whose rows are discarded). */
int my_exec(struct db *db, const char *sql);
/* Run a query and keep its (small) result in memory; NULL on failure. */
MYSQL_RES *my_query(struct db *db, const char *sql);

/* catalog.c */
extern const char *const my_int_words[], *const my_text_words[];
/* The leading word of a COLUMN_TYPE, lower case: "int", "varchar", ... */
void my_type_word(const char *native, char *out, size_t size);
int my_word_in(const char *w, const char *const *list);
/* The first number in parentheses of a native type, or dflt. */
unsigned my_paren_number(const char *native, unsigned dflt);
enum kind my_column_kind(const struct column *c);
int my_load_schema(struct db *db, struct schema *out);

/* read.c */
extern const struct sql_dialect my_dialect;
/* catalog.c: the type of a column made from a stream (sql.h). */
int my_column_type(struct buf *sql, const struct column *c, int indexed, const char *src, struct buf *err);
/* Move the rest of the streaming result to a temporary file, so that the
 * connection is free for another statement. */
int my_suspend_stream(struct db *db);
int my_scan_open(struct db *db, const struct table *t, struct db_cursor **out);
int my_scan_where_open(struct db *db, const struct table *t, const char *where, struct db_cursor **out);
int my_scan_keys_open(struct db *db, const struct table *t, const struct row *const *keys, size_t n,
		      struct db_cursor **out);
int my_scan_next(struct db_cursor *c, struct row *row);
void my_scan_close(struct db_cursor *c);

/* param.c */
/* The parameter(s) that write column c, and how many there are. */
size_t my_param_sql(struct buf *sql, const struct column *c);
/* Append value i of r as the next statement parameter. */
int my_encode_param(struct db *db, const struct column *col, enum kind kd, const struct row *r, size_t i);
/* dbapply --sql: value i of r as the literal of what my_encode_param sends. */
int my_literal(struct db *db, const struct table *t, const struct row *r, size_t i, struct buf *out);
/* Prepare (or reuse) sql, bind params [from, from + n) and execute; NULL
 * on failure. */
MYSQL_STMT *my_execute(struct db *db, const char *sql, size_t from, size_t n);
/* The stmt_cache's release. */
void my_stmt_release(void *ctx, void *stmt);

/* batch.c */
/* Run the pending multi-row statement, if any. */
int my_flush_batch(struct db *db);
/* Forget the pending statement and its parameters. */
void my_batch_reset(struct my_db *m);
/* Start collecting inserts (or deletes by key) of t. */
void my_batch_start(struct my_db *m, const struct table *t, int del);
/* Whether deletes of t can be batched. */
int my_delete_batchable(const struct table *t);
/* Add change c to the batch: 1 added, 0 when an update's key is not stored
 * exactly (the caller writes the row alone), -1. */
int my_batch_add(struct db *db, const struct table *t, const struct change *c);
/* The kinds of t's columns, and the key columns' names and places in the
 * tuple for messages. */
void my_batch_kinds(struct my_db *m, const struct table *t);
void my_batch_keys(struct my_db *m, const struct table *t, const size_t *pos, int writable_only);

/* update.c */
/* Whether update c of t can join a batch; sets m->row_set. */
int my_update_batchable(struct my_db *m, const struct table *t, const struct change *c);
/* Start collecting updates of t that set m->row_set's columns (set: the
 * first such update's row): 1 started, 0 when updates go one by one, -1. */
int my_update_batch_start(struct db *db, const struct table *t, const struct row *set);
/* Whether key parameter pa of column c is stored in c's type unchanged
 * (or refused with an error), as the text the server receives. */
int my_key_param_exact(const struct my_db *m, const struct column *c, const struct param *pa);
/* Drop the temporary tables of updates (made for the tables as they were). */
int my_drop_tmps(struct db *db);

/* write.c */
int my_write(struct db *db, const struct table *t, const struct change *c);
/* Check the references written with foreign_key_checks off. */
int my_check_deferred(struct db *db);
int my_check_constraints(struct db *db);
int my_reset_sequence(struct db *db, const struct table *t);

#endif
