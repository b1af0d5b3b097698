/* apply_base: the sync base of apply, the old one read beside a row stream
 * and the new one written as it is read, and the three-way merge of the
 * base, the stream and the target. */
#include "apply_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syncbase.h"

/* --- the sync base ---
 * Three-way (a table with a base, merge or --insert-only): after each key,
 * the new base gets the stream's row, or the old base's where the key was
 * left out (a conflict, a held row, an update --insert-only leaves), or
 * nothing (a collision).  Two-way (no base yet, --mirror, keyed look-ups):
 * the stream's rows, and where the stream does not hold the table whole,
 * the old base's rows of the other keys. */

/* Whether p's table is merged three-way: it has a base, and the stream is a
 * row stream not applied as a mirror. */
int apply_three_way(const struct apply *a, const struct plan *p)
{
	return p->first_sync || (p->bt && a->rd.kind == STREAM_ROWS && a->o->mode != APPLY_MIRROR);
}

static int base_row_whole(void *ctx)
{
	struct apply *a = ctx;
	return source_row_whole(&a->base);
}

/* The next row (*r) of the old base s, whole unless keys_only. */
static int base_read_row(struct source *s, const struct row **r, int keys_only)
{
	int got = source_next_row(s, r);
	return got > 0 && !keys_only && source_row_whole(s) < 0 ? -1 : got;
}

static int base_next_old(struct apply *a)
{
	a->base_rows_read = 1;
	int got = base_read_row(&a->base, &a->base_next, a->base_keys_only);
	a->base_have = got > 0;
	return got < 0 ? -1 : 0;
}

/* The old base's current row r into the new base: its record as it is
 * where it was read lazily (its key only), else spelled. */
static int base_copy_row(struct apply *a, const struct row *r)
{
	const char *rec;
	size_t n;
	if (a->base.rd.undecoded && source_row_bytes(&a->base, &rec, &n))
		return stream_write_row_record(&a->base_w, rec, n);
	return stream_write_row(&a->base_w, r);
}

/* A row of the new base: the stream's or the old base's current row read
 * lazily (its key only) as its record is, any other spelled. */
static int base_write_row(struct apply *a, const struct row *r)
{
	if (a->rd.undecoded && r == &a->rd.rec.row)
		return stream_write_row_record(&a->base_w, a->rd.line.buf, a->rd.line.len);
	/* the old base's row of the same table (its shape is the stream's) */
	if (a->base_keys_only && r == a->base_next)
		return base_copy_row(a, r);
	return stream_write_row(&a->base_w, r);
}

/* Two-way: r (NULL at the end of the table) goes into the new base, after
 * the old base's rows of smaller keys where the table is partial. */
int apply_base_overlay(struct apply *a, struct plan *p, const struct row *r)
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
			if ((cmp < 0 && base_write_row(a, a->base_next) < 0) || base_next_old(a) < 0)
				return -1;
		}
	}
	return r ? base_write_row(a, r) : 0;
}

/* Three-way: the old base's rows, up to the last key of the batch of
 * records held for a keyed look-up (base_bound; NULL: to the end), the
 * others left for the next batch. */
static int base_rows_bounded(void *ctx, const struct row **out)
{
	struct apply *a = ctx;
	if (!a->cur->bt) /* a first sync: the base is empty */
		return 0;
	if (!a->base_primed && (a->base_primed = 1, base_next_old(a) < 0))
		return -1;
	if (!a->base_have || (a->base_bound && table_key_cmp(a->cur->st, a->base_next, a->base_bound) > 0))
		return 0;
	*out = a->base_next;
	a->base_primed = 0; /* taken: the next call reads on */
	if (a->o->rekey)
		apply_note_key(a, a->cur->st, *out);
	return 1;
}

/* --- keys a first sync left out ---
 * A row that differs from the target's under the same key, where no base
 * tells an edit from a collision, is left out, and the new base has no row
 * of its key.  The next merge would take it for a collision, which --prefer
 * does not settle: so the base's table UNBASED_TABLE lists such keys (the
 * table's name, the key as JSON), and they stay first-sync keys until a
 * merge of their table settles them. */
#define UNBASED_TABLE "dbpipe.unbased"

/* a->unbased_key: t's name, a NUL, r's key as JSON. */
static void unbased_key_of(struct apply *a, const struct table *t, const struct row *r)
{
	buf_reset(&a->unbased_key);
	buf_adds(&a->unbased_key, t->name);
	buf_add(&a->unbased_key, "", 1);
	table_key_to_json(&a->unbased_key, t, r);
}

/* Whether r's key is on the old base's list; a->unbased_key holds it after. */
static int key_is_unbased(struct apply *a, const struct table *t, const struct row *r)
{
	if (!a->unbased.n)
		return 0;
	unbased_key_of(a, t, r);
	return strmap_get(&a->unbased, a->unbased_key.buf, a->unbased_key.len) != NULL;
}

