/* db: choosing a backend for a target, and the SQL text shared by all engines. */
#include "db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "env.h"
#include "url.h"

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
	{ "csv:", &db_csv_ops, 1 },
};

static int sqlite_file(const char *path)
{
	char magic[16];
	struct stat st;
	/* Only a regular file is looked into: reading a pipe (a stream given as
	 * /dev/fd/N) would eat its first bytes. */
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
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
	if (ends_with(url, ".db") || ends_with(url, ".sqlite") || ends_with(url, ".sqlite3") ||
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
	/* A file that exists is a stream, whatever its kind.  Only stat: an
	 * open would connect to a named pipe and the close after it would
	 * leave its writer with no reader, killing it by SIGPIPE before the
	 * real open (the stream then ends early, "truncated"). */
	struct stat st;
	if (stat(target, &st) == 0)
		return 0;
	/* Not a file: an environment, if there is one by this name; a name
	 * without a dot or a slash is meant as one, and db_connect says so if
	 * there is none.  Anything else is a stream file that is missing. */
	struct env e;
	int got = env_lookup(target, &e);
	if (got > 0)
		env_release(&e);
	return got != 0 || !strpbrk(target, "./");
}

struct db *db_connect(const char *target, const struct db_options *o)
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
		error("%s: unsupported database URL (known: sqlite:, .db and .sqlite paths, postgres://, postgresql://, mysql://, mariadb://, csv:)", shown);
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
	if (o)
		db->opts = *o;
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

int db_parse_zero_date(const char *how, struct db_options *o)
{
	if (strcmp(how, "null"))
		return -1;
	o->zero_date_null = 1;
	return 0;
}

char *db_mask_url(const char *url)
{
	return url_mask(url);
}

/* --- the write vocabulary --- */

int db_error(struct db *db, const char *fmt, ...)
{
	va_list ap;
	buf_reset(&db->err);
	va_start(ap, fmt);
	buf_vaddf(&db->err, fmt, ap);
	va_end(ap);
	return -1;
}

int db_no_row(struct db *db)
{
	return db_error(db, "no row with this key in the target (it changed since the diff)");
}
