/* pg/conn: the connection, its statements and their errors, transactions.
 *
 * The session is pinned to settings that make the text forms exact and
 * independent of the server's and the user's configuration: TimeZone UTC,
 * DateStyle ISO, IntervalStyle postgres, extra_float_digits 3, bytea_output
 * hex, client_encoding UTF8. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg.h"

/* --- error text --- */

/* libpq's messages end in a newline and may span lines: make them one line. */
void pg_add_message(struct buf *err, const char *msg)
{
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n; i++) {
		if (msg[i] == '\n') {
			buf_adds(err, "; ");
			while (i + 1 < n && (msg[i + 1] == ' ' || msg[i + 1] == '\t'))
				i++;
		} else {
			buf_addch(err, msg[i]);
		}
	}
}

void pg_add_result_error(struct buf *err, const PGresult *res, PGconn *conn)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!primary) {
		pg_add_message(err, res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
								       : PQerrorMessage(conn));
		return;
	}
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state && !strcmp(state, "40001") && !hint)
		hint = "another session changed the row after dbapply read it; nothing is written, run the sync again";
	const char *where = PQresultErrorField(res, PG_DIAG_CONTEXT);
	pg_add_message(err, primary);
	if (detail) {
		buf_adds(err, " (");
		pg_add_message(err, detail);
		buf_addch(err, ')');
	}
	if (hint) {
		buf_adds(err, "; hint: ");
		pg_add_message(err, hint);
	}
	if (where && strncmp(where, "COPY ", 5)) {
		buf_adds(err, "; context: ");
		pg_add_message(err, where);
	}
}

int pg_fail_res(struct db *db, const char *what, PGresult *res)
{
	struct pg_db *p = db->impl;
	if (!what)
		what = "";
	db_error(db, "%s%s", what, *what ? ": " : "");
	pg_add_result_error(&db->err, res, p->conn);
	PQclear(res);
	return -1;
}

int pg_fail_conn(struct db *db, const char *what)
{
	struct pg_db *p = db->impl;
	if (!what)
		what = "";
	db_error(db, "%s%s", what, *what ? ": " : "");
	pg_add_message(&db->err, PQerrorMessage(p->conn));
	return -1;
}

int pg_within(struct db *db, const char *fmt, ...)
{
	struct buf what = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&what, fmt, ap);
	va_end(ap);
	/* db_error rewrites db->err: what it said is appended here first. */
	buf_addf(&what, ": %s", db->err.buf);
	db_error(db, "%s", what.buf);
	buf_release(&what);
	return -1;
}

/* --- statements --- */

int pg_idle(struct db *db)
{
	struct pg_db *p = db->impl;
	if (p->copy_out)
		return db_error(db, "table \"%s\" is still being read", p->copy_out->t->name);
	pg_settle(db);
	/* A batch may end in the pipeline, so the batch goes first. */
	if (pg_flush_copy(db) < 0 || pg_flush_batch(db, 1) < 0)
		return -1;
	return pg_flush_pipeline(db, 1);
}

