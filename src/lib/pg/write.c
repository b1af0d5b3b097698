/* db_pg: the PostgreSQL backend (libpq).
 *
 * The session is pinned to settings that make the text forms exact and
 * independent of the server's and the user's configuration: TimeZone UTC,
 * DateStyle ISO, IntervalStyle postgres, extra_float_digits 3, bytea_output
 * hex, client_encoding UTF8.
 *
 * Reading in a read session (begin_read: dumps, dbdiff, backups) goes
 * through COPY (SELECT ... ORDER BY key) TO STDOUT, whose rows arrive as the
 * server makes them, so that it and we work side by side; it ties up the
 * connection until the scan ends, which a read session never minds.
 * Measured on 1M rows, 2 cores: 1.73 s against 2.2 s through the cursor
 * below, whose batches the server cannot work ahead on once the socket's
 * buffer is full (psql's COPY of the same rows: 1.35 s).  In a write
 * transaction, where other statements run while a scan is open, reading
 * goes through a server-side cursor fetched in batches of about 2 MB (the
 * next FETCH is sent as soon as a batch arrives).  Either way a table is
 * never held in memory.  Keys are ordered as value_cmp orders them: numbers,
 * booleans, uuid and bytea natively, text COLLATE "C", every other type by
 * its canonical text COLLATE "C"; NULLs first.
 *
 * Writing is batched.  Consecutive inserts into one table are streamed into
 * a COPY ... FROM STDIN (which also lets a table's rows refer to each other
 * in any order: non-deferred foreign keys are checked at the end of the
 * statement; note that COPY, unlike INSERT, does not apply rewrite rules).
 * A run of BATCH_MIN or more updates of the same columns (or deletes) of a
 * table becomes one UPDATE ... FROM unnest(arrays) (DELETE ... USING) that
 * also returns the keys it did not find; shorter runs, tables keyed by the
 * whole row and types that cannot travel in arrays go as prepared
 * statements in pipeline mode, PIPE_MAX at a time.  Row counts are checked
 * either way: an update or delete of a key the target lacks is an error.  A
 * batch ends (reporting its first error, naming the row where it can) when
 * anything else happens on the connection, so an error may surface in a
 * later call than the one that wrote the row.  Order is kept: a batch is
 * sent before anything that follows it.  Tables are named ONLY (ordinary
 * tables: rows of inheriting tables are theirs, not the parent's) and always
 * schema-qualified. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <postgresql/libpq-fe.h> /* Debian: /usr/include/postgresql */

#include "db.h"

/* Rows per FETCH: the first batch is small, the next ones aim at about
 * FETCH_BYTES of text whatever the width of the rows. */
#define FETCH_FIRST 256
#define FETCH_MAX 10000
#define FETCH_BYTES (2 << 20)
#define STMT_CACHE 64
/* Updates and deletes sent before their results are read (pipeline mode). */
#define PIPE_MAX 256
/* Updates and deletes of one shape done as one statement over arrays. */
#define BATCH_ROWS 5000
#define BATCH_MIN 16   /* fewer go through the pipeline */
#define BATCH_BYTES (4 << 20)

/* Type oids (pg_type.h), fixed since forever. */
enum {
	OID_BOOL = 16, OID_BYTEA = 17, OID_NAME = 19, OID_INT8 = 20, OID_INT2 = 21,
	OID_INT4 = 23, OID_TEXT = 25, OID_JSON = 114, OID_FLOAT4 = 700,
	OID_FLOAT8 = 701, OID_BPCHAR = 1042, OID_VARCHAR = 1043, OID_DATE = 1082,
	OID_TIME = 1083, OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184,
	OID_NUMERIC = 1700, OID_UUID = 2950, OID_JSONB = 3802,
};

struct prepared {
	char *sql;
	char name[24];
};

/* Updates (of the same columns) or deletes of one table, collected as one
 * array literal per column and run as one statement that also returns the
 * first key it did not find. */
struct batch {
	int active;
	enum rec_type kind;
	const struct table *src;  /* the caller's table: compared, never read */
	struct table *t;          /* our copy of it */
	char *table;
	size_t ncols, nkey;
	size_t *cols;       /* indexes into t->cols: the key, then the set columns */
	struct buf *arr;    /* the array literal of each */
	size_t rows, bytes;
	struct buf sql;
	const char *only;   /* "ONLY " or "" */
	/* The first BATCH_MIN rows are held; a batch that ends with fewer is
	 * sent row by row through the pipeline, cheaper than one statement
	 * over arrays (alternating updates and deletes make such batches). */
	struct row held[BATCH_MIN];
	int held_init, arrays;
	uint64_t first;     /* db->nwrites of its first row */
};

struct pg_db {
	PGconn *conn;
	int reading;                    /* in a read-only snapshot (begin_read) */
	struct db_cursor *copy_out;     /* the scan whose COPY TO STDOUT is running */
	struct batch batch;
	struct prepared cache[STMT_CACHE];
	size_t ncache, next_evict;
	unsigned long seq;              /* for statement and cursor names */
	struct buf sql, tmp, line;
	/* Updates and deletes in flight: what each one is, for its error. */
	int piping;
	char *pdesc[PIPE_MAX];
	uint64_t pwrite[PIPE_MAX]; /* the db->nwrites of each */
	uint64_t cur_write;        /* that of the row send_row sends */
	char xid[32];              /* the write transaction's id (txid_current) */
	size_t npending;
	/* The cursor whose next FETCH was sent ahead and not yet collected. */
	struct db_cursor *ahead;
	/* The COPY in progress (inserts into copy_table), if any. */
	int copying;
	char *copy_table;
	unsigned long copy_rows;
	uint64_t copy_first;     /* db->nwrites of the COPY's first row */
	/* Sequences to move past their column's largest id at commit:
	 * "table\0column" pairs.  setval() is not transactional, so a rolled
	 * back (dry) run must never have called it. */
	char **seqs;
	size_t nseqs;
	/* relkind of the tables seen so far ("name\0k"), see only(). */
	char **kinds;
	size_t nkinds;
	/* What turns the triggers set_triggers turned off back on, as they were. */
	struct sql_later triggers_back;
	/* The condition on xmin of the mark since_usable accepted. */
	char since_where[160];
	/* Parameters of the statement being run. */
	const char **pv;
	int *pl, *pf;
	size_t palloc;
};

struct db_cursor {
	struct db *db;
	const struct table *t;
	char name[32];
	PGresult *res;
	int nrows, pos, done;
	PGresult *next;   /* the batch fetched ahead, once collected */
	int next_ready;
	int want;         /* rows asked for by the FETCH whose result is next */
	/* A scan of a read session comes through COPY ... TO STDOUT: the row
	 * PQgetCopyData gave, and its values unescaped and NUL-terminated. */
	int copy;
	char *copy_row;
	struct buf fields;
	size_t *off, *len;
	char *isnull;
};

static void pg_placeholder(struct buf *sql, size_t n)
{
	buf_addf(sql, "$%zu", n);
}

static const struct sql_dialect pg_dialect = { '"', " IS NOT DISTINCT FROM ", 1, pg_placeholder, NULL };

/* libpq's messages end in a newline and may span lines: make them one line. */
static void add_message(struct buf *err, const char *msg)
{
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n; i++) {
		if (msg[i] == '\n') {
			buf_adds(err, "; ");
			while (i + 1 < n && (msg[i + 1] == ' ' || msg[i + 1] == '\t'))
				i++;
		} else {
			buf_addch(err, msg[i]);
		}
	}
}

/* The error of a failed result: primary message, detail and hint. */
static void add_result_error(struct buf *err, const PGresult *res, PGconn *conn)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!primary) {
		add_message(err, res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
								    : PQerrorMessage(conn));
		return;
	}
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state && !strcmp(state, "40001") && !hint)
		hint = "another session changed the row after dbapply read it; nothing is written, run the sync again";
	const char *where = PQresultErrorField(res, PG_DIAG_CONTEXT);
	add_message(err, primary);
	if (detail) {
		buf_adds(err, " (");
		add_message(err, detail);
		buf_addch(err, ')');
	}
	if (hint) {
		buf_adds(err, "; hint: ");
		add_message(err, hint);
	}
	if (where && strncmp(where, "COPY ", 5)) {
		buf_adds(err, "; context: ");
		add_message(err, where);
	}
}

static int fail_res(struct db *db, const char *what, PGresult *res)
{
	struct pg_db *p = db->impl;
	buf_reset(&db->err);
	if (what && *what)
		buf_addf(&db->err, "%s: ", what);
	add_result_error(&db->err, res, p->conn);
	PQclear(res);
	return -1;
}

