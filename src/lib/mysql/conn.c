/* db_mysql: the MySQL/MariaDB backend, on the MySQL C API (libmysqlclient or
 * MariaDB Connector/C; only names both provide are used).
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
 * ON (key) SET ...; DELETE FROM tmp (see "batched updates" below for why
 * this shape is exact).  A batch that fails, or whose UPDATE matches fewer
 * rows than it holds, is undone to a savepoint and written again one row at
 * a time, one prepared UPDATE ... WHERE key = ? each, which names a missing
 * row.  Updates of tables keyed by the whole row, of keys of other types
 * than integers, decimals, text, binary strings and dates (with times), or
 * that set spatial columns, are one such statement per row, as are all
 * updates when the user may not create temporary tables.
 * AUTO_INCREMENT needs no reset: InnoDB moves it past every id written (an
 * ALTER TABLE would commit the transaction implicitly).
 *
 * InnoDB checks foreign keys at once and cannot defer them.  Tables in a
 * foreign-key cycle or referencing themselves are therefore written with
 * foreign_key_checks off, and their references (both ways) are checked with
 * queries in check_constraints and again before commit; every other table is
 * written with the checks on, in the dependency order the caller uses.
 *
 * Environment, set by the programs' options --zero-date=null and
 * --allow-non-transactional (and honoured when a user sets them):
 *   DBPIPE_ZERO_DATE=null                 read MySQL zero dates as NULL
 *   DBPIPE_ALLOW_NON_TRANSACTIONAL=1      allow writing MyISAM (etc.) tables */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mysql.h>

#include "db.h"
#include "deps.h"
#include "url.h"

#define STMT_CACHE 32
#define UPD_TMPS 8      /* temporary tables for batched updates kept at once */
#define ER_ACCESS_DENIED 1045 /* ER_ACCESS_DENIED_ERROR */

/* How a column's text from the server becomes canonical text. */
enum kind { K_RAW, K_BOOL, K_YEAR, K_FLOAT, K_DATE, K_TIME, K_DATETIME, K_TIMESTAMP, K_BIT, K_GEOM };

/* What a pending multi-row statement does. */
enum { BATCH_INSERT, BATCH_DELETE, BATCH_UPDATE };

struct cached_stmt {
	char *sql;
	MYSQL_STMT *stmt;
};

/* One statement parameter; bytes live in my_db.arena at off. */
struct param {
	enum enum_field_types type;
	size_t off;
	unsigned long len;
	unsigned long long ull;
	float f;
};

struct my_db {
	MYSQL *h;
	int is_mariadb;
	struct cached_stmt cache[STMT_CACHE];
	size_t ncache, next_evict;
	struct buf sql, tmp;
	struct db_cursor *streaming;   /* the cursor whose result the connection is reading */
	int in_tx;
	int writing;            /* in_tx is a write transaction: scans lock what they read */
	/* write state, from begin_write */
	struct schema ws;              /* the target's tables */
	int *deferred;                 /* per ws table: in a cycle or self-referencing */
	int *dirty_out, *dirty_in;     /* per ws table: references to check (outgoing, incoming) */
	char **nontx;                  /* tables in non-transactional engines, "name\tengine" */
	size_t nnontx;
	struct buf nontx_written;      /* those written to (allowed): a rollback cannot undo them */
	int fk_off, unverified;
	/* statement parameters: descriptors, their bytes, the bind array */
	struct param *params;
	size_t nparams, aparams;
	struct buf arena;
	MYSQL_BIND *bind;
	size_t abind;
	/* the pending multi-row statement */
	const struct table *batch_t;   /* compared, never read at flush time */
	size_t batch_rows, batch_width;
	uint64_t batch_first;   /* db->nwrites of the batch's first row */
	int batch_op;                  /* BATCH_INSERT, BATCH_DELETE or BATCH_UPDATE */
	struct buf batch_table, batch_head, batch_tuple;
	char **batch_keynames;
	size_t *batch_keypos, batch_nkey;
	enum kind *batch_kind;         /* per column of the batch's table */
	/* updates: the columns set (per column of the table, 1 if set), the
	 * UPDATE ... JOIN, the one-row UPDATE and the DELETE that empties the
	 * temporary table */
	unsigned char *batch_set, *row_set;
	size_t aset;
	struct buf batch_update, batch_single, batch_clear;
	/* the temporary tables that carry updates, by table and columns */
	struct upd_tmp {
		char *sig, *name;
	} tmps[UPD_TMPS];
	size_t ntmps, tmp_seq;
	int no_tmp;                    /* one could not be made: updates go one by one */
};

struct db_cursor {
	struct db *db;
	const struct table *t;
	enum kind *kind;
	unsigned *width;              /* bit width for K_BIT */
	MYSQL_RES *res;               /* streaming, or NULL */
	FILE *spool;                  /* the rest of the result after a suspension */
	int lost;                     /* the suspension failed: the rest is unknown */
	struct buf spool_row;
	char **vals;
	unsigned long *lens;
	struct buf tmp;
};

static void my_placeholder(struct buf *sql, size_t n)
{
	(void)n;
	buf_addch(sql, '?');
}

static const struct sql_dialect my_dialect = { '`', " <=> ", 0, my_placeholder, NULL };

static int fail(struct db *db, const char *what)
{
	struct my_db *m = db->impl;
	buf_reset(&db->err);
	buf_addf(&db->err, "%s%s%s", what, *what ? ": " : "", m && m->h ? mysql_error(m->h) : "");
	return -1;
}

static int stmt_fail(struct db *db, MYSQL_STMT *st, const char *what)
{
	buf_reset(&db->err);
	buf_addf(&db->err, "%s%s%s", what, *what ? ": " : "", mysql_stmt_error(st));
	return -1;
}

static int suspend_stream(struct db *db);
static int flush_batch(struct db *db);

/* Run a statement that returns no rows (or whose rows are discarded). */
static int exec(struct db *db, const char *sql)
{
	struct my_db *m = db->impl;
	if (suspend_stream(db) < 0 || flush_batch(db) < 0)
		return -1;
	if (mysql_real_query(m->h, sql, strlen(sql)))
		return fail(db, "");
	MYSQL_RES *r = mysql_store_result(m->h);
	if (r)
		mysql_free_result(r);
	else if (mysql_field_count(m->h))
		return fail(db, "");
	return 0;
}

