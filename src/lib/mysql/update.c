/* mysql/update: batched updates, through temporary tables.
 *
 * A run of updates of one table that set the same columns is written
 * through a temporary table made with CREATE TEMPORARY TABLE tmp (PRIMARY
 * KEY (keys)) AS SELECT set-columns, key-columns FROM t LIMIT 0: its
 * columns have the types of t's own (length, precision, charset and
 * collation, unsigned, enum members).  Each batch is
 *
 *   INSERT INTO tmp (c1, ..., k1, ...) VALUES (?, ...), ...
 *   UPDATE t AS d JOIN tmp AS s ON d.k1 = s.k1 AND ... SET d.c1 = s.c1, ...
 *   DELETE FROM tmp
 *
 * Why not a derived table of parameters, UPDATE t JOIN (SELECT ? AS k, ?
 * AS c UNION ALL SELECT ?, ? ...) v ...: the server gives v's columns a
 * type of its own making from the parameters, not the column's: MariaDB
 * 10.11 materializes a string as a CHAR as long as the longest value,
 * which drops trailing spaces ('ab  ' arrives as 'ab'), and MySQL 8 fixes
 * a parameter's type when it prepares the statement, before any value is
 * bound.  With tmp, a value is stored by the same conversion as UPDATE t
 * SET c = ? (a parameter into a column of that type, with strict
 * mode's errors), then copied between two columns of one type, which
 * changes nothing; and the keys are compared between columns of one type
 * and collation, as WHERE k = ? compares them, so the index of t is used
 * and no key matches a row it would not match alone.
 *
 * One thing the copy of a key could change: a value that storing rounds or
 * pads (an int "1.5" becomes 2, a DECIMAL(30,10) or a DATETIME(2) drops
 * extra digits, a CHAR drops trailing spaces, a BINARY(n) is padded with
 * zero bytes) would then match another row than WHERE k = ? does.  So key
 * columns are batched only for types whose values can be checked to be
 * stored as they are (key_col_batchable), and a row whose key is not
 * (my_key_param_exact) is written alone.  Whatever goes wrong in a batch,
 * the rows are written again one at a time (batch.c). */
#include <stdlib.h>
#include <string.h>

#include "mysql_int.h"

/* Key column types that can be batched: integers, decimals, text, binary
 * strings, dates and times of day with a date.  Not: floats (compared by
 * value with rounding), bit, year, time, enum, set, spatial and the rest. */
static int key_col_batchable(const struct column *c)
{
	char w[32];
	enum kind k = my_column_kind(c);
	my_type_word(c->native, w, sizeof(w));
	if (k == K_DATE || k == K_DATETIME || k == K_TIMESTAMP)
		return 1;
	return k == K_RAW && (my_word_in(w, my_int_words) || !strcmp(w, "decimal") || !strcmp(w, "numeric") ||
			      !strcmp(w, "fixed") || my_word_in(w, my_text_words) || !strcmp(w, "varbinary") ||
			      !strcmp(w, "binary"));
}

static int digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return n > 0;
}

/* YYYY-MM-DD[ HH:MM:SS[.f]], no more fraction digits than the type keeps. */
static int date_exact(const struct column *c, enum kind k, const char *p, size_t n)
{
	if (n < 10 || !digits(p, 4) || p[4] != '-' || !digits(p + 5, 2) || p[7] != '-' || !digits(p + 8, 2))
		return 0;
	if (k == K_DATE)
		return n == 10;
	if (n < 19 || p[10] != ' ' || !digits(p + 11, 2) || p[13] != ':' || !digits(p + 14, 2) ||
	    p[16] != ':' || !digits(p + 17, 2))
		return 0;
	return n == 19 || (p[19] == '.' && digits(p + 20, n - 20) && n - 20 <= (unsigned)native_scale(c->native, 0, 0));
}

