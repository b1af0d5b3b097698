/* apply: phase 1 (read, compare, check, spool) and phase 2 (write in
 * dependency order) of dbapply, plus the undo stream. */
#include "apply.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deps.h"
#include "diff.h"
#include "holdback.h"
#include "natural.h"
#include "progress.h"
#include "rekey.h"
#include "stream.h"
#include "syncbase.h"

#define MAX_CONFLICTS_SHOWN 20

/* One table of the stream and where its changes are spooled before writing. */
struct plan {
	struct table *st;       /* the stream's table */
	struct table *proj;     /* target types laid out like the stream's table */
	const struct table *bt; /* the old sync base's table of that name (same shape), or NULL */
	struct diff_counts *counts;
	char *spool[2];         /* [0] inserts and updates, [1] deletes */
	FILE *lines[2];         /* the input line of each spooled change */
	struct stream_writer w[2];
	uint64_t nspooled[2];
	int skip;               /* not applied: excluded, history, or a natural-key table */
	long natural;           /* the natural key of a table matched by one (natural.h), or -1 */
	int quiet_triggers;     /* its triggers are turned off while writing (--disable-triggers) */
	int triggers_are_off;
	/* Foreign-key columns of a cycle the engine cannot defer: written NULL
	 * first and filled in once every row is in (indexes into st's columns). */
	size_t nnull, *null_cols;
	char *fixup;            /* spool of those updates */
	struct stream_writer fw;
	uint64_t nfixups;
};

struct apply {
	const struct apply_opts *o;
	struct stream_reader rd;
	int rd_open;
	struct db *db;
	struct schema target;
	int *target_in_cycle;   /* per target table: in a cycle or self-referencing */
	struct plan *plans;
	size_t nplans;
	struct summary *sum;
	char *tmpdir;
	struct plan *cur;       /* the table being read */
	uint64_t conflicts;     /* changes that no longer fit the target */
	uint64_t conflict_records; /* dbmerge's conflict records, not applied */
	char *undo_partial;     /* the undo stream until the commit */
	struct change out;      /* a change being spooled */
	long line;              /* the input line of the record being compared */
	/* Records of one table held for a keyed look-up of their target rows
	 * (read_keyed): the changes and their input lines. */
	struct change *held;
	long *held_line;
	const struct row **held_keys;
	size_t nheld, held_alloc, held_pos;
	struct buf msg;
	/* The sync base (syncbase.h): the old one, read beside the stream of a
	 * row stream, and the new one, written as the stream is read (not in a
	 * dry run) and put in place after the commit. */
	struct source base;
	int base_open, base_w_open;
	char *base_path, *base_partial;
	struct stream_writer base_w;
	const struct row *base_next; /* the old base's next row, read ahead */
	int base_have, base_primed;
	const struct row *base_bound; /* three-way by keyed batches: the batch's last key */
	const struct row *stream_row; /* the stream's current row, whole */
	int key_keep_old;        /* three-way: the current key keeps its old base row */
	struct holdback holdback; /* rows left out, whose referrers follow them */
	struct natural nat;      /* reference tables matched by natural keys */
	uint64_t reported;       /* three-way conflicts and held rows reported (capped) */
	int commit_unknown;      /* the connection was lost during the commit: outcome unknown */
	/* --rekey (rekey.h): the map, and for the table being read: the rows
	 * the map moves to other keys (held until the merge reaches them), the
	 * collisions to re-key at its end, the largest key of any side. */
	struct rekey rk;
	struct keyed_rows { struct row *r; long *line; size_t n, alloc, pos; } moved, queued;
	int stream_pending;      /* the stream's current row waits behind moved ones */
	int stream_ended;        /* the stream's rows of the table have all been read */
	int64_t max_key;
	int have_max_key;
	struct table *rk_table;  /* the map's table record in the new base, or NULL */
	/* Phase 2: per write, where its row came from (struct written), so
	 * that a failure the engine reports later names the right row. */
	FILE *wlog;
	uint64_t wlog_base;      /* db->nwrites before the first write */
};

struct written {
	long line;               /* the input line, 0: none */
	uint32_t plan, which;    /* the plan and its spool (write_spool's which) */
	uint64_t rec;            /* the change's place in that spool, from 0 */
};

static int spool_open(struct apply *a, struct plan *p, size_t idx, int which)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%zu-%s", a->tmpdir, idx, which ? "delete" : "upsert");
	p->spool[which] = xstrdup(path.buf);
	buf_adds(&path, ".lines");
	p->lines[which] = fopen(path.buf, "w+");
	buf_release(&path);
	if (!p->lines[which] || stream_create(&p->w[which], p->spool[which]) < 0)
		return error("%s: %s", a->tmpdir, strerror(errno));
	stream_write_header(&p->w[which], STREAM_CHANGES, "dbapply spool", a->db->ops->engine);
	stream_write_table(&p->w[which], p->st);
	stream_begin_table(&p->w[which], p->st);
	return 0;
}

/* Spool one change and count it; line is where it came from (0: the target). */
static int spool_change(struct apply *a, const struct change *c, long line)
{
	struct plan *p = a->cur;
	int which = c->type == REC_DELETE;
	if (stream_write_change(&p->w[which], c) < 0 ||
	    fwrite(&line, sizeof(line), 1, p->lines[which]) != 1)
		return error("%s: cannot spool: %s", a->tmpdir, strerror(errno));
	p->nspooled[which]++;
	return 0;
}

static int emit_from_diff(void *ctx, const struct change *c)
{
	struct apply *a = ctx;
	/* A merge with no base for the table takes every difference for an
	 * edit: say how many, since some may be collisions. */
	if (c->type == REC_UPDATE && a->o->mode == APPLY_MERGE && a->rd.kind == STREAM_ROWS && a->o->base_dir)
		a->cur->counts->unbased++;
	return spool_change(a, c, c->type == REC_DELETE ? 0 : a->line);
}

/* --- --rekey --- */

static void keyed_rows_add(struct keyed_rows *k, const struct row *r, long line)
{
	if (k->n == k->alloc) {
		size_t n = k->alloc ? 2 * k->alloc : 16;
		k->r = xrealloc(k->r, n * sizeof(*k->r));
		k->line = xrealloc(k->line, n * sizeof(*k->line));
		for (size_t i = k->alloc; i < n; i++)
			row_init(&k->r[i], 0);
		k->alloc = n;
	}
	row_copy(&k->r[k->n], r);
	k->line[k->n++] = line;
}

static void keyed_rows_release(struct keyed_rows *k)
{
	for (size_t i = 0; i < k->alloc; i++)
		row_release(&k->r[i]);
	free(k->r);
	free(k->line);
	memset(k, 0, sizeof(*k));
}

static void note_key(struct apply *a, const struct table *t, const struct row *r)
{
	int64_t k;
	if (rekey_table_ok(t) && rekey_key_of(t, r, &k) && (!a->have_max_key || k > a->max_key)) {
		a->max_key = k;
		a->have_max_key = 1;
	}
}

/* Whether the map has entries for table. */
static int rekeyed_table(const struct apply *a, const char *table)
{
	return rekey_max_image(&a->rk, table) != INT64_MIN;
}

/* The place of table in the stream's order, or -1. */
static long plan_index(const struct apply *a, const char *table)
{
	for (size_t i = 0; i < a->nplans; i++)
		if (!strcmp(a->plans[i].st->name, table))
			return (long)i;
	return -1;
}

/* The references of r (a row of t, laid out by it) into re-keyed rows, as
 * the target has them.  fresh_only: only those re-keyed by this run, for a
 * row of the table at place fresh_only - 1 or before: --rekey gives new
 * keys at the end of a table, so its own rows and those of the tables read
 * before it (a self-reference, a cycle) still hold the stream's key, while
 * the tables read after it were translated as they were read. */
static int rekey_references(struct apply *a, const struct table *t, struct row *r, size_t fresh_only)
{
	for (size_t j = 0; j < t->nrefs; j++) {
		const struct ref *ref = &t->refs[j];
		const struct table *pt = schema_find(&a->rd.schema, ref->table);
		int64_t v, to;
		long i;
		if (ref->ncols != 1 || !pt || !rekey_table_ok(pt) || strcmp(ref->to[0], pt->cols[pt->key[0]].name) ||
		    !rekeyed_table(a, ref->table))
			continue;
		if (fresh_only && plan_index(a, ref->table) < (long)fresh_only - 1)
			continue;
		i = table_column_index(t, ref->cols[0]);
		if (!rekey_int_of(r, i, &v) || !rekey_lookup(&a->rk, ref->table, v, &to) ||
		    (fresh_only && !rekey_is_fresh(&a->rk, ref->table, v)))
			continue;
		/* v may be the stream's key of a row re-keyed now, or the key an
		 * earlier sync gave to another row, already translated: */
		if (fresh_only && rekey_is_image(&a->rk, ref->table, v)) {
			buf_reset(&a->msg);
			table_key_to_json(&a->msg, t, r);
			return error("table \"%s\" at key %s: \"%s\" = %lld names both a row --rekey re-keys now and "
				     "the row an earlier --rekey gave that key: give one of them another key by hand",
				     t->name, a->msg.buf, ref->cols[0], (long long)v);
		}
		char s[24];
		row_set(r, (size_t)i, s, (size_t)format_i64(s, to));
	}
	return 0;
}

/* A data record just read for the current table: its references into
 * natural-key tables translated to the target's ids; for such a table
 * itself, its ids noted with their natural keys. */