/* Run a query and keep its (small) result in memory. */
static MYSQL_RES *query(struct db *db, const char *sql)
{
	struct my_db *m = db->impl;
	if (suspend_stream(db) < 0 || flush_batch(db) < 0)
		return NULL;
	if (mysql_real_query(m->h, sql, strlen(sql))) {
		fail(db, "");
		return NULL;
	}
	MYSQL_RES *r = mysql_store_result(m->h);
	if (!r)
		fail(db, "");
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

static int my_open(struct db *db, const char *url)
{
	struct my_db *m = xcalloc(1, sizeof(*m));
	struct url u;
	buf_init(&m->sql);
	buf_init(&m->tmp);
	buf_init(&m->arena);
	buf_init(&m->nontx_written);
	buf_init(&m->batch_table);
	buf_init(&m->batch_head);
	buf_init(&m->batch_tuple);
	buf_init(&m->batch_update);
	buf_init(&m->batch_single);
	buf_init(&m->batch_clear);
	schema_init(&m->ws);
	db->impl = m;
	if (parse_url(db, url, &u) < 0)
		return -1;
	m->h = mysql_init(NULL);
	if (!m->h) {
		url_release(&u);
		buf_reset(&db->err);
		buf_adds(&db->err, "out of memory in mysql_init");
		return -1;
	}
	unsigned timeout = 30;
	/* The user's option files ([client] group) supply what the URL leaves out. */
	mysql_options(m->h, MYSQL_READ_DEFAULT_GROUP, "client");
	mysql_options(m->h, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m->h, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	const char *pass = url_param(&u, "password") ? url_param(&u, "password") : u.password;
#ifndef MARIADB_PACKAGE_VERSION
	/* Connector/C falls back to the option files, then MYSQL_PWD, by itself;
	 * Oracle's client may not read MYSQL_PWD any more. */
	if (!pass && getenv("MYSQL_PWD"))
		pass = getenv("MYSQL_PWD");
#endif
	/* CLIENT_FOUND_ROWS: an UPDATE reports the rows it matched, changed or
	 * not, so that "no such row" can be told apart from "same values". */
	MYSQL *ok = mysql_real_connect(m->h, u.host, u.user, pass, u.database, u.port,
				       url_param(&u, "socket"), CLIENT_FOUND_ROWS);
	url_release(&u);
	if (!ok) {
		buf_reset(&db->err);
		if (mysql_errno(m->h) == ER_ACCESS_DENIED)
			buf_addf(&db->err, "cannot connect: %s (wrong user or password?)", mysql_error(m->h));
		else
			buf_addf(&db->err, "cannot connect: %s", mysql_error(m->h));
		return -1;
	}
	m->is_mariadb = strstr(mysql_get_server_info(m->h), "MariaDB") != NULL;
	if (mysql_set_character_set(m->h, "utf8mb4"))
		return fail(db, "SET NAMES utf8mb4");
	/* UTC for TIMESTAMP values; strict mode so that a value that does not fit
	 * is an error, not a silent truncation; an explicit id 0 stays 0; sort
	 * keys of 64 KiB so that ORDER BY on long values is exact (a longer
	 * tie is caught by the readers' key-order check); patient with slow
	 * readers of a streamed result. */
	if (exec(db, "SET time_zone = '+00:00', "
		     "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
		     "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO', "
		     "max_sort_length = 65536, sort_buffer_size = GREATEST(@@session.sort_buffer_size, 4194304), "
		     "net_write_timeout = 3600, net_read_timeout = 3600") < 0)
		return -1;
	MYSQL_RES *r = query(db, "SELECT DATABASE()");
	if (!r)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(r);
	int have_db = row && row[0];
	mysql_free_result(r);
	if (!have_db) {
		buf_reset(&db->err);
		buf_adds(&db->err, "no database given: name one in the URL (mysql://user@host/DATABASE)");
		return -1;
	}
	return 0;
}

static void release_write_state(struct my_db *m)
{
	schema_release(&m->ws);
	schema_init(&m->ws);
	free(m->deferred);
	free(m->dirty_out);
	free(m->dirty_in);
	m->deferred = m->dirty_out = m->dirty_in = NULL;
	for (size_t i = 0; i < m->nnontx; i++)
		free(m->nontx[i]);
	free(m->nontx);
	m->nontx = NULL;
	m->nnontx = 0;
	buf_reset(&m->nontx_written);
	m->unverified = 0;
}

static void my_close(struct db *db)
{
	struct my_db *m = db->impl;
	if (m->streaming) {
		mysql_free_result(m->streaming->res);
		m->streaming->res = NULL;
		m->streaming = NULL;
	}
	for (size_t i = 0; i < m->ncache; i++) {
		mysql_stmt_close(m->cache[i].stmt);
		free(m->cache[i].sql);
	}
	if (m->h)
		mysql_close(m->h);
	release_write_state(m);
	buf_release(&m->sql);
	buf_release(&m->tmp);
	free(m->bind);
	free(m->params);
	buf_release(&m->arena);
	buf_release(&m->nontx_written);
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
	free(m);
	db->impl = NULL;
}

/* --- schema --- */

/* The leading word of a COLUMN_TYPE, lower case: "int", "varchar", ... */
static void type_word(const char *native, char *out, size_t size)
{
	size_t n = 0;
	while (native[n] && (isalpha((unsigned char)native[n]) || native[n] == '_') && n < size - 1) {
		out[n] = (char)tolower((unsigned char)native[n]);
		n++;
	}
	out[n] = '\0';
}

static int word_in(const char *w, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(w, *list))
			return 1;
	return 0;
}

static const char *const int_words[] = { "tinyint", "smallint", "mediumint", "int", "integer", "bigint", NULL };
static const char *const text_words[] = { "char", "varchar", "tinytext", "text", "mediumtext", "longtext",
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
	type_word(native, w, sizeof(w));
	if (!strncasecmp(native, "tinyint(1)", 10))
		return VT_BOOL;
	if (word_in(w, int_words))
		/* An unsigned bigint does not fit int64: kept exact as a decimal. */
		return !strcmp(w, "bigint") && strcasestr(native, "unsigned") ? VT_DECIMAL : VT_INT;
	if (!strcmp(w, "year"))
		return VT_INT;
	if (!strcmp(w, "float") || !strcmp(w, "double") || !strcmp(w, "real"))
		return VT_FLOAT;
	if (!strcmp(w, "decimal") || !strcmp(w, "numeric") || !strcmp(w, "fixed"))
		return VT_DECIMAL;
	if (word_in(w, text_words) || !strcmp(w, "set"))
		return VT_TEXT;
	if (word_in(w, bytes_words))
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

static int field_is(const char *v, const char *s)
{
	return v && !strcasecmp(v, s);
}

static int load_schema_into(struct db *db, struct schema *out)
{
	struct my_db *m = db->impl;
	struct schema s;
	MYSQL_RES *r;
	MYSQL_ROW row;
	schema_init(&s);

	/* Tables (system-versioned ones read as their current rows). */
	if (!(r = query(db, "SELECT TABLE_NAME FROM information_schema.TABLES "
			    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') "
			    "ORDER BY TABLE_NAME")))
		goto fail;
	while ((row = mysql_fetch_row(r)))
		schema_add(&s, table_new(row[0]));
	mysql_free_result(r);

	/* Columns. */
	if (!(r = query(db, "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, EXTRA "
			    "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
			    "ORDER BY TABLE_NAME, ORDINAL_POSITION")))
		goto fail;
	while ((row = mysql_fetch_row(r))) {
		struct table *t = schema_find(&s, row[0]);
		if (!t)
			continue; /* a view */
		const char *extra = row[4] ? row[4] : "";
		struct column *c = table_add_column(t, row[1], mysql_type(row[2]), row[2],
						    field_is(row[3], "YES"));
		c->autoinc = strcasestr(extra, "auto_increment") != NULL;
		c->generated = strcasestr(extra, "VIRTUAL GENERATED") || strcasestr(extra, "STORED GENERATED") ||
			       strcasestr(extra, "PERSISTENT GENERATED") || strcasestr(extra, "ROW START") ||
			       strcasestr(extra, "ROW END");
	}
	mysql_free_result(r);

	/* MariaDB's JSON is LONGTEXT with a json_valid() check. */
	if (m->is_mariadb) {
		if (!(r = query(db, "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
				    "WHERE CONSTRAINT_SCHEMA = DATABASE() AND CHECK_CLAUSE LIKE 'json\\_valid(%'")))
			goto fail;
		while ((row = mysql_fetch_row(r))) {
			struct table *t = schema_find(&s, row[0]);
			for (size_t i = 0; t && i < t->ncols; i++) {
				buf_reset(&m->tmp);
				buf_adds(&m->tmp, "json_valid(");
				sql_ident(&m->tmp, &my_dialect, t->cols[i].name);
				buf_addch(&m->tmp, ')');
				if (!strcmp(row[1], m->tmp.buf) && t->cols[i].type == VT_TEXT)
					t->cols[i].type = VT_JSON;
			}
		}
		mysql_free_result(r);
	}

	/* Keys: the primary key, else the first unique index (by name) on NOT NULL
	 * columns only, else the whole row. */
	for (size_t i = 0; i < s.n; i++) {
		struct table *t = s.tables[i];
		t->key = xcalloc(t->ncols + 1, sizeof(*t->key));
	}
	if (!(r = query(db, "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART "
			    "FROM information_schema.STATISTICS "
			    "WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0 "
			    "ORDER BY TABLE_NAME, INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX")))
		goto fail;
	{
		/* Per table, the best index so far: its name and whether it is usable. */
		char **best = xcalloc(s.n + 1, sizeof(char *));
		int *done = xcalloc(s.n + 1, sizeof(int));
		struct table *cur_t = NULL;
		char *cur_idx = NULL;
		size_t *cols = NULL, ncols = 0;
		int usable = 0;
		for (;;) {
			row = mysql_fetch_row(r);
			int same = row && cur_t && cur_idx && !strcmp(row[0], cur_t->name) && !strcmp(row[1], cur_idx);
			if (!same && cur_t && cur_idx) {
				/* Finish the index just read. */
				size_t ti = 0;
				while (s.tables[ti] != cur_t)
					ti++;
				int primary = !strcmp(cur_idx, "PRIMARY");
				if (usable && ncols && !done[ti] &&
				    (primary || !best[ti] || strcmp(cur_idx, best[ti]) < 0)) {
					memcpy(cur_t->key, cols, ncols * sizeof(*cols));
					cur_t->nkey = ncols;
					cur_t->key_kind = primary ? KEY_PRIMARY : KEY_UNIQUE;
					free(best[ti]);
					best[ti] = xstrdup(cur_idx);
					if (primary)
						done[ti] = 1;
				}
				free(cur_idx);
				cur_idx = NULL;
			}
			if (!row)
				break;
			if (!same) {
				cur_t = schema_find(&s, row[0]);
				if (!cur_t)
					continue;
				cur_idx = xstrdup(row[1]);
				free(cols);
				cols = xcalloc(cur_t->ncols + 1, sizeof(*cols));
				ncols = 0;
				usable = 1;
			}
			long ci = row[2] ? table_column_index(cur_t, row[2]) : -1;
			if (ci < 0 || row[3] || (cur_t->cols[ci].nullable && strcmp(cur_idx, "PRIMARY")) ||
			    ncols >= cur_t->ncols)
				usable = 0; /* an expression, a prefix or a nullable column */
			else
				cols[ncols++] = (size_t)ci;
		}
		free(cols);
		for (size_t i = 0; i < s.n; i++)
			free(best[i]);
		free(best);
		free(done);
	}
	mysql_free_result(r);
	for (size_t i = 0; i < s.n; i++)
		if (!s.tables[i]->nkey)
			table_key_whole_row(s.tables[i]);

	/* Foreign keys. */
	if (!(r = query(db, "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, "
			    "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME, REFERENCED_TABLE_SCHEMA = DATABASE() "
			    "FROM information_schema.KEY_COLUMN_USAGE "
			    "WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL "
			    "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION")))
		goto fail;
	{
		struct table *last_t = NULL;
		char *last_c = NULL;
		while ((row = mysql_fetch_row(r))) {
			struct table *t = schema_find(&s, row[0]);
			if (!t)
				continue;
			if (t != last_t || !last_c || strcmp(last_c, row[1])) {
				t->refs = xrealloc(t->refs, (t->nrefs + 1) * sizeof(*t->refs));
				struct ref *rf = &t->refs[t->nrefs++];
				memset(rf, 0, sizeof(*rf));
				if (row[6] && !strcmp(row[6], "1")) {
					rf->table = xstrdup(row[4]);
				} else {
					buf_reset(&m->tmp);
					buf_addf(&m->tmp, "%s.%s", row[3], row[4]);
					rf->table = xstrdup(m->tmp.buf);
				}
				free(last_c);
				last_c = xstrdup(row[1]);
				last_t = t;
			}
			struct ref *rf = &t->refs[t->nrefs - 1];
			rf->cols = xrealloc(rf->cols, (rf->ncols + 1) * sizeof(char *));
			rf->to = xrealloc(rf->to, (rf->ncols + 1) * sizeof(char *));
			rf->cols[rf->ncols] = xstrdup(row[2]);
			rf->to[rf->ncols] = xstrdup(row[5]);
			rf->ncols++;
		}
		free(last_c);
	}
	mysql_free_result(r);

	if (!(r = query(db, "SELECT DISTINCT EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
			    "WHERE EVENT_OBJECT_SCHEMA = DATABASE()")))
		goto fail;
	while ((row = mysql_fetch_row(r))) {
		struct table *t = schema_find(&s, row[0]);
		if (t)
			t->has_triggers = 1;
	}
	mysql_free_result(r);

	for (size_t i = 0; i < s.n; i++) {
		schema_add(out, s.tables[i]);
		s.tables[i] = NULL;
	}
	schema_release(&s);
	return 0;
fail:
	schema_release(&s);
	return -1;
}

static int my_load_schema(struct db *db, struct schema *out)
{
	return load_schema_into(db, out);
}

/* --- transactions --- */

static int my_begin_read(struct db *db)
{
	struct my_db *m = db->impl;
	if (exec(db, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ") < 0 ||
	    exec(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY") < 0)
		return -1;
	m->in_tx = 1;
	m->writing = 0;
	return 0;
}

static int drop_tmp(struct db *db, size_t i);

static int my_begin_write(struct db *db)
{
	struct my_db *m = db->impl;
	release_write_state(m);
	/* The temporary tables of updates were made for the tables as they were. */
	m->no_tmp = 0;
	while (m->ntmps)
		if (drop_tmp(db, m->ntmps - 1) < 0)
			return -1;
	if (exec(db, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ") < 0 ||
	    exec(db, "SET foreign_key_checks = 1") < 0 || exec(db, "START TRANSACTION") < 0)
		return -1;
	m->in_tx = 1;
	m->writing = 1;
	m->fk_off = 0;
	if (load_schema_into(db, &m->ws) < 0)
		return -1;
	struct deps d;
	deps_compute(&m->ws, &d);
	m->deferred = xcalloc(m->ws.n + 1, sizeof(int));
	m->dirty_out = xcalloc(m->ws.n + 1, sizeof(int));
	m->dirty_in = xcalloc(m->ws.n + 1, sizeof(int));
	for (size_t i = 0; i < m->ws.n; i++)
		m->deferred[i] = d.in_cycle[i] || d.self_ref[i];
	deps_release(&d);
	MYSQL_RES *r = query(db, "SELECT t.TABLE_NAME, t.ENGINE FROM information_schema.TABLES t "
				 "JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE "
				 "WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' "
				 "AND e.TRANSACTIONS <> 'YES'");
	if (!r)
		return -1;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(r))) {
		m->nontx = xrealloc(m->nontx, (m->nnontx + 1) * sizeof(char *));
		buf_reset(&m->tmp);
		buf_addf(&m->tmp, "%s\t%s", row[0], row[1]);
		m->nontx[m->nnontx++] = xstrdup(m->tmp.buf);
	}
	mysql_free_result(r);
	return 0;
}

static int check_deferred(struct db *db);
static void batch_reset(struct my_db *m);

static int my_commit(struct db *db)
{
	struct my_db *m = db->impl;
	if (m->unverified && check_deferred(db) < 0)
		return -1;
	if (exec(db, "COMMIT") < 0) {
		/* CR_SERVER_GONE_ERROR, CR_SERVER_LOST: the COMMIT may have been
		 * carried out before the connection went */
		unsigned e = mysql_errno(m->h);
		db->commit_unknown = e == 2006 || e == 2013;
		return -1;
	}
	m->in_tx = m->writing = 0;
	if (m->fk_off && exec(db, "SET foreign_key_checks = 1") == 0)
		m->fk_off = 0;
	return 0;
}

static int my_rollback(struct db *db)
{
	struct my_db *m = db->impl;
	batch_reset(m); /* inserts not yet sent need not be */
	if (!m->h || !m->in_tx)
		return 0;
	if (exec(db, "ROLLBACK") < 0)
		return -1;
	m->in_tx = m->writing = 0;
	if (m->fk_off && exec(db, "SET foreign_key_checks = 1") == 0)
		m->fk_off = 0;
	if (m->nontx_written.len) {
		buf_reset(&db->err);
		buf_addf(&db->err, "the non-transactional table(s) %s keep what was written to them",
			 m->nontx_written.buf);
		buf_reset(&m->nontx_written);
		return -1;
	}
	return 0;
}

/* --- reading --- */

static unsigned paren_number(const char *native, unsigned dflt)
{
	const char *p = strchr(native, '(');
	return p && isdigit((unsigned char)p[1]) ? (unsigned)strtoul(p + 1, NULL, 10) : dflt;
}

static enum kind column_kind(const struct column *c)
{
	char w[32];
	type_word(c->native, w, sizeof(w));
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
	if (word_in(w, geom_words))
		return K_GEOM;
	return K_RAW;
}

/* The column as the scan selects it: spatial values as (E)WKT text, the
 * form ST_GeomFromText reads back ("SRID=4326;POINT(1 2)" when not 0). */
static void select_expr(struct buf *sql, const struct column *c, enum kind k)
{
	if (k != K_GEOM) {
		sql_ident(sql, &my_dialect, c->name);
		return;
	}
	buf_adds(sql, "CASE WHEN ST_SRID(");
	sql_ident(sql, &my_dialect, c->name);
	buf_adds(sql, ") = 0 THEN ST_AsText(");
	sql_ident(sql, &my_dialect, c->name);
	buf_adds(sql, ") ELSE CONCAT('SRID=', ST_SRID(");
	sql_ident(sql, &my_dialect, c->name);
	buf_adds(sql, "), ';', ST_AsText(");
	sql_ident(sql, &my_dialect, c->name);
	buf_adds(sql, ")) END");
}

/* The parameter(s) that write column c, and how many there are. */
static size_t param_sql(struct buf *sql, const struct column *c)
{
	if (column_kind(c) == K_GEOM) {
		buf_adds(sql, "ST_GeomFromText(?, ?)");
		return 2;
	}
	buf_addch(sql, '?');
	return 1;
}

/* ORDER BY term for key column c so that the server's order is value_cmp's:
 * numbers and bytes as they are; text bytewise in UTF-8 (CAST to binary
 * avoids the PAD SPACE and case rules of the column's collation). */
static void order_term(struct buf *sql, const struct column *c, enum kind k)
{
	switch (c->type) {
	case VT_INT:
	case VT_FLOAT:
	case VT_DECIMAL:
	case VT_BOOL:
	case VT_BYTES:
	case VT_DATE:
	case VT_TIMESTAMP:
		sql_ident(sql, &my_dialect, c->name);
		return;
	case VT_TIMESTAMPTZ:
		if (paren_number(c->native, 0) == 0) {
			sql_ident(sql, &my_dialect, c->name);
			return;
		}
		/* The canonical text "…:SSZ" sorts after "…:SS.fffZ" of the same second. */
		buf_adds(sql, "DATE_FORMAT(");
		sql_ident(sql, &my_dialect, c->name);
		buf_adds(sql, ", '%Y-%m-%d %H:%i:%s'), MICROSECOND(");
		sql_ident(sql, &my_dialect, c->name);
		buf_adds(sql, ") = 0, MICROSECOND(");
		sql_ident(sql, &my_dialect, c->name);
		buf_addch(sql, ')');
		return;
	default:
		if (k == K_BIT) {
			sql_ident(sql, &my_dialect, c->name);
			return;
		}
		buf_adds(sql, "CAST(CONVERT(");
		select_expr(sql, c, k);
		buf_adds(sql, " USING utf8mb4) AS BINARY)");
	}
}

static void cursor_free(struct db_cursor *c)
{
	if (c->spool)
		fclose(c->spool);
	buf_release(&c->spool_row);
	buf_release(&c->tmp);
	free(c->vals);
	free(c->lens);
	free(c->kind);
	free(c->width);
	free(c);
}

/* Move the rest of the streaming result to a temporary file, so that the
 * connection is free for another statement. */
static int suspend_stream(struct db *db)
{
	struct my_db *m = db->impl;
	struct db_cursor *c = m->streaming;
	if (!c)
		return 0;
	m->streaming = NULL;
	FILE *f = tmpfile();
	if (!f) {
		mysql_free_result(c->res);
		c->res = NULL;
		c->lost = 1;
		buf_reset(&db->err);
		buf_addf(&db->err, "cannot create a temporary file to hold a result: %s", strerror(errno));
		return -1;
	}
	unsigned n = mysql_num_fields(c->res);
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(c->res))) {
		unsigned long *lens = mysql_fetch_lengths(c->res);
		for (unsigned i = 0; i < n; i++) {
			uint64_t len = row[i] ? (uint64_t)lens[i] : UINT64_MAX;
			fwrite(&len, sizeof(len), 1, f);
			if (row[i])
				fwrite(row[i], 1, lens[i], f);
		}
	}
	int bad = mysql_errno(m->h) != 0;
	if (bad)
		fail(db, "reading rows");
	mysql_free_result(c->res);
	c->res = NULL;
	if (!bad && (fflush(f) || ferror(f) || fseek(f, 0, SEEK_SET))) {
		buf_reset(&db->err);
		buf_addf(&db->err, "cannot write a temporary file: %s", strerror(errno));
		bad = 1;
	}
	if (bad) {
		fclose(f);
		c->lost = 1;
		return -1;
	}
	c->spool = f;
	return 0;
}

/* Rows of t in key order, those that where selects if it is not NULL. */
static int scan_where(struct db *db, const struct table *t, const char *where, struct db_cursor **out)
{
	struct my_db *m = db->impl;
	if (suspend_stream(db) < 0 || flush_batch(db) < 0)
		return -1;
	struct db_cursor *c = xcalloc(1, sizeof(*c));
	c->db = db;
	c->t = t;
	c->kind = xcalloc(t->ncols + 1, sizeof(*c->kind));
	c->width = xcalloc(t->ncols + 1, sizeof(*c->width));
	c->vals = xcalloc(t->ncols + 1, sizeof(*c->vals));
	c->lens = xcalloc(t->ncols + 1, sizeof(*c->lens));
	buf_init(&c->spool_row);
	buf_init(&c->tmp);
	for (size_t i = 0; i < t->ncols; i++) {
		c->kind[i] = column_kind(&t->cols[i]);
		c->width[i] = paren_number(t->cols[i].native, 1);
	}
	struct buf *sql = &m->sql;
	buf_reset(sql);
	buf_adds(sql, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		if (i)
			buf_addch(sql, ',');
		select_expr(sql, &t->cols[i], c->kind[i]);
	}
	buf_adds(sql, " FROM ");
	sql_table(sql, &my_dialect, t->name);
	if (where)
		buf_addf(sql, " WHERE %s", where);
	if (t->nkey)
		buf_adds(sql, " ORDER BY ");
	for (size_t k = 0; k < t->nkey; k++) {
		if (k)
			buf_addch(sql, ',');
		order_term(sql, &t->cols[t->key[k]], c->kind[t->key[k]]);
	}
	/* In a write transaction, lock what is read: InnoDB's UPDATE writes the
	 * latest row, not the one read, so another session's change made
	 * between the two would be written over unseen.  It waits instead. */
	if (m->writing)
		buf_adds(sql, " FOR UPDATE");
	if (mysql_real_query(m->h, sql->buf, sql->len) || !(c->res = mysql_use_result(m->h))) {
		fail(db, "");
		cursor_free(c);
		return -1;
	}
	if (mysql_num_fields(c->res) != t->ncols) {
		mysql_free_result(c->res);
		cursor_free(c);
		buf_reset(&db->err);
		buf_adds(&db->err, "the server returned another number of columns than asked for");
		return -1;
	}
	m->streaming = c;
	*out = c;
	return 0;
}

static int my_scan_open(struct db *db, const struct table *t, struct db_cursor **out)
{
	return scan_where(db, t, NULL, out);
}

/* Key columns whose canonical text MySQL reads back as the same value when
 * written as a literal: numbers, text, enums, bytes and dates. */
static int key_literal_ok(const struct column *c)
{
	enum kind k = column_kind(c);
	switch (c->type) {
	case VT_INT:
	case VT_DECIMAL:
	case VT_TEXT:
	case VT_ENUM:
	case VT_BYTES:
		return k == K_RAW;
	case VT_DATE:
		return k == K_DATE;
	default:
		return 0;
	}
}

static void key_literal(struct db *db, struct buf *sql, const struct column *c, const char *s, size_t n)
{
	struct my_db *m = db->impl;
	if (c->type == VT_BYTES) {
		buf_adds(sql, "X'");
		buf_add_hex(sql, s, n);
		buf_addch(sql, '\'');
		return;
	}
	/* A number goes bare: quoted, MySQL would compare it as a double. */
	int bare = (c->type == VT_INT || c->type == VT_DECIMAL) && n && strspn(s, "-0123456789.") == n;
	if (bare) {
		buf_add(sql, s, n);
		return;
	}
	buf_grow(sql, 2 * n + 3);
	buf_addch(sql, '\'');
	sql->len += mysql_real_escape_string(m->h, sql->buf + sql->len, s, (unsigned long)n);
	buf_addch(sql, '\'');
}

/* (k1, k2) IN ((v, v), ...): an index range per key; a collation that
 * folds case or trailing spaces may add rows, which the caller's key
 * comparison passes over. */
static int my_scan_keys_open(struct db *db, const struct table *t, const struct row *const *keys, size_t n,
			     struct db_cursor **out)
{
	if (!table_key_all(t, key_literal_ok))
		return 0;
	if (!n)
		return 1;
	struct buf where = BUF_INIT;
	sql_addf(&where, &my_dialect, "(%K) IN (", t);
		for (size_t r = 0; r < n; r++) {
		buf_adds(&where, r ? ",(" : "(");
		for (size_t k = 0; k < t->nkey; k++) {
			size_t i = t->key[k];
			if (k)
				buf_addch(&where, ',');
			if (keys[r]->v[i].state != V_SET)
				buf_adds(&where, "NULL");
			else
				key_literal(db, &where, &t->cols[i], row_ptr(keys[r], i), keys[r]->v[i].len);
		}
		buf_addch(&where, ')');
	}
	buf_addch(&where, ')');
	int rc = scan_where(db, t, where.buf, out);
	buf_release(&where);
	return rc < 0 ? -1 : 1;
}

/* Read the next spooled row into c->vals/c->lens: 1, 0 at the end, -1. */
static int spool_next(struct db_cursor *c)
{
	size_t n = c->t->ncols;
	uint64_t len;
	buf_reset(&c->spool_row);
	size_t *offs = xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		if (fread(&len, sizeof(len), 1, c->spool) != 1) {
			free(offs);
			if (i == 0 && feof(c->spool))
				return 0;
			buf_reset(&c->db->err);
			buf_adds(&c->db->err, "cannot read back a temporary file");
			return -1;
		}
		if (len == UINT64_MAX) {
			offs[i] = SIZE_MAX;
			c->lens[i] = 0;
			continue;
		}
		offs[i] = c->spool_row.len;
		buf_grow(&c->spool_row, (size_t)len + 1);
		if (len && fread(c->spool_row.buf + c->spool_row.len, 1, (size_t)len, c->spool) != len) {
			free(offs);
			buf_reset(&c->db->err);
			buf_adds(&c->db->err, "cannot read back a temporary file");
			return -1;
		}
		c->spool_row.len += (size_t)len;
		c->spool_row.buf[c->spool_row.len++] = '\0';
		c->lens[i] = (unsigned long)len;
	}
	for (size_t i = 0; i < n; i++)
		c->vals[i] = offs[i] == SIZE_MAX ? NULL : c->spool_row.buf + offs[i];
	free(offs);
	return 1;
}

/* The key of the current row as "col=value, ..." for messages. */
static void describe_key(struct buf *out, const struct db_cursor *c)
{
	const struct table *t = c->t;
	for (size_t k = 0; k < t->nkey && k < 4; k++) {
		size_t i = t->key[k];
		buf_addf(out, "%s%s=", k ? ", " : "", t->cols[i].name);
		if (!c->vals[i])
			buf_adds(out, "NULL");
		else if (t->cols[i].type == VT_BYTES)
			buf_addf(out, "(%lu bytes)", c->lens[i]);
		else
			buf_addf(out, "%.40s", c->vals[i]);
	}
	if (t->nkey > 4)
		buf_adds(out, ", ...");
}

static int bad_value(struct db_cursor *c, size_t i, const char *why)
{
	const struct column *col = &c->t->cols[i];
	struct buf *err = &c->db->err;
	buf_reset(err);
	buf_addf(err, "table \"%s\", column \"%s\" (%s), row with ", c->t->name, col->name, col->native);
	describe_key(err, c);
	buf_addf(err, ": %s", why);
	return -1;
}

/* Remove trailing zeros of a fraction of seconds ("10:00:00.500000" -> "10:00:00.5"). */
static size_t trim_fraction(const char *p, size_t n)
{
	const char *dot = memchr(p, '.', n);
	if (!dot)
		return n;
	while (n > (size_t)(dot - p) + 1 && p[n - 1] == '0')
		n--;
	if (n == (size_t)(dot - p) + 1)
		n--;
	return n;
}

static int is_zero_date(const char *p, size_t n)
{
	return n >= 10 && ((p[5] == '0' && p[6] == '0') || (p[8] == '0' && p[9] == '0'));
}

static int convert_value(struct db_cursor *c, size_t i, struct row *row)
{
	const char *p = c->vals[i];
	size_t n = c->lens[i];
	char tmp[128];
	if (!p) {
		row_set_null(row, i);
		return 0;
	}
	switch (c->kind[i]) {
	case K_RAW:
	case K_GEOM:
		row_set(row, i, p, n);
		return 0;
	case K_BOOL:
		if (n == 1 && (p[0] == '0' || p[0] == '1')) {
			row_set(row, i, p[0] == '1' ? "true" : "false", p[0] == '1' ? 4 : 5);
			return 0;
		}
		snprintf(tmp, sizeof(tmp), "the value %.20s of a tinyint(1) column is not a boolean (0 or 1)", p);
		return bad_value(c, i, tmp);
	case K_YEAR:
		snprintf(tmp, sizeof(tmp), "%ld", strtol(p, NULL, 10));
		row_set(row, i, tmp, strlen(tmp));
		return 0;
	case K_FLOAT:
		buf_reset(&c->tmp);
		value_format_double(&c->tmp, strtod(p, NULL));
		row_set(row, i, c->tmp.buf, c->tmp.len);
		return 0;
	case K_TIME:
		row_set(row, i, p, trim_fraction(p, n));
		return 0;
	case K_DATE:
	case K_DATETIME:
	case K_TIMESTAMP:
		if (is_zero_date(p, n)) {
			if (c->db->opts.zero_date_null) {
				row_set_null(row, i);
				return 0;
			}
			snprintf(tmp, sizeof(tmp), "zero date '%.30s' (--zero-date=null reads it as NULL)", p);
			return bad_value(c, i, tmp);
		}
		if (c->kind[i] == K_DATE) {
			row_set(row, i, p, n);
			return 0;
		}
		n = trim_fraction(p, n);
		if (n + 2 > sizeof(tmp))
			return bad_value(c, i, "unexpected date and time text");
		memcpy(tmp, p, n);
		if (n > 10 && tmp[10] == ' ')
			tmp[10] = 'T';
		if (c->kind[i] == K_TIMESTAMP)
			tmp[n++] = 'Z';
		row_set(row, i, tmp, n);
		return 0;
	case K_BIT: {
		/* Big-endian bytes -> the bits as binary digits, as wide as the column. */
		unsigned w = c->width[i] ? c->width[i] : 1;
		if (w > 64)
			w = 64;
		uint64_t v = 0;
		for (size_t b = 0; b < n; b++)
			v = (v << 8) | (unsigned char)p[b];
		for (unsigned b = 0; b < w; b++)
			tmp[b] = (v >> (w - 1 - b)) & 1 ? '1' : '0';
		row_set(row, i, tmp, w);
		return 0;
	}
	}
	return 0;
}

static int my_scan_next(struct db_cursor *c, struct row *row)
{
	struct my_db *m = c->db->impl;
	size_t n = c->t->ncols;
	if (c->res) {
		MYSQL_ROW r = mysql_fetch_row(c->res);
		if (!r) {
			int bad = mysql_errno(m->h) != 0;
			if (bad)
				fail(c->db, "reading rows");
			mysql_free_result(c->res);
			c->res = NULL;
			if (m->streaming == c)
				m->streaming = NULL;
			return bad ? -1 : 0;
		}
		unsigned long *lens = mysql_fetch_lengths(c->res);
		for (size_t i = 0; i < n; i++) {
			c->vals[i] = r[i];
			c->lens[i] = lens[i];
		}
	} else if (c->spool) {
		int got = spool_next(c);
		if (got <= 0)
			return got;
	} else if (c->lost) {
		buf_reset(&c->db->err);
		buf_addf(&c->db->err, "table \"%s\": the rest of the rows could not be kept for reading", c->t->name);
		return -1;
	} else {
		return 0;
	}
	row_clear(row);
	for (size_t i = 0; i < n; i++)
		if (convert_value(c, i, row) < 0)
			return -1;
	return 1;
}

static void my_scan_close(struct db_cursor *c)
{
	if (!c)
		return;
	struct my_db *m = c->db->impl;
	if (c->res)
		mysql_free_result(c->res); /* reads and drops the rest of the result */
	if (m->streaming == c)
		m->streaming = NULL;
	cursor_free(c);
}

/* --- writing --- */

static long ws_index(struct my_db *m, const char *name)
{
	for (size_t i = 0; i < m->ws.n; i++)
		if (!strcmp(m->ws.tables[i]->name, name))
			return (long)i;
	return -1;
}

static MYSQL_STMT *cached(struct db *db, const char *sql)
{
	struct my_db *m = db->impl;
	for (size_t i = 0; i < m->ncache; i++)
		if (!strcmp(m->cache[i].sql, sql))
			return m->cache[i].stmt;
	MYSQL_STMT *st = mysql_stmt_init(m->h);
	if (!st) {
		fail(db, "mysql_stmt_init");
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
		stmt_fail(db, st, "");
		mysql_stmt_close(st);
		return NULL;
	}
	size_t slot = m->ncache < STMT_CACHE ? m->ncache++ : m->next_evict++ % STMT_CACHE;
	if (m->cache[slot].stmt) {
		mysql_stmt_close(m->cache[slot].stmt);
		free(m->cache[slot].sql);
	}
	m->cache[slot].sql = xstrdup(sql);
	m->cache[slot].stmt = st;
	return st;
}

static int is_intlike(const struct column *c)
{
	char w[32];
	type_word(c->native, w, sizeof(w));
	return c->type == VT_BOOL || word_in(w, int_words) || !strcmp(w, "year") || !strcmp(w, "bit");
}

/* Append value i of r as the next statement parameter (its bytes go to the arena). */
static int encode_param(struct db *db, const struct column *col, enum kind kd, const struct row *r, size_t i)
{
	struct my_db *m = db->impl;
	ALLOC_GROW(m->params, m->nparams + 1, m->aparams);
	struct param *pa = &m->params[m->nparams];
	const char *p = row_ptr(r, i);
	size_t n = r->v[i].len;
	memset(pa, 0, sizeof(*pa));
	if (r->v[i].state != V_SET) {
		pa->type = MYSQL_TYPE_NULL;
		m->nparams++;
		if (kd == K_GEOM) {
			ALLOC_GROW(m->params, m->nparams + 1, m->aparams);
			memset(&m->params[m->nparams], 0, sizeof(*pa));
			m->params[m->nparams++].type = MYSQL_TYPE_NULL;
		}
		return 0;
	}
	if ((!strcmp(p, "true") || !strcmp(p, "false")) && is_intlike(col)) {
		p = p[0] == 't' ? "1" : "0";
		n = 1;
	}
	if (kd == K_BIT) {
		/* Binary digits (as read) or a plain number. */
		uint64_t v = 0;
		if (n > 0 && n <= 64 && strspn(p, "01") == n) {
			for (size_t j = 0; j < n; j++)
				v = (v << 1) | (uint64_t)(p[j] - '0');
		} else {
			char *end;
			errno = 0;
			v = strtoull(p, &end, 10);
			if (!n || *end || errno || *p == '-') {
				buf_reset(&db->err);
				buf_addf(&db->err, "column \"%s\" (%s): \"%.40s\" is not a bit string", col->name,
					 col->native, p);
				return -1;
			}
		}
		pa->type = MYSQL_TYPE_LONGLONG;
		pa->ull = v;
		m->nparams++;
		return 0;
	}
	if (kd == K_GEOM) {
		/* "[SRID=n;]WKT": the text, then the SRID. */
		unsigned long long srid = 0;
		if (n > 5 && !strncasecmp(p, "SRID=", 5)) {
			char *end;
			srid = strtoull(p + 5, &end, 10);
			if (*end != ';') {
				buf_reset(&db->err);
				buf_addf(&db->err, "column \"%s\" (%s): \"%.40s\" is not [SRID=n;]WKT", col->name,
					 col->native, p);
				return -1;
			}
			n -= (size_t)(end + 1 - p);
			p = end + 1;
		}
		pa->type = MYSQL_TYPE_STRING;
		pa->off = m->arena.len;
		pa->len = (unsigned long)n;
		buf_add(&m->arena, p, n);
		m->nparams++;
		ALLOC_GROW(m->params, m->nparams + 1, m->aparams);
		pa = &m->params[m->nparams++];
		memset(pa, 0, sizeof(*pa));
		pa->type = MYSQL_TYPE_LONGLONG;
		pa->ull = srid;
		return 0;
	}
	if (col->type == VT_FLOAT && (!strcmp(p, "NaN") || !strcmp(p, "Infinity") || !strcmp(p, "-Infinity"))) {
		buf_reset(&db->err);
		buf_addf(&db->err, "column \"%s\" (%s): MySQL cannot store %s", col->name, col->native, p);
		return -1;
	}
	if (kd == K_FLOAT && !strncasecmp(col->native, "float", 5)) {
		/* A single-precision column: sent as a float, so that 1.1 written
		 * or compared (whole-row keys) is the float 1.1f, not the double. */
		char *end;
		pa->f = strtof(p, &end);
		if (*end) {
			buf_reset(&db->err);
			buf_addf(&db->err, "column \"%s\" (%s): \"%.40s\" is not a number", col->name, col->native, p);
			return -1;
		}
		pa->type = MYSQL_TYPE_FLOAT;
		m->nparams++;
		return 0;
	}
	pa->type = col->type == VT_BYTES ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
	pa->off = m->arena.len;
	if ((kd == K_DATETIME || kd == K_TIMESTAMP) && n >= 19 && p[10] == 'T') {
		/* "YYYY-MM-DDTHH:MM:SS[.f]" with an optional "Z" or "+00:00" (UTC). */
		if (p[n - 1] == 'Z')
			n--;
		else if (n >= 25 && (!memcmp(p + n - 6, "+00:00", 6) || !memcmp(p + n - 6, "-00:00", 6)))
			n -= 6;
		else if (n >= 22 && !memcmp(p + n - 3, "+00", 3))
			n -= 3;
		buf_add(&m->arena, p, n);
		m->arena.buf[pa->off + 10] = ' ';
	} else {
		buf_add(&m->arena, p, n);
	}
	pa->len = (unsigned long)n;
	m->nparams++;
	return 0;
}

/* Prepare (or reuse) sql, bind params [from, from + n) and execute. */
static MYSQL_STMT *execute(struct db *db, const char *sql, size_t from, size_t n)
{
	struct my_db *m = db->impl;
	MYSQL_STMT *st = cached(db, sql);
	if (!st)
		return NULL;
	if (mysql_stmt_param_count(st) != n) {
		buf_reset(&db->err);
		buf_adds(&db->err, "internal error: parameter count mismatch");
		return NULL;
	}
	ALLOC_GROW(m->bind, n + 1, m->abind);
	for (size_t k = 0; k < n; k++) {
		struct param *pa = &m->params[from + k];
		MYSQL_BIND *b = &m->bind[k];
		memset(b, 0, sizeof(*b));
		b->buffer_type = pa->type;
		if (pa->type == MYSQL_TYPE_FLOAT) {
			b->buffer = &pa->f;
		} else if (pa->type == MYSQL_TYPE_LONGLONG) {
			b->buffer = &pa->ull;
			b->is_unsigned = 1;
		} else if (pa->type != MYSQL_TYPE_NULL) {
			b->buffer = m->arena.buf + pa->off;
			b->buffer_length = pa->len;
			b->length = &pa->len;
		}
	}
	if ((n && mysql_stmt_bind_param(st, m->bind)) || mysql_stmt_execute(st)) {
		stmt_fail(db, st, "");
		return NULL;
	}
	return st;
}

static void batch_reset(struct my_db *m)
{
	m->batch_rows = 0;
	m->batch_t = NULL;
	m->nparams = 0;
	buf_reset(&m->arena);
}

/* Prefix db->err with the table and the key of the batch's row whose
 * parameters start at from: "table "t", deleting the row with id=7: ". */
static void name_batch_row(struct db *db, const char *verb, size_t from)
{
	struct my_db *m = db->impl;
	struct buf msg = BUF_INIT;
	buf_addf(&msg, "table \"%s\", %s the row with ", m->batch_table.buf, verb);
	for (size_t k = 0; k < m->batch_nkey && k < 4; k++) {
		const struct param *pa = &m->params[from + m->batch_keypos[k]];
		buf_addf(&msg, "%s%s=", k ? ", " : "", m->batch_keynames[k]);
		if (pa->type == MYSQL_TYPE_NULL)
			buf_adds(&msg, "NULL");
		else if (pa->type == MYSQL_TYPE_LONGLONG)
			buf_addf(&msg, "%llu", pa->ull);
		else if (pa->type == MYSQL_TYPE_FLOAT)
			buf_addf(&msg, "%g", (double)pa->f);
		else if (pa->type == MYSQL_TYPE_BLOB)
			buf_addf(&msg, "(%lu bytes)", pa->len);
		else
			buf_addf(&msg, "%.*s", (int)(pa->len < 40 ? pa->len : 40), m->arena.buf + pa->off);
	}
	buf_addf(&msg, ": %s", db->err.buf);
	buf_reset(&db->err);
	buf_add(&db->err, msg.buf, msg.len);
	buf_release(&msg);
}

/* The pending statement for rows rows: its head, the tuple once a row,
 * then tail. */
static void batch_sql(struct my_db *m, size_t rows, const char *tail)
{
	buf_reset(&m->sql);
	buf_add(&m->sql, m->batch_head.buf, m->batch_head.len);
	for (size_t r = 0; r < rows; r++) {
		if (r)
			buf_addch(&m->sql, ',');
		buf_add(&m->sql, m->batch_tuple.buf, m->batch_tuple.len);
	}
	buf_adds(&m->sql, tail);
}

/* The pending updates (see update_batch_start): after a savepoint, their
 * rows go into the temporary table in one INSERT, and one UPDATE ... JOIN
 * writes them.  If a statement fails, or the UPDATE matches fewer rows than
 * were sent, all since the savepoint is undone and the rows are updated one
 * at a time with the statement used without batching, so the outcome is
 * that statement's: the row at fault named, or success.  Only when the
 * savepoint is gone (a deadlock ends the transaction) is the batch's own
 * error the answer. */
static int flush_update(struct db *db, size_t rows)
{
	struct my_db *m = db->impl;
	size_t w = m->batch_width;
	int rc = -1;
	if (exec(db, "SAVEPOINT dbpipe_batch") < 0)
		goto out;
	batch_sql(m, rows, "");
	MYSQL_STMT *st = execute(db, m->sql.buf, 0, rows * w);
	if (st)
		st = execute(db, m->batch_update.buf, 0, 0);
	if (st && mysql_stmt_affected_rows(st) == rows) {
		rc = exec(db, m->batch_clear.buf);
		goto out;
	}
	struct buf first = BUF_INIT;
	if (st)
		buf_addf(&first, "%llu of %zu rows to update are not in the target (it changed since the diff)",
			 (unsigned long long)(rows - mysql_stmt_affected_rows(st)), rows);
	else
		buf_add(&first, db->err.buf, db->err.len);
	if (exec(db, "ROLLBACK TO SAVEPOINT dbpipe_batch") < 0 || exec(db, m->batch_clear.buf) < 0) {
		buf_reset(&db->err);
		buf_addf(&db->err, "table \"%s\": %s", m->batch_table.buf, first.buf);
		buf_release(&first);
		goto out;
	}
	buf_release(&first);
	for (size_t r = 0; r < rows; r++) {
		st = execute(db, m->batch_single.buf, r * w, w);
		if (st && mysql_stmt_affected_rows(st) != 0)
			continue;
		if (st) {
			buf_reset(&db->err);
			buf_adds(&db->err, "no row with this key in the target (it changed since the diff)");
		}
		name_batch_row(db, "updating", r * w);
		db->failed_write = m->batch_first + r;
		goto out;
	}
	rc = 0;
out:
	batch_reset(m);
	return rc;
}

/* Run the pending multi-row statement.  If it fails (the server undoes the
 * whole statement) or a DELETE misses rows (undone to a savepoint), the
 * rows are tried one at a time to name the one at fault. */
static int flush_batch(struct db *db)
{
	struct my_db *m = db->impl;
	if (!m->batch_rows)
		return 0;
	size_t rows = m->batch_rows, w = m->batch_width;
	int del = m->batch_op == BATCH_DELETE;
	m->batch_rows = 0; /* the statements below must not flush again */
	if (m->batch_op == BATCH_UPDATE)
		return flush_update(db, rows);
	batch_sql(m, rows, del ? ")" : "");
	if (del && exec(db, "SAVEPOINT dbpipe_batch") < 0) {
		batch_reset(m);
		return -1;
	}
	MYSQL_STMT *st = execute(db, m->sql.buf, 0, rows * w);
	if (st && (!del || mysql_stmt_affected_rows(st) == rows)) {
		batch_reset(m);
		return 0;
	}
	struct buf first = BUF_INIT;
	if (st)
		buf_addf(&first, "%llu of %zu rows to delete are not in the target (it changed since the diff)",
			 (unsigned long long)(rows - mysql_stmt_affected_rows(st)), rows);
	else
		buf_add(&first, db->err.buf, db->err.len);
	if (st && exec(db, "ROLLBACK TO SAVEPOINT dbpipe_batch") < 0) {
		buf_release(&first);
		batch_reset(m);
		return -1;
	}
	batch_sql(m, 1, del ? ")" : "");
	int found = 0;
	for (size_t r = 0; r < rows && !found; r++) {
		st = execute(db, m->sql.buf, r * w, w);
		if (st && (!del || mysql_stmt_affected_rows(st) == 1))
			continue;
		if (st) {
			buf_reset(&db->err);
			buf_adds(&db->err, "no row with this key in the target (it changed since the diff)");
		}
		name_batch_row(db, del ? "deleting" : "inserting", r * w);
		db->failed_write = m->batch_first + r;
		found = 1;
	}
	if (!found) {
		buf_reset(&db->err);
		buf_addf(&db->err, "table \"%s\": %s", m->batch_table.buf, first.buf);
	}
	buf_release(&first);
	batch_reset(m);
	return -1;
}

static void batch_kinds(struct my_db *m, const struct table *t)
{
	m->batch_kind = xrealloc(m->batch_kind, (t->ncols + 1) * sizeof(*m->batch_kind));
	for (size_t i = 0; i < t->ncols; i++)
		m->batch_kind[i] = column_kind(&t->cols[i]);
}

/* The key columns' names for messages, with their places in the tuple. */
static void batch_keys(struct my_db *m, const struct table *t, const size_t *pos, int writable_only)
{
	for (size_t k = 0; k < m->batch_nkey; k++)
		free(m->batch_keynames[k]);
	m->batch_keynames = xrealloc(m->batch_keynames, (t->nkey + 1) * sizeof(char *));
	m->batch_keypos = xrealloc(m->batch_keypos, (t->nkey + 1) * sizeof(size_t));
	m->batch_nkey = 0;
	for (size_t k = 0; k < t->nkey; k++) {
		if (writable_only && !sql_writable(t, t->key[k]))
			continue;
		m->batch_keynames[m->batch_nkey] = xstrdup(t->cols[t->key[k]].name);
		m->batch_keypos[m->batch_nkey++] = pos[t->key[k]];
	}
}

/* Start collecting inserts (or deletes by key) of t: the statement's head
 * "INSERT INTO t (a,b) VALUES " / "DELETE FROM t WHERE (k) IN (" and the
 * tuple "(?,?)" repeated once per row. */
static void batch_start(struct my_db *m, const struct table *t, int del)
{
	size_t w = 0;
	batch_reset(m);
	m->batch_t = t;
	m->batch_op = del ? BATCH_DELETE : BATCH_INSERT;
	buf_reset(&m->batch_table);
	buf_adds(&m->batch_table, t->name);
	buf_reset(&m->batch_head);
	buf_reset(&m->batch_tuple);
	size_t pos[t->ncols + 1];
	batch_kinds(m, t);
	if (del) {
		buf_adds(&m->batch_head, "DELETE FROM ");
		sql_table(&m->batch_head, &my_dialect, t->name);
		buf_adds(&m->batch_head, " WHERE (");
		buf_addch(&m->batch_tuple, '(');
		for (size_t k = 0; k < t->nkey; k++) {
			if (k) {
				buf_addch(&m->batch_head, ',');
				buf_addch(&m->batch_tuple, ',');
			}
			sql_ident(&m->batch_head, &my_dialect, t->cols[t->key[k]].name);
			pos[t->key[k]] = w;
			w += param_sql(&m->batch_tuple, &t->cols[t->key[k]]);
		}
		buf_adds(&m->batch_head, ") IN (");
	} else {
		buf_adds(&m->batch_head, "INSERT INTO ");
		sql_table(&m->batch_head, &my_dialect, t->name);
		buf_adds(&m->batch_head, " (");
		buf_addch(&m->batch_tuple, '(');
		for (size_t i = 0; i < t->ncols; i++) {
			pos[i] = w;
			if (!sql_writable(t, i))
				continue;
			if (w) {
				buf_addch(&m->batch_head, ',');
				buf_addch(&m->batch_tuple, ',');
			}
			sql_ident(&m->batch_head, &my_dialect, t->cols[i].name);
			w += param_sql(&m->batch_tuple, &t->cols[i]);
		}
		buf_adds(&m->batch_head, ") VALUES ");
	}
	buf_addch(&m->batch_tuple, ')');
	batch_keys(m, t, pos, !del);
	m->batch_width = w;
}

/* Deletes by a primary or unique key go in batches; whole-row keys (NULLs,
 * duplicates: one row per change) and keys compared by expression do not. */
static int key_col_exact(const struct column *c)
{
	enum kind kd = column_kind(c);
	return kd != K_GEOM && kd != K_FLOAT;
}

static int delete_batchable(const struct table *t)
{
	return table_key_all(t, key_col_exact);
}

/* --- batched updates ---
 *
 * A run of updates of one table that set the same columns is written
 * through a temporary table made with CREATE TEMPORARY TABLE tmp (PRIMARY
 * KEY (keys)) AS SELECT set-columns, key-columns FROM t LIMIT 0: its
 * columns have the types of t's own (length, precision, charset and
 * collation, unsigned, enum members).  Each batch is
 *
 *   INSERT INTO tmp (c1, ..., k1, ...) VALUES (?, ...), ...
 *   UPDATE t AS d JOIN tmp AS s ON d.k1 = s.k1 AND ... SET d.c1 = s.c1, ...
 *   DELETE FROM tmp
 *
 * Why not a derived table of parameters, UPDATE t JOIN (SELECT ? AS k, ?
 * AS c UNION ALL SELECT ?, ? ...) v ...: the server gives v's columns a
 * type of its own making from the parameters, not the column's: MariaDB
 * 10.11 materializes a string as a CHAR as long as the longest value,
 * which drops trailing spaces ('ab  ' arrives as 'ab'), and MySQL 8 fixes
 * a parameter's type when it prepares the statement, before any value is
 * bound.  With tmp, a value is stored by the same conversion as UPDATE t
 * SET c = ? (a parameter into a column of that type, with strict
 * mode's errors), then copied between two columns of one type, which
 * changes nothing; and the keys are compared between columns of one type
 * and collation, as WHERE k = ? compares them, so the index of t is used
 * and no key matches a row it would not match alone.
 *
 * One thing the copy of a key could change: a value that storing rounds or
 * pads (an int "1.5" becomes 2, a DECIMAL(30,10) or a DATETIME(2) drops
 * extra digits, a CHAR drops trailing spaces, a BINARY(n) is padded with
 * zero bytes) would then match another row than WHERE k = ? does.  So key
 * columns are batched only for types whose values can be checked to be
 * stored as they are (key_col_batchable), and a row whose key is not
 * (key_param_exact) is written alone.  Whatever goes wrong in a batch, the
 * rows are written again one at a time (flush_update). */

/* Key column types that can be batched: integers, decimals, text, binary
 * strings, dates and times of day with a date.  Not: floats (compared by
 * value with rounding), bit, year, time, enum, set, spatial and the rest. */
static int key_col_batchable(const struct column *c)
{
	char w[32];
	enum kind k = column_kind(c);
	type_word(c->native, w, sizeof(w));
	if (k == K_DATE || k == K_DATETIME || k == K_TIMESTAMP)
		return 1;
	return k == K_RAW && (word_in(w, int_words) || !strcmp(w, "decimal") || !strcmp(w, "numeric") ||
			      !strcmp(w, "fixed") || word_in(w, text_words) || !strcmp(w, "varbinary") ||
			      !strcmp(w, "binary"));
}

static int digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return n > 0;
}

