/* pg/catalog: the tables, their columns, keys and references; how
 * PostgreSQL's types map to the stream's and how its SQL orders and
 * compares them; how statements name a table. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

/* Type oids (pg_type.h), fixed since forever. */
enum {
	OID_BOOL = 16, OID_BYTEA = 17, OID_NAME = 19, OID_INT8 = 20, OID_INT2 = 21,
	OID_INT4 = 23, OID_TEXT = 25, OID_JSON = 114, OID_FLOAT4 = 700,
	OID_FLOAT8 = 701, OID_BPCHAR = 1042, OID_VARCHAR = 1043, OID_DATE = 1082,
	OID_TIME = 1083, OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184,
	OID_NUMERIC = 1700, OID_UUID = 2950, OID_JSONB = 3802,
};

static enum vtype pg_vtype(unsigned oid, char typtype)
{
	if (typtype == 'e')
		return VT_ENUM;
	switch (oid) {
	case OID_INT2: case OID_INT4: case OID_INT8: return VT_INT;
	case OID_FLOAT4: case OID_FLOAT8: return VT_FLOAT;
	case OID_NUMERIC: return VT_DECIMAL;
	case OID_BOOL: return VT_BOOL;
	case OID_TEXT: case OID_VARCHAR: case OID_BPCHAR: case OID_NAME: return VT_TEXT;
	case OID_UUID: return VT_UUID;
	case OID_JSON: case OID_JSONB: return VT_JSON;
	case OID_BYTEA: return VT_BYTES;
	case OID_DATE: return VT_DATE;
	case OID_TIME: return VT_TIME;
	case OID_TIMESTAMP: return VT_TIMESTAMP;
	case OID_TIMESTAMPTZ: return VT_TIMESTAMPTZ;
	default: return VT_OTHER;
	}
}

/* --- the dialect --- */

static void pg_placeholder(struct buf *sql, size_t n)
{
	buf_addf(sql, "$%zu", n);
}

/* Key order: what value_cmp does with the canonical text of each type
 * (read.c's read_value makes it).  Numbers, booleans, uuid (16 bytes
 * compared as memcmp: the order of the hex text) and bytea natively, text
 * COLLATE "C", timestamps by the canonical text, every other type (enums
 * too: they have no collation) by its text COLLATE "C"; NULLs first.
 * "NULLS FIRST" is said only of a nullable column: a primary key's btree
 * sorts NULLs last, and ORDER BY id NULLS FIRST made PostgreSQL sort the
 * table instead of walking the index (a dump of 500k rows: 1.0 s of COPY
 * against 0.7 s). */
static void pg_order_key(struct buf *sql, const struct sql_dialect *d, const struct column *c,
			 enum key_order order)
{
	const char *n = c->name, *nulls = c->nullable ? " NULLS FIRST" : "";
	switch (order) {
	case KEY_ORDER_NUMBER:
	case KEY_ORDER_BYTES:
		sql_addf(sql, d, "%I%s", n, nulls);
		return;
	case KEY_ORDER_TEXT:
		if (c->type != VT_TEXT)
			break;
		sql_addf(sql, d, "%I COLLATE \"C\"%s", n, nulls);
		return;
	case KEY_ORDER_TIMESTAMP:
		if (c->type == VT_TIMESTAMPTZ)
			sql_addf(sql, d, "(CASE WHEN %I::text LIKE '%%+00' THEN replace(left(%I::text, -3), ' ', 'T') "
				 "|| 'Z' ELSE %I::text END) COLLATE \"C\"%s", n, n, n, nulls);
		else
			sql_addf(sql, d, "(CASE WHEN %I::text LIKE '%% BC' THEN %I::text "
				 "ELSE replace(%I::text, ' ', 'T') END) COLLATE \"C\"%s", n, n, n, nulls);
		return;
	case KEY_ORDER_CANONICAL:
		break;
	}
	sql_addf(sql, d, "(%I::text) COLLATE \"C\"%s", n, nulls);
}

/* In a whole-row key, types without btree equality (json, point...)
 * compare as text. */
static void pg_key_operand(struct buf *sql, const struct sql_dialect *d, const struct column *c,
			   size_t n)
{
	if (n)
		d->placeholder(sql, n);
	else
		sql_addf(sql, d, "%I", c->name);
	if (c->type == VT_JSON || c->type == VT_OTHER)
		buf_adds(sql, "::text");
}

