/* sql: SQL text built the same way for every engine (see sql.h). */
#include "sql.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void sql_ident(struct buf *sql, const struct sql_dialect *d, const char *name)
{
	buf_addch(sql, d->quote);
	for (const char *p = name; *p; p++) {
		if (*p == d->quote)
			buf_addch(sql, d->quote);
		buf_addch(sql, *p);
	}
	buf_addch(sql, d->quote);
}

void sql_table(struct buf *sql, const struct sql_dialect *d, const char *name)
{
	char *schema, *table;
	table_name_split(name, &schema, &table);
	if (schema && d->schemas) {
		sql_ident(sql, d, schema);
		buf_addch(sql, '.');
		sql_ident(sql, d, table);
	} else if (schema) {
		/* An engine without schemas keeps "schema.table" as one name. */
		struct buf whole = BUF_INIT;
		buf_addf(&whole, "%s.%s", schema, table);
		sql_ident(sql, d, whole.buf);
		buf_release(&whole);
	} else {
		sql_ident(sql, d, table);
	}
	free(schema);
	free(table);
}

int sql_writable(const struct table *t, size_t i)
{
	return !t->cols[i].generated;
}

int sql_sets(const struct table *t, const struct row *set, size_t i)
{
	return set->v[i].state != V_ABSENT && !table_is_key(t, i) && sql_writable(t, i);
}

static void key_operand(struct buf *sql, const struct sql_dialect *d, const struct table *t,
			const struct column *c, size_t n)
{
	if (t->key_kind == KEY_ROW && d->key_operand)
		d->key_operand(sql, d, c, n);
	else if (n)
		d->placeholder(sql, n);
	else
		sql_ident(sql, d, c->name);
}

static void where_key(struct buf *sql, const struct sql_dialect *d, const struct table *t, size_t *n)
{
	for (size_t k = 0; k < t->nkey; k++) {
		const struct column *c = &t->cols[t->key[k]];
		if (k)
			buf_adds(sql, " AND ");
		key_operand(sql, d, t, c, 0);
		/* Whole-row keys may hold NULLs, which plain = never matches. */
		buf_adds(sql, t->key_kind == KEY_ROW ? d->null_safe_eq : " = ");
		key_operand(sql, d, t, c, ++*n);
	}
}

static void column_list(struct buf *sql, const struct sql_dialect *d, const struct table *t,
			const size_t *idx, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (k)
			buf_addch(sql, ',');
		sql_ident(sql, d, t->cols[idx ? idx[k] : k].name);
	}
}

static void order_by(struct buf *sql, const struct sql_dialect *d, const struct table *t)
{
	for (size_t k = 0; k < t->nkey; k++) {
		const struct column *c = &t->cols[t->key[k]];
		if (k)
			buf_addch(sql, ',');
		d->order_key(sql, d, c, value_key_order(c->type));
	}
}

void sql_addf(struct buf *sql, const struct sql_dialect *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		const char *lit = p;
		while (*p && *p != '%')
			p++;
		buf_add(sql, lit, (size_t)(p - lit));
		if (!*p)
			break;
		const struct table *t;
		size_t *n;
		switch (*++p) {
		case 's': buf_adds(sql, va_arg(ap, const char *)); break;
		case 'd': buf_addf(sql, "%d", va_arg(ap, int)); break;
		case 'z': p++; buf_addf(sql, "%zu", va_arg(ap, size_t)); break; /* %zu */
		case 'I': sql_ident(sql, d, va_arg(ap, const char *)); break;
		case 'T': sql_table(sql, d, va_arg(ap, const char *)); break;
		case 'C':
			t = va_arg(ap, const struct table *);
			column_list(sql, d, t, NULL, t->ncols);
			break;
		case 'K':
			t = va_arg(ap, const struct table *);
			column_list(sql, d, t, t->key, t->nkey);
			break;
		case 'W':
			t = va_arg(ap, const struct table *);
			n = va_arg(ap, size_t *);
			where_key(sql, d, t, n);
			break;
		case 'O': order_by(sql, d, va_arg(ap, const struct table *)); break;
		case 'P':
			n = va_arg(ap, size_t *);
			d->placeholder(sql, ++*n);
			break;
		default: buf_addch(sql, '%'); break; /* "%%" */
		}
		if (!*p)
			break;
	}
	va_end(ap);
}

