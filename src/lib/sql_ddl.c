/* sql_ddl: the CREATE and ALTER statements of dbapply --schema, built once
 * for every engine with sql_addf; what differs (type names, how ids are
 * generated, where foreign keys go) is in the dialect (sql.h). */
#include "sql.h"
#include "check.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sql_native_args(const char *native, unsigned *a, unsigned *b)
{
	const char *p = strchr(native, '(');
	char *end;
	if (!p || !isdigit((unsigned char)p[1]))
		return 0;
	*a = (unsigned)strtoul(p + 1, &end, 10);
	if (*end != ',')
		return 1;
	*b = (unsigned)strtoul(end + 1, &end, 10);
	return 2;
}

int sql_native_has(const char *native, const char *word)
{
	return strcasestr(native, word) != NULL;
}

int sql_int_bytes(const char *native, const char *src_engine)
{
	/* MySQL's unsigned ints reach twice as high: the next size holds them
	 * (a tinyint unsigned, to 255, fits the small one) */
	int wider = sql_native_has(native, "unsigned");
	if (sql_native_has(native, "tinyint") || sql_native_has(native, "year"))
		return 2;
	if (sql_native_has(native, "smallint") || sql_native_has(native, "int2"))
		return wider ? 4 : 2;
	if (sql_native_has(native, "bigint") || sql_native_has(native, "int8"))
		return 8;
	if (sql_native_has(native, "mediumint"))
		return 4;
	/* every SQLite integer is 64 bits, whatever its declared name */
	return strcmp(src_engine, "sqlite") && !wider ? 4 : 8;
}

static void name_list(struct buf *sql, const struct sql_dialect *d, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sql_addf(sql, d, i ? ", %I" : "%I", v[i]);
}

/* Whether column i of t is in its key, an index or a reference: MySQL
 * cannot index a TEXT or BLOB column without a length. */
static int is_indexed(const struct table *t, size_t i)
{
	const char *name = t->cols[i].name;
	if (table_is_key(t, i) && t->key_kind != KEY_ROW)
		return 1;
	/* an index of an engine's own kind is made on its engine only */
	for (size_t x = 0; x < t->nindexes; x++)
		for (size_t c = 0; !t->indexes[x].kind && c < t->indexes[x].ncols; c++)
			if (!strcmp(t->indexes[x].cols[c], name))
				return 1;
	for (size_t r = 0; r < t->nrefs; r++)
		for (size_t c = 0; c < t->refs[r].ncols; c++)
			if (!strcmp(t->refs[r].cols[c], name))
				return 1;
	return 0;
}

/* SQLite numbers the rows of a lone INTEGER PRIMARY KEY itself. */
static int rowid_column(const struct sql_dialect *d, const struct table *t, size_t i)
{
	return d->autoinc == AUTOINC_ROWID && t->cols[i].autoinc && t->key_kind == KEY_PRIMARY &&
	       t->nkey == 1 && t->key[0] == i;
}

int sql_is_one_expression(const char *s)
{
	char quote = 0;
	for (; *s; s++) {
		if (quote) {
			quote = *s == quote ? 0 : quote;
			continue;
		}
		if (*s == '\'' || *s == '"')
			quote = *s;
		else if (*s == ';' || (s[0] == '-' && s[1] == '-') || (s[0] == '/' && s[1] == '*'))
			return 0;
	}
	return !quote;
}

/* A name as format_type writes it: bare when lower-case letters, digits
 * and '_' (not first a digit), else in double quotes. */
static void type_name_part(struct buf *out, const char *name)
{
	int bare = *name && !isdigit((unsigned char)*name);
	for (const char *p = name; *p && bare; p++)
		bare = (*p >= 'a' && *p <= 'z') || isdigit((unsigned char)*p) || *p == '_';
	if (bare) {
		buf_adds(out, name);
		return;
	}
	buf_addch(out, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			buf_addch(out, '"');
		buf_addch(out, *p);
	}
	buf_addch(out, '"');
}

void sql_enum_type_name(struct buf *out, const struct table *t, const struct column *c, const char *src_engine)
{
	if (!strcmp(src_engine, "postgresql")) {
		buf_adds(out, c->native);
		return;
	}
	char *schema, *table;
	table_name_split(t->name, &schema, &table);
	struct buf name = BUF_INIT;
	buf_addf(&name, "%s_%s", table, c->name);
	if (schema) {
		type_name_part(out, schema);
		buf_addch(out, '.');
	}
	type_name_part(out, name.buf);
	buf_release(&name);
	free(schema);
	free(table);
}

