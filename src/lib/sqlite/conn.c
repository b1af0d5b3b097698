/* db_sqlite: the SQLite backend.  SQLite's declared types are mapped by its
 * own affinity rules refined by name (DATE, BOOLEAN, DECIMAL...), and values
 * are converted from whatever storage class a row actually holds. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"

#define STMT_CACHE 32

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}


struct cached_stmt {
	char *sql;
	sqlite3_stmt *stmt;
};

struct sqlite_db {
	sqlite3 *h;
	char **fk_before;      /* foreign-key violations the target had before we wrote */
	size_t nfk_before;
	struct cached_stmt cache[STMT_CACHE];
	size_t ncache, next_evict;
	struct buf sql, tmp;
	/* The CREATE TRIGGER of each trigger set_triggers dropped. */
	struct sql_later triggers_back;
};

struct db_cursor {
	struct db *db;
	sqlite3_stmt *stmt;
	const struct table *t;
};

static void sqlite_placeholder(struct buf *sql, size_t n)
{
	(void)n;
	buf_addch(sql, '?');
}

/* Keys ordered as value_cmp orders their values as this backend reads them:
 * SQLite puts numbers before text before blobs whatever a column's type. */
static void sqlite_order_key(struct buf *sql, const struct sql_dialect *d, const struct column *c,
			     enum key_order order)
{
	(void)order;
	switch (c->type) {
	case VT_INT:
	case VT_FLOAT:
	case VT_DECIMAL:
	case VT_BOOL:
		sql_ident(sql, d, c->name);
		break;
	case VT_BYTES:
		buf_adds(sql, "CAST(");
		sql_ident(sql, d, c->name);
		buf_adds(sql, " AS BLOB)");
		break;
	case VT_TIMESTAMP:
	case VT_TIMESTAMPTZ:
		/* read with a 'T' between date and time, so sorted that way */
		buf_adds(sql, "CASE WHEN substr(");
		sql_ident(sql, d, c->name);
		buf_adds(sql, ", 11, 1) = ' ' THEN substr(");
		sql_ident(sql, d, c->name);
		buf_adds(sql, ", 1, 10) || 'T' || substr(");
		sql_ident(sql, d, c->name);
		buf_adds(sql, ", 12) ELSE CAST(");
		sql_ident(sql, d, c->name);
		buf_adds(sql, " AS TEXT) END COLLATE BINARY");
		break;
	default:
		buf_adds(sql, "CAST(");
		sql_ident(sql, d, c->name);
		buf_adds(sql, " AS TEXT) COLLATE BINARY");
	}
}

/* SQLite has one schema here (main): a "." is part of a table's name. */
static const struct sql_dialect sqlite_dialect = { '"', " IS ", 0, sqlite_placeholder, sqlite_order_key, NULL };

static int fail(struct db *db, const char *what)
{
	struct sqlite_db *s = db->impl;
	buf_reset(&db->err);
	buf_addf(&db->err, "%s%s%s", what, *what ? ": " : "", s && s->h ? sqlite3_errmsg(s->h) : "");
	return -1;
}