/* The type of a column made from another engine's (dbpipe(5), "Types
 * across engines"). */
static int pg_column_type(struct buf *sql, const struct column *c, int indexed, const char *src,
			  struct buf *err)
{
	unsigned a = 0, b = 0;
	int n = sql_native_args(c->native, &a, &b);
	(void)indexed;
	if (!strcmp(src, "postgresql")) {
		buf_adds(sql, c->native);
		return 0;
	}
	switch (c->type) {
	case VT_INT: {
		int bytes = sql_int_bytes(c->native, src);
		buf_adds(sql, bytes == 2 ? "smallint" : bytes == 4 ? "integer" : "bigint");
		return 0;
	}
	case VT_FLOAT:
		/* MySQL's FLOAT is 4 bytes; SQLite's REAL and MySQL's DOUBLE 8 */
		buf_adds(sql, !strcmp(src, "mysql") && sql_native_has(c->native, "float") ? "real" : "double precision");
		return 0;
	case VT_DECIMAL:
		if (n == 2)
			buf_addf(sql, "numeric(%u,%u)", a, b);
		else if (n == 1)
			buf_addf(sql, "numeric(%u)", a);
		else
			buf_adds(sql, sql_native_has(c->native, "unsigned") ? "numeric(20)" : "numeric");
		return 0;
	case VT_BOOL: buf_adds(sql, "boolean"); return 0;
	case VT_TEXT:
		/* a char(n) too: PostgreSQL pads its values with spaces when
		 * read, which MySQL drops and SQLite never adds */
		if (n == 1 && sql_native_has(c->native, "char"))
			buf_addf(sql, "varchar(%u)", a);
		else
			buf_adds(sql, "text");
		return 0;
	case VT_UUID: buf_adds(sql, "uuid"); return 0;
	case VT_JSON: buf_adds(sql, "jsonb"); return 0;
	case VT_BYTES: buf_adds(sql, "bytea"); return 0;
	case VT_DATE: buf_adds(sql, "date"); return 0;
	case VT_TIME: buf_adds(sql, "time"); return 0;
	case VT_TIMESTAMP: buf_adds(sql, "timestamp"); return 0;
	case VT_TIMESTAMPTZ: buf_adds(sql, "timestamptz"); return 0;
	case VT_ENUM:
		buf_addf(err, "column \"%s\" is an enum (%s): PostgreSQL needs a type of its own for it "
			 "(CREATE TYPE ... AS ENUM), made by hand", c->name, c->native);
		return -1;
	default:
		buf_addf(err, "column \"%s\" has the %s type %s, which has no equivalent in PostgreSQL",
			 c->name, src, c->native);
		return -1;
	}
}

/* A function's CREATE FUNCTION (pg_get_functiondef) holds semicolons in
 * its body, between dollar quotes ($function$ ... $function$): it is one
 * statement when no ';' stands outside quotes, dollar quotes and comments
 * but at its end. */
