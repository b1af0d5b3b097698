/* pg/read: scans of a table's rows in key order, whole, since a mark, or
 * by keys.
 *
 * Reading in a read session (begin_read: dumps, dbdiff, backups) goes
 * through COPY (SELECT ... ORDER BY key) TO STDOUT, whose rows arrive as the
 * server makes them, so that it and we work side by side; it ties up the
 * connection until the scan ends, which a read session never minds.
 * Measured on 1M rows, 2 cores: 1.73 s against 2.2 s through the cursor
 * below, whose batches the server cannot work ahead on once the socket's
 * buffer is full (psql's COPY of the same rows: 1.35 s).  In a write
 * transaction, where other statements run while a scan is open, reading
 * goes through a server-side cursor fetched in batches of about 2 MB (the
 * next FETCH is sent as soon as a batch arrives), unless the caller has
 * the connection to itself until the scan ends (db.scan_alone: dbapply
 * reading a target table whole on its own thread), which a COPY within a
 * savepoint serves.  Either way a table is never held in memory.  Keys are
 * ordered as value_cmp orders them (the dialect's order_key, catalog.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

/* --- opening a scan --- */

/* The statement that reads c's table in key order: a COPY, or the
 * declaration of c's cursor (WITH HOLD outside a transaction, to outlive
 * its statement).  where (if not NULL) selects some rows; a condition
 * that reads every row (since) is applied in a materialized scan first,
 * so that the planner sorts the few rows it keeps instead of walking the
 * whole key index. */
static void cursor_sql(struct buf *sql, const struct db_cursor *c, const struct pg_rel *rel,
		       const char *where, int materialize, int hold)
{
	const struct sql_dialect *d = &pg_dialect;
	const struct table *t = c->t;
	if (c->copy)
		sql_addf(sql, d, "COPY (");
	else
		sql_addf(sql, d, "DECLARE %s NO SCROLL CURSOR%s FOR ", c->name, hold ? " WITH HOLD" : "");
	if (where && materialize)
		sql_addf(sql, d, "WITH dbpipe_rows AS MATERIALIZED (");
	sql_addf(sql, d, t->ncols ? "SELECT %C FROM %s%T" : "SELECT NULL FROM %s%T", t, rel->only,
		 rel->qname);
	if (where)
		sql_addf(sql, d, " WHERE %s", where);
	if (where && materialize)
		sql_addf(sql, d, ") SELECT * FROM dbpipe_rows");
	if (t->nkey)
		sql_addf(sql, d, " ORDER BY %O", t);
	if (c->copy)
		sql_addf(sql, d, ") TO STDOUT");
}

/* Start c's COPY ... TO STDOUT; the connection is c's until its end. */
static int copy_out_start(struct db_cursor *c, const char *sql)
{
	struct db *db = c->db;
	struct pg_db *p = db->impl;
	PGresult *res = PQexec(p->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT)
		return pg_fail_res(db, "reading rows", res);
	PQclear(res);
	buf_init(&c->fields);
	c->off = xcalloc(c->t->ncols + 1, sizeof(*c->off));
	c->len = xcalloc(c->t->ncols + 1, sizeof(*c->len));
	c->isnull = xcalloc(c->t->ncols + 1, 1);
	p->copy_out = c;
	return 0;
}