static int fail(struct db *db, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int fail(struct db *db, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_reset(&db->err);
	buf_adds(&db->err, tmp);
	return -1;
}

static int flush_copy(struct db *db);
static int flush_pipeline(struct db *db, int report);
static int flush_batch(struct db *db, int report);
static void settle(struct db *db);
static void copy_abandon(struct db_cursor *c);

/* Make the connection ready for a new command: collect a FETCH sent ahead,
 * end a COPY, a pipeline or a batch of updates (reporting their errors). */
static int idle(struct db *db)
{
	struct pg_db *p = db->impl;
	if (p->copy_out)
		return fail(db, "table \"%s\" is still being read", p->copy_out->t->name);
	settle(db);
	/* A batch may end in the pipeline, so the batch goes first. */
	if (flush_copy(db) < 0 || flush_batch(db, 1) < 0)
		return -1;
	return flush_pipeline(db, 1);
}

/* Run sql (no parameters, no rows wanted). */
static int exec(struct db *db, const char *sql)
{
	struct pg_db *p = db->impl;
	if (idle(db) < 0)
		return -1;
	PGresult *res = PQexec(p->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return fail_res(db, "", res);
	PQclear(res);
	return 0;
}

/* Run a query with text parameters; returns the result or NULL (db->err set). */
static PGresult *query(struct db *db, const char *sql, int n, const char *const *params)
{
	struct pg_db *p = db->impl;
	if (idle(db) < 0)
		return NULL;
	PGresult *res = PQexecParams(p->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
		fail_res(db, "", res);
		return NULL;
	}
	return res;
}

static void ignore_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static int pg_open(struct db *db, const char *url)
{
	struct pg_db *p = xcalloc(1, sizeof(*p));
	buf_init(&p->sql);
	buf_init(&p->tmp);
	buf_init(&p->line);
	db->impl = p;
	p->conn = PQconnectdb(url);
	if (!p->conn)
		return fail(db, "out of memory");
	if (PQstatus(p->conn) != CONNECTION_OK) {
		buf_reset(&db->err);
		add_message(&db->err, PQerrorMessage(p->conn));
		return -1;
	}
	/* Notices (e.g. from triggers) must not reach stdout or stderr unasked. */
	PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
	if (PQsetClientEncoding(p->conn, "UTF8") != 0) {
		buf_reset(&db->err);
		add_message(&db->err, PQerrorMessage(p->conn));
		return -1;
	}
	return exec(db, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
			"SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; "
			"SET bytea_output = 'hex'; SET standard_conforming_strings = on; "
			"SET lc_monetary = 'C'; SET xmloption = 'content'");
}

static void clear_seqs(struct pg_db *p)
{
	for (size_t i = 0; i < p->nseqs; i++)
		free(p->seqs[i]);
	free(p->seqs);
	p->seqs = NULL;
	p->nseqs = 0;
}

static void pg_close(struct db *db)
{
	struct pg_db *p = db->impl;
	clear_seqs(p);
	sql_later_clear(&p->triggers_back);
	if (p->conn)
		flush_batch(db, 0);
	buf_release(&p->batch.sql);
	for (size_t i = 0; p->batch.held_init && i < BATCH_MIN; i++)
		row_release(&p->batch.held[i]);
	for (size_t i = 0; i < p->npending; i++)
		free(p->pdesc[i]);
	for (size_t i = 0; i < p->nkinds; i++)
		free(p->kinds[i]);
	free(p->kinds);
	if (p->conn)
		PQfinish(p->conn);
	for (size_t i = 0; i < p->ncache; i++)
		free(p->cache[i].sql);
	free(p->copy_table);
	free(p->pv);
	free(p->pl);
	free(p->pf);
	buf_release(&p->sql);
	buf_release(&p->tmp);
	buf_release(&p->line);
	free(p);
	db->impl = NULL;
}

/* --- names --- */

/* Table names as the stream has them: unqualified in public, else schema.table. */
static char *stream_name(const char *nsp, const char *rel)
{
	struct buf b = BUF_INIT;
	if (strcmp(nsp, "public"))
		buf_addf(&b, "%s.", nsp);
	buf_adds(&b, rel);
	return buf_detach(&b);
}

/* The table, always schema-qualified so that search_path cannot redirect it. */
static void pg_table(struct buf *sql, const char *name)
{
	if (strchr(name, '.')) {
		sql_table(sql, &pg_dialect, name);
		return;
	}
	buf_adds(sql, "\"public\".");
	sql_ident(sql, &pg_dialect, name);
}

static PGresult *query(struct db *db, const char *sql, int n, const char *const *params);

/* "ONLY " for an ordinary table, so that the rows of tables inheriting from
 * it (dumped as tables of their own) are neither read nor written through
 * it; "" for a partitioned table, whose rows live in its partitions.
 * Returns NULL on failure. */
static const char *only(struct db *db, const char *name)
{
	struct pg_db *p = db->impl;
	size_t ln = strlen(name);
	for (size_t i = 0; i < p->nkinds; i++)
		if (!strcmp(p->kinds[i], name))
			return p->kinds[i][ln + 1] == 'r' ? "ONLY " : "";
	struct buf q = BUF_INIT;
	pg_table(&q, name);
	const char *params[1] = { q.buf };
	PGresult *res = query(db, "SELECT relkind FROM pg_catalog.pg_class WHERE oid = $1::regclass", 1, params);
	buf_release(&q);
	if (!res)
		return NULL;
	char kind = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)[0] : 'r';
	PQclear(res);
	char *entry = xmalloc(ln + 3);
	memcpy(entry, name, ln + 1);
	entry[ln + 1] = kind;
	entry[ln + 2] = '\0';
	p->kinds = xrealloc(p->kinds, (p->nkinds + 1) * sizeof(*p->kinds));
	p->kinds[p->nkinds++] = entry;
	return kind == 'r' ? "ONLY " : "";
}

/* --- schema --- */

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
	"COALESCE(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) LIKE 'nextval(%', false) "
	"FROM tbl t JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid "
	"JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid "
	"LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
	"WHERE a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum";

/* Primary keys and the unique indexes that could stand in for one (no
 * predicate, no expressions, valid), one row per key column. */
static const char q_keys[] = TABLES_CTE
	"SELECT i.indrelid, i.indexrelid, i.indisprimary, k.attnum "
	"FROM tbl t JOIN pg_catalog.pg_index i ON i.indrelid = t.oid "
	"JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
	"CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
	"WHERE (i.indisprimary OR i.indisunique) AND i.indpred IS NULL AND i.indexprs IS NULL "
	"AND i.indisvalid AND k.ord <= i.indnkeyatts "
	"ORDER BY i.indrelid, i.indisprimary DESC, ic.relname COLLATE \"C\", i.indexrelid, k.ord";

static const char q_refs[] = TABLES_CTE
	"SELECT con.conrelid, con.oid, con.condeferrable, rn.nspname, rc.relname, a.attname, fa.attname "
	"FROM tbl t JOIN pg_catalog.pg_constraint con ON con.conrelid = t.oid AND con.contype = 'f' "
	"AND con.conparentid = 0 "
	"JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid "
	"JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
	"CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(a1, a2, ord) "
	"JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.a1 "
	"JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.a2 "
	"ORDER BY con.conrelid, con.conname COLLATE \"C\", con.oid, k.ord";

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

/* Choose the key of each table from the rows of q_keys: the primary key,
 * else the first unique index (by name) whose columns are all NOT NULL,
 * else the whole row. */
static void choose_keys(PGresult *res, struct loading *v, size_t n)
{
	int nr = PQntuples(res);
	for (int r = 0; r < nr;) {
		unsigned rel = getoid(res, r, 0), idx = getoid(res, r, 1);
		int primary = getbool(res, r, 2);
		int end = r;
		while (end < nr && getoid(res, end, 0) == rel && getoid(res, end, 1) == idx)
			end++;
		struct loading *l = find_loading(v, n, rel);
		if (l && !l->t->nkey) {
			int ok = 1;
			for (int i = r; i < end && ok; i++) {
				long a = strtol(PQgetvalue(res, i, 3), NULL, 10);
				long ci = a > 0 && a <= l->nattr ? l->col_of_attnum[a] : -1;
				if (ci < 0 || (!primary && (l->t->cols[ci].nullable || l->t->cols[ci].generated)))
					ok = 0;
			}
			if (ok) {
				free(l->t->key);
				l->t->key = xcalloc((size_t)(end - r), sizeof(*l->t->key));
				for (int i = r; i < end; i++)
					l->t->key[l->t->nkey++] =
						(size_t)l->col_of_attnum[strtol(PQgetvalue(res, i, 3), NULL, 10)];
				l->t->key_kind = primary ? KEY_PRIMARY : KEY_UNIQUE;
			}
		}
		r = end;
	}
	for (size_t i = 0; i < n; i++)
		if (!v[i].t->nkey)
			table_key_whole_row(v[i].t);
}

static void load_refs(PGresult *res, struct loading *v, size_t n)
{
	int nr = PQntuples(res);
	unsigned last = 0;
	for (int r = 0; r < nr; r++) {
		struct loading *l = find_loading(v, n, getoid(res, r, 0));
		unsigned con = getoid(res, r, 1);
		if (!l)
			continue;
		struct table *t = l->t;
		if (con != last) {
			t->refs = xrealloc(t->refs, (t->nrefs + 1) * sizeof(*t->refs));
			struct ref *rf = &t->refs[t->nrefs++];
			memset(rf, 0, sizeof(*rf));
			rf->table = stream_name(PQgetvalue(res, r, 3), PQgetvalue(res, r, 4));
			rf->deferrable = getbool(res, r, 2);
			last = con;
		}
		struct ref *rf = &t->refs[t->nrefs - 1];
		rf->cols = xrealloc(rf->cols, (rf->ncols + 1) * sizeof(char *));
		rf->to = xrealloc(rf->to, (rf->ncols + 1) * sizeof(char *));
		rf->cols[rf->ncols] = xstrdup(PQgetvalue(res, r, 5));
		rf->to[rf->ncols] = xstrdup(PQgetvalue(res, r, 6));
		rf->ncols++;
	}
}

static int pg_load_schema(struct db *db, struct schema *out)
{
	PGresult *tabs = NULL, *cols = NULL, *keys = NULL, *refs = NULL;
	struct loading *v = NULL;
	size_t n = 0;
	int rc = -1;
	if (!(tabs = query(db, q_tables, 0, NULL)) || !(cols = query(db, q_columns, 0, NULL)) ||
	    !(keys = query(db, q_keys, 0, NULL)) || !(refs = query(db, q_refs, 0, NULL)))
		goto out;
	n = (size_t)PQntuples(tabs);
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		char *name = stream_name(PQgetvalue(tabs, (int)i, 1), PQgetvalue(tabs, (int)i, 2));
		v[i].oid = getoid(tabs, (int)i, 0);
		v[i].t = table_new(name);
		v[i].t->has_triggers = getbool(tabs, (int)i, 3);
		free(name);
	}
	/* Columns: the largest attnum per table first, for the attnum map. */
	int nc = PQntuples(cols);
	for (int r = 0; r < nc; r++) {
		struct loading *l = find_loading(v, n, getoid(cols, r, 0));
		int a = atoi(PQgetvalue(cols, r, 1));
		if (l && a > l->nattr)
			l->nattr = a;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].col_of_attnum = xmalloc(((size_t)v[i].nattr + 1) * sizeof(long));
		for (int a = 0; a <= v[i].nattr; a++)
			v[i].col_of_attnum[a] = -1;
	}
	for (int r = 0; r < nc; r++) {
		struct loading *l = find_loading(v, n, getoid(cols, r, 0));
		if (!l)
			continue;
		enum vtype vt = pg_vtype(getoid(cols, r, 7), PQgetvalue(cols, r, 8)[0]);
		l->col_of_attnum[atoi(PQgetvalue(cols, r, 1))] = (long)l->t->ncols;
		struct column *c = table_add_column(l->t, PQgetvalue(cols, r, 2), vt,
						    PQgetvalue(cols, r, 3), !getbool(cols, r, 4));
		c->autoinc = getbool(cols, r, 5) || getbool(cols, r, 9);
		c->generated = getbool(cols, r, 6);
	}
	choose_keys(keys, v, n);
	load_refs(refs, v, n);
	/* In name order (bytewise), as the SQLite backend gives them. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1].t->name, v[j].t->name) > 0; j--) {
			struct loading tmp = v[j];
			v[j] = v[j - 1];
			v[j - 1] = tmp;
		}
	for (size_t i = 0; i < n; i++) {
		schema_add(out, v[i].t);
		v[i].t = NULL;
	}
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
	return rc;
}

/* --- transactions --- */