void sql_create_enum_type(struct buf *sql, const struct sql_dialect *d, const char *name,
			  const struct column *c)
{
	buf_addf(sql, "CREATE TYPE %s AS ENUM (", name);
	for (size_t i = 0; i < c->nlabels; i++) {
		if (i)
			buf_adds(sql, ", ");
		sql_literal(sql, d, LIT_TEXT, c->labels[i], strlen(c->labels[i]));
	}
	buf_addch(sql, ')');
}

int sql_is_type_name(const char *name)
{
	const char *p = name;
	do {
		if (*p == '"') {
			for (p++; *p && !(p[0] == '"' && p[1] != '"'); p += p[0] == '"' ? 2 : 1)
				;
			if (*p++ != '"')
				return 0;
		} else {
			const char *start = p;
			while ((*p >= 'a' && *p <= 'z') || isdigit((unsigned char)*p) || *p == '_')
				p++;
			if (p == start || isdigit((unsigned char)*start))
				return 0;
		}
	} while (*p == '.' && *++p);
	return *p == '\0';
}

int sql_is_function_signature(const char *name)
{
	const char *open = strchr(name, '(');
	size_t n = strlen(name);
	if (!open || n < 2 || name[n - 1] != ')')
		return 0;
	char *fn = xstrndup(name, (size_t)(open - name));
	int ok = sql_is_type_name(fn);
	free(fn);
	for (const char *p = open + 1; ok && p < name + n - 1; p++)
		ok = isalnum((unsigned char)*p) || strchr("_ ,.[]\"", *p);
	return ok;
}

void sql_drop_type(struct buf *sql, const char *name)
{
	buf_addf(sql, "DROP TYPE %s", name);
}

int sql_one_statement(const struct sql_dialect *d, const char *sql)
{
	return d->one_statement ? d->one_statement(sql) : sql_is_one_expression(sql);
}

static int column_def(struct buf *sql, const struct sql_dialect *d, const struct table *t, size_t i,
		      const char *src_engine, struct buf *dropped, struct buf *err)
{
	const struct column *c = &t->cols[i];
	int same = !strcmp(src_engine, d->engine);
	if (!sql_is_one_expression(c->native) || (c->default_sql && !sql_is_one_expression(c->default_sql))) {
		buf_addf(err, "table \"%s\": column \"%s\": its type or default is not one SQL expression "
			 "(a ';' or a comment): not made", t->name, c->name);
		return -1;
	}
	if (c->generated) {
		buf_addf(err, "table \"%s\": column \"%s\" is generated, and the stream does not hold its "
			 "expression", t->name, c->name);
		return -1;
	}
	sql_addf(sql, d, "%I ", c->name);
	if (rowid_column(d, t, i)) {
		buf_adds(sql, "INTEGER PRIMARY KEY");
		return 0;
	}
	if (c->type == VT_ENUM && d->enum_types) {
		sql_enum_type_name(sql, t, c, src_engine);
	} else {
		struct buf why = BUF_INIT;
		int rc = d->column_type(sql, c, is_indexed(t, i), src_engine, &why);
		if (rc < 0)
			buf_addf(err, "table \"%s\": %s", t->name, why.len ? why.buf : "a column without a type");
		buf_release(&why);
		if (rc < 0)
			return -1;
	}
	if (c->autoinc && d->autoinc == AUTOINC_IDENTITY)
		buf_adds(sql, " GENERATED BY DEFAULT AS IDENTITY");
	else if (c->autoinc && d->autoinc == AUTOINC_KEYWORD)
		buf_adds(sql, " AUTO_INCREMENT");
	if (!c->nullable)
		buf_adds(sql, " NOT NULL");
	if (c->default_sql && (same || default_is_portable(c->default_sql)))
		buf_addf(sql, " DEFAULT %s", c->default_sql);
	else if (c->default_sql && dropped)
		buf_addf(dropped, "\"%s\".\"%s\" DEFAULT %s; ", t->name, c->name, c->default_sql);
	return 0;
}

