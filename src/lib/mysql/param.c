/* mysql/param: statement parameters (a row's canonical text as the types
 * the server stores exactly) and the prepared statements they are bound to. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mysql_int.h"

void my_stmt_release(void *ctx, void *stmt)
{
	(void)ctx;
	mysql_stmt_close(stmt);
}

/* The prepared statement of sql, from the cache or prepared now. */
static MYSQL_STMT *cached(struct db *db, const char *sql)
{
	struct my_db *m = db->impl;
	MYSQL_STMT *st = stmt_cache_find(&m->stmts, sql);
	if (st)
		return st;
	st = mysql_stmt_init(m->h);
	if (!st) {
		my_server_error(db, "mysql_stmt_init");
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
		db_error(db, "%s", mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	stmt_cache_put(&m->stmts, sql, st);
	return st;
}

size_t my_param_sql(struct buf *sql, const struct column *c)
{
	if (my_column_kind(c) == K_GEOM) {
		buf_adds(sql, "ST_GeomFromText(?, ?)");
		return 2;
	}
	buf_addch(sql, '?');
	return 1;
}

static int is_intlike(const struct column *c)
{
	char w[32];
	my_type_word(c->native, w, sizeof(w));
	return c->type == VT_BOOL || my_word_in(w, my_int_words) || !strcmp(w, "year") || !strcmp(w, "bit");
}

static struct param *param_new(struct my_db *m, enum enum_field_types type)
{
	ALLOC_GROW(m->params, m->nparams + 1, m->aparams);
	struct param *pa = &m->params[m->nparams++];
	memset(pa, 0, sizeof(*pa));
	pa->type = type;
	return pa;
}

/* Bytes p[0..n) as a parameter of type type, kept in the arena. */
static struct param *param_bytes(struct my_db *m, enum enum_field_types type, const char *p, size_t n)
{
	struct param *pa = param_new(m, type);
	pa->off = m->arena.len;
	pa->len = (unsigned long)n;
	buf_add(&m->arena, p, n);
	return pa;
}

static int bad_param(struct db *db, const struct column *col, const char *p, const char *what)
{
	return db_error(db, "column \"%s\" (%s): \"%.40s\" is not %s", col->name, col->native, p, what);
}

/* A BIT value: binary digits (as read) or a plain number. */
static int encode_bit(struct db *db, const struct column *col, const char *p, size_t n)
{
	uint64_t v = 0;
	if (n > 0 && n <= 64 && strspn(p, "01") == n) {
		for (size_t j = 0; j < n; j++)
			v = (v << 1) | (uint64_t)(p[j] - '0');
	} else {
		char *end;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (!n || *end || errno || *p == '-')
			return bad_param(db, col, p, "a bit string");
	}
	param_new(db->impl, MYSQL_TYPE_LONGLONG)->ull = v;
	return 0;
}

/* Whether p starts as well-known text does: ST_GeomFromText makes NULL of
 * anything else (PostgreSQL's point "(1,2)"), which would be written unseen. */
static int wkt_like(const char *p, size_t n)
{
	static const char *const words[] = { "POINT", "LINESTRING", "POLYGON", "MULTIPOINT",
		"MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION", NULL };
	for (const char *const *w = words; *w; w++) {
		size_t l = strlen(*w);
		if (n > l && !strncasecmp(p, *w, l) && (p[l] == '(' || p[l] == ' '))
			return 1;
	}
	return 0;
}

/* A spatial value "[SRID=n;]WKT": the text, then the SRID. */
static int encode_geom(struct db *db, const struct column *col, const char *p, size_t n)
{
	unsigned long long srid = 0;
	if (n > 5 && !strncasecmp(p, "SRID=", 5)) {
		char *end;
		srid = strtoull(p + 5, &end, 10);
		if (*end != ';')
			return bad_param(db, col, p, "[SRID=n;]WKT");
		n -= (size_t)(end + 1 - p);
		p = end + 1;
	}
	if (!wkt_like(p, n))
		return db_error(db, "column \"%s\" (%s): \"%.40s\" is not well-known text (MySQL would store "
				"NULL in its place)", col->name, col->native, p);
	param_bytes(db->impl, MYSQL_TYPE_STRING, p, n);
	param_new(db->impl, MYSQL_TYPE_LONGLONG)->ull = srid;
	return 0;
}

/* A single-precision column: sent as a float, so that 1.1 written or
 * compared (whole-row keys) is the float 1.1f, not the double. */
static int encode_float(struct db *db, const struct column *col, const char *p)
{
	char *end;
	float f = strtof(p, &end);
	if (*end)
		return bad_param(db, col, p, "a number");
	param_new(db->impl, MYSQL_TYPE_FLOAT)->f = f;
	return 0;
}

/* Text, bytes and the rest; a date and time "YYYY-MM-DDTHH:MM:SS[.f]" with
 * an optional "Z" or "+00:00" (UTC) as MySQL writes it. */
static void encode_text(struct my_db *m, const struct column *col, enum kind kd, const char *p, size_t n)
{
	enum enum_field_types type = col->type == VT_BYTES ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
	if ((kd == K_DATETIME || kd == K_TIMESTAMP) && n >= 19 && p[10] == 'T') {
		if (p[n - 1] == 'Z')
			n--;
		else if (n >= 25 && (!memcmp(p + n - 6, "+00:00", 6) || !memcmp(p + n - 6, "-00:00", 6)))
			n -= 6;
		else if (n >= 22 && !memcmp(p + n - 3, "+00", 3))
			n -= 3;
		struct param *pa = param_bytes(m, type, p, n);
		m->arena.buf[pa->off + 10] = ' ';
		return;
	}
	param_bytes(m, type, p, n);
}

/* A value MySQL would store changed: -0 (it keeps 0), or fraction digits
 * other than 0 beyond what the column keeps.  NULL when it keeps it. */
static const char *mysql_loss(const struct column *col, enum kind kd, const char *p, size_t n)
{
	if (col->type == VT_FLOAT && strtod(p, NULL) == 0 && p[0] == '-')
		return "MySQL cannot store -0 (it keeps 0)";
	int decimal = col->type == VT_DECIMAL;
	if (!decimal && kd != K_TIME && kd != K_DATETIME && kd != K_TIMESTAMP)
		return NULL;
	const char *dot = memchr(p, '.', n);
	if (!dot)
		return NULL;
	/* what is beyond the digits the type keeps MySQL rounds, even in strict mode */
	unsigned keep = (unsigned)native_scale(col->native, decimal, 0);
	for (const char *q = dot + 1 + keep; q < p + n && *q >= '0' && *q <= '9'; q++)
		if (*q != '0')
			return decimal ? "more fraction digits than the column's scale keeps (MySQL would round it)"
				       : "more digits of a second than the column keeps (MySQL would round it)";
	return NULL;
}

int my_encode_param(struct db *db, const struct column *col, enum kind kd, const struct row *r, size_t i)
{
	struct my_db *m = db->impl;
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	if (r->v[i].state != V_SET) {
		param_new(m, MYSQL_TYPE_NULL);
		if (kd == K_GEOM)
			param_new(m, MYSQL_TYPE_NULL);
		return 0;
	}
	if ((!strcmp(p, "true") || !strcmp(p, "false")) && is_intlike(col)) {
		p = p[0] == 't' ? "1" : "0";
		n = 1;
	}
	/* YEAR reads the string '0' as 2000; the year 0000 is '0000'. */
	if (kd == K_YEAR && n == 1 && p[0] == '0') {
		p = "0000";
		n = 4;
	}
	const char *loss = mysql_loss(col, kd, p, n);
	if (loss)
		return db_error(db, "column \"%s\" (%s): %.60s: %s", col->name, col->native, p, loss);
	if (kd == K_BIT)
		return encode_bit(db, col, p, n);
	if (kd == K_GEOM)
		return encode_geom(db, col, p, n);
	if (col->type == VT_FLOAT && (!strcmp(p, "NaN") || !strcmp(p, "Infinity") || !strcmp(p, "-Infinity")))
		return db_error(db, "column \"%s\" (%s): MySQL cannot store %s", col->name, col->native, p);
	if (kd == K_FLOAT && !strncasecmp(col->native, "float", 5))
		return encode_float(db, col, p);
	encode_text(m, col, kd, p, n);
	return 0;
}

/* One parameter as a literal: what the server makes of it is what it
 * makes of the parameter (a string is converted by the column's type). */
static void param_literal(const struct my_db *m, const struct param *pa, struct buf *out)
{
	switch (pa->type) {
	case MYSQL_TYPE_NULL: sql_literal(out, &my_dialect, LIT_NULL, NULL, 0); break;
	case MYSQL_TYPE_LONGLONG: buf_addf(out, "%llu", pa->ull); break;
	/* nine digits tell every float apart; the server rounds the double back to it */
	case MYSQL_TYPE_FLOAT: buf_addf(out, "%.9g", (double)pa->f); break;
	case MYSQL_TYPE_BLOB: sql_literal(out, &my_dialect, LIT_BYTES, m->arena.buf + pa->off, pa->len); break;
	default: sql_literal(out, &my_dialect, LIT_TEXT, m->arena.buf + pa->off, pa->len); break;
	}
}

int my_literal(struct db *db, const struct table *t, const struct row *r, size_t i, struct buf *out)
{
	struct my_db *m = db->impl;
	const struct column *c = &t->cols[i];
	enum kind kd = my_column_kind(c);
	/* encoded after the parameters of a batch that may be waiting, then
	 * taken back off */
	size_t from = m->nparams, arena = m->arena.len;
	int rc = my_encode_param(db, c, kd, r, i);
	if (rc == 0) {
		size_t start = out->len;
		my_param_sql(out, c);
		char *sql = xstrdup(out->buf + start);
		out->len = start;
		out->buf[start] = '\0';
		/* the parameters in the places my_param_sql gives them */
		size_t k = from;
		for (const char *q = sql; *q; q++)
			if (*q == '?' && k < m->nparams)
				param_literal(m, &m->params[k++], out);
			else
				buf_addch(out, *q);
		free(sql);
	}
	m->nparams = from;
	m->arena.len = arena;
	if (m->arena.alloc)
		m->arena.buf[arena] = '\0';
	return rc;
}

MYSQL_STMT *my_execute(struct db *db, const char *sql, size_t from, size_t n)
{
	struct my_db *m = db->impl;
	MYSQL_STMT *st = cached(db, sql);
	if (!st)
		return NULL;
	if (mysql_stmt_param_count(st) != n) {
		db_error(db, "internal error: parameter count mismatch");
		return NULL;
	}
	ALLOC_GROW(m->bind, n + 1, m->abind);
	for (size_t k = 0; k < n; k++) {
		struct param *pa = &m->params[from + k];
		MYSQL_BIND *b = &m->bind[k];
		memset(b, 0, sizeof(*b));
		b->buffer_type = pa->type;
		if (pa->type == MYSQL_TYPE_FLOAT) {
			b->buffer = &pa->f;
		} else if (pa->type == MYSQL_TYPE_LONGLONG) {
			b->buffer = &pa->ull;
			b->is_unsigned = 1;
		} else if (pa->type != MYSQL_TYPE_NULL) {
			b->buffer = m->arena.buf + pa->off;
			b->buffer_length = pa->len;
			b->length = &pa->len;
		}
	}
	if ((n && mysql_stmt_bind_param(st, m->bind)) || mysql_stmt_execute(st)) {
		db_error(db, "%s", mysql_stmt_error(st));
		return NULL;
	}
	return st;
}