/* An integer, or a decimal with no more fraction digits than the type keeps. */
static int number_exact(const struct column *c, int decimal, const char *p, size_t n)
{
	size_t sign = n && p[0] == '-';
	const char *dot = decimal ? memchr(p, '.', n) : NULL;
	if (!dot)
		return digits(p + sign, n - sign);
	size_t ilen = (size_t)(dot - p) - sign, flen = n - (size_t)(dot - p) - 1;
	return digits(p + sign, ilen) && digits(dot + 1, flen) && flen <= (unsigned)native_scale(c->native, 1, 0);
}

int my_key_param_exact(const struct my_db *m, const struct column *c, const struct param *pa)
{
	char w[32];
	enum kind k = my_column_kind(c);
	const char *p = m->arena.buf + pa->off;
	size_t n = pa->len;
	if (pa->type != MYSQL_TYPE_STRING && pa->type != MYSQL_TYPE_BLOB)
		return 0;
	my_type_word(c->native, w, sizeof(w));
	if (k == K_DATE || k == K_DATETIME || k == K_TIMESTAMP)
		return date_exact(c, k, p, n);
	if (my_word_in(w, my_int_words))
		return number_exact(c, 0, p, n);
	if (!strcmp(w, "decimal") || !strcmp(w, "numeric") || !strcmp(w, "fixed"))
		return number_exact(c, 1, p, n);
	if (!strcmp(w, "char") || !strcmp(w, "nchar"))
		return !n || p[n - 1] != ' ';
	if (!strcmp(w, "binary"))
		return n == my_paren_number(c->native, 1);
	return 1; /* varchar and varbinary keep what they are given */
}

/* Not: whole-row keys (NULLs and duplicates, one row per change), keys of
 * other types than key_col_batchable's, spatial values (written through
 * ST_GeomFromText), or an update that sets nothing. */
int my_update_batchable(struct my_db *m, const struct table *t, const struct change *c)
{
	if (m->no_tmp || !table_key_all(t, key_col_batchable))
		return 0;
	if (m->aset < t->ncols + 1) {
		m->aset = t->ncols + 1;
		m->row_set = xrealloc(m->row_set, m->aset);
		m->batch_set = xrealloc(m->batch_set, m->aset);
	}
	size_t nset = 0;
	for (size_t i = 0; i < t->ncols; i++) {
		m->row_set[i] = sql_sets(t, &c->row, i);
		if (m->row_set[i] && my_column_kind(&t->cols[i]) == K_GEOM)
			return 0;
		nset += m->row_set[i];
	}
	return nset > 0;
}

static int drop_tmp(struct db *db, size_t i)
{
	struct my_db *m = db->impl;
	struct buf sql = BUF_INIT;
	sql_addf(&sql, &my_dialect, "DROP TEMPORARY TABLE IF EXISTS %I", m->tmps[i].name);
	int rc = my_exec(db, sql.buf);
	buf_release(&sql);
	free(m->tmps[i].sig);
	free(m->tmps[i].name);
	memmove(&m->tmps[i], &m->tmps[i + 1], (m->ntmps - i - 1) * sizeof(m->tmps[0]));
	m->ntmps--;
	return rc;
}

int my_drop_tmps(struct db *db)
{
	struct my_db *m = db->impl;
	while (m->ntmps)
		if (drop_tmp(db, m->ntmps - 1) < 0)
			return -1;
	return 0;
}

/* The temporary table for updates of t that set cols ("`a`,`b`"), made if
 * there is none yet, at *out in m->tmps: 1, 0 when it cannot be made (the
 * user may lack CREATE TEMPORARY TABLES), -1 on failure. */
