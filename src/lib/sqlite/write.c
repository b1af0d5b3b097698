/* sqlite/write: rows written through cached statements with values bound
 * as the storage class their column's type calls for; the AUTOINCREMENT
 * counter moved past the rows; triggers dropped and created again, since
 * SQLite cannot switch one off. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite.h"

enum sq_affinity sq_affinity_of(const char *decl)
{
	if (strcasestr(decl, "INT"))
		return AFF_INTEGER;
	if (strcasestr(decl, "CHAR") || strcasestr(decl, "CLOB") || strcasestr(decl, "TEXT"))
		return AFF_TEXT;
	if (strcasestr(decl, "BLOB") || !*decl)
		return AFF_BLOB;
	if (strcasestr(decl, "REAL") || strcasestr(decl, "FLOA") || strcasestr(decl, "DOUB"))
		return AFF_REAL;
	return AFF_NUMERIC;
}

/* Whether p reads as a number literal, and how many significant digits it
 * has (leading zeros and a fraction's trailing zeros not counted). */
static int number_literal(const char *p, size_t n, int *integer, size_t *digits)
{
	size_t i = p[0] == '-' || p[0] == '+', lead = 1, zeros = 0, any = 0, point = 0;
	*digits = 0;
	*integer = 1;
	for (; i < n; i++) {
		if (p[i] == '.' && !point) {
			point = 1;
			*integer = 0;
			continue;
		}
		if (p[i] == 'e' || p[i] == 'E') {
			*integer = 0;
			return any && i + 1 < n; /* the mantissa's digits are what counts */
		}
		if (p[i] < '0' || p[i] > '9')
			return 0;
		any = 1;
		if (p[i] == '0' && lead)
			continue;
		lead = 0;
		if (p[i] == '0') {
			zeros++;
		} else {
			*digits += zeros + 1;
			zeros = 0;
		}
	}
	if (!point)
		*digits += zeros; /* an integer's trailing zeros are digits of it */
	return any;
}

/* Text a column with a numeric affinity would store as a number, changed:
 * an integer beyond 64 bits or in another spelling ("0010", "+5"), or a
 * number of more than the 15 significant digits SQLite keeps of a REAL,
 * or (for a type that is not a number) any text that is not an integer
 * spelled as SQLite spells it.  NULL when SQLite keeps it. */
static const char *numeric_affinity_loss(const struct column *col, const char *p, size_t n)
{
	int integer;
	size_t digits;
	int64_t v;
	if (sq_affinity_of(col->native) == AFF_TEXT || sq_affinity_of(col->native) == AFF_BLOB ||
	    !number_literal(p, n, &integer, &digits))
		return NULL;
	if (integer && parse_int64(p, INT64_MIN, INT64_MAX, &v) == 0) {
		char canon[24];
		snprintf(canon, sizeof(canon), "%lld", (long long)v);
		if (!strcmp(canon, p) || col->type == VT_DECIMAL)
			return NULL;
		return "it would store it as an integer, spelled otherwise";
	}
	if (col->type != VT_DECIMAL)
		return "it would store this text as a number";
	return digits > 15 ? "it keeps 15 significant digits of a number that is not a 64-bit integer"
			   : NULL;
}

/* A value as SQLite is to store it: the storage class its column's type
 * calls for, and the bytes (p, n: the row's, or tmp's when changed). */
struct sq_value {
	enum { SQV_NULL, SQV_INT, SQV_DOUBLE, SQV_TEXT, SQV_BLOB } kind;
	int64_t i;
	double d;
	const char *p;
	size_t n;
};

/* Value i of r (of t) as SQLite stores it; -1 (db->err) when it cannot
 * keep it exactly.  Written by bind_value, and as a literal by sq_literal. */