/* The scale of a DECIMAL(p,s) (0 when not given) or the fraction digits of
 * a DATETIME(f), from the native type. */
static unsigned native_scale(const char *native, int second)
{
	const char *p = strchr(native, '(');
	if (!p)
		return 0;
	if (second) {
		const char *comma = strchr(p, ',');
		return comma ? (unsigned)strtoul(comma + 1, NULL, 10) : 0;
	}
	return (unsigned)strtoul(p + 1, NULL, 10);
}

/* Whether key parameter pa of column c is stored in c's type unchanged
 * (or refused with an error), as the text the server receives. */
static int key_param_exact(struct my_db *m, const struct column *c, const struct param *pa)
{
	char w[32];
	enum kind k = column_kind(c);
	const char *p = m->arena.buf + pa->off;
	size_t n = pa->len;
	if (pa->type != MYSQL_TYPE_STRING && pa->type != MYSQL_TYPE_BLOB)
		return 0;
	type_word(c->native, w, sizeof(w));
	if (k == K_DATE || k == K_DATETIME || k == K_TIMESTAMP) {
		/* YYYY-MM-DD[ HH:MM:SS[.f]], no more fraction digits than the type keeps */
		if (n < 10 || !digits(p, 4) || p[4] != '-' || !digits(p + 5, 2) || p[7] != '-' || !digits(p + 8, 2))
			return 0;
		if (k == K_DATE)
			return n == 10;
		if (n < 19 || p[10] != ' ' || !digits(p + 11, 2) || p[13] != ':' || !digits(p + 14, 2) ||
		    p[16] != ':' || !digits(p + 17, 2))
			return 0;
		return n == 19 || (p[19] == '.' && digits(p + 20, n - 20) && n - 20 <= native_scale(c->native, 0));
	}
	if (word_in(w, int_words)) {
		size_t sign = n && p[0] == '-';
		return digits(p + sign, n - sign);
	}
	if (!strcmp(w, "decimal") || !strcmp(w, "numeric") || !strcmp(w, "fixed")) {
		size_t sign = n && p[0] == '-';
		const char *dot = memchr(p, '.', n);
		if (!dot)
			return digits(p + sign, n - sign);
		size_t ilen = (size_t)(dot - p) - sign, flen = n - (size_t)(dot - p) - 1;
		return digits(p + sign, ilen) && digits(dot + 1, flen) && flen <= native_scale(c->native, 1);
	}
	if (!strcmp(w, "char") || !strcmp(w, "nchar"))
		return !n || p[n - 1] != ' ';
	if (!strcmp(w, "binary"))
		return n == paren_number(c->native, 1);
	return 1; /* varchar and varbinary keep what they are given */
}

