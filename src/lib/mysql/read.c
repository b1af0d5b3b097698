/* mysql/read: scans (the SELECT in key order, the rows of given keys),
 * spooling a result that another statement interrupts, and the conversion
 * of the server's text into canonical text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_int.h"

static void my_placeholder(struct buf *sql, size_t n)
{
	(void)n;
	buf_addch(sql, '?');
}

/* The column as the scan selects it: spatial values as (E)WKT text, the
 * form ST_GeomFromText reads back ("SRID=4326;POINT(1 2)" when not 0). */
static void select_expr(struct buf *sql, const struct column *c, enum kind k)
{
	if (c->unmade) /* dbapply --sql: what ADD COLUMN would give the rows */
		buf_addf(sql, "(%s)", c->default_sql ? c->default_sql : "NULL");
	else if (k != K_GEOM)
		sql_addf(sql, &my_dialect, "%I", c->name);
	else
		sql_addf(sql, &my_dialect,
			 "CASE WHEN ST_SRID(%I) = 0 THEN ST_AsText(%I) "
			 "ELSE CONCAT('SRID=', ST_SRID(%I), ';', ST_AsText(%I)) END",
			 c->name, c->name, c->name, c->name);
}

/* ORDER BY term for key column c so that the server's order is value_cmp's:
 * numbers, bytes, dates and datetimes as they are; text (and every other
 * type by its text) bytewise in UTF-8 (CAST to binary avoids the PAD SPACE
 * and case rules of the column's collation). */
static void my_order_key(struct buf *sql, const struct sql_dialect *d, const struct column *c,
			 enum key_order order)
{
	enum kind k = my_column_kind(c);
	switch (order) {
	case KEY_ORDER_NUMBER:
		sql_addf(sql, d, "%I", c->name);
		return;
	case KEY_ORDER_BYTES:
		if (c->type == VT_BYTES) {
			sql_addf(sql, d, "%I", c->name);
			return;
		}
		break; /* a uuid: its text orders as its bytes */
	case KEY_ORDER_TIMESTAMP:
		if (c->type == VT_TIMESTAMP || my_paren_number(c->native, 0) == 0) {
			sql_addf(sql, d, "%I", c->name);
			return;
		}
		/* The canonical text "…:SSZ" sorts after "…:SS.fffZ" of the same second. */
		sql_addf(sql, d, "DATE_FORMAT(%I, '%%Y-%%m-%%d %%H:%%i:%%s'), MICROSECOND(%I) = 0, MICROSECOND(%I)",
			 c->name, c->name, c->name);
		return;
	case KEY_ORDER_CANONICAL:
		if (c->type == VT_DATE) {
			sql_addf(sql, d, "%I", c->name);
			return;
		}
		break;
	case KEY_ORDER_TEXT:
		break;
	}
	if (k == K_BIT) {
		sql_addf(sql, d, "%I", c->name);
		return;
	}
	buf_adds(sql, "CAST(CONVERT(");
	select_expr(sql, c, k);
	buf_adds(sql, " USING utf8mb4) AS BINARY)");
}

/* A whole-row key's column, or its parameter(s): spatial values are
 * written through ST_GeomFromText. */
static void my_key_operand(struct buf *sql, const struct sql_dialect *d, const struct column *c, size_t n)
{
	if (n)
		my_param_sql(sql, c);
	else
		sql_addf(sql, d, "%I", c->name);
}

/* The connection does not set CLIENT_MULTI_STATEMENTS: the server runs
 * one statement of what it is sent, or refuses the text. */
static int my_one_statement(const char *sql)
{
	(void)sql;
	return 1;
}

const struct sql_dialect my_dialect = {
	'`', " <=> ", 0, my_placeholder, my_order_key, my_key_operand,
	"mysql", my_column_type, AUTOINC_KEYWORD, 0, 0, 1, 1,
	1, 0, NULL, "SET NAMES utf8mb4;\n" MY_SESSION_SQL ";\n", "START TRANSACTION;\n",
	ALTER_MODIFY,
	0,
	my_one_statement,
};