static int value_of(struct db *db, const struct table *t, const struct row *r, size_t i, struct buf *tmp,
		    struct sq_value *v)
{
	const struct column *col = &t->cols[i];
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	memset(v, 0, sizeof(*v));
	if (r->v[i].state != V_SET) {
		v->kind = SQV_NULL;
		return 0;
	}
	/* What goes in as text (not ints, floats, bools or bytes, bound as such). */
	int as_text = col->type != VT_INT && col->type != VT_FLOAT && col->type != VT_BOOL &&
		      col->type != VT_BYTES;
	const char *loss = as_text ? numeric_affinity_loss(col, p, n) : NULL;
	if (loss)
		return db_error(db, "column \"%s\" (%s): SQLite cannot keep %.60s exactly: %s (declare the "
				"column TEXT to keep it as it is)", col->name, col->native, p, loss);
	v->kind = SQV_TEXT;
	v->p = p;
	v->n = n;
	switch (col->type) {
	case VT_INT:
		v->kind = SQV_INT;
		if (!strcmp(p, "true") || !strcmp(p, "false")) {
			v->i = p[0] == 't';
			break;
		}
		if (parse_int64(p, INT64_MIN, INT64_MAX, &v->i) < 0)
			return db_error(db, "column \"%s\" (%s): SQLite cannot keep %.60s exactly: it is not an "
					"integer of 64 bits", col->name, col->native, p);
		break;
	case VT_BOOL:
		if (strcmp(p, "true") && strcmp(p, "false") && strcmp(p, "1") && strcmp(p, "0"))
			return db_error(db, "column \"%s\": the value %.40s does not fit a bool column",
					col->name, p);
		v->kind = SQV_INT;
		v->i = !strcmp(p, "true") || !strcmp(p, "1");
		break;
	case VT_FLOAT:
		v->kind = SQV_DOUBLE;
		v->d = strtod(p, NULL);
		if (isnan(v->d))
			return db_error(db, "column \"%s\": SQLite cannot store NaN (it would become NULL)",
					col->name);
		if (v->d == 0 && signbit(v->d))
			return db_error(db, "column \"%s\": SQLite cannot store -0 (it would become 0)",
					col->name);
		break;
	case VT_BYTES:
		v->kind = SQV_BLOB;
		break;
	case VT_TIMESTAMP:
	case VT_TIMESTAMPTZ:
		if (sq_is_timestamp_text(p, n) && p[10] == 'T') {
			/* SQLite's own date functions write a space between date and
			 * time, and no zone: a DATETIME holds UTC as it is (Django,
			 * Rails), so the "Z" of a value with a zone goes. */
			if (n > 19 && p[n - 1] == 'Z')
				n--;
			else if (n > 19 + 6 && (!memcmp(p + n - 6, "+00:00", 6) || !memcmp(p + n - 6, "-00:00", 6)))
				n -= 6;
			buf_reset(tmp);
			buf_add(tmp, p, n);
			tmp->buf[10] = ' ';
			/* ... and a fraction of six digits (Python's and Ruby's
			 * isoformat), since they compare times as text. */
			const char *dot = memchr(p, '.', n);
			for (size_t f = dot ? n - (size_t)(dot - p) - 1 : 6; f < 6; f++)
				buf_addch(tmp, '0');
			v->p = tmp->buf;
			v->n = tmp->len;
			break;
		}
		/* fall through */
	default:
		if (col->type == VT_TIME && n > 9 && n < 15 && p[8] == '.') {
			/* a time's fraction too has six digits, as Python's and
			 * Ruby's isoformat() write it: Django compares times as text */
			buf_reset(tmp);
			buf_add(tmp, p, n);
			for (size_t f = n - 9; f < 6; f++)
				buf_addch(tmp, '0');
			v->p = tmp->buf;
			v->n = tmp->len;
		}
	}
	return 0;
}

/* Bind value i of r (of t) to parameter pos of st. */
static int bind_value(struct db *db, sqlite3_stmt *st, int pos, const struct table *t,
		      const struct row *r, size_t i)
{
	struct sqlite_db *s = db->impl;
	struct sq_value v;
	int rc;
	if (value_of(db, t, r, i, &s->tmp, &v) < 0)
		return -1;
	switch (v.kind) {
	case SQV_NULL: rc = sqlite3_bind_null(st, pos); break;
	case SQV_INT: rc = sqlite3_bind_int64(st, pos, v.i); break;
	case SQV_DOUBLE: rc = sqlite3_bind_double(st, pos, v.d); break;
	case SQV_BLOB: rc = sqlite3_bind_blob(st, pos, v.p, (int)v.n, SQLITE_TRANSIENT); break;
	default: rc = sqlite3_bind_text(st, pos, v.p, (int)v.n, SQLITE_TRANSIENT); break;
	}
	return rc == SQLITE_OK ? 0 : sq_fail(db, "bind");
}

/* Whether SQLite reads the literal text as exactly the double d: its
 * parser rounds some 17-digit numbers otherwise. */
