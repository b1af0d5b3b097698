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