static int reference_clause(struct buf *sql, const struct sql_dialect *d, const struct table *t,
			    const struct ref *r, struct buf *err)
{
	if (d->no_set_default && (r->on_delete == REF_SET_DEFAULT || r->on_update == REF_SET_DEFAULT)) {
		buf_addf(err, "table \"%s\": a foreign key to \"%s\" with SET DEFAULT, which %s refuses",
			 t->name, r->table, d->engine);
		return -1;
	}
	/* InnoDB refuses SET NULL on a NOT NULL column ("incorrectly formed"),
	 * which PostgreSQL and SQLite take: there the delete or update then
	 * fails, as it does with NO ACTION, which MySQL gets instead
	 * (ref_action_effective) */
	enum ref_action on_delete = r->on_delete, on_update = r->on_update;
	if (!strcmp(d->engine, "mysql")) {
		on_delete = ref_action_effective(t, r, on_delete);
		on_update = ref_action_effective(t, r, on_update);
	}
	sql_addf(sql, d, "REFERENCES %T (", r->table);
	name_list(sql, d, r->to, r->ncols);
	buf_addch(sql, ')');
	if (on_delete != REF_NO_ACTION)
		buf_addf(sql, " ON DELETE %s", ref_action_sql(on_delete));
	if (on_update != REF_NO_ACTION)
		buf_addf(sql, " ON UPDATE %s", ref_action_sql(on_update));
	if (r->deferrable && d->deferrable_references)
		buf_adds(sql, " DEFERRABLE");
	return 0;
}

/* A check of t as a table constraint: as the stream has it for its own
 * engine, else rendered in d's SQL where it is portable (check.h). */
static int check_clause(struct buf *sql, const struct sql_dialect *d, const struct table *t,
			const struct check *ck, const char *src_engine, struct buf *err)
{
	struct buf expr = BUF_INIT;
	int portable = check_render(&expr, d, t, ck->expr);
	if (portable < 0 || (!portable && strcmp(src_engine, d->engine))) {
		buf_addf(err, "table \"%s\": check %s%s%s(%s) %s: not made", t->name, ck->name ? "\"" : "",
			 ck->name ? ck->name : "", ck->name ? "\" " : "", ck->expr,
			 portable < 0 ? "is not one SQL expression"
				      : "uses more than columns, literals, comparisons, arithmetic and AND/OR/NOT, "
					"which every engine reads alike");
		buf_release(&expr);
		return -1;
	}
	buf_adds(sql, ", ");
	if (ck->name)
		sql_addf(sql, d, "CONSTRAINT %I ", ck->name);
	buf_addf(sql, "CHECK (%s)", strcmp(src_engine, d->engine) ? expr.buf : ck->expr);
	buf_release(&expr);
	return 0;
}

int sql_check_clause(struct buf *sql, const struct sql_dialect *d, const struct table *t, const struct check *ck,
		     const char *src_engine, struct buf *err)
{
	struct buf clause = BUF_INIT;
	int ret = check_clause(&clause, d, t, ck, src_engine, err);
	if (ret == 0)
		buf_adds(sql, clause.buf + 2); /* past its ", " */
	buf_release(&clause);
	return ret;
}

int sql_add_check(struct buf *sql, const struct sql_dialect *d, const struct table *t, const struct check *ck,
		  const char *src_engine, struct buf *err)
{
	struct buf clause = BUF_INIT;
	int ret = sql_check_clause(&clause, d, t, ck, src_engine, err);
	if (ret == 0)
		sql_addf(sql, d, "ALTER TABLE %T ADD %s", t->name, clause.buf);
	buf_release(&clause);
	return ret;
}

void sql_drop_check(struct buf *sql, const struct sql_dialect *d, const char *table, const char *name)
{
	/* MariaDB (10.2) and MySQL (8.0.19) take it as PostgreSQL does */
	sql_addf(sql, d, "ALTER TABLE %T DROP CONSTRAINT %I", table, name);
}

void sql_drop_trigger(struct buf *sql, const struct sql_dialect *d, const char *table, const char *name)
{
	/* PostgreSQL's (the dialect that alters a column by parts) are named per table */
	if (d->alter == ALTER_PARTS)
		sql_addf(sql, d, "DROP TRIGGER %I ON %T", name, table);
	else
		sql_addf(sql, d, "DROP TRIGGER %I", name);
}