int pg_exec(struct db *db, const char *sql)
{
	struct pg_db *p = db->impl;
	if (pg_idle(db) < 0)
		return -1;
	PGresult *res = PQexec(p->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return pg_fail_res(db, "", res);
	PQclear(res);
	return 0;
}

PGresult *pg_query(struct db *db, const char *sql, int n, const char *const *params)
{
	struct pg_db *p = db->impl;
	if (pg_idle(db) < 0)
		return NULL;
	PGresult *res = PQexecParams(p->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_fail_res(db, "", res);
		return NULL;
	}
	return res;
}

/* --- the connection --- */

static void ignore_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* A prepared statement pushed out of the cache (or the cache cleared):
 * the server forgets it too, while there is a connection. */
static void release_stmt(void *ctx, void *stmt)
{
	struct pg_db *p = ctx;
	if (p->conn) {
		struct buf sql = BUF_INIT;
		sql_addf(&sql, &pg_dialect, "DEALLOCATE %s", (const char *)stmt);
		PQclear(PQexec(p->conn, sql.buf));
		buf_release(&sql);
	}
	free(stmt);
}

static int pg_open(struct db *db, const char *url)
{
	struct pg_db *p = xcalloc(1, sizeof(*p));
	buf_init(&p->sql);
	buf_init(&p->tmp);
	buf_init(&p->line);
	stmt_cache_init(&p->stmts, STMT_CACHE, release_stmt, p);
	db->impl = p;
	p->conn = PQconnectdb(url);
	if (!p->conn)
		return db_error(db, "out of memory");
	if (PQstatus(p->conn) != CONNECTION_OK)
		return pg_fail_conn(db, "");
	/* Notices (e.g. from triggers) must not reach stdout or stderr unasked. */
	PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
	if (PQsetClientEncoding(p->conn, "UTF8") != 0)
		return pg_fail_conn(db, "");
	return pg_exec(db, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
			   "SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; "
			   "SET bytea_output = 'hex'; SET standard_conforming_strings = on; "
			   "SET lc_monetary = 'C'; SET xmloption = 'content'");
}

static void pg_close(struct db *db)
{
	struct pg_db *p = db->impl;
	if (p->conn)
		pg_flush_batch(db, 0);
	pg_write_release(p);
	pg_rels_release(p);
	if (p->conn)
		PQfinish(p->conn);
	p->conn = NULL; /* the statements go with the connection */
	stmt_cache_clear(&p->stmts);
	buf_release(&p->sql);
	buf_release(&p->tmp);
	buf_release(&p->line);
	free(p);
	db->impl = NULL;
}

/* --- transactions --- */

static int pg_begin_read(struct db *db)
{
	struct pg_db *p = db->impl;
	p->reading = 1;
	return pg_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
}

static int pg_begin_write(struct db *db)
{
	struct pg_db *p = db->impl;
	p->reading = 0;
	pg_write_forget(p);
	/* Deferrable constraints wait for check_constraints or the commit, so
	 * cycles and rows in any order load; the others stay immediate. */
	/* REPEATABLE READ: a row another session changes after this
	 * transaction has read it cannot be written over; the update or delete
	 * fails ("could not serialize access") and the run is rolled back. */
	if (pg_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ; SET CONSTRAINTS ALL DEFERRED") < 0)
		return -1;
	/* The transaction's id, to ask a new connection what became of it if
	 * the connection is lost during the COMMIT (pg_commit). */
	PGresult *res = pg_query(db, "SELECT txid_current()", 0, NULL);
	if (!res)
		return -1;
	snprintf(p->xid, sizeof(p->xid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* What a new connection to url says of transaction xid: "committed",
 * "aborted", "in progress" or "unknown"; NULL when none could be made. */
static const char *txid_status(const char *url, const char *xid)
{
	const char *status = NULL;
	PGconn *c = PQconnectdb(url);
	if (c && PQstatus(c) == CONNECTION_OK) {
		const char *params[1] = { xid };
		PGresult *res = PQexecParams(c, "SELECT txid_status($1::bigint)", 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
			const char *v = PQgetvalue(res, 0, 0);
			status = !strcmp(v, "committed") ? "committed" : !strcmp(v, "aborted") ? "aborted" : "in progress";
		} else {
			status = "unknown";
		}
		PQclear(res);
	}
	if (c)
		PQfinish(c);
	return status;
}

/* The connection was lost during the COMMIT (db->err says how): whether the
 * server committed is asked of a new connection, for up to 30 s (a server
 * that restarts): txid_status() of the transaction's id.  0 committed,
 * -1 rolled back or unknown (db->commit_unknown). */
static int commit_outcome(struct db *db)
{
	struct pg_db *p = db->impl;
	const char *status = NULL;
	for (int tries = 0; tries < 60; tries++) {
		if ((status = txid_status(db->url, p->xid)))
			break;
		usleep(500000);
	}
	if (status && !strcmp(status, "committed")) {
		db->commit_found = 1;
		buf_reset(&db->err);
		return 0;
	}
	struct buf lost = BUF_INIT;
	buf_add(&lost, db->err.buf, db->err.len);
	if (status && !strcmp(status, "aborted")) {
		db_error(db, "%s; a new connection found the transaction rolled back", lost.buf);
	} else {
		db->commit_unknown = 1;
		db_error(db, "%s; whether the transaction committed is unknown (%s)", lost.buf,
			 status ? "the server says it is still in progress" : "no new connection in 30 s");
	}
	buf_release(&lost);
	return -1;
}

static int pg_commit(struct db *db)
{
	struct pg_db *p = db->impl;
	if (pg_idle(db) < 0)
		return -1;
	if (PQtransactionStatus(p->conn) == PQTRANS_INERROR)
		return db_error(db, "the transaction failed earlier; nothing was committed");
	/* Check the deferred constraints first, so that sequences only move
	 * for a transaction that is going to commit. */
	if (p->nseqs && (pg_exec(db, "SET CONSTRAINTS ALL IMMEDIATE") < 0 || pg_set_sequences(db) < 0))
		return -1;
	PGresult *res = PQexec(p->conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQstatus(p->conn) != CONNECTION_OK) {
		pg_fail_res(db, "commit", res);
		return commit_outcome(db);
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return pg_fail_res(db, "commit", res);
	/* COMMIT of a failed transaction reports ROLLBACK, not an error. */
	int ok = !strcmp(PQcmdStatus(res), "COMMIT");
	PQclear(res);
	return ok ? 0 : db_error(db, "the transaction was rolled back by the server");
}

static int pg_rollback(struct db *db)
{
	struct pg_db *p = db->impl;
	if (!p || !p->conn || PQstatus(p->conn) != CONNECTION_OK)
		return 0;
	pg_write_forget(p);
	if (p->copy_out)
		pg_copy_abandon(p->copy_out);
	pg_settle(db);
	pg_flush_batch(db, 0);
	pg_flush_pipeline(db, 0);
	pg_copy_in_abandon(p);
	if (PQtransactionStatus(p->conn) == PQTRANS_IDLE)
		return 0;
	PGresult *res = PQexec(p->conn, "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return pg_fail_res(db, "rollback", res);
	PQclear(res);
	return 0;
}

static int pg_check_constraints(struct db *db)
{
	return pg_exec(db, "SET CONSTRAINTS ALL IMMEDIATE");
}

const struct db_ops db_pg_ops = {
	.engine = "postgresql",
	.dialect = &pg_dialect,
	.exec_ddl = pg_exec,
	.open = pg_open,
	.close = pg_close,
	.load_schema = pg_load_schema,
	.begin_read = pg_begin_read,
	.begin_write = pg_begin_write,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.scan_open = pg_scan_open,
	.scan_next = pg_scan_next,
	.scan_close = pg_scan_close,
	.write = pg_write,
	.check_constraints = pg_check_constraints,
	.reset_sequence = pg_reset_sequence,
	.literal = pg_literal,
	.sequence_sql = pg_sequence_sql,
	.snapshot_mark = pg_snapshot_mark,
	.since_usable = pg_since_usable,
	.scan_since_open = pg_scan_since_open,
	.scan_keys_open = pg_scan_keys_open,
	.scan_where_open = pg_scan_where_open,
	.set_triggers = pg_set_triggers,
};