static int pg_one_statement(const char *sql)
{
	for (const char *p = sql; *p; p++) {
		if (*p == '\'' || *p == '"') {
			const char *q = strchr(p + 1, *p);
			if (!q)
				return 0;
			p = q; /* a doubled quote reads as two quoted parts */
		} else if (*p == '$' && (p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_'))) {
			const char *end = p + 1;
			while (isalnum((unsigned char)*end) || *end == '_')
				end++;
			if (*end != '$')
				continue; /* a parameter ($1), not a quote */
			size_t n = (size_t)(end - p) + 1;
			char *tag = xstrndup(p, n);
			const char *close = strstr(end + 1, tag);
			free(tag);
			if (!close)
				return 0;
			p = close + n - 1;
		} else if (p[0] == '-' && p[1] == '-') {
			return 0;
		} else if (p[0] == '/' && p[1] == '*') {
			return 0;
		} else if (*p == ';') {
			return !p[1 + strspn(p + 1, " \t\r\n")];
		}
	}
	return 1;
}

const struct sql_dialect pg_dialect = {
	'"', " IS NOT DISTINCT FROM ", 1, pg_placeholder, pg_order_key, pg_key_operand,
	"postgresql", pg_column_type, AUTOINC_IDENTITY, 0, 1, 0, 0,
	0, 1, "ctid",
	/* the settings of pg_session (conn.c) that reading a literal depends on */
	"SET TimeZone = 'UTC';\nSET DateStyle = 'ISO, YMD';\nSET IntervalStyle = 'postgres';\n"
	"SET standard_conforming_strings = on;\n",
	"BEGIN;\nSET CONSTRAINTS ALL DEFERRED;\n",
	ALTER_PARTS,
	1,
	pg_one_statement,
};

/* --- names --- */

/* Table names as the stream has them: unqualified in public, else schema.table. */
static char *stream_name(const char *nsp, const char *rel)
{
	return table_name_make(strcmp(nsp, "public") ? nsp : NULL, rel);
}

char *pg_qualify(const char *name)
{
	char *schema, *table;
	table_name_split(name, &schema, &table);
	char *q = table_name_make(schema ? schema : "public", table);
	free(schema);
	free(table);
	return q;
}

/* Its relkind decides ONLY: an ordinary table is named "ONLY", so that the
 * rows of tables inheriting from it (dumped as tables of their own) are
 * neither read nor written through it; a partitioned table is not, its
 * rows live in its partitions. */
const struct pg_rel *pg_rel(struct db *db, const char *name)
{
	struct pg_db *p = db->impl;
	for (size_t i = 0; i < p->nrels; i++)
		if (!strcmp(p->rels[i]->name, name))
			return p->rels[i];
	char *qname = pg_qualify(name);
	struct buf q = BUF_INIT;
	sql_addf(&q, &pg_dialect, "%T", qname);
	const char *params[1] = { q.buf };
	PGresult *res = pg_query(db, "SELECT relkind FROM pg_catalog.pg_class WHERE oid = $1::regclass", 1, params);
	buf_release(&q);
	if (!res) {
		free(qname);
		return NULL;
	}
	char kind = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)[0] : 'r';
	PQclear(res);
	struct pg_rel *r = xcalloc(1, sizeof(*r));
	r->name = xstrdup(name);
	r->qname = qname;
	r->only = kind == 'r' ? "ONLY " : "";
	p->rels = xrealloc(p->rels, (p->nrels + 1) * sizeof(*p->rels));
	p->rels[p->nrels++] = r;
	return r;
}

void pg_rels_release(struct pg_db *p)
{
	for (size_t i = 0; i < p->nrels; i++) {
		free(p->rels[i]->name);
		free(p->rels[i]->qname);
		free(p->rels[i]);
	}
	free(p->rels);
	p->rels = NULL;
	p->nrels = 0;
}

/* --- arrays --- */

/* Not an array itself, and of a type whose array literal separates
 * elements with commas. */
int pg_arrayable(const struct column *col)
{
	size_t n = strlen(col->native);
	return col->type != VT_OTHER && !(n && col->native[n - 1] == ']');
}

void pg_array_element(struct buf *out, const struct column *col, const struct row *r, size_t i)
{
	if (r->v[i].state != V_SET) {
		buf_adds(out, "NULL");
		return;
	}
	const char *s = row_ptr(r, i);
	size_t n = r->v[i].len;
	buf_addch(out, '"');
	if (col->type == VT_BYTES) {
		buf_adds(out, "\\\\x");
		buf_add_hex(out, s, n);
	} else {
		size_t start = 0;
		for (size_t j = 0; j < n; j++)
			if (s[j] == '"' || s[j] == '\\') {
				buf_add(out, s + start, j - start);
				buf_addch(out, '\\');
				start = j;
			}
		buf_add(out, s + start, n - start);
	}
	buf_addch(out, '"');
}

/* --- the schema --- */

/* The tables we dump: ordinary tables and partitioned parents (not their
 * partitions, whose rows the parent shows) of every non-system schema,
 * leaving out tables that belong to extensions. */
#define TABLES_CTE                                                                     \
	"WITH tbl AS (SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c "     \
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "                       \
	"WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "                         \
	"AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "          \
	"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass " \
	"AND d.objid = c.oid AND d.deptype = 'e')) "

static const char q_tables[] = TABLES_CTE
	"SELECT t.oid, t.nspname, t.relname, "
	"EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = t.oid AND NOT g.tgisinternal) "
	"FROM tbl t ORDER BY t.oid";

static const char q_columns[] = TABLES_CTE
	"SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
	"a.attnotnull, a.attidentity <> '', a.attgenerated <> '', "
	"CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END, "
	"CASE WHEN ty.typtype = 'd' THEN (SELECT b.typtype FROM pg_catalog.pg_type b WHERE b.oid = ty.typbasetype) ELSE ty.typtype END, "
	"COALESCE(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) LIKE 'nextval(%', false), "
	"CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END, "
	"CASE WHEN ty.typtype = 'd' THEN pg_catalog.format_type(ty.oid, NULL) END "
	"FROM tbl t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid "
	"JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid "
	"LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
	"WHERE a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum";

