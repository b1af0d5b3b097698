/* sqlite/read: scans in key order, and values read as canonical text from
 * whatever storage class a row holds: SQLite stores a value by what it is,
 * whatever its column's declared type. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite.h"

static void sqlite_placeholder(struct buf *sql, size_t n)
{
	(void)n;
	buf_addch(sql, '?');
}

/* Keys ordered as value_cmp orders their values as read_value reads them:
 * SQLite puts numbers before text before blobs whatever a column's type, so
 * every key column but a number is cast to one storage class. */
static void sqlite_order_key(struct buf *sql, const struct sql_dialect *d, const struct column *c,
			     enum key_order order)
{
	switch (order) {
	case KEY_ORDER_NUMBER:
		sql_addf(sql, d, "%I", c->name);
		break;
	case KEY_ORDER_BYTES:
		sql_addf(sql, d, "CAST(%I AS BLOB)", c->name);
		break;
	case KEY_ORDER_TIMESTAMP:
		/* read with a 'T' between date and time, so sorted that way
		 * (a BC timestamp as it is: read_text) */
		sql_addf(sql, d, "CASE WHEN substr(%I, 11, 1) = ' ' AND substr(%I, -3) <> ' BC' "
			 "THEN substr(%I, 1, 10) || 'T' || substr(%I, 12) "
			 "ELSE CAST(%I AS TEXT) END COLLATE BINARY",
			 c->name, c->name, c->name, c->name, c->name);
		break;
	case KEY_ORDER_TEXT:
	case KEY_ORDER_CANONICAL:
		sql_addf(sql, d, "CAST(%I AS TEXT) COLLATE BINARY", c->name);
		break;
	}
}

/* SQLite has one schema here (main): a "." is part of a table's name. */
/* A trigger's CREATE TRIGGER ... BEGIN ...; END holds semicolons: it is
 * one statement when no text before its end is already a whole one. */
static int sq_one_statement(const char *sql)
{
	size_t n = strlen(sql);
	char *copy = xmalloc(n + 2);
	int one = 1;
	for (size_t i = 0; i < n && one; i++) {
		if (sql[i] != ';' || !sql[i + 1 + strspn(sql + i + 1, " \t\r\n")])
			continue;
		memcpy(copy, sql, i + 1);
		copy[i + 1] = '\0';
		one = !sqlite3_complete(copy);
	}
	memcpy(copy, sql, n);
	copy[n] = ';';
	copy[n + 1] = '\0';
	one = one && sqlite3_complete(copy);
	free(copy);
	return one;
}

const struct sql_dialect sq_dialect = {
	'"', " IS ", 0, sqlite_placeholder, sqlite_order_key, NULL,
	"sqlite", sq_column_type, AUTOINC_ROWID, 1, 0, 0, 0,
	0, 0, "rowid",
	/* foreign keys are checked, at the commit (sq_begin_write checks them
	 * itself with foreign_key_check; a script has only SQLite's own) */
	"PRAGMA foreign_keys = ON;\n",
	"BEGIN IMMEDIATE;\nPRAGMA defer_foreign_keys = ON;\n",
	ALTER_NONE,
	0,
	sq_one_statement,
};

/* A cursor over the rows sql selects. */
static int open_cursor(struct db *db, const struct table *t, const char *sql, struct db_cursor **out)
{
	struct db_cursor *c = xcalloc(1, sizeof(*c));
	buf_init(&c->number);
	if (sq_prepare(db, sql, &c->stmt) < 0) {
		free(c);
		return -1;
	}
	c->db = db;
	c->t = t;
	*out = c;
	return 0;
}

int sq_scan_open(struct db *db, const struct table *t, struct db_cursor **out)
{
	struct sqlite_db *s = db->impl;
	buf_reset(&s->sql);
	sql_select(&s->sql, &sq_dialect, t);
	if (open_cursor(db, t, s->sql.buf, out) < 0)
		return -1;
	if (sq_fk_scan_begin(db, *out) < 0) {
		sq_scan_close(*out);
		return -1;
	}
	return 0;
}