/* merge_rules' key_unbased: ctx is the apply. */
static int merge_key_unbased(void *ctx, const struct row *o)
{
	struct apply *a = ctx;
	return key_is_unbased(a, a->cur->st, o);
}

/* r's key goes on the new base's list. */
static void key_left_unbased(struct apply *a, const struct table *t, const struct row *r)
{
	unbased_key_of(a, t, r);
	strmap_put(&a->unbased_left, a->unbased_key.buf, a->unbased_key.len, "", 0);
}

static struct table *unbased_table_record(void)
{
	struct table *t = table_new(UNBASED_TABLE);
	table_add_column(t, "table", VT_TEXT, "text", 0);
	table_add_column(t, "key", VT_TEXT, "text", 0);
	table_key_first_columns(t, 2);
	return t;
}

/* The old base's table of dbpipe's own called name (its --rekey map, its
 * list of keys left out), begun for reading before any other table: 1, 0
 * where the base has none, or -1.  It comes after the tables of rows, so
 * a second reader of the file takes it, passing those by their keys only:
 * the first reads them as the merge needs them (and checks them whole). */
static int base_begin_own_table(struct apply *a, const char *name, const struct table **t)
{
	*t = a->base_open ? schema_find(a->base.schema, name) : NULL;
	if (!*t)
		return 0;
	if (!a->base_own_open) {
		if (source_open(&a->base_own, a->base_path, NULL, NULL) < 0)
			return -1;
		a->base_own_open = 1;
		a->base_own.lazy = a->base_own.pass_by_key = 1;
	}
	*t = schema_find(a->base_own.schema, name);
	return *t && source_begin_table(&a->base_own, *t) < 0 ? -1 : !!*t;
}

/* The old base's list, before any other table is read. */
static int base_read_unbased(struct apply *a)
{
	const struct table *t;
	const struct row *r;
	int got = base_begin_own_table(a, UNBASED_TABLE, &t);
	if (got <= 0)
		return got;
	if (t->ncols != 2)
		return error("%s: table \"%s\": not a list of keys", a->base_path, UNBASED_TABLE);
	while ((got = base_read_row(&a->base_own, &r, 0)) > 0) {
		if (r->v[0].state != V_SET || r->v[1].state != V_SET)
			return error("%s: table \"%s\": not a list of keys", a->base_path, UNBASED_TABLE);
		buf_reset(&a->unbased_key);
		buf_add(&a->unbased_key, r->data.buf + r->v[0].off, r->v[0].len);
		buf_add(&a->unbased_key, "", 1);
		buf_add(&a->unbased_key, r->data.buf + r->v[1].off, r->v[1].len);
		strmap_put(&a->unbased, a->unbased_key.buf, a->unbased_key.len, "", 0);
	}
	return got;
}

/* Whether an old list entry (table name, and key) still holds: its table
 * was not merged in this run, or only in part and without its key. */
static int unbased_entry_stays(struct apply *a, const struct strmap_entry *e)
{
	for (size_t j = 0; j < a->nplans; j++) {
		const struct plan *p = &a->plans[j];
		if (!p->skip && !strcmp(p->st->name, e->key))
			return !p->st->complete && !strmap_get(&a->unbased_seen, e->key, e->klen);
	}
	return 1;
}

static int row_key_order(const void *x, const void *y, void *t)
{
	return table_key_cmp(t, x, y);
}

/* The new base's list, in key order: the old entries that stay, and this run's. */
static int base_write_unbased(struct apply *a)
{
	struct row *rows;
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < a->unbased.cap; i++) {
		const struct strmap_entry *e = &a->unbased.e[i];
		if (e->key && unbased_entry_stays(a, e))
			strmap_put(&a->unbased_left, e->key, e->klen, "", 0);
	}
	rows = xcalloc(a->unbased_left.n + 1, sizeof(*rows));
	for (size_t i = 0; i < a->unbased_left.cap; i++) {
		const struct strmap_entry *e = &a->unbased_left.e[i];
		if (!e->key)
			continue;
		size_t tlen = strlen(e->key);
		row_init(&rows[n], 2);
		row_set(&rows[n], 0, e->key, tlen);
		row_set(&rows[n++], 1, e->key + tlen + 1, e->klen - tlen - 1);
	}
	qsort_r(rows, n, sizeof(*rows), row_key_order, a->unbased_table);
	stream_begin_table(&a->base_w, a->unbased_table);
	for (size_t i = 0; i < n; i++)
		if (rc == 0 && stream_write_row(&a->base_w, &rows[i]) < 0)
			rc = -1;
	for (size_t i = 0; i < n; i++)
		row_release(&rows[i]);
	free(rows);
	return rc < 0 ? -1 : stream_end_table(&a->base_w);
}