/* Primary keys and the unique indexes that could stand in for one (no
 * predicate, no expressions, valid), one row per key column: the primary
 * key first, then unique indexes by name, as table_offer_key wants them. */
static const char q_keys[] = TABLES_CTE
	"SELECT i.indrelid, i.indexrelid, i.indisprimary, k.attnum "
	"FROM tbl t JOIN pg_catalog.pg_index i ON i.indrelid = t.oid "
	"JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
	"CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
	"WHERE (i.indisprimary OR i.indisunique) AND i.indpred IS NULL AND i.indexprs IS NULL "
	"AND i.indisvalid AND k.ord <= i.indnkeyatts "
	"ORDER BY i.indrelid, i.indisprimary DESC, ic.relname COLLATE \"C\", i.indexrelid, k.ord";

/* The other indexes, described as the primary key's are (no predicate,
 * no expressions), one row per column, with their access method: one
 * other than btree (Sakila's gist index of film.fulltext) is an index of
 * PostgreSQL's own kind. */
static const char q_indexes[] = TABLES_CTE
	"SELECT i.indrelid, ic.relname, i.indisunique, a.attname, "
	"EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conindid = i.indexrelid "
	"AND con.conrelid = i.indrelid AND con.contype = 'u'), "
	"(SELECT am.amname FROM pg_catalog.pg_am am WHERE am.oid = ic.relam) "
	"FROM tbl t JOIN pg_catalog.pg_index i ON i.indrelid = t.oid "
	"JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
	"CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
	"JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
	"WHERE NOT i.indisprimary AND i.indpred IS NULL AND i.indexprs IS NULL "
	"AND i.indisvalid AND k.ord <= i.indnkeyatts "
	"ORDER BY i.indrelid, ic.relname COLLATE \"C\", k.ord";

static const char q_refs[] = TABLES_CTE
	"SELECT con.conrelid, con.oid, con.condeferrable, rn.nspname, rc.relname, a.attname, fa.attname, "
	"con.confdeltype, con.confupdtype, con.conname "
	"FROM tbl t JOIN pg_catalog.pg_constraint con ON con.conrelid = t.oid AND con.contype = 'f' "
	"AND con.conparentid = 0 "
	"JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid "
	"JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
	"CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(a1, a2, ord) "
	"JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.a1 "
	"JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.a2 "
	"ORDER BY con.conrelid, con.conname COLLATE \"C\", con.oid, k.ord";

/* CHECK constraints, as pg_get_constraintdef writes them: "CHECK ((a >
 * 0))", maybe followed by NOT VALID or NO INHERIT. */
static const char q_checks[] = TABLES_CTE
	"SELECT con.conrelid, con.conname, pg_catalog.pg_get_constraintdef(con.oid) "
	"FROM tbl t JOIN pg_catalog.pg_constraint con ON con.conrelid = t.oid AND con.contype = 'c' "
	"ORDER BY con.conrelid, con.conname COLLATE \"C\"";

/* The user's triggers (not those that enforce foreign keys), by name. */
static const char q_triggers[] = TABLES_CTE
	"SELECT g.tgrelid, g.tgname, pg_catalog.pg_get_triggerdef(g.oid) "
	"FROM tbl t JOIN pg_catalog.pg_trigger g ON g.tgrelid = t.oid AND NOT g.tgisinternal "
	"ORDER BY g.tgrelid, g.tgname COLLATE \"C\"";

/* What a table record does not describe, said for people: its
 * partitioning (the partitions are not
 * tables of the stream), a column of a domain over an enum or another
 * domain (the record carries a domain over a plain type, q_domains). */
static const char q_not_carried[] = TABLES_CTE
	"SELECT c.oid, 'partitioning by ' || pg_catalog.pg_get_partkeydef(c.oid) FROM tbl t "
	"JOIN pg_catalog.pg_class c ON c.oid = t.oid AND c.relkind = 'p' "
	"UNION ALL SELECT a.attrelid, 'column \"' || a.attname || '\" of the domain type ' || "
	"pg_catalog.format_type(a.atttypid, NULL) FROM tbl t "
	"JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped "
	"JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid AND ty.typtype = 'd' "
	"JOIN pg_catalog.pg_type bt ON bt.oid = ty.typbasetype AND bt.typtype IN ('d', 'e') "
	"ORDER BY 1, 2";