/* Whether update c of t can join a batch; m->row_set says which columns it
 * sets.  Not: whole-row keys (NULLs and duplicates, one row per change),
 * keys of other types than key_col_batchable's, spatial values (written
 * through ST_GeomFromText), or an update that sets nothing. */
static int update_batchable(struct my_db *m, const struct table *t, const struct change *c)
{
	if (m->no_tmp || !table_key_all(t, key_col_batchable))
		return 0;
	if (m->aset < t->ncols + 1) {
		m->aset = t->ncols + 1;
		m->row_set = xrealloc(m->row_set, m->aset);
		m->batch_set = xrealloc(m->batch_set, m->aset);
	}
	size_t nset = 0;
	for (size_t i = 0; i < t->ncols; i++) {
		m->row_set[i] = c->row.v[i].state != V_ABSENT && !table_is_key(t, i) && sql_writable(t, i);
		if (m->row_set[i] && column_kind(&t->cols[i]) == K_GEOM)
			return 0;
		nset += m->row_set[i];
	}
	return nset > 0;
}

static int drop_tmp(struct db *db, size_t i)
{
	struct my_db *m = db->impl;
	buf_reset(&m->tmp);
	buf_adds(&m->tmp, "DROP TEMPORARY TABLE IF EXISTS ");
	sql_ident(&m->tmp, &my_dialect, m->tmps[i].name);
	char *sql = xstrdup(m->tmp.buf);
	int rc = exec(db, sql);
	free(sql);
	free(m->tmps[i].sig);
	free(m->tmps[i].name);
	memmove(&m->tmps[i], &m->tmps[i + 1], (m->ntmps - i - 1) * sizeof(m->tmps[0]));
	m->ntmps--;
	return rc;
}

