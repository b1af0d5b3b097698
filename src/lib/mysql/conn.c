/* mysql/conn: the MySQL/MariaDB backend, on the MySQL C API (libmysqlclient
 * or MariaDB Connector/C; only names both provide are used): connecting,
 * transactions, the write plan, and the ops table.  Its files are listed in
 * mysql_int.h.
 *
 * Reading streams rows with mysql_use_result, so a table is never held in
 * memory.  A connection cannot run a statement while such a result is open,
 * so when a caller interleaves writes (or another scan) with a scan, the rest
 * of the open result is first spooled to a temporary file and the scan
 * continues from there: memory stays constant either way.  The rows of
 * given keys (scan_keys_open) come from one SELECT ... WHERE (key) IN
 * ((literal, ...), ...) a batch, the keys written as literals (numbers bare,
 * bytes as X'..', the rest quoted by mysql_real_escape_string).
 *
 * Writing: inserts and deletes by key are collected into multi-row
 * statements (INSERT ... VALUES (..),(..); DELETE ... WHERE (key) IN (..)),
 * sent when another kind of write, another table or the end of the
 * transaction comes; a failing one, or a DELETE that misses rows (undone to
 * a savepoint), is retried row by row to name the row at fault.  A run of
 * updates of one table that set the same columns goes the same way, up to
 * 1000 rows a batch, through a temporary table with the types of the
 * table's own columns: INSERT INTO tmp VALUES (..),(..); UPDATE t JOIN tmp
 * ON (key) SET ...; DELETE FROM tmp (see update.c for why this shape is
 * exact).  A batch that fails, or whose UPDATE matches fewer rows than it
 * holds, is undone to a savepoint and written again one row at a time, one
 * prepared UPDATE ... WHERE key = ? each, which names a missing row.
 * Updates of tables keyed by the whole row, of keys of other types than
 * integers, decimals, text, binary strings and dates (with times), or that
 * set spatial columns, are one such statement per row, as are all updates
 * when the user may not create temporary tables.  AUTO_INCREMENT needs no
 * reset: InnoDB moves it past every id written (an ALTER TABLE would commit
 * the transaction implicitly).
 *
 * InnoDB checks foreign keys at once and cannot defer them.  Tables in a
 * foreign-key cycle or referencing themselves (as the caller's plan_writes
 * tells) are therefore written with foreign_key_checks off, and their
 * references (both ways) are checked with queries in check_constraints and
 * again before commit; every other table is written with the checks on, in
 * the dependency order the caller uses.
 *
 * Options (db->opts): zero_date_null reads MySQL zero dates as NULL;
 * allow_non_transactional allows writing MyISAM (etc.) tables. */
#include <stdlib.h>
#include <string.h>

#include "mysql_int.h"
#include "url.h"

#define STMT_CACHE 32
#define ER_ACCESS_DENIED 1045 /* ER_ACCESS_DENIED_ERROR */

int my_server_error(struct db *db, const char *what)
{
	struct my_db *m = db->impl;
	const char *e = m && m->h ? mysql_error(m->h) : "";
	return what ? db_error(db, "%s: %s", what, e) : db_error(db, "%s", e);
}

int my_exec(struct db *db, const char *sql)
{
	struct my_db *m = db->impl;
	if (my_suspend_stream(db) < 0 || my_flush_batch(db) < 0)
		return -1;
	if (mysql_real_query(m->h, sql, strlen(sql)))
		return my_server_error(db, NULL);
	MYSQL_RES *r = mysql_store_result(m->h);
	if (r)
		mysql_free_result(r);
	else if (mysql_field_count(m->h))
		return my_server_error(db, NULL);
	return 0;
}

MYSQL_RES *my_query(struct db *db, const char *sql)
{
	struct my_db *m = db->impl;
	if (my_suspend_stream(db) < 0 || my_flush_batch(db) < 0)
		return NULL;
	if (mysql_real_query(m->h, sql, strlen(sql))) {
		my_server_error(db, NULL);
		return NULL;
	}
	MYSQL_RES *r = mysql_store_result(m->h);
	if (!r)
		my_server_error(db, NULL);
	return r;
}

/* --- connecting --- */

/* mysql://[user[:password]@][host][:port][/database][?socket=PATH&password=...]
 * (also mariadb://), read by the one URL reader; only these parameters. */
static int parse_url(struct db *db, const char *text, struct url *u)
{
	if (url_parse(text, u, &db->err) < 0)
		return -1;
	for (size_t i = 0; i < u->nparams; i++)
		if (strcmp(u->keys[i], "socket") && strcmp(u->keys[i], "password")) {
			url_release(u);
			return db_error(db, "unknown URL parameter (known: socket=PATH, password=...)");
		}
	return 0;
}