/* Every domain outside the system schemas over a plain type (not an enum,
 * not a domain), named as format_type names a column's type, one row a
 * check (by name; none: one row of NULLs): a column's domain is found
 * here by its native type, and dbapply --schema makes a domain only
 * where none of that name is. */
static const char q_domains[] =
	"SELECT pg_catalog.format_type(t.oid, NULL), pg_catalog.format_type(t.typbasetype, t.typtypmod), "
	"t.typnotnull, t.typdefault, con.conname, pg_catalog.pg_get_constraintdef(con.oid) "
	"FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
	"JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype AND bt.typtype NOT IN ('d', 'e') "
	"LEFT JOIN pg_catalog.pg_constraint con ON con.contypid = t.oid AND con.contype = 'c' "
	"WHERE t.typtype = 'd' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
	"ORDER BY t.oid, con.conname COLLATE \"C\"";

/* The rules of each table by name (Sakila's payment_insert_p2007_01
 * sends inserts into a child), as pg_get_ruledef makes them. */
static const char q_rules[] = TABLES_CTE
	"SELECT r.ev_class, r.rulename, pg_catalog.pg_get_ruledef(r.oid) FROM tbl t "
	"JOIN pg_catalog.pg_rewrite r ON r.ev_class = t.oid AND r.rulename <> '_RETURN' "
	"ORDER BY r.ev_class, r.rulename COLLATE \"C\"";

/* The functions of the database's own schemas (not of an extension),
 * by signature, with their CREATE FUNCTION: those a table's triggers
 * call travel with them (q_trigger_functions), and dbapply --schema
 * makes one only where the target has none of that signature. */
#define OWN_FUNCTION                                                                     \
	"n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "                \
	"AND p.prokind IN ('f', 'p') AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d "   \
	"WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') "

static const char q_functions[] =
	"SELECT p.oid::pg_catalog.regprocedure::text, pg_catalog.pg_get_functiondef(p.oid) "
	"FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
	"WHERE " OWN_FUNCTION "ORDER BY 1";

static const char q_trigger_functions[] = TABLES_CTE
	"SELECT DISTINCT g.tgrelid, p.oid::pg_catalog.regprocedure::text FROM tbl t "
	"JOIN pg_catalog.pg_trigger g ON g.tgrelid = t.oid AND NOT g.tgisinternal "
	"JOIN pg_catalog.pg_proc p ON p.oid = g.tgfoid "
	"JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
	"WHERE " OWN_FUNCTION "ORDER BY 1, 2";

/* The tables each inherits from, in their order (not partitions: those
 * are not tables of the stream). */
static const char q_inherits[] = TABLES_CTE
	"SELECT i.inhrelid, pn.nspname, p.relname FROM tbl t "
	"JOIN pg_catalog.pg_inherits i ON i.inhrelid = t.oid JOIN pg_catalog.pg_class p ON p.oid = i.inhparent "
	"JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace "
	"ORDER BY i.inhrelid, i.inhseqno";

/* The values of enum columns (a domain over an enum too), in order. */
static const char q_labels[] = TABLES_CTE
	"SELECT a.attrelid, a.attnum, e.enumlabel "
	"FROM tbl t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped "
	"JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid "
	"JOIN pg_catalog.pg_enum e ON e.enumtypid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END "
	"ORDER BY a.attrelid, a.attnum, e.enumsortorder";

/* A table being loaded: its oid and the column index of each attnum. */
struct loading {
	unsigned oid;
	struct table *t;
	int nattr;
	long *col_of_attnum; /* index by attnum, -1 for none */
};

