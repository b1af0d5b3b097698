/* mysql/catalog: the schema as information_schema describes it (tables,
 * columns and their neutral types, keys, references, triggers), and how a
 * column's native type is read. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mysql_int.h"

void my_type_word(const char *native, char *out, size_t size)
{
	size_t n = 0;
	while (native[n] && (isalpha((unsigned char)native[n]) || native[n] == '_') && n < size - 1) {
		out[n] = (char)tolower((unsigned char)native[n]);
		n++;
	}
	out[n] = '\0';
}

int my_word_in(const char *w, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(w, *list))
			return 1;
	return 0;
}

unsigned my_paren_number(const char *native, unsigned dflt)
{
	const char *p = strchr(native, '(');
	return p && isdigit((unsigned char)p[1]) ? (unsigned)strtoul(p + 1, NULL, 10) : dflt;
}

const char *const my_int_words[] = { "tinyint", "smallint", "mediumint", "int", "integer", "bigint", NULL };
const char *const my_text_words[] = { "char", "varchar", "tinytext", "text", "mediumtext", "longtext",
				       "nchar", "nvarchar", NULL };
static const char *const geom_words[] = { "geometry", "point", "linestring", "polygon", "multipoint",
					  "multilinestring", "multipolygon", "geometrycollection",
					  "geomcollection", NULL };
static const char *const bytes_words[] = { "binary", "varbinary", "tinyblob", "blob", "mediumblob",
					   "longblob", NULL };

/* The neutral type of a column from its COLUMN_TYPE. */
static enum vtype mysql_type(const char *native)
{
	char w[32];
	my_type_word(native, w, sizeof(w));
	if (!strncasecmp(native, "tinyint(1)", 10))
		return VT_BOOL;
	if (my_word_in(w, my_int_words))
		/* An unsigned bigint does not fit int64: kept exact as a decimal. */
		return !strcmp(w, "bigint") && strcasestr(native, "unsigned") ? VT_DECIMAL : VT_INT;
	if (!strcmp(w, "year"))
		return VT_INT;
	if (!strcmp(w, "float") || !strcmp(w, "double") || !strcmp(w, "real"))
		return VT_FLOAT;
	if (!strcmp(w, "decimal") || !strcmp(w, "numeric") || !strcmp(w, "fixed"))
		return VT_DECIMAL;
	if (my_word_in(w, my_text_words) || !strcmp(w, "set"))
		return VT_TEXT;
	if (my_word_in(w, bytes_words))
		return VT_BYTES;
	if (!strcmp(w, "date"))
		return VT_DATE;
	if (!strcmp(w, "time"))
		return VT_TIME;
	if (!strcmp(w, "datetime"))
		return VT_TIMESTAMP;
	if (!strcmp(w, "timestamp"))
		return VT_TIMESTAMPTZ;
	if (!strcmp(w, "enum"))
		return VT_ENUM;
	if (!strcmp(w, "json"))
		return VT_JSON;
	if (!strcmp(w, "uuid"))
		return VT_UUID;
	return VT_OTHER; /* bit, geometry, inet6, ... */
}

enum kind my_column_kind(const struct column *c)
{
	char w[32];
	my_type_word(c->native, w, sizeof(w));
	if (c->type == VT_BOOL)
		return K_BOOL;
	if (!strcmp(w, "year"))
		return K_YEAR;
	if (c->type == VT_FLOAT)
		return K_FLOAT;
	if (!strcmp(w, "date"))
		return K_DATE;
	if (!strcmp(w, "time"))
		return K_TIME;
	if (!strcmp(w, "datetime"))
		return K_DATETIME;
	if (!strcmp(w, "timestamp"))
		return K_TIMESTAMP;
	if (!strcmp(w, "bit"))
		return K_BIT;
	if (my_word_in(w, geom_words))
		return K_GEOM;
	return K_RAW;
}

/* The type of a column made from another engine's (dbpipe(5), "Types
 * across engines"). */