static void cursor_free(struct db_cursor *c)
{
	if (c->spool)
		fclose(c->spool);
	buf_release(&c->spool_row);
	buf_release(&c->tmp);
	free(c->vals);
	free(c->lens);
	free(c->kind);
	free(c->width);
	free(c);
}

/* Every remaining row of res into f: per value its length (UINT64_MAX for
 * NULL) and its bytes. */
static void spool_rows(MYSQL_RES *res, FILE *f)
{
	unsigned n = mysql_num_fields(res);
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *lens = mysql_fetch_lengths(res);
		for (unsigned i = 0; i < n; i++) {
			uint64_t len = row[i] ? (uint64_t)lens[i] : UINT64_MAX;
			fwrite(&len, sizeof(len), 1, f);
			if (row[i])
				fwrite(row[i], 1, lens[i], f);
		}
	}
}

int my_suspend_stream(struct db *db)
{
	struct my_db *m = db->impl;
	struct db_cursor *c = m->streaming;
	if (!c)
		return 0;
	m->streaming = NULL;
	FILE *f = tmpfile();
	if (!f) {
		mysql_free_result(c->res);
		c->res = NULL;
		c->lost = 1;
		return db_error(db, "cannot create a temporary file to hold a result: %s", strerror(errno));
	}
	spool_rows(c->res, f);
	int bad = mysql_errno(m->h) != 0;
	if (bad)
		my_server_error(db, "reading rows");
	mysql_free_result(c->res);
	c->res = NULL;
	if (!bad && (fflush(f) || ferror(f) || fseek(f, 0, SEEK_SET))) {
		db_error(db, "cannot write a temporary file: %s", strerror(errno));
		bad = 1;
	}
	if (bad) {
		fclose(f);
		c->lost = 1;
		return -1;
	}
	c->spool = f;
	return 0;
}

static struct db_cursor *cursor_new(struct db *db, const struct table *t)
{
	struct db_cursor *c = xcalloc(1, sizeof(*c));
	c->db = db;
	c->t = t;
	c->kind = xcalloc(t->ncols + 1, sizeof(*c->kind));
	c->width = xcalloc(t->ncols + 1, sizeof(*c->width));
	c->vals = xcalloc(t->ncols + 1, sizeof(*c->vals));
	c->lens = xcalloc(t->ncols + 1, sizeof(*c->lens));
	buf_init(&c->spool_row);
	buf_init(&c->tmp);
	for (size_t i = 0; i < t->ncols; i++) {
		c->kind[i] = my_column_kind(&t->cols[i]);
		c->width[i] = my_paren_number(t->cols[i].native, 1);
	}
	return c;
}

/* Key columns whose canonical text MySQL reads back as the same value when
 * written as a literal: numbers, text, enums, bytes and dates. */
static int key_literal_ok(const struct column *c)
{
	enum kind k = my_column_kind(c);
	switch (c->type) {
	case VT_INT:
	case VT_DECIMAL:
	case VT_TEXT:
	case VT_ENUM:
	case VT_BYTES:
		return k == K_RAW;
	case VT_DATE:
		return k == K_DATE;
	default:
		return 0;
	}
}

static void key_literal(struct db *db, struct buf *sql, const struct column *c, const char *s, size_t n)
{
	struct my_db *m = db->impl;
	if (c->type == VT_BYTES) {
		buf_adds(sql, "X'");
		buf_add_hex(sql, s, n);
		buf_addch(sql, '\'');
		return;
	}
	/* A number goes bare: quoted, MySQL would compare it as a double. */
	int bare = (c->type == VT_INT || c->type == VT_DECIMAL) && n && strspn(s, "-0123456789.") == n;
	if (bare) {
		buf_add(sql, s, n);
		return;
	}
	buf_grow(sql, 2 * n + 3);
	buf_addch(sql, '\'');
	sql->len += mysql_real_escape_string(m->h, sql->buf + sql->len, s, (unsigned long)n);
	buf_addch(sql, '\'');
}