static struct loading *find_loading(struct loading *v, size_t n, unsigned oid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid].oid == oid)
			return &v[mid];
		if (v[mid].oid < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static unsigned getoid(const PGresult *res, int r, int c)
{
	return (unsigned)strtoul(PQgetvalue(res, r, c), NULL, 10);
}

static int getbool(const PGresult *res, int r, int c)
{
	return PQgetvalue(res, r, c)[0] == 't';
}

/* The column of l with the attnum in text; SIZE_MAX for none. */
static size_t column_of(const struct loading *l, const char *attnum)
{
	long a = strtol(attnum, NULL, 10);
	if (a <= 0 || a > l->nattr || l->col_of_attnum[a] < 0)
		return SIZE_MAX;
	return (size_t)l->col_of_attnum[a];
}

/* The tables of q_tables, in its order (by oid). */
static struct loading *new_tables(PGresult *tabs, size_t *n)
{
	*n = (size_t)PQntuples(tabs);
	struct loading *v = xcalloc(*n ? *n : 1, sizeof(*v));
	for (size_t i = 0; i < *n; i++) {
		char *name = stream_name(PQgetvalue(tabs, (int)i, 1), PQgetvalue(tabs, (int)i, 2));
		v[i].oid = getoid(tabs, (int)i, 0);
		v[i].t = table_new(name);
		v[i].t->has_triggers = getbool(tabs, (int)i, 3);
		free(name);
	}
	return v;
}

/* The domains of s (load_domains) are those the columns name. */
static void load_columns(PGresult *res, struct loading *v, size_t n, const struct schema *s)
{
	/* The largest attnum per table first, for the attnum map. */
	int nr = PQntuples(res);
	for (int r = 0; r < nr; r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		int a = atoi(PQgetvalue(res, r, 1));
		if (l && a > l->nattr)
			l->nattr = a;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].col_of_attnum = xmalloc(((size_t)v[i].nattr + 1) * sizeof(long));
		for (int a = 0; a <= v[i].nattr; a++)
			v[i].col_of_attnum[a] = -1;
	}
	for (int r = 0; r < nr; r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		if (!l)
			continue;
		enum vtype vt = pg_vtype(getoid(res, r, 7), PQgetvalue(res, r, 8)[0]);
		l->col_of_attnum[atoi(PQgetvalue(res, r, 1))] = (long)l->t->ncols;
		struct column *c = table_add_column(l->t, PQgetvalue(res, r, 2), vt,
						    PQgetvalue(res, r, 3), !getbool(res, r, 4));
		const struct domain *dom = PQgetisnull(res, r, 11) ? NULL : schema_find_domain(s, PQgetvalue(res, r, 11));
		/* a domain's values are those of its base type */
		const char *base = dom ? dom->base : c->native;
		c->domain = domain_copy(dom);
		c->autoinc = getbool(res, r, 5) || getbool(res, r, 9);
		c->generated = getbool(res, r, 6);
		c->exact_text = vt == VT_DECIMAL && !strcmp(base, "numeric");
		if (!c->autoinc && !PQgetisnull(res, r, 10))
			c->default_sql = column_default_normalize(PQgetvalue(res, r, 10), c);
		c->json_doc = !strcmp(base, "jsonb");
		/* numeric without a typmod keeps any scale; times keep 6 digits */
		if (vt == VT_DECIMAL || vt == VT_TIME || vt == VT_TIMESTAMP || vt == VT_TIMESTAMPTZ)
			c->scale = native_scale(base, vt == VT_DECIMAL, vt == VT_DECIMAL ? -1 : 6);
	}
}

/* Offer each table its indexes from the rows of q_keys, one index a run
 * of rows; a table that takes none is keyed by its whole row. */
static void offer_keys(PGresult *res, struct loading *v, size_t n)
{
	int nr = PQntuples(res);
	size_t *cols = xcalloc(nr ? (size_t)nr : 1, sizeof(*cols));
	for (int r = 0; r < nr;) {
		unsigned rel = getoid(res, r, 0), idx = getoid(res, r, 1);
		int primary = getbool(res, r, 2);
		struct loading *l = find_loading(v, n, rel);
		size_t ncols = 0;
		for (; r < nr && getoid(res, r, 0) == rel && getoid(res, r, 1) == idx; r++)
			cols[ncols++] = l ? column_of(l, PQgetvalue(res, r, 3)) : SIZE_MAX;
		if (l)
			table_offer_key(l->t, primary, cols, ncols);
	}
	free(cols);
	for (size_t i = 0; i < n; i++)
		table_settle_key(v[i].t);
}

static void load_indexes(PGresult *res, struct loading *v, size_t n)
{
	int nr = PQntuples(res);
	struct index *ix = NULL;
	struct loading *last = NULL;
	for (int r = 0; r < nr; r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		if (!l)
			continue;
		if (!ix || l != last || strcmp(ix->name, PQgetvalue(res, r, 1))) {
			ix = table_add_index(l->t, PQgetvalue(res, r, 1), getbool(res, r, 2));
			ix->constraint = getbool(res, r, 4);
			if (strcmp(PQgetvalue(res, r, 5), "btree"))
				ix->kind = xstrdup(PQgetvalue(res, r, 5));
		}
		last = l;
		index_add_column(ix, PQgetvalue(res, r, 3));
	}
}

