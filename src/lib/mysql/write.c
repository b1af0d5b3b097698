/* mysql/write: one write (into a batch, or a statement of its own), the
 * refusal of non-transactional tables, foreign_key_checks per table as the
 * write plan says, and the checks of what was written with them off. */
#include <stdlib.h>
#include <string.h>

#include "mysql_int.h"

#define BATCH_ROWS 1000
#define BATCH_PARAMS 60000      /* the protocol allows 65535 per statement */
#define BATCH_BYTES (4 << 20)   /* well below the default max_allowed_packet */

static int refuse_nontx(struct db *db, const char *table)
{
	struct my_db *m = db->impl;
	size_t n = strlen(table);
	for (size_t i = 0; i < m->nnontx; i++) {
		if (strncmp(m->nontx[i], table, n) || m->nontx[i][n] != '\t')
			continue;
		if (!db->opts.allow_non_transactional)
			return db_error(db, "table \"%s\" uses the non-transactional engine %s: a failure could not "
				    "be rolled back (convert it to InnoDB, or allow it with "
				    "--allow-non-transactional, never in a dry run)",
				    table, m->nontx[i] + n + 1);
		struct buf quoted = BUF_INIT;
		buf_addf(&quoted, "\"%s\"", table);
		if (!strstr(m->nontx_written.buf, quoted.buf))
			buf_addf(&m->nontx_written, "%s%s", m->nontx_written.len ? ", " : "", quoted.buf);
		buf_release(&quoted);
		return 0;
	}
	return 0;
}

/* The index of the table named name in the write plan's schema, or -1. */
static long target_index(const struct my_db *m, const char *name)
{
	for (size_t i = 0; m->target && i < m->target->n; i++)
		if (!strcmp(m->target->tables[i]->name, name))
			return (long)i;
	return -1;
}

/* Foreign-key checks off for tables in cycles, on for every other table. */
static int set_fk_mode(struct db *db, const struct table *t, enum rec_type type)
{
	struct my_db *m = db->impl;
	long wi = target_index(m, t->name);
	int defer = wi >= 0 && m->in_cycle[wi];
	if (defer != m->fk_off) {
		if (my_exec(db, defer ? "SET foreign_key_checks = 0" : "SET foreign_key_checks = 1") < 0)
			return -1;
		m->fk_off = defer;
	}
	if (defer) {
		if (type != REC_DELETE)
			m->dirty_out[wi] = 1;
		if (type != REC_INSERT && type != REC_ROW)
			m->dirty_in[wi] = 1;
		m->unverified = 1;
	}
	return 0;
}

/* An update or delete of one row by its key, a statement of its own. */
static int write_one(struct db *db, const struct table *t, const struct change *c)
{
	struct my_db *m = db->impl;
	struct buf *sql = &m->sql;
	size_t n = 0;
	my_batch_reset(m);
	buf_reset(sql);
	if (c->type == REC_UPDATE) {
		sql_addf(sql, &my_dialect, "UPDATE %T SET ", t->name);
		for (size_t i = 0; i < t->ncols; i++) {
			if (!sql_sets(t, &c->row, i))
				continue;
			sql_addf(sql, &my_dialect, m->nparams ? ",%I = " : "%I = ", t->cols[i].name);
			my_param_sql(sql, &t->cols[i]);
			if (my_encode_param(db, &t->cols[i], my_column_kind(&t->cols[i]), &c->row, i) < 0)
				return -1;
		}
		if (!m->nparams)
			return 0; /* nothing to set */
	} else {
		sql_addf(sql, &my_dialect, "DELETE FROM %T", t->name);
	}
	/* A whole-row key may match duplicates: one change is one row. */
	sql_addf(sql, &my_dialect, " WHERE %W%s", t, &n, t->key_kind == KEY_ROW ? " LIMIT 1" : "");
	for (size_t k = 0; k < t->nkey; k++) {
		const struct column *kc = &t->cols[t->key[k]];
		if (my_encode_param(db, kc, my_column_kind(kc), &c->row, t->key[k]) < 0)
			return -1;
	}
	MYSQL_STMT *st = my_execute(db, sql->buf, 0, m->nparams);
	if (!st)
		return -1;
	if (mysql_stmt_affected_rows(st) == 0)
		return db_no_row(db);
	return 0;
}

/* The kind of batch change c of t can join, or -1: a statement of its own. */
static int batch_kind(struct my_db *m, const struct table *t, const struct change *c)
{
	if (c->type == REC_ROW || c->type == REC_INSERT)
		return BATCH_INSERT;
	if (c->type == REC_DELETE)
		return my_delete_batchable(t) ? BATCH_DELETE : -1;
	return my_update_batchable(m, t, c) ? BATCH_UPDATE : -1;
}

/* Start a batch of kind op with change c; op, or -1 when updates go one by
 * one after all, or -2 on failure. */