static int base_after_key(void *ctx, const struct row *b, const struct row *o, const struct row *th,
			  int conflicted)
{
	struct apply *a = ctx;
	(void)th;
	if (o && key_is_unbased(a, a->cur->st, o))
		strmap_put(&a->unbased_seen, a->unbased_key.buf, a->unbased_key.len, "", 0);
	const struct row *keep = conflicted || a->key_keep_old ? b : o ? o : !a->cur->st->complete ? b : NULL;
	a->key_keep_old = 0;
	return a->base_w_open && keep ? base_write_row(a, keep) : 0;
}

/* The --rekey map of the old base, before any other table is read. */
static int base_read_rekey(struct apply *a)
{
	const struct table *t;
	const struct row *r;
	int got = base_begin_own_table(a, REKEY_TABLE, &t);
	if (got <= 0)
		return got;
	while ((got = base_read_row(&a->base_own, &r, 0)) > 0)
		if (rekey_from_row(&a->rk, t, r) < 0)
			return error("%s: table \"%s\": not a --rekey map", a->base_path, REKEY_TABLE);
	return got;
}

/* After the header: the old base of this target and source, if any, and
 * the new one's file (not for a dry run). */
int apply_base_start(struct apply *a)
{
	if (!a->o->base_dir || a->rd.kind != STREAM_ROWS)
		return 0;
	a->base_new = sync_base_path(a->o->base_dir, a->o->base_label,
				     a->o->undo_source ? a->o->undo_source : a->db->shown_url, a->rd.source);
	a->base_path = sync_base_existing(a->base_new);
	if (a->base_path) {
		if (source_open(&a->base, a->base_path, NULL, NULL) < 0)
			return error("%s: the sync base cannot be read: remove it to merge two-way, as a first sync does",
				     a->base_path);
		a->base_open = 1;
		/* its rows are read up to their key, and decoded where used
		 * (base_read_row): a merge read by bytes needs none of those of
		 * the rows alike on both sides */
		a->base.lazy = 1;
		a->base.spool_passed = 1; /* its tables may come in another order */
		/* (a mirror leaves no key out, and reads no base it need not) */
		if (base_read_rekey(a) < 0 || (a->o->mode != APPLY_MIRROR && base_read_unbased(a) < 0) ||
		    (a->base_own_open && source_finish(&a->base_own) < 0))
			return -1;
	}
	if (a->o->dry_run)
		return 0;
	a->base_partial = partial_path(a->base_new);
	if (make_parent_dir(a->base_partial) < 0 || stream_create(&a->base_w, a->base_partial) < 0)
		return -1;
	stream_fast(&a->base_w);
	a->base_w_open = 1;
	return 0;
}

/* Whether the new base writes table anew (else it is copied from the old). */
static int base_rewrites(const struct apply *a, const char *table)
{
	if (!strcmp(table, REKEY_TABLE) || !strcmp(table, UNBASED_TABLE))
		return 1;
	for (size_t j = 0; j < a->nplans; j++)
		if (!a->plans[j].skip && !strcmp(a->plans[j].st->name, table))
			return 1;
	return 0;
}

/* The new base's table records: the stream's tables, then the old base's
 * others, which are copied as they are (apply_base_finish). */
int apply_base_write_tables(struct apply *a)
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
	/* The list's record comes before any row is merged: wherever a first
	 * sync may leave a key out (--prefer leaves none). */
	int first = 0;
	for (size_t i = 0; i < a->nplans; i++)
		first |= a->plans[i].first_sync && !a->plans[i].skip;
	if (a->unbased.n || (first && a->o->prefer == PREFER_NONE)) {
		a->unbased_table = unbased_table_record();
		if (stream_write_table(&a->base_w, a->unbased_table) < 0)
			return -1;
	}
	return 0;
}

/* Before a table's data: its section in the new base, and the old base's
 * rows of it, if any, read from the start. */
int apply_base_begin_table(struct apply *a, struct plan *p)
{
	a->base_primed = a->base_have = a->base_keys_only = 0;
	if (a->base_w_open)
		stream_begin_table(&a->base_w, p->st);
	return p->bt ? source_begin_table(&a->base, p->bt) : 0;
}

/* After a table's data: the rest of its rows into the new base (the old
 * base's past the last key, the rows --rekey put in), and its section closed. */
