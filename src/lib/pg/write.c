/* pg/write: inserts, updates and deletes; sequences; triggers.
 *
 * Writing is batched.  Consecutive inserts into one table are streamed into
 * a COPY ... FROM STDIN (which also lets a table's rows refer to each other
 * in any order: non-deferred foreign keys are checked at the end of the
 * statement; note that COPY, unlike INSERT, does not apply rewrite rules).
 * A run of BATCH_MIN or more updates of the same columns (or deletes) of a
 * table becomes one UPDATE ... FROM unnest(arrays) (DELETE ... USING) that
 * also returns the keys it did not find; shorter runs, tables keyed by the
 * whole row and types that cannot travel in arrays go as prepared
 * statements in pipeline mode, PIPE_MAX at a time.  Row counts are checked
 * either way: an update or delete of a key the target lacks is an error.  A
 * batch ends (reporting its first error, naming the row where it can) when
 * anything else happens on the connection, so an error may surface in a
 * later call than the one that wrote the row.  Order is kept: a batch is
 * sent before anything that follows it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pg.h"

static int send_row(struct db *db, const struct table *t, enum rec_type type, const struct row *row,
		    const struct pg_rel *rel);

/* --- inserts: COPY ... FROM STDIN --- */

/* Escape a value for COPY's text format. */
static void copy_escape(struct buf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '\\': rep = "\\\\"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default: continue;
		}
		buf_add(out, s + start, i - start);
		buf_adds(out, rep);
		start = i + 1;
	}
	buf_add(out, s + start, n - start);
}

static void copy_value(struct buf *out, const struct column *col, const struct row *r, size_t i)
{
	if (r->v[i].state != V_SET) {
		buf_adds(out, "\\N");
		return;
	}
	const char *s = row_ptr(r, i);
	size_t n = r->v[i].len;
	if (col->type == VT_BYTES) {
		/* bytea input "\x..." with the backslash escaped for COPY. */
		buf_adds(out, "\\\\x");
		buf_add_hex(out, s, n);
		return;
	}
	copy_escape(out, s, n);
}

static int start_copy(struct db *db, const struct table *t)
{
	struct pg_db *p = db->impl;
	char *qname = pg_qualify(t->name);
	size_t n = 0;
	buf_reset(&p->sql);
	sql_addf(&p->sql, &pg_dialect, "COPY %T (", qname);
	for (size_t i = 0; i < t->ncols; i++)
		if (sql_writable(t, i))
			sql_addf(&p->sql, &pg_dialect, n++ ? ",%I" : "%I", t->cols[i].name);
	sql_addf(&p->sql, &pg_dialect, ") FROM STDIN");
	free(qname);
	PGresult *res = PQexec(p->conn, p->sql.buf);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		buf_reset(&p->tmp);
		buf_addf(&p->tmp, "inserting into \"%s\"", t->name);
		return pg_fail_res(db, p->tmp.buf, res);
	}
	PQclear(res);
	p->copying = 1;
	free(p->copy_table);
	p->copy_table = xstrdup(t->name);
	p->copy_rows = 0;
	p->copy_first = db->nwrites;
	return 0;
}

/* The error res of the COPY: "COPY t, line 12, column c: ..." in its
 * context says which of the batched rows, and which column when the
 * engine refused a value (a time MariaDB keeps, "-01:30:00").  res is
 * freed. */
static void copy_error(struct db *db, PGresult *res)
{
	struct pg_db *p = db->impl;
	const char *where = PQresultErrorField(res, PG_DIAG_CONTEXT);
	const char *l = where && !strncmp(where, "COPY ", 5) ? strstr(where, ", line ") : NULL;
	buf_reset(&p->tmp);
	buf_addf(&p->tmp, "inserting into \"%s\"", p->copy_table);
	if (l) {
		long line = strtol(l + 7, NULL, 10);
		buf_addf(&p->tmp, " (row %ld of a batch of %lu", line, p->copy_rows);
		const char *c = strstr(l, ", column ");
		if (c) {
			c += 9;
			const char *e = strstr(c, ": ");
			buf_addf(&p->tmp, ", column \"%.*s\"", (int)(e ? (size_t)(e - c) : strlen(c)), c);
		}
		buf_addch(&p->tmp, ')');
		if (line > 0 && (unsigned long)line <= p->copy_rows)
			db->failed_write = p->copy_first + (uint64_t)line - 1;
	}
	pg_fail_res(db, p->tmp.buf, res);
}

