/* db: choosing a backend for a target, and the SQL text shared by all engines. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

struct scheme {
	const char *prefix;
	const struct db_ops *ops;
	int strip;      /* remove the prefix before handing the URL to the backend */
};

static const struct scheme schemes[] = {
	{ "sqlite://", &db_sqlite_ops, 1 },
	{ "sqlite:", &db_sqlite_ops, 1 },
	{ "mysql://", &db_mysql_ops, 0 },
	{ "mariadb://", &db_mysql_ops, 0 },
	{ "postgres://", &db_pg_ops, 0 },
	{ "postgresql://", &db_pg_ops, 0 },
};

static int has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int sqlite_file(const char *path)
{
	char magic[16];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return n == sizeof(magic) && !memcmp(magic, "SQLite format 3", 16);
}

/* Find the backend for a URL or path; *rest is what the backend opens. */
static const struct db_ops *backend_for(const char *url, const char **rest)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++) {
		size_t n = strlen(schemes[i].prefix);
		if (!strncmp(url, schemes[i].prefix, n)) {
			*rest = schemes[i].strip ? url + n : url;
			return schemes[i].ops;
		}
	}
	if (has_suffix(url, ".db") || has_suffix(url, ".sqlite") || has_suffix(url, ".sqlite3") ||
	    sqlite_file(url)) {
		*rest = url;
		return &db_sqlite_ops;
	}
	return NULL;
}

static int has_scheme(const char *s)
{
	const char *p = strstr(s, "://");
	return p && strspn(s, "abcdefghijklmnopqrstuvwxyz+") == (size_t)(p - s);
}

int db_is_target(const char *target)
{
	const char *rest;
	if (!strcmp(target, "-"))
		return 0;
	if (backend_for(target, &rest) || has_scheme(target))
		return 1;
	FILE *f = fopen(target, "rb");
	if (f) {
		fclose(f);
		return 0;
	}
	/* Not a file: an environment, if there is one by this name; a name
	 * without a dot or a slash is meant as one, and db_connect says so if
	 * there is none.  Anything else is a stream file that is missing. */
	struct env e;
	int got = env_lookup(target, &e);
	if (got > 0)
		env_release(&e);
	return got != 0 || !strpbrk(target, "./");
}

struct db *db_connect(const char *target)
{
	const char *rest;
	struct env e = { 0 };
	const char *url = target;
	const struct db_ops *ops = backend_for(url, &rest);
	if (!ops && !has_scheme(target)) {
		int got = env_lookup(target, &e);
		if (got < 0)
			return NULL;
		if (got == 0) {
			error("unknown target \"%s\": not a URL, a .db/.sqlite file or an environment name", target);
			return NULL;
		}
		url = e.url;
		ops = backend_for(url, &rest);
	}
	if (!ops) {
		char *shown = db_mask_url(url);
		error("%s: unsupported database URL (known: sqlite:, .db and .sqlite paths, postgres://, postgresql://, mysql://, mariadb://)", shown);
		free(shown);
		env_release(&e);
		return NULL;
	}
	struct db *db = xcalloc(1, sizeof(*db));
	db->ops = ops;
	db->url = xstrdup(url);
	db->shown_url = db_mask_url(url);
	buf_init(&db->err);
	db->env = e; /* owned by db now */
	if (ops->open(db, rest) < 0) {
		error("%s: %s", db->shown_url, db->err.buf);
		db_disconnect(db);
		return NULL;
	}
	return db;
}

int db_write(struct db *db, const struct table *t, const struct change *c)
{
	db->nwrites++;
	db->failed_write = 0;
	return db->ops->write(db, t, c);
}

void db_disconnect(struct db *db)
{
	if (!db)
		return;
	if (db->impl)
		db->ops->close(db);
	free(db->url);
	free(db->shown_url);
	env_release(&db->env);
	buf_release(&db->err);
	free(db);
}

char *db_identity(const struct db *db)
{
	const char *rest;
	if (backend_for(db->url, &rest) == &db_sqlite_ops) {
		char *real = realpath(rest, NULL);
		if (real) {
			struct buf b = BUF_INIT;
			buf_addf(&b, "sqlite:%s", real);
			free(real);
			return buf_detach(&b);
		}
	}
	return xstrdup(db->shown_url);
}