static int exec(struct db *db, const char *sql)
{
	struct sqlite_db *s = db->impl;
	char *msg = NULL;
	if (sqlite3_exec(s->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		buf_reset(&db->err);
		buf_addf(&db->err, "%s", msg ? msg : sqlite3_errmsg(s->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int sq_open(struct db *db, const char *path)
{
	struct sqlite_db *s = xcalloc(1, sizeof(*s));
	buf_init(&s->sql);
	buf_init(&s->tmp);
	db->impl = s;
	if (access(path, F_OK)) {
		buf_reset(&db->err);
		buf_addf(&db->err, "no such SQLite database file");
		return -1;
	}
	if (sqlite3_open_v2(path, &s->h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return fail(db, "cannot open");
	sqlite3_busy_timeout(s->h, 10000);
	/* Reading the schema proves this is a database, not some other file. */
	if (exec(db, "SELECT count(*) FROM sqlite_schema") < 0)
		return -1;
	return 0;
}

static void sq_close(struct db *db)
{
	struct sqlite_db *s = db->impl;
	for (size_t i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].stmt);
		free(s->cache[i].sql);
	}
	free_strings(s->fk_before, s->nfk_before);
	sql_later_clear(&s->triggers_back);
	if (s->h)
		sqlite3_close(s->h);
	buf_release(&s->sql);
	buf_release(&s->tmp);
	free(s);
	db->impl = NULL;
}

/* Neutral type of a declared SQLite column type. */
static enum vtype sqlite_type(const char *decl)
{
	char up[128];
	size_t n = 0;
	for (; decl[n] && n < sizeof(up) - 1; n++)
		up[n] = (char)toupper((unsigned char)decl[n]);
	up[n] = '\0';
	if (strstr(up, "BOOL"))
		return VT_BOOL;
	if (strstr(up, "INT") && !strstr(up, "POINT") && !strstr(up, "INTERVAL"))
		return VT_INT;
	if (strstr(up, "UUID"))
		return VT_UUID;
	if (strstr(up, "JSON"))
		return VT_JSON;
	if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
		return VT_TEXT;
	if (strstr(up, "BLOB") || strstr(up, "BINARY"))
		return VT_BYTES;
	if (!*up)
		return VT_OTHER;
	if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
		return VT_FLOAT;
	if (strstr(up, "DATETIME") || strstr(up, "TIMESTAMP"))
		return VT_TIMESTAMP;
	if (strstr(up, "DATE"))
		return VT_DATE;
	if (strstr(up, "TIME"))
		return VT_TIME;
	if (strstr(up, "NUMERIC") || strstr(up, "DECIMAL") || strstr(up, "MONEY"))
		return VT_DECIMAL;
	return VT_OTHER;
}

static int prepare(struct db *db, const char *sql, sqlite3_stmt **out)
{
	struct sqlite_db *s = db->impl;
	if (sqlite3_prepare_v2(s->h, sql, -1, out, NULL) != SQLITE_OK)
		return fail(db, sql);
	return 0;
}

/* A prepared statement for sql, reused across calls (reset, bindings cleared). */
static sqlite3_stmt *cached(struct db *db, const char *sql)
{
	struct sqlite_db *s = db->impl;
	for (size_t i = 0; i < s->ncache; i++)
		if (!strcmp(s->cache[i].sql, sql)) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			return s->cache[i].stmt;
		}
	sqlite3_stmt *st;
	if (prepare(db, sql, &st) < 0)
		return NULL;
	size_t slot = s->ncache < STMT_CACHE ? s->ncache++ : s->next_evict++ % STMT_CACHE;
	if (s->cache[slot].stmt) {
		sqlite3_finalize(s->cache[slot].stmt);
		free(s->cache[slot].sql);
	}
	s->cache[slot].sql = xstrdup(sql);
	s->cache[slot].stmt = st;
	return st;
}

static void pragma_sql(struct buf *sql, const char *pragma, const char *table)
{
	buf_reset(sql);
	buf_addf(sql, "PRAGMA %s(", pragma);
	sql_ident(sql, &sqlite_dialect, table);
	buf_addch(sql, ')');
}

static int load_columns(struct db *db, struct table *t, int autoincrement)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st;
	pragma_sql(&s->sql, "table_xinfo", t->name);
	if (prepare(db, s->sql.buf, &st) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *decl = (const char *)sqlite3_column_text(st, 2);
		int notnull = sqlite3_column_int(st, 3), pk = sqlite3_column_int(st, 5);
		int hidden = sqlite3_column_int(st, 6);
		if (hidden == 1)
			continue;
		struct column *c = table_add_column(t, name, sqlite_type(decl ? decl : ""),
						    decl ? decl : "", !notnull && !pk);
		c->generated = hidden == 2 || hidden == 3;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(db, "reading columns");
	/* Primary key columns in key order (pk holds the position, from 1). */
	pragma_sql(&s->sql, "table_xinfo", t->name);
	if (prepare(db, s->sql.buf, &st) < 0)
		return -1;
	t->key = xcalloc(t->ncols + 1, sizeof(*t->key));
	size_t idx = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_int(st, 6) == 1)
			continue;
		int pk = sqlite3_column_int(st, 5);
		if (pk > 0 && (size_t)pk <= t->ncols) {
			t->key[pk - 1] = idx;
			t->nkey++;
		}
		idx++;
	}
	sqlite3_finalize(st);
	if (t->nkey == 1) {
		struct column *c = &t->cols[t->key[0]];
		/* INTEGER PRIMARY KEY is the rowid: SQLite numbers new rows itself. */
		if (!strcasecmp(c->native, "INTEGER") || autoincrement)
			c->autoinc = 1;
	}
	return 0;
}

/* Tables without a primary key: the first unique index (by name) whose
 * columns are all NOT NULL, else the whole row. */
static int choose_unique_key(struct db *db, struct table *t)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st, *info;
	pragma_sql(&s->sql, "index_list", t->name);
	if (prepare(db, s->sql.buf, &st) < 0)
		return -1;
	char *best = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *iname = (const char *)sqlite3_column_text(st, 1);
		if (!sqlite3_column_int(st, 2) || sqlite3_column_int(st, 4))
			continue; /* not unique, or partial */
		pragma_sql(&s->tmp, "index_info", iname);
		if (prepare(db, s->tmp.buf, &info) < 0) {
			sqlite3_finalize(st);
			free(best);
			return -1;
		}
		int ok = 1, any = 0;
		while (sqlite3_step(info) == SQLITE_ROW) {
			const char *cn = (const char *)sqlite3_column_text(info, 2);
			long ci = cn ? table_column_index(t, cn) : -1;
			if (ci < 0 || t->cols[ci].nullable)
				ok = 0;
			any = 1;
		}
		sqlite3_finalize(info);
		if (ok && any && (!best || strcmp(iname, best) < 0)) {
			free(best);
			best = xstrdup(iname);
		}
	}
	sqlite3_finalize(st);
	if (!best) {
		table_key_whole_row(t);
		return 0;
	}
	pragma_sql(&s->tmp, "index_info", best);
	free(best);
	if (prepare(db, s->tmp.buf, &info) < 0)
		return -1;
	while (sqlite3_step(info) == SQLITE_ROW)
		t->key[t->nkey++] = (size_t)table_column_index(t, (const char *)sqlite3_column_text(info, 2));
	sqlite3_finalize(info);
	t->key_kind = KEY_UNIQUE;
	return 0;
}