int apply_base_end_table(struct apply *a, struct plan *p)
{
	const struct row *r;
	int got = 0;
	if (apply_three_way(a, p)) {
		/* after keyed batches, the rows of the keys past the last one */
		a->base_bound = NULL;
		while ((got = base_rows_bounded(a, &r)) > 0)
			if (a->base_w_open && base_write_row(a, r) < 0)
				return -1;
	} else if (apply_base_overlay(a, p, NULL) < 0) {
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
int apply_stream_rows_overlay(void *ctx, const struct row **out)
{
	struct apply *a = ctx;
	int got = apply_stream_rows_next(ctx, out);
	return got > 0 && apply_base_overlay(a, a->cur, *out) < 0 ? -1 : got;
}

/* Copy the old base's tables the stream did not touch, and end the file. */
int apply_base_finish(struct apply *a)
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
		a->base_rows_read = 1;
		/* copied as their records are, where read lazily (undecoded) */
		while ((got = base_read_row(&a->base, &r, 1)) > 0)
			if (base_copy_row(a, r) < 0)
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
	if (a->unbased_table && base_write_unbased(a) < 0)
		return -1;
	/* The old base is read to its end, and so checked whole, where rows of
	 * it were taken; a base none of whose rows is used (a mirror of every
	 * table it holds) is not read at all: each of its tables is written anew. */
	if (a->base_open && a->base_rows_read && source_finish(&a->base) < 0)
		return -1;
	a->base_w_open = 0;
	return stream_finish(&a->base_w);
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
		apply_keyed_rows_add(&a->queued, o, a->line);
		return 0;
	}
	if (c->kind == CONFLICT_INSERT_INSERT || c->kind == CONFLICT_UPDATE_DELETE)
		holdback_add(&a->holdback, t, o);
	int unbased = c->kind == CONFLICT_INSERT_INSERT && (p->first_sync || key_is_unbased(a, t, o));
	if (unbased) {
		p->counts->collisions--;
		p->counts->unbased_left++;
		key_left_unbased(a, t, o);
	}
	if (++a->reported > MAX_CONFLICTS_SHOWN)
		return 0;
	buf_reset(&a->msg);
	table_key_to_json(&a->msg, t, &c->row);
	buf_adds(&a->msg, ": ");
	if (c->kind == CONFLICT_INSERT_INSERT) {
		buf_adds(&a->msg, unbased
			 ? "the stream and the target hold other rows under this key, and no sync base tells an "
			   "edit from two rows that took the same key (a first sync, or a key one left out) ("
			 : "collision: the stream and the target each created this key for another row (");
		for (size_t i = 0, n = 0; i < t->ncols && n < 3; i++) {
			if (!table_is_compared(t, i) || column_equal(&t->cols[i], o, i, th, i))
				continue;
			buf_addf(&a->msg, "%s\"%s\": stream ", n++ ? "; " : "", t->cols[i].name);
			add_value(&a->msg, t, o, i);
			buf_adds(&a->msg, ", target ");
			add_value(&a->msg, t, th, i);
		}
		buf_adds(&a->msg, unbased
			 ? "): not applied, nor the rows that refer to it (--prefer source takes the stream's row, "
			   "--prefer target keeps the target's, --rekey inserts the stream's under a new key)"
			 : "): not applied, nor the rows that refer to it");
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
	apply_report(a, "%s:%ld: table \"%s\" at key %s", a->rd.name, a->line, t->name, a->msg.buf);
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
			apply_report(a, "%s:%ld: table \"%s\" at key %s: held back: it refers to %s, which is not applied",
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
	if (c->type == REC_UPDATE && a->o->prefer == PREFER_OURS &&
	    (p->first_sync || key_is_unbased(a, p->st, a->stream_row)))
		p->counts->unbased++; /* --prefer source settled it */
	return apply_spool_change(a, c, a->line);
}

/* A target table that is empty while the base has rows was emptied or made
 * anew outside the syncs (dropped and created again, restored): the base no
 * longer says what it held, and taking its rows for ones the target deleted
 * would keep them out forever.  Such a table is merged two-way. */
int apply_base_is_stale(struct apply *a, struct plan *p, struct target_rows *tr)
{
	const struct row *r;
	if (!p->bt)
		return 0;
	if (apply_target_rows_next(tr, &r) < 0)
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

/* The three-way merge of the old base's rows (to base_bound), the stream's
 * (ours) and the target's (theirs). */
int apply_merge_three(struct apply *a, struct plan *p, struct row_iter *ours, struct row_iter *theirs)
{
	/* With no base, --prefer says whether a row that differs is the
	 * stream's edit or the target's; --rekey, that it is another row. */
	int rekeying = a->o->rekey && rekey_table_ok(p->st);
	struct merge_rules rules = { a->o->prefer, p->first_sync && !rekeying, rekeying ? NULL : merge_key_unbased,
				     1, base_after_key };
	struct merge_counts mc = { 0 };
	struct row_iter base = { base_rows_bounded, a, a->base_path, NULL, base_row_whole };
	return merge_table(p->st, &base, ours, theirs, &rules, emit_three_way, a, p->counts, &mc);
}