/* pg_constraint's letters for the actions of a foreign key. */
static enum ref_action pg_ref_action(char c)
{
	switch (c) {
	case 'r': return REF_RESTRICT;
	case 'c': return REF_CASCADE;
	case 'n': return REF_SET_NULL;
	case 'd': return REF_SET_DEFAULT;
	default: return REF_NO_ACTION;
	}
}

static void load_refs(PGresult *res, struct loading *v, size_t n)
{
	int nr = PQntuples(res);
	unsigned last = 0;
	struct ref *rf = NULL;
	for (int r = 0; r < nr; r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		unsigned con = getoid(res, r, 1);
		if (!l)
			continue;
		if (!rf || con != last) {
			char *to = stream_name(PQgetvalue(res, r, 3), PQgetvalue(res, r, 4));
			rf = table_add_ref(l->t, to, getbool(res, r, 2));
			rf->on_delete = pg_ref_action(PQgetvalue(res, r, 7)[0]);
			rf->on_update = pg_ref_action(PQgetvalue(res, r, 8)[0]);
			rf->name = xstrdup(PQgetvalue(res, r, 9));
			free(to);
			last = con;
		}
		ref_add_column(rf, PQgetvalue(res, r, 5), PQgetvalue(res, r, 6));
	}
}

static void load_labels(PGresult *res, struct loading *v, size_t n)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		size_t c = l ? column_of(l, PQgetvalue(res, r, 1)) : SIZE_MAX;
		if (c != SIZE_MAX)
			column_add_label(&l->t->cols[c], PQgetvalue(res, r, 2));
	}
}

static void load_triggers(PGresult *res, struct loading *v, size_t n)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		if (l)
			table_add_trigger(l->t, PQgetvalue(res, r, 1), PQgetvalue(res, r, 2));
	}
}

static void load_rules(PGresult *res, struct loading *v, size_t n)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		char *sql = xstrdup(PQgetvalue(res, r, 2));
		size_t len = strlen(sql);
		if (len && sql[len - 1] == ';') /* a statement, as a trigger's is */
			sql[len - 1] = '\0';
		if (l)
			table_add_rule(l->t, PQgetvalue(res, r, 1), sql);
		free(sql);
	}
}

static void load_functions(PGresult *all, PGresult *used, struct loading *v, size_t n, struct schema *out)
{
	for (int r = 0; r < PQntuples(all); r++) {
		ALLOC_GROW(out->functions, out->nfunctions + 1, out->functions_alloc);
		out->functions[out->nfunctions].name = xstrdup(PQgetvalue(all, r, 0));
		out->functions[out->nfunctions++].sql = xstrdup(PQgetvalue(all, r, 1));
	}
	for (int r = 0; r < PQntuples(used); r++) {
		struct loading *l = find_loading(v, n, getoid(used, r, 0));
		const struct trigger *f = schema_find_function(out, PQgetvalue(used, r, 1));
		if (l && f)
			table_add_function(l->t, f->name, f->sql);
	}
}

static void load_inherits(PGresult *res, struct loading *v, size_t n)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		char *parent = stream_name(PQgetvalue(res, r, 1), PQgetvalue(res, r, 2));
		if (l)
			table_add_inherits(l->t, parent);
		free(parent);
	}
}

static void load_not_carried(PGresult *res, struct loading *v, size_t n)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		if (l)
			table_add_not_carried(l->t, PQgetvalue(res, r, 1));
	}
}

/* pg_get_constraintdef's "CHECK (expr)" (maybe NOT VALID after it): expr. */
static char *check_expression(const char *def)
{
	const char *open = strchr(def, '('), *close = strrchr(def, ')');
	return open && close > open ? xstrndup(open + 1, (size_t)(close - open - 1)) : NULL;
}

static void load_checks(PGresult *res, struct loading *v, size_t n)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		char *expr = l ? check_expression(PQgetvalue(res, r, 2)) : NULL;
		if (!expr)
			continue;
		table_add_check(l->t, PQgetvalue(res, r, 1), expr);
		free(expr);
	}
}