static int load_refs(struct db *db, struct table *t)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st;
	pragma_sql(&s->sql, "foreign_key_list", t->name);
	if (prepare(db, s->sql.buf, &st) < 0)
		return -1;
	int last_id = -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int id = sqlite3_column_int(st, 0);
		const char *rt = (const char *)sqlite3_column_text(st, 2);
		const char *from = (const char *)sqlite3_column_text(st, 3);
		const char *to = (const char *)sqlite3_column_text(st, 4);
		if (id != last_id) {
			t->refs = xrealloc(t->refs, (t->nrefs + 1) * sizeof(*t->refs));
			struct ref *r = &t->refs[t->nrefs++];
			memset(r, 0, sizeof(*r));
			r->table = xstrdup(rt);
			r->deferrable = 1; /* defer_foreign_keys defers every SQLite foreign key */
			last_id = id;
		}
		struct ref *r = &t->refs[t->nrefs - 1];
		r->cols = xrealloc(r->cols, (r->ncols + 1) * sizeof(char *));
		r->to = xrealloc(r->to, (r->ncols + 1) * sizeof(char *));
		r->cols[r->ncols] = xstrdup(from);
		r->to[r->ncols] = to ? xstrdup(to) : NULL; /* NULL: the parent's primary key */
		r->ncols++;
	}
	sqlite3_finalize(st);
	return 0;
}

/* References written without target columns point at the parent's key. */
static void resolve_implicit_refs(struct schema *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		struct table *t = sc->tables[i];
		for (size_t j = 0; j < t->nrefs; j++) {
			struct ref *r = &t->refs[j];
			const struct table *p = schema_find(sc, r->table);
			for (size_t k = 0; k < r->ncols; k++)
				if (!r->to[k])
					r->to[k] = xstrdup(p && k < p->nkey ? p->cols[p->key[k]].name : r->cols[k]);
		}
	}
}