int pg_flush_copy(struct db *db)
{
	struct pg_db *p = db->impl;
	if (!p->copying)
		return 0;
	p->copying = 0;
	int rc = 0;
	if (PQputCopyEnd(p->conn, NULL) != 1) {
		buf_reset(&p->tmp);
		buf_addf(&p->tmp, "inserting into \"%s\"", p->copy_table);
		rc = pg_fail_conn(db, p->tmp.buf);
	}
	PGresult *res;
	while ((res = PQgetResult(p->conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			copy_error(db, res);
			rc = -1;
			continue;
		}
		PQclear(res);
	}
	return rc;
}

void pg_copy_in_abandon(struct pg_db *p)
{
	if (!p->copying)
		return;
	/* The server fails the COPY and the transaction. */
	PQputCopyEnd(p->conn, "rolled back");
	PGresult *res;
	while ((res = PQgetResult(p->conn)))
		PQclear(res);
	p->copying = 0;
}

static int copy_row(struct db *db, const struct table *t, const struct row *r)
{
	struct pg_db *p = db->impl;
	if (p->copying && strcmp(p->copy_table, t->name) && pg_flush_copy(db) < 0)
		return -1;
	if (!p->copying) {
		if (pg_idle(db) < 0 || start_copy(db, t) < 0)
			return -1;
	}
	buf_reset(&p->line);
	int first = 1;
	for (size_t i = 0; i < t->ncols; i++) {
		if (!sql_writable(t, i))
			continue;
		if (!first)
			buf_addch(&p->line, '\t');
		first = 0;
		copy_value(&p->line, &t->cols[i], r, i);
	}
	buf_addch(&p->line, '\n');
	p->copy_rows++;
	if (PQputCopyData(p->conn, p->line.buf, (int)p->line.len) != 1) {
		/* The server gave up: its reason comes with the end of the COPY. */
		if (pg_flush_copy(db) == 0)
			db_error(db, "inserting into \"%s\": the COPY failed", t->name);
		return -1;
	}
	return 0;
}

/* --- batches of updates and deletes over arrays --- */

/* "unnest($1::type[], ...) AS v(k1, ..., s1, ...)": arrays of the n
 * columns cols of t, the first nkey of them the key. */
static void unnest(struct buf *sql, const struct table *t, const size_t *cols, size_t n, size_t nkey)
{
	const struct sql_dialect *d = &pg_dialect;
	size_t np = 0;
	sql_addf(sql, d, "unnest(");
	for (size_t j = 0; j < n; j++)
		sql_addf(sql, d, j ? ", %P::%s[]" : "%P::%s[]", &np, t->cols[cols[j]].native);
	sql_addf(sql, d, ") AS v(");
	for (size_t j = 0; j < n; j++)
		sql_addf(sql, d, j < nkey ? "%sk%zu" : "%ss%zu", j ? ", " : "", j < nkey ? j + 1 : j - nkey + 1);
	sql_addf(sql, d, ")");
}

/* "x.k = v.k1 AND ...", bytewise for text (and free of collation conflicts). */
static void key_match(struct buf *sql, const char *alias, const struct batch *b)
{
	for (size_t k = 0; k < b->nkey; k++) {
		const struct column *col = &b->t->cols[b->cols[k]];
		sql_addf(sql, &pg_dialect, "%s%s.%I = v.k%zu%s", k ? " AND " : "", alias, col->name, k + 1,
			 col->type == VT_TEXT ? " COLLATE \"C\"" : "");
	}
}

/* The statement of a batch: the update or delete, and the keys of the
 * batch that it did not find. */
static void batch_sql(struct batch *b)
{
	const struct sql_dialect *d = &pg_dialect;
	const struct table *t = b->t;
	struct buf *sql = &b->sql;
	buf_reset(sql);
	if (b->kind == REC_DELETE) {
		sql_addf(sql, d, "WITH w AS (DELETE FROM %s%T AS x USING ", b->rel->only, b->rel->qname);
	} else {
		sql_addf(sql, d, "WITH w AS (UPDATE %s%T AS x SET ", b->rel->only, b->rel->qname);
		for (size_t j = b->nkey; j < b->ncols; j++)
			sql_addf(sql, d, j > b->nkey ? ", %I = v.s%zu" : "%I = v.s%zu", t->cols[b->cols[j]].name,
				 j - b->nkey + 1);
		sql_addf(sql, d, " FROM ");
	}
	unnest(sql, t, b->cols, b->ncols, b->nkey);
	sql_addf(sql, d, " WHERE ");
	key_match(sql, "x", b);
	sql_addf(sql, d, " RETURNING ");
	for (size_t k = 0; k < b->nkey; k++)
		sql_addf(sql, d, k ? ", x.%I" : "x.%I", t->cols[b->cols[k]].name);
	sql_addf(sql, d, ") SELECT ");
	for (size_t k = 0; k < b->nkey; k++)
		sql_addf(sql, d, k ? ", v.k%zu::text" : "v.k%zu::text", k + 1);
	sql_addf(sql, d, " FROM ");
	unnest(sql, t, b->cols, b->nkey, b->nkey);
	/* No LIMIT: it would make the planner loop over w for every key
	 * (quadratic) instead of hashing it. */
	sql_addf(sql, d, " WHERE NOT EXISTS (SELECT 1 FROM w WHERE ");
	key_match(sql, "w", b);
	sql_addf(sql, d, ")");
}

static void batch_reset(struct batch *b)
{
	for (size_t j = 0; b->arr && j < b->ncols; j++)
		buf_release(&b->arr[j]);
	free(b->arr);
	free(b->cols);
	table_free(b->t);
	b->src = NULL;
	b->rel = NULL;
	b->arr = NULL;
	b->cols = NULL;
	b->t = NULL;
	b->ncols = b->nkey = b->rows = b->bytes = 0;
	b->active = b->arrays = 0;
}

/* The first key of the batch that res (its statement's result) says was
 * not found, in db->err. */
static int batch_no_row(struct db *db, const struct batch *b, const PGresult *res, const char *what)
{
	struct buf key = BUF_INIT;
	for (size_t k = 0; k < b->nkey; k++)
		buf_addf(&key, "%s%s=%.60s", k ? ", " : "", b->t->cols[b->cols[k]].name, PQgetvalue(res, 0, (int)k));
	db_no_row(db);
	char *none = xstrdup(db->err.buf);
	db_error(db, "%s \"%s\" (%s): %s; one of a batch of %zu rows from this one", what, b->rel->name, key.buf,
		 none, b->rows);
	free(none);
	buf_release(&key);
	db->failed_write = b->first;
	return -1;
}

/* A savepoint command around a batch's statement (the pipeline is
 * flushed; pg_exec would flush the batch itself first). */
static int batch_command(struct db *db, const char *sql)
{
	struct pg_db *p = db->impl;
	PGresult *res = PQexec(p->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return pg_fail_res(db, "", res);
	PQclear(res);
	return 0;
}

/* The statement over arrays failed (its error in db->err): undone, and its
 * rows sent one by one, so that the error names the row at fault, its key
 * and column.  If none fails alone, the batch's own error stands. */
static int batch_run_by_row(struct db *db, struct batch *b)
{
	struct pg_db *p = db->impl;
	char *batch_error = xstrdup(db->err.buf);
	uint64_t batch_failed = db->failed_write;
	int rc = batch_command(db, "ROLLBACK TO SAVEPOINT dbpipe_batch; RELEASE SAVEPOINT dbpipe_batch");
	for (size_t i = 0; rc == 0 && i < b->rows; i++) {
		p->cur_write = b->first + i;
		rc = send_row(db, b->t, b->kind, &b->held[i], b->rel);
	}
	if (rc == 0)
		rc = pg_flush_pipeline(db, 1);
	if (rc == 0) {
		db_error(db, "%s", batch_error);
		db->failed_write = batch_failed;
	}
	free(batch_error);
	return -1;
}

/* Run the batch's statement over its arrays. */
static int batch_run(struct db *db, struct batch *b)
{
	struct pg_db *p = db->impl;
	if (pg_flush_pipeline(db, 1) < 0)
		return -1;
	const char **params = xcalloc(b->ncols, sizeof(*params));
	for (size_t j = 0; j < b->ncols; j++) {
		buf_addch(&b->arr[j], '}');
		params[j] = b->arr[j].buf;
	}
	const char *what = b->kind == REC_DELETE ? "deleting from" : "updating";
	if (batch_command(db, "SAVEPOINT dbpipe_batch") < 0) {
		free(params);
		return -1;
	}
	PGresult *res = PQexecParams(p->conn, b->sql.buf, (int)b->ncols, NULL, params, NULL, NULL, 0);
	free(params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		buf_reset(&p->tmp);
		buf_addf(&p->tmp, "%s \"%s\" (one of a batch of %zu rows from this one)", what, b->rel->name, b->rows);
		db->failed_write = b->first;
		pg_fail_res(db, p->tmp.buf, res);
		return batch_run_by_row(db, b);
	}
	if (batch_command(db, "RELEASE SAVEPOINT dbpipe_batch") < 0) {
		PQclear(res);
		return -1;
	}
	int rc = PQntuples(res) > 0 ? batch_no_row(db, b, res, what) : 0;
	PQclear(res);
	return rc;
}

int pg_flush_batch(struct db *db, int report)
{
	struct pg_db *p = db->impl;
	struct batch *b = &p->batch;
	int rc = 0;
	if (!b->active)
		return 0;
	if (report && b->arrays) {
		rc = batch_run(db, b);
	} else if (report) {
		/* Too few rows for arrays: one by one through the pipeline. */
		for (size_t i = 0; i < b->rows && rc == 0; i++) {
			p->cur_write = b->first + i;
			rc = send_row(db, b->t, b->kind, &b->held[i], b->rel);
		}
	}
	batch_reset(b);
	return rc;
}

/* The columns a batch of change c of t sends into cols: the key, then (an
 * update) the columns it sets; 0 when c cannot be batched. */
static size_t batch_columns(const struct table *t, const struct change *c, size_t *cols)
{
	size_t ncols = 0;
	if (!table_key_all(t, pg_arrayable))
		return 0;
	for (size_t k = 0; k < t->nkey; k++)
		cols[ncols++] = t->key[k];
	if (c->type != REC_UPDATE)
		return ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		if (!sql_sets(t, &c->row, i))
			continue;
		if (!pg_arrayable(&t->cols[i]))
			return 0;
		cols[ncols++] = i;
	}
	return ncols == t->nkey ? 0 : ncols;
}

/* Make b a batch of changes of this kind to t, sending cols (taken). */
static void batch_start(struct batch *b, const struct table *t, enum rec_type kind, const struct pg_rel *rel,
			size_t *cols, size_t ncols)
{
	b->active = 1;
	b->kind = kind;
	b->src = t;
	b->t = table_project(t, t);
	b->rel = rel;
	b->ncols = ncols;
	b->nkey = t->nkey;
	b->cols = cols;
}

/* Row r's values as the next elements of the arrays. */
static void batch_append(struct batch *b, const struct row *r, int first)
{
	for (size_t j = 0; j < b->ncols; j++) {
		size_t before = b->arr[j].len;
		if (!first)
			buf_addch(&b->arr[j], ',');
		pg_array_element(&b->arr[j], &b->t->cols[b->cols[j]], r, b->cols[j]);
		b->bytes += b->arr[j].len - before;
	}
}

/* The held rows are enough for a statement over arrays: into arrays. */
static void batch_to_arrays(struct batch *b)
{
	b->arrays = 1;
	b->arr = xcalloc(b->ncols, sizeof(*b->arr));
	for (size_t j = 0; j < b->ncols; j++) {
		buf_init(&b->arr[j]);
		buf_addch(&b->arr[j], '{');
	}
	for (size_t i = 0; i < b->rows; i++)
		batch_append(b, &b->held[i], i == 0);
	batch_sql(b);
}

/* Add an update or delete to the batch: 1 when added, 0 when this change
 * cannot be batched (the caller runs it alone), -1 on failure. */
static int batch_add(struct db *db, const struct table *t, const struct change *c, const struct pg_rel *rel)
{
	struct pg_db *p = db->impl;
	struct batch *b = &p->batch;
	size_t *cols = xcalloc(t->ncols + 1, sizeof(*cols));
	size_t ncols = batch_columns(t, c, cols);
	int same = ncols && b->active && b->kind == c->type && b->src == t && b->rel == rel &&
		   b->ncols == ncols && !memcmp(b->cols, cols, ncols * sizeof(*cols));
	if (!ncols || same) {
		free(cols);
		if (!ncols)
			return 0;
	} else {
		if (pg_flush_batch(db, 1) < 0) {
			free(cols);
			return -1;
		}
		batch_start(b, t, c->type, rel, cols, ncols);
	}
	if (!b->rows)
		b->first = db->nwrites;
	if (b->rows == b->held_alloc) {
		b->held_alloc = b->held_alloc ? 2 * b->held_alloc : BATCH_MIN;
		b->held = xrealloc(b->held, b->held_alloc * sizeof(*b->held));
		for (size_t i = b->rows; i < b->held_alloc; i++)
			row_init(&b->held[i], 0);
	}
	row_copy(&b->held[b->rows++], &c->row);
	if (b->rows < BATCH_MIN)
		return 1;
	if (b->rows == BATCH_MIN) {
		batch_to_arrays(b);
		return 1;
	}
	batch_append(b, &c->row, 0);
	if (b->rows >= BATCH_ROWS || b->bytes >= BATCH_BYTES)
		return pg_flush_batch(db, 1) < 0 ? -1 : 1;
	return 1;
}

/* --- single statements in the pipeline --- */

static void add_param(struct pg_db *p, size_t *n, const struct table *t, const struct row *r, size_t i)
{
	if (*n >= p->palloc) {
		p->palloc = p->palloc * 2 + 16;
		p->pv = xrealloc(p->pv, p->palloc * sizeof(*p->pv));
		p->pl = xrealloc(p->pl, p->palloc * sizeof(*p->pl));
		p->pf = xrealloc(p->pf, p->palloc * sizeof(*p->pf));
	}
	int set = r->v[i].state == V_SET;
	p->pv[*n] = set ? row_ptr(r, i) : NULL;
	p->pl[*n] = set ? (int)r->v[i].len : 0;
	p->pf[*n] = t->cols[i].type == VT_BYTES; /* bytea as raw bytes */
	(*n)++;
}

/* The update or delete of row into sql, its parameters into p->pv... (*n
 * of them); 0 when an update has nothing writable to set. */
static int row_statement(struct pg_db *p, struct buf *sql, const struct table *t, enum rec_type type,
			 const struct row *row, const struct pg_rel *rel, size_t *n)
{
	const struct sql_dialect *d = &pg_dialect;
	size_t np = 0;
	*n = 0;
	if (type == REC_UPDATE) {
		sql_addf(sql, d, "UPDATE %s%T SET ", rel->only, rel->qname);
		for (size_t i = 0; i < t->ncols; i++) {
			if (!sql_sets(t, row, i))
				continue;
			sql_addf(sql, d, np ? ",%I = %P" : "%I = %P", t->cols[i].name, &np);
			add_param(p, n, t, row, i);
		}
		if (!np)
			return 0;
		sql_addf(sql, d, " WHERE %W", t, &np);
	} else if (t->key_kind == KEY_ROW) {
		/* Rows without a key may be duplicated: delete one of them. */
		sql_addf(sql, d, "DELETE FROM %s%T WHERE (tableoid, ctid) = (SELECT tableoid, ctid FROM %s%T WHERE %W LIMIT 1)",
			 rel->only, rel->qname, rel->only, rel->qname, t, &np);
	} else {
		sql_addf(sql, d, "DELETE FROM %s%T WHERE %W", rel->only, rel->qname, t, &np);
	}
	for (size_t k = 0; k < t->nkey; k++)
		add_param(p, n, t, row, t->key[k]);
	return 1;
}

/* sql prepared as a named statement and kept (the connection must be idle). */
static const char *prepare(struct db *db, const char *sql, int nparams)
{
	struct pg_db *p = db->impl;
	char *name = xmalloc(32);
	snprintf(name, 32, "dbpipe_s%lu", ++p->seq);
	PGresult *res = PQprepare(p->conn, name, sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		free(name);
		pg_fail_res(db, "", res);
		return NULL;
	}
	PQclear(res);
	stmt_cache_put(&p->stmts, sql, name);
	return name;
}

/* Send the statement name without waiting: the results (row counts,
 * errors) are read in batches by pg_flush_pipeline, so a failure may be
 * reported by a later call, always naming the row it was about. */
static int pipeline_send(struct db *db, const struct table *t, const struct row *row, const char *what,
			 const char *name, size_t n, struct buf *params)
{
	struct pg_db *p = db->impl;
	if (!p->piping) {
		if (PQenterPipelineMode(p->conn) != 1)
			return pg_fail_conn(db, "");
		p->piping = 1;
	}
	struct buf desc = BUF_INIT;
	buf_addf(&desc, "%s \"%s\"", what, t->name);
	table_describe_key(&desc, t, row);
	if (PQsendQueryPrepared(p->conn, name, (int)n, p->pv, p->pl, p->pf, 0) != 1) {
		pg_fail_conn(db, desc.buf);
		buf_release(&desc);
		buf_release(params);
		pg_flush_pipeline(db, 0);
		return -1;
	}
	p->pwrite[p->npending] = p->cur_write;
	p->pparams[p->npending] = buf_detach(params);
	p->pdesc[p->npending++] = buf_detach(&desc);
	if (p->npending >= PIPE_MAX)
		return pg_flush_pipeline(db, 1);
	return 0;
}

/* One update or delete as a prepared statement in the pipeline. */
static int send_row(struct db *db, const struct table *t, enum rec_type type, const struct row *row,
		    const struct pg_rel *rel)
{
	struct pg_db *p = db->impl;
	size_t n;
	if (type != REC_UPDATE && type != REC_DELETE)
		return 0;
	const char *what = type == REC_UPDATE ? "updating" : "deleting from";
	buf_reset(&p->sql);
	if (!row_statement(p, &p->sql, t, type, row, rel, &n))
		return 0; /* nothing writable changed */
	const char *name = stmt_cache_find(&p->stmts, p->sql.buf);
	if (!name) {
		/* Preparing needs the pipeline's results first. */
		if (pg_flush_pipeline(db, 1) < 0)
			return -1;
		if (!(name = prepare(db, p->sql.buf, (int)n)))
			return pg_within(db, "%s \"%s\"", what, t->name);
	}
	/* the columns of the parameters, in row_statement's order, to name
	 * the one the engine refuses */
	struct buf params = BUF_INIT;
	for (size_t i = 0; type == REC_UPDATE && i < t->ncols; i++)
		if (sql_sets(t, row, i))
			buf_addf(&params, "%s\n", t->cols[i].name);
	for (size_t k = 0; k < t->nkey; k++)
		buf_addf(&params, "%s\n", t->cols[t->key[k]].name);
	return pipeline_send(db, t, row, what, name, n, &params);
}

/* The column of the parameter an error's context names ("unnamed portal
 * parameter $2 = '...'"), from params (pparams' form), into out. */
static int param_column(const PGresult *res, const char *params, struct buf *out)
{
	const char *where = PQresultErrorField(res, PG_DIAG_CONTEXT);
	const char *d = where ? strstr(where, "parameter $") : NULL;
	long k = d ? strtol(d + 11, NULL, 10) : 0;
	for (const char *q = params; q && k > 0 && *q; k--) {
		const char *e = strchr(q, '\n');
		if (!e)
			break;
		if (k == 1) {
			buf_add(out, q, (size_t)(e - q));
			return 1;
		}
		q = e + 1;
	}
	return 0;
}

/* The result of the i-th statement in flight: 0, or -1 (said in db->err
 * when report is set). */
static int pipeline_result(struct db *db, size_t i, int report)
{
	struct pg_db *p = db->impl;
	PGresult *res = PQgetResult(p->conn);
	int rc = 0;
	if (!res) {
		if (report)
			db_error(db, "%s: no answer from the server", p->pdesc[i]);
		return -1;
	}
	if (report)
		db->failed_write = p->pwrite[i]; /* reset by the caller unless it fails */
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (report) {
			struct buf col = BUF_INIT;
			if (param_column(res, p->pparams[i], &col))
				db_error(db, "%s, column \"%s\": ", p->pdesc[i], col.buf);
			else
				db_error(db, "%s: ", p->pdesc[i]);
			buf_release(&col);
			pg_add_result_error(&db->err, res, p->conn);
		}
		rc = -1;
	} else if (!strcmp(PQcmdTuples(res), "0")) {
		if (report) {
			db_no_row(db);
			pg_within(db, "%s", p->pdesc[i]);
		}
		rc = -1;
	}
	PQclear(res);
	while ((res = PQgetResult(p->conn)))
		PQclear(res);
	return rc;
}