int my_column_type(struct buf *sql, const struct column *c, int indexed, const char *src, struct buf *err)
{
	unsigned a = 0, b = 0;
	int n = sql_native_args(c->native, &a, &b);
	if (!strcmp(src, "mysql")) {
		buf_adds(sql, c->native);
		return 0;
	}
	switch (c->type) {
	case VT_INT: {
		int bytes = sql_int_bytes(c->native, src);
		buf_adds(sql, bytes == 2 ? "smallint" : bytes == 4 ? "int" : "bigint");
		return 0;
	}
	case VT_FLOAT:
		buf_adds(sql, !strcmp(src, "postgresql") && (!strcasecmp(c->native, "real") ||
			 sql_native_has(c->native, "float4")) ? "float" : "double");
		return 0;
	case VT_DECIMAL:
		if (n >= 1 && a <= 65) {
			buf_addf(sql, "decimal(%u,%u)", a, n == 2 ? b : 0);
			return 0;
		}
		buf_addf(err, "column \"%s\" is a %s decimal without a precision MySQL can hold (%s): "
			 "MySQL's DECIMAL has at most 65 digits and a fixed scale", c->name, src, c->native);
		return -1;
	case VT_BOOL: buf_adds(sql, "tinyint(1)"); return 0;
	case VT_TEXT:
		/* a char(n) too: MySQL drops the trailing spaces of a CHAR when
		 * read, which PostgreSQL pads with and SQLite keeps */
		if (n == 1 && sql_native_has(c->native, "char")) {
			buf_addf(sql, "varchar(%u)", a);
			return 0;
		}
		if (indexed) {
			buf_addf(err, "column \"%s\" is text without a length (%s) in a key, an index or a "
				 "foreign key: MySQL cannot index TEXT", c->name, c->native);
			return -1;
		}
		buf_adds(sql, "longtext");
		return 0;
	case VT_UUID: buf_adds(sql, "uuid"); return 0;
	case VT_JSON: buf_adds(sql, "json"); return 0;
	case VT_BYTES:
		if (indexed) {
			buf_addf(err, "column \"%s\" is bytes (%s) in a key, an index or a foreign key: MySQL "
				 "cannot index a BLOB", c->name, c->native);
			return -1;
		}
		buf_adds(sql, "longblob");
		return 0;
	case VT_DATE: buf_adds(sql, "date"); return 0;
	case VT_TIME: buf_adds(sql, "time(6)"); return 0;
	case VT_TIMESTAMP: buf_adds(sql, "datetime(6)"); return 0;
	case VT_TIMESTAMPTZ: buf_adds(sql, "timestamp(6)"); return 0;
	case VT_ENUM:
		if (!c->nlabels) {
			buf_addf(err, "column \"%s\" is a %s enum (%s), whose values the stream does not hold",
				 c->name, src, c->native);
			return -1;
		}
		buf_adds(sql, "enum(");
		for (size_t i = 0; i < c->nlabels; i++) {
			buf_adds(sql, i ? ",'" : "'");
			for (const char *p = c->labels[i]; *p; p++) {
				if (*p == '\'' || *p == '\\')
					buf_addch(sql, *p);
				buf_addch(sql, *p);
			}
			buf_addch(sql, '\'');
		}
		buf_addch(sql, ')');
		return 0;
	case VT_OTHER:
		/* PostgreSQL's text form of it (an array, a tsvector), kept as
		 * written: dbpipe(5), "Types across engines" */
		if (!strcmp(src, "postgresql") && !indexed) {
			buf_adds(sql, "longtext");
			return 0;
		}
		/* fall through */
	default:
		buf_addf(err, "column \"%s\" has the %s type %s, which has no equivalent in MySQL",
			 c->name, src, c->native);
		return -1;
	}
}

static int field_is(const char *v, const char *s)
{
	return v && !strcasecmp(v, s);
}

/* Base tables (system-versioned ones read as their current rows). */
static int load_tables(struct db *db, struct schema *s)
{
	MYSQL_RES *r = my_query(db, "SELECT TABLE_NAME FROM information_schema.TABLES "
				    "WHERE TABLE_SCHEMA = DATABASE() "
				    "AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') "
				    "ORDER BY TABLE_NAME");
	if (!r)
		return -1;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(r))) {
		char *name = table_name_make(NULL, row[0]); /* a dot in it is not a database's */
		schema_add(s, table_new(name));
		free(name);
	}
	mysql_free_result(r);
	return 0;
}