static int take_record(struct apply *a)
{
	struct plan *p = a->cur;
	struct change *c = &a->rd.rec;
	/* (--mirror makes the target the stream's copy, keys and all: no map) */
	if (a->rk.n && !p->skip && c->type != REC_CONFLICT && a->o->mode != APPLY_MIRROR) {
		rekey_references(a, p->st, &c->row, 0);
		rekey_references(a, p->st, &c->old, 0);
	}
	if (!a->nat.nkeys || c->type == REC_CONFLICT || (p->skip && p->natural < 0))
		return 0;
	buf_reset(&a->msg);
	if (natural_translate(&a->nat, &a->rd.schema, p->st, &c->row, &a->msg) < 0 ||
	    natural_translate(&a->nat, &a->rd.schema, p->st, &c->old, &a->msg) < 0)
		return stream_error(&a->rd, "table \"%s\": %s", p->st->name, a->msg.buf);
	if (p->natural >= 0 && (c->type == REC_ROW || c->type == REC_INSERT))
		natural_add_stream(&a->nat, (size_t)p->natural, p->st, &c->row);
	return 0;
}

/* The stream's rows of the current table, for diff_table and merge_table. */
static int stream_rows_next(void *ctx, const struct row **out)
{
	struct apply *a = ctx;
	int got = stream_next(&a->rd);
	if (got < 0)
		return -1;
	if (got == 0 || a->rd.rec.type == REC_TABLE_END)
		return 0;
	if (take_record(a) < 0)
		return -1;
	progress_rows(1, a->rd.line.len + 1);
	a->line = a->rd.rec_line;
	*out = a->stream_row = &a->rd.rec.row;
	return 1;
}

/* --- the sync base ---
 * Three-way (a table with a base, merge or --insert-only): after each key,
 * the new base gets the stream's row, or the old base's where the key was
 * left out (a conflict, a held row, an update --insert-only leaves), or
 * nothing (a collision).  Two-way (no base yet, --mirror, keyed look-ups):
 * the stream's rows, and where the stream does not hold the table whole,
 * the old base's rows of the other keys. */

static int three_way(const struct apply *a, const struct plan *p)
{
	return p->bt && a->rd.kind == STREAM_ROWS && a->o->mode != APPLY_MIRROR;
}

static int base_next_old(struct apply *a)
{
	int got = source_next_row(&a->base, &a->base_next);
	a->base_have = got > 0;
	return got < 0 ? -1 : 0;
}

/* Two-way: r (NULL at the end of the table) goes into the new base, after
 * the old base's rows of smaller keys where the table is partial. */
static int base_overlay(struct apply *a, struct plan *p, const struct row *r)
{
	if (!a->base_w_open)
		return 0;
	if (p->bt && !p->st->complete) {
		if (!a->base_primed && (a->base_primed = 1, base_next_old(a) < 0))
			return -1;
		while (a->base_have) {
			int cmp = r ? table_key_cmp(p->st, a->base_next, r) : -1;
			if (cmp > 0)
				break;
			if ((cmp < 0 && stream_write_row(&a->base_w, a->base_next) < 0) || base_next_old(a) < 0)
				return -1;
		}
	}
	return r ? stream_write_row(&a->base_w, r) : 0;
}

/* Three-way: the old base's rows, up to the last key of the batch of
 * records held for a keyed look-up (base_bound; NULL: to the end), the
 * others left for the next batch. */
static int base_rows_bounded(void *ctx, const struct row **out)
{
	struct apply *a = ctx;
	if (!a->base_primed && (a->base_primed = 1, base_next_old(a) < 0))
		return -1;
	if (!a->base_have || (a->base_bound && table_key_cmp(a->cur->st, a->base_next, a->base_bound) > 0))
		return 0;
	*out = a->base_next;
	a->base_primed = 0; /* taken: the next call reads on */
	if (a->o->rekey)
		note_key(a, a->cur->st, *out);
	return 1;
}

static int base_after_key(void *ctx, const struct row *b, const struct row *o, const struct row *th,
			  int conflicted)
{
	struct apply *a = ctx;
	(void)th;
	const struct row *keep = conflicted || a->key_keep_old ? b : o ? o : !a->cur->st->complete ? b : NULL;
	a->key_keep_old = 0;
	return a->base_w_open && keep ? stream_write_row(&a->base_w, keep) : 0;
}

/* The --rekey map of the old base, before any other table is read. */
static int base_read_rekey(struct apply *a)
{
	const struct table *t = a->base_open ? schema_find(a->base.schema, REKEY_TABLE) : NULL;
	const struct row *r;
	int got;
	if (!t)
		return 0;
	if (source_begin_table(&a->base, t) < 0)
		return -1;
	while ((got = source_next_row(&a->base, &r)) > 0)
		if (rekey_from_row(&a->rk, t, r) < 0)
			return error("%s: table \"%s\": not a --rekey map", a->base_path, REKEY_TABLE);
	return got;
}

/* After the header: the old base of this target and source, if any, and
 * the new one's file (not for a dry run). */
static int base_start(struct apply *a)
{
	if (!a->o->base_dir || a->rd.kind != STREAM_ROWS)
		return 0;
	a->base_path = sync_base_path(a->o->base_dir, a->o->base_label,
				      a->o->undo_source ? a->o->undo_source : a->db->shown_url, a->rd.source);
	if (!access(a->base_path, F_OK)) {
		if (source_open(&a->base, a->base_path, NULL, NULL) < 0)
			return error("%s: the sync base cannot be read: remove it to merge two-way, as a first sync does",
				     a->base_path);
		a->base_open = 1;
		a->base.spool_passed = 1; /* its tables may come in another order */
		if (base_read_rekey(a) < 0)
			return -1;
	}
	if (a->o->dry_run)
		return 0;
	struct buf partial = BUF_INIT;
	buf_add(&partial, a->base_path, strlen(a->base_path) - 3);
	buf_adds(&partial, ".partial.gz");
	a->base_partial = buf_detach(&partial);
	if (make_parent_dir(a->base_partial) < 0 || stream_create(&a->base_w, a->base_partial) < 0)
		return -1;
	stream_fast(&a->base_w);
	a->base_w_open = 1;
	return 0;
}

/* The new base's table records: the stream's tables, then the old base's
 * others, which are copied as they are (base_finish). */
/* Whether the new base writes table anew (else it is copied from the old). */
static int base_rewrites(const struct apply *a, const char *table)
{
	if (!strcmp(table, REKEY_TABLE))
		return 1;
	for (size_t j = 0; j < a->nplans; j++)
		if (!a->plans[j].skip && !strcmp(a->plans[j].st->name, table))
			return 1;
	return 0;
}

static int base_write_tables(struct apply *a)
{
	if (!a->base_w_open)
		return 0;
	a->base_w.purpose = "syncbase";
	stream_write_header(&a->base_w, STREAM_ROWS, a->rd.source, a->rd.engine);
	for (size_t i = 0; i < a->nplans; i++)
		if (!a->plans[i].skip && stream_write_table(&a->base_w, a->plans[i].st) < 0)
			return -1;
	for (size_t i = 0; a->base_open && i < a->base.schema->n; i++) {
		const struct table *bt = a->base.schema->tables[i];
		if (!base_rewrites(a, bt->name) && stream_write_table(&a->base_w, bt) < 0)
			return -1;
	}
	if ((a->o->rekey || a->rk.n) && a->o->mode != APPLY_MIRROR) {
		a->rk_table = rekey_table_record();
		if (stream_write_table(&a->base_w, a->rk_table) < 0)
			return -1;
	}
	return 0;
}


static int base_begin_table(struct apply *a, struct plan *p)
{
	a->base_primed = a->base_have = 0;
	if (a->base_w_open)
		stream_begin_table(&a->base_w, p->st);
	return p->bt ? source_begin_table(&a->base, p->bt) : 0;
}

static int base_end_table(struct apply *a, struct plan *p)
{
	const struct row *r;
	int got = 0;
	if (three_way(a, p)) {
		/* after keyed batches, the rows of the keys past the last one */
		a->base_bound = NULL;
		while ((got = base_rows_bounded(a, &r)) > 0)
			if (a->base_w_open && stream_write_row(&a->base_w, r) < 0)
				return -1;
	} else if (base_overlay(a, p, NULL) < 0) {
		return -1;
	}
	/* the rows --rekey put in: under keys larger than all the others */
	for (size_t i = 0; got >= 0 && a->base_w_open && i < a->queued.n; i++)
		if (stream_write_row(&a->base_w, &a->queued.r[i]) < 0)
			return -1;
	a->queued.n = a->moved.n = a->moved.pos = 0;
	a->stream_pending = a->stream_ended = a->have_max_key = 0;
	return got < 0 ? -1 : a->base_w_open ? stream_end_table(&a->base_w) : 0;
}

/* The stream's rows for a two-way comparison: each also goes into the new base. */
static int stream_rows_overlay(void *ctx, const struct row **out)
{
	struct apply *a = ctx;
	int got = stream_rows_next(ctx, out);
	return got > 0 && base_overlay(a, a->cur, *out) < 0 ? -1 : got;
}