/* The rest of the pipeline's results (aborted after a failure) up to and
 * with the sync point. */
static void pipeline_drain(struct pg_db *p)
{
	for (int nulls = 0; nulls < 2 * PIPE_MAX + 4;) {
		PGresult *res = PQgetResult(p->conn);
		if (!res) {
			if (PQstatus(p->conn) != CONNECTION_OK)
				break;
			nulls++;
			continue;
		}
		int sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
		if (sync)
			break;
	}
}

int pg_flush_pipeline(struct db *db, int report)
{
	struct pg_db *p = db->impl;
	if (!p->piping)
		return 0;
	int rc = 0;
	if (PQpipelineSync(p->conn) != 1) {
		if (report)
			pg_fail_conn(db, "");
		rc = -1;
	}
	for (size_t i = 0; i < p->npending && rc == 0; i++)
		rc = pipeline_result(db, i, report);
	if (rc == 0 && report)
		db->failed_write = 0;
	pipeline_drain(p);
	PQexitPipelineMode(p->conn);
	for (size_t i = 0; i < p->npending; i++) {
		free(p->pdesc[i]);
		free(p->pparams[i]);
	}
	p->npending = 0;
	p->piping = 0;
	return rc;
}

/* PostgreSQL's text types cannot hold a NUL byte, and a parameter would be
 * cut at it: refused by name, on every path (COPY, batches, statements). */