static int batch_begin(struct db *db, const struct table *t, const struct change *c, int op)
{
	struct my_db *m = db->impl;
	m->batch_first = db->nwrites;
	if (op != BATCH_UPDATE) {
		my_batch_start(m, t, op == BATCH_DELETE);
		return op;
	}
	int got = my_update_batch_start(db, t, &c->row);
	return got < 0 ? -2 : got ? op : -1;
}

int my_write(struct db *db, const struct table *t, const struct change *c)
{
	struct my_db *m = db->impl;
	if (c->type != REC_ROW && c->type != REC_INSERT && c->type != REC_UPDATE && c->type != REC_DELETE)
		return 0;
	int op = batch_kind(m, t, c);
	if (m->batch_rows &&
	    (op < 0 || m->batch_t != t || m->batch_op != op ||
	     (op == BATCH_UPDATE && memcmp(m->batch_set, m->row_set, t->ncols))) &&
	    my_flush_batch(db) < 0)
		return -1;
	if (my_suspend_stream(db) < 0 || refuse_nontx(db, t->name) < 0 || set_fk_mode(db, t, c->type) < 0)
		return -1;
	if (op >= 0 && !m->batch_rows && (op = batch_begin(db, t, c, op)) == -2)
		return -1;
	if (op >= 0) {
		/* Collected into multi-row statements, run when another kind of
		 * write, another table (or, for updates, other columns) or the
		 * end of the transaction comes. */
		int added = my_batch_add(db, t, c);
		if (added < 0)
			return -1;
		if (added) {
			if (m->batch_rows >= BATCH_ROWS || m->nparams + m->batch_width > BATCH_PARAMS ||
			    m->arena.len > BATCH_BYTES)
				return my_flush_batch(db);
			return 0;
		}
		/* An update whose key a batch could not carry exactly: alone,
		 * after the updates before it. */
		if (my_flush_batch(db) < 0)
			return -1;
	}
	return write_one(db, t, c);
}

/* One reference check: rows of child whose non-NULL reference has no parent. */
static void check_ref_sql(struct buf *sql, const struct table *child, const struct ref *rf)
{
	const struct sql_dialect *d = &my_dialect;
	buf_adds(sql, "SELECT ");
	for (size_t k = 0; k < child->nkey && k < 4; k++)
		sql_addf(sql, d, k ? ",c.%I" : "c.%I", child->cols[child->key[k]].name);
	sql_addf(sql, d, " FROM %T c WHERE ", child->name);
	for (size_t j = 0; j < rf->ncols; j++)
		sql_addf(sql, d, "c.%I IS NOT NULL AND ", rf->cols[j]);
	sql_addf(sql, d, "NOT EXISTS (SELECT 1 FROM %T p WHERE ", rf->table);
	for (size_t j = 0; j < rf->ncols; j++)
		sql_addf(sql, d, j ? " AND p.%I = c.%I" : "p.%I = c.%I", rf->to[j], rf->cols[j]);
	buf_adds(sql, ") LIMIT 3");
}

static int check_ref(struct db *db, const struct table *child, const struct ref *rf)
{
	struct my_db *m = db->impl;
	buf_reset(&m->sql);
	check_ref_sql(&m->sql, child, rf);
	MYSQL_RES *r = my_query(db, m->sql.buf);
	if (!r)
		return -1;
	MYSQL_ROW row;
	int bad = 0;
	struct buf msg = BUF_INIT;
	while ((row = mysql_fetch_row(r))) {
		buf_addf(&msg, "%sforeign key violation: the row of \"%s\" with ", bad ? "; " : "", child->name);
		for (size_t k = 0; k < child->nkey && k < 4; k++)
			buf_addf(&msg, "%s%s=%.40s", k ? ", " : "", child->cols[child->key[k]].name,
				 row[k] ? row[k] : "NULL");
		buf_addf(&msg, " references a missing row of \"%s\"", rf->table);
		bad++;
	}
	mysql_free_result(r);
	if (bad)
		db_error(db, "%s", msg.buf);
	buf_release(&msg);
	return bad ? -1 : 0;
}

int my_check_deferred(struct db *db)
{
	struct my_db *m = db->impl;
	for (size_t i = 0; m->target && i < m->target->n; i++) {
		const struct table *t = m->target->tables[i];
		for (size_t j = 0; j < t->nrefs; j++) {
			long p = target_index(m, t->refs[j].table);
			if ((m->dirty_out[i] || (p >= 0 && m->dirty_in[p])) && check_ref(db, t, &t->refs[j]) < 0)
				return -1;
		}
	}
	m->unverified = 0;
	return 0;
}

int my_check_constraints(struct db *db)
{
	struct my_db *m = db->impl;
	if (my_flush_batch(db) < 0)
		return -1;
	if (!m->unverified)
		return 0;
	return my_check_deferred(db);
}

/* InnoDB (and MyISAM) move the AUTO_INCREMENT counter past every id written
 * explicitly, so it is already past the largest id.  ALTER TABLE ...
 * AUTO_INCREMENT is not used: it would commit the transaction implicitly,
 * which would break dry runs and rollback. */
int my_reset_sequence(struct db *db, const struct table *t)
{
	(void)t;
	return my_flush_batch(db);
}