static int update_tmp(struct db *db, const struct table *t, const char *cols, size_t *out)
{
	struct my_db *m = db->impl;
	struct buf sig = BUF_INIT, sql = BUF_INIT;
	int rc = 1;
	sql_addf(&sig, &my_dialect, "%T %s %K", t->name, cols, t);
	for (*out = 0; *out < m->ntmps; ++*out)
		if (!strcmp(m->tmps[*out].sig, sig.buf))
			goto out;
	if (m->ntmps == UPD_TMPS && drop_tmp(db, 0) < 0) {
		rc = -1;
		goto out;
	}
	buf_addf(&sql, "_dbpipe_update_%zu", ++m->tmp_seq);
	char *name = buf_detach(&sql);
	sql_addf(&sql, &my_dialect, "CREATE TEMPORARY TABLE %I (PRIMARY KEY (%K)) AS SELECT %s,%K FROM %T LIMIT 0",
		 name, t, cols, t, t->name);
	if (my_exec(db, sql.buf) < 0) {
		free(name);
		m->no_tmp = 1;
		rc = 0;
		goto out;
	}
	*out = m->ntmps++;
	m->tmps[*out].sig = buf_detach(&sig);
	m->tmps[*out].name = name;
out:
	buf_release(&sig);
	buf_release(&sql);
	return rc;
}

/* The statements of a batch of updates of t through tmp: the INSERT's
 * head and tuple, the UPDATE ... JOIN, the one-row UPDATE of row set (for
 * the rows written alone) and the DELETE that empties tmp. */
static void update_statements(struct my_db *m, const struct table *t, const struct row *set, const char *tmp,
			      const char *cols, size_t w)
{
	const struct sql_dialect *d = &my_dialect;
	buf_reset(&m->batch_head);
	sql_addf(&m->batch_head, d, "INSERT INTO %I (%s,%K) VALUES ", tmp, cols, t);
	buf_reset(&m->batch_tuple);
	buf_addch(&m->batch_tuple, '(');
	for (size_t j = 0; j < w; j++)
		buf_adds(&m->batch_tuple, j ? ",?" : "?");
	buf_addch(&m->batch_tuple, ')');
	buf_reset(&m->batch_update);
	sql_addf(&m->batch_update, d, "UPDATE %T AS d JOIN %I AS s ON ", t->name, tmp);
	for (size_t k = 0; k < t->nkey; k++) {
		const char *kn = t->cols[t->key[k]].name;
		sql_addf(&m->batch_update, d, k ? " AND d.%I = s.%I" : "d.%I = s.%I", kn, kn);
	}
	buf_adds(&m->batch_update, " SET ");
	for (size_t i = 0, j = 0; i < t->ncols; i++)
		if (m->row_set[i])
			sql_addf(&m->batch_update, d, j++ ? ", d.%I = s.%I" : "d.%I = s.%I", t->cols[i].name,
				 t->cols[i].name);
	buf_reset(&m->batch_single);
	sql_update(&m->batch_single, d, t, set);
	buf_reset(&m->batch_clear);
	sql_addf(&m->batch_clear, d, "DELETE FROM %I", tmp);
}

int my_update_batch_start(struct db *db, const struct table *t, const struct row *set)
{
	struct my_db *m = db->impl;
	struct buf cols = BUF_INIT;
	size_t w = 0, ti;
	size_t pos[t->ncols + 1];
	my_batch_reset(m);
	/* The tuple: the columns set, then the key. */
	for (size_t i = 0; i < t->ncols; i++)
		if (m->row_set[i]) {
			sql_addf(&cols, &my_dialect, w ? ",%I" : "%I", t->cols[i].name);
			pos[i] = w++;
		}
	for (size_t k = 0; k < t->nkey; k++)
		pos[t->key[k]] = w++;
	int got = update_tmp(db, t, cols.buf, &ti);
	if (got > 0) {
		m->batch_t = t;
		m->batch_op = BATCH_UPDATE;
		memcpy(m->batch_set, m->row_set, t->ncols);
		my_batch_kinds(m, t);
		buf_reset(&m->batch_table);
		buf_adds(&m->batch_table, t->name);
		update_statements(m, t, set, m->tmps[ti].name, cols.buf, w);
		my_batch_keys(m, t, pos, 0);
		m->batch_width = w;
	}
	buf_release(&cols);
	return got;
}