/* Start collecting updates of t that set the columns of m->row_set: find or
 * make the temporary table and write the statements.  1 started, 0 when no
 * temporary table can be made (the user may lack CREATE TEMPORARY TABLES;
 * updates then go one by one), -1 on failure. */
static int update_batch_start(struct db *db, const struct table *t)
{
	struct my_db *m = db->impl;
	struct buf sig = BUF_INIT, cols = BUF_INIT, keys = BUF_INIT;
	size_t nset = 0, w = 0;
	size_t pos[t->ncols + 1];
	batch_reset(m);
	for (size_t i = 0; i < t->ncols; i++)
		if (m->row_set[i]) {
			if (nset++)
				buf_addch(&cols, ',');
			sql_ident(&cols, &my_dialect, t->cols[i].name);
			pos[i] = w++;
		}
	for (size_t k = 0; k < t->nkey; k++) {
		if (k)
			buf_addch(&keys, ',');
		sql_ident(&keys, &my_dialect, t->cols[t->key[k]].name);
		pos[t->key[k]] = w++;
	}
	sql_table(&sig, &my_dialect, t->name);
	buf_addf(&sig, " %s %s", cols.buf, keys.buf);
	size_t ti = 0;
	while (ti < m->ntmps && strcmp(m->tmps[ti].sig, sig.buf))
		ti++;
	if (ti == m->ntmps) {
		if (m->ntmps == UPD_TMPS && drop_tmp(db, 0) < 0)
			goto fail;
		buf_reset(&m->tmp);
		buf_addf(&m->tmp, "_dbpipe_update_%zu", ++m->tmp_seq);
		char *name = xstrdup(m->tmp.buf);
		buf_reset(&m->tmp);
		buf_adds(&m->tmp, "CREATE TEMPORARY TABLE ");
		sql_ident(&m->tmp, &my_dialect, name);
		buf_addf(&m->tmp, " (PRIMARY KEY (%s)) AS SELECT %s,%s FROM ", keys.buf, cols.buf, keys.buf);
		sql_table(&m->tmp, &my_dialect, t->name);
		buf_adds(&m->tmp, " LIMIT 0");
		char *sql = xstrdup(m->tmp.buf);
		int rc = exec(db, sql);
		free(sql);
		if (rc < 0) {
			free(name);
			m->no_tmp = 1;
			buf_release(&sig);
			buf_release(&cols);
			buf_release(&keys);
			return 0;
		}
		ti = m->ntmps++;
		m->tmps[ti].sig = buf_detach(&sig);
		m->tmps[ti].name = name;
	}
	const char *name = m->tmps[ti].name;
	m->batch_t = t;
	m->batch_op = BATCH_UPDATE;
	memcpy(m->batch_set, m->row_set, t->ncols);
	batch_kinds(m, t);
	buf_reset(&m->batch_table);
	buf_adds(&m->batch_table, t->name);
	/* INSERT INTO tmp (c1,...,k1,...) VALUES  and  (?,...,?) */
	buf_reset(&m->batch_head);
	buf_adds(&m->batch_head, "INSERT INTO ");
	sql_ident(&m->batch_head, &my_dialect, name);
	buf_addf(&m->batch_head, " (%s,%s) VALUES ", cols.buf, keys.buf);
	buf_reset(&m->batch_tuple);
	buf_addch(&m->batch_tuple, '(');
	for (size_t j = 0; j < w; j++)
		buf_adds(&m->batch_tuple, j ? ",?" : "?");
	buf_addch(&m->batch_tuple, ')');
	/* UPDATE t AS d JOIN tmp AS s ON d.k1 = s.k1 AND ... SET d.c1 = s.c1, ...
	 * and, for one row at a time, UPDATE t SET c1 = ?, ... WHERE k1 = ? AND ... */
	buf_reset(&m->batch_update);
	buf_adds(&m->batch_update, "UPDATE ");
	sql_table(&m->batch_update, &my_dialect, t->name);
	buf_adds(&m->batch_update, " AS d JOIN ");
	sql_ident(&m->batch_update, &my_dialect, name);
	buf_adds(&m->batch_update, " AS s ON ");
	buf_reset(&m->batch_single);
	buf_adds(&m->batch_single, "UPDATE ");
	sql_table(&m->batch_single, &my_dialect, t->name);
	buf_adds(&m->batch_single, " SET ");
	for (size_t k = 0; k < t->nkey; k++) {
		const char *kn = t->cols[t->key[k]].name;
		buf_adds(&m->batch_update, k ? " AND d." : "d.");
		sql_ident(&m->batch_update, &my_dialect, kn);
		buf_adds(&m->batch_update, " = s.");
		sql_ident(&m->batch_update, &my_dialect, kn);
	}
	buf_adds(&m->batch_update, " SET ");
	size_t j = 0;
	for (size_t i = 0; i < t->ncols; i++) {
		if (!m->row_set[i])
			continue;
		buf_adds(&m->batch_update, j ? ", d." : "d.");
		sql_ident(&m->batch_update, &my_dialect, t->cols[i].name);
		buf_adds(&m->batch_update, " = s.");
		sql_ident(&m->batch_update, &my_dialect, t->cols[i].name);
		if (j++)
			buf_addch(&m->batch_single, ',');
		sql_ident(&m->batch_single, &my_dialect, t->cols[i].name);
		buf_adds(&m->batch_single, " = ?");
	}
	buf_adds(&m->batch_single, " WHERE ");
	for (size_t k = 0; k < t->nkey; k++) {
		if (k)
			buf_adds(&m->batch_single, " AND ");
		sql_ident(&m->batch_single, &my_dialect, t->cols[t->key[k]].name);
		buf_adds(&m->batch_single, " = ?");
	}
	buf_reset(&m->batch_clear);
	buf_adds(&m->batch_clear, "DELETE FROM ");
	sql_ident(&m->batch_clear, &my_dialect, name);
	batch_keys(m, t, pos, 0);
	m->batch_width = w;
	buf_release(&sig);
	buf_release(&cols);
	buf_release(&keys);
	return 1;
fail:
	buf_release(&sig);
	buf_release(&cols);
	buf_release(&keys);
	return -1;
}

