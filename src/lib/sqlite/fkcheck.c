/* sqlite/fkcheck: the foreign keys of a write transaction, checked before
 * its commit, and only the violations it made reported.
 *
 * Two ways.  The whole check runs PRAGMA foreign_key_check before the
 * transaction's first change and again at the end, and reports what is
 * new: two passes over every table, whatever was written.  The check by
 * row, where every foreign key of the database is one column into its
 * parent's one-column primary key of the same affinity, no trigger can
 * write behind dbapply's back and SQLite acts on no foreign key itself,
 * notes what the transaction touches instead: the rowid of each row
 * written with a reference (inserted, or updated in a referencing column),
 * and the key of each parent row deleted (or given a new key).  At the
 * end it looks up the parents of those rows and the children of those
 * keys: a violation needs one or the other, since an untouched row's
 * reference can only break when its parent goes.  DDL before the first
 * write chooses the whole check (dbapply --schema); DDL after writes would
 * end the check by row, its notes checked at that point and the whole
 * check taking over (a rebuilt table's rowids need not stay), though
 * dbapply runs its DDL after the rows only once this check is done.
 *
 * The children of a deleted parent are found by a scan of each child
 * table where its referencing column has no index: 90 ms of a million
 * self-referring customers, alone on one core at the end of a sync.  But
 * a sync has just read such a table whole, in the same transaction
 * (dbapply compares it).  Every referencing value that scan read goes
 * into a filter (Bloom's, of 4 MiB, three bits a value in one word); where
 * none of the deleted keys is in it, no row the sync left alone refers to
 * one (a row it wrote is checked by the first look-up), and that scan is
 * not run.  A key the filter may hold, a value that is not an integer, or
 * a scan that stopped early, and the child table is scanned as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqlite.h"

static void add_string(char ***v, size_t *n, size_t *alloc, char *s)
{
	ALLOC_GROW(*v, *n + 1, *alloc);
	(*v)[(*n)++] = s;
}

/* The violations foreign_key_check reports now, one "table\trowid\tparent"
 * string each with "\tfkid" after it, sorted. */
static int fk_violations(struct db *db, char ***out, size_t *n)
{
	if (sq_texts(db, "SELECT \"table\" || char(9) || ifnull(rowid, 0) || char(9) || parent || char(9) || fkid "
		     "FROM pragma_foreign_key_check", NULL, "checking the foreign keys", out, n) < 0)
		return -1;
	if (*n)
		qsort(*out, *n, sizeof(char *), strcmp_ptr);
	return 0;
}

int sq_fk_actions(struct db *db)
{
	sqlite3_stmt *st;
	if (sq_prepare(db, "SELECT 1 FROM sqlite_schema AS s, pragma_foreign_key_list(s.name) AS f "
			   "WHERE s.type = 'table' AND (f.on_delete <> 'NO ACTION' OR f.on_update <> 'NO ACTION') "
			   "LIMIT 1", &st) < 0)
		return -1;
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(db, "reading the foreign keys");
	return rc == SQLITE_ROW;
}

static struct sq_fk_table *fk_table(struct sq_fk *fk, const char *name)
{
	for (size_t i = 0; i < fk->ntables; i++)
		if (!strcasecmp(fk->tables[i].name, name))
			return &fk->tables[i];
	return NULL;
}

static struct sq_fk_table *fk_table_add(struct sq_fk *fk, const char *name)
{
	struct sq_fk_table *t = fk_table(fk, name);
	if (t)
		return t;
	ALLOC_GROW(fk->tables, fk->ntables + 1, fk->alloc);
	t = &fk->tables[fk->ntables];
	memset(t, 0, sizeof(*t));
	t->name = xstrdup(name);
	t->n = fk->ntables++;
	return t;
}

static void fk_tables_release(struct sq_fk *fk)
{
	for (size_t i = 0; i < fk->ntables; i++) {
		struct sq_fk_table *t = &fk->tables[i];
		free(t->name);
		free(t->pk);
		for (size_t r = 0; r < t->nrefs; r++) {
			free(t->refs[r].col);
			free(t->refs[r].parent);
		}
		free(t->refs);
	}
	free(fk->tables);
	fk->tables = NULL;
	fk->ntables = fk->alloc = 0;
}