static int refuse_nul(struct db *db, const struct table *t, const struct row *r)
{
	for (size_t i = 0; i < t->ncols; i++) {
		size_t n = r->v[i].len;
		if (r->v[i].state != V_SET || t->cols[i].type == VT_BYTES || !memchr(row_ptr(r, i), '\0', n))
			continue;
		/* the value named, as the stream writes it (its start) */
		struct buf v = BUF_INIT;
		json_add_string(&v, row_ptr(r, i), n > 60 ? 60 : n);
		int rc = db_error(db, "column \"%s\": PostgreSQL cannot store a NUL byte (\\u0000) in %s: the value %s%s",
				  t->cols[i].name, t->cols[i].native, v.buf, n > 60 ? "..." : "");
		buf_release(&v);
		return rc;
	}
	return 0;
}

int pg_write(struct db *db, const struct table *t, const struct change *c)
{
	struct pg_db *p = db->impl;
	if (refuse_nul(db, t, &c->row) < 0)
		return -1;
	if (c->type == REC_ROW || c->type == REC_INSERT)
		return copy_row(db, t, &c->row);
	pg_settle(db);
	if (pg_flush_copy(db) < 0)
		return -1;
	const struct pg_rel *rel = pg_rel(db, t->name);
	if (!rel)
		return -1;
	if (c->type == REC_UPDATE || c->type == REC_DELETE) {
		int got = batch_add(db, t, c, rel);
		if (got != 0)
			return got < 0 ? -1 : 0;
	}
	if (pg_flush_batch(db, 1) < 0)
		return -1;
	p->cur_write = db->nwrites;
	return send_row(db, t, c->type, &c->row, rel);
}

