/* mysql/batch: the pending multi-row statement.  Inserts go as INSERT ...
 * VALUES (..),(..) and deletes by key as DELETE ... WHERE (key) IN (..),
 * each a head and a tuple once per row; updates are collected the same way
 * (update.c makes their statements).  Running a batch that fails, or that
 * misses rows, writes its rows again one at a time to name the row at
 * fault. */
#include <stdlib.h>
#include <string.h>

#include "mysql_int.h"

void my_batch_reset(struct my_db *m)
{
	m->batch_rows = 0;
	m->batch_t = NULL;
	m->nparams = 0;
	buf_reset(&m->arena);
}

/* Prefix db->err with the table and the key of the batch's row whose
 * parameters start at from: "table "t", deleting the row with id=7: ". */
static void name_batch_row(struct db *db, const char *verb, size_t from)
{
	struct my_db *m = db->impl;
	struct buf msg = BUF_INIT;
	buf_addf(&msg, "table \"%s\", %s the row with ", m->batch_table.buf, verb);
	for (size_t k = 0; k < m->batch_nkey && k < 4; k++) {
		const struct param *pa = &m->params[from + m->batch_keypos[k]];
		buf_addf(&msg, "%s%s=", k ? ", " : "", m->batch_keynames[k]);
		if (pa->type == MYSQL_TYPE_NULL)
			buf_adds(&msg, "NULL");
		else if (pa->type == MYSQL_TYPE_LONGLONG)
			buf_addf(&msg, "%llu", pa->ull);
		else if (pa->type == MYSQL_TYPE_FLOAT)
			buf_addf(&msg, "%g", (double)pa->f);
		else if (pa->type == MYSQL_TYPE_BLOB)
			buf_addf(&msg, "(%lu bytes)", pa->len);
		else
			buf_addf(&msg, "%.*s", (int)(pa->len < 40 ? pa->len : 40), m->arena.buf + pa->off);
	}
	buf_addf(&msg, ": %s", db->err.buf);
	db_error(db, "%s", msg.buf);
	buf_release(&msg);
}

/* The pending statement for rows rows: its head, the tuple once a row,
 * then tail. */
static void batch_sql(struct my_db *m, size_t rows, const char *tail)
{
	buf_reset(&m->sql);
	buf_add(&m->sql, m->batch_head.buf, m->batch_head.len);
	for (size_t r = 0; r < rows; r++) {
		if (r)
			buf_addch(&m->sql, ',');
		buf_add(&m->sql, m->batch_tuple.buf, m->batch_tuple.len);
	}
	buf_adds(&m->sql, tail);
}

/* What went wrong with a batch of rows that meant to verb them: the
 * statement's error (st NULL), or how many rows it missed. */
static void batch_failure(struct db *db, MYSQL_STMT *st, size_t rows, const char *verb, struct buf *out)
{
	if (st)
		buf_addf(out, "%llu of %zu rows to %s are not in the target (it changed since the diff)",
			 (unsigned long long)(rows - mysql_stmt_affected_rows(st)), rows, verb);
	else
		buf_add(out, db->err.buf, db->err.len);
}

/* Write the batch's rows one at a time, each with sql: 0 when every one
 * went (and, if counted, found its row), else -1 naming the first that did
 * not. */
static int rows_one_by_one(struct db *db, const char *sql, size_t rows, int counted, const char *verb)
{
	struct my_db *m = db->impl;
	size_t w = m->batch_width;
	for (size_t r = 0; r < rows; r++) {
		MYSQL_STMT *st = my_execute(db, sql, r * w, w);
		if (st && (!counted || mysql_stmt_affected_rows(st) != 0))
			continue;
		if (st)
			db_no_row(db);
		name_batch_row(db, verb, r * w);
		db->failed_write = m->batch_first + r;
		return -1;
	}
	return 0;
}

/* The pending updates (see update.c): after a savepoint, their rows go
 * into the temporary table in one INSERT, and one UPDATE ... JOIN writes
 * them.  If a statement fails, or the UPDATE matches fewer rows than were
 * sent, all since the savepoint is undone and the rows are updated one at
 * a time with the statement used without batching, so the outcome is that
 * statement's: the row at fault named, or success.  Only when the
 * savepoint is gone (a deadlock ends the transaction) is the batch's own
 * error the answer. */