void sq_fk_release(struct db *db)
{
	struct sqlite_db *s = db->impl;
	free(s->fk.seen_bits);
	s->fk.seen_bits = NULL;
	free_strv(s->fk.before, s->fk.nbefore);
	free_strv(s->fk.found, s->fk.nfound);
	s->fk.before = s->fk.found = NULL;
	s->fk.nbefore = s->fk.nfound = 0;
	fk_tables_release(&s->fk);
}

void sq_fk_begin(struct db *db, int actions)
{
	struct sqlite_db *s = db->impl;
	sq_fk_release(db);
	s->fk.whole = s->fk.by_row = 0;
	s->fk.actions = actions;
	s->fk.open = 1;
	s->fk.scan_refused = 0;
}

void sq_fk_end(struct db *db)
{
	struct sqlite_db *s = db->impl;
	s->fk.open = 0;
	free(s->fk.seen_bits);
	s->fk.seen_bits = NULL;
}

/* The one-column primary key of table name and its declared type (both
 * to free), or 0 when it has none or more columns. */
static int primary_key(struct db *db, const char *name, char **col, char **decl)
{
	sqlite3_stmt *st;
	int found = 0, rc;
	*col = *decl = NULL;
	if (sq_prepare(db, "SELECT name, type FROM pragma_table_info(?1) WHERE pk > 0", &st) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (!found++) {
			*col = xstrdup((const char *)sqlite3_column_text(st, 0));
			*decl = xstrdup((const char *)sqlite3_column_text(st, 1));
		}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(db, "reading the primary keys");
	if (found != 1) {
		free(*col);
		free(*decl);
		*col = *decl = NULL;
	}
	return found == 1;
}

/* Whether every foreign key of the database can be checked by row (see
 * the top): 1 with fk->tables filled, 0, or -1. */
static int plan_by_row(struct db *db)
{
	struct sqlite_db *s = db->impl;
	sqlite3_stmt *st;
	int rc, ok = 1;
	/* a trigger writes rows no change names; pragma_table_list (SQLite
	 * 3.37) tells a table without rowids */
	if (sq_prepare(db, "SELECT 1 FROM sqlite_schema WHERE type = 'trigger' "
			   "UNION ALL SELECT 1 FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f "
			   "WHERE m.type = 'table' GROUP BY m.name, f.id HAVING count(*) > 1 "
			   "UNION ALL SELECT 1 FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f, "
			   "pragma_table_list(m.name) AS l WHERE m.type = 'table' AND l.wr "
			   "LIMIT 1", &st) < 0) {
		buf_reset(&db->err);
		return 0;
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return sq_fail(db, "reading the foreign keys");
	/* the names as the tables spell them: a change names its columns so */
	if (sq_prepare(db, "SELECT m.name, c.name, f.\"table\", f.\"to\", c.type "
			   "FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f "
			   "LEFT JOIN pragma_table_info(m.name) AS c ON c.name = f.\"from\" COLLATE NOCASE "
			   "WHERE m.type = 'table'", &st) < 0)
		return -1;
	while (ok > 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *child = (const char *)sqlite3_column_text(st, 0);
		const char *col = (const char *)sqlite3_column_text(st, 1);
		const char *parent = (const char *)sqlite3_column_text(st, 2);
		const char *to = (const char *)sqlite3_column_text(st, 3);
		const char *decl = (const char *)sqlite3_column_text(st, 4);
		char *pk, *pk_decl;
		ok = decl ? primary_key(db, parent, &pk, &pk_decl) : 0;
		if (ok <= 0)
			break;
		/* the parent's key, compared as foreign_key_check compares it */
		ok = (!to || !strcasecmp(to, pk)) && sq_affinity_of(decl) == sq_affinity_of(pk_decl);
		if (ok) {
			struct sq_fk_table *p = fk_table_add(&s->fk, parent);
			if (!p->pk)
				p->pk = xstrdup(pk);
			struct sq_fk_table *c = fk_table_add(&s->fk, child);
			ALLOC_GROW(c->refs, c->nrefs + 1, c->refs_alloc);
			c->refs[c->nrefs].col = xstrdup(col);
			c->refs[c->nrefs].parent = xstrdup(parent);
			c->nrefs++;
		}
		free(pk);
		free(pk_decl);
	}
	if (ok > 0 && rc != SQLITE_DONE)
		ok = sq_fail(db, "reading the foreign keys");
	sqlite3_finalize(st);
	if (ok <= 0)
		fk_tables_release(&s->fk);
	return ok;
}

/* The whole check's first pass, before the first change. */
static int take_whole(struct db *db)
{
	struct sqlite_db *s = db->impl;
	if (s->fk.whole)
		return 0;
	if (fk_violations(db, &s->fk.before, &s->fk.nbefore) < 0)
		return -1;
	s->fk.whole = 1;
	return 0;
}

/* At the first write (DDL before it chose the whole check). */
static int plan(struct db *db)
{
	struct sqlite_db *s = db->impl;
	if (s->fk.whole || s->fk.by_row)
		return 0;
	int ok = s->fk.actions ? 0 : plan_by_row(db);
	if (ok < 0)
		return -1;
	if (ok) {
		s->fk.by_row = 1;
		return 0;
	}
	return take_whole(db);
}

/* --- the referencing values a whole scan read (see the top) --- */
enum { SEEN_LOG2 = 25 }; /* bits: 4 MiB */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The filter's bits for value v of reference ref of table table: three
 * in one word (one cache miss a value, not three).  set: set them; else
 * whether all three are set. */
static int seen_bits(uint64_t *bits, size_t table, size_t ref, int64_t v, int set)
{
	uint64_t h = mix64((uint64_t)v ^ mix64(((uint64_t)table << 20) + ref + 1));
	uint64_t *word = &bits[h >> (64 - (SEEN_LOG2 - 6))];
	uint64_t want = (1ULL << (h & 63)) | (1ULL << ((h >> 6) & 63)) | (1ULL << ((h >> 12) & 63));
	if (set)
		*word |= want;
	return (*word & want) == want;
}

int sq_fk_scan_begin(struct db *db, struct db_cursor *c)
{
	struct sqlite_db *s = db->impl;
	struct sq_fk *fk = &s->fk;
	if (!fk->open || fk->whole || fk->actions || fk->scan_refused)
		return 0;
	/* the check by row chosen now where it can be, as the first write
	 * would choose it (the scan is part of the same transaction); where
	 * it cannot, not asked again at each table's scan (a catalog query
	 * over every table), though the first write still asks */
	if (!fk->by_row) {
		int ok = plan_by_row(db);
		if (ok <= 0) {
			fk->scan_refused = ok == 0;
			return ok;
		}
		fk->by_row = 1;
	}
	struct sq_fk_table *ft = fk_table(fk, c->t->name);
	for (size_t r = 0; ft && r < ft->nrefs; r++)
		for (size_t i = 0; i < c->t->ncols; i++)
			if (!strcasecmp(c->t->cols[i].name, ft->refs[r].col)) {
				c->watch = xrealloc(c->watch, (c->nwatch + 1) * sizeof(*c->watch));
				c->watch[c->nwatch++] = (struct sq_fk_watch){ (int)i, ft->n, r, 0 };
				ft->refs[r].seen = SEEN_SCANNING;
				break;
			}
	if (c->nwatch && !fk->seen_bits)
		fk->seen_bits = xcalloc((1ULL << SEEN_LOG2) / 64, sizeof(uint64_t));
	return 0;
}

void sq_fk_scan_row(struct db_cursor *c)
{
	struct sq_fk *fk = &((struct sqlite_db *)c->db->impl)->fk;
	for (size_t w = 0; w < c->nwatch; w++) {
		struct sq_fk_watch *cw = &c->watch[w];
		sqlite3_value *v = sqlite3_column_value(c->stmt, cw->col); /* as read.c reads values */
		int kind = sqlite3_value_type(v);
		if (kind == SQLITE_INTEGER)
			seen_bits(fk->seen_bits, cw->table, cw->ref, sqlite3_value_int64(v), 1);
		else if (kind != SQLITE_NULL)
			cw->other = 1;
	}
}

void sq_fk_scan_end(struct db_cursor *c)
{
	struct sq_fk *fk = &((struct sqlite_db *)c->db->impl)->fk;
	/* (DDL since the scan began ended the check by row: nothing to mark) */
	for (size_t w = 0; fk->by_row && w < c->nwatch; w++) {
		struct sq_fk_ref *ref = &fk->tables[c->watch[w].table].refs[c->watch[w].ref];
		if (ref->seen == SEEN_SCANNING)
			ref->seen = c->watch[w].other ? SEEN_NO : SEEN_WHOLE;
	}
	c->nwatch = 0;
}

/* Whether no key in parent p's notes of deleted keys can be a value of
 * child c's reference r that a whole scan read: 1, 0, or -1. */
static int gone_unseen(struct db *db, const struct sq_fk_table *c, size_t r, const struct sq_fk_table *p)
{
	struct sq_fk *fk = &((struct sqlite_db *)db->impl)->fk;
	if (c->refs[r].seen != SEEN_WHOLE || !fk->seen_bits)
		return 0;
	struct buf sql = BUF_INIT;
	buf_addf(&sql, "SELECT k FROM temp.dbpipe_fk_gone_%zu", p->n);
	sqlite3_stmt *st;
	int rc = sq_prepare(db, sql.buf, &st), unseen = 1;
	buf_release(&sql);
	if (rc < 0)
		return -1;
	while (unseen && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int kind = sqlite3_column_type(st, 0);
		if (kind == SQLITE_INTEGER)
			unseen = !seen_bits(fk->seen_bits, c->n, r, sqlite3_column_int64(st, 0), 0);
		else if (kind != SQLITE_NULL)
			unseen = 0;
	}
	sqlite3_finalize(st);
	if (unseen && rc != SQLITE_DONE)
		return sq_fail(db, "checking the foreign keys");
	return unseen;
}

/* Run sql (prepared once) with ?1 bound to v, or with r the key of r (of
 * t) bound from ?1 on. */
static int note(struct db *db, struct buf *sql, const struct table *t, const struct row *r, int64_t v)
{
	sqlite3_stmt *st = sq_cached(db, sql->buf);
	buf_release(sql);
	if (!st)
		return -1;
	int pos = 0;
	if (r ? sq_bind_key(db, st, &pos, t, r) < 0 : sqlite3_bind_int64(st, 1, v) != SQLITE_OK)
		return r ? -1 : sq_fail(db, "bind");
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(db, "noting a row for the foreign-key check");
}

static int make_notes(struct db *db, struct sq_fk_table *ft, int gone)
{
	if (gone ? ft->gone_made : ft->written_made)
		return 0;
	struct buf sql = BUF_INIT;
	/* (one left by a transaction that ended without its check goes first) */
	if (gone)
		buf_addf(&sql, "DROP TABLE IF EXISTS temp.dbpipe_fk_gone_%zu; "
			 "CREATE TEMP TABLE dbpipe_fk_gone_%zu (k)", ft->n, ft->n);
	else
		buf_addf(&sql, "DROP TABLE IF EXISTS temp.dbpipe_fk_written_%zu; "
			 "CREATE TEMP TABLE dbpipe_fk_written_%zu (r INTEGER PRIMARY KEY)", ft->n, ft->n);
	int ret = sq_exec(db, sql.buf);
	buf_release(&sql);
	if (ret == 0)
		*(gone ? &ft->gone_made : &ft->written_made) = 1;
	return ret;
}

/* Whether change c (an update) sets a column of t named name. */
static int sets(const struct table *t, const struct change *c, const char *name)
{
	long i = table_column_index(t, name);
	return i >= 0 && sql_sets(t, &c->row, (size_t)i);
}

int sq_fk_before_write(struct db *db, const struct table *t, const struct change *c)
{
	struct sqlite_db *s = db->impl;
	if (!s->fk.by_row && !s->fk.whole && plan(db) < 0)
		return -1;
	if (!s->fk.by_row)
		return 0;
	struct sq_fk_table *ft = fk_table(&s->fk, t->name);
	/* a parent's key about to go: its children are looked for at the end */
	if (!ft || !ft->pk || !(c->type == REC_DELETE || (c->type == REC_UPDATE && sets(t, c, ft->pk))))
		return 0;
	if (make_notes(db, ft, 1) < 0)
		return -1;
	struct buf sql = BUF_INIT;
	size_t n = 0;
	if (t->key_kind == KEY_ROW) /* as the delete picks its row (write.c) */
		sql_addf(&sql, &sq_dialect, "INSERT INTO temp.dbpipe_fk_gone_%zu SELECT %I FROM %T WHERE rowid IN "
			 "(SELECT rowid FROM %T WHERE %W LIMIT 1)", ft->n, ft->pk, t->name, t->name, t, &n);
	else
		sql_addf(&sql, &sq_dialect, "INSERT INTO temp.dbpipe_fk_gone_%zu SELECT %I FROM %T WHERE %W",
			 ft->n, ft->pk, t->name, t, &n);
	return note(db, &sql, t, &c->row, 0);
}

int sq_fk_after_write(struct db *db, const struct table *t, const struct change *c)
{
	struct sqlite_db *s = db->impl;
	if (!s->fk.by_row)
		return 0;
	struct sq_fk_table *ft = fk_table(&s->fk, t->name);
	if (!ft || !ft->nrefs)
		return 0;
	int insert = c->type == REC_INSERT || c->type == REC_ROW;
	if (!insert) {
		size_t r = 0;
		while (c->type == REC_UPDATE && r < ft->nrefs && !sets(t, c, ft->refs[r].col))
			r++;
		if (c->type != REC_UPDATE || r == ft->nrefs)
			return 0;
	}
	int64_t rowid = sqlite3_last_insert_rowid(s->h); /* (before the notes' table is made) */
	if (make_notes(db, ft, 0) < 0)
		return -1;
	struct buf sql = BUF_INIT;
	size_t n = 0;
	if (insert) {
		sql_addf(&sql, &sq_dialect, "INSERT OR IGNORE INTO temp.dbpipe_fk_written_%zu VALUES (?1)", ft->n);
		return note(db, &sql, t, NULL, rowid);
	}
	sql_addf(&sql, &sq_dialect, "INSERT OR IGNORE INTO temp.dbpipe_fk_written_%zu SELECT rowid FROM %T WHERE %W",
		 ft->n, t->name, t, &n);
	return note(db, &sql, t, &c->row, 0);
}

/* The rows that sql finds (their rowids in column 0): "child\trowid\tparent"
 * each, added to found. */
static int find(struct db *db, struct buf *sql, const char *child, const char *parent, char ***found,
		size_t *n, size_t *alloc)
{
	sqlite3_stmt *st;
	int rc = sq_prepare(db, sql->buf, &st);
	buf_release(sql);
	if (rc < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct buf b = BUF_INIT;
		buf_addf(&b, "%s\t%lld\t%s", child, (long long)sqlite3_column_int64(st, 0), parent);
		add_string(found, n, alloc, buf_detach(&b));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(db, "checking the foreign keys");
}

/* The check by row (see the top): the violations among the rows noted,
 * added to fk->found; the notes are dropped. */
static int check_by_row(struct db *db)
{
	struct sqlite_db *s = db->impl;
	struct sq_fk *fk = &s->fk;
	size_t alloc = fk->nfound;
	for (size_t i = 0; i < fk->ntables; i++) {
		struct sq_fk_table *c = &fk->tables[i];
		for (size_t r = 0; r < c->nrefs; r++) {
			struct sq_fk_table *p = fk_table(fk, c->refs[r].parent);
			const char *col = c->refs[r].col, *pk = p->pk;
			/* a row written with a reference to no row */
			struct buf sql = BUF_INIT;
			if (c->written_made) {
				sql_addf(&sql, &sq_dialect, "SELECT c.rowid FROM %T AS c WHERE c.rowid IN "
					 "(SELECT r FROM temp.dbpipe_fk_written_%zu) AND c.%I IS NOT NULL AND NOT EXISTS "
					 "(SELECT 1 FROM %T AS p WHERE p.%I = c.%I)", c->name, c->n, col, p->name, pk, col);
				if (find(db, &sql, c->name, p->name, &fk->found, &fk->nfound, &alloc) < 0)
					return -1;
			}
			/* a row whose parent went (none, if the scan says so) */
			int unseen = p->gone_made ? gone_unseen(db, c, r, p) : 1;
			if (unseen < 0)
				return -1;
			if (!unseen) {
				sql_addf(&sql, &sq_dialect, "SELECT c.rowid FROM %T AS c WHERE c.%I IN "
					 "(SELECT k FROM temp.dbpipe_fk_gone_%zu) AND NOT EXISTS "
					 "(SELECT 1 FROM %T AS p WHERE p.%I = c.%I)", c->name, col, p->n, p->name, pk, col);
				if (find(db, &sql, c->name, p->name, &fk->found, &fk->nfound, &alloc) < 0)
					return -1;
			}
		}
	}
	for (size_t i = 0; i < fk->ntables; i++)
		for (int gone = 0; gone < 2; gone++)
			if (gone ? fk->tables[i].gone_made : fk->tables[i].written_made) {
				struct buf sql = BUF_INIT;
				buf_addf(&sql, "DROP TABLE temp.dbpipe_fk_%s_%zu", gone ? "gone" : "written", fk->tables[i].n);
				int ret = sq_exec(db, sql.buf);
				buf_release(&sql);
				if (ret < 0)
					return -1;
				*(gone ? &fk->tables[i].gone_made : &fk->tables[i].written_made) = 0;
			}
	return 0;
}

int sq_fk_before_ddl(struct db *db)
{
	struct sqlite_db *s = db->impl;
	if (s->fk.by_row) {
		if (check_by_row(db) < 0)
			return -1;
		s->fk.by_row = 0;
		fk_tables_release(&s->fk);
	}
	return take_whole(db);
}

/* Reported by name: at most this many violations, then how many more. */
enum { FK_SHOWN = 5 };

int sq_fk_check(struct db *db)
{
	struct sqlite_db *s = db->impl;
	struct sq_fk *fk = &s->fk;
	size_t alloc = fk->nfound;
	if (fk->by_row && check_by_row(db) < 0)
		return -1;
	if (fk->whole) {
		char **now;
		size_t n;
		if (fk_violations(db, &now, &n) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (fk->nbefore && bsearch(&now[i], fk->before, fk->nbefore, sizeof(char *), strcmp_ptr)) {
				free(now[i]);
				continue;
			}
			*strrchr(now[i], '\t') = '\0'; /* the fkid: as the check by row says it */
			add_string(&fk->found, &fk->nfound, &alloc, now[i]);
		}
		free(now);
	}
	if (fk->nfound)
		qsort(fk->found, fk->nfound, sizeof(char *), strcmp_ptr);
	struct buf msg = BUF_INIT;
	size_t bad = 0;
	for (size_t i = 0; i < fk->nfound; i++) {
		if (i && !strcmp(fk->found[i], fk->found[i - 1]))
			continue; /* found both ways */
		if (bad++ < FK_SHOWN) {
			char table[256], parent[256];
			long long rowid;
			if (sscanf(fk->found[i], "%255[^\t]\t%lld\t%255[^\t]", table, &rowid, parent) == 3)
				buf_addf(&msg, "%sforeign key violation: a row of \"%s\" (rowid %lld) references a missing row of \"%s\"",
					 bad > 1 ? "; " : "", table, rowid, parent);
		}
	}
	if (bad > FK_SHOWN)
		buf_addf(&msg, "; and %zu more", bad - FK_SHOWN);
	if (bad)
		db_error(db, "%s", msg.buf);
	buf_release(&msg);
	return bad ? -1 : 0;
}