static int pg_begin_read(struct db *db)
{
	struct pg_db *p = db->impl;
	p->reading = 1;
	return exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
}

static int pg_begin_write(struct db *db)
{
	struct pg_db *p = db->impl;
	p->reading = 0;
	clear_seqs(p);
	sql_later_clear(&p->triggers_back);
	/* Deferrable constraints wait for check_constraints or the commit, so
	 * cycles and rows in any order load; the others stay immediate. */
	/* REPEATABLE READ: a row another session changes after this
	 * transaction has read it cannot be written over; the update or delete
	 * fails ("could not serialize access") and the run is rolled back. */
	if (exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ; SET CONSTRAINTS ALL DEFERRED") < 0)
		return -1;
	/* The transaction's id, to ask a new connection what became of it if
	 * the connection is lost during the COMMIT (pg_commit). */
	PGresult *res = query(db, "SELECT txid_current()", 0, NULL);
	if (!res)
		return -1;
	snprintf(p->xid, sizeof(p->xid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static int set_sequences(struct db *db);

/* The connection was lost during the COMMIT (db->err says how): whether the
 * server committed is asked of a new connection, for up to 30 s (a server
 * that restarts): txid_status() of the transaction's id.  0 committed,
 * -1 rolled back or unknown (db->commit_unknown). */
static int commit_outcome(struct db *db)
{
	struct pg_db *p = db->impl;
	const char *status = NULL;
	struct buf lost = BUF_INIT;
	buf_add(&lost, db->err.buf, db->err.len);
	for (int tries = 0; tries < 60 && !status; tries++) {
		PGconn *c = PQconnectdb(db->url);
		if (c && PQstatus(c) == CONNECTION_OK) {
			const char *params[1] = { p->xid };
			PGresult *res = PQexecParams(c, "SELECT txid_status($1::bigint)", 1, NULL, params, NULL, NULL, 0);
			if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
				status = !strcmp(PQgetvalue(res, 0, 0), "committed") ? "committed"
					 : !strcmp(PQgetvalue(res, 0, 0), "aborted") ? "aborted" : "in progress";
			else
				status = "unknown";
			PQclear(res);
		}
		if (c)
			PQfinish(c);
		if (!status)
			usleep(500000);
	}
	buf_reset(&db->err);
	if (status && !strcmp(status, "committed")) {
		db->commit_found = 1;
		buf_release(&lost);
		return 0;
	}
	if (status && !strcmp(status, "aborted"))
		buf_addf(&db->err, "%s; a new connection found the transaction rolled back", lost.buf);
	else {
		db->commit_unknown = 1;
		buf_addf(&db->err, "%s; whether the transaction committed is unknown (%s)", lost.buf,
			 status ? "the server says it is still in progress" : "no new connection in 30 s");
	}
	buf_release(&lost);
	return -1;
}

static int pg_commit(struct db *db)
{
	struct pg_db *p = db->impl;
	if (idle(db) < 0)
		return -1;
	if (PQtransactionStatus(p->conn) == PQTRANS_INERROR)
		return fail(db, "the transaction failed earlier; nothing was committed");
	/* Check the deferred constraints first, so that sequences only move
	 * for a transaction that is going to commit. */
	if (p->nseqs && (exec(db, "SET CONSTRAINTS ALL IMMEDIATE") < 0 || set_sequences(db) < 0))
		return -1;
	PGresult *res = PQexec(p->conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQstatus(p->conn) != CONNECTION_OK) {
		fail_res(db, "commit", res);
		return commit_outcome(db);
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail_res(db, "commit", res);
	/* COMMIT of a failed transaction reports ROLLBACK, not an error. */
	int ok = !strcmp(PQcmdStatus(res), "COMMIT");
	PQclear(res);
	return ok ? 0 : fail(db, "the transaction was rolled back by the server");
}

static int pg_rollback(struct db *db)
{
	struct pg_db *p = db->impl;
	if (!p || !p->conn || PQstatus(p->conn) != CONNECTION_OK)
		return 0;
	clear_seqs(p);
	if (p->copy_out)
		copy_abandon(p->copy_out);
	settle(db);
	flush_batch(db, 0);
	flush_pipeline(db, 0);
	if (p->copying) {
		/* Abandon the COPY: the server fails it and the transaction. */
		PQputCopyEnd(p->conn, "rolled back");
		PGresult *res;
		while ((res = PQgetResult(p->conn)))
			PQclear(res);
		p->copying = 0;
	}
	if (PQtransactionStatus(p->conn) == PQTRANS_IDLE)
		return 0;
	PGresult *res = PQexec(p->conn, "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail_res(db, "rollback", res);
	PQclear(res);
	return 0;
}

static int pg_check_constraints(struct db *db)
{
	return exec(db, "SET CONSTRAINTS ALL IMMEDIATE");
}

/* --- reading --- */

/* Key order: what value_cmp does with the canonical text of each type. */
static void order_by(struct buf *sql, const struct table *t)
{
	buf_adds(sql, " ORDER BY ");
	for (size_t k = 0; k < t->nkey; k++) {
		const struct column *c = &t->cols[t->key[k]];
		if (k)
			buf_addch(sql, ',');
		switch (c->type) {
		case VT_INT:
		case VT_FLOAT:
		case VT_DECIMAL:
		case VT_BOOL:
		case VT_BYTES:
		case VT_UUID: /* 16 bytes compared as memcmp: the order of the hex text */
			sql_ident(sql, &pg_dialect, c->name);
			break;
		case VT_TEXT:
			sql_ident(sql, &pg_dialect, c->name);
			buf_adds(sql, " COLLATE \"C\"");
			break;
		case VT_TIMESTAMP:
			/* The text read_value makes of it, compared bytewise. */
			buf_adds(sql, "(CASE WHEN ");
			sql_ident(sql, &pg_dialect, c->name);
			buf_adds(sql, "::text LIKE '% BC' THEN ");
			sql_ident(sql, &pg_dialect, c->name);
			buf_adds(sql, "::text ELSE replace(");
			sql_ident(sql, &pg_dialect, c->name);
			buf_adds(sql, "::text, ' ', 'T') END) COLLATE \"C\"");
			break;
		case VT_TIMESTAMPTZ:
			buf_adds(sql, "(CASE WHEN ");
			sql_ident(sql, &pg_dialect, c->name);
			buf_adds(sql, "::text LIKE '%+00' THEN replace(left(");
			sql_ident(sql, &pg_dialect, c->name);
			buf_adds(sql, "::text, -3), ' ', 'T') || 'Z' ELSE ");
			sql_ident(sql, &pg_dialect, c->name);
			buf_adds(sql, "::text END) COLLATE \"C\"");
			break;
		default:
			buf_addch(sql, '(');
			sql_ident(sql, &pg_dialect, c->name);
			buf_adds(sql, "::text) COLLATE \"C\"");
			break;
		}
		buf_adds(sql, " NULLS FIRST");
	}
}

/* Declare a cursor over t's rows in key order; where (if not NULL) is the
 * condition that selects some of them.  A condition that reads every row
 * (since) is applied in a materialized scan first, so that the planner
 * sorts the few rows it keeps instead of walking the whole key index. */
static int open_cursor(struct db *db, const struct table *t, const char *where, int materialize,
		       struct db_cursor **out)
{
	struct pg_db *p = db->impl;
	const char *from_only = only(db, t->name);
	if (!from_only)
		return -1;
	struct db_cursor *c = xcalloc(1, sizeof(*c));
	c->db = db;
	c->t = t;
	snprintf(c->name, sizeof(c->name), "dbpipe_c%lu", ++p->seq);
	buf_reset(&p->sql);
	/* Outside a transaction a cursor must be WITH HOLD to outlive its statement. */
	int hold = PQtransactionStatus(p->conn) == PQTRANS_IDLE;
	c->copy = p->reading && !hold;
	if (c->copy)
		buf_adds(&p->sql, "COPY (");
	else
		buf_addf(&p->sql, "DECLARE %s NO SCROLL CURSOR%s FOR ", c->name, hold ? " WITH HOLD" : "");
	if (where && materialize)
		buf_adds(&p->sql, "WITH dbpipe_rows AS MATERIALIZED (");
	buf_adds(&p->sql, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		if (i)
			buf_addch(&p->sql, ',');
		sql_ident(&p->sql, &pg_dialect, t->cols[i].name);
	}
	if (!t->ncols)
		buf_adds(&p->sql, "NULL");
	buf_addf(&p->sql, " FROM %s", from_only);
	pg_table(&p->sql, t->name);
	if (where)
		buf_addf(&p->sql, " WHERE %s", where);
	if (where && materialize)
		buf_adds(&p->sql, ") SELECT * FROM dbpipe_rows");
	if (t->nkey)
		order_by(&p->sql, t);
	if (c->copy) {
		buf_adds(&p->sql, ") TO STDOUT");
		if (idle(db) < 0) {
			free(c);
			return -1;
		}
		PGresult *res = PQexec(p->conn, p->sql.buf);
		if (PQresultStatus(res) != PGRES_COPY_OUT) {
			free(c);
			return fail_res(db, "reading rows", res);
		}
		PQclear(res);
		buf_init(&c->fields);
		c->off = xcalloc(t->ncols + 1, sizeof(*c->off));
		c->len = xcalloc(t->ncols + 1, sizeof(*c->len));
		c->isnull = xcalloc(t->ncols + 1, 1);
		p->copy_out = c;
	} else if (exec(db, p->sql.buf) < 0) {
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static int pg_scan_open(struct db *db, const struct table *t, struct db_cursor **out)
{
	return open_cursor(db, t, NULL, 0, out);
}

/* --- what changed since an earlier snapshot ---
 *
 * A mark is "postgresql:SYSTEM_ID:DATABASE_OID:XMIN": the cluster, the
 * database, and the oldest transaction (64 bits, with its epoch) that the
 * marked snapshot did not see as finished.  Every row version written
 * since carries a transaction id (xmin) at or after XMIN, so "xmin >= XMIN"
 * finds every insert and update since, plus a few rows the snapshot already
 * had (harmless: they compare equal).  xmin is 32 bits and wraps; VACUUM
 * FREEZE keeps it (PostgreSQL 9.4 and later), so the comparison is made
 * modulo 2^32 within the window [XMIN, now], which must be under 2^31
 * transactions wide.  Deleted rows leave nothing to find. */

#define MARK_MAX_AGE (1u << 30)

/* This database's id and the read snapshot's xmin and xmax. */
/* Where a server does not let us read them (pg_control_system is not
 * everyone's on every service), the dump goes on without a mark: the query
 * runs under a savepoint so that its failure leaves the snapshot usable. */
static int snapshot_ids(struct db *db, struct buf *ident, unsigned long long *xmin, unsigned long long *xmax)
{
	if (exec(db, "SAVEPOINT dbpipe_mark") < 0)
		return -1;
	PGresult *res = query(db, "SELECT (SELECT system_identifier FROM pg_control_system())::text || ':' || "
			      "(SELECT oid FROM pg_database WHERE datname = current_database())::text, "
			      "txid_snapshot_xmin(txid_current_snapshot())::text, "
			      "txid_snapshot_xmax(txid_current_snapshot())::text", 0, NULL);
	if (res && PQgetisnull(res, 0, 0)) {
		PQclear(res);
		res = NULL;
		buf_reset(&db->err);
		buf_adds(&db->err, "the server does not tell its system identifier");
	}
	if (!res) {
		struct buf why = BUF_INIT;
		buf_add(&why, db->err.buf, db->err.len);
		exec(db, "ROLLBACK TO SAVEPOINT dbpipe_mark");
		buf_reset(&db->err);
		buf_add(&db->err, why.buf, why.len);
		buf_release(&why);
		return -1;
	}
	if (exec(db, "RELEASE SAVEPOINT dbpipe_mark") < 0) {
		PQclear(res);
		return -1;
	}
	buf_reset(ident);
	buf_addf(ident, "postgresql:%s", PQgetvalue(res, 0, 0));
	*xmin = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	*xmax = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return 0;
}

static int pg_snapshot_mark(struct db *db, struct buf *out)
{
	unsigned long long xmin, xmax;
	if (snapshot_ids(db, out, &xmin, &xmax) < 0)
		return -1;
	buf_addf(out, ":%llu", xmin);
	return 0;
}

static int pg_since_usable(struct db *db, const char *mark)
{
	struct pg_db *p = db->impl;
	struct buf ident = BUF_INIT;
	unsigned long long xmin, xmax, since;
	int rc = -1;
	const char *colon = strrchr(mark, ':');
	rc = 0;
	if (snapshot_ids(db, &ident, &xmin, &xmax) < 0) {
		struct buf why = BUF_INIT;
		buf_addf(&why, "this database's snapshot cannot be named (%s)", db->err.buf);
		buf_reset(&db->err);
		buf_add(&db->err, why.buf, why.len);
		buf_release(&why);
		goto out;
	}
	if (!colon || (size_t)(colon - mark) != ident.len || memcmp(mark, ident.buf, ident.len)) {
		buf_reset(&db->err);
		buf_adds(&db->err, "the mark is not of this database");
		goto out;
	}
	char *end;
	since = strtoull(colon + 1, &end, 10);
	if (*end || end == colon + 1 || since > xmax) {
		buf_reset(&db->err);
		buf_adds(&db->err, "the mark is not of this database's history");
		goto out;
	}
	if (xmax - since >= MARK_MAX_AGE) {
		buf_reset(&db->err);
		buf_addf(&db->err, "the mark is %llu transactions old (too old to compare)", xmax - since);
		goto out;
	}
	unsigned long long lo = since & 0xffffffffu, hi = xmax & 0xffffffffu;
	if (since >> 32 == xmax >> 32)
		snprintf(p->since_where, sizeof(p->since_where), "xmin::text::bigint >= %llu", lo);
	else /* the window wraps around 2^32 */
		snprintf(p->since_where, sizeof(p->since_where),
			 "(xmin::text::bigint >= %llu OR xmin::text::bigint < %llu)", lo, hi);
	rc = 1;
out:
	buf_release(&ident);
	return rc;
}

static int pg_scan_since_open(struct db *db, const struct table *t, const char *mark, struct db_cursor **out)
{
	struct pg_db *p = db->impl;
	(void)mark; /* checked by since_usable, whose condition is since_where */
	if (!p->since_where[0])
		return fail(db, "scan_since_open before since_usable");
	return open_cursor(db, t, p->since_where, 1, out);
}

static int arrayable(const struct column *col);
static void array_element(struct buf *out, const struct column *col, const struct row *r, size_t i);

static int pg_scan_keys_open(struct db *db, const struct table *t, const struct row *const *keys, size_t n,
			     struct db_cursor **out)
{
	struct pg_db *p = db->impl;
	if (!table_key_all(t, arrayable))
		return 0;
	if (!n)
		return 1;
	/* (k1, k2) IN (SELECT * FROM unnest('{...}'::type[], ...)), the arrays
	 * as literals (a cursor's statement takes no parameters). */
	struct buf where = BUF_INIT;
	sql_addf(&where, &pg_dialect, "(%K) IN (", t);
	buf_adds(&where, "SELECT * FROM unnest(");
	for (size_t k = 0; k < t->nkey; k++) {
		const struct column *col = &t->cols[t->key[k]];
		buf_reset(&p->tmp);
		buf_addch(&p->tmp, '{');
		for (size_t r = 0; r < n; r++) {
			if (r)
				buf_addch(&p->tmp, ',');
			array_element(&p->tmp, col, keys[r], t->key[k]);
		}
		buf_addch(&p->tmp, '}');
		char *lit = PQescapeLiteral(p->conn, p->tmp.buf, p->tmp.len);
		if (!lit) {
			buf_release(&where);
			return fail(db, "%s", PQerrorMessage(p->conn));
		}
		buf_addf(&where, "%s%s::%s[]", k ? ", " : "", lit, col->native);
		PQfreemem(lit);
	}
	buf_adds(&where, "))");
	int rc = open_cursor(db, t, where.buf, 0, out);
	buf_release(&where);
	return rc < 0 ? -1 : 1;
}

/* Collect the result of the FETCH sent ahead, if any, into its cursor. */
static void settle(struct db *db)
{
	struct pg_db *p = db->impl;
	struct db_cursor *c = p->ahead;
	if (!c)
		return;
	p->ahead = NULL;
	PGresult *res, *first = NULL;
	while ((res = PQgetResult(p->conn))) {
		if (!first)
			first = res;
		else
			PQclear(res);
	}
	c->next = first;
	c->next_ready = 1;
}

/* The next batch of rows.  As soon as one arrives the FETCH of the one after
 * it is sent, so that the server reads while we convert and write; any other
 * command first collects it (settle). */
static int fetch(struct db_cursor *c)
{
	struct db *db = c->db;
	struct pg_db *p = db->impl;
	char sql[96];
	PGresult *res;
	PQclear(c->res);
	c->res = NULL;
	c->pos = c->nrows = 0;
	if (p->ahead == c)
		settle(db);
	if (c->next_ready) {
		res = c->next;
		c->next = NULL;
		c->next_ready = 0;
	} else {
		if (idle(db) < 0)
			return -1;
		if (!c->want)
			c->want = FETCH_FIRST;
		snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM %s", c->want, c->name);
		res = PQexec(p->conn, sql);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return fail_res(db, "reading rows", res);
	c->res = res;
	c->nrows = PQntuples(res);
	if (c->nrows < c->want) {
		c->done = 1;
		return 0;
	}
	/* Size the next batch by the width of this one's rows. */
	size_t bytes = 0;
	int ncols = PQnfields(res);
	for (int r = 0; r < c->nrows; r++)
		for (int i = 0; i < ncols; i++)
			bytes += (size_t)PQgetlength(res, r, i) + 8;
	size_t per_row = bytes / (size_t)c->nrows + 1, want = FETCH_BYTES / per_row;
	c->want = want < 16 ? 16 : want > FETCH_MAX ? FETCH_MAX : (int)want;
	snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM %s", c->want, c->name);
	if (!p->ahead && !p->copying && !p->piping && PQsendQuery(p->conn, sql))
		p->ahead = c;
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Shortest text that reads back to the same float (a real column). */
static void format_float4(struct buf *out, float f)
{
	char tmp[32];
	if (isnan(f) || isinf(f)) {
		value_format_double(out, (double)f);
		return;
	}
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
		if (strtof(tmp, NULL) == f)
			break;
	}
	buf_adds(out, tmp);
}

/* Convert one value of the current row to canonical text. */
static int read_value(struct db_cursor *c, size_t i, const char *s, size_t n, struct row *row)
{
	const struct column *col = &c->t->cols[i];
	if (!s) {
		row_set_null(row, i);
		return 0;
	}
	struct pg_db *p = c->db->impl;
	switch (col->type) {
	case VT_BOOL:
		if (s[0] == 't')
			row_set(row, i, "true", 4);
		else
			row_set(row, i, "false", 5);
		return 0;
	case VT_FLOAT: {
		buf_reset(&p->tmp);
		if (!strcmp(col->native, "real"))
			format_float4(&p->tmp, strtof(s, NULL));
		else
			value_format_double(&p->tmp, strtod(s, NULL));
		row_set(row, i, p->tmp.buf, p->tmp.len);
		return 0;
	}
	case VT_BYTES: {
		if (n < 2 || s[0] != '\\' || s[1] != 'x' || n % 2)
			break;
		buf_reset(&p->tmp);
		buf_grow(&p->tmp, n / 2);
		for (size_t j = 2; j < n; j += 2) {
			int hi = hexval((unsigned char)s[j]), lo = hexval((unsigned char)s[j + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			p->tmp.buf[p->tmp.len++] = (char)(hi << 4 | lo);
		}
		row_set(row, i, p->tmp.buf, p->tmp.len);
		return 0;
	}
	case VT_TIMESTAMP:
		/* "2026-01-02 03:04:05.6" -> "2026-01-02T03:04:05.6"; BC and infinity stay as they are. */
		row_set(row, i, s, n);
		if (!(n > 3 && !memcmp(s + n - 3, " BC", 3))) {
			char *q = memchr(row->data.buf + row->v[i].off, ' ', n);
			if (q)
				*q = 'T';
		}
		return 0;
	case VT_TIMESTAMPTZ:
		/* In UTC: "2026-01-02 03:04:05.6+00" -> "2026-01-02T03:04:05.6Z". */
		if (n > 3 && !memcmp(s + n - 3, "+00", 3)) {
			buf_reset(&p->tmp);
			buf_add(&p->tmp, s, n - 3);
			buf_addch(&p->tmp, 'Z');
			char *q = memchr(p->tmp.buf, ' ', p->tmp.len);
			if (q)
				*q = 'T';
			row_set(row, i, p->tmp.buf, p->tmp.len);
		} else {
			row_set(row, i, s, n);
		}
		return 0;
	default:
		row_set(row, i, s, n);
		return 0;
	}
bad:
	buf_reset(&c->db->err);
	buf_addf(&c->db->err, "table \"%s\", column \"%s\" (%s): unexpected value %.40s",
		 c->t->name, col->name, col->native, s);
	return -1;
}

/* Split a row of COPY's text format into its values: tab-separated, \N
 * for NULL, backslash escapes undone. */
static int split_copy_row(struct db_cursor *c, const char *s, size_t n)
{
	size_t ncols = c->t->ncols ? c->t->ncols : 1, i = 0;
	struct buf *f = &c->fields;
	if (n && s[n - 1] == '\n')
		n--;
	buf_reset(f);
	buf_grow(f, n + ncols);
	for (size_t j = 0;; i++) {
		if (i >= ncols)
			return fail(c->db, "table \"%s\": COPY gave more values than columns", c->t->name);
		c->isnull[i] = j + 2 <= n && s[j] == '\\' && s[j + 1] == 'N' && (j + 2 == n || s[j + 2] == '\t');
		c->off[i] = f->len;
		if (c->isnull[i]) {
			j += 2;
		} else {
			for (; j < n && s[j] != '\t'; j++) {
				char ch = s[j];
				if (ch == '\\' && j + 1 < n) {
					ch = s[++j];
					switch (ch) {
					case 'b': ch = '\b'; break;
					case 'f': ch = '\f'; break;
					case 'n': ch = '\n'; break;
					case 'r': ch = '\r'; break;
					case 't': ch = '\t'; break;
					case 'v': ch = '\v'; break;
					case 'x':
						if (j + 1 < n && hexval((unsigned char)s[j + 1]) >= 0) {
							int v = hexval((unsigned char)s[++j]);
							if (j + 1 < n && hexval((unsigned char)s[j + 1]) >= 0)
								v = v * 16 + hexval((unsigned char)s[++j]);
							ch = (char)v;
						}
						break;
					default:
						if (ch >= '0' && ch <= '7') {
							int v = ch - '0';
							for (int d = 0; d < 2 && j + 1 < n && s[j + 1] >= '0' && s[j + 1] <= '7'; d++)
								v = v * 8 + (s[++j] - '0');
							ch = (char)v;
						}
						break; /* any other character stands for itself */
					}
				}
				f->buf[f->len++] = ch;
			}
		}
		c->len[i] = f->len - c->off[i];
		f->buf[f->len++] = '\0';
		if (j >= n)
			break;
		if (s[j] != '\t')
			return fail(c->db, "table \"%s\": unexpected text after \\N in COPY's output", c->t->name);
		j++;
	}
	if (i + 1 != ncols)
		return fail(c->db, "table \"%s\": COPY gave %zu values for %zu columns", c->t->name, i + 1, ncols);
	return 0;
}

/* The end of a COPY scan: its command result, then the connection is free. */
static int copy_done(struct db_cursor *c)
{
	struct db *db = c->db;
	struct pg_db *p = db->impl;
	PGresult *res;
	int rc = 0;
	c->done = 1;
	p->copy_out = NULL;
	while ((res = PQgetResult(p->conn))) {
		if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = fail_res(db, "reading rows", res);
			continue;
		}
		PQclear(res);
	}
	return rc;
}

static int copy_next(struct db_cursor *c, struct row *row)
{
	struct pg_db *p = c->db->impl;
	if (c->done)
		return 0;
	PQfreemem(c->copy_row);
	c->copy_row = NULL;
	int n = PQgetCopyData(p->conn, &c->copy_row, 0);
	if (n == -1)
		return copy_done(c) < 0 ? -1 : 0;
	if (n < 0) {
		fail(c->db, "reading rows: %s", PQerrorMessage(p->conn));
		copy_done(c);
		return -1;
	}
	if (split_copy_row(c, c->copy_row, (size_t)n) < 0)
		return -1;
	row_clear(row);
	for (size_t i = 0; i < c->t->ncols; i++)
		if (read_value(c, i, c->isnull[i] ? NULL : c->fields.buf + c->off[i], c->len[i], row) < 0)
			return -1;
	return 1;
}

/* Stop a COPY scan before its end: cancel it and drop what is in flight.
 * The transaction is left failed, which only a read session does. */
static void copy_abandon(struct db_cursor *c)
{
	struct pg_db *p = c->db->impl;
	char errbuf[256], *line;
	PGcancel *cancel = PQgetCancel(p->conn);
	if (cancel) {
		PQcancel(cancel, errbuf, sizeof(errbuf));
		PQfreeCancel(cancel);
	}
	while (PQgetCopyData(p->conn, &line, 0) > 0)
		PQfreemem(line);
	c->done = 1;
	p->copy_out = NULL;
	PGresult *res;
	while ((res = PQgetResult(p->conn)))
		PQclear(res);
}

static int pg_scan_next(struct db_cursor *c, struct row *row)
{
	if (c->copy)
		return copy_next(c, row);
	if (c->pos >= c->nrows) {
		if (c->done && c->res)
			return 0;
		if (fetch(c) < 0)
			return -1;
		if (!c->nrows)
			return 0;
	}
	row_clear(row);
	for (size_t i = 0; i < c->t->ncols; i++) {
		int null = PQgetisnull(c->res, c->pos, (int)i);
		if (read_value(c, i, null ? NULL : PQgetvalue(c->res, c->pos, (int)i),
			       (size_t)PQgetlength(c->res, c->pos, (int)i), row) < 0)
			return -1;
	}
	c->pos++;
	return 1;
}

static void pg_scan_close(struct db_cursor *c)
{
	if (!c)
		return;
	struct pg_db *p = c->db->impl;
	if (c->copy) {
		if (!c->done)
			copy_abandon(c);
		PQfreemem(c->copy_row);
		buf_release(&c->fields);
		free(c->off);
		free(c->len);
		free(c->isnull);
		free(c);
		return;
	}
	if (p->ahead == c)
		settle(c->db);
	PQclear(c->res);
	PQclear(c->next);
	/* Close the cursor when that is harmless; a transaction's end closes it anyway. */
	PGTransactionStatusType ts = PQtransactionStatus(p->conn);
	if (!p->copying && !p->piping && (ts == PQTRANS_INTRANS || ts == PQTRANS_IDLE)) {
		char sql[64];
		snprintf(sql, sizeof(sql), "CLOSE %s", c->name);
		PQclear(PQexec(p->conn, sql));
	}
	free(c);
}

/* --- writing --- */

/* Escape a value for COPY's text format. */
static void copy_escape(struct buf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '\\': rep = "\\\\"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default: continue;
		}
		buf_add(out, s + start, i - start);
		buf_adds(out, rep);
		start = i + 1;
	}
	buf_add(out, s + start, n - start);
}

static void copy_value(struct buf *out, const struct column *col, const struct row *r, size_t i)
{
	if (r->v[i].state != V_SET) {
		buf_adds(out, "\\N");
		return;
	}
	const char *s = row_ptr(r, i);
	size_t n = r->v[i].len;
	if (col->type == VT_BYTES) {
		/* bytea input "\x..." with the backslash escaped for COPY. */
		buf_adds(out, "\\\\x");
		buf_add_hex(out, s, n);
		return;
	}
	copy_escape(out, s, n);
}

static int start_copy(struct db *db, const struct table *t)
{
	struct pg_db *p = db->impl;
	size_t n = 0;
	buf_reset(&p->sql);
	buf_adds(&p->sql, "COPY ");
	pg_table(&p->sql, t->name);
	buf_adds(&p->sql, " (");
	for (size_t i = 0; i < t->ncols; i++) {
		if (!sql_writable(t, i))
			continue;
		if (n++)
			buf_addch(&p->sql, ',');
		sql_ident(&p->sql, &pg_dialect, t->cols[i].name);
	}
	buf_adds(&p->sql, ") FROM STDIN");
	PGresult *res = PQexec(p->conn, p->sql.buf);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		buf_reset(&p->tmp);
		buf_addf(&p->tmp, "inserting into \"%s\"", t->name);
		return fail_res(db, p->tmp.buf, res);
	}
	PQclear(res);
	p->copying = 1;
	free(p->copy_table);
	p->copy_table = xstrdup(t->name);
	p->copy_rows = 0;
	p->copy_first = db->nwrites;
	return 0;
}

/* End the COPY in progress, if any, and report how it went. */
static int flush_copy(struct db *db)
{
	struct pg_db *p = db->impl;
	if (!p->copying)
		return 0;
	p->copying = 0;
	int rc = 0;
	if (PQputCopyEnd(p->conn, NULL) != 1) {
		buf_reset(&db->err);
		buf_addf(&db->err, "inserting into \"%s\": ", p->copy_table);
		add_message(&db->err, PQerrorMessage(p->conn));
		rc = -1;
	}
	PGresult *res;
	while ((res = PQgetResult(p->conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			const char *where = PQresultErrorField(res, PG_DIAG_CONTEXT);
			buf_reset(&p->tmp);
			buf_addf(&p->tmp, "inserting into \"%s\"", p->copy_table);
			/* "COPY t, line 12, column c: ..." says which of the batched rows. */
			if (where && !strncmp(where, "COPY ", 5)) {
				const char *l = strstr(where, ", line ");
				if (l) {
					long line = strtol(l + 7, NULL, 10);
					buf_addf(&p->tmp, " (row %ld of a batch of %lu)", line, p->copy_rows);
					if (line > 0 && (unsigned long)line <= p->copy_rows)
						db->failed_write = p->copy_first + (uint64_t)line - 1;
				}
			}
			buf_reset(&db->err);
			buf_addf(&db->err, "%s: ", p->tmp.buf);
			add_result_error(&db->err, res, p->conn);
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}

static int copy_row(struct db *db, const struct table *t, const struct row *r)
{
	struct pg_db *p = db->impl;
	if (p->copying && strcmp(p->copy_table, t->name) && flush_copy(db) < 0)
		return -1;
	if (!p->copying) {
		if (idle(db) < 0 || start_copy(db, t) < 0)
			return -1;
	}
	buf_reset(&p->line);
	int first = 1;
	for (size_t i = 0; i < t->ncols; i++) {
		if (!sql_writable(t, i))
			continue;
		if (!first)
			buf_addch(&p->line, '\t');
		first = 0;
		copy_value(&p->line, &t->cols[i], r, i);
	}
	buf_addch(&p->line, '\n');
	p->copy_rows++;
	if (PQputCopyData(p->conn, p->line.buf, (int)p->line.len) != 1) {
		/* The server gave up: its reason comes with the end of the COPY. */
		if (flush_copy(db) == 0)
			fail(db, "inserting into \"%s\": the COPY failed", t->name);
		return -1;
	}
	return 0;
}

static const char *cached_statement(struct pg_db *p, const char *sql)
{
	for (size_t i = 0; i < p->ncache; i++)
		if (!strcmp(p->cache[i].sql, sql))
			return p->cache[i].name;
	return NULL;
}

/* Prepare sql as a named statement (the connection must be idle). */
static const char *prepare(struct db *db, const char *sql, int nparams)
{
	struct pg_db *p = db->impl;
	size_t slot = p->ncache < STMT_CACHE ? p->ncache++ : p->next_evict++ % STMT_CACHE;
	if (p->cache[slot].sql) {
		char dealloc[64];
		snprintf(dealloc, sizeof(dealloc), "DEALLOCATE %s", p->cache[slot].name);
		PQclear(PQexec(p->conn, dealloc));
		free(p->cache[slot].sql);
		p->cache[slot].sql = NULL;
	}
	snprintf(p->cache[slot].name, sizeof(p->cache[slot].name), "dbpipe_s%lu", ++p->seq);
	PGresult *res = PQprepare(p->conn, p->cache[slot].name, sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fail_res(db, "", res);
		p->cache[slot].name[0] = '\0';
		p->cache[slot].sql = xstrdup("");
		return NULL;
	}
	PQclear(res);
	p->cache[slot].sql = xstrdup(sql);
	return p->cache[slot].name;
}

static void add_param(struct pg_db *p, size_t *n, const struct table *t, const struct row *r, size_t i)
{
	if (*n >= p->palloc) {
		p->palloc = p->palloc * 2 + 16;
		p->pv = xrealloc(p->pv, p->palloc * sizeof(*p->pv));
		p->pl = xrealloc(p->pl, p->palloc * sizeof(*p->pl));
		p->pf = xrealloc(p->pf, p->palloc * sizeof(*p->pf));
	}
	int set = r->v[i].state == V_SET;
	p->pv[*n] = set ? row_ptr(r, i) : NULL;
	p->pl[*n] = set ? (int)r->v[i].len : 0;
	p->pf[*n] = t->cols[i].type == VT_BYTES; /* bytea as raw bytes */
	(*n)++;
}

/* Key condition; types without btree equality (json, point...) compare as text. */
static void where_key(struct buf *sql, const struct table *t, size_t *n)
{
	buf_adds(sql, " WHERE ");
	for (size_t k = 0; k < t->nkey; k++) {
		const struct column *c = &t->cols[t->key[k]];
		if (k)
			buf_adds(sql, " AND ");
		sql_ident(sql, &pg_dialect, c->name);
		if (t->key_kind == KEY_ROW && (c->type == VT_JSON || c->type == VT_OTHER))
			buf_adds(sql, "::text");
		buf_adds(sql, t->key_kind == KEY_ROW ? " IS NOT DISTINCT FROM " : " = ");
		pg_placeholder(sql, ++*n);
		if (t->key_kind == KEY_ROW && (c->type == VT_JSON || c->type == VT_OTHER))
			buf_adds(sql, "::text");
	}
}

static void describe_key(struct buf *out, const struct table *t, const struct row *r)
{
	buf_adds(out, " (");
	for (size_t k = 0; k < t->nkey && k < 4; k++) {
		size_t i = t->key[k];
		if (k)
			buf_adds(out, ", ");
		buf_addf(out, "%s=", t->cols[i].name);
		if (r->v[i].state != V_SET)
			buf_adds(out, "NULL");
		else if (t->cols[i].type == VT_BYTES)
			buf_addf(out, "<%zu bytes>", r->v[i].len);
		else
			for (size_t j = 0; j < r->v[i].len && j < 60; j++) {
				char ch = row_ptr(r, i)[j];
				buf_addch(out, (unsigned char)ch < ' ' ? ' ' : ch); /* one line */
			}
	}
	if (t->nkey > 4)
		buf_adds(out, ", ...");
	buf_addch(out, ')');
}

/* An element of a PostgreSQL array literal. */
static void array_element(struct buf *out, const struct column *col, const struct row *r, size_t i)
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

/* Whether column i can travel in an array: not an array itself, and of a
 * type whose array literal separates elements with commas. */
static int arrayable(const struct column *col)
{
	size_t n = strlen(col->native);
	return col->type != VT_OTHER && !(n && col->native[n - 1] == ']');
}

/* "x.col = v.kN", bytewise for text (and free of collation conflicts). */
static void key_match(struct buf *sql, const char *alias, const struct column *col, size_t k)
{
	buf_addf(sql, "%s.", alias);
	sql_ident(sql, &pg_dialect, col->name);
	buf_addf(sql, " = v.k%zu%s", k + 1, col->type == VT_TEXT ? " COLLATE \"C\"" : "");
}

static void unnest(struct buf *sql, const struct table *t, const size_t *cols, size_t n, size_t nkey)
{
	buf_adds(sql, "unnest(");
	for (size_t j = 0; j < n; j++)
		buf_addf(sql, "%s$%zu::%s[]", j ? ", " : "", j + 1, t->cols[cols[j]].native);
	buf_adds(sql, ") AS v(");
	for (size_t j = 0; j < n; j++)
		buf_addf(sql, "%s%c%zu", j ? ", " : "", j < nkey ? 'k' : 's', j < nkey ? j + 1 : j - nkey + 1);
	buf_addch(sql, ')');
}

/* The statement of a batch: the update or delete, and the first key of the
 * batch that it did not find. */
static void batch_sql(struct batch *b, const char *to_only)
{
	const struct table *t = b->t;
	struct buf *sql = &b->sql;
	buf_reset(sql);
	if (b->kind == REC_DELETE) {
		buf_addf(sql, "WITH w AS (DELETE FROM %s", to_only);
		pg_table(sql, t->name);
		buf_adds(sql, " AS x USING ");
		unnest(sql, t, b->cols, b->ncols, b->nkey);
	} else {
		buf_addf(sql, "WITH w AS (UPDATE %s", to_only);
		pg_table(sql, t->name);
		buf_adds(sql, " AS x SET ");
		for (size_t j = b->nkey; j < b->ncols; j++) {
			if (j > b->nkey)
				buf_adds(sql, ", ");
			sql_ident(sql, &pg_dialect, t->cols[b->cols[j]].name);
			buf_addf(sql, " = v.s%zu", j - b->nkey + 1);
		}
		buf_adds(sql, " FROM ");
		unnest(sql, t, b->cols, b->ncols, b->nkey);
	}
	buf_adds(sql, " WHERE ");
	for (size_t k = 0; k < b->nkey; k++) {
		if (k)
			buf_adds(sql, " AND ");
		key_match(sql, "x", &t->cols[b->cols[k]], k);
	}
	buf_adds(sql, " RETURNING ");
	for (size_t k = 0; k < b->nkey; k++) {
		if (k)
			buf_adds(sql, ", ");
		buf_adds(sql, "x.");
		sql_ident(sql, &pg_dialect, t->cols[b->cols[k]].name);
	}
	buf_adds(sql, ") SELECT ");
	for (size_t k = 0; k < b->nkey; k++)
		buf_addf(sql, "%sv.k%zu::text", k ? ", " : "", k + 1);
	buf_adds(sql, " FROM ");
	unnest(sql, t, b->cols, b->nkey, b->nkey);
	buf_adds(sql, " WHERE NOT EXISTS (SELECT 1 FROM w WHERE ");
	for (size_t k = 0; k < b->nkey; k++) {
		if (k)
			buf_adds(sql, " AND ");
		key_match(sql, "w", &t->cols[b->cols[k]], k);
	}
	/* No LIMIT: it would make the planner loop over w for every key
	 * (quadratic) instead of hashing it. */
	buf_addch(sql, ')');
}

static void batch_reset(struct batch *b)
{
	for (size_t j = 0; b->arr && j < b->ncols; j++)
		buf_release(&b->arr[j]);
	free(b->arr);
	free(b->cols);
	free(b->table);
	table_free(b->t);
	b->src = NULL;
	b->arr = NULL;
	b->cols = NULL;
	b->table = NULL;
	b->t = NULL;
	b->ncols = b->nkey = b->rows = b->bytes = 0;
	b->active = b->arrays = 0;
}

static int send_row(struct db *db, const struct table *t, enum rec_type type, const struct row *row,
		    const char *to_only);

/* Run the batch (when report is 0, just drop it). */
static int flush_batch(struct db *db, int report)
{
	struct pg_db *p = db->impl;
	struct batch *b = &p->batch;
	if (!b->active)
		return 0;
	if (!report) {
		batch_reset(b);
		return 0;
	}
	if (!b->arrays) {
		int rc = 0;
		for (size_t i = 0; i < b->rows && rc == 0; i++) {
			p->cur_write = b->first + i;
			rc = send_row(db, b->t, b->kind, &b->held[i], b->only);
		}
		batch_reset(b);
		return rc;
	}
	if (flush_pipeline(db, 1) < 0) {
		batch_reset(b);
		return -1;
	}
	const char **params = xcalloc(b->ncols, sizeof(*params));
	for (size_t j = 0; j < b->ncols; j++) {
		buf_addch(&b->arr[j], '}');
		params[j] = b->arr[j].buf;
	}
	const char *what = b->kind == REC_DELETE ? "deleting from" : "updating";
	int rc = 0;
	PGresult *res = PQexecParams(p->conn, b->sql.buf, (int)b->ncols, NULL, params, NULL, NULL, 0);
	free(params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		buf_reset(&p->tmp);
		buf_addf(&p->tmp, "%s \"%s\" (one of a batch of %zu rows from this one)", what, b->table, b->rows);
		rc = fail_res(db, p->tmp.buf, res);
		db->failed_write = b->first;
	} else {
		if (PQntuples(res) > 0) {
			buf_reset(&db->err);
			buf_addf(&db->err, "%s \"%s\" (", what, b->table);
			for (size_t k = 0; k < b->nkey; k++)
				buf_addf(&db->err, "%s%s=%.60s", k ? ", " : "", b->t->cols[b->cols[k]].name,
					 PQgetvalue(res, 0, (int)k));
			buf_addf(&db->err, "): no row with this key in the target (it changed since the diff; "
				 "one of a batch of %zu rows from this one)", b->rows);
			db->failed_write = b->first;
			rc = -1;
		}
		PQclear(res);
	}
	batch_reset(b);
	return rc;
}

/* Add an update or delete to the batch: 1 when added, 0 when this change
 * cannot be batched (the caller runs it alone), -1 on failure. */
static int batch_add(struct db *db, const struct table *t, const struct change *c, const char *to_only)
{
	struct pg_db *p = db->impl;
	struct batch *b = &p->batch;
	size_t ncols = 0, *cols = xcalloc(t->ncols + 1, sizeof(*cols));
	if (!table_key_all(t, arrayable))
		goto no;
	for (size_t k = 0; k < t->nkey; k++)
		cols[ncols++] = t->key[k];
	if (c->type == REC_UPDATE) {
		for (size_t i = 0; i < t->ncols; i++) {
			if (c->row.v[i].state == V_ABSENT || table_is_key(t, i) || !sql_writable(t, i))
				continue;
			if (!arrayable(&t->cols[i]))
				goto no;
			cols[ncols++] = i;
		}
		if (ncols == t->nkey)
			goto no;
	}
	int same = b->active && b->kind == c->type && b->src == t && !strcmp(b->table, t->name) &&
		   b->ncols == ncols && !memcmp(b->cols, cols, ncols * sizeof(*cols));
	if (!same) {
		if (flush_batch(db, 1) < 0) {
			free(cols);
			return -1;
		}
		b->active = 1;
		b->kind = c->type;
		b->src = t;
		b->t = table_project(t, t);
		b->table = xstrdup(t->name);
		b->ncols = ncols;
		b->nkey = t->nkey;
		b->cols = cols;
		b->only = to_only;
	} else {
		free(cols);
	}
	if (!b->held_init) {
		for (size_t i = 0; i < BATCH_MIN; i++)
			row_init(&b->held[i], 0);
		b->held_init = 1;
	}
	if (!b->rows)
		b->first = db->nwrites;
	if (b->rows < BATCH_MIN) {
		row_copy(&b->held[b->rows++], &c->row);
		if (b->rows < BATCH_MIN)
			return 1;
		/* Enough for a statement over arrays. */
		b->arrays = 1;
		b->arr = xcalloc(b->ncols, sizeof(*b->arr));
		for (size_t j = 0; j < b->ncols; j++) {
			buf_init(&b->arr[j]);
			buf_addch(&b->arr[j], '{');
			for (size_t i = 0; i < b->rows; i++) {
				if (i)
					buf_addch(&b->arr[j], ',');
				array_element(&b->arr[j], &t->cols[b->cols[j]], &b->held[i], b->cols[j]);
			}
			b->bytes += b->arr[j].len;
		}
		batch_sql(b, to_only);
		return 1;
	}
	for (size_t j = 0; j < b->ncols; j++) {
		size_t before = b->arr[j].len;
		buf_addch(&b->arr[j], ',');
		array_element(&b->arr[j], &t->cols[b->cols[j]], &c->row, b->cols[j]);
		b->bytes += b->arr[j].len - before;
	}
	b->rows++;
	if (b->rows >= BATCH_ROWS || b->bytes >= BATCH_BYTES)
		return flush_batch(db, 1) < 0 ? -1 : 1;
	return 1;
no:
	free(cols);
	return 0;
}

/* PostgreSQL's text types cannot hold a NUL byte, and a parameter would be
 * cut at it: refused by name, on every path (COPY, batches, statements). */
static int refuse_nul(struct db *db, const struct table *t, const struct row *r)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (r->v[i].state == V_SET && t->cols[i].type != VT_BYTES && memchr(row_ptr(r, i), '\0', r->v[i].len))
			return fail(db, "column \"%s\": PostgreSQL cannot store a NUL byte (\\u0000) in %s", t->cols[i].name,
				    t->cols[i].native);
	return 0;
}

static int pg_write(struct db *db, const struct table *t, const struct change *c)
{
	struct pg_db *p = db->impl;
	if (refuse_nul(db, t, &c->row) < 0)
		return -1;
	if (c->type == REC_ROW || c->type == REC_INSERT)
		return copy_row(db, t, &c->row);
	settle(db);
	if (flush_copy(db) < 0)
		return -1;
	const char *to_only = only(db, t->name);
	if (!to_only)
		return -1;
	if (c->type == REC_UPDATE || c->type == REC_DELETE) {
		int got = batch_add(db, t, c, to_only);
		if (got != 0)
			return got < 0 ? -1 : 0;
	}
	if (flush_batch(db, 1) < 0)
		return -1;
	p->cur_write = db->nwrites;
	return send_row(db, t, c->type, &c->row, to_only);
}

/* One update or delete as a prepared statement in the pipeline. */
static int send_row(struct db *db, const struct table *t, enum rec_type type, const struct row *row,
		    const char *to_only)
{
	struct pg_db *p = db->impl;
	size_t n = 0;
	const char *what;
	buf_reset(&p->sql);
	if (type == REC_UPDATE) {
		what = "updating";
		buf_addf(&p->sql, "UPDATE %s", to_only);
		pg_table(&p->sql, t->name);
		buf_adds(&p->sql, " SET ");
		for (size_t i = 0; i < t->ncols; i++) {
			if (row->v[i].state == V_ABSENT || table_is_key(t, i) || !sql_writable(t, i))
				continue;
			if (n)
				buf_addch(&p->sql, ',');
			sql_ident(&p->sql, &pg_dialect, t->cols[i].name);
			buf_adds(&p->sql, " = ");
			pg_placeholder(&p->sql, n + 1);
			add_param(p, &n, t, row, i);
		}
		if (!n)
			return 0; /* nothing writable changed */
		size_t nset = n;
		where_key(&p->sql, t, &nset);
	} else if (type == REC_DELETE) {
		what = "deleting from";
		buf_addf(&p->sql, "DELETE FROM %s", to_only);
		pg_table(&p->sql, t->name);
		if (t->key_kind == KEY_ROW) {
			/* Rows without a key may be duplicated: delete one of them. */
			buf_addf(&p->sql, " WHERE (tableoid, ctid) = (SELECT tableoid, ctid FROM %s", to_only);
			pg_table(&p->sql, t->name);
			size_t m = 0;
			where_key(&p->sql, t, &m);
			buf_adds(&p->sql, " LIMIT 1)");
		} else {
			size_t m = 0;
			where_key(&p->sql, t, &m);
		}
	} else {
		return 0;
	}
	for (size_t k = 0; k < t->nkey; k++)
		add_param(p, &n, t, row, t->key[k]);
	const char *name = cached_statement(p, p->sql.buf);
	if (!name) {
		/* Preparing needs the pipeline's results first. */
		if (flush_pipeline(db, 1) < 0)
			return -1;
		if (!(name = prepare(db, p->sql.buf, (int)n))) {
			buf_reset(&p->tmp);
			buf_addf(&p->tmp, "%s \"%s\": %s", what, t->name, db->err.buf);
			buf_reset(&db->err);
			buf_add(&db->err, p->tmp.buf, p->tmp.len);
			return -1;
		}
	}
	/* Sent without waiting: the results (row counts, errors) are read in
	 * batches by flush_pipeline, so a failure may be reported by a later
	 * call, always naming the row it was about. */
	if (!p->piping) {
		if (PQenterPipelineMode(p->conn) != 1) {
			buf_reset(&db->err);
			add_message(&db->err, PQerrorMessage(p->conn));
			return -1;
		}
		p->piping = 1;
	}
	buf_reset(&p->tmp);
	buf_addf(&p->tmp, "%s \"%s\"", what, t->name);
	describe_key(&p->tmp, t, row);
	if (PQsendQueryPrepared(p->conn, name, (int)n, p->pv, p->pl, p->pf, 0) != 1) {
		buf_reset(&db->err);
		buf_addf(&db->err, "%s: ", p->tmp.buf);
		add_message(&db->err, PQerrorMessage(p->conn));
		flush_pipeline(db, 0);
		return -1;
	}
	p->pwrite[p->npending] = p->cur_write;
	p->pdesc[p->npending++] = xstrdup(p->tmp.buf);
	if (p->npending >= PIPE_MAX)
		return flush_pipeline(db, 1);
	return 0;
}

/* Read the results of the updates and deletes in flight and leave pipeline
 * mode.  The first failure goes into db->err when report is set. */
static int flush_pipeline(struct db *db, int report)
{
	struct pg_db *p = db->impl;
	if (!p->piping)
		return 0;
	int rc = 0;
	PGresult *res;
	if (PQpipelineSync(p->conn) != 1) {
		if (report) {
			buf_reset(&db->err);
			add_message(&db->err, PQerrorMessage(p->conn));
		}
		rc = -1;
	}
	for (size_t i = 0; i < p->npending && rc == 0; i++) {
		if (!(res = PQgetResult(p->conn))) {
			if (report)
				fail(db, "%s: no answer from the server", p->pdesc[i]);
			rc = -1;
			break;
		}
		if (report)
			db->failed_write = p->pwrite[i]; /* reset below unless it fails */
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			if (report) {
				buf_reset(&db->err);
				buf_addf(&db->err, "%s: ", p->pdesc[i]);
				add_result_error(&db->err, res, p->conn);
			}
			rc = -1;
		} else if (!strcmp(PQcmdTuples(res), "0")) {
			if (report)
				fail(db, "%s: no row with this key in the target (it changed since the diff)", p->pdesc[i]);
			rc = -1;
		}
		PQclear(res);
		while ((res = PQgetResult(p->conn)))
			PQclear(res);
	}
	if (rc == 0 && report)
		db->failed_write = 0;
	/* The rest (aborted after a failure) up to and with the sync point. */
	for (int nulls = 0; nulls < 2 * PIPE_MAX + 4;) {
		res = PQgetResult(p->conn);
		if (!res) {
			if (PQstatus(p->conn) != CONNECTION_OK)
				break;
			nulls++;
			continue;
		}
		int sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
		if (sync)
			break;
	}
	PQexitPipelineMode(p->conn);
	for (size_t i = 0; i < p->npending; i++)
		free(p->pdesc[i]);
	p->npending = 0;
	p->piping = 0;
	return rc;
}

/* Set the sequence behind column col of table name past the largest value
 * the column holds (never backwards). */
static int set_sequence(struct db *db, const char *name, const char *col)
{
	struct pg_db *p = db->impl;
	/* The sequence: owned by the column (serial, identity), or the one its
	 * nextval() default uses. */
	buf_reset(&p->tmp);
	pg_table(&p->tmp, name);
	const char *params[2] = { p->tmp.buf, col };
	PGresult *res = query(db,
		"SELECT COALESCE(pg_catalog.pg_get_serial_sequence($1, $2)::regclass, "
		"(SELECT d.refobjid::regclass FROM pg_catalog.pg_attrdef ad "
		"JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid "
		"AND d.refclassid = 'pg_catalog.pg_class'::regclass "
		"JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S' "
		"WHERE ad.adrelid = $1::regclass AND ad.adnum = (SELECT attnum FROM pg_catalog.pg_attribute "
		"WHERE attrelid = $1::regclass AND attname = $2) LIMIT 1))::oid",
		2, params);
	if (!res)
		return -1;
	int none = PQntuples(res) != 1 || PQgetisnull(res, 0, 0);
	char seq[32];
	snprintf(seq, sizeof(seq), "%s", none ? "" : PQgetvalue(res, 0, 0));
	PQclear(res);
	if (none)
		return 0;
	buf_reset(&p->sql);
	buf_adds(&p->sql, "SELECT pg_catalog.setval($1::oid::regclass, m) FROM (SELECT max(");
	sql_ident(&p->sql, &pg_dialect, col);
	buf_adds(&p->sql, ")::bigint AS m FROM ");
	pg_table(&p->sql, name);
	buf_adds(&p->sql, ") x WHERE m IS NOT NULL AND m > COALESCE(pg_catalog.pg_sequence_last_value($1::oid::regclass), "
			  "(SELECT seqstart - 1 FROM pg_catalog.pg_sequence WHERE seqrelid = $1::oid))");
	const char *sp[1] = { seq };
	if (!(res = query(db, p->sql.buf, 1, sp)))
		return -1;
	PQclear(res);
	return 0;
}

static int set_sequences(struct db *db)
{
	struct pg_db *p = db->impl;
	for (size_t i = 0; i < p->nseqs; i++) {
		const char *name = p->seqs[i], *col = name + strlen(name) + 1;
		if (set_sequence(db, name, col) < 0) {
			buf_reset(&p->tmp);
			buf_addf(&p->tmp, "setting the id sequence of \"%s\".\"%s\": %s", name, col, db->err.buf);
			buf_reset(&db->err);
			buf_add(&db->err, p->tmp.buf, p->tmp.len);
			return -1;
		}
	}
	clear_seqs(p);
	return 0;
}

/* Note t's serial and identity columns; their sequences are set at commit
 * (setval cannot be rolled back, and a dry run must leave no trace). */
static int pg_reset_sequence(struct db *db, const struct table *t)
{
	struct pg_db *p = db->impl;
	for (size_t i = 0; i < t->ncols; i++) {
		const struct column *col = &t->cols[i];
		if (!col->autoinc || col->type != VT_INT)
			continue;
		size_t ln = strlen(t->name), lc = strlen(col->name);
		char *pair = xmalloc(ln + lc + 2);
		memcpy(pair, t->name, ln + 1);
		memcpy(pair + ln + 1, col->name, lc + 1);
		int dup = 0;
		for (size_t j = 0; j < p->nseqs && !dup; j++)
			dup = !strcmp(p->seqs[j], pair) && !strcmp(p->seqs[j] + ln + 1, pair + ln + 1);
		if (dup) {
			free(pair);
			continue;
		}
		p->seqs = xrealloc(p->seqs, (p->nseqs + 1) * sizeof(*p->seqs));
		p->seqs[p->nseqs++] = pair;
	}
	return 0;
}

/* --- triggers --- */

/* ALTER TABLE t DISABLE TRIGGER name, or ENABLE [REPLICA|ALWAYS] as mode
 * (tgenabled: O, R, A) says, into sql; -1 if t cannot be named. */
static int trigger_sql(struct db *db, struct buf *sql, const char *table, const char *name, char mode)
{
	const char *from_only = only(db, table);
	if (!from_only)
		return -1;
	buf_reset(sql);
	buf_addf(sql, "ALTER TABLE %s", from_only);
	pg_table(sql, table);
	buf_adds(sql, mode == 'D' ? " DISABLE" : mode == 'R' ? " ENABLE REPLICA" : mode == 'A' ? " ENABLE ALWAYS" : " ENABLE");
	buf_adds(sql, " TRIGGER ");
	sql_ident(sql, &pg_dialect, name);
	return 0;
}

/* Only the user's triggers, by name: the ones that enforce foreign keys
 * stay, and so does any trigger that was off already; each comes back in
 * the mode it had. */
static int pg_set_triggers(struct db *db, const struct table *t, int on)
{
	struct pg_db *p = db->impl;
	if (on)
		return sql_later_run(&p->triggers_back, db, t->name, exec);
	struct buf rel = BUF_INIT, sql = BUF_INIT;
	pg_table(&rel, t->name);
	const char *params[1] = { rel.buf };
	PGresult *res = query(db, "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = $1::regclass "
			      "AND NOT tgisinternal AND tgenabled <> 'D' ORDER BY tgname", 1, params);
	buf_release(&rel);
	if (!res)
		return -1;
	int rc = 0;
	for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
		const char *name = PQgetvalue(res, r, 0), *mode = PQgetvalue(res, r, 1);
		if ((rc = trigger_sql(db, &sql, t->name, name, *mode)) < 0)
			break;
		sql_later_add(&p->triggers_back, t->name, sql.buf);
		if ((rc = trigger_sql(db, &sql, t->name, name, 'D')) == 0)
			rc = exec(db, sql.buf);
	}
	PQclear(res);
	buf_release(&sql);
	return rc;
}

const struct db_ops db_pg_ops = {
	.engine = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.load_schema = pg_load_schema,
	.begin_read = pg_begin_read,
	.begin_write = pg_begin_write,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.scan_open = pg_scan_open,
	.scan_next = pg_scan_next,
	.scan_close = pg_scan_close,
	.write = pg_write,
	.check_constraints = pg_check_constraints,
	.reset_sequence = pg_reset_sequence,
	.snapshot_mark = pg_snapshot_mark,
	.since_usable = pg_since_usable,
	.scan_since_open = pg_scan_since_open,
	.scan_keys_open = pg_scan_keys_open,
	.set_triggers = pg_set_triggers,
};
