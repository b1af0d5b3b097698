/* sqlite/catalog: SQLite's tables, their columns, keys and references, read
 * through its PRAGMAs and laid out by the catalog rules every engine shares
 * (schema.h): the primary key first, then unique indexes by name, then the
 * whole row. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqlite.h"
#include "check.h"

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
	if (strstr(up, "INT") && !strstr(up, "POINT") && !strstr(up, "INTERVAL") && !strstr(up, "RANGE"))
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

/* Declared types that sqlite_type reads back as the same neutral type
 * (dbpipe(5), "Types across engines"). */
int sq_column_type(struct buf *sql, const struct column *c, int indexed, const char *src, struct buf *err)
{
	unsigned a = 0, b = 0;
	int n = sql_native_args(c->native, &a, &b);
	(void)indexed;
	if (!strcmp(src, "sqlite")) {
		buf_adds(sql, c->native);
		return 0;
	}
	switch (c->type) {
	case VT_INT: buf_adds(sql, sql_int_bytes(c->native, src) == 8 ? "BIGINT" : "INTEGER"); return 0;
	case VT_FLOAT: buf_adds(sql, "REAL"); return 0;
	case VT_DECIMAL:
		if (n == 2)
			buf_addf(sql, "NUMERIC(%u,%u)", a, b);
		else if (n == 1)
			buf_addf(sql, "NUMERIC(%u)", a);
		else
			buf_adds(sql, "NUMERIC");
		return 0;
	case VT_BOOL: buf_adds(sql, "BOOLEAN"); return 0;
	case VT_TEXT:
		if (n == 1 && sql_native_has(c->native, "char"))
			buf_addf(sql, sql_native_has(c->native, "var") ? "VARCHAR(%u)" : "CHAR(%u)", a);
		else
			buf_adds(sql, "TEXT");
		return 0;
	case VT_UUID: buf_adds(sql, "UUID"); return 0;
	case VT_JSON: buf_adds(sql, "JSON"); return 0;
	case VT_BYTES: buf_adds(sql, "BLOB"); return 0;
	case VT_DATE: buf_adds(sql, "DATE"); return 0;
	case VT_TIME: buf_adds(sql, "TIME"); return 0;
	/* SQLite keeps no zone: a timestamptz becomes a DATETIME in UTC */
	case VT_TIMESTAMP: case VT_TIMESTAMPTZ: buf_adds(sql, "DATETIME"); return 0;
	case VT_ENUM: buf_adds(sql, "TEXT"); return 0;
	case VT_OTHER:
		/* PostgreSQL's text form of it (an array, a tsvector), kept as
		 * written: dbpipe(5), "Types across engines" */
		if (!strcmp(src, "postgresql")) {
			buf_adds(sql, "TEXT");
			return 0;
		}
		/* fall through */
	default:
		buf_addf(err, "column \"%s\" has the %s type %s, which has no equivalent in SQLite",
			 c->name, src, c->native);
		return -1;
	}
}

/* PRAGMA pragma("name") into sql, which it empties first; name is a
 * table's stream name (table_name_make) or, for an index, its own name. */
static void pragma_sql(struct buf *sql, const char *pragma, const char *name)
{
	buf_reset(sql);
	sql_addf(sql, &sq_dialect, strcmp(pragma, "index_info") ? "PRAGMA %s(%T)" : "PRAGMA %s(%I)",
		 pragma, name);
}

/* pk[i] is column i's position in the primary key (from 1), or 0. */
static void offer_primary_key(struct table *t, const int *pk, int autoincrement)
{
	size_t *cols = xcalloc(t->ncols + 1, sizeof(*cols)), n = 0;
	for (size_t i = 0; i < t->ncols; i++)
		if (pk[i] > 0 && (size_t)pk[i] <= t->ncols) {
			cols[pk[i] - 1] = i;
			n++;
		}
	table_offer_key(t, 1, cols, n);
	free(cols);
	if (t->nkey == 1) {
		struct column *c = &t->cols[t->key[0]];
		/* INTEGER PRIMARY KEY is the rowid: SQLite numbers new rows itself. */
		if (!strcasecmp(c->native, "INTEGER") || autoincrement)
			c->autoinc = 1;
	}
}