/* --- sequences --- */

/* The sequence behind a column: owned by it (serial, identity), or the
 * one its nextval() default uses.  $1 the table, $2 the column. */
static const char q_sequence[] =
	"SELECT COALESCE(pg_catalog.pg_get_serial_sequence($1, $2)::regclass, "
	"(SELECT d.refobjid::regclass FROM pg_catalog.pg_attrdef ad "
	"JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid "
	"AND d.refclassid = 'pg_catalog.pg_class'::regclass "
	"JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S' "
	"WHERE ad.adrelid = $1::regclass AND ad.adnum = (SELECT attnum FROM pg_catalog.pg_attribute "
	"WHERE attrelid = $1::regclass AND attname = $2) LIMIT 1))::oid";

/* Set the sequence behind column col of table name past the largest value
 * the column holds (never backwards). */
static int set_sequence(struct db *db, const char *name, const char *col)
{
	const struct sql_dialect *d = &pg_dialect;
	char *qname = pg_qualify(name), seq[32] = "";
	struct buf rel = BUF_INIT, sql = BUF_INIT;
	sql_addf(&rel, d, "%T", qname);
	const char *params[2] = { rel.buf, col };
	PGresult *res = pg_query(db, q_sequence, 2, params);
	int rc = res ? 0 : -1;
	if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		snprintf(seq, sizeof(seq), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (seq[0]) {
		sql_addf(&sql, d, "SELECT pg_catalog.setval($1::oid::regclass, m) FROM (SELECT max(%I)::bigint AS m "
			 "FROM %T) x WHERE m IS NOT NULL AND m > COALESCE(pg_catalog.pg_sequence_last_value($1::oid::regclass), "
			 "(SELECT seqstart - 1 FROM pg_catalog.pg_sequence WHERE seqrelid = $1::oid))", col, qname);
		const char *sp[1] = { seq };
		res = pg_query(db, sql.buf, 1, sp);
		rc = res ? 0 : -1;
		PQclear(res);
	}
	free(qname);
	buf_release(&rel);
	buf_release(&sql);
	return rc;
}

/* dbapply --sql: what set_sequence does for each serial or identity
 * column of t, with the sequence named. */
int pg_sequence_sql(struct db *db, const struct table *t, struct buf *out)
{
	const struct sql_dialect *d = &pg_dialect;
	char *qname = pg_qualify(t->name);
	struct buf rel = BUF_INIT, seq = BUF_INIT;
	int rc = 0;
	sql_addf(&rel, d, "%T", qname);
	for (size_t i = 0; i < t->ncols && rc == 0; i++) {
		const struct column *col = &t->cols[i];
		if (!col->autoinc || col->type != VT_INT)
			continue;
		const char *params[2] = { rel.buf, col->name };
		PGresult *res = pg_query(db, q_sequence, 2, params);
		rc = res ? 0 : -1;
		buf_reset(&seq);
		if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
			buf_adds(&seq, PQgetvalue(res, 0, 0));
		PQclear(res);
		if (!seq.len)
			continue;
		const char *sp[1] = { seq.buf };
		res = pg_query(db, "SELECT $1::oid::regclass::text", 1, sp);
		if (!res) {
			rc = -1;
			break;
		}
		struct buf lit = BUF_INIT;
		sql_literal(&lit, d, LIT_TEXT, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
		PQclear(res);
		sql_addf(out, d, "SELECT pg_catalog.setval(%s, m) FROM (SELECT max(%I)::bigint AS m FROM %T) x "
			 "WHERE m IS NOT NULL AND m > COALESCE(pg_catalog.pg_sequence_last_value(%s), "
			 "(SELECT seqstart - 1 FROM pg_catalog.pg_sequence WHERE seqrelid = %s::regclass));\n",
			 lit.buf, col->name, qname, lit.buf, lit.buf);
		buf_release(&lit);
	}
	free(qname);
	buf_release(&rel);
	buf_release(&seq);
	return rc;
}

/* dbapply --sql: a value as the parameters of pg_write send it, text that
 * the column's input function reads, or bytes. */
int pg_literal(struct db *db, const struct table *t, const struct row *r, size_t i, struct buf *out)
{
	(void)db;
	if (r->v[i].state != V_SET)
		sql_literal(out, &pg_dialect, LIT_NULL, NULL, 0);
	else
		sql_literal(out, &pg_dialect, t->cols[i].type == VT_BYTES ? LIT_BYTES : LIT_TEXT, row_ptr(r, i),
			    r->v[i].len);
	return 0;
}

static void clear_seqs(struct pg_db *p)
{
	for (size_t i = 0; i < p->nseqs; i++)
		free(p->seqs[i]);
	free(p->seqs);
	p->seqs = NULL;
	p->nseqs = 0;
}

int pg_set_sequences(struct db *db)
{
	struct pg_db *p = db->impl;
	for (size_t i = 0; i < p->nseqs; i++) {
		const char *name = p->seqs[i], *col = name + strlen(name) + 1;
		if (set_sequence(db, name, col) < 0)
			return pg_within(db, "setting the id sequence of \"%s\".\"%s\"", name, col);
	}
	clear_seqs(p);
	return 0;
}

/* Note t's serial and identity columns; their sequences are set at commit
 * (setval cannot be rolled back, and a dry run must leave no trace). */
int pg_reset_sequence(struct db *db, const struct table *t)
{
	struct pg_db *p = db->impl;
	for (size_t i = 0; i < t->ncols; i++) {
		const struct column *col = &t->cols[i];
		if (!col->autoinc || col->type != VT_INT)
			continue;
		size_t ln = strlen(t->name), lc = strlen(col->name);
		int dup = 0;
		for (size_t j = 0; j < p->nseqs && !dup; j++)
			dup = !strcmp(p->seqs[j], t->name) && !strcmp(p->seqs[j] + ln + 1, col->name);
		if (dup)
			continue;
		char *pair = xmalloc(ln + lc + 2);
		memcpy(pair, t->name, ln + 1);
		memcpy(pair + ln + 1, col->name, lc + 1);
		p->seqs = xrealloc(p->seqs, (p->nseqs + 1) * sizeof(*p->seqs));
		p->seqs[p->nseqs++] = pair;
	}
	return 0;
}

/* --- triggers --- */

/* ALTER TABLE t DISABLE TRIGGER name, or ENABLE [REPLICA|ALWAYS] as mode
 * (tgenabled: O, R, A) says, into sql. */
static void trigger_sql(struct buf *sql, const struct pg_rel *rel, const char *name, char mode)
{
	const char *how = mode == 'D' ? "DISABLE" : mode == 'R' ? "ENABLE REPLICA" : mode == 'A' ? "ENABLE ALWAYS" : "ENABLE";
	buf_reset(sql);
	sql_addf(sql, &pg_dialect, "ALTER TABLE %s%T %s TRIGGER %I", rel->only, rel->qname, how, name);
}

/* Only the user's triggers, by name: the ones that enforce foreign keys
 * stay, and so does any trigger that was off already; each comes back in
 * the mode it had. */
int pg_set_triggers(struct db *db, const struct table *t, int on)
{
	struct pg_db *p = db->impl;
	if (on)
		return sql_later_run(&p->triggers_back, db, t->name, pg_exec);
	const struct pg_rel *rel = pg_rel(db, t->name);
	if (!rel)
		return -1;
	struct buf name = BUF_INIT, sql = BUF_INIT;
	sql_addf(&name, &pg_dialect, "%T", rel->qname);
	const char *params[1] = { name.buf };
	PGresult *res = pg_query(db, "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = $1::regclass "
				 "AND NOT tgisinternal AND tgenabled <> 'D' ORDER BY tgname", 1, params);
	buf_release(&name);
	if (!res)
		return -1;
	int rc = 0;
	for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
		const char *tg = PQgetvalue(res, r, 0), *mode = PQgetvalue(res, r, 1);
		trigger_sql(&sql, rel, tg, *mode);
		sql_later_add(&p->triggers_back, t->name, sql.buf);
		trigger_sql(&sql, rel, tg, 'D');
		rc = pg_exec(db, sql.buf);
	}
	PQclear(res);
	buf_release(&sql);
	return rc;
}

/* --- the write session --- */

void pg_write_forget(struct pg_db *p)
{
	clear_seqs(p);
	sql_later_clear(&p->triggers_back);
}

void pg_write_release(struct pg_db *p)
{
	pg_write_forget(p);
	batch_reset(&p->batch);
	buf_release(&p->batch.sql);
	for (size_t i = 0; i < p->batch.held_alloc; i++)
		row_release(&p->batch.held[i]);
	free(p->batch.held);
	for (size_t i = 0; i < p->npending; i++) {
		free(p->pdesc[i]);
		free(p->pparams[i]);
	}
	free(p->copy_table);
	free(p->pv);
	free(p->pl);
	free(p->pf);
}