int sq_scan_where_open(struct db *db, const struct table *t, const char *where,
		       struct db_cursor **out)
{
	struct sqlite_db *s = db->impl;
	buf_reset(&s->sql);
	/* The condition in parentheses: an OR in it stays inside. */
	sql_addf(&s->sql, &sq_dialect, "SELECT %C FROM %T WHERE (%s)", t, t->name, where);
	return open_cursor(db, t, s->sql.buf, out);
}

int sq_is_timestamp_text(const char *p, size_t n)
{
	return n >= 19 && isdigit((unsigned char)p[0]) && p[4] == '-' && p[7] == '-' &&
	       (p[10] == ' ' || p[10] == 'T') && p[13] == ':' && p[16] == ':';
}

/* Value v (column i, of type type, held as storage class kind) of an int
 * or bool column: 1 read, 0 it does not fit. */
static int read_integer(sqlite3_value *v, size_t i, enum vtype type, int kind, struct row *row)
{
	char tmp[32];
	if (kind == SQLITE_INTEGER) {
		long long n = sqlite3_value_int64(v);
		if (type == VT_INT)
			row_set(row, i, tmp, (size_t)format_i64(tmp, n));
		else if (n == 0 || n == 1)
			row_set(row, i, n ? "true" : "false", n ? 4 : 5);
		else
			return 0;
		return 1;
	}
	if (kind == SQLITE_FLOAT && type == VT_INT) {
		/* a whole number stored as a real, e.g. by arithmetic */
		double d = sqlite3_value_double(v);
		if (d == floor(d) && fabs(d) < 9.2e18) {
			snprintf(tmp, sizeof(tmp), "%lld", (long long)d);
			row_set(row, i, tmp, strlen(tmp));
			return 1;
		}
	}
	return 0;
}

/* The same for a float or decimal column; a real is spelt in c's number
 * buffer (one buffer a scan, not one a value: a malloc and a free per
 * value were 4% of a dump's instructions). */
static int read_number(struct db_cursor *c, sqlite3_value *v, size_t i, enum vtype type, int kind,
		       struct row *row)
{
	char tmp[32];
	if (kind == SQLITE_INTEGER) {
		row_set(row, i, tmp, (size_t)format_i64(tmp, sqlite3_value_int64(v)));
		return 1;
	}
	if (kind == SQLITE_FLOAT) {
		buf_reset(&c->number);
		value_format_double(&c->number, sqlite3_value_double(v));
		row_set(row, i, c->number.buf, c->number.len);
		return 1;
	}
	if (kind == SQLITE_TEXT && type == VT_DECIMAL && is_decimal_text((const char *)sqlite3_value_text(v))) {
		row_set(row, i, (const char *)sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v));
		return 1;
	}
	return 0;
}

/* Any other column: its text (a blob's bytes for bytes and unknown types),
 * a timestamp with the 'T' of the canonical text.  A BC timestamp stays as
 * it is, as PostgreSQL's reader leaves it ("2000-01-01 00:00:00 BC"), so
 * that one written from there reads back the same. */
static void read_text(sqlite3_value *v, size_t i, enum vtype type, int kind, struct row *row)
{
	if (type == VT_BYTES || type == VT_OTHER) {
		const void *p = kind == SQLITE_BLOB ? sqlite3_value_blob(v) : (const void *)sqlite3_value_text(v);
		row_set(row, i, p, (size_t)sqlite3_value_bytes(v));
		return;
	}
	const char *p = (const char *)sqlite3_value_text(v);
	size_t n = (size_t)sqlite3_value_bytes(v);
	row_set(row, i, p, n);
	if ((type == VT_TIMESTAMP || type == VT_TIMESTAMPTZ) && sq_is_timestamp_text(p, n) &&
	    memcmp(p + n - 3, " BC", 3))
		row->data.buf[row->v[i].off + 10] = 'T';
}