/* Append the parameters of change c to the batch, in the order of its
 * tuple: every writable column for an insert, the key for a delete, the
 * columns set then the key for an update.  1 added, 0 when an update's key
 * is not stored exactly (the caller writes the row alone), -1 on failure. */
static int batch_add(struct db *db, const struct table *t, const struct change *c)
{
	struct my_db *m = db->impl;
	size_t mark = m->nparams, amark = m->arena.len;
	int op = m->batch_op;
	for (size_t i = 0; i < t->ncols; i++) {
		if (op == BATCH_DELETE || (op == BATCH_UPDATE ? !m->batch_set[i] : !sql_writable(t, i)))
			continue;
		if (encode_param(db, &t->cols[i], m->batch_kind[i], &c->row, i) < 0)
			goto undo;
	}
	if (op != BATCH_INSERT)
		for (size_t k = 0; k < t->nkey; k++) {
			size_t i = t->key[k];
			if (encode_param(db, &t->cols[i], m->batch_kind[i], &c->row, i) < 0)
				goto undo;
			if (op == BATCH_UPDATE && !key_param_exact(m, &t->cols[i], &m->params[m->nparams - 1])) {
				m->nparams = mark;
				m->arena.len = amark;
				return 0;
			}
		}
	m->batch_rows++;
	return 1;
undo:
	m->nparams = mark;
	m->arena.len = amark;
	return -1;
}

