/* apply_read: phase 1 of apply, table by table: a row stream compared with
 * the target's rows, a change stream checked against them, whole tables
 * merge-joined or few rows looked up by key; what is to be written spooled. */
#include "apply_int.h"

#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "progress.h"

/* The record c of p's table in the target's types (p->wire: the stream's
 * differ), or refused by name.  A record left undecoded holds its key only:
 * the rest is converted when it is decoded (stream_row_whole). */
static int convert_record(struct apply *a, struct plan *p, struct change *c)
{
	if (!p->wire || c->type == REC_CONFLICT)
		return 0;
	c->table = p->st;
	buf_reset(&a->msg);
	struct convert_opts co = { a->o->lossy, 0 };
	int bad = convert_row(&c->row, p->wire, p->st, &co, &a->msg) < 0 ||
		  convert_row(&c->old, p->wire, p->st, &co, &a->msg) < 0;
	p->counts->cut += co.cut;
	if (bad) {
		struct buf key = BUF_INIT;
		table_key_to_json(&key, p->wire, &c->row);
		stream_error(&a->rd, "table \"%s\" at key %s: %s, so it is refused", p->st->name, key.buf,
			     a->msg.buf);
		buf_release(&key);
		return -1;
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
	if (convert_record(a, p, c) < 0)
		return -1;
	/* (--mirror makes the target the stream's copy, keys and all: no map) */
	if (a->rk.n && !p->skip && c->type != REC_CONFLICT && a->o->mode != APPLY_MIRROR) {
		apply_rekey_references(a, p->st, &c->row, 0);
		apply_rekey_references(a, p->st, &c->old, 0);
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
int apply_stream_rows_next(void *ctx, const struct row **out)
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

/* The next target row in key order (a row_iter's next): checked to be in
 * order, and with --rekey its key noted. */
int apply_target_rows_next(void *ctx, const struct row **out)
{
	struct target_rows *tr = ctx;
	if (tr->ahead) {
		tr->ahead = 0;
		*out = tr->cur;
		return tr->have;
	}
	int got;
	tr->cur = &tr->row;
	if (tr->rows_ahead) {
		/* the thread's row itself, valid until the next call as ours is */
		got = rows_ahead_next(tr->rows_ahead, &tr->cur);
		if (got <= 0)
			rows_ahead_stop(tr->rows_ahead); /* the connection is free again */
	} else {
		got = tr->db->ops->scan_next(tr->cursor, &tr->row);
	}
	if (got < 0)
		return error("%s: %s", tr->db->shown_url,
			     tr->rows_ahead ? rows_ahead_error(tr->rows_ahead) : tr->db->err.buf);
	*out = tr->cur;
	tr->spelled = 0;
	tr->have = got > 0;
	/* The join is only right if the engine's order is the stream's. */
	if (tr->have && tr->prev.n && table_key_cmp(tr->t, &tr->prev, tr->cur) >= (tr->t->key_kind == KEY_ROW))
		return error("%s: table \"%s\": the database returned rows out of key order",
			     tr->db->shown_url, tr->t->name);
	if (tr->have)
		table_key_copy(tr->t, &tr->prev, tr->cur);
	if (tr->have && tr->track)
		apply_note_key(tr->track, tr->t, tr->cur);
	return got;
}

/* The target's rows of p's table: all of them, or those with the keys of
 * the records held (a->nheld of them).  ahead: all of them, read on a
 * thread while the caller compares (nothing else uses the connection
 * until target_rows_close or the last row). */
static int target_rows_open(struct apply *a, struct plan *p, struct target_rows *tr, int held, int ahead)
{
	memset(tr, 0, sizeof(*tr));
	tr->db = a->db;
	tr->t = p->st;
	a->db->scan_alone = ahead && !held;
	int rc = held ? a->db->ops->scan_keys_open(a->db, p->proj, a->held_keys, a->nheld, &tr->cursor)
		      : a->db->ops->scan_open(a->db, p->proj, &tr->cursor);
	a->db->scan_alone = 0;
	if (rc < 0)
		return error("%s: table \"%s\": %s", a->db->shown_url, p->st->name, a->db->err.buf);
	row_init(&tr->row, p->proj->ncols);
	tr->cur = &tr->row;
	row_init(&tr->prev, 0);
	buf_init(&tr->record);
	if (ahead && !held) {
		if (rows_ahead_start(&a->target_ahead, a->db, tr->cursor, p->proj->ncols) < 0)
			return -1;
		tr->rows_ahead = a->target_ahead;
	}
	return 0;
}

static void target_rows_close(struct apply *a, struct target_rows *tr)
{
	rows_ahead_stop(tr->rows_ahead);
	if (tr->cursor)
		a->db->ops->scan_close(tr->cursor);
	row_release(&tr->row);
	row_release(&tr->prev);
	if (tr->speller) {
		stream_abandon(tr->speller);
		free(tr->speller);
	}
	buf_release(&tr->record);
}

/* --- a row stream compared by its bytes ---
 * Most rows of a sync are the same on both sides.  Read lazily (stream.h),
 * a row record is taken up to its key only; the target's row of that key
 * is spelled as the stream's writer spells it, and where the two records
 * have the same bytes, they are the same row: nothing to decode, compare
 * or spell again for the new sync base, which gets the record as it is.
 * Only the rows whose bytes differ are decoded, and checked, whole.  The
 * bytes stand for the values only where the target's row is read with the
 * stream's own neutral types and the stream's record is not changed on its
 * way (converted to another type, re-keyed, natural keys translated). */

/* Whether p's table is read so: a row stream's table compared whole, two-
 * or three-way (apply_read_row_table), its records taken as they are. */
int apply_reads_bytes(const struct apply *a, const struct plan *p)
{
	if (p->skip || a->rd.kind != STREAM_ROWS || a->nat.nkeys || p->proj->ncols != p->st->ncols ||
	    (a->rk.n && a->o->mode != APPLY_MIRROR) ||
	    (apply_three_way(a, p) && (a->o->rekey || apply_rekeyed_table(a, p->st->name))))
		return 0;
	/* A converted table (p->wire) is read so where only the columns'
	 * scales or declared types differ, not their neutral types: a record
	 * of the same bytes as the target's row holds values the target
	 * already keeps, so they need no converting; the others are
	 * converted as they are decoded (stream_row_whole). */
	for (size_t i = 0; i < p->st->ncols; i++)
		if (p->proj->cols[i].type != p->st->cols[i].type ||
		    (p->wire && p->wire->cols[i].type != p->st->cols[i].type))
			return 0;
	return 1;
}

/* The record of the stream's current row, if it was left undecoded. */
static int stream_row_bytes_of(void *ctx, const char **rec, size_t *n)
{
	struct apply *a = ctx;
	if (!a->rd.undecoded)
		return 0;
	*rec = a->rd.line.buf;
	*n = a->rd.line.len;
	return 1;
}

static int stream_row_whole(void *ctx)
{
	struct apply *a = ctx;
	int was = a->rd.undecoded;
	if (stream_decode(&a->rd) < 0)
		return -1;
	return was ? convert_record(a, a->cur, &a->rd.rec) : 0;
}

/* The record of the target's current row, spelled when first asked. */
static int target_row_bytes_of(void *ctx, const char **rec, size_t *n)
{
	struct target_rows *tr = ctx;
	if (!tr->spelled)
		tr->spelled = stream_row_bytes(tr->speller, tr->cur, &tr->record) < 0 ? -1 : 1;
	*rec = tr->record.buf;
	*n = tr->record.len;
	return tr->spelled > 0;
}

/* Whether the stream holds p's table only within the ranges its range
 * records give (dbdump-rows --against). */
static int plan_ranged(const struct plan *p)
{
	return (p->wire ? p->wire : p->st)->ranged;
}

/* A target row outside every range the stream gave so far: the stream
 * says nothing of it (diff_policy.outside). */
static int outside_ranges(void *ctx, const struct row *o)
{
	struct apply *a = ctx;
	return !stream_range_covers(&a->rd, o);
}

/* A table of a row stream, whole: merge-joined with the target's rows,
 * three-way where there is a base, else two-way (diff.h).  Of a ranged
 * table under --mirror, the target rows inside the ranges that the stream
 * lacks are deleted, those outside left alone. */
int apply_read_row_table(struct apply *a, struct plan *p)
{
	int ranged = plan_ranged(p);
	struct diff_policy pol = { 1, a->o->mode != APPLY_INSERT_ONLY,
				   a->o->mode == APPLY_MIRROR && (p->st->complete || ranged),
				   ranged ? outside_ranges : NULL, a };
	struct target_rows tr;
	struct row_iter old = { apply_target_rows_next, &tr, a->db->shown_url };
	struct row_iter new_ = { apply_stream_rows_overlay, a, a->rd.name };
	int rc;
	/* The ranges' keys are read in the stream's types, and the target's
	 * rows placed in them by comparing keys: only alike where the key's
	 * types are the same on both sides. */
	for (size_t k = 0; pol.outside && pol.deletes && p->wire && k < p->st->nkey; k++) {
		size_t i = p->st->key[k];
		if (p->wire->cols[i].type != p->st->cols[i].type)
			return stream_error(&a->rd, "table \"%s\": key column \"%s\" is %s in the stream and %s in the "
					    "target, so --mirror cannot tell which target rows lie in its ranges "
					    "(send it whole: dbdump-rows without --against)",
					    p->st->name, p->st->cols[i].name, vtype_name(p->wire->cols[i].type),
					    vtype_name(p->st->cols[i].type));
	}
	if (target_rows_open(a, p, &tr, 0, 1) < 0)
		return -1;
	if (a->rd.lazy) {
		tr.speller = xmalloc(sizeof(*tr.speller));
		stream_create_formatter(tr.speller);
		stream_begin_table(tr.speller, p->st);
		old.bytes = target_row_bytes_of;
		old.whole = NULL;
		new_.bytes = stream_row_bytes_of;
		new_.whole = stream_row_whole;
	}
	/* the old base's rows too are decoded only where the two sides differ */
	a->base_keys_only = a->rd.lazy && apply_three_way(a, p);
	if (apply_three_way(a, p) && apply_base_is_stale(a, p, &tr) < 0) {
		target_rows_close(a, &tr);
		return -1;
	}
	if (apply_three_way(a, p)) {
		int rekeying = rekey_table_ok(p->st) && (a->o->rekey || apply_rekeyed_table(a, p->st->name));
		new_.next = rekeying ? apply_rekey_rows_next : apply_stream_rows_next;
		tr.track = rekeying ? a : NULL;
		rc = apply_merge_three(a, p, &new_, &old);
		rows_ahead_stop(tr.rows_ahead); /* --rekey's look-ups use the connection */
		if (rc == 0 && rekeying)
			rc = apply_rekey_queued(a, p);
	} else {
		rc = diff_table(p->st, &old, &new_, &pol, apply_emit_from_diff, a, p->counts);
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
	apply_report(a, "%s:%ld: conflict in table \"%s\" at key %s: %s", a->rd.name, a->line,
	      c->table->name, key.buf, why);
	buf_release(&key);
}

/* Whether the columns given in want hold the same values in have. */
static int values_match(const struct table *t, const struct row *want, const struct row *have,
			const char **col)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (want->v[i].state != V_ABSENT && !t->cols[i].generated &&
		    !column_equal(&t->cols[i], want, i, have, i)) {
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
				if (table_is_key(t, i) || !column_equal(&t->cols[i], &c->row, i, cur, i)) {
					row_copy_value(&out->row, &c->row, i);
					if (!table_is_key(t, i))
						row_copy_value(&out->old, cur, i);
				}
			}
			p->counts->updates++;
			return apply_spool_change(a, out, a->line);
		}
		p->counts->inserts++;
		return apply_spool_change(a, c, a->line);
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
		return apply_spool_change(a, out, a->line);
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
		return apply_spool_change(a, out, a->line);
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
		if (apply_target_rows_next(tr, &cur) < 0)
			return -1;
	return check_change(a, p, c, tr->have && cmp == 0 ? &tr->row : NULL);
}

/* A table of a change stream, whole: each change checked against the
 * target row of its key, read in step with the stream. */
int apply_read_change_table(struct apply *a, struct plan *p)
{
	struct target_rows tr;
	const struct row *cur = NULL;
	int got, ret = -1;
	if (target_rows_open(a, p, &tr, 0, 0) < 0)
		return -1;
	if (apply_target_rows_next(&tr, &cur) < 0)
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

/* Whether p's table is read by keyed look-ups rather than whole. */
int apply_use_keys(struct apply *a, struct plan *p)
{
	const struct db_ops *ops = a->db->ops;
	/* --rekey and re-keyed rows need every key of the table, in order */
	if (a->o->mode != APPLY_MIRROR && (a->o->rekey || apply_rekeyed_table(a, p->st->name)))
		return 0;
	/* --mirror deletes within a ranged table's ranges: read whole */
	if (a->o->mode == APPLY_MIRROR && plan_ranged(p))
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
	return !apply_three_way(a, a->cur) && apply_base_overlay(a, a->cur, *out) < 0 ? -1 : 1;
}

/* Compare or check the held records with the target rows of their keys. */
static int check_held(struct apply *a, struct plan *p)
{
	struct target_rows tr;
	const struct row *cur;
	int ret = -1;
	for (size_t i = 0; i < a->nheld; i++)
		a->held_keys[i] = &a->held[i].row;
	if (target_rows_open(a, p, &tr, 1, 0) < 0)
		return -1;
	if (a->rd.kind == STREAM_ROWS) {
		/* Rows the stream lacks are not known to be gone: no deletes. */
		struct diff_policy pol = { 1, a->o->mode != APPLY_INSERT_ONLY, 0 };
		struct row_iter old = { apply_target_rows_next, &tr, a->db->shown_url };
		struct row_iter new_ = { held_rows_next, a, a->rd.name };
		a->held_pos = 0;
		a->base_bound = &a->held[a->nheld - 1].row;
		ret = apply_three_way(a, p) ? apply_merge_three(a, p, &new_, &old)
				      : diff_table(p->st, &old, &new_, &pol, apply_emit_from_diff, a, p->counts);
	} else if (apply_target_rows_next(&tr, &cur) >= 0) {
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

/* A table read by keyed look-ups: its records held and checked
 * KEYED_BATCH at a time. */
int apply_read_keyed(struct apply *a, struct plan *p)
{
	int got;
	a->nheld = 0;
	/* the old base's rows of the keys not looked up go into the new
	 * base as their records are, undecoded */
	a->base_keys_only = apply_three_way(a, p);
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