/* The columns of t, and its primary key. */
static int load_columns(struct db *db, struct table *t, int autoincrement)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st;
	pragma_sql(&s->sql, "table_xinfo", t->name);
	if (sq_prepare(db, s->sql.buf, &st) < 0)
		return -1;
	int *pk = NULL, rc;
	size_t alloc = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *decl = (const char *)sqlite3_column_text(st, 2);
		int notnull = sqlite3_column_int(st, 3), pos = sqlite3_column_int(st, 5);
		int hidden = sqlite3_column_int(st, 6);
		if (hidden == 1)
			continue; /* a virtual table's hidden column */
		ALLOC_GROW(pk, t->ncols + 1, alloc);
		pk[t->ncols] = pos;
		struct column *c = table_add_column(t, name, sqlite_type(decl ? decl : ""),
						    decl ? decl : "", !notnull && !pos);
		c->generated = hidden == 2 || hidden == 3;
		c->default_sql = column_default_normalize((const char *)sqlite3_column_text(st, 4), c);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		offer_primary_key(t, pk, autoincrement);
	free(pk);
	return rc == SQLITE_DONE ? 0 : sq_fail(db, "reading columns");
}

/* The names of t's unique indexes that cover every row (not partial),
 * sorted bytewise. */
static int unique_indexes(struct db *db, const struct table *t, char ***names, size_t *n)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st;
	size_t alloc = 0;
	*names = NULL;
	*n = 0;
	pragma_sql(&s->sql, "index_list", t->name);
	if (sq_prepare(db, s->sql.buf, &st) < 0)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (!sqlite3_column_int(st, 2) || sqlite3_column_int(st, 4))
			continue; /* not unique, or partial */
		ALLOC_GROW(*names, *n + 1, alloc);
		(*names)[(*n)++] = xstrdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (*n > 1)
		qsort(*names, *n, sizeof(char *), strcmp_ptr);
	return 0;
}

/* Offer index `index` of t as its key: 1 taken, 0 not (a column is an
 * expression or the rowid, or table_offer_key declines it), -1. */
static int offer_index(struct db *db, struct table *t, const char *index)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st;
	pragma_sql(&s->tmp, "index_info", index);
	if (sq_prepare(db, s->tmp.buf, &st) < 0)
		return -1;
	size_t *cols = xcalloc(t->ncols + 1, sizeof(*cols)), n = 0;
	int usable = 1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 2);
		long i = name ? table_column_index(t, name) : -1;
		if (i < 0 || n == t->ncols)
			usable = 0;
		else
			cols[n++] = (size_t)i;
	}
	sqlite3_finalize(st);
	int taken = usable && table_offer_key(t, 0, cols, n);
	free(cols);
	return taken;
}

/* Every index of t but the primary key's, with its columns; partial ones
 * and those on expressions are left out (schema.h). */
static int load_indexes(struct db *db, struct table *t)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st, *cols;
	pragma_sql(&s->sql, "index_list", t->name);
	if (sq_prepare(db, s->sql.buf, &st) < 0)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *origin = (const char *)sqlite3_column_text(st, 3);
		if ((origin && !strcmp(origin, "pk")) || sqlite3_column_int(st, 4))
			continue;
		pragma_sql(&s->tmp, "index_info", name);
		if (sq_prepare(db, s->tmp.buf, &cols) < 0) {
			sqlite3_finalize(st);
			return -1;
		}
		struct index *ix = table_add_index(t, name, sqlite3_column_int(st, 2));
		int usable = 1;
		while (sqlite3_step(cols) == SQLITE_ROW) {
			const char *col = (const char *)sqlite3_column_text(cols, 2);
			if (col)
				index_add_column(ix, col);
			else
				usable = 0; /* an expression */
		}
		sqlite3_finalize(cols);
		if (!usable || !ix->ncols)
			table_drop_last_index(t);
	}
	sqlite3_finalize(st);
	table_sort_indexes(t);
	return 0;
}