/* Copy the old base's tables the stream did not touch, and end the file. */
static int base_finish(struct apply *a)
{
	if (!a->base_w_open)
		return 0;
	for (size_t i = 0; a->base_open && i < a->base.schema->n; i++) {
		const struct table *bt = a->base.schema->tables[i];
		const struct row *r;
		int got;
		if (base_rewrites(a, bt->name))
			continue;
		stream_begin_table(&a->base_w, bt);
		if (source_begin_table(&a->base, bt) < 0)
			return -1;
		while ((got = source_next_row(&a->base, &r)) > 0)
			if (stream_write_row(&a->base_w, r) < 0)
				return -1;
		if (got < 0 || stream_end_table(&a->base_w) < 0)
			return -1;
	}
	if (a->rk_table) {
		struct row r;
		row_init(&r, 3);
		stream_begin_table(&a->base_w, a->rk_table);
		for (size_t i = 0; i < a->rk.n; i++) {
			rekey_to_row(&a->rk.e[i], &r);
			if (stream_write_row(&a->base_w, &r) < 0) {
				row_release(&r);
				return -1;
			}
		}
		row_release(&r);
		if (stream_end_table(&a->base_w) < 0)
			return -1;
	}
	if (a->base_open && source_finish(&a->base) < 0)
		return -1;
	a->base_w_open = 0;
	return stream_finish(&a->base_w);
}

/* The target's rows of one table, in key order. */
struct target_rows {
	struct db *db;
	struct db_cursor *cursor;
	const struct table *t;
	struct row row, prev;
	int have;            /* row holds a row (for the change-stream join) */
	int ahead;           /* row was read ahead: the next call returns it */
	struct apply *track; /* --rekey: note each row's key in it (note_key) */
};

static int target_rows_next(void *ctx, const struct row **out)
{
	struct target_rows *tr = ctx;
	if (tr->ahead) {
		tr->ahead = 0;
		*out = &tr->row;
		return tr->have;
	}
	int got = tr->db->ops->scan_next(tr->cursor, &tr->row);
	if (got < 0)
		return error("%s: %s", tr->db->shown_url, tr->db->err.buf);
	*out = &tr->row;
	tr->have = got > 0;
	/* The join is only right if the engine's order is the stream's. */
	if (tr->have && tr->prev.n && table_key_cmp(tr->t, &tr->prev, &tr->row) >= (tr->t->key_kind == KEY_ROW))
		return error("%s: table \"%s\": the database returned rows out of key order",
			     tr->db->shown_url, tr->t->name);
	if (tr->have)
		row_copy(&tr->prev, &tr->row);
	if (tr->have && tr->track)
		note_key(tr->track, tr->t, &tr->row);
	return got;
}

/* The target's rows of p's table: all of them, or those with the keys of
 * the records held (a->nheld of them). */
static int target_rows_open(struct apply *a, struct plan *p, struct target_rows *tr, int held)
{
	memset(tr, 0, sizeof(*tr));
	tr->db = a->db;
	tr->t = p->st;
	if ((held ? a->db->ops->scan_keys_open(a->db, p->proj, a->held_keys, a->nheld, &tr->cursor)
		  : a->db->ops->scan_open(a->db, p->proj, &tr->cursor)) < 0)
		return error("%s: table \"%s\": %s", a->db->shown_url, p->st->name, a->db->err.buf);
	row_init(&tr->row, p->proj->ncols);
	row_init(&tr->prev, 0);
	return 0;
}

static void target_rows_close(struct apply *a, struct target_rows *tr)
{
	if (tr->cursor)
		a->db->ops->scan_close(tr->cursor);
	row_release(&tr->row);
	row_release(&tr->prev);
}

const char *const apply_default_history[] = {
	"django_migrations", "_prisma_migrations", "schema_migrations", "ar_internal_metadata",
	"alembic_version", "flyway_schema_history", "knex_migrations", "knex_migrations_lock",
	"doctrine_migration_versions", NULL,
};

/* Migration bookkeeping (django_migrations, ...) says which migrations ran
 * on this database: copying it would claim ones that never ran.  Backups
 * and undo streams restore it like any table. */
static int is_history(const struct apply *a, const char *table)
{
	if (!strcmp(a->rd.purpose, "backup") || !strcmp(a->rd.purpose, "undo"))
		return 0;
	for (size_t i = 0; i < a->o->nhistory; i++)
		if (glob_match(a->o->history[i], table))
			return 1;
	return 0;
}

/* A table matched by its natural key is the target's own: not written, and
 * its rows (natural key -> the target's ids) read now, for the references. */
static int load_natural(struct apply *a, struct plan *p, const struct table *tt)
{
	struct db_cursor *cur;
	struct row r;
	int got;
	buf_reset(&a->msg);
	if (!tt)
		return error("%s:%ld: table \"%s\", matched by its natural key, is not in the target", a->rd.name,
			     p->st->line, p->st->name);
	if (natural_check(&a->nat, (size_t)p->natural, tt, &a->msg) < 0 ||
	    natural_check(&a->nat, (size_t)p->natural, p->st, &a->msg) < 0)
		return error("%s:%ld: %s", a->rd.name, p->st->line, a->msg.buf);
	warning("table \"%s\" is matched by its natural key: not applied, and references into it are "
		"translated to the target's ids", p->st->name);
	if (a->db->ops->scan_open(a->db, tt, &cur) < 0)
		return error("%s: table \"%s\": %s", a->db->shown_url, tt->name, a->db->err.buf);
	row_init(&r, tt->ncols);
	while ((got = a->db->ops->scan_next(cur, &r)) > 0)
		natural_add_target(&a->nat, (size_t)p->natural, tt, &r);
	a->db->ops->scan_close(cur);
	row_release(&r);
	return got < 0 ? error("%s: table \"%s\": %s", a->db->shown_url, tt->name, a->db->err.buf) : 0;
}

/* Translating a reference that is part of the table's key would move its
 * rows out of the key order every comparison relies on. */
static int refers_by_key_to_natural(const struct apply *a, const struct table *st)
{
	for (size_t j = 0; j < st->nrefs; j++) {
		const struct ref *r = &st->refs[j];
		if (natural_find(&a->nat, r->table) < 0)
			continue;
		for (size_t c = 0; c < r->ncols; c++) {
			long i = table_column_index(st, r->cols[c]);
			if (i >= 0 && table_is_key(st, (size_t)i) && st->key_kind != KEY_ROW)
				return error("%s:%ld: table \"%s\": its key column \"%s\" refers to table \"%s\", "
					     "matched by its natural key: translating it is not supported", a->rd.name,
					     st->line, st->name, r->cols[c], r->table);
		}
	}
	return 0;
}

/* A table the environment excludes has other rows under the same ids there
 * (its own users): a reference into it would point at someone else. */
static int refers_to_excluded(const struct apply *a, const struct table *st)
{
	int bad = 0;
	for (size_t j = 0; a->o->exclude && j < st->nrefs; j++) {
		const struct ref *r = &st->refs[j];
		if (filter_match(a->o->exclude, r->table) || natural_find(&a->nat, r->table) >= 0)
			continue;
		struct buf cols = BUF_INIT;
		for (size_t c = 0; c < r->ncols; c++)
			buf_addf(&cols, "%s\"%s\"", c ? ", " : "", r->cols[c]);
		error("%s:%ld: table \"%s\": column %s refers to table \"%s\", which the target's environment "
		      "excludes: its ids there name other rows.  Exclude \"%s\" too, or stop excluding \"%s\"",
		      a->rd.name, st->line, st->name, cols.buf, r->table, st->name, r->table);
		buf_release(&cols);
		bad = -1;
	}
	return bad;
}

/* Match every stream table with a target table before any data is read. */
static int plan_tables(struct apply *a)
{
	struct buf err = BUF_INIT;
	int ret = -1, refs_bad = 0;
	a->plans = xcalloc(a->rd.schema.n + 1, sizeof(*a->plans));
	for (size_t i = 0; i < a->rd.schema.n; i++) {
		struct table *st = a->rd.schema.tables[i];
		struct table *tt = schema_find(&a->target, st->name);
		struct plan *p = &a->plans[a->nplans++];
		p->st = st;
		p->natural = natural_find(&a->nat, st->name);
		if (p->natural >= 0) {
			p->skip = 1;
			if (load_natural(a, p, tt) < 0)
				goto out;
			continue;
		}
		if (refers_by_key_to_natural(a, st) < 0)
			goto out;
		if (a->o->exclude && !filter_match(a->o->exclude, st->name)) {
			warning("table \"%s\" is excluded by the target's environment: not applied", st->name);
			p->skip = 1;
			continue;
		}
		if (is_history(a, st->name)) {
			summary_left_out(a->sum, st->name);
			p->skip = 1;
			continue;
		}
		if (refers_to_excluded(a, st) < 0) {
			refs_bad = 1; /* every one is named before the run stops */
			continue;
		}
		if (!tt) {
			error("%s:%ld: unknown table \"%s\" (the target has no such table)",
			      a->rd.name, st->line, st->name);
			goto out;
		}
		if (schema_check_compatible(st, tt, &err) < 0) {
			error("%s:%ld: %s", a->rd.name, st->line, err.buf);
			goto out;
		}
		if (tt->has_triggers && a->o->disable_triggers) {
			if (!a->db->ops->set_triggers) {
				error("%s:%ld: table \"%s\" has triggers, and %s cannot turn them off inside a "
				      "transaction (drop --disable-triggers)", a->rd.name, st->line, st->name,
				      a->db->ops->engine);
				goto out;
			}
			p->quiet_triggers = 1;
		} else if (tt->has_triggers) {
			warning("table \"%s\" has triggers: they fire for every row written "
				"(--disable-triggers turns them off)", st->name);
		}
		if (a->o->mode == APPLY_MIRROR && !st->complete && a->rd.kind == STREAM_ROWS)
			warning("table \"%s\" is not complete in the stream: --mirror deletes nothing from it",
				st->name);
		p->proj = table_project(tt, st);
		p->counts = summary_table(a->sum, st->name);
		p->bt = a->base_open ? schema_find(a->base.schema, st->name) : NULL;
		if (p->bt && !table_shape_equal(st, p->bt)) {
			warning("table \"%s\" has other columns or another key than in the sync base %s "
				"(a schema change): merged two-way this time", st->name, a->base_path);
			p->bt = NULL;
		}
		if (spool_open(a, p, i, 0) < 0 || spool_open(a, p, i, 1) < 0)
			goto out;
	}
	ret = refs_bad ? -1 : 0;
out:
	buf_release(&err);
	return ret;
}