void sql_select(struct buf *sql, const struct sql_dialect *d, const struct table *t)
{
	sql_addf(sql, d, "SELECT %C FROM %T ORDER BY %O", t, t->name, t);
}

void sql_insert(struct buf *sql, const struct sql_dialect *d, const struct table *t)
{
	size_t n = 0;
	sql_addf(sql, d, "INSERT INTO %T (", t->name);
	for (size_t i = 0; i < t->ncols; i++)
		if (sql_writable(t, i))
			sql_addf(sql, d, n++ ? ",%I" : "%I", t->cols[i].name);
	buf_adds(sql, ") VALUES (");
	for (size_t i = 0; i < n;)
		sql_addf(sql, d, i ? ",%P" : "%P", &i);
	buf_addch(sql, ')');
}

void sql_update(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		const struct row *set)
{
	size_t n = 0;
	sql_addf(sql, d, "UPDATE %T SET ", t->name);
	for (size_t i = 0; i < t->ncols; i++)
		if (sql_sets(t, set, i))
			sql_addf(sql, d, n ? ",%I = %P" : "%I = %P", t->cols[i].name, &n);
	sql_addf(sql, d, " WHERE %W", t, &n);
}

void sql_delete(struct buf *sql, const struct sql_dialect *d, const struct table *t)
{
	size_t n = 0;
	sql_addf(sql, d, "DELETE FROM %T WHERE %W", t->name, t, &n);
}

void sql_literal(struct buf *sql, const struct sql_dialect *d, enum sql_literal_kind k, const char *p,
		 size_t n)
{
	switch (k) {
	case LIT_NULL:
		buf_adds(sql, "NULL");
		return;
	case LIT_NUMBER:
		buf_add(sql, p, n);
		return;
	case LIT_BYTES:
		buf_adds(sql, d->bytea_literal ? "'\\x" : "X'");
		buf_add_hex(sql, p, n);
		buf_addch(sql, '\'');
		return;
	case LIT_TEXT:
		break;
	}
	if (!d->backslash_escapes && memchr(p, '\0', n)) {
		/* a string literal cannot hold a NUL byte here: its bytes, as text */
		buf_adds(sql, "CAST(");
		sql_literal(sql, d, LIT_BYTES, p, n);
		buf_adds(sql, " AS TEXT)");
		return;
	}
	buf_addch(sql, '\'');
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep;
		if (p[i] == '\'')
			rep = "''";
		else if (d->backslash_escapes && p[i] == '\\')
			rep = "\\\\";
		else if (d->backslash_escapes && p[i] == '\0')
			rep = "\\0";
		else
			continue;
		buf_add(sql, p + start, i - start);
		buf_adds(sql, rep);
		start = i + 1;
	}
	buf_add(sql, p + start, n - start);
	buf_addch(sql, '\'');
}

/* The key condition of where_key, with the key's values as literals. */
static int where_key_literal(struct buf *sql, const struct sql_dialect *d, const struct table *t,
			     const struct row *r, sql_value_fn value, void *ctx)
{
	struct buf ph = BUF_INIT, op = BUF_INIT;
	int ret = 0;
	for (size_t k = 0; k < t->nkey && ret == 0; k++) {
		const struct column *c = &t->cols[t->key[k]];
		if (k)
			buf_adds(sql, " AND ");
		key_operand(sql, d, t, c, 0);
		buf_adds(sql, t->key_kind == KEY_ROW ? d->null_safe_eq : " = ");
		ret = value(ctx, t, r, t->key[k], sql);
		/* what the dialect's key operand puts after its parameter (a cast) */
		if (ret == 0 && t->key_kind == KEY_ROW && d->key_operand) {
			buf_reset(&ph);
			buf_reset(&op);
			d->placeholder(&ph, 1);
			d->key_operand(&op, d, c, 1);
			if (op.len > ph.len && !strncmp(op.buf, ph.buf, ph.len))
				buf_adds(sql, op.buf + ph.len);
		}
	}
	buf_release(&ph);
	buf_release(&op);
	return ret;
}