/* (k1, k2) IN ((v, v), ...): an index range per key; a collation that
 * folds case or trailing spaces may add rows, which the caller's key
 * comparison passes over. */
static void where_keys(struct db *db, struct buf *sql, const struct table *t, const struct row *const *keys,
		       size_t n)
{
	sql_addf(sql, &my_dialect, " WHERE (%K) IN (", t);
	for (size_t r = 0; r < n; r++) {
		buf_adds(sql, r ? ",(" : "(");
		for (size_t k = 0; k < t->nkey; k++) {
			size_t i = t->key[k];
			if (k)
				buf_addch(sql, ',');
			if (keys[r]->v[i].state != V_SET)
				buf_adds(sql, "NULL");
			else
				key_literal(db, sql, &t->cols[i], row_ptr(keys[r], i), keys[r]->v[i].len);
		}
		buf_addch(sql, ')');
	}
	buf_addch(sql, ')');
}

/* SELECT cols FROM t [WHERE key IN keys | WHERE (cond)] ORDER BY key [FOR UPDATE]. */
static void scan_sql(struct db *db, struct buf *sql, const struct db_cursor *c, const struct row *const *keys,
		     size_t n, const char *cond)
{
	const struct table *t = c->t;
	struct my_db *m = db->impl;
	buf_adds(sql, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		if (i)
			buf_addch(sql, ',');
		select_expr(sql, &t->cols[i], c->kind[i]);
	}
	if (t->unmade) { /* dbapply --sql: a table not made yet has no rows */
		buf_adds(sql, " FROM DUAL WHERE FALSE");
		return;
	}
	sql_addf(sql, &my_dialect, " FROM %T", t->name);
	if (keys)
		where_keys(db, sql, t, keys, n);
	else if (cond)
		sql_addf(sql, &my_dialect, " WHERE (%s)", cond);
	if (t->nkey)
		sql_addf(sql, &my_dialect, " ORDER BY %O", t);
	/* In a write transaction, lock what is read: InnoDB's UPDATE writes the
	 * latest row, not the one read, so another session's change made
	 * between the two would be written over unseen.  It waits instead. */
	if (m->writing)
		buf_adds(sql, " FOR UPDATE");
}

/* Rows of t in key order: those of the n keys if keys is not NULL, else
 * those for which cond holds if it is not NULL. */
static int scan_where(struct db *db, const struct table *t, const struct row *const *keys, size_t n,
		      const char *cond, struct db_cursor **out)
{
	struct my_db *m = db->impl;
	if (my_suspend_stream(db) < 0 || my_flush_batch(db) < 0)
		return -1;
	struct db_cursor *c = cursor_new(db, t);
	struct buf *sql = &m->sql;
	buf_reset(sql);
	scan_sql(db, sql, c, keys, n, cond);
	if (mysql_real_query(m->h, sql->buf, sql->len) || !(c->res = mysql_use_result(m->h))) {
		my_server_error(db, NULL);
		cursor_free(c);
		return -1;
	}
	if (mysql_num_fields(c->res) != t->ncols) {
		mysql_free_result(c->res);
		cursor_free(c);
		return db_error(db, "the server returned another number of columns than asked for");
	}
	m->streaming = c;
	*out = c;
	return 0;
}

int my_scan_open(struct db *db, const struct table *t, struct db_cursor **out)
{
	return scan_where(db, t, NULL, 0, NULL, out);
}

int my_scan_where_open(struct db *db, const struct table *t, const char *where, struct db_cursor **out)
{
	return scan_where(db, t, NULL, 0, where, out);
}

int my_scan_keys_open(struct db *db, const struct table *t, const struct row *const *keys, size_t n,
		      struct db_cursor **out)
{
	if (!table_key_all(t, key_literal_ok))
		return 0;
	if (!n)
		return 1;
	return scan_where(db, t, keys, n, NULL, out) < 0 ? -1 : 1;
}