static int flush_update(struct db *db, size_t rows)
{
	struct my_db *m = db->impl;
	if (my_exec(db, "SAVEPOINT dbpipe_batch") < 0)
		return -1;
	batch_sql(m, rows, "");
	MYSQL_STMT *st = my_execute(db, m->sql.buf, 0, rows * m->batch_width);
	if (st)
		st = my_execute(db, m->batch_update.buf, 0, 0);
	if (st && mysql_stmt_affected_rows(st) == rows)
		return my_exec(db, m->batch_clear.buf);
	struct buf first = BUF_INIT;
	batch_failure(db, st, rows, "update", &first);
	int rc = -1;
	if (my_exec(db, "ROLLBACK TO SAVEPOINT dbpipe_batch") < 0 || my_exec(db, m->batch_clear.buf) < 0)
		db_error(db, "table \"%s\": %s", m->batch_table.buf, first.buf);
	else
		rc = rows_one_by_one(db, m->batch_single.buf, rows, 1, "updating");
	buf_release(&first);
	return rc;
}

/* Pending inserts or deletes: one statement, which the server undoes
 * whole if it fails; a DELETE that misses rows is undone to a savepoint.
 * Then the rows are tried one at a time to name the one at fault. */
static int flush_rows(struct db *db, size_t rows, int del)
{
	struct my_db *m = db->impl;
	batch_sql(m, rows, del ? ")" : "");
	if (del && my_exec(db, "SAVEPOINT dbpipe_batch") < 0)
		return -1;
	MYSQL_STMT *st = my_execute(db, m->sql.buf, 0, rows * m->batch_width);
	if (st && (!del || mysql_stmt_affected_rows(st) == rows))
		return 0;
	struct buf first = BUF_INIT;
	batch_failure(db, st, rows, "delete", &first);
	if (st && my_exec(db, "ROLLBACK TO SAVEPOINT dbpipe_batch") < 0) {
		buf_release(&first);
		return -1;
	}
	batch_sql(m, 1, del ? ")" : "");
	if (rows_one_by_one(db, m->sql.buf, rows, del, del ? "deleting" : "inserting") == 0)
		db_error(db, "table \"%s\": %s", m->batch_table.buf, first.buf);
	buf_release(&first);
	return -1;
}

int my_flush_batch(struct db *db)
{
	struct my_db *m = db->impl;
	if (!m->batch_rows)
		return 0;
	size_t rows = m->batch_rows;
	m->batch_rows = 0; /* the statements below must not flush again */
	int rc = m->batch_op == BATCH_UPDATE ? flush_update(db, rows)
					      : flush_rows(db, rows, m->batch_op == BATCH_DELETE);
	my_batch_reset(m);
	return rc;
}

void my_batch_kinds(struct my_db *m, const struct table *t)
{
	m->batch_kind = xrealloc(m->batch_kind, (t->ncols + 1) * sizeof(*m->batch_kind));
	for (size_t i = 0; i < t->ncols; i++)
		m->batch_kind[i] = my_column_kind(&t->cols[i]);
}

void my_batch_keys(struct my_db *m, const struct table *t, const size_t *pos, int writable_only)
{
	for (size_t k = 0; k < m->batch_nkey; k++)
		free(m->batch_keynames[k]);
	m->batch_keynames = xrealloc(m->batch_keynames, (t->nkey + 1) * sizeof(char *));
	m->batch_keypos = xrealloc(m->batch_keypos, (t->nkey + 1) * sizeof(size_t));
	m->batch_nkey = 0;
	for (size_t k = 0; k < t->nkey; k++) {
		if (writable_only && !sql_writable(t, t->key[k]))
			continue;
		m->batch_keynames[m->batch_nkey] = xstrdup(t->cols[t->key[k]].name);
		m->batch_keypos[m->batch_nkey++] = pos[t->key[k]];
	}
}