static int create_table(struct buf *sql, const struct sql_dialect *d, const struct table *t,
			const char *src_engine, struct buf *dropped, struct buf *err)
{
	int rowid = 0;
	sql_addf(sql, d, "CREATE TABLE %T (", t->name);
	for (size_t i = 0; i < t->ncols; i++) {
		if (i)
			buf_adds(sql, ", ");
		if (column_def(sql, d, t, i, src_engine, dropped, err) < 0)
			return -1;
		rowid |= rowid_column(d, t, i);
	}
	if (t->key_kind == KEY_PRIMARY && t->nkey && !rowid)
		sql_addf(sql, d, ", PRIMARY KEY (%K)", t);
	for (size_t r = 0; d->inline_references && r < t->nrefs; r++) {
		buf_adds(sql, ", FOREIGN KEY (");
		name_list(sql, d, t->refs[r].cols, t->refs[r].ncols);
		buf_adds(sql, ") ");
		if (reference_clause(sql, d, t, &t->refs[r], err) < 0)
			return -1;
	}
	for (size_t c = 0; c < t->nchecks; c++)
		if (check_clause(sql, d, t, &t->checks[c], src_engine, err) < 0)
			return -1;
	buf_addch(sql, ')');
	/* its columns are listed too: PostgreSQL merges them with the parent's */
	for (size_t p = 0; !strcmp(src_engine, d->engine) && p < t->ninherits; p++)
		sql_addf(sql, d, p ? ", %T" : " INHERITS (%T", t->inherits[p]);
	if (!strcmp(src_engine, d->engine) && t->ninherits)
		buf_addch(sql, ')');
	return 0;
}

static int add_column(struct buf *sql, const struct sql_dialect *d, const struct table *t, size_t i,
		      const char *src_engine, struct buf *dropped, struct buf *err)
{
	sql_addf(sql, d, "ALTER TABLE %T ADD COLUMN ", t->name);
	if (column_def(sql, d, t, i, src_engine, dropped, err) < 0)
		return -1;
	for (size_t r = 0; d->inline_references && r < t->nrefs; r++)
		if (t->refs[r].ncols == 1 && !strcmp(t->refs[r].cols[0], t->cols[i].name)) {
			buf_addch(sql, ' ');
			return reference_clause(sql, d, t, &t->refs[r], err);
		}
	return 0;
}

/* On another engine than its own, t with its domains made of their base
 * types and checks (check_domains_inlined): *copy to free; NULL with err
 * set when a domain's check cannot be read. */
static const struct table *domains_inlined(const struct sql_dialect *d, const struct table *t,
					   const char *src_engine, struct table **copy, struct buf *err)
{
	int bad = 0;
	*copy = strcmp(src_engine, d->engine) ? check_domains_inlined(t, &bad) : NULL;
	if (bad)
		buf_addf(err, "table \"%s\": a check of a domain of its columns is not one SQL expression: not made",
			 t->name);
	return bad ? NULL : *copy ? *copy : t;
}

int sql_create_table(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		     const char *src_engine, struct buf *dropped, struct buf *err)
{
	struct table *copy;
	const struct table *made = domains_inlined(d, t, src_engine, &copy, err);
	int rc = made ? create_table(sql, d, made, src_engine, dropped, err) : -1;
	table_free(copy);
	return rc;
}

/* A column of a domain added on another engine: its base type, and its
 * checks as checks of the table, which ALTER TABLE ADD COLUMN takes as
 * "ADD COLUMN ... , ADD CHECK (...)" on MySQL and not at all on SQLite:
 * refused there by name rather than added without them. */
int sql_add_column(struct buf *sql, const struct sql_dialect *d, const struct table *t, size_t i,
		   const char *src_engine, struct buf *dropped, struct buf *err)
{
	const struct domain *dom = t->cols[i].domain;
	if (dom && dom->nchecks && strcmp(src_engine, d->engine)) {
		buf_addf(err, "table \"%s\": column \"%s\" is of the domain %s, whose checks %s cannot add to a "
			 "table that exists: not made (add the column and its check by hand)", t->name,
			 t->cols[i].name, dom->name, d->engine);
		return -1;
	}
	struct table *copy;
	const struct table *made = domains_inlined(d, t, src_engine, &copy, err);
	int rc = made ? add_column(sql, d, made, i, src_engine, dropped, err) : -1;
	table_free(copy);
	return rc;
}

void sql_create_domain(struct buf *sql, const struct domain *dom)
{
	buf_addf(sql, "CREATE DOMAIN %s AS %s", dom->name, dom->base);
	if (dom->default_sql)
		buf_addf(sql, " DEFAULT %s", dom->default_sql);
	if (dom->not_null)
		buf_adds(sql, " NOT NULL");
	for (size_t k = 0; k < dom->nchecks; k++) {
		if (dom->checks[k].name) {
			buf_adds(sql, " CONSTRAINT ");
			type_name_part(sql, dom->checks[k].name);
		}
		buf_addf(sql, " CHECK (%s)", dom->checks[k].expr);
	}
}