static int reads_back(struct db *db, const char *text, double d)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st;
	int same = 0;
	buf_addf(&sql, "SELECT %s", text);
	if (sq_prepare(db, sql.buf, &st) == 0) {
		same = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_FLOAT &&
		       !memcmp(&(double){ sqlite3_column_double(st, 0) }, &d, sizeof(d));
		sqlite3_finalize(st);
	}
	buf_release(&sql);
	return same;
}

/* A double as SQLite reads it exactly: its shortest text when SQLite
 * reads that back, else its 53-bit integer times a power of two, each
 * factor an exact integer. */
static void double_literal(struct db *db, struct buf *out, double d)
{
	if (isinf(d)) {
		buf_adds(out, d < 0 ? "-9e999" : "9e999");
		return;
	}
	struct buf text = BUF_INIT;
	value_format_double(&text, d);
	if (strcmp(text.buf, "NaN") && reads_back(db, text.buf, d)) {
		buf_add(out, text.buf, text.len);
		buf_release(&text);
		return;
	}
	buf_release(&text);
	int e;
	double m = frexp(d, &e);
	int64_t mant = (int64_t)ldexp(m, 53);
	e -= 53;
	buf_addf(out, "(CAST(%lld AS REAL)", (long long)mant);
	for (; e > 0; e -= e > 62 ? 62 : e)
		buf_addf(out, " * %lld", (long long)(1LL << (e > 62 ? 62 : e)));
	for (; e < 0; e += e < -62 ? 62 : -e)
		buf_addf(out, " / %lld", (long long)(1LL << (e < -62 ? 62 : -e)));
	buf_addch(out, ')');
}

int sq_literal(struct db *db, const struct table *t, const struct row *r, size_t i, struct buf *out)
{
	struct sqlite_db *s = db->impl;
	struct sq_value v;
	if (value_of(db, t, r, i, &s->tmp, &v) < 0)
		return -1;
	switch (v.kind) {
	case SQV_NULL: sql_literal(out, &sq_dialect, LIT_NULL, NULL, 0); break;
	case SQV_INT: buf_addf(out, "%lld", (long long)v.i); break;
	case SQV_DOUBLE: double_literal(db, out, v.d); break;
	case SQV_BLOB: sql_literal(out, &sq_dialect, LIT_BYTES, v.p, v.n); break;
	default: sql_literal(out, &sq_dialect, LIT_TEXT, v.p, v.n); break;
	}
	return 0;
}

int sq_bind_key(struct db *db, sqlite3_stmt *st, int *pos, const struct table *t, const struct row *r)
{
	for (size_t k = 0; k < t->nkey; k++)
		if (bind_value(db, st, ++*pos, t, r, t->key[k]) < 0)
			return -1;
	return 0;
}

/* The statement of change c, prepared, with its values bound. */
static sqlite3_stmt *write_stmt(struct db *db, const struct table *t, const struct change *c)
{
	struct sqlite_db *s = db->impl;
	const struct row *r = &c->row;
	sqlite3_stmt *st;
	size_t n = 0;
	int pos = 0, insert = c->type == REC_ROW || c->type == REC_INSERT;
	buf_reset(&s->sql);
	if (insert)
		sql_insert(&s->sql, &sq_dialect, t);
	else if (c->type == REC_UPDATE)
		sql_update(&s->sql, &sq_dialect, t, r);
	else if (t->key_kind != KEY_ROW)
		sql_delete(&s->sql, &sq_dialect, t);
	else /* a whole-row key may match duplicates: delete one of them */
		sql_addf(&s->sql, &sq_dialect,
			 "DELETE FROM %T WHERE rowid IN (SELECT rowid FROM %T WHERE %W LIMIT 1)",
			 t->name, t->name, t, &n);
	if (!(st = sq_cached(db, s->sql.buf)))
		return NULL;
	/* The parameters in the order the statement names them (sql.h). */
	for (size_t i = 0; i < t->ncols; i++) {
		int param = insert ? sql_writable(t, i) : c->type == REC_UPDATE && sql_sets(t, r, i);
		if (param && bind_value(db, st, ++pos, t, r, i) < 0)
			return NULL;
	}
	if (!insert && sq_bind_key(db, st, &pos, t, r) < 0)
		return NULL;
	return st;
}