static int sq_load_schema(struct db *db, struct schema *out)
{
	sqlite3_stmt *st;
	if (prepare(db, "SELECT name, sql, "
			"EXISTS (SELECT 1 FROM sqlite_schema g WHERE g.type = 'trigger' AND g.tbl_name = m.name) "
			"FROM sqlite_schema m WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
			"ORDER BY name", &st) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *sql = (const char *)sqlite3_column_text(st, 1);
		if (sql && !strncasecmp(sql, "CREATE VIRTUAL", 14)) {
			warning("%s: skipping virtual table \"%s\"", db->shown_url, name);
			continue;
		}
		struct table *t = table_new(name);
		t->has_triggers = sqlite3_column_int(st, 2);
		int autoincrement = sql && strcasestr(sql, "AUTOINCREMENT");
		if (load_columns(db, t, autoincrement) < 0 || (!t->nkey && choose_unique_key(db, t) < 0) ||
		    load_refs(db, t) < 0) {
			table_free(t);
			sqlite3_finalize(st);
			return -1;
		}
		schema_add(out, t);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(db, "reading the schema");
	resolve_implicit_refs(out);
	return 0;
}

static int sq_begin_read(struct db *db)
{
	/* A deferred transaction takes its snapshot at the first read and holds it. */
	return exec(db, "BEGIN DEFERRED");
}

/* The violations foreign_key_check reports now, one "table rowid parent fkid"
 * string each, sorted. */
static int fk_violations(struct db *db, char ***out, size_t *n)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	*out = NULL;
	*n = 0;
	if (prepare(db, "PRAGMA foreign_key_check", &st) < 0)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct buf b = BUF_INIT;
		buf_addf(&b, "%s\t%lld\t%s\t%d", sqlite3_column_text(st, 0),
			 (long long)sqlite3_column_int64(st, 1), sqlite3_column_text(st, 2),
			 sqlite3_column_int(st, 3));
		ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = buf_detach(&b);
	}
	sqlite3_finalize(st);
	if (*n)
		qsort(*out, *n, sizeof(char *), strcmp_ptr);
	return 0;
}