int sql_domain_makeable(const struct domain *dom)
{
	int ok = sql_is_type_name(dom->name) && sql_is_one_expression(dom->base) &&
		 (!dom->default_sql || sql_is_one_expression(dom->default_sql));
	for (size_t k = 0; ok && k < dom->nchecks; k++)
		ok = sql_is_one_expression(dom->checks[k].expr);
	return ok;
}

/* SQLite names the indexes of UNIQUE constraints itself, in a namespace
 * no CREATE INDEX may use. */
static void index_name(struct buf *out, const struct table *t, const struct index *ix)
{
	if (strncmp(ix->name, "sqlite_autoindex_", 17)) {
		buf_adds(out, ix->name);
		return;
	}
	char *schema, *table;
	table_name_split(t->name, &schema, &table);
	buf_adds(out, table);
	for (size_t c = 0; c < ix->ncols; c++)
		buf_addf(out, "_%s", ix->cols[c]);
	buf_adds(out, "_key");
	free(schema);
	free(table);
}

void sql_unique_clause(struct buf *sql, const struct sql_dialect *d, const struct index *ix)
{
	buf_adds(sql, "UNIQUE (");
	name_list(sql, d, ix->cols, ix->ncols);
	buf_addch(sql, ')');
}

void sql_create_index(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		      const struct index *ix)
{
	struct buf name = BUF_INIT;
	index_name(&name, t, ix);
	if (ix->constraint) { /* PostgreSQL's UNIQUE constraint, put back as one */
		sql_addf(sql, d, "ALTER TABLE %T ADD CONSTRAINT %I ", t->name, name.buf);
		sql_unique_clause(sql, d, ix);
		buf_release(&name);
		return;
	}
	/* a kind of index is made only by its own engine (apply_schema's refusal) */
	sql_addf(sql, d, "CREATE %s%s%sINDEX %I ON %T ", ix->unique ? "UNIQUE " : "",
		 ix->kind && !strcmp(ix->kind, "fulltext") ? "FULLTEXT " : "",
		 ix->kind && !strcmp(ix->kind, "spatial") ? "SPATIAL " : "", name.buf, t->name);
	/* PostgreSQL's access methods (gist, gin, hash, brin): a bare name */
	if (ix->kind && strcmp(ix->kind, "fulltext") && strcmp(ix->kind, "spatial") && sql_is_type_name(ix->kind) &&
	    !strchr(ix->kind, '.') && !strchr(ix->kind, '"'))
		buf_addf(sql, "USING %s ", ix->kind);
	buf_addch(sql, '(');
	name_list(sql, d, ix->cols, ix->ncols);
	buf_addch(sql, ')');
	buf_release(&name);
}

/* PostgreSQL's own name for a foreign key, which names it in messages and
 * lets MySQL drop it again. */
static void reference_name(struct buf *out, const struct table *t, const struct ref *r)
{
	char *schema, *table;
	table_name_split(t->name, &schema, &table);
	buf_adds(out, table);
	for (size_t c = 0; c < r->ncols; c++)
		buf_addf(out, "_%s", r->cols[c]);
	buf_adds(out, "_fkey");
	free(schema);
	free(table);
}

int sql_add_reference(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		      const struct ref *r, struct buf *err)
{
	struct buf name = BUF_INIT;
	if (r->name) /* the engine's own (an undo stream's restore) */
		buf_adds(&name, r->name);
	else
		reference_name(&name, t, r);
	sql_addf(sql, d, "ALTER TABLE %T ADD CONSTRAINT %I FOREIGN KEY (", t->name, name.buf);
	buf_release(&name);
	name_list(sql, d, r->cols, r->ncols);
	buf_adds(sql, ") ");
	return reference_clause(sql, d, t, r, err);
}

void sql_drop_table(struct buf *sql, const struct sql_dialect *d, const char *table)
{
	sql_addf(sql, d, "DROP TABLE %T", table);
}

void sql_drop_column(struct buf *sql, const struct sql_dialect *d, const char *table, const char *column)
{
	sql_addf(sql, d, "ALTER TABLE %T DROP COLUMN %I", table, column);
}

void sql_drop_reference(struct buf *sql, const struct sql_dialect *d, const struct table *t,
			const struct ref *r)
{
	struct buf name = BUF_INIT;
	if (r->name)
		buf_adds(&name, r->name);
	else
		reference_name(&name, t, r);
	sql_addf(sql, d, d->index_per_table ? "ALTER TABLE %T DROP FOREIGN KEY %I" : "ALTER TABLE %T DROP CONSTRAINT %I",
		 t->name, name.buf);
	buf_release(&name);
}