/* A value of r for a message: its JSON, or ? */
static void add_value(struct buf *b, const struct table *t, const struct row *r, size_t i)
{
	struct buf err = BUF_INIT;
	size_t len = b->len;
	if (value_to_json(b, r, i, t->cols[i].type, &err) < 0) {
		b->len = len;
		buf_adds(b, "?");
	}
	buf_release(&err);
}

/* A conflict record of the three-way merge: reported, not applied; a
 * collision and a row the target deleted take their referrers with them. */
static int report_three_way(struct apply *a, struct plan *p, const struct change *c)
{
	const struct table *t = p->st;
	const struct row *b = &c->side[SIDE_BASE], *o = &c->side[SIDE_OURS], *th = &c->side[SIDE_THEIRS];
	if (c->kind == CONFLICT_INSERT_INSERT && a->o->rekey && rekey_table_ok(t) && a->rd.kind == STREAM_ROWS) {
		p->counts->collisions--; /* re-keyed at the end of the table instead */
		keyed_rows_add(&a->queued, o, a->line);
		return 0;
	}
	if (c->kind == CONFLICT_INSERT_INSERT || c->kind == CONFLICT_UPDATE_DELETE)
		holdback_add(&a->holdback, t, o);
	if (++a->reported > MAX_CONFLICTS_SHOWN)
		return 0;
	buf_reset(&a->msg);
	table_key_to_json(&a->msg, t, &c->row);
	buf_adds(&a->msg, ": ");
	if (c->kind == CONFLICT_INSERT_INSERT) {
		buf_adds(&a->msg, "collision: the stream and the target each created this key for another row (");
		for (size_t i = 0, n = 0; i < t->ncols && n < 3; i++) {
			if (!table_is_compared(t, i) || value_equal(o, i, th, i, t->cols[i].type))
				continue;
			buf_addf(&a->msg, "%s\"%s\": stream ", n++ ? "; " : "", t->cols[i].name);
			add_value(&a->msg, t, o, i);
			buf_adds(&a->msg, ", target ");
			add_value(&a->msg, t, th, i);
		}
		buf_adds(&a->msg, "): not applied, nor the rows that refer to it");
	} else if (c->kind == CONFLICT_UPDATE_UPDATE) {
		buf_adds(&a->msg, "conflict: both changed since the last sync: ");
		for (size_t i = 0, n = 0; i < t->ncols; i++) {
			if (!merge_column_conflict(t, b, o, th, i))
				continue;
			buf_addf(&a->msg, "%s\"%s\": base ", n++ ? "; " : "", t->cols[i].name);
			add_value(&a->msg, t, b, i);
			buf_adds(&a->msg, ", stream ");
			add_value(&a->msg, t, o, i);
			buf_adds(&a->msg, ", target ");
			add_value(&a->msg, t, th, i);
		}
		buf_adds(&a->msg, " (not applied; --prefer source or --prefer target settles it)");
	} else {
		buf_adds(&a->msg, "conflict: changed in the stream since the last sync, deleted in the target "
			 "(not applied, nor the rows that refer to it; --prefer source inserts it again)");
	}
	error("%s:%ld: table \"%s\" at key %s", a->rd.name, a->line, t->name, a->msg.buf);
	return 0;
}

/* The changes of the three-way merge of one table: spooled, unless the row
 * refers to a row left out. */
static int emit_three_way(void *ctx, const struct change *c)
{
	struct apply *a = ctx;
	struct plan *p = a->cur;
	if (c->type == REC_CONFLICT) {
		if (a->o->mode == APPLY_INSERT_ONLY && c->kind == CONFLICT_UPDATE_UPDATE) {
			p->counts->conflicts--; /* --insert-only leaves changed rows as they are */
			p->counts->left++;
			return 0;
		}
		return report_three_way(a, p, c);
	}
	const char *parent = holdback_refers(&a->holdback, p->st, a->stream_row);
	if (parent) {
		if (c->type == REC_INSERT)
			p->counts->inserts--;
		else
			p->counts->updates--;
		p->counts->held++;
		holdback_add(&a->holdback, p->st, a->stream_row);
		a->key_keep_old = 1;
		if (++a->reported <= MAX_CONFLICTS_SHOWN) {
			buf_reset(&a->msg);
			table_key_to_json(&a->msg, p->st, a->stream_row);
			error("%s:%ld: table \"%s\" at key %s: held back: it refers to %s, which is not applied",
			      a->rd.name, a->line, p->st->name, a->msg.buf, parent);
		}
		return 0;
	}
	if (c->type == REC_UPDATE && a->o->mode == APPLY_INSERT_ONLY) {
		p->counts->updates--;
		p->counts->left++;
		a->key_keep_old = 1;
		return 0;
	}
	return spool_change(a, c, a->line);
}

/* A target table that is empty while the base has rows was emptied or made
 * anew outside the syncs (dropped and created again, restored): the base no
 * longer says what it held, and taking its rows for ones the target deleted
 * would keep them out forever.  Such a table is merged two-way. */
static int base_is_stale(struct apply *a, struct plan *p, struct target_rows *tr)
{
	const struct row *r;
	if (target_rows_next(tr, &r) < 0)
		return -1;
	tr->ahead = 1;
	if (tr->have)
		return 0;
	a->base_bound = NULL;
	if (!a->base_primed) {
		a->base_primed = 1;
		if (base_next_old(a) < 0)
			return -1;
	}
	if (!a->base_have)
		return 0;
	warning("table \"%s\" is empty in the target but not in its sync base %s: the base is not "
		"what the target held (made anew or restored?), so it is merged two-way", p->st->name,
		a->base_path);
	p->bt = NULL;
	return 0;
}

/* A row whose own key is one the map gave to another row of the stream's
 * source: a collision with that row's copy in the target. */
static int image_collision(struct apply *a, const struct row *r)
{
	struct plan *p = a->cur;
	if (a->o->rekey) {
		keyed_rows_add(&a->queued, r, a->rd.rec_line);
		return 0;
	}
	p->counts->collisions++;
	holdback_add(&a->holdback, p->st, r);
	if (++a->reported <= MAX_CONFLICTS_SHOWN) {
		buf_reset(&a->msg);
		table_key_to_json(&a->msg, p->st, r);
		error("%s:%ld: table \"%s\" at key %s: collision: --rekey gave this key in the target to another row "
		      "of the stream's source: not applied, nor the rows that refer to it (--rekey re-keys it too)",
		      a->rd.name, a->rd.rec_line, p->st->name, a->msg.buf);
	}
	return 0;
}

/* The stream's rows of a table that can be re-keyed, in the target's key
 * order: a row the map moves is held, with its new key, until the merge
 * reaches that key (always after its own: new keys are larger than any
 * other); a row whose key the map gave to another is a collision. */
static int rekey_rows_next(void *ctx, const struct row **out)
{
	struct apply *a = ctx;
	const struct table *t = a->cur->st;
	struct keyed_rows *m = &a->moved;
	for (;;) {
		const struct row *r = &a->rd.rec.row;
		int64_t k, to;
		if (!a->stream_pending && !a->stream_ended) {
			int got = stream_rows_next(ctx, &r);
			if (got < 0)
				return -1;
			a->stream_pending = got > 0;
			a->stream_ended = got == 0;
			if (a->stream_pending && rekey_key_of(t, r, &k)) {
				note_key(a, t, r);
				if (rekey_lookup(&a->rk, t->name, k, &to)) {
					keyed_rows_add(m, r, a->rd.rec_line);
					rekey_set_key(t, &m->r[m->n - 1], to);
					/* in key order: entries are few, and come almost sorted */
					for (size_t i = m->n - 1; i > m->pos && table_key_cmp(t, &m->r[i], &m->r[i - 1]) < 0; i--) {
						struct row tmp = m->r[i];
						long l = m->line[i];
						m->r[i] = m->r[i - 1], m->line[i] = m->line[i - 1];
						m->r[i - 1] = tmp, m->line[i - 1] = l;
					}
					a->stream_pending = 0;
					continue;
				}
				if (rekey_is_image(&a->rk, t->name, k)) {
					a->stream_pending = 0;
					if (image_collision(a, r) < 0)
						return -1;
					continue;
				}
			}
		}
		if (m->pos < m->n && (!a->stream_pending || table_key_cmp(t, &m->r[m->pos], r) < 0)) {
			a->line = m->line[m->pos];
			*out = a->stream_row = &m->r[m->pos++];
			return 1;
		}
		if (!a->stream_pending)
			return 0;
		a->stream_pending = 0;
		a->line = a->rd.rec_line;
		*out = a->stream_row = r;
		return 1;
	}
}

/* At the end of a table: each collision queued for --rekey goes in under a
 * key larger than any of the table's on every side, the map keeps it, and
 * the rows read after it refer to the new key. */