/* A column's default as MySQL 8 shows it: a literal without its quotes,
 * an expression marked DEFAULT_GENERATED in EXTRA; MariaDB quotes
 * literals itself. */
static char *mysql8_default(const struct column *c, const char *text, const char *extra)
{
	if (!text || strcasestr(extra, "DEFAULT_GENERATED") || c->type == VT_INT || c->type == VT_FLOAT ||
	    c->type == VT_DECIMAL || c->type == VT_BOOL)
		return column_default_normalize(text, c);
	struct buf q = BUF_INIT;
	buf_addch(&q, '\'');
	for (const char *p = text; *p; p++) {
		if (*p == '\'')
			buf_addch(&q, '\'');
		buf_addch(&q, *p);
	}
	buf_addch(&q, '\'');
	char *d = column_default_normalize(q.buf, c);
	buf_release(&q);
	return d;
}

/* The values of an enum('a','it''s') column type, in order. */
static void enum_labels(struct column *c)
{
	const char *p = strchr(c->native, '(');
	struct buf label = BUF_INIT;
	while (p && (p = strchr(p, '\''))) {
		buf_reset(&label);
		for (p++; *p && !(*p == '\'' && p[1] != '\''); p++) {
			if ((*p == '\'' || *p == '\\') && p[1])
				p++;
			buf_addch(&label, *p);
		}
		if (!*p)
			break;
		column_add_label(c, label.buf ? label.buf : "");
		p++;
	}
	buf_release(&label);
}

/* A column from its row of information_schema.COLUMNS (TABLE_NAME,
 * COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, EXTRA, COLUMN_DEFAULT). */
static void add_column(struct table *t, MYSQL_ROW row, int is_mariadb)
{
	const char *extra = row[4] ? row[4] : "";
	struct column *c = table_add_column(t, row[1], mysql_type(row[2]), row[2], field_is(row[3], "YES"));
	c->autoinc = strcasestr(extra, "auto_increment") != NULL;
	/* DECIMAL is DECIMAL(10,0), DATETIME keeps no fraction of a second */
	if (c->type == VT_DECIMAL || c->type == VT_TIME || c->type == VT_TIMESTAMP || c->type == VT_TIMESTAMPTZ)
		c->scale = native_scale(c->native, c->type == VT_DECIMAL, 0);
	c->generated = strcasestr(extra, "VIRTUAL GENERATED") || strcasestr(extra, "STORED GENERATED") ||
		       strcasestr(extra, "PERSISTENT GENERATED") || strcasestr(extra, "ROW START") ||
		       strcasestr(extra, "ROW END");
	if (c->type == VT_ENUM)
		enum_labels(c);
	if (!c->autoinc && !c->generated)
		c->default_sql = is_mariadb ? column_default_normalize(row[5], c) : mysql8_default(c, row[5], extra);
}

static int load_columns(struct db *db, struct schema *s)
{
	struct my_db *m = db->impl;
	MYSQL_RES *r = my_query(db, "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, EXTRA, COLUMN_DEFAULT "
				    "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
				    "ORDER BY TABLE_NAME, ORDINAL_POSITION");
	if (!r)
		return -1;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(r))) {
		struct table *t = schema_find_parts(s, NULL, row[0]);
		if (t) /* else a view */
			add_column(t, row, m->is_mariadb);
	}
	mysql_free_result(r);
	return 0;
}

/* CHECK constraints.  MariaDB's JSON is LONGTEXT with a json_valid()
 * check: that one makes its column json, and is not a check of its own. */