/* Convert column i of the current row to canonical text of the column's
 * type.  Read through its sqlite3_value: each sqlite3_column_ call enters
 * and leaves the connection's mutex (a call even where it has none) and
 * checks for a failed malloc, three times a value.  The value is
 * "unprotected", which is safe where one thread at a time uses the
 * connection, as here (ahead.h). */
static int read_value(struct db_cursor *c, size_t i, struct row *row)
{
	sqlite3_value *v = sqlite3_column_value(c->stmt, (int)i);
	const struct column *col = &c->t->cols[i];
	int kind = sqlite3_value_type(v), fits = 1;
	if (kind == SQLITE_NULL) {
		row_set_null(row, i);
		return 0;
	}
	switch (col->type) {
	case VT_INT:
	case VT_BOOL:
		fits = read_integer(v, i, col->type, kind, row);
		break;
	case VT_FLOAT:
	case VT_DECIMAL:
		fits = read_number(c, v, i, col->type, kind, row);
		break;
	default:
		read_text(v, i, col->type, kind, row);
	}
	if (fits)
		return 0;
	return db_error(c->db, "table \"%s\", column \"%s\" (%s): the value %.40s does not fit its type %s",
			c->t->name, col->name, col->native, sqlite3_value_text(v), vtype_name(col->type));
}

/* Keys looked up one by one are integer keys only: an integer compares by
 * value whatever its column's affinity, while text keys would compare by
 * the column's collation (NOCASE...), not value_cmp's bytes. */
static int probe_column(const struct column *c)
{
	return c->type == VT_INT;
}

/* The target is in this process: a primary-key probe costs microseconds,
 * so a change stream reads only its own rows, one probe per key. */
int sq_scan_keys_open(struct db *db, const struct table *t, const struct row *const *keys, size_t n,
		      struct db_cursor **out)
{
	struct sqlite_db *s = db->impl;
	if (!table_key_all(t, probe_column))
		return 0;
	if (!n)
		return 1;
	size_t np = 0;
	buf_reset(&s->sql);
	sql_addf(&s->sql, &sq_dialect, "SELECT %C FROM %T WHERE %W", t, t->name, t, &np);
	if (open_cursor(db, t, s->sql.buf, out) < 0)
		return -1;
	(*out)->keys = keys;
	(*out)->nkeys = n;
	return 1;
}

/* Step to the next row: of the scan, or of the next key that has one. */
static int step(struct db_cursor *c)
{
	if (!c->keys)
		return sqlite3_step(c->stmt);
	while (c->next < c->nkeys) {
		const struct row *key = c->keys[c->next++];
		sqlite3_reset(c->stmt);
		for (size_t k = 0; k < c->t->nkey; k++) {
			size_t i = c->t->key[k];
			int64_t v = 0;
			if (key->v[i].state == V_SET &&
			    parse_int64(row_ptr(key, i), INT64_MIN, INT64_MAX, &v) < 0)
				return SQLITE_RANGE; /* SQLite's integers are 64-bit: no such row can be */
			int rc = key->v[i].state == V_SET ? sqlite3_bind_int64(c->stmt, (int)k + 1, v)
							  : sqlite3_bind_null(c->stmt, (int)k + 1);
			if (rc != SQLITE_OK)
				return rc;
		}
		int rc = sqlite3_step(c->stmt);
		if (rc != SQLITE_DONE)
			return rc;
	}
	return SQLITE_DONE;
}

int sq_scan_next(struct db_cursor *c, struct row *row)
{
	int rc = step(c);
	if (rc == SQLITE_DONE) {
		if (c->nwatch)
			sq_fk_scan_end(c);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return sq_fail(c->db, "reading rows");
	row_clear(row);
	for (size_t i = 0; i < c->t->ncols; i++)
		if (read_value(c, i, row) < 0)
			return -1;
	if (c->nwatch)
		sq_fk_scan_row(c);
	return 1;
}

void sq_scan_close(struct db_cursor *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->stmt);
	buf_release(&c->number);
	free(c->watch);
	free(c);
}