static int rekey_queued(struct apply *a, struct plan *p)
{
	const struct table *t = p->st;
	int64_t next = rekey_max_image(&a->rk, t->name);
	if (a->have_max_key && a->max_key > next)
		next = a->max_key;
	struct change c;
	change_init(&c);
	c.type = REC_INSERT;
	c.table = p->st;
	int rc = 0;
	for (size_t i = 0; i < a->queued.n && !rc; i++) {
		int64_t src;
		struct row *r = &a->queued.r[i];
		if (!rekey_key_of(t, r, &src))
			continue;
		if (next == INT64_MAX) {
			rc = error("table \"%s\": no larger key is left for --rekey", t->name);
			break;
		}
		rekey_add(&a->rk, t->name, src, ++next, 1);
		rekey_set_key(t, r, next);
		row_copy(&c.row, r);
		row_resize(&c.old, t->ncols);
		rc = spool_change(a, &c, a->queued.line[i]);
		p->counts->inserts++;
		p->counts->rekeyed++;
		warning("%s:%ld: table \"%s\" at key {\"%s\":%lld}: collision: inserted as {\"%s\":%lld} (--rekey)",
				a->rd.name, a->queued.line[i], t->name, t->cols[t->key[0]].name, (long long)src,
				t->cols[t->key[0]].name, (long long)next);
	}
	change_release(&c);
	return rc;
}

/* The three-way merge of the old base's rows (to base_bound), the stream's
 * (ours) and the target's (theirs). */
static int merge_three(struct apply *a, struct plan *p, struct row_iter *ours, struct row_iter *theirs)
{
	struct merge_rules rules = { a->o->prefer, 0, 1, base_after_key };
	struct merge_counts mc = { 0 };
	struct row_iter base = { base_rows_bounded, a, a->base_path };
	return merge_table(p->st, &base, ours, theirs, &rules, emit_three_way, a, p->counts, &mc);
}

static int read_row_table(struct apply *a, struct plan *p)
{
	struct diff_policy pol = { 1, a->o->mode != APPLY_INSERT_ONLY,
				   a->o->mode == APPLY_MIRROR && p->st->complete };
	struct target_rows tr;
	struct row_iter old = { target_rows_next, &tr, a->db->shown_url };
	struct row_iter new_ = { stream_rows_overlay, a, a->rd.name };
	int rc;
	if (target_rows_open(a, p, &tr, 0) < 0)
		return -1;
	if (three_way(a, p) && base_is_stale(a, p, &tr) < 0) {
		target_rows_close(a, &tr);
		return -1;
	}
	if (three_way(a, p)) {
		int rekeying = rekey_table_ok(p->st) && (a->o->rekey || rekeyed_table(a, p->st->name));
		new_.next = rekeying ? rekey_rows_next : stream_rows_next;
		tr.track = rekeying ? a : NULL;
		rc = merge_three(a, p, &new_, &old);
		if (rc == 0 && rekeying)
			rc = rekey_queued(a, p);
	} else {
		rc = diff_table(p->st, &old, &new_, &pol, emit_from_diff, a, p->counts);
	}
	target_rows_close(a, &tr);
	return rc;
}

/* Report a change that no longer fits the target; the caller decides. */
static void conflict(struct apply *a, const struct change *c, const char *why)
{
	struct buf key = BUF_INIT;
	if (++a->conflicts > MAX_CONFLICTS_SHOWN)
		return;
	table_key_to_json(&key, c->table, &c->row);
	error("%s:%ld: conflict in table \"%s\" at key %s: %s", a->rd.name, a->line,
	      c->table->name, key.buf, why);
	buf_release(&key);
}

/* Whether the columns given in want hold the same values in have. */
static int values_match(const struct table *t, const struct row *want, const struct row *have,
			const char **col)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (want->v[i].state != V_ABSENT && !t->cols[i].generated &&
		    !value_equal(want, i, have, i, t->cols[i].type)) {
			*col = t->cols[i].name;
			return 0;
		}
	return 1;
}

/* Whether the target row cur still holds the values the change says it had
 * (its "old"); if not, a conflict, which --force writes over. */
static int old_values_hold(struct apply *a, const struct change *c, const struct row *cur)
{
	const char *col = NULL;
	if (values_match(c->table, &c->old, cur, &col))
		return 1;
	buf_reset(&a->msg);
	buf_addf(&a->msg, "\"%s\" changed in the target since the stream was made", col);
	conflict(a, c, a->msg.buf);
	return a->o->force;
}

/* Check one change of a change stream against the target row with its key
 * (cur, NULL if there is none) and spool what is to be written, with the
 * target's own values as `old`, so the undo stream is exact. */
static int check_change(struct apply *a, struct plan *p, const struct change *c, const struct row *cur)
{
	const struct table *t = p->st;
	struct change *out = &a->out;
	const char *col = NULL;
	out->table = p->st;
	row_resize(&out->row, t->ncols);
	row_resize(&out->old, t->ncols);
	switch (c->type) {
	case REC_INSERT:
		if (cur) {
			if (values_match(t, &c->row, cur, &col))
				return 0; /* already there */
			if (a->o->mode == APPLY_INSERT_ONLY) {
				p->counts->left++; /* existing rows are left alone */
				return 0;
			}
			buf_reset(&a->msg);
			buf_addf(&a->msg, "the row already exists with another \"%s\"", col);
			conflict(a, c, a->msg.buf);
			if (!a->o->force)
				return 0;
			/* --force: the stream's row wins; write it as an update. */
			out->type = REC_UPDATE;
			for (size_t i = 0; i < t->ncols; i++) {
				if (table_is_key(t, i) || !value_equal(&c->row, i, cur, i, t->cols[i].type)) {
					row_copy_value(&out->row, &c->row, i);
					if (!table_is_key(t, i))
						row_copy_value(&out->old, cur, i);
				}
			}
			p->counts->updates++;
			return spool_change(a, out, a->line);
		}
		p->counts->inserts++;
		return spool_change(a, c, a->line);
	case REC_UPDATE:
		if (!cur) {
			conflict(a, c, "the row is gone from the target");
			if (a->o->force)
				warning("%s:%ld: skipped: an update cannot recreate a deleted row", a->rd.name,
					a->line);
			return 0;
		}
		if (values_match(t, &c->row, cur, &col))
			return 0; /* already applied */
		if (!old_values_hold(a, c, cur))
			return 0;
		out->type = REC_UPDATE;
		for (size_t i = 0; i < t->ncols; i++) {
			if (c->row.v[i].state == V_ABSENT)
				continue;
			row_copy_value(&out->row, &c->row, i);
			if (!table_is_key(t, i))
				row_copy_value(&out->old, cur, i);
		}
		p->counts->updates++;
		return spool_change(a, out, a->line);
	case REC_DELETE:
		if (!cur)
			return 0; /* already gone */
		if (!old_values_hold(a, c, cur))
			return 0;
		out->type = REC_DELETE;
		for (size_t k = 0; k < t->nkey; k++)
			row_copy_value(&out->row, &c->row, t->key[k]);
		row_copy(&out->old, cur);
		p->counts->deletes++;
		return spool_change(a, out, a->line);
	default:
		return 0;
	}
}

/* A change that needs no target row: dbmerge's conflict records, deletes
 * outside --mirror, updates under --insert-only.  Counts or reports it and
 * returns 1; 0 for the others. */
static int settled_without_target(struct apply *a, struct plan *p, const struct change *c)
{
	if (c->type == REC_CONFLICT) {
		/* dbmerge's unsettled conflicts: someone must choose, not us. */
		struct buf key = BUF_INIT;
		table_key_to_json(&key, p->st, &c->row);
		warning("%s:%ld: table \"%s\" at key %s: %s conflict not applied", a->rd.name,
			a->rd.rec_line, p->st->name, key.buf, conflict_kind_name(c->kind));
		buf_release(&key);
		a->conflict_records++;
		return 1;
	}
	if (c->type == REC_DELETE && a->o->mode != APPLY_MIRROR) {
		p->counts->kept++;
		return 1;
	}
	if (c->type == REC_UPDATE && a->o->mode == APPLY_INSERT_ONLY) {
		p->counts->left++;
		return 1;
	}
	return 0;
}

/* Move the target rows (key order) to c's key and check c against the row
 * found there, if any. */
static int check_at_key(struct apply *a, struct plan *p, struct target_rows *tr, const struct change *c)
{
	const struct row *cur;
	int cmp = -1;
	while (tr->have && (cmp = table_key_cmp(p->st, &tr->row, &c->row)) < 0)
		if (target_rows_next(tr, &cur) < 0)
			return -1;
	return check_change(a, p, c, tr->have && cmp == 0 ? &tr->row : NULL);
}

static int read_change_table(struct apply *a, struct plan *p)
{
	struct target_rows tr;
	const struct row *cur = NULL;
	int got, ret = -1;
	if (target_rows_open(a, p, &tr, 0) < 0)
		return -1;
	if (target_rows_next(&tr, &cur) < 0)
		goto out;
	while ((got = stream_next(&a->rd)) > 0 && a->rd.rec.type != REC_TABLE_END) {
		progress_rows(1, a->rd.line.len + 1);
		a->line = a->rd.rec_line;
		if (take_record(a) < 0)
			goto out;
		if (!settled_without_target(a, p, &a->rd.rec) && check_at_key(a, p, &tr, &a->rd.rec) < 0)
			goto out;
	}
	if (got < 0)
		goto out;
	if (got == 0) {
		stream_error(&a->rd, "truncated stream: table \"%s\" has no end record", p->st->name);
		goto out;
	}
	ret = 0;
out:
	target_rows_close(a, &tr);
	return ret;
}

/* --- keyed reading ---
 * A change stream, or a table a row stream does not hold whole (dbdump-rows
 * --since), names few of the target's rows: rather than reading the whole
 * table, look those rows up by key, KEYED_BATCH records at a time. */