static struct my_db *my_new(void)
{
	struct my_db *m = xcalloc(1, sizeof(*m));
	buf_init(&m->sql);
	buf_init(&m->arena);
	buf_init(&m->nontx_written);
	buf_init(&m->batch_table);
	buf_init(&m->batch_head);
	buf_init(&m->batch_tuple);
	buf_init(&m->batch_update);
	buf_init(&m->batch_single);
	buf_init(&m->batch_clear);
	stmt_cache_init(&m->stmts, STMT_CACHE, my_stmt_release, NULL);
	return m;
}

/* Connect as the URL says; the user's option files ([client] group) supply
 * what it leaves out. */
static int my_connect(struct db *db, const struct url *u)
{
	struct my_db *m = db->impl;
	unsigned timeout = 30;
	mysql_options(m->h, MYSQL_READ_DEFAULT_GROUP, "client");
	mysql_options(m->h, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m->h, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	const char *pass = url_param(u, "password") ? url_param(u, "password") : u->password;
#ifndef MARIADB_PACKAGE_VERSION
	/* Connector/C falls back to the option files, then MYSQL_PWD, by itself;
	 * Oracle's client may not read MYSQL_PWD any more. */
	if (!pass && getenv("MYSQL_PWD"))
		pass = getenv("MYSQL_PWD");
#endif
	/* CLIENT_FOUND_ROWS: an UPDATE reports the rows it matched, changed or
	 * not, so that "no such row" can be told apart from "same values". */
	if (mysql_real_connect(m->h, u->host, u->user, pass, u->database, u->port,
			       url_param(u, "socket"), CLIENT_FOUND_ROWS))
		return 0;
	if (mysql_errno(m->h) == ER_ACCESS_DENIED)
		return db_error(db, "cannot connect: %s (wrong user or password?)", mysql_error(m->h));
	return db_error(db, "cannot connect: %s", mysql_error(m->h));
}

/* The session's settings, and a database to work in. */
static int my_session(struct db *db)
{
	struct my_db *m = db->impl;
	m->is_mariadb = strstr(mysql_get_server_info(m->h), "MariaDB") != NULL;
	if (mysql_set_character_set(m->h, "utf8mb4"))
		return my_server_error(db, "SET NAMES utf8mb4");
	/* UTC for TIMESTAMP values; strict mode so that a value that does not fit
	 * is an error, not a silent truncation; an explicit id 0 stays 0; sort
	 * keys of 64 KiB so that ORDER BY on long values is exact (a longer
	 * tie is caught by the readers' key-order check); patient with slow
	 * readers of a streamed result. */
	if (my_exec(db, MY_SESSION_SQL ", "
			"max_sort_length = 65536, sort_buffer_size = GREATEST(@@session.sort_buffer_size, 4194304), "
			"net_write_timeout = 3600, net_read_timeout = 3600") < 0)
		return -1;
	MYSQL_RES *r = my_query(db, "SELECT DATABASE()");
	if (!r)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(r);
	int have_db = row && row[0];
	mysql_free_result(r);
	if (!have_db)
		return db_error(db, "no database given: name one in the URL (mysql://user@host/DATABASE)");
	return 0;
}

static int my_open(struct db *db, const char *url)
{
	struct my_db *m = my_new();
	struct url u;
	db->impl = m;
	if (parse_url(db, url, &u) < 0)
		return -1;
	m->h = mysql_init(NULL);
	int rc = m->h ? my_connect(db, &u) : db_error(db, "out of memory in mysql_init");
	url_release(&u);
	if (rc < 0)
		return -1;
	return my_session(db);
}

/* Forget the write plan: the caller's schema is not ours past the end of
 * its transaction. */
static void release_plan(struct my_db *m)
{
	m->target = NULL;
	m->in_cycle = NULL;
	free(m->dirty_out);
	free(m->dirty_in);
	m->dirty_out = m->dirty_in = NULL;
	m->unverified = 0;
}

static void release_write_state(struct my_db *m)
{
	release_plan(m);
	for (size_t i = 0; i < m->nnontx; i++)
		free(m->nontx[i]);
	free(m->nontx);
	m->nontx = NULL;
	m->nnontx = 0;
	buf_reset(&m->nontx_written);
}

static void release_batch_state(struct my_db *m)
{
	buf_release(&m->batch_table);
	buf_release(&m->batch_head);
	buf_release(&m->batch_tuple);
	buf_release(&m->batch_update);
	buf_release(&m->batch_single);
	buf_release(&m->batch_clear);
	free(m->batch_set);
	free(m->row_set);
	for (size_t i = 0; i < m->ntmps; i++) {
		free(m->tmps[i].sig);
		free(m->tmps[i].name);
	}
	for (size_t i = 0; i < m->batch_nkey; i++)
		free(m->batch_keynames[i]);
	free(m->batch_keynames);
	free(m->batch_keypos);
	free(m->batch_kind);
}

static void my_close(struct db *db)
{
	struct my_db *m = db->impl;
	if (m->streaming) {
		mysql_free_result(m->streaming->res);
		m->streaming->res = NULL;
		m->streaming = NULL;
	}
	stmt_cache_clear(&m->stmts);
	if (m->h)
		mysql_close(m->h);
	release_write_state(m);
	release_batch_state(m);
	buf_release(&m->sql);
	free(m->bind);
	free(m->params);
	buf_release(&m->arena);
	buf_release(&m->nontx_written);
	free(m);
	db->impl = NULL;
}

/* --- transactions --- */

static int my_begin_read(struct db *db)
{
	struct my_db *m = db->impl;
	if (my_exec(db, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ") < 0 ||
	    my_exec(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY") < 0)
		return -1;
	m->in_tx = 1;
	m->writing = 0;
	return 0;
}

/* The tables whose engine cannot roll back, "name\tengine" each. */
static int load_nontx(struct db *db)
{
	struct my_db *m = db->impl;
	MYSQL_RES *r = my_query(db, "SELECT t.TABLE_NAME, t.ENGINE FROM information_schema.TABLES t "
				    "JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE "
				    "WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' "
				    "AND e.TRANSACTIONS <> 'YES'");
	if (!r)
		return -1;
	MYSQL_ROW row;
	struct buf e = BUF_INIT;
	while ((row = mysql_fetch_row(r))) {
		m->nontx = xrealloc(m->nontx, (m->nnontx + 1) * sizeof(char *));
		char *name = table_name_make(NULL, row[0]); /* as the tables are named */
		buf_reset(&e);
		buf_addf(&e, "%s\t%s", name, row[1]);
		free(name);
		m->nontx[m->nnontx++] = xstrdup(e.buf);
	}
	buf_release(&e);
	mysql_free_result(r);
	return 0;
}

static int my_begin_write(struct db *db)
{
	struct my_db *m = db->impl;
	release_write_state(m);
	/* The temporary tables of updates were made for the tables as they were. */
	m->no_tmp = 0;
	if (my_drop_tmps(db) < 0)
		return -1;
	if (my_exec(db, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ") < 0 ||
	    my_exec(db, "SET foreign_key_checks = 1") < 0 || my_exec(db, "START TRANSACTION") < 0)
		return -1;
	m->in_tx = 1;
	m->writing = 1;
	m->fk_off = 0;
	return load_nontx(db);
}

/* Which tables are written with foreign_key_checks off: those in_cycle
 * marks.  target and in_cycle stay the caller's until commit or rollback. */
static int my_plan_writes(struct db *db, const struct schema *target, const int *in_cycle)
{
	struct my_db *m = db->impl;
	release_plan(m);
	m->target = target;
	m->in_cycle = in_cycle;
	m->dirty_out = xcalloc(target->n + 1, sizeof(int));
	m->dirty_in = xcalloc(target->n + 1, sizeof(int));
	return 0;
}

static int my_commit(struct db *db)
{
	struct my_db *m = db->impl;
	if (m->unverified && my_check_deferred(db) < 0)
		return -1;
	int rc = my_exec(db, "COMMIT");
	release_plan(m);
	if (rc < 0) {
		/* CR_SERVER_GONE_ERROR, CR_SERVER_LOST: the COMMIT may have been
		 * carried out before the connection went */
		unsigned e = mysql_errno(m->h);
		db->commit_unknown = e == 2006 || e == 2013;
		return -1;
	}
	m->in_tx = m->writing = 0;
	if (m->fk_off && my_exec(db, "SET foreign_key_checks = 1") == 0)
		m->fk_off = 0;
	return 0;
}

static int my_rollback(struct db *db)
{
	struct my_db *m = db->impl;
	my_batch_reset(m); /* inserts not yet sent need not be */
	release_plan(m);
	if (!m->h || !m->in_tx)
		return 0;
	if (my_exec(db, "ROLLBACK") < 0)
		return -1;
	m->in_tx = m->writing = 0;
	if (m->fk_off && my_exec(db, "SET foreign_key_checks = 1") == 0)
		m->fk_off = 0;
	if (m->nontx_written.len) {
		db_error(db, "the non-transactional table(s) %s keep what was written to them",
			 m->nontx_written.buf);
		buf_reset(&m->nontx_written);
		return -1;
	}
	return 0;
}

const struct db_ops db_mysql_ops = {
	.engine = "mysql",
	.dialect = &my_dialect,
	.exec_ddl = my_exec,
	.ddl_commits = 1,
	.defers_all_checks = 1,
	.open = my_open,
	.close = my_close,
	.load_schema = my_load_schema,
	.begin_read = my_begin_read,
	.begin_write = my_begin_write,
	.commit = my_commit,
	.rollback = my_rollback,
	.scan_open = my_scan_open,
	.scan_next = my_scan_next,
	.scan_close = my_scan_close,
	.scan_keys_open = my_scan_keys_open,
	.scan_where_open = my_scan_where_open,
	.write = my_write,
	.check_constraints = my_check_constraints,
	.reset_sequence = my_reset_sequence,
	.literal = my_literal,
	.plan_writes = my_plan_writes,
};