static int refuse_nontx(struct db *db, const char *table)
{
	struct my_db *m = db->impl;
	size_t n = strlen(table);
	for (size_t i = 0; i < m->nnontx; i++)
		if (!strncmp(m->nontx[i], table, n) && m->nontx[i][n] == '\t') {
			if (db->opts.allow_non_transactional) {
				buf_reset(&m->tmp);
				buf_addf(&m->tmp, "\"%s\"", table);
				if (!strstr(m->nontx_written.buf, m->tmp.buf))
					buf_addf(&m->nontx_written, "%s%s", m->nontx_written.len ? ", " : "", m->tmp.buf);
				return 0;
			}
			buf_reset(&db->err);
			buf_addf(&db->err, "table \"%s\" uses the non-transactional engine %s: a failure could not be "
				 "rolled back (convert it to InnoDB, or allow it with --allow-non-transactional, never in a dry run)",
				 table, m->nontx[i] + n + 1);
			return -1;
		}
	return 0;
}

/* Foreign-key checks off for tables in cycles, on for every other table. */
static int set_fk_mode(struct db *db, const struct table *t, enum rec_type type)
{
	struct my_db *m = db->impl;
	long wi = ws_index(m, t->name);
	int defer = wi >= 0 && m->deferred && m->deferred[wi];
	if (defer != m->fk_off) {
		if (exec(db, defer ? "SET foreign_key_checks = 0" : "SET foreign_key_checks = 1") < 0)
			return -1;
		m->fk_off = defer;
	}
	if (defer) {
		if (type != REC_DELETE)
			m->dirty_out[wi] = 1;
		if (type != REC_INSERT && type != REC_ROW)
			m->dirty_in[wi] = 1;
		m->unverified = 1;
	}
	return 0;
}