#define KEYED_BATCH 1000

static int use_keys(struct apply *a, struct plan *p)
{
	const struct db_ops *ops = a->db->ops;
	/* --rekey and re-keyed rows need every key of the table, in order */
	if (a->o->mode != APPLY_MIRROR && (a->o->rekey || rekeyed_table(a, p->st->name)))
		return 0;
	return ops->scan_keys_open && (a->rd.kind == STREAM_CHANGES || !p->st->complete) &&
	       ops->scan_keys_open(a->db, p->proj, NULL, 0, NULL) == 1;
}

static void hold(struct apply *a, const struct change *c)
{
	if (a->nheld == a->held_alloc) {
		size_t n = a->held_alloc ? 2 * a->held_alloc : 64;
		a->held = xrealloc(a->held, n * sizeof(*a->held));
		a->held_line = xrealloc(a->held_line, n * sizeof(*a->held_line));
		a->held_keys = xrealloc(a->held_keys, n * sizeof(*a->held_keys));
		for (size_t i = a->held_alloc; i < n; i++)
			change_init(&a->held[i]);
		a->held_alloc = n;
	}
	struct change *h = &a->held[a->nheld];
	h->type = c->type;
	h->table = c->table;
	row_copy(&h->row, &c->row);
	row_copy(&h->old, &c->old);
	a->held_line[a->nheld++] = a->rd.rec_line;
}

/* The held rows of a row stream, for diff_table. */
static int held_rows_next(void *ctx, const struct row **out)
{
	struct apply *a = ctx;
	if (a->held_pos >= a->nheld)
		return 0;
	a->line = a->held_line[a->held_pos];
	*out = a->stream_row = &a->held[a->held_pos++].row;
	return !three_way(a, a->cur) && base_overlay(a, a->cur, *out) < 0 ? -1 : 1;
}

/* Compare or check the held records with the target rows of their keys. */
static int check_held(struct apply *a, struct plan *p)
{
	struct target_rows tr;
	const struct row *cur;
	int ret = -1;
	for (size_t i = 0; i < a->nheld; i++)
		a->held_keys[i] = &a->held[i].row;
	if (target_rows_open(a, p, &tr, 1) < 0)
		return -1;
	if (a->rd.kind == STREAM_ROWS) {
		/* Rows the stream lacks are not known to be gone: no deletes. */
		struct diff_policy pol = { 1, a->o->mode != APPLY_INSERT_ONLY, 0 };
		struct row_iter old = { target_rows_next, &tr, a->db->shown_url };
		struct row_iter new_ = { held_rows_next, a, a->rd.name };
		a->held_pos = 0;
		a->base_bound = &a->held[a->nheld - 1].row;
		ret = three_way(a, p) ? merge_three(a, p, &new_, &old)
				      : diff_table(p->st, &old, &new_, &pol, emit_from_diff, a, p->counts);
	} else if (target_rows_next(&tr, &cur) >= 0) {
		size_t i = 0;
		for (; i < a->nheld; i++) {
			a->line = a->held_line[i];
			if (check_at_key(a, p, &tr, &a->held[i]) < 0)
				break;
		}
		ret = i < a->nheld ? -1 : 0;
	}
	target_rows_close(a, &tr);
	a->nheld = 0;
	return ret;
}

static int read_keyed(struct apply *a, struct plan *p)
{
	int got;
	a->nheld = 0;
	while ((got = stream_next(&a->rd)) > 0 && a->rd.rec.type != REC_TABLE_END) {
		progress_rows(1, a->rd.line.len + 1);
		a->line = a->rd.rec_line;
		if (take_record(a) < 0)
			return -1;
		if (a->rd.kind == STREAM_CHANGES && settled_without_target(a, p, &a->rd.rec))
			continue;
		hold(a, &a->rd.rec);
		if (a->nheld == KEYED_BATCH && check_held(a, p) < 0)
			return -1;
	}
	if (got < 0)
		return -1;
	if (got == 0)
		return stream_error(&a->rd, "truncated stream: table \"%s\" has no end record", p->st->name);
	return a->nheld ? check_held(a, p) : 0;
}

/* Phase 1: read the whole input, compare or check, spool the changes. */
static int read_input(struct apply *a)
{
	for (size_t i = 0; i < a->nplans; i++) {
		a->cur = &a->plans[i];
		progress_table("read", a->cur->st->name);
		if (a->cur->skip) {
			const struct row *r;
			int got;
			while ((got = stream_rows_next(a, &r)) > 0)
				;
			if (got < 0)
				return -1;
			continue;
		}
		if (base_begin_table(a, a->cur) < 0)
			return -1;
		int rc = use_keys(a, a->cur) ? read_keyed(a, a->cur)
			 : a->rd.kind == STREAM_ROWS ? read_row_table(a, a->cur)
			 : read_change_table(a, a->cur);
		if (rc < 0 || base_end_table(a, a->cur) < 0)
			return -1;
	}
	/* The final end record proves the input is whole; nothing is written before. */
	int got = stream_next(&a->rd);
	if (got > 0)
		return stream_error(&a->rd, "records after the last table");
	if (got < 0)
		return -1;
	if (a->reported > MAX_CONFLICTS_SHOWN)
		error("... and %llu more rows left out (conflicts, collisions and the rows held back with them)",
		      (unsigned long long)(a->reported - MAX_CONFLICTS_SHOWN));
	if (base_finish(a) < 0)
		return -1;
	if (a->conflicts) {
		if (a->conflicts > MAX_CONFLICTS_SHOWN)
			error("... and %llu more conflicts", (unsigned long long)(a->conflicts - MAX_CONFLICTS_SHOWN));
		if (!a->o->force)
			return error("%llu conflicting row%s: the target changed since the stream was made "
				     "(--force writes the stream's values anyway)",
				     (unsigned long long)a->conflicts, a->conflicts == 1 ? "" : "s");
		warning("--force: writing over %llu conflicting row%s", (unsigned long long)a->conflicts,
			a->conflicts == 1 ? "" : "s");
	}
	for (size_t i = 0; i < a->nplans; i++)
		for (int w = 0; w < 2 && !a->plans[i].skip; w++)
			if (stream_end_table(&a->plans[i].w[w]) < 0 || stream_finish(&a->plans[i].w[w]) < 0)
				return -1;
	return 0;
}

/* The change that undoes c. */
static void invert(const struct change *c, struct change *u)
{
	u->table = c->table;
	switch (c->type) {
	case REC_INSERT:
	case REC_ROW: {
		const struct table *t = c->table;
		u->type = REC_DELETE;
		row_resize(&u->row, t->ncols);
		for (size_t k = 0; k < t->nkey; k++)
			row_copy_value(&u->row, &c->row, t->key[k]);
		row_copy(&u->old, &c->row);
		break;
	}
	case REC_UPDATE: {
		const struct table *t = c->table;
		u->type = REC_UPDATE;
		row_copy(&u->row, &c->old);
		for (size_t k = 0; k < t->nkey; k++)
			row_copy_value(&u->row, &c->row, t->key[k]);
		row_copy(&u->old, &c->row);
		for (size_t k = 0; k < t->nkey; k++)
			u->old.v[t->key[k]].state = V_ABSENT;
		break;
	}
	case REC_DELETE:
		u->type = REC_INSERT;
		row_copy(&u->row, &c->old);
		row_resize(&u->old, c->table->ncols);
		break;
	default:
		break;
	}
}

/* Open a spool for reading; an empty one is left closed. */
static int spool_reader(struct plan *p, int which, struct stream_reader *r, int *have)
{
	*have = 0;
	if (!p->nspooled[which])
		return 0;
	if (stream_open(r, p->spool[which]) < 0)
		return -1;
	*have = 1;
	int got = stream_next(r);
	if (got < 0)
		return -1;
	*have = got > 0 && r->rec.type != REC_TABLE_END;
	return 0;
}

static int spool_advance(struct stream_reader *r, int *have)
{
	int got = stream_next(r);
	if (got < 0)
		return -1;
	*have = got > 0 && r->rec.type != REC_TABLE_END;
	return 0;
}

/* The undo stream: per table, the inverse of every spooled change in key
 * order (the upsert and delete spools merged), so that applying it with
 * dbapply --mirror restores the rows this run changes. */
static int write_undo(struct apply *a)
{
	struct stream_writer w;
	struct change u;
	int ret = -1;
	if (make_parent_dir(a->undo_partial) < 0 || stream_create(&w, a->undo_partial) < 0)
		return -1;
	change_init(&u);
	w.purpose = "undo";
	stream_write_header(&w, STREAM_CHANGES, a->o->undo_source ? a->o->undo_source : a->db->shown_url,
			    a->db->ops->engine);
	for (size_t i = 0; i < a->nplans; i++) {
		if (!a->plans[i].skip)
			stream_write_table(&w, a->plans[i].st);
	}
	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];
		struct stream_reader r[2];
		int have[2] = { 0, 0 }, opened[2] = { 0, 0 }, ok = -1;
		if (p->skip)
			continue;
		stream_begin_table(&w, p->st);
		for (int s = 0; s < 2; s++) {
			opened[s] = p->nspooled[s] > 0;
			if (spool_reader(p, s, &r[s], &have[s]) < 0)
				goto next;
		}
		while (have[0] || have[1]) {
			int s = !have[0] ? 1 : !have[1] ? 0
				: table_key_cmp(p->st, &r[0].rec.row, &r[1].rec.row) <= 0 ? 0 : 1;
			r[s].rec.table = p->st;
			if (s == 0 && a->rk.n && rekey_references(a, p->st, &r[s].rec.row, i + 1) < 0)
				goto next; /* as write_spool will write it */
			invert(&r[s].rec, &u);
			if (stream_write_change(&w, &u) < 0 || spool_advance(&r[s], &have[s]) < 0)
				goto next;
		}
		ok = stream_end_table(&w);