static int sq_begin_write(struct db *db)
{
	struct sqlite_db *s = db->impl;
	if (exec(db, "PRAGMA foreign_keys = ON") < 0 || exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	sql_later_clear(&s->triggers_back);
	/* Violations that were there before are not ours to report. */
	free_strings(s->fk_before, s->nfk_before);
	if (fk_violations(db, &s->fk_before, &s->nfk_before) < 0)
		return -1;
	/* Foreign keys are checked at commit, so cycles and forward references load. */
	return exec(db, "PRAGMA defer_foreign_keys = ON");
}

static int sq_commit(struct db *db)
{
	return exec(db, "COMMIT");
}

static int sq_rollback(struct db *db)
{
	struct sqlite_db *s = db->impl;
	if (sqlite3_get_autocommit(s->h))
		return 0;
	return exec(db, "ROLLBACK");
}

static int sq_check_constraints(struct db *db)
{
	struct sqlite_db *s = db->impl;
	char **now;
	size_t n, bad = 0;
	if (fk_violations(db, &now, &n) < 0)
		return -1;
	buf_reset(&db->err);
	for (size_t i = 0; i < n; i++) {
		if (s->nfk_before && bsearch(&now[i], s->fk_before, s->nfk_before, sizeof(char *), strcmp_ptr))
			continue;
		if (bad++ < 5) {
			char table[256], parent[256];
			long long rowid;
			if (sscanf(now[i], "%255[^\t]\t%lld\t%255[^\t]", table, &rowid, parent) == 3)
				buf_addf(&db->err, "%sforeign key violation: a row of \"%s\" (rowid %lld) references a missing row of \"%s\"",
					 bad > 1 ? "; " : "", table, rowid, parent);
		}
	}
	if (bad > 5)
		buf_addf(&db->err, "; and %zu more", bad - 5);
	free_strings(now, n);
	return bad ? -1 : 0;
}

static int sq_scan_open(struct db *db, const struct table *t, struct db_cursor **out)
{
	struct sqlite_db *s = db->impl;
	struct db_cursor *c = xcalloc(1, sizeof(*c));
	buf_reset(&s->sql);
	sql_select(&s->sql, &sqlite_dialect, t);
	if (prepare(db, s->sql.buf, &c->stmt) < 0) {
		free(c);
		return -1;
	}
	c->db = db;
	c->t = t;
	*out = c;
	return 0;
}

static int is_timestamp_text(const char *p, size_t n)
{
	return n >= 19 && isdigit((unsigned char)p[0]) && p[4] == '-' && p[7] == '-' &&
	       (p[10] == ' ' || p[10] == 'T') && p[13] == ':' && p[16] == ':';
}

/* Convert column i of the current row to canonical text of the column's type. */
static int read_value(struct db_cursor *c, size_t i, struct row *row)
{
	sqlite3_stmt *st = c->stmt;
	const struct column *col = &c->t->cols[i];
	int kind = sqlite3_column_type(st, (int)i);
	char tmp[32];
	struct buf *err = &c->db->err;
	if (kind == SQLITE_NULL) {
		row_set_null(row, i);
		return 0;
	}
	switch (col->type) {
	case VT_INT:
	case VT_BOOL:
		if (kind == SQLITE_INTEGER) {
			long long v = sqlite3_column_int64(st, (int)i);
			if (col->type == VT_BOOL) {
				if (v != 0 && v != 1)
					break;
				row_set(row, i, v ? "true" : "false", v ? 4 : 5);
			} else {
				row_set(row, i, tmp, (size_t)format_i64(tmp, v));
			}
			return 0;
		}
		if (kind == SQLITE_FLOAT && col->type == VT_INT) {
			double d = sqlite3_column_double(st, (int)i);
			if (d == floor(d) && fabs(d) < 9.2e18) {
				snprintf(tmp, sizeof(tmp), "%lld", (long long)d);
				row_set(row, i, tmp, strlen(tmp));
				return 0;
			}
		}
		break;
	case VT_FLOAT:
	case VT_DECIMAL:
		if (kind == SQLITE_INTEGER) {
			row_set(row, i, tmp, (size_t)format_i64(tmp, sqlite3_column_int64(st, (int)i)));
			return 0;
		}
		if (kind == SQLITE_FLOAT) {
			struct buf b = BUF_INIT;
			value_format_double(&b, sqlite3_column_double(st, (int)i));
			row_set(row, i, b.buf, b.len);
			buf_release(&b);
			return 0;
		}
		if (kind == SQLITE_TEXT && col->type == VT_DECIMAL &&
		    is_decimal_text((const char *)sqlite3_column_text(st, (int)i))) {
			row_set(row, i, (const char *)sqlite3_column_text(st, (int)i),
				(size_t)sqlite3_column_bytes(st, (int)i));
			return 0;
		}
		break;
	case VT_BYTES:
	case VT_OTHER: {
		const void *p = kind == SQLITE_BLOB ? sqlite3_column_blob(st, (int)i)
						    : (const void *)sqlite3_column_text(st, (int)i);
		row_set(row, i, p, (size_t)sqlite3_column_bytes(st, (int)i));
		return 0;
	}
	default: {
		const char *p = (const char *)sqlite3_column_text(st, (int)i);
		size_t n = (size_t)sqlite3_column_bytes(st, (int)i);
		row_set(row, i, p, n);
		if ((col->type == VT_TIMESTAMP || col->type == VT_TIMESTAMPTZ) && is_timestamp_text(p, n))
			row->data.buf[row->v[i].off + 10] = 'T';
		return 0;
	}
	}
	buf_reset(err);
	buf_addf(err, "table \"%s\", column \"%s\" (%s): the value %.40s does not fit its type %s",
		 c->t->name, col->name, col->native, sqlite3_column_text(st, (int)i), vtype_name(col->type));
	return -1;
}

static int sq_scan_next(struct db_cursor *c, struct row *row)
{
	int rc = sqlite3_step(c->stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return fail(c->db, "reading rows");
	row_clear(row);
	for (size_t i = 0; i < c->t->ncols; i++)
		if (read_value(c, i, row) < 0)
			return -1;
	return 1;
}

static void sq_scan_close(struct db_cursor *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->stmt);
	free(c);
}

static int bind_value(struct db *db, sqlite3_stmt *st, int pos, const struct table *t,
		      const struct row *r, size_t i)
{
	struct sqlite_db *s = db->impl;
	const struct column *col = &t->cols[i];
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	int rc;
	if (r->v[i].state != V_SET)
		return sqlite3_bind_null(st, pos) == SQLITE_OK ? 0 : fail(db, "bind");
	switch (col->type) {
	case VT_INT:
		if (!strcmp(p, "true") || !strcmp(p, "false"))
			rc = sqlite3_bind_int(st, pos, p[0] == 't');
		else
			rc = sqlite3_bind_int64(st, pos, strtoll(p, NULL, 10));
		break;
	case VT_BOOL:
		if (strcmp(p, "true") && strcmp(p, "false") && strcmp(p, "1") && strcmp(p, "0")) {
			buf_reset(&db->err);
			buf_addf(&db->err, "column \"%s\": the value %.40s does not fit a bool column", col->name, p);
			return -1;
		}
		rc = sqlite3_bind_int(st, pos, !strcmp(p, "true") || !strcmp(p, "1"));
		break;
	case VT_FLOAT: {
		double d = strtod(p, NULL);
		if (isnan(d)) {
			buf_reset(&db->err);
			buf_addf(&db->err, "column \"%s\": SQLite cannot store NaN (it would become NULL)", col->name);
			return -1;
		}
		rc = sqlite3_bind_double(st, pos, d);
		break;
	}
	case VT_BYTES:
		rc = sqlite3_bind_blob(st, pos, p, (int)n, SQLITE_TRANSIENT);
		break;
	case VT_TIMESTAMP:
	case VT_TIMESTAMPTZ:
		if (is_timestamp_text(p, n) && p[10] == 'T') {
			/* SQLite's own date functions write a space between date and time. */
			buf_reset(&s->tmp);
			buf_add(&s->tmp, p, n);
			s->tmp.buf[10] = ' ';
			rc = sqlite3_bind_text(st, pos, s->tmp.buf, (int)n, SQLITE_TRANSIENT);
			break;
		}
		/* fall through */
	default:
		rc = sqlite3_bind_text(st, pos, p, (int)n, SQLITE_TRANSIENT);
	}
	return rc == SQLITE_OK ? 0 : fail(db, "bind");
}

static int sq_write(struct db *db, const struct table *t, const struct change *c)
{
	struct sqlite_db *s = db->impl;
	buf_reset(&s->sql);
	int pos = 0;
	sqlite3_stmt *st;
	switch (c->type) {
	case REC_ROW:
	case REC_INSERT:
		sql_insert(&s->sql, &sqlite_dialect, t);
		if (!(st = cached(db, s->sql.buf)))
			return -1;
		for (size_t i = 0; i < t->ncols; i++)
			if (sql_writable(t, i) && bind_value(db, st, ++pos, t, &c->row, i) < 0)
				return -1;
		break;
	case REC_UPDATE:
		sql_update(&s->sql, &sqlite_dialect, t, &c->row);
		if (!(st = cached(db, s->sql.buf)))
			return -1;
		for (size_t i = 0; i < t->ncols; i++)
			if (c->row.v[i].state != V_ABSENT && !table_is_key(t, i) && sql_writable(t, i) &&
			    bind_value(db, st, ++pos, t, &c->row, i) < 0)
				return -1;
		for (size_t k = 0; k < t->nkey; k++)
			if (bind_value(db, st, ++pos, t, &c->row, t->key[k]) < 0)
				return -1;
		break;
	case REC_DELETE:
		sql_delete(&s->sql, &sqlite_dialect, t);
		if (t->key_kind == KEY_ROW) {
			/* A whole-row key may match duplicates: delete one of them. */
			const char *where = strstr(s->sql.buf, " WHERE ");
			buf_reset(&s->tmp);
			buf_adds(&s->tmp, "DELETE FROM ");
			sql_table(&s->tmp, &sqlite_dialect, t->name);
			buf_adds(&s->tmp, " WHERE rowid IN (SELECT rowid FROM ");
			sql_table(&s->tmp, &sqlite_dialect, t->name);
			buf_adds(&s->tmp, where);
			buf_adds(&s->tmp, " LIMIT 1)");
			buf_reset(&s->sql);
			buf_add(&s->sql, s->tmp.buf, s->tmp.len);
		}
		if (!(st = cached(db, s->sql.buf)))
			return -1;
		for (size_t k = 0; k < t->nkey; k++)
			if (bind_value(db, st, ++pos, t, &c->row, t->key[k]) < 0)
				return -1;
		break;
	default:
		return 0;
	}
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail(db, "");
	if (c->type != REC_INSERT && c->type != REC_ROW && sqlite3_changes(s->h) == 0) {
		buf_reset(&db->err);
		buf_addf(&db->err, "no row with this key in the target (it changed since the diff)");
		return -1;
	}
	return 0;
}

static int sq_reset_sequence(struct db *db, const struct table *t)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st;
	int uses = 0;
	if (prepare(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 "
			"AND sql LIKE '%AUTOINCREMENT%' "
			"AND EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence')", &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	uses = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!uses)
		return 0;
	/* AUTOINCREMENT never reuses an id below sqlite_sequence.seq: keep it above every row. */
	buf_reset(&s->sql);
	buf_adds(&s->sql, "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, 0 "
			  "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)");
	if (prepare(db, s->sql.buf, &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(db, "sqlite_sequence");
	buf_reset(&s->sql);
	buf_adds(&s->sql, "UPDATE sqlite_sequence SET seq = (SELECT max(rowid) FROM ");
	sql_table(&s->sql, &sqlite_dialect, t->name);
	buf_adds(&s->sql, ") WHERE name = ?1 AND seq < (SELECT max(rowid) FROM ");
	sql_table(&s->sql, &sqlite_dialect, t->name);
	buf_adds(&s->sql, ")");
	if (prepare(db, s->sql.buf, &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail(db, "sqlite_sequence");
}

/* SQLite cannot switch a trigger off, but its schema changes are
 * transactional: drop the triggers now and create them again from their
 * own text before the commit (a rollback restores them anyway). */
static int sq_set_triggers(struct db *db, const struct table *t, int on)
{
	struct sqlite_db *s = db->impl;
	if (on)
		return sql_later_run(&s->triggers_back, db, t->name, exec);
	sqlite3_stmt *st;
	if (prepare(db, "SELECT name, sql FROM main.sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 "
		    "ORDER BY name", &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_TRANSIENT);
	int rc, ret = 0;
	char **names = NULL;
	size_t n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0), *sql = (const char *)sqlite3_column_text(st, 1);
		sql_later_add(&s->triggers_back, t->name, sql);
		names = xrealloc(names, (n + 1) * sizeof(char *));
		names[n++] = xstrdup(name);
	}
	if (rc != SQLITE_DONE)
		ret = fail(db, "reading the triggers");
	sqlite3_finalize(st);
	for (size_t i = 0; i < n && ret == 0; i++) {
		buf_reset(&s->sql);
		buf_adds(&s->sql, "DROP TRIGGER main.");
		sql_ident(&s->sql, &sqlite_dialect, names[i]);
		ret = exec(db, s->sql.buf);
	}
	free_strings(names, n);
	return ret;
}

const struct db_ops db_sqlite_ops = {
	.engine = "sqlite",
	.defers_all_checks = 1,
	.open = sq_open,
	.close = sq_close,
	.load_schema = sq_load_schema,
	.begin_read = sq_begin_read,
	.begin_write = sq_begin_write,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.scan_open = sq_scan_open,
	.scan_next = sq_scan_next,
	.scan_close = sq_scan_close,
	.write = sq_write,
	.check_constraints = sq_check_constraints,
	.reset_sequence = sq_reset_sequence,
	.set_triggers = sq_set_triggers,
};