static int load_checks(struct db *db, struct schema *s)
{
	MYSQL_RES *r = my_query(db, "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE "
				    "FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() "
				    "ORDER BY CAST(TABLE_NAME AS BINARY), CAST(CONSTRAINT_NAME AS BINARY)");
	if (!r)
		return -1;
	MYSQL_ROW row;
	struct buf want = BUF_INIT;
	while ((row = mysql_fetch_row(r))) {
		struct table *t = schema_find_parts(s, NULL, row[0]);
		int json = 0;
		for (size_t i = 0; t && row[2] && i < t->ncols; i++) {
			buf_reset(&want);
			sql_addf(&want, &my_dialect, "json_valid(%I)", t->cols[i].name);
			if (!strcmp(row[2], want.buf) && (t->cols[i].type == VT_TEXT || t->cols[i].type == VT_JSON)) {
				t->cols[i].type = VT_JSON;
				json = 1;
			}
		}
		if (t && row[2] && !json)
			table_add_check(t, row[1], row[2]);
	}
	buf_release(&want);
	mysql_free_result(r);
	return 0;
}

/* A unique index as STATISTICS lists it, one column a row. */
struct index_read {
	char *table, *name;     /* NULL before the first row */
	struct table *t;        /* NULL: not a table of the schema */
	size_t *cols, ncols;
	int usable;             /* no expression, no prefix */
};

/* Offer the index read to its table (table_offer_key), and start over. */
static void index_offer(struct index_read *ix)
{
	if (ix->t && ix->usable)
		table_offer_key(ix->t, !strcmp(ix->name, "PRIMARY"), ix->cols, ix->ncols);
	free(ix->table);
	free(ix->name);
	free(ix->cols);
	memset(ix, 0, sizeof(*ix));
}

static void index_add_row(struct index_read *ix, struct schema *s, MYSQL_ROW row)
{
	if (!ix->name || strcmp(row[0], ix->table) || strcmp(row[1], ix->name)) {
		index_offer(ix);
		ix->table = xstrdup(row[0]);
		ix->name = xstrdup(row[1]);
		ix->t = schema_find_parts(s, NULL, row[0]);
		ix->cols = ix->t ? xcalloc(ix->t->ncols + 1, sizeof(*ix->cols)) : NULL;
		ix->usable = 1;
	}
	if (!ix->t)
		return;
	long ci = row[2] ? table_column_index(ix->t, row[2]) : -1;
	if (ci < 0 || row[3] || ix->ncols >= ix->t->ncols)
		ix->usable = 0; /* an expression or a prefix */
	else
		ix->cols[ix->ncols++] = (size_t)ci;
}

/* Keys by the catalog rules (schema.h): the primary key, then unique
 * indexes by name (bytewise), offered in that order. */
static int load_keys(struct db *db, struct schema *s)
{
	MYSQL_RES *r = my_query(db, "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART "
				    "FROM information_schema.STATISTICS "
				    "WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0 "
				    "ORDER BY CAST(TABLE_NAME AS BINARY), INDEX_NAME = 'PRIMARY' DESC, "
				    "CAST(INDEX_NAME AS BINARY), SEQ_IN_INDEX");
	if (!r)
		return -1;
	struct index_read ix;
	memset(&ix, 0, sizeof(ix));
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(r)))
		index_add_row(&ix, s, row);
	index_offer(&ix);
	mysql_free_result(r);
	for (size_t i = 0; i < s->n; i++)
		table_settle_key(s->tables[i]);
	return 0;
}

/* The indexes other than the primary key; those on expressions or on a
 * prefix of a column are left out (schema.h). */
static int load_indexes(struct db *db, struct schema *s)
{
	MYSQL_RES *r = my_query(db, "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART, NON_UNIQUE, "
				    "CASE WHEN INDEX_TYPE IN ('FULLTEXT', 'SPATIAL') THEN LOWER(INDEX_TYPE) END "
				    "FROM information_schema.STATISTICS "
				    "WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY' "
				    "ORDER BY CAST(TABLE_NAME AS BINARY), CAST(INDEX_NAME AS BINARY), SEQ_IN_INDEX");
	if (!r)
		return -1;
	MYSQL_ROW row;
	struct table *t = NULL;
	struct index *ix = NULL;
	int usable = 0;
	while ((row = mysql_fetch_row(r))) {
		struct table *rt = schema_find_parts(s, NULL, row[0]);
		if (!rt)
			continue;
		if (!ix || rt != t || strcmp(ix->name, row[1])) {
			if (ix && !usable)
				table_drop_last_index(t);
			t = rt;
			ix = table_add_index(t, row[1], row[4] && !strcmp(row[4], "0"));
			ix->kind = row[5] ? xstrdup(row[5]) : NULL;
			usable = 1;
		}
		if (!row[2] || row[3])
			usable = 0;
		else
			index_add_column(ix, row[2]);
	}
	mysql_free_result(r);
	if (ix && !usable)
		table_drop_last_index(t);
	return 0;
}