/* "DELETE FROM t WHERE (k1,k2) IN (" and the tuple "(?,?)"; the width of
 * the tuple, with pos[i] the place of column i in it. */
static size_t delete_head(struct my_db *m, const struct table *t, size_t *pos)
{
	size_t w = 0;
	sql_addf(&m->batch_head, &my_dialect, "DELETE FROM %T WHERE (%K) IN (", t->name, t);
	buf_addch(&m->batch_tuple, '(');
	for (size_t k = 0; k < t->nkey; k++) {
		if (k)
			buf_addch(&m->batch_tuple, ',');
		pos[t->key[k]] = w;
		w += my_param_sql(&m->batch_tuple, &t->cols[t->key[k]]);
	}
	buf_addch(&m->batch_tuple, ')');
	return w;
}

/* "INSERT INTO t (a,b) VALUES " and the tuple "(?,?)", of the writable
 * columns; the width of the tuple, with pos[i] the place of column i. */
static size_t insert_head(struct my_db *m, const struct table *t, size_t *pos)
{
	size_t w = 0;
	sql_addf(&m->batch_head, &my_dialect, "INSERT INTO %T (", t->name);
	buf_addch(&m->batch_tuple, '(');
	for (size_t i = 0; i < t->ncols; i++) {
		pos[i] = w;
		if (!sql_writable(t, i))
			continue;
		if (w) {
			buf_addch(&m->batch_head, ',');
			buf_addch(&m->batch_tuple, ',');
		}
		sql_addf(&m->batch_head, &my_dialect, "%I", t->cols[i].name);
		w += my_param_sql(&m->batch_tuple, &t->cols[i]);
	}
	buf_adds(&m->batch_head, ") VALUES ");
	buf_addch(&m->batch_tuple, ')');
	return w;
}

void my_batch_start(struct my_db *m, const struct table *t, int del)
{
	size_t pos[t->ncols + 1];
	my_batch_reset(m);
	m->batch_t = t;
	m->batch_op = del ? BATCH_DELETE : BATCH_INSERT;
	buf_reset(&m->batch_table);
	buf_adds(&m->batch_table, t->name);
	buf_reset(&m->batch_head);
	buf_reset(&m->batch_tuple);
	my_batch_kinds(m, t);
	m->batch_width = del ? delete_head(m, t, pos) : insert_head(m, t, pos);
	my_batch_keys(m, t, pos, !del);
}

/* Deletes by a primary or unique key go in batches; whole-row keys (NULLs,
 * duplicates: one row per change) and keys compared by expression do not. */
static int key_col_exact(const struct column *c)
{
	enum kind kd = my_column_kind(c);
	return kd != K_GEOM && kd != K_FLOAT;
}

int my_delete_batchable(const struct table *t)
{
	return table_key_all(t, key_col_exact);
}

/* Append the parameters of change c to the batch, in the order of its
 * tuple: every writable column for an insert, the key for a delete, the
 * columns set then the key for an update. */
int my_batch_add(struct db *db, const struct table *t, const struct change *c)
{
	struct my_db *m = db->impl;
	size_t mark = m->nparams, amark = m->arena.len;
	int op = m->batch_op, rc = -1;
	for (size_t i = 0; i < t->ncols; i++) {
		if (op == BATCH_DELETE || (op == BATCH_UPDATE ? !m->batch_set[i] : !sql_writable(t, i)))
			continue;
		if (my_encode_param(db, &t->cols[i], m->batch_kind[i], &c->row, i) < 0)
			goto undo;
	}
	for (size_t k = 0; op != BATCH_INSERT && k < t->nkey; k++) {
		size_t i = t->key[k];
		if (my_encode_param(db, &t->cols[i], m->batch_kind[i], &c->row, i) < 0)
			goto undo;
		if (op == BATCH_UPDATE && !my_key_param_exact(m, &t->cols[i], &m->params[m->nparams - 1])) {
			rc = 0;
			goto undo;
		}
	}
	m->batch_rows++;
	return 1;
undo:
	m->nparams = mark;
	m->arena.len = amark;
	return rc;
}