/* A table without a primary key: its unique indexes in name order. */
static int offer_unique_keys(struct db *db, struct table *t)
{
	char **names;
	size_t n;
	if (unique_indexes(db, t, &names, &n) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = offer_index(db, t, names[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret < 0 ? -1 : 0;
}

/* The column of parent that column k of a reference written without target
 * columns points at: the parent's key, or the child's own column name when
 * the parent is not known. */
static const char *implied_target(const struct schema *sc, const char *parent, size_t k,
				  const char *col)
{
	const struct table *p = schema_find_parts(sc, NULL, parent);
	return p && k < p->nkey ? p->cols[p->key[k]].name : col;
}

/* t's foreign keys, once every table of sc has its key. */
static int load_refs(struct db *db, const struct schema *sc, struct table *t)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st;
	pragma_sql(&s->sql, "foreign_key_list", t->name);
	if (sq_prepare(db, s->sql.buf, &st) < 0)
		return -1;
	int last_id = -1;
	struct ref *rf = NULL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int id = sqlite3_column_int(st, 0);
		const char *on_update = (const char *)sqlite3_column_text(st, 5);
		const char *on_delete = (const char *)sqlite3_column_text(st, 6);
		const char *parent = (const char *)sqlite3_column_text(st, 2);
		const char *from = (const char *)sqlite3_column_text(st, 3);
		const char *to = (const char *)sqlite3_column_text(st, 4);
		if (id != last_id) {
			/* defer_foreign_keys defers every SQLite foreign key */
			char *to_table = table_name_make(NULL, parent);
			rf = table_add_ref(t, to_table, 1);
			rf->on_update = ref_action_parse(on_update);
			rf->on_delete = ref_action_parse(on_delete);
			free(to_table);
			last_id = id;
		}
		ref_add_column(rf, from, to ? to : implied_target(sc, parent, rf->ncols, from));
	}
	sqlite3_finalize(st);
	return 0;
}

/* Its triggers, each as the CREATE TRIGGER SQLite keeps, by name. */
static int load_triggers(struct db *db, struct table *t, const char *name)
{
	sqlite3_stmt *st;
	if (sq_prepare(db, "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 "
			"ORDER BY name", &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		table_add_trigger(t, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(db, "reading the triggers");
}

/* One table of the schema, with its columns and key. */
static int load_table(struct db *db, sqlite3_stmt *listed, struct schema *out)
{
	const char *name = (const char *)sqlite3_column_text(listed, 0);
	const char *sql = (const char *)sqlite3_column_text(listed, 1);
	if (sql && !strncasecmp(sql, "CREATE VIRTUAL", 14)) {
		warning("%s: skipping virtual table \"%s\"", db->shown_url, name);
		return 0;
	}
	char *stream_name = table_name_make(NULL, name); /* a dot in it is not a schema's */
	struct table *t = table_new(stream_name);
	free(stream_name);
	t->has_triggers = sqlite3_column_int(listed, 2);
	int autoincrement = sql && strcasestr(sql, "AUTOINCREMENT");
	if (load_columns(db, t, autoincrement) < 0 || (!t->nkey && offer_unique_keys(db, t) < 0) ||
	    load_indexes(db, t) < 0) {
		table_free(t);
		return -1;
	}
	if (sql)
		check_scan_create_table(t, sql);
	if (t->has_triggers && load_triggers(db, t, name) < 0) {
		table_free(t);
		return -1;
	}
	table_settle_key(t);
	schema_add(out, t);
	return 0;
}

int sq_load_schema(struct db *db, struct schema *out)
{
	sqlite3_stmt *st;
	/* ORDER BY name compares with SQLite's BINARY collation: bytewise, the
	 * order schema_sort gives. */
	if (sq_prepare(db, "SELECT name, sql, "
			"EXISTS (SELECT 1 FROM sqlite_schema g WHERE g.type = 'trigger' AND g.tbl_name = m.name) "
			"FROM sqlite_schema m WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
			"ORDER BY name", &st) < 0)
		return -1;
	size_t first = out->n;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (load_table(db, st, out) < 0) {
			sqlite3_finalize(st);
			return -1;
		}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(db, "reading the schema");
	/* References last: one written without target columns needs its
	 * parent's key, and the parent may come later by name. */
	for (size_t i = first; i < out->n; i++)
		if (load_refs(db, out, out->tables[i]) < 0)
			return -1;
	return 0;
}