/* Every enum type outside the system schemas, named as format_type names
 * a column's type (so a column's native type finds its type), used by a
 * table or not: dbapply --schema makes a type only where none is. */
static const char q_enum_types[] =
	"SELECT pg_catalog.format_type(t.oid, NULL), e.enumlabel FROM pg_catalog.pg_type t "
	"JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
	"JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid "
	"WHERE t.typtype = 'e' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
	"ORDER BY t.oid, e.enumsortorder";

static void load_domains(PGresult *res, struct schema *out)
{
	struct domain *dom = NULL;
	for (int r = 0; r < PQntuples(res); r++) {
		const char *name = PQgetvalue(res, r, 0);
		if (!dom || strcmp(dom->name, name)) {
			dom = domain_new(name, PQgetvalue(res, r, 1), getbool(res, r, 2),
					 PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3));
			schema_add_domain(out, dom);
		}
		char *expr = PQgetisnull(res, r, 5) ? NULL : check_expression(PQgetvalue(res, r, 5));
		if (expr)
			domain_add_check(dom, PQgetvalue(res, r, 4), expr);
		free(expr);
	}
}

static void load_enum_types(PGresult *res, struct schema *out)
{
	struct enum_type *ty = NULL;
	for (int r = 0; r < PQntuples(res); r++) {
		const char *name = PQgetvalue(res, r, 0);
		if (!ty || strcmp(ty->name, name))
			ty = schema_add_type(out, name);
		ty->labels = xrealloc(ty->labels, (ty->nlabels + 1) * sizeof(*ty->labels));
		ty->labels[ty->nlabels++] = xstrdup(PQgetvalue(res, r, 1));
	}
}

int pg_load_schema(struct db *db, struct schema *out)
{
	PGresult *tabs = NULL, *cols = NULL, *keys = NULL, *refs = NULL, *idx = NULL, *checks = NULL;
	PGresult *labels = NULL, *types = NULL, *triggers = NULL, *uncarried = NULL, *domains = NULL;
	PGresult *inherits = NULL, *rules = NULL, *functions = NULL, *used = NULL;
	struct loading *v = NULL;
	size_t n = 0;
	int rc = -1;
	if (!(tabs = pg_query(db, q_tables, 0, NULL)) || !(cols = pg_query(db, q_columns, 0, NULL)) ||
	    !(keys = pg_query(db, q_keys, 0, NULL)) || !(refs = pg_query(db, q_refs, 0, NULL)) ||
	    !(idx = pg_query(db, q_indexes, 0, NULL)) || !(checks = pg_query(db, q_checks, 0, NULL)) ||
	    !(labels = pg_query(db, q_labels, 0, NULL)) || !(types = pg_query(db, q_enum_types, 0, NULL)) ||
	    !(triggers = pg_query(db, q_triggers, 0, NULL)) ||
	    !(uncarried = pg_query(db, q_not_carried, 0, NULL)) || !(domains = pg_query(db, q_domains, 0, NULL)) ||
	    !(inherits = pg_query(db, q_inherits, 0, NULL)) || !(rules = pg_query(db, q_rules, 0, NULL)) ||
	    !(functions = pg_query(db, q_functions, 0, NULL)) || !(used = pg_query(db, q_trigger_functions, 0, NULL)))
		goto out;
	load_domains(domains, out);
	v = new_tables(tabs, &n);
	load_columns(cols, v, n, out);
	offer_keys(keys, v, n);
	load_refs(refs, v, n);
	load_indexes(idx, v, n);
	load_checks(checks, v, n);
	load_labels(labels, v, n);
	load_enum_types(types, out);
	load_triggers(triggers, v, n);
	load_not_carried(uncarried, v, n);
	load_inherits(inherits, v, n);
	load_rules(rules, v, n);
	load_functions(functions, used, v, n, out);
	for (size_t i = 0; i < n; i++) {
		schema_add(out, v[i].t);
		v[i].t = NULL;
	}
	schema_sort(out);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		table_free(v[i].t);
		free(v[i].col_of_attnum);
	}
	free(v);
	PQclear(tabs);
	PQclear(cols);
	PQclear(keys);
	PQclear(refs);
	PQclear(idx);
	PQclear(checks);
	PQclear(labels);
	PQclear(types);
	PQclear(triggers);
	PQclear(uncarried);
	PQclear(domains);
	PQclear(inherits);
	PQclear(rules);
	PQclear(functions);
	PQclear(used);
	return rc;
}