next:
		for (int s = 0; s < 2; s++)
			if (opened[s])
				stream_close(&r[s]);
		if (ok < 0)
			goto out;
	}
	ret = stream_finish(&w); /* closes w: w.name is NULL from here on */
out:
	if (w.name)
		stream_abandon(&w);
	change_release(&u);
	return ret;
}

static const char *const verbs[] = { "insert", "insert", "update", "delete" };

static int write_failed(struct apply *a, struct plan *p, const struct change *c, long line)
{
	buf_reset(&a->msg);
	table_key_to_json(&a->msg, p->st, &c->row);
	if (line)
		return error("%s:%ld: table \"%s\" at key %s: %s failed: %s", a->rd.name, line, p->st->name,
			     a->msg.buf, verbs[c->type], a->db->err.buf);
	return error("%s: table \"%s\" at key %s: %s of a row only in the target failed: %s",
		     a->db->shown_url, p->st->name, a->msg.buf, verbs[c->type], a->db->err.buf);
}

/* A failure the engine reported for an earlier write than the current one
 * (writes are batched), when it said which: reported with that write's
 * table, key and line; 1 if so, 0 if not known. */
static int blame_earlier_write(struct apply *a)
{
	uint64_t n = a->db->failed_write;
	struct written e;
	struct stream_reader sp;
	int got, found = 0;
	if (!a->wlog || n <= a->wlog_base ||
	    fseeko(a->wlog, (off_t)((n - a->wlog_base - 1) * sizeof(e)), SEEK_SET) ||
	    fread(&e, sizeof(e), 1, a->wlog) != 1 || e.plan >= a->nplans)
		return 0;
	struct plan *p = &a->plans[e.plan];
	if (stream_open(&sp, e.which == 2 ? p->fixup : p->spool[e.which & 1]) < 0)
		return 0;
	for (uint64_t i = 0; !found && (got = stream_next(&sp)) > 0;)
		if (sp.rec.type != REC_TABLE_END && i++ == e.rec)
			found = 1;
	if (found) {
		sp.rec.type = e.which >= 2 ? REC_UPDATE : sp.rec.type; /* the cycle's columns */
		write_failed(a, p, &sp.rec, e.line);
	}
	stream_close(&sp);
	return found;
}

/* For a table in a cycle the engine cannot defer: take the cycle's columns
 * out of c (into the fixup spool when they hold a value), so the row can be
 * written before the rows it points at.  Returns 1 if c still has work. */
static int hold_back_cycle_columns(struct apply *a, struct plan *p, struct change *c)
{
	const struct table *t = p->st;
	struct change *fix = &a->out;
	int held = 0, rest = c->type == REC_INSERT;
	row_resize(&fix->row, t->ncols);
	row_resize(&fix->old, t->ncols);
	fix->type = REC_UPDATE;
	fix->table = p->st;
	for (size_t k = 0; k < t->nkey; k++)
		row_copy_value(&fix->row, &c->row, t->key[k]);
	for (size_t j = 0; j < p->nnull; j++) {
		size_t i = p->null_cols[j];
		if (c->row.v[i].state != V_SET)
			continue;
		row_copy_value(&fix->row, &c->row, i);
		held = 1;
		if (c->type == REC_INSERT)
			row_set_null(&c->row, i);
		else
			c->row.v[i].state = V_ABSENT;
	}
	for (size_t i = 0; i < t->ncols && !rest; i++)
		rest = c->row.v[i].state != V_ABSENT && !table_is_key(t, i);
	if (held) {
		if (!p->fixup) {
			struct buf path = BUF_INIT;
			buf_addf(&path, "%s.fixup", p->spool[0]);
			p->fixup = buf_detach(&path);
			if (stream_create(&p->fw, p->fixup) < 0)
				return -1;
			stream_write_header(&p->fw, STREAM_CHANGES, "dbapply spool", a->db->ops->engine);
			stream_write_table(&p->fw, p->st);
			stream_begin_table(&p->fw, p->st);
		}
		if (stream_write_change(&p->fw, fix) < 0)
			return -1;
		p->nfixups++;
	}
	return rest;
}

/* Write the spooled changes of one table; which: 0 upserts, 1 deletes,
 * 2 the cycle columns held back from the upserts, 3 the cycle columns set
 * NULL before deletes. */
static int write_spool(struct apply *a, struct plan *p, int which)
{
	struct stream_reader sp;
	const char *path = which == 2 ? p->fixup : p->spool[which & 1];
	int got, ret = -1;
	long line = 0;
	uint64_t nrec = 0;
	if (which == 2 ? !p->nfixups : !p->nspooled[which & 1] || (which == 3 && !p->nnull))
		return 0;
	if (which < 2)
		rewind(p->lines[which]);
	progress_table(which == 1 ? "delete" : "write", p->st->name);
	if (stream_open(&sp, path) < 0)
		goto out;
	while ((got = stream_next(&sp)) > 0) {
		struct change *c = &sp.rec;
		if (c->type == REC_TABLE_END)
			continue;
		if (which < 2 && fread(&line, sizeof(line), 1, p->lines[which]) != 1) {
			error("%s: spool out of step", path);
			goto out;
		}
		struct written w = { which < 2 ? line : 0, (uint32_t)(p - a->plans), (uint32_t)which, nrec++ };
		/* read before its parent was re-keyed (a self-reference, a cycle) */
		if (which == 0 && a->rk.n && rekey_references(a, p->st, &c->row, (size_t)(p - a->plans) + 1) < 0)
			goto out;
		const char *held = which == 0 ? holdback_refers(&a->holdback, p->st, &c->row) : NULL;
		if (held) {
			/* A row read before the one it refers to was left out (a
			 * self-reference, a cycle): too late to hold it back. */
			buf_reset(&a->msg);
			table_key_to_json(&a->msg, p->st, &c->row);
			error("%s:%ld: table \"%s\" at key %s refers to %s, which is not applied, and comes before it "
			      "in the stream, too early to be held back with it: settle that row first", a->rd.name,
			      w.line, p->st->name, a->msg.buf, held);
			goto out;
		}
		progress_rows(1, 0);
		if (util_interrupted) {
			error("interrupted");
			goto out;
		}
		if (which == 3) {
			/* Before a delete: NULL into the cycle's columns, so no row of
			 * the cycle points at a row deleted before it. */
			c->type = REC_UPDATE;
			row_copy(&c->row, &c->old);
			int any = 0;
			for (size_t i = 0; i < p->st->ncols; i++) {
				int cycle_col = 0;
				for (size_t j = 0; j < p->nnull; j++)
					cycle_col |= p->null_cols[j] == i;
				if (cycle_col && c->row.v[i].state == V_SET) {
					row_set_null(&c->row, i);
					any = 1;
				} else if (!table_is_key(p->st, i)) {
					c->row.v[i].state = V_ABSENT;
				}
			}
			if (!any)
				continue;
		} else if (which == 0 && p->nnull) {
			int rest = hold_back_cycle_columns(a, p, c);
			if (rest < 0)
				goto out;
			if (!rest)
				continue;
		}
		if (fwrite(&w, sizeof(w), 1, a->wlog) != 1) {
			error("%s: %s", a->tmpdir, strerror(errno));
			goto out;
		}
		if (db_write(a->db, p->proj, c) < 0) {
			if (a->db->failed_write == a->db->nwrites || !blame_earlier_write(a))
				write_failed(a, p, c, w.line);
			goto out;
		}
	}
	if (got == 0)
		ret = 0;
out:
	stream_close(&sp);
	if (which == 0 && p->fixup && p->fw.name &&
	    (stream_end_table(&p->fw) < 0 || stream_finish(&p->fw) < 0))
		ret = -1;
	return ret;
}

/* The cycle columns of each table, as indexes into the stream's columns. */
static void plan_cycle_columns(struct apply *a, struct plan **live, size_t n, const struct deps *d)
{
	for (size_t k = 0; k < n; k++) {
		struct plan *p = live[k];
		const struct table *tt = schema_find(&a->target, p->st->name);
		p->null_cols = xcalloc(d->nnull_cols[k] + 1, sizeof(size_t));
		for (size_t j = 0; j < d->nnull_cols[k]; j++) {
			long i = table_column_index(p->st, tt->cols[d->null_cols[k][j]].name);
			if (i >= 0)
				p->null_cols[p->nnull++] = (size_t)i;
		}
	}
}

/* Phase 2: parents first for inserts and updates, children first for deletes. */
/* --disable-triggers: off before the first write to a table that gets
 * any, back on after the last, before the commit.  A failure between is
 * rolled back, and the rollback restores them. */
static int set_triggers(struct apply *a, struct plan **live, size_t n, int on)
{
	for (size_t i = 0; i < n; i++) {
		struct plan *p = live[i];
		if (!p->quiet_triggers || p->triggers_are_off == !on ||
		    !(p->nspooled[0] || p->nspooled[1] || p->nfixups))
			continue;
		if (a->db->ops->set_triggers(a->db, p->proj, on) < 0)
			return error("%s: table \"%s\": turning its triggers %s: %s", a->db->shown_url,
				     p->st->name, on ? "back on" : "off", a->db->err.buf);
		p->triggers_are_off = !on;
	}
	return 0;
}