#define BATCH_ROWS 1000
#define BATCH_PARAMS 60000      /* the protocol allows 65535 per statement */
#define BATCH_BYTES (4 << 20)   /* well below the default max_allowed_packet */

static int my_write(struct db *db, const struct table *t, const struct change *c)
{
	struct my_db *m = db->impl;
	int insert = c->type == REC_ROW || c->type == REC_INSERT;
	if (!insert && c->type != REC_UPDATE && c->type != REC_DELETE)
		return 0;
	/* The kind of batch c can join, or -1: a statement of its own. */
	int op = insert ? BATCH_INSERT
		 : c->type == REC_DELETE ? (delete_batchable(t) ? BATCH_DELETE : -1)
					 : (update_batchable(m, t, c) ? BATCH_UPDATE : -1);
	if (m->batch_rows &&
	    (op < 0 || m->batch_t != t || m->batch_op != op ||
	     (op == BATCH_UPDATE && memcmp(m->batch_set, m->row_set, t->ncols))) &&
	    flush_batch(db) < 0)
		return -1;
	if (suspend_stream(db) < 0 || refuse_nontx(db, t->name) < 0 || set_fk_mode(db, t, c->type) < 0)
		return -1;
	if (op >= 0 && !m->batch_rows) {
		m->batch_first = db->nwrites;
		if (op != BATCH_UPDATE) {
			batch_start(m, t, op == BATCH_DELETE);
		} else {
			int got = update_batch_start(db, t);
			if (got < 0)
				return -1;
			if (!got)
				op = -1;
		}
	}
	if (op >= 0) {
		/* Collected into multi-row statements, run when another kind of
		 * write, another table (or, for updates, other columns) or the
		 * end of the transaction comes. */
		int added = batch_add(db, t, c);
		if (added < 0)
			return -1;
		if (added) {
			if (m->batch_rows >= BATCH_ROWS || m->nparams + m->batch_width > BATCH_PARAMS ||
			    m->arena.len > BATCH_BYTES)
				return flush_batch(db);
			return 0;
		}
		/* An update whose key a batch could not carry exactly: alone,
		 * after the updates before it. */
		if (flush_batch(db) < 0)
			return -1;
	}
	batch_reset(m);
	struct buf *sql = &m->sql;
	buf_reset(sql);
	if (c->type == REC_UPDATE) {
		buf_adds(sql, "UPDATE ");
		sql_table(sql, &my_dialect, t->name);
		buf_adds(sql, " SET ");
		for (size_t i = 0; i < t->ncols; i++) {
			if (c->row.v[i].state == V_ABSENT || table_is_key(t, i) || !sql_writable(t, i))
				continue;
			if (m->nparams)
				buf_addch(sql, ',');
			sql_ident(sql, &my_dialect, t->cols[i].name);
			buf_adds(sql, " = ");
			param_sql(sql, &t->cols[i]);
			if (encode_param(db, &t->cols[i], column_kind(&t->cols[i]), &c->row, i) < 0)
				return -1;
		}
		if (!m->nparams)
			return 0; /* nothing to set */
	} else {
		buf_adds(sql, "DELETE FROM ");
		sql_table(sql, &my_dialect, t->name);
	}
	buf_adds(sql, " WHERE ");
	for (size_t j = 0; j < t->nkey; j++) {
		const struct column *kc = &t->cols[t->key[j]];
		if (j)
			buf_adds(sql, " AND ");
		sql_ident(sql, &my_dialect, kc->name);
		/* Whole-row keys may hold NULLs, which plain = never matches. */
		buf_adds(sql, t->key_kind == KEY_ROW ? " <=> " : " = ");
		param_sql(sql, kc);
		if (encode_param(db, kc, column_kind(kc), &c->row, t->key[j]) < 0)
			return -1;
	}
	/* A whole-row key may match duplicates: one change is one row. */
	if (t->key_kind == KEY_ROW)
		buf_adds(sql, " LIMIT 1");
	MYSQL_STMT *st = execute(db, m->sql.buf, 0, m->nparams);
	if (!st)
		return -1;
	if (mysql_stmt_affected_rows(st) == 0) {
		buf_reset(&db->err);
		buf_addf(&db->err, "no row with this key in the target (it changed since the diff)");
		return -1;
	}
	return 0;
}

/* One reference check: rows of child whose non-NULL reference has no parent. */
static int check_ref(struct db *db, const struct table *child, const struct ref *rf)
{
	struct my_db *m = db->impl;
	struct buf *sql = &m->sql;
	buf_reset(sql);
	buf_adds(sql, "SELECT ");
	for (size_t k = 0; k < child->nkey && k < 4; k++) {
		if (k)
			buf_adds(sql, ",");
		buf_adds(sql, "c.");
		sql_ident(sql, &my_dialect, child->cols[child->key[k]].name);
	}
	buf_adds(sql, " FROM ");
	sql_table(sql, &my_dialect, child->name);
	buf_adds(sql, " c WHERE ");
	for (size_t j = 0; j < rf->ncols; j++) {
		buf_adds(sql, "c.");
		sql_ident(sql, &my_dialect, rf->cols[j]);
		buf_adds(sql, " IS NOT NULL AND ");
	}
	buf_adds(sql, "NOT EXISTS (SELECT 1 FROM ");
	sql_table(sql, &my_dialect, rf->table);
	buf_adds(sql, " p WHERE ");
	for (size_t j = 0; j < rf->ncols; j++) {
		if (j)
			buf_adds(sql, " AND ");
		buf_adds(sql, "p.");
		sql_ident(sql, &my_dialect, rf->to[j]);
		buf_adds(sql, " = c.");
		sql_ident(sql, &my_dialect, rf->cols[j]);
	}
	buf_adds(sql, ") LIMIT 3");
	MYSQL_RES *r = query(db, sql->buf);
	if (!r)
		return -1;
	MYSQL_ROW row;
	int bad = 0;
	struct buf msg = BUF_INIT;
	while ((row = mysql_fetch_row(r))) {
		buf_addf(&msg, "%sforeign key violation: the row of \"%s\" with ", bad ? "; " : "", child->name);
		for (size_t k = 0; k < child->nkey && k < 4; k++)
			buf_addf(&msg, "%s%s=%.40s", k ? ", " : "", child->cols[child->key[k]].name,
				 row[k] ? row[k] : "NULL");
		buf_addf(&msg, " references a missing row of \"%s\"", rf->table);
		bad++;
	}
	mysql_free_result(r);
	if (bad) {
		buf_reset(&db->err);
		buf_add(&db->err, msg.buf, msg.len);
	}
	buf_release(&msg);
	return bad ? -1 : 0;
}

/* Check the references written with foreign_key_checks off. */
static int check_deferred(struct db *db)
{
	struct my_db *m = db->impl;
	for (size_t i = 0; i < m->ws.n; i++) {
		const struct table *t = m->ws.tables[i];
		for (size_t j = 0; j < t->nrefs; j++) {
			long p = ws_index(m, t->refs[j].table);
			if ((m->dirty_out[i] || (p >= 0 && m->dirty_in[p])) && check_ref(db, t, &t->refs[j]) < 0)
				return -1;
		}
	}
	m->unverified = 0;
	return 0;
}

static int my_check_constraints(struct db *db)
{
	struct my_db *m = db->impl;
	if (flush_batch(db) < 0)
		return -1;
	if (!m->unverified)
		return 0;
	return check_deferred(db);
}

/* InnoDB (and MyISAM) move the AUTO_INCREMENT counter past every id written
 * explicitly, so it is already past the largest id.  ALTER TABLE ...
 * AUTO_INCREMENT is not used: it would commit the transaction implicitly,
 * which would break dry runs and rollback. */
static int my_reset_sequence(struct db *db, const struct table *t)
{
	(void)t;
	return flush_batch(db);
}

const struct db_ops db_mysql_ops = {
	.engine = "mysql",
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
	.write = my_write,
	.check_constraints = my_check_constraints,
	.reset_sequence = my_reset_sequence,
};
