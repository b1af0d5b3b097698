/* sqlite/conn: the SQLite backend's connection and transactions, and its
 * table of operations (foreign keys are checked in fkcheck.c).  SQLite's
 * declared types are mapped by its own affinity rules refined by name
 * (DATE, BOOLEAN, DECIMAL...: catalog.c), and values are converted from
 * whatever storage class a row actually holds (read.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlite.h"

/* Write statements kept prepared: a sync writes a few tables at a time. */
#define STMT_CACHE 32

int sq_fail(struct db *db, const char *what)
{
	struct sqlite_db *s = db->impl;
	return db_error(db, "%s%s%s", what, *what ? ": " : "", s && s->h ? sqlite3_errmsg(s->h) : "");
}

int sq_exec(struct db *db, const char *sql)
{
	struct sqlite_db *s = db->impl;
	char *msg = NULL;
	if (sqlite3_exec(s->h, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	db_error(db, "%s", msg ? msg : sqlite3_errmsg(s->h));
	sqlite3_free(msg);
	return -1;
}

int sq_prepare(struct db *db, const char *sql, sqlite3_stmt **out)
{
	struct sqlite_db *s = db->impl;
	if (sqlite3_prepare_v2(s->h, sql, -1, out, NULL) != SQLITE_OK)
		return sq_fail(db, sql);
	return 0;
}

int sq_texts(struct db *db, const char *sql, const char *param, const char *what, char ***v, size_t *n)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	*v = NULL;
	*n = 0;
	if (sq_prepare(db, sql, &st) < 0)
		return -1;
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		ALLOC_GROW(*v, *n + 1, alloc);
		(*v)[(*n)++] = xstrdup(t ? (const char *)t : "");
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	/* an error part way is no "no more rows": what was read goes */
	free_strv(*v, *n);
	*v = NULL;
	*n = 0;
	return sq_fail(db, what ? what : sql);
}

sqlite3_stmt *sq_cached(struct db *db, const char *sql)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st = stmt_cache_find(&s->cache, sql);
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	if (sq_prepare(db, sql, &st) < 0)
		return NULL;
	stmt_cache_put(&s->cache, sql, st);
	return st;
}

static void finalize(void *ctx, void *stmt)
{
	(void)ctx;
	sqlite3_finalize(stmt);
}

static int sq_open(struct db *db, const char *path)
{
	struct sqlite_db *s = xcalloc(1, sizeof(*s));
	buf_init(&s->sql);
	buf_init(&s->tmp);
	stmt_cache_init(&s->cache, STMT_CACHE, finalize, NULL);
	db->impl = s;
	if (access(path, F_OK))
		return db_error(db, "no such SQLite database file");
	/* One connection, used by one thread only (the readers' threads read
	 * streams, never a database): no lock around each call into SQLite,
	 * which took about 5% of a whole sync's instructions. */
	if (sqlite3_open_v2(path, &s->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return sq_fail(db, "cannot open");
	sqlite3_busy_timeout(s->h, 10000);
	/* Reading the schema proves this is a database, not some other file. */
	if (sq_exec(db, "SELECT count(*) FROM sqlite_schema") < 0)
		return -1;
	return 0;
}

static void sq_close(struct db *db)
{
	struct sqlite_db *s = db->impl;
	stmt_cache_clear(&s->cache);
	sq_fk_release(db);
	sql_later_clear(&s->triggers_back);
	if (s->h)
		sqlite3_close(s->h);
	buf_release(&s->sql);
	buf_release(&s->tmp);
	free(s);
	db->impl = NULL;
}

static int sq_begin_read(struct db *db)
{
	/* A deferred transaction takes its snapshot at the first read and holds it. */
	return sq_exec(db, "BEGIN DEFERRED");
}

static int sq_begin_write(struct db *db)
{
	struct sqlite_db *s = db->impl;
	/* Every foreign key is checked before the commit, whole, by
	 * foreign_key_check (sq_check_constraints).  SQLite's own enforcement
	 * would also look for the children of every row deleted, by a scan of
	 * each referring table when its columns have no index: a sync that
	 * deletes 2,500 of a million self-referring customers took 190 s of
	 * CPU.  It is kept only where a foreign key has an action to take
	 * (CASCADE, SET NULL, SET DEFAULT, RESTRICT). */
	int actions = sq_fk_actions(db);
	if (actions < 0 || sq_exec(db, actions ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF") < 0 ||
	    sq_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	sql_later_clear(&s->triggers_back);
	/* Violations that were there before are not ours to report: the check
	 * notes what it needs before the first change (fkcheck.c). */
	sq_fk_begin(db, actions);
	/* Foreign keys are checked at commit, so cycles and forward references load. */
	return sq_exec(db, "PRAGMA defer_foreign_keys = ON");
}

static int sq_commit(struct db *db)
{
	sq_fk_end(db);
	return sq_exec(db, "COMMIT");
}

static int sq_rollback(struct db *db)
{
	struct sqlite_db *s = db->impl;
	sq_fk_end(db);
	if (sqlite3_get_autocommit(s->h))
		return 0;
	return sq_exec(db, "ROLLBACK");
}

static int sq_exec_ddl(struct db *db, const char *sql)
{
	if (sq_fk_before_ddl(db) < 0)
		return -1;
	return sq_exec(db, sql);
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
	.scan_keys_open = sq_scan_keys_open,
	.scan_where_open = sq_scan_where_open,
	.write = sq_write,
	.check_constraints = sq_fk_check,
	.reset_sequence = sq_reset_sequence,
	.literal = sq_literal,
	.sequence_sql = sq_sequence_sql,
	.set_triggers = sq_set_triggers,
	.dialect = &sq_dialect,
	.exec_ddl = sq_exec_ddl,
	.rebuild_table = sq_rebuild_table,
};