/* Foreign keys; one to another database names its table "db.table". */
static int load_refs(struct db *db, struct schema *s)
{
	MYSQL_RES *r = my_query(db, "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, "
				    "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, "
				    "k.REFERENCED_TABLE_SCHEMA = DATABASE(), rc.DELETE_RULE, rc.UPDATE_RULE "
				    "FROM information_schema.KEY_COLUMN_USAGE k "
				    "LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc "
				    "ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND rc.TABLE_NAME = k.TABLE_NAME "
				    "AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
				    "WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL "
				    "ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION");
	if (!r)
		return -1;
	struct table *last_t = NULL;
	char *last_c = NULL;
	struct ref *rf = NULL;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(r))) {
		struct table *t = schema_find_parts(s, NULL, row[0]);
		if (!t)
			continue;
		if (t != last_t || !last_c || strcmp(last_c, row[1])) {
			char *to = table_name_make(row[6] && !strcmp(row[6], "1") ? NULL : row[3], row[4]);
			rf = table_add_ref(t, to, 0);
			rf->name = xstrdup(row[1]);
			/* InnoDB's NO ACTION is RESTRICT, MariaDB's default: one action */
			rf->on_delete = ref_action_parse(row[7]);
			rf->on_update = ref_action_parse(row[8]);
			if (rf->on_delete == REF_RESTRICT)
				rf->on_delete = REF_NO_ACTION;
			if (rf->on_update == REF_RESTRICT)
				rf->on_update = REF_NO_ACTION;
			free(to);
			free(last_c);
			last_c = xstrdup(row[1]);
			last_t = t;
		}
		ref_add_column(rf, row[2], row[5]);
	}
	free(last_c);
	mysql_free_result(r);
	return 0;
}

/* Each trigger as the statement that makes it again (its definer and
 * sql_mode are the target's own), in the order they fire. */
static int load_triggers(struct db *db, struct schema *s)
{
	MYSQL_RES *r = my_query(db, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, "
				    "ACTION_STATEMENT FROM information_schema.TRIGGERS "
				    "WHERE EVENT_OBJECT_SCHEMA = DATABASE() "
				    "ORDER BY EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER");
	if (!r)
		return -1;
	MYSQL_ROW row;
	struct buf sql = BUF_INIT;
	while ((row = mysql_fetch_row(r))) {
		struct table *t = schema_find_parts(s, NULL, row[1]);
		if (!t)
			continue;
		buf_reset(&sql);
		sql_addf(&sql, &my_dialect, "CREATE TRIGGER %I %s %s ON %I FOR EACH ROW %s", row[0], row[2], row[3],
			 row[1], row[4]);
		table_add_trigger(t, row[0], sql.buf);
	}
	buf_release(&sql);
	mysql_free_result(r);
	return 0;
}

int my_load_schema(struct db *db, struct schema *out)
{
	struct my_db *m = db->impl;
	struct schema s;
	schema_init(&s);
	if (load_tables(db, &s) < 0 || load_columns(db, &s) < 0 ||
	    (m->is_mariadb && load_checks(db, &s) < 0) || load_keys(db, &s) < 0 ||
	    load_indexes(db, &s) < 0 || load_refs(db, &s) < 0 || load_triggers(db, &s) < 0) {
		schema_release(&s);
		return -1;
	}
	schema_sort(&s);
	for (size_t i = 0; i < s.n; i++) {
		schema_add(out, s.tables[i]);
		s.tables[i] = NULL;
	}
	schema_release(&s);
	return 0;
}