int db_set_zero_date(const char *how)
{
	if (strcmp(how, "null"))
		return -1;
	/* The backend reads it where it converts values, far from any option. */
	setenv("DBPIPE_ZERO_DATE", "null", 1);
	return 0;
}

char *db_mask_url(const char *url)
{
	return env_mask_url(url);
}

/* --- shared SQL text --- */

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
	const char *dot = d->schemas ? strchr(name, '.') : NULL;
	if (!dot) {
		sql_ident(sql, d, name);
		return;
	}
	char *schema = xstrndup(name, (size_t)(dot - name));
	sql_ident(sql, d, schema);
	buf_addch(sql, '.');
	sql_ident(sql, d, dot + 1);
	free(schema);
}

int sql_writable(const struct table *t, size_t i)
{
	return !t->cols[i].generated;
}

void sql_select(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		const char *text_collate)
{
	buf_adds(sql, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		if (i)
			buf_addch(sql, ',');
		sql_ident(sql, d, t->cols[i].name);
	}
	buf_adds(sql, " FROM ");
	sql_table(sql, d, t->name);
	buf_adds(sql, " ORDER BY ");
	for (size_t k = 0; k < t->nkey; k++) {
		const struct column *c = &t->cols[t->key[k]];
		if (k)
			buf_addch(sql, ',');
		if (d->order_key) {
			d->order_key(sql, d, c);
			continue;
		}
		sql_ident(sql, d, c->name);
		if (text_collate && *text_collate &&
		    c->type != VT_INT && c->type != VT_FLOAT && c->type != VT_DECIMAL &&
		    c->type != VT_BOOL && c->type != VT_BYTES)
			buf_addf(sql, " %s", text_collate);
	}
}

void sql_insert(struct buf *sql, const struct sql_dialect *d, const struct table *t)
{
	size_t n = 0;
	buf_adds(sql, "INSERT INTO ");
	sql_table(sql, d, t->name);
	buf_adds(sql, " (");
	for (size_t i = 0; i < t->ncols; i++) {
		if (!sql_writable(t, i))
			continue;
		if (n++)
			buf_addch(sql, ',');
		sql_ident(sql, d, t->cols[i].name);
	}
	buf_adds(sql, ") VALUES (");
	for (size_t i = 1; i <= n; i++) {
		if (i > 1)
			buf_addch(sql, ',');
		d->placeholder(sql, i);
	}
	buf_addch(sql, ')');
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

void sql_key_list(struct buf *sql, const struct sql_dialect *d, const struct table *t)
{
	buf_addch(sql, '(');
	for (size_t k = 0; k < t->nkey; k++) {
		if (k)
			buf_addch(sql, ',');
		sql_ident(sql, d, t->cols[t->key[k]].name);
	}
	buf_addch(sql, ')');
}

static void where_key(struct buf *sql, const struct sql_dialect *d, const struct table *t, size_t *n)
{
	buf_adds(sql, " WHERE ");
	for (size_t k = 0; k < t->nkey; k++) {
		if (k)
			buf_adds(sql, " AND ");
		sql_ident(sql, d, t->cols[t->key[k]].name);
		/* Whole-row keys may hold NULLs, which plain = never matches. */
		buf_adds(sql, t->key_kind == KEY_ROW ? d->null_safe_eq : " = ");
		d->placeholder(sql, ++*n);
	}
}

void sql_update(struct buf *sql, const struct sql_dialect *d, const struct table *t,
		const struct row *set)
{
	size_t n = 0;
	buf_adds(sql, "UPDATE ");
	sql_table(sql, d, t->name);
	buf_adds(sql, " SET ");
	for (size_t i = 0; i < t->ncols; i++) {
		if (set->v[i].state == V_ABSENT || table_is_key(t, i) || !sql_writable(t, i))
			continue;
		if (n)
			buf_addch(sql, ',');
		sql_ident(sql, d, t->cols[i].name);
		buf_adds(sql, " = ");
		d->placeholder(sql, ++n);
	}
	where_key(sql, d, t, &n);
}

void sql_delete(struct buf *sql, const struct sql_dialect *d, const struct table *t)
{
	size_t n = 0;
	buf_adds(sql, "DELETE FROM ");
	sql_table(sql, d, t->name);
	where_key(sql, d, t, &n);
}