int sq_write(struct db *db, const struct table *t, const struct change *c)
{
	struct sqlite_db *s = db->impl;
	if (c->type != REC_ROW && c->type != REC_INSERT && c->type != REC_UPDATE &&
	    c->type != REC_DELETE)
		return 0;
	/* (before the statement is bound: the check's notes share its cache) */
	if (sq_fk_before_write(db, t, c) < 0)
		return -1;
	sqlite3_stmt *st = write_stmt(db, t, c);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(db, "");
	if (c->type != REC_INSERT && c->type != REC_ROW && sqlite3_changes(s->h) == 0)
		return db_no_row(db);
	return sq_fk_after_write(db, t, c);
}

/* Run sql once with ?1 bound to name: SQLite's result code of the step, or
 * -1 when it cannot be prepared. */
static int step_named(struct db *db, const char *sql, const char *name)
{
	sqlite3_stmt *st;
	if (sq_prepare(db, sql, &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc;
}

int sq_reset_sequence(struct db *db, const struct table *t)
{
	struct sqlite_db *s = db->impl;
	int rc = step_named(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 "
			    "AND sql LIKE '%AUTOINCREMENT%' "
			    "AND EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence')",
			    t->name);
	if (rc != SQLITE_ROW)
		return rc < 0 ? -1 : 0; /* not an AUTOINCREMENT table: no counter to move */
	/* AUTOINCREMENT never reuses an id below sqlite_sequence.seq: keep it above every row. */
	rc = step_named(db, "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, 0 "
			"WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)", t->name);
	if (rc != SQLITE_DONE)
		return rc < 0 ? -1 : sq_fail(db, "sqlite_sequence");
	buf_reset(&s->sql);
	sql_addf(&s->sql, &sq_dialect, "UPDATE sqlite_sequence SET seq = (SELECT max(rowid) FROM %T) "
		 "WHERE name = ?1 AND seq < (SELECT max(rowid) FROM %T)", t->name, t->name);
	rc = step_named(db, s->sql.buf, t->name);
	if (rc != SQLITE_DONE)
		return rc < 0 ? -1 : sq_fail(db, "sqlite_sequence");
	return 0;
}

/* dbapply --sql: what sq_reset_sequence runs, for an AUTOINCREMENT table. */
int sq_sequence_sql(struct db *db, const struct table *t, struct buf *out)
{
	int rc = step_named(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 "
			    "AND sql LIKE '%AUTOINCREMENT%' "
			    "AND EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence')",
			    t->name);
	if (rc != SQLITE_ROW)
		return rc < 0 ? -1 : 0;
	struct buf name = BUF_INIT;
	sql_literal(&name, &sq_dialect, LIT_TEXT, t->name, strlen(t->name));
	sql_addf(out, &sq_dialect, "INSERT INTO sqlite_sequence (name, seq) SELECT %s, 0 "
		 "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s);\n", name.buf, name.buf);
	sql_addf(out, &sq_dialect, "UPDATE sqlite_sequence SET seq = (SELECT max(rowid) FROM %T) "
		 "WHERE name = %s AND seq < (SELECT max(rowid) FROM %T);\n", t->name, name.buf, t->name);
	buf_release(&name);
	return 0;
}

/* SQLite cannot switch a trigger off, but its schema changes are
 * transactional: drop the triggers now and create them again from their
 * own text before the commit (a rollback restores them anyway). */
int sq_set_triggers(struct db *db, const struct table *t, int on)
{
	struct sqlite_db *s = db->impl;
	if (on)
		return sql_later_run(&s->triggers_back, db, t->name, sq_exec);
	sqlite3_stmt *st;
	if (sq_prepare(db, "SELECT name, sql FROM main.sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 "
		       "ORDER BY name", &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_TRANSIENT);
	int rc, ret = 0;
	struct buf drops = BUF_INIT; /* every DROP TRIGGER, run once the reading is done */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		sql_later_add(&s->triggers_back, t->name, (const char *)sqlite3_column_text(st, 1));
		sql_addf(&drops, &sq_dialect, "DROP TRIGGER main.%I;", name);
	}
	if (rc != SQLITE_DONE)
		ret = sq_fail(db, "reading the triggers");
	sqlite3_finalize(st);
	if (ret == 0 && drops.len)
		ret = sq_exec(db, drops.buf);
	buf_release(&drops);
	return ret;
}