int sql_change_literal(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		       enum sql_write w, const struct row *r, sql_value_fn value, void *ctx)
{
	size_t n = 0;
	if (w == SQL_INSERT) {
		sql_addf(sql, d, "INSERT INTO %T (", t->name);
		for (size_t i = 0; i < t->ncols; i++)
			if (sql_writable(t, i))
				sql_addf(sql, d, n++ ? ",%I" : "%I", t->cols[i].name);
		buf_adds(sql, ") VALUES (");
		n = 0;
		for (size_t i = 0; i < t->ncols; i++) {
			if (!sql_writable(t, i))
				continue;
			if (n++)
				buf_addch(sql, ',');
			if (value(ctx, t, r, i, sql) < 0)
				return -1;
		}
		buf_addch(sql, ')');
		return 1;
	}
	if (w == SQL_UPDATE) {
		size_t start = sql->len;
		sql_addf(sql, d, "UPDATE %T SET ", t->name);
		for (size_t i = 0; i < t->ncols; i++) {
			if (!sql_sets(t, r, i))
				continue;
			sql_addf(sql, d, n++ ? ",%I = " : "%I = ", t->cols[i].name);
			if (value(ctx, t, r, i, sql) < 0)
				return -1;
		}
		if (!n) {
			sql->len = start;
			sql->buf[start] = '\0';
			return 0;
		}
		buf_adds(sql, " WHERE ");
		return where_key_literal(sql, d, t, r, value, ctx) < 0 ? -1 : 1;
	}
	if (t->key_kind == KEY_ROW && d->row_id)
		/* duplicates of a row without a key: delete one of them */
		sql_addf(sql, d, "DELETE FROM %T WHERE %s IN (SELECT %s FROM %T WHERE ", t->name, d->row_id,
			 d->row_id, t->name);
	else
		sql_addf(sql, d, "DELETE FROM %T WHERE ", t->name);
	if (where_key_literal(sql, d, t, r, value, ctx) < 0)
		return -1;
	if (t->key_kind == KEY_ROW)
		buf_adds(sql, d->row_id ? " LIMIT 1)" : " LIMIT 1");
	return 1;
}

void sql_later_add(struct sql_later *l, const char *table, const char *sql)
{
	size_t lt = strlen(table), ls = strlen(sql);
	char *e = xmalloc(lt + ls + 2);
	memcpy(e, table, lt + 1);
	memcpy(e + lt + 1, sql, ls + 1);
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = e;
}

int sql_later_run(struct sql_later *l, struct db *db, const char *table,
		  int (*run)(struct db *db, const char *sql))
{
	size_t lt = strlen(table);
	for (size_t i = 0; i < l->n; i++) {
		char *e = l->v[i];
		if (strcmp(e, table) || !e[lt + 1])
			continue;
		if (run(db, e + lt + 1) < 0)
			return -1;
		e[lt + 1] = '\0'; /* done */
	}
	return 0;
}

void sql_later_clear(struct sql_later *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void stmt_cache_init(struct stmt_cache *c, size_t size, void (*release)(void *ctx, void *stmt),
		     void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->size = size;
	c->v = xcalloc(size, sizeof(*c->v));
	c->release = release;
	c->ctx = ctx;
}

void *stmt_cache_find(const struct stmt_cache *c, const char *sql)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].sql, sql))
			return c->v[i].stmt;
	return NULL;
}

void stmt_cache_put(struct stmt_cache *c, const char *sql, void *stmt)
{
	size_t slot = c->n < c->size ? c->n++ : c->next++ % c->size;
	if (c->v[slot].sql) {
		c->release(c->ctx, c->v[slot].stmt);
		free(c->v[slot].sql);
	}
	c->v[slot].sql = xstrdup(sql);
	c->v[slot].stmt = stmt;
}

void stmt_cache_clear(struct stmt_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		c->release(c->ctx, c->v[i].stmt);
		free(c->v[i].sql);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}