void sql_drop_index(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		    const struct index *ix)
{
	struct buf name = BUF_INIT;
	index_name(&name, t, ix);
	if (d->index_per_table) {
		sql_addf(sql, d, "DROP INDEX %I ON %T", name.buf, t->name);
	} else if (ix->constraint) {
		sql_addf(sql, d, "ALTER TABLE %T DROP CONSTRAINT %I", t->name, name.buf);
	} else {
		/* PostgreSQL's index lives in its table's schema */
		char *schema, *table;
		table_name_split(t->name, &schema, &table);
		if (schema && d->schemas)
			sql_addf(sql, d, "DROP INDEX %I.%I", schema, name.buf);
		else
			sql_addf(sql, d, "DROP INDEX %I", name.buf);
		free(schema);
		free(table);
	}
	buf_release(&name);
}

/* MySQL: whether column c (its definition def) is column was already:
 * the same type, NULLs and default, so no MODIFY is needed. */
static int columns_alike(const struct sql_dialect *d, const struct column *was, const struct column *c,
			 const char *def)
{
	struct buf type = BUF_INIT;
	sql_addf(&type, d, "%I %s", c->name, was->native);
	int same = !strncasecmp(def, type.buf, type.len) && (def[type.len] == '\0' || def[type.len] == ' ') &&
		   was->nullable == c->nullable &&
		   ((!was->default_sql && !c->default_sql) ||
		    (was->default_sql && c->default_sql && !strcmp(was->default_sql, c->default_sql)));
	buf_release(&type);
	return same;
}

int sql_alter_column(struct buf *sql, const struct sql_dialect *d, const struct column *was,
		     const struct table *t, size_t i, const char *src_engine, struct buf *err)
{
	const struct column *c = &t->cols[i];
	if (d->alter == ALTER_MODIFY) {
		struct buf def = BUF_INIT;
		int rc = column_def(&def, d, t, i, src_engine, NULL, err);
		if (rc == 0 && (!was || !columns_alike(d, was, c, def.buf)))
			sql_addf(sql, d, "ALTER TABLE %T MODIFY COLUMN %s", t->name, def.buf);
		buf_release(&def);
		return rc;
	}
	if (!sql_is_one_expression(c->native) || (c->default_sql && !sql_is_one_expression(c->default_sql))) {
		buf_addf(err, "table \"%s\": column \"%s\": its type or default is not one SQL expression "
			 "(a ';' or a comment): not made", t->name, c->name);
		return -1;
	}
	struct buf type = BUF_INIT, why = BUF_INIT, parts_sql = BUF_INIT;
	int parts = 0;
	struct buf *whole = sql;
	sql = &parts_sql;
	if (d->column_type(&type, c, is_indexed(t, i), src_engine, &why) < 0) {
		buf_addf(err, "table \"%s\": %s", t->name, why.len ? why.buf : "a column without a type");
		buf_release(&type);
		buf_release(&why);
		return -1;
	}
	if (!was || strcasecmp(was->native, type.buf))
		sql_addf(sql, d, "%s ALTER COLUMN %I TYPE %s", parts++ ? "," : "", c->name, type.buf);
	if (!was || was->nullable != c->nullable)
		sql_addf(sql, d, "%s ALTER COLUMN %I %s NOT NULL", parts++ ? "," : "", c->name,
			 c->nullable ? "DROP" : "SET");
	/* a default of another engine that is not portable stays as it is */
	const char *def = c->default_sql;
	if (def && strcmp(src_engine, d->engine) && !default_is_portable(def))
		def = was ? was->default_sql : NULL;
	if (!was || !((!was->default_sql && !def) ||
		      (was->default_sql && def && !strcmp(was->default_sql, def)))) {
		if (def)
			sql_addf(sql, d, "%s ALTER COLUMN %I SET DEFAULT %s", parts++ ? "," : "", c->name, def);
		else
			sql_addf(sql, d, "%s ALTER COLUMN %I DROP DEFAULT", parts++ ? "," : "", c->name);
	}
	if (parts) /* else nothing differs: no statement */
		sql_addf(whole, d, "ALTER TABLE %T%s", t->name, parts_sql.buf);
	buf_release(&parts_sql);
	buf_release(&type);
	buf_release(&why);
	return 0;
}