static int write_changes(struct apply *a)
{
	struct schema order = { 0, a->nplans, xcalloc(a->nplans + 1, sizeof(struct table *)) };
	struct plan **live = xcalloc(a->nplans + 1, sizeof(*live));
	struct deps d;
	int ret = -1;
	struct buf wpath = BUF_INIT;
	buf_addf(&wpath, "%s/written", a->tmpdir);
	a->wlog = fopen(wpath.buf, "w+");
	buf_release(&wpath);
	if (!a->wlog) {
		free(order.tables);
		free(live);
		return error("%s: %s", a->tmpdir, strerror(errno));
	}
	a->wlog_base = a->db->nwrites;
	/* The target's own references decide the order. */
	for (size_t i = 0; i < a->nplans; i++)
		if (!a->plans[i].skip) {
			live[order.n] = &a->plans[i];
			order.tables[order.n++] = schema_find(&a->target, a->plans[i].st->name);
		}
	deps_compute_flags(&order, a->db->ops->defers_all_checks ? DEPS_ALL_DEFER : 0, &d);
	plan_cycle_columns(a, live, order.n, &d);
	for (size_t c = 0; c < d.ncycles; c++) {
		if (d.cycles[c].loadable)
			continue;
		/* Say why before the engine refuses a row that points forward. */
		struct buf names = BUF_INIT;
		for (size_t m = 0; m < d.cycles[c].nmembers; m++)
			buf_addf(&names, "%s\"%s\"", m ? ", " : "", order.tables[d.cycles[c].members[m]]->name);
		warning("the cycle %s goes through NOT NULL keys that cannot be deferred: "
			"its rows load only if none points at a row loaded after it", names.buf);
		buf_release(&names);
	}
	if (set_triggers(a, live, order.n, 0) < 0)
		goto out;
	for (size_t i = 0; i < order.n; i++)
		if (write_spool(a, live[d.order[i]], 0) < 0)
			goto out;
	for (size_t i = 0; i < order.n; i++)
		if (write_spool(a, live[d.order[i]], 2) < 0 || write_spool(a, live[d.order[i]], 3) < 0)
			goto out;
	for (size_t i = order.n; i-- > 0;)
		if (write_spool(a, live[d.order[i]], 1) < 0)
			goto out;
	for (size_t i = 0; i < a->nplans; i++)
		if (!a->plans[i].skip && a->plans[i].counts->inserts && a->db->ops->reset_sequence(a->db, a->plans[i].proj) < 0) {
			if (!blame_earlier_write(a))
				error("%s: table \"%s\": %s", a->db->shown_url, a->plans[i].st->name, a->db->err.buf);
			goto out;
		}
	if (set_triggers(a, live, order.n, 1) < 0)
		goto out;
	if (a->db->ops->check_constraints(a->db) < 0) {
		if (!blame_earlier_write(a))
			error("%s: %s", a->db->shown_url, a->db->err.buf);
		goto out;
	}
	ret = 0;
out:
	deps_release(&d);
	free(order.tables);
	free(live);
	return ret;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(struct apply *a)
{
	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];
		for (int w = 0; w < 2; w++) {
			if (p->w[w].name)
				stream_abandon(&p->w[w]);
			if (p->lines[w])
				fclose(p->lines[w]);
			free(p->spool[w]);
		}
		if (p->fw.name)
			stream_abandon(&p->fw);
		free(p->fixup);
		free(p->null_cols);
		table_free(p->proj);
	}
	free(a->plans);
	if (a->tmpdir)
		nftw(a->tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(a->tmpdir);
	if (a->rd_open)
		stream_close(&a->rd);
	schema_release(&a->target);
	free(a->target_in_cycle);
	for (size_t i = 0; i < a->held_alloc; i++)
		change_release(&a->held[i]);
	free(a->held);
	free(a->held_line);
	free(a->held_keys);
	change_release(&a->out);
	buf_release(&a->msg);
	if (a->base_w_open)
		stream_abandon(&a->base_w);
	if (a->base_partial && !access(a->base_partial, F_OK))
		unlink(a->base_partial); /* a failed run keeps the old base */
	free(a->base_partial);
	free(a->base_path);
	if (a->base_open)
		source_close(&a->base);
	holdback_release(&a->holdback);
	natural_release(&a->nat);
	rekey_release(&a->rk);
	keyed_rows_release(&a->moved);
	keyed_rows_release(&a->queued);
	table_free(a->rk_table);
	if (a->wlog)
		fclose(a->wlog);
}

/* Tell an engine that wants to know (MySQL, which turns foreign-key checks
 * off for them) which target tables are in a cycle or refer to themselves. */
static int plan_engine_writes(struct apply *a)
{
	if (!a->db->ops->plan_writes)
		return 0;
	struct deps d;
	deps_compute(&a->target, &d);
	a->target_in_cycle = xcalloc(a->target.n + 1, sizeof(int));
	for (size_t i = 0; i < a->target.n; i++)
		a->target_in_cycle[i] = d.in_cycle[i] || d.self_ref[i];
	deps_release(&d);
	return a->db->ops->plan_writes(a->db, &a->target, a->target_in_cycle);
}

static int run(struct apply *a, const char *input)
{
	struct db *db = a->db;
	const char *tmp = getenv("TMPDIR");
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/dbapply.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir.buf)) {
		error("%s: cannot make a spool directory: %s", dir.buf, strerror(errno));
		buf_release(&dir);
		return -1;
	}
	a->tmpdir = buf_detach(&dir);
	a->rd_open = 1;
	if (stream_open(&a->rd, input) < 0)
		return -1;
	if (a->o->after_header && a->o->after_header(a->o->after_header_ctx, &a->rd) < 0)
		return -1;
	if (base_start(a) < 0)
		return -1;
	holdback_init(&a->holdback, &a->rd.schema);
	natural_init(&a->nat, a->o->natural, a->o->nnatural);
	/* A target without types and keys of its own (csv:) takes the stream's. */
	db->opts.like = &a->rd.schema;
	if (db->ops->begin_write(db) < 0 || db->ops->load_schema(db, &a->target) < 0 ||
	    plan_engine_writes(a) < 0)
		return error("%s: %s", db->shown_url, db->err.buf);
	if (plan_tables(a) < 0 || base_write_tables(a) < 0 || read_input(a) < 0)
		return -1;
	if (a->o->before_write && a->o->before_write(a->o->before_write_ctx, a->sum) < 0)
		return -1;
	if (a->o->undo_path && !a->o->dry_run && summary_changes(a->sum) && write_undo(a) < 0)
		return -1;
	if (write_changes(a) < 0)
		return -1;
	progress_done();
	if (a->o->dry_run) {
		if (db->ops->rollback(db) < 0)
			return error("%s: rollback failed: %s", db->shown_url, db->err.buf);
		return 0;
	}
	if (util_interrupted)
		return error("interrupted");
	if (db->ops->commit(db) < 0) {
		a->commit_unknown = db->commit_unknown;
		return error("%s: commit failed: %s", db->shown_url, db->err.buf);
	}
	if (db->commit_found)
		warning("%s: the connection was lost during the commit, and a new connection found the "
			"transaction committed", db->shown_url);
	/* Only a committed run has an undo stream: a killed one leaves a
	 * .partial.gz file that nothing reads. */
	if (a->undo_partial && !access(a->undo_partial, F_OK) && rename(a->undo_partial, a->o->undo_path) < 0)
		warning("%s: %s (the sync is committed; its undo stream is %s)", a->o->undo_path,
			strerror(errno), a->undo_partial);
	if (a->base_partial)
		sync_base_commit(a->base_path, a->base_partial, a->o->undo_path, a->o->mode == APPLY_MIRROR);
	return 0;
}

int apply_stream(struct db *db, const char *input, const struct apply_opts *o, struct summary *sum,
		 uint64_t *conflict_records)
{
	struct apply a;
	memset(&a, 0, sizeof(a));
	a.o = o;
	a.db = db;
	a.sum = sum;
	sum->sync = 1;
	change_init(&a.out);
	buf_init(&a.msg);
	schema_init(&a.target);
	if (o->undo_path) {
		/* x.ndjson.gz -> x.ndjson.partial.gz: still gzip, never taken for an undo stream */
		struct buf p = BUF_INIT;
		size_t n = strlen(o->undo_path);
		int gz = n > 3 && !strcmp(o->undo_path + n - 3, ".gz");
		buf_add(&p, o->undo_path, gz ? n - 3 : n);
		buf_adds(&p, gz ? ".partial.gz" : ".partial");
		a.undo_partial = buf_detach(&p);
	}
	int ret = run(&a, input);
	*conflict_records = a.conflict_records;
	if (ret < 0 && a.commit_unknown) {
		/* Not "nothing was written": it may all have been.  The undo
		 * stream stays, and --rollback refuses until it is settled. */
		if (a.undo_partial && !access(a.undo_partial, F_OK))
			error("whether %s holds this run's changes is unknown: compare it with the stream; if it "
			      "does, rename %s to end in .undo.ndjson.gz to be able to roll it back, else remove it",
			      db->shown_url, a.undo_partial);
		else
			error("whether %s holds this run's changes is unknown: compare it with the stream",
			      db->shown_url);
	} else if (ret < 0) {
		if (db->ops->rollback(db) < 0)
			error("%s: rollback failed: %s (a transaction that was not committed ends with its "
			      "connection: nothing was written)", db->shown_url, db->err.buf);
		else
			error("nothing was written to %s", db->shown_url);
		if (a.undo_partial)
			unlink(a.undo_partial);
	}
	free(a.undo_partial);
	cleanup(&a);
	return ret;
}