/* A scan of t's rows in key order (where: see cursor_sql). */
static int open_cursor(struct db *db, const struct table *t, const char *where, int materialize,
		       struct db_cursor **out)
{
	struct pg_db *p = db->impl;
	const struct pg_rel *rel = pg_rel(db, t->name);
	/* Idle first: ending a batch may run statements of its own. */
	if (!rel || pg_idle(db) < 0)
		return -1;
	struct db_cursor *c = xcalloc(1, sizeof(*c));
	c->db = db;
	c->t = t;
	snprintf(c->name, sizeof(c->name), "dbpipe_c%lu", ++p->seq);
	int hold = PQtransactionStatus(p->conn) == PQTRANS_IDLE;
	c->copy = (p->reading || db->scan_alone) && !hold;
	c->savepoint = c->copy && !p->reading;
	struct buf sql = BUF_INIT;
	cursor_sql(&sql, c, rel, where, materialize, hold);
	int rc = c->savepoint ? pg_exec(db, "SAVEPOINT dbpipe_scan") : 0;
	if (rc == 0)
		rc = c->copy ? copy_out_start(c, sql.buf) : pg_exec(db, sql.buf);
	buf_release(&sql);
	if (rc < 0) {
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int pg_scan_open(struct db *db, const struct table *t, struct db_cursor **out)
{
	return open_cursor(db, t, NULL, 0, out);
}

int pg_scan_where_open(struct db *db, const struct table *t, const char *where, struct db_cursor **out)
{
	/* In parentheses: an OR of the user's stays inside it. */
	struct buf cond = BUF_INIT;
	buf_addf(&cond, "(%s)", where);
	int rc = open_cursor(db, t, cond.buf, 0, out);
	buf_release(&cond);
	return rc;
}

/* --- what changed since an earlier snapshot ---
 *
 * A mark is "postgresql:SYSTEM_ID:DATABASE_OID:XMIN": the cluster, the
 * database, and the oldest transaction (64 bits, with its epoch) that the
 * marked snapshot did not see as finished.  Every row version written
 * since carries a transaction id (xmin) at or after XMIN, so "xmin >= XMIN"
 * finds every insert and update since, plus a few rows the snapshot already
 * had (harmless: they compare equal).  xmin is 32 bits and wraps; VACUUM
 * FREEZE keeps it (PostgreSQL 9.4 and later), so the comparison is made
 * modulo 2^32 within the window [XMIN, now], which must be under 2^31
 * transactions wide.  Deleted rows leave nothing to find. */

#define MARK_MAX_AGE (1u << 30)

/* This database's id and the read snapshot's xmin and xmax. */
/* Where a server does not let us read them (pg_control_system is not
 * everyone's on every service), the dump goes on without a mark: the query
 * runs under a savepoint so that its failure leaves the snapshot usable. */
static int snapshot_ids(struct db *db, struct buf *ident, unsigned long long *xmin, unsigned long long *xmax)
{
	if (pg_exec(db, "SAVEPOINT dbpipe_mark") < 0)
		return -1;
	PGresult *res = pg_query(db, "SELECT (SELECT system_identifier FROM pg_control_system())::text || ':' || "
				 "(SELECT oid FROM pg_database WHERE datname = current_database())::text, "
				 "txid_snapshot_xmin(txid_current_snapshot())::text, "
				 "txid_snapshot_xmax(txid_current_snapshot())::text", 0, NULL);
	if (res && PQgetisnull(res, 0, 0)) {
		PQclear(res);
		res = NULL;
		db_error(db, "the server does not tell its system identifier");
	}
	if (!res) {
		char *why = xstrdup(db->err.buf);
		pg_exec(db, "ROLLBACK TO SAVEPOINT dbpipe_mark");
		db_error(db, "%s", why);
		free(why);
		return -1;
	}
	if (pg_exec(db, "RELEASE SAVEPOINT dbpipe_mark") < 0) {
		PQclear(res);
		return -1;
	}
	buf_reset(ident);
	buf_addf(ident, "postgresql:%s", PQgetvalue(res, 0, 0));
	*xmin = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	*xmax = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return 0;
}

int pg_snapshot_mark(struct db *db, struct buf *out)
{
	unsigned long long xmin, xmax;
	if (snapshot_ids(db, out, &xmin, &xmax) < 0)
		return -1;
	buf_addf(out, ":%llu", xmin);
	return 0;
}

/* The XMIN of mark into *since: 1 when it is a mark of this database
 * (ident) recent enough before xmax, else 0 with db->err saying why. */
static int mark_xmin(struct db *db, const char *mark, const struct buf *ident, unsigned long long xmax,
		     unsigned long long *since)
{
	const char *colon = strrchr(mark, ':');
	char *end;
	if (!colon || (size_t)(colon - mark) != ident->len || memcmp(mark, ident->buf, ident->len)) {
		db_error(db, "the mark is not of this database");
		return 0;
	}
	*since = strtoull(colon + 1, &end, 10);
	if (*end || end == colon + 1 || *since > xmax) {
		db_error(db, "the mark is not of this database's history");
		return 0;
	}
	if (xmax - *since >= MARK_MAX_AGE) {
		db_error(db, "the mark is %llu transactions old (too old to compare)", xmax - *since);
		return 0;
	}
	return 1;
}

int pg_since_usable(struct db *db, const char *mark)
{
	struct pg_db *p = db->impl;
	struct buf ident = BUF_INIT;
	unsigned long long xmin, xmax, since;
	int rc = 0;
	if (snapshot_ids(db, &ident, &xmin, &xmax) < 0) {
		char *why = xstrdup(db->err.buf);
		db_error(db, "this database's snapshot cannot be named (%s)", why);
		free(why);
	} else if (mark_xmin(db, mark, &ident, xmax, &since)) {
		unsigned long long lo = since & 0xffffffffu, hi = xmax & 0xffffffffu;
		if (since >> 32 == xmax >> 32)
			snprintf(p->since_where, sizeof(p->since_where), "xmin::text::bigint >= %llu", lo);
		else /* the window wraps around 2^32 */
			snprintf(p->since_where, sizeof(p->since_where),
				 "(xmin::text::bigint >= %llu OR xmin::text::bigint < %llu)", lo, hi);
		rc = 1;
	}
	buf_release(&ident);
	return rc;
}

int pg_scan_since_open(struct db *db, const struct table *t, const char *mark, struct db_cursor **out)
{
	struct pg_db *p = db->impl;
	(void)mark; /* checked by since_usable, whose condition is since_where */
	if (!p->since_where[0])
		return db_error(db, "scan_since_open before since_usable");
	return open_cursor(db, t, p->since_where, 1, out);
}

/* --- rows by key --- */

/* "(k1, k2) IN (SELECT * FROM unnest('{...}'::type[], ...))": the keys as
 * array literals (a cursor's statement takes no parameters). */
static int keys_in(struct db *db, struct buf *where, const struct table *t, const struct row *const *keys,
		   size_t n)
{
	struct pg_db *p = db->impl;
	struct buf arr = BUF_INIT;
	sql_addf(where, &pg_dialect, "(%K) IN (SELECT * FROM unnest(", t);
	for (size_t k = 0; k < t->nkey; k++) {
		const struct column *col = &t->cols[t->key[k]];
		buf_reset(&arr);
		buf_addch(&arr, '{');
		for (size_t r = 0; r < n; r++) {
			if (r)
				buf_addch(&arr, ',');
			pg_array_element(&arr, col, keys[r], t->key[k]);
		}
		buf_addch(&arr, '}');
		char *lit = PQescapeLiteral(p->conn, arr.buf, arr.len);
		if (!lit) {
			buf_release(&arr);
			return pg_fail_conn(db, "");
		}
		sql_addf(where, &pg_dialect, k ? ", %s::%s[]" : "%s::%s[]", lit, col->native);
		PQfreemem(lit);
	}
	sql_addf(where, &pg_dialect, "))");
	buf_release(&arr);
	return 0;
}

int pg_scan_keys_open(struct db *db, const struct table *t, const struct row *const *keys, size_t n,
		      struct db_cursor **out)
{
	if (!table_key_all(t, pg_arrayable))
		return 0;
	if (!n)
		return 1;
	struct buf where = BUF_INIT;
	int rc = keys_in(db, &where, t, keys, n);
	if (rc == 0)
		rc = open_cursor(db, t, where.buf, 0, out);
	buf_release(&where);
	return rc < 0 ? -1 : 1;
}

/* --- fetching through a cursor --- */

void pg_settle(struct db *db)
{
	struct pg_db *p = db->impl;
	struct db_cursor *c = p->ahead;
	if (!c)
		return;
	p->ahead = NULL;
	PGresult *res, *first = NULL;
	while ((res = PQgetResult(p->conn))) {
		if (!first)
			first = res;
		else
			PQclear(res);
	}
	c->next = first;
	c->next_ready = 1;
}

/* Rows to ask for after the batch res: about FETCH_BYTES at its width. */
static int fetch_size(const PGresult *res, int nrows)
{
	size_t bytes = 0;
	int ncols = PQnfields(res);
	for (int r = 0; r < nrows; r++)
		for (int i = 0; i < ncols; i++)
			bytes += (size_t)PQgetlength(res, r, i) + 8;
	size_t per_row = bytes / (size_t)nrows + 1, want = FETCH_BYTES / per_row;
	return want < 16 ? 16 : want > FETCH_MAX ? FETCH_MAX : (int)want;
}

/* The next batch of rows.  As soon as one arrives the FETCH of the one after
 * it is sent, so that the server reads while we convert and write; any other
 * command first collects it (pg_settle). */
static int fetch(struct db_cursor *c)
{
	struct db *db = c->db;
	struct pg_db *p = db->impl;
	char sql[96];
	PGresult *res;
	PQclear(c->res);
	c->res = NULL;
	c->pos = c->nrows = 0;
	if (p->ahead == c)
		pg_settle(db);
	if (c->next_ready) {
		res = c->next;
		c->next = NULL;
		c->next_ready = 0;
	} else {
		if (pg_idle(db) < 0)
			return -1;
		if (!c->want)
			c->want = FETCH_FIRST;
		snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM %s", c->want, c->name);
		res = PQexec(p->conn, sql);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return pg_fail_res(db, "reading rows", res);
	c->res = res;
	c->nrows = PQntuples(res);
	if (c->nrows < c->want) {
		c->done = 1;
		return 0;
	}
	c->want = fetch_size(res, c->nrows);
	snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM %s", c->want, c->name);
	if (!p->ahead && !p->copying && !p->piping && PQsendQuery(p->conn, sql))
		p->ahead = c;
	return 0;
}

/* --- values --- */

/* Shortest text that reads back to the same float (a real column). */
static void format_float4(struct buf *out, float f)
{
	char tmp[32];
	if (isnan(f) || isinf(f)) {
		value_format_double(out, (double)f);
		return;
	}
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
		if (strtof(tmp, NULL) == f)
			break;
	}
	buf_adds(out, tmp);
}

/* bytea's hex output "\x0a1b" into out's bytes; -1 if it is not that. */
static int read_bytea(struct buf *out, const char *s, size_t n)
{
	if (n < 2 || s[0] != '\\' || s[1] != 'x' || n % 2)
		return -1;
	buf_reset(out);
	buf_grow(out, n / 2);
	for (size_t j = 2; j < n; j += 2) {
		int hi = hex_digit((unsigned char)s[j]), lo = hex_digit((unsigned char)s[j + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out->buf[out->len++] = (char)(hi << 4 | lo);
	}
	return 0;
}

/* A timestamp's text with 'T' between date and time: "2026-01-02
 * 03:04:05.6" -> "2026-01-02T03:04:05.6" (timestamptz in UTC: "...+00" ->
 * "...Z"); BC, infinity and other zones stay as they are. */
static void read_timestamp(struct row *row, size_t i, const char *s, size_t n, int tz)
{
	int utc = tz && n > 3 && !memcmp(s + n - 3, "+00", 3);
	int bc = n > 3 && !memcmp(s + n - 3, " BC", 3);
	if (tz ? !utc : bc) {
		row_set(row, i, s, n);
		return;
	}
	row_set(row, i, s, utc ? n - 2 : n);
	char *v = row->data.buf + row->v[i].off;
	if (utc)
		v[n - 3] = 'Z'; /* in place of the '+' */
	char *q = memchr(v, ' ', row->v[i].len);
	if (q)
		*q = 'T';
}

/* Convert value i of the current row (s, n bytes; NULL for NULL) to its
 * canonical text. */
static int read_value(struct db_cursor *c, size_t i, const char *s, size_t n, struct row *row)
{
	const struct column *col = &c->t->cols[i];
	struct pg_db *p = c->db->impl;
	if (!s) {
		row_set_null(row, i);
		return 0;
	}
	switch (col->type) {
	case VT_BOOL:
		row_set(row, i, s[0] == 't' ? "true" : "false", s[0] == 't' ? 4 : 5);
		return 0;
	case VT_FLOAT:
		buf_reset(&p->tmp);
		if (!strcmp(col->native, "real"))
			format_float4(&p->tmp, strtof(s, NULL));
		else
			value_format_double(&p->tmp, strtod(s, NULL));
		row_set(row, i, p->tmp.buf, p->tmp.len);
		return 0;
	case VT_BYTES:
		if (read_bytea(&p->tmp, s, n) < 0)
			return db_error(c->db, "table \"%s\", column \"%s\" (%s): unexpected value %.40s",
					c->t->name, col->name, col->native, s);
		row_set(row, i, p->tmp.buf, p->tmp.len);
		return 0;
	case VT_TIMESTAMP:
	case VT_TIMESTAMPTZ:
		read_timestamp(row, i, s, n, col->type == VT_TIMESTAMPTZ);
		return 0;
	default:
		row_set(row, i, s, n);
		return 0;
	}
}

/* --- COPY ... TO STDOUT --- */

/* The character of a backslash escape of COPY's text format: s[*j] is the
 * character after the backslash; *j is left on the escape's last one. */
static char copy_unescape(const char *s, size_t n, size_t *j)
{
	char ch = s[*j];
	int v;
	switch (ch) {
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'v': return '\v';
	case 'x': /* \xh or \xhh */
		if (*j + 1 >= n || hex_digit((unsigned char)s[*j + 1]) < 0)
			return ch;
		v = hex_digit((unsigned char)s[++*j]);
		if (*j + 1 < n && hex_digit((unsigned char)s[*j + 1]) >= 0)
			v = v * 16 + hex_digit((unsigned char)s[++*j]);
		return (char)v;
	default: /* \o, \oo or \ooo; any other character stands for itself */
		if (ch < '0' || ch > '7')
			return ch;
		v = ch - '0';
		for (int d = 0; d < 2 && *j + 1 < n && s[*j + 1] >= '0' && s[*j + 1] <= '7'; d++)
			v = v * 8 + (s[++*j] - '0');
		return (char)v;
	}
}

/* Value i of a COPY row, from s[*j] to the next tab or the end: \N for
 * NULL, else unescaped into c->fields and NUL-terminated.  The text
 * between backslashes is copied a run at a time (memchr finds the next
 * tab and backslash): most values hold none, and the byte-by-byte loop
 * this replaces was a quarter of a PostgreSQL dump's instructions. */
static void copy_field(struct db_cursor *c, size_t i, const char *s, size_t n, size_t *j)
{
	struct buf *f = &c->fields;
	c->isnull[i] = *j + 2 <= n && s[*j] == '\\' && s[*j + 1] == 'N' && (*j + 2 == n || s[*j + 2] == '\t');
	c->off[i] = f->len;
	if (c->isnull[i]) {
		*j += 2;
	} else {
		for (;;) {
			const char *tab = memchr(s + *j, '\t', n - *j);
			size_t end = tab ? (size_t)(tab - s) : n;
			const char *bs = memchr(s + *j, '\\', end - *j);
			size_t plain = (bs ? (size_t)(bs - s) : end) - *j;
			memcpy(f->buf + f->len, s + *j, plain);
			f->len += plain;
			*j += plain;
			if (!bs)
				break;
			/* an escape, which may stand for a tab: the next tab is looked for after it */
			char ch = '\\';
			if (*j + 1 < n) {
				++*j;
				ch = copy_unescape(s, n, j);
			}
			f->buf[f->len++] = ch;
			++*j;
		}
	}
	c->len[i] = f->len - c->off[i];
	f->buf[f->len++] = '\0';
}

/* Split a row of COPY's text format (n bytes) into its values. */
static int split_copy_row(struct db_cursor *c, const char *s, size_t n)
{
	size_t ncols = c->t->ncols ? c->t->ncols : 1, i = 0;
	if (n && s[n - 1] == '\n')
		n--;
	buf_reset(&c->fields);
	buf_grow(&c->fields, n + ncols); /* unescaping never lengthens */
	for (size_t j = 0;; i++, j++) {
		if (i >= ncols)
			return db_error(c->db, "table \"%s\": COPY gave more values than columns", c->t->name);
		copy_field(c, i, s, n, &j);
		if (j >= n)
			break;
		if (s[j] != '\t')
			return db_error(c->db, "table \"%s\": unexpected text after \\N in COPY's output", c->t->name);
	}
	if (i + 1 != ncols)
		return db_error(c->db, "table \"%s\": COPY gave %zu values for %zu columns", c->t->name, i + 1, ncols);
	return 0;
}

/* The end of a COPY scan: its command result, then the connection is free. */
static int copy_done(struct db_cursor *c)
{
	struct db *db = c->db;
	struct pg_db *p = db->impl;
	PGresult *res;
	int rc = 0;
	c->done = 1;
	p->copy_out = NULL;
	while ((res = PQgetResult(p->conn))) {
		if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = pg_fail_res(db, "reading rows", res);
			continue;
		}
		PQclear(res);
	}
	if (rc == 0 && c->savepoint)
		rc = pg_exec(db, "RELEASE SAVEPOINT dbpipe_scan");
	return rc;
}

static int copy_next(struct db_cursor *c, struct row *row)
{
	struct pg_db *p = c->db->impl;
	if (c->done)
		return 0;
	PQfreemem(c->copy_row);
	c->copy_row = NULL;
	int n = PQgetCopyData(p->conn, &c->copy_row, 0);
	if (n == -1)
		return copy_done(c) < 0 ? -1 : 0;
	if (n < 0) {
		pg_fail_conn(c->db, "reading rows");
		copy_done(c);
		return -1;
	}
	if (split_copy_row(c, c->copy_row, (size_t)n) < 0)
		return -1;
	row_clear(row);
	for (size_t i = 0; i < c->t->ncols; i++)
		if (read_value(c, i, c->isnull[i] ? NULL : c->fields.buf + c->off[i], c->len[i], row) < 0)
			return -1;
	return 1;
}

/* Cancel the COPY and drop what is in flight.  The transaction is left
 * failed, which only a read session does. */
void pg_copy_abandon(struct db_cursor *c)
{
	struct pg_db *p = c->db->impl;
	char errbuf[256], *line;
	PGcancel *cancel = PQgetCancel(p->conn);
	if (cancel) {
		PQcancel(cancel, errbuf, sizeof(errbuf));
		PQfreeCancel(cancel);
	}
	while (PQgetCopyData(p->conn, &line, 0) > 0)
		PQfreemem(line);
	c->done = 1;
	p->copy_out = NULL;
	PGresult *res;
	while ((res = PQgetResult(p->conn)))
		PQclear(res);
	/* (a failure here fails the transaction's later statements, loudly) */
	if (c->savepoint)
		PQclear(PQexec(p->conn, "ROLLBACK TO SAVEPOINT dbpipe_scan; RELEASE SAVEPOINT dbpipe_scan"));
}

/* --- the scan --- */

int pg_scan_next(struct db_cursor *c, struct row *row)
{
	if (c->copy)
		return copy_next(c, row);
	if (c->pos >= c->nrows) {
		if (c->done && c->res)
			return 0;
		if (fetch(c) < 0)
			return -1;
		if (!c->nrows)
			return 0;
	}
	row_clear(row);
	for (size_t i = 0; i < c->t->ncols; i++) {
		int null = PQgetisnull(c->res, c->pos, (int)i);
		if (read_value(c, i, null ? NULL : PQgetvalue(c->res, c->pos, (int)i),
			       (size_t)PQgetlength(c->res, c->pos, (int)i), row) < 0)
			return -1;
	}
	c->pos++;
	return 1;
}

static void copy_close(struct db_cursor *c)
{
	if (!c->done)
		pg_copy_abandon(c);
	PQfreemem(c->copy_row);
	buf_release(&c->fields);
	free(c->off);
	free(c->len);
	free(c->isnull);
	free(c);
}

void pg_scan_close(struct db_cursor *c)
{
	if (!c)
		return;
	if (c->copy) {
		copy_close(c);
		return;
	}
	struct pg_db *p = c->db->impl;
	if (p->ahead == c)
		pg_settle(c->db);
	PQclear(c->res);
	PQclear(c->next);
	/* Close the cursor when that is harmless; a transaction's end closes it anyway. */
	PGTransactionStatusType ts = PQtransactionStatus(p->conn);
	if (!p->copying && !p->piping && (ts == PQTRANS_INTRANS || ts == PQTRANS_IDLE)) {
		char sql[64];
		snprintf(sql, sizeof(sql), "CLOSE %s", c->name);
		PQclear(PQexec(p->conn, sql));
	}
	free(c);
}