/* Read the next spooled row into c->vals/c->lens: 1, 0 at the end, -1. */
static int spool_next(struct db_cursor *c)
{
	size_t n = c->t->ncols;
	uint64_t len;
	buf_reset(&c->spool_row);
	size_t *offs = xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		if (fread(&len, sizeof(len), 1, c->spool) != 1) {
			free(offs);
			if (i == 0 && feof(c->spool))
				return 0;
			return db_error(c->db, "cannot read back a temporary file");
		}
		if (len == UINT64_MAX) {
			offs[i] = SIZE_MAX;
			c->lens[i] = 0;
			continue;
		}
		offs[i] = c->spool_row.len;
		buf_grow(&c->spool_row, (size_t)len + 1);
		if (len && fread(c->spool_row.buf + c->spool_row.len, 1, (size_t)len, c->spool) != len) {
			free(offs);
			return db_error(c->db, "cannot read back a temporary file");
		}
		c->spool_row.len += (size_t)len;
		c->spool_row.buf[c->spool_row.len++] = '\0';
		c->lens[i] = (unsigned long)len;
	}
	for (size_t i = 0; i < n; i++)
		c->vals[i] = offs[i] == SIZE_MAX ? NULL : c->spool_row.buf + offs[i];
	free(offs);
	return 1;
}

/* The key of the current row as "col=value, ..." for messages: from the
 * server's text, since the row is not converted yet. */
static void describe_key(struct buf *out, const struct db_cursor *c)
{
	const struct table *t = c->t;
	for (size_t k = 0; k < t->nkey && k < 4; k++) {
		size_t i = t->key[k];
		buf_addf(out, "%s%s=", k ? ", " : "", t->cols[i].name);
		if (!c->vals[i])
			buf_adds(out, "NULL");
		else if (t->cols[i].type == VT_BYTES)
			buf_addf(out, "(%lu bytes)", c->lens[i]);
		else
			buf_addf(out, "%.40s", c->vals[i]);
	}
	if (t->nkey > 4)
		buf_adds(out, ", ...");
}

static int bad_value(struct db_cursor *c, size_t i, const char *why)
{
	const struct column *col = &c->t->cols[i];
	struct buf key = BUF_INIT;
	describe_key(&key, c);
	db_error(c->db, "table \"%s\", column \"%s\" (%s), row with %s: %s", c->t->name, col->name, col->native,
		 key.buf, why);
	buf_release(&key);
	return -1;
}

/* Remove trailing zeros of a fraction of seconds ("10:00:00.500000" -> "10:00:00.5"). */
static size_t trim_fraction(const char *p, size_t n)
{
	const char *dot = memchr(p, '.', n);
	if (!dot)
		return n;
	while (n > (size_t)(dot - p) + 1 && p[n - 1] == '0')
		n--;
	if (n == (size_t)(dot - p) + 1)
		n--;
	return n;
}

static int is_zero_date(const char *p, size_t n)
{
	return n >= 10 && ((p[5] == '0' && p[6] == '0') || (p[8] == '0' && p[9] == '0'));
}

/* A DATE, DATETIME or TIMESTAMP: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.f]",
 * the same with "Z". */
static int convert_date(struct db_cursor *c, size_t i, struct row *row, const char *p, size_t n)
{
	char tmp[128];
	if (is_zero_date(p, n)) {
		if (c->db->opts.zero_date_null) {
			row_set_null(row, i);
			return 0;
		}
		snprintf(tmp, sizeof(tmp), "zero date '%.30s' (--zero-date=null reads it as NULL)", p);
		return bad_value(c, i, tmp);
	}
	if (c->kind[i] == K_DATE) {
		row_set(row, i, p, n);
		return 0;
	}
	n = trim_fraction(p, n);
	if (n + 2 > sizeof(tmp))
		return bad_value(c, i, "unexpected date and time text");
	memcpy(tmp, p, n);
	if (n > 10 && tmp[10] == ' ')
		tmp[10] = 'T';
	if (c->kind[i] == K_TIMESTAMP)
		tmp[n++] = 'Z';
	row_set(row, i, tmp, n);
	return 0;
}

/* Big-endian bytes -> the bits as binary digits, as wide as the column. */
static void convert_bit(struct db_cursor *c, size_t i, struct row *row, const char *p, size_t n)
{
	char tmp[64];
	unsigned w = c->width[i] ? c->width[i] : 1;
	if (w > 64)
		w = 64;
	uint64_t v = 0;
	for (size_t b = 0; b < n; b++)
		v = (v << 8) | (unsigned char)p[b];
	for (unsigned b = 0; b < w; b++)
		tmp[b] = (v >> (w - 1 - b)) & 1 ? '1' : '0';
	row_set(row, i, tmp, w);
}

static int convert_value(struct db_cursor *c, size_t i, struct row *row)
{
	const char *p = c->vals[i];
	size_t n = c->lens[i];
	char tmp[128];
	if (!p) {
		row_set_null(row, i);
		return 0;
	}
	switch (c->kind[i]) {
	case K_RAW:
	case K_GEOM:
		row_set(row, i, p, n);
		return 0;
	case K_BOOL:
		if (n == 1 && (p[0] == '0' || p[0] == '1')) {
			row_set(row, i, p[0] == '1' ? "true" : "false", p[0] == '1' ? 4 : 5);
			return 0;
		}
		snprintf(tmp, sizeof(tmp), "the value %.20s of a tinyint(1) column is not a boolean (0 or 1)", p);
		return bad_value(c, i, tmp);
	case K_YEAR:
		snprintf(tmp, sizeof(tmp), "%ld", strtol(p, NULL, 10));
		row_set(row, i, tmp, strlen(tmp));
		return 0;
	case K_FLOAT:
		buf_reset(&c->tmp);
		value_format_double(&c->tmp, strtod(p, NULL));
		row_set(row, i, c->tmp.buf, c->tmp.len);
		return 0;
	case K_TIME:
		row_set(row, i, p, trim_fraction(p, n));
		return 0;
	case K_DATE:
	case K_DATETIME:
	case K_TIMESTAMP:
		return convert_date(c, i, row, p, n);
	case K_BIT:
		convert_bit(c, i, row, p, n);
		return 0;
	}
	return 0;
}

/* The next row of the streaming result into c->vals/c->lens: 1, 0 at the
 * end, -1. */
static int result_next(struct db_cursor *c)
{
	struct my_db *m = c->db->impl;
	MYSQL_ROW r = mysql_fetch_row(c->res);
	if (!r) {
		int bad = mysql_errno(m->h) != 0;
		if (bad)
			my_server_error(c->db, "reading rows");
		mysql_free_result(c->res);
		c->res = NULL;
		if (m->streaming == c)
			m->streaming = NULL;
		return bad ? -1 : 0;
	}
	unsigned long *lens = mysql_fetch_lengths(c->res);
	for (size_t i = 0; i < c->t->ncols; i++) {
		c->vals[i] = r[i];
		c->lens[i] = lens[i];
	}
	return 1;
}

int my_scan_next(struct db_cursor *c, struct row *row)
{
	int got = 0;
	if (c->res)
		got = result_next(c);
	else if (c->spool)
		got = spool_next(c);
	else if (c->lost)
		return db_error(c->db, "table \"%s\": the rest of the rows could not be kept for reading",
				c->t->name);
	if (got <= 0)
		return got;
	row_clear(row);
	for (size_t i = 0; i < c->t->ncols; i++)
		if (convert_value(c, i, row) < 0)
			return -1;
	return 1;
}

void my_scan_close(struct db_cursor *c)
{
	if (!c)
		return;
	struct my_db *m = c->db->impl;
	if (c->res)
		mysql_free_result(c->res); /* reads and drops the rest of the result */
	if (m->streaming == c)
		m->streaming = NULL;
	cursor_free(c);
}
