/* merge: change-stream policies and the three-way merge-join of BASE, OURS
 * and THEIRS (see merge.h for the table of cases).
 *
 * Worked example (key id, columns a b):
 *   BASE 1(a=1 b=1) 2(a=1 b=1) 3(a=1 b=1)
 *   OURS 1(a=2 b=1) 2(a=2 b=1)             4(a=1 b=1)
 *   THEIRS 1(a=1 b=2) 2(a=3 b=1) 3(a=1 b=1)
 *   id 1: OURS changed a, THEIRS b  -> update 1 set a=2 (old a=1)
 *   id 2: both changed a, 2 != 3    -> conflict update/update
 *   id 3: OURS deleted, THEIRS kept -> delete 3
 *   id 4: OURS inserted             -> insert 4 */
#include "merge.h"

#include <string.h>

#include "holdback.h"

int merge_policy_parse(const char *s, enum merge_policy *out)
{
	if (!strcmp(s, "upsert"))
		*out = MERGE_UPSERT;
	else if (!strcmp(s, "insert-only"))
		*out = MERGE_INSERT_ONLY;
	else if (!strcmp(s, "mirror"))
		*out = MERGE_MIRROR;
	else
		return -1;
	return 0;
}

int merge_prefer_parse(const char *s, enum merge_prefer *out)
{
	if (!strcmp(s, "ours"))
		*out = PREFER_OURS;
	else if (!strcmp(s, "theirs"))
		*out = PREFER_THEIRS;
	else
		return -1;
	return 0;
}

/* ---- policies ---- */

int merge_filter(struct stream_reader *rd, struct stream_writer *w, enum merge_policy p,
		 struct summary *sum, struct merge_counts *mc)
{
	const struct table *cur = NULL;
	struct diff_counts *cnt = NULL;
	int got;
	if (rd->kind != STREAM_CHANGES)
		return error("%s: a row stream where a change stream is needed "
			     "(dbdiff or dbmerge BASE OURS THEIRS makes one)", rd->name);
	stream_write_header(w, STREAM_CHANGES, rd->source, rd->engine);
	for (size_t i = 0; i < rd->schema.n; i++)
		if (stream_write_table(w, rd->schema.tables[i]) < 0)
			return -1;
	while ((got = stream_next(rd)) > 0) {
		const struct change *c = &rd->rec;
		if (c->table != cur) {
			cur = c->table;
			cnt = summary_table(sum, cur->name);
			stream_begin_table(w, cur);
		}
		switch (c->type) {
		case REC_TABLE_END:
			if (stream_end_table(w) < 0)
				return -1;
			cur = NULL;
			break;
		case REC_CONFLICT:
			if (stream_write_conflict(w, c) < 0)
				return -1;
			mc->conflicts++;
			break;
		case REC_INSERT:
			if (stream_write_change(w, c) < 0)
				return -1;
			cnt->inserts++;
			break;
		case REC_UPDATE:
			if (p == MERGE_INSERT_ONLY) {
				mc->dropped++;
				break;
			}
			if (stream_write_change(w, c) < 0)
				return -1;
			cnt->updates++;
			break;
		case REC_DELETE:
			if (p != MERGE_MIRROR) {
				cnt->kept++;
				break;
			}
			if (stream_write_change(w, c) < 0)
				return -1;
			cnt->deletes++;
			break;
		case REC_ROW:
		case REC_RANGE:
			return stream_error(rd, "internal error: a row or range record in a change stream");
		}
	}
	return got;
}

/* ---- three-way ---- */

struct side {
	struct row_iter *it;
	const struct row *cur;   /* the current row, when got > 0 */
	int got;
	struct row prev;
	int have_prev;
};

/* Fetch the next row and check that keys ascend, so a mis-sorted input is
 * an error rather than a wrong merge. */
static int advance(struct side *s, const struct table *t)
{
	s->got = s->it->next(s->it->ctx, &s->cur);
	if (s->got <= 0)
		return s->got;
	if (s->have_prev) {
		int cmp = table_key_cmp(t, &s->prev, s->cur);
		if (cmp > 0 || (cmp == 0 && t->key_kind != KEY_ROW))
			return s->got = error("%s: table \"%s\": rows not in key order (engine collation?)",
					      s->it->name, t->name);
	}
	table_key_copy(t, &s->prev, s->cur);
	s->have_prev = 1;
	return 1;
}

static int same_value(const struct table *t, const struct row *a, const struct row *b, size_t i)
{
	return column_equal(&t->cols[i], a, i, b, i);
}

static int same_row(const struct table *t, const struct row *a, const struct row *b)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (table_is_compared(t, i) && !same_value(t, a, b, i))
			return 0;
	return 1;
}

/* Whether a and b differ only in columns the target has just been given
 * (column.just_added): not two rows, but one whose new values arrive. */
static int differ_in_new_columns_only(const struct table *t, const struct row *a, const struct row *b)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (table_is_compared(t, i) && !t->cols[i].just_added && !same_value(t, a, b, i))
			return 0;
	return 1;
}

int merge_column_conflict(const struct table *t, const struct row *b, const struct row *o,
			  const struct row *th, size_t i)
{
	return table_is_compared(t, i) && !same_value(t, o, b, i) && !same_value(t, th, b, i) &&
	       !same_value(t, o, th, i);
}

struct merger {
	const struct table *t;
	const struct merge_rules *r;
	diff_emit_fn emit;
	void *ctx;
	struct diff_counts *cnt;
	struct merge_counts *mc;
	struct change c;
	int conflicted;          /* a conflict record was emitted for this key */
};

/* c.row holds the key of r and nothing else; c.old is empty. */
static void start_change(struct merger *m, enum rec_type type, const struct row *r)
{
	const struct table *t = m->t;
	m->c.type = type;
	row_resize(&m->c.row, t->ncols);
	row_resize(&m->c.old, t->ncols);
	for (size_t k = 0; k < t->nkey; k++)
		row_copy_value(&m->c.row, r, t->key[k]);
}

static int emit_insert(struct merger *m, const struct row *o)
{
	m->c.type = REC_INSERT;
	row_copy(&m->c.row, o);
	row_resize(&m->c.old, m->t->ncols);
	m->cnt->inserts++;
	return m->emit(m->ctx, &m->c);
}

static int emit_delete(struct merger *m, const struct row *th)
{
	start_change(m, REC_DELETE, th);
	row_copy(&m->c.old, th);
	m->cnt->deletes++;
	return m->emit(m->ctx, &m->c);
}

/* Which columns an update takes from OURS: those in which o differs from th
 * and (OURS_CHANGED) from b too, or (THEIRS_UNCHANGED) from b while th
 * equals b, or (ALL) whatever b holds. */
enum take { TAKE_OURS_CHANGED, TAKE_THEIRS_UNCHANGED, TAKE_ALL };

/* An update of THEIRS' row th to OURS' values of the columns `take` picks;
 * old holds THEIRS' values.  Nothing when no column is picked. */
static int emit_update(struct merger *m, const struct row *b, const struct row *o,
		       const struct row *th, enum take take)
{
	const struct table *t = m->t;
	int any = 0;
	start_change(m, REC_UPDATE, th);
	for (size_t i = 0; i < t->ncols; i++) {
		if (!table_is_compared(t, i) || same_value(t, o, th, i))
			continue;
		if (take != TAKE_ALL && same_value(t, o, b, i))
			continue;
		if (take == TAKE_THEIRS_UNCHANGED && !same_value(t, th, b, i))
			continue;
		row_copy_value(&m->c.row, o, i);
		row_copy_value(&m->c.old, th, i);
		any = 1;
	}
	if (!any)
		return 0;
	m->cnt->updates++;
	return m->emit(m->ctx, &m->c);
}

/* A conflict: a record, or settled by the preference. */
static int conflict(struct merger *m, enum conflict_kind kind, const struct row *b,
		    const struct row *o, const struct row *th)
{
	const struct row *sides[3] = { b, o, th };
	enum merge_prefer prefer = m->r->prefer;
	if (kind == CONFLICT_INSERT_INSERT && !m->r->prefer_settles_inserts &&
	    !(prefer != PREFER_NONE && m->r->key_unbased && m->r->key_unbased(m->ctx, o)))
		prefer = PREFER_NONE;
	if (prefer != PREFER_NONE) {
		m->mc->settled++;
		if (prefer == PREFER_THEIRS) {
			/* THEIRS' row stays; in an update/update the columns that
			 * do not conflict still merge. */
			return kind == CONFLICT_UPDATE_UPDATE ? emit_update(m, b, o, th, TAKE_THEIRS_UNCHANGED) : 0;
		}
		switch (kind) {
		case CONFLICT_UPDATE_UPDATE:
			return emit_update(m, b, o, th, TAKE_OURS_CHANGED);
		case CONFLICT_INSERT_INSERT:
			return emit_update(m, b, o, th, TAKE_ALL);
		case CONFLICT_DELETE_UPDATE:
			return emit_delete(m, th);
		case CONFLICT_UPDATE_DELETE:
			return emit_insert(m, o);
		case CONFLICT_HELD:
			break; /* made by merge_three_way, never here */
		}
	}
	start_change(m, REC_CONFLICT, o ? o : th);
	m->c.kind = kind;
	for (int s = 0; s < 3; s++)
		if (sides[s])
			row_copy(&m->c.side[s], sides[s]);
	m->mc->conflicts++;
	m->conflicted = 1;
	if (kind == CONFLICT_INSERT_INSERT)
		m->cnt->collisions++;
	else
		m->cnt->conflicts++;
	return m->emit(m->ctx, &m->c);
}

/* One key: b, o, th are its rows on each side, NULL where absent. */
static int merge_key(struct merger *m, const struct row *b, const struct row *o, const struct row *th)
{
	const struct table *t = m->t;
	if (!b) {
		if (o && !th)
			return emit_insert(m, o);
		if (!o && th && m->r->keep_missing)
			m->cnt->kept++;
		if (o && th && !same_row(t, o, th))
			return differ_in_new_columns_only(t, o, th) ? emit_update(m, NULL, o, th, TAKE_ALL)
								    : conflict(m, CONFLICT_INSERT_INSERT, NULL, o, th);
		return 0;
	}
	if (!o) {
		if (!th)
			return 0;
		if (m->r->keep_missing) {
			m->cnt->kept++;
			return 0;
		}
		if (same_row(t, th, b))
			return emit_delete(m, th);
		return conflict(m, CONFLICT_DELETE_UPDATE, b, NULL, th);
	}
	if (!th)
		return same_row(t, o, b) ? 0 : conflict(m, CONFLICT_UPDATE_DELETE, b, o, NULL);
	/* Column by column: a column both sides changed to different values
	 * makes the row a conflict; prefer ours then takes OURS' values there
	 * (TAKE_OURS_CHANGED: o differs from b and from th covers them). */
	for (size_t i = 0; i < t->ncols; i++)
		if (merge_column_conflict(t, b, o, th, i))
			return conflict(m, CONFLICT_UPDATE_UPDATE, b, o, th);
	for (size_t i = 0; i < t->ncols; i++)
		if (table_is_compared(t, i) && !same_value(t, th, b, i) && same_value(t, o, b, i)) {
			m->cnt->theirs_kept++;
			break;
		}
	return emit_update(m, b, o, th, TAKE_OURS_CHANGED);
}

int merge_table(const struct table *t, struct row_iter *base, struct row_iter *ours,
		struct row_iter *theirs, const struct merge_rules *rules, diff_emit_fn emit, void *ctx,
		struct diff_counts *counts, struct merge_counts *mc)
{
	struct side s[3] = { { base, NULL, 0, { 0 }, 0 }, { ours, NULL, 0, { 0 }, 0 },
			     { theirs, NULL, 0, { 0 }, 0 } };
	struct merger m = { t, rules, emit, ctx, counts, mc, { 0 }, 0 };
	int ret = -1;
	change_init(&m.c);
	m.c.table = (struct table *)t;
	for (int i = 0; i < 3; i++)
		row_init(&s[i].prev, t->ncols);
	for (int i = 0; i < 3; i++)
		if (advance(&s[i], t) < 0)
			goto out;
	while (s[0].got > 0 || s[1].got > 0 || s[2].got > 0) {
		const struct row *min = NULL, *at[3] = { NULL, NULL, NULL };
		for (int i = 0; i < 3; i++)
			if (s[i].got > 0 && (!min || table_key_cmp(t, s[i].cur, min) < 0))
				min = s[i].cur;
		for (int i = 0; i < 3; i++)
			if (s[i].got > 0 && (s[i].cur == min || table_key_cmp(t, s[i].cur, min) == 0))
				at[i] = s[i].cur;
		m.conflicted = 0;
		/* OURS and THEIRS the same row, or a key BASE alone holds (a
		 * row both sides deleted, or one a partial table leaves out):
		 * merge_key makes no change whatever BASE holds, so rows read
		 * lazily (row_iter.bytes) need not be decoded.  Else the three
		 * are made whole. */
		if ((at[1] || at[2]) && !(at[1] && at[2] && row_iter_same_bytes(ours, theirs)) &&
		    ((at[0] && row_iter_whole(base) < 0) || (at[1] && row_iter_whole(ours) < 0) ||
		     (at[2] && row_iter_whole(theirs) < 0) || merge_key(&m, at[0], at[1], at[2]) < 0))
			goto out;
		if (rules->after_key && rules->after_key(ctx, at[0], at[1], at[2], m.conflicted) < 0)
			goto out;
		for (int i = 0; i < 3; i++)
			if (at[i] && advance(&s[i], t) < 0)
				goto out;
	}
	ret = 0;
out:
	for (int i = 0; i < 3; i++)
		row_release(&s[i].prev);
	change_release(&m.c);
	return ret;
}

/* The three-way merge onto a writer: changes and conflict records alike,
 * except that a row of OURS that refers to a row left in conflict (a key
 * both inserted, a row THEIRS deleted) is held back as a "held" conflict,
 * and so are the rows that refer to it in turn (holdback.h). */
struct holding {
	struct stream_writer *w;
	struct holdback hb;
	struct row_iter ours;     /* OURS' rows; cur is the current one, whole */
	const struct row *cur;
	const struct table *t;
	struct diff_counts *cnt;
	struct merge_counts *mc;
	struct change held;
};

static int ours_rows_next(void *ctx, const struct row **out)
{
	struct holding *h = ctx;
	int got = h->ours.next(h->ours.ctx, out);
	if (got > 0)
		h->cur = *out;
	return got;
}

static int emit_holding(void *ctx, const struct change *c)
{
	struct holding *h = ctx;
	if (c->type == REC_CONFLICT) {
		if (c->kind == CONFLICT_INSERT_INSERT || c->kind == CONFLICT_UPDATE_DELETE)
			holdback_add(&h->hb, h->t, &c->side[SIDE_OURS]);
		return stream_write_conflict(h->w, c);
	}
	const char *parent = c->type != REC_DELETE ? holdback_refers(&h->hb, h->t, h->cur) : NULL;
	if (!parent)
		return stream_write_change(h->w, c);
	struct buf key = BUF_INIT;
	table_key_to_json(&key, h->t, h->cur);
	warning("table \"%s\" at key %s: held back as a conflict: it refers to %s, which is in conflict",
		h->t->name, key.buf, parent);
	buf_release(&key);
	if (c->type == REC_INSERT)
		h->cnt->inserts--;
	else
		h->cnt->updates--;
	h->mc->conflicts++;
	holdback_add(&h->hb, h->t, h->cur);
	h->held.type = REC_CONFLICT;
	h->held.kind = CONFLICT_HELD;
	h->held.table = c->table;
	row_copy(&h->held.row, &c->row);
	row_copy(&h->held.side[SIDE_OURS], h->cur);
	return stream_write_conflict(h->w, &h->held);
}

int merge_three_way(struct source *base, struct source *ours, struct source *theirs,
		    struct stream_writer *w, enum merge_prefer prefer, struct summary *sum,
		    struct merge_counts *mc)
{
	/* Inputs may list their tables in other dependency orders. */
	base->spool_passed = ours->spool_passed = theirs->spool_passed = 1;
	const struct schema *os = ours->schema;
	for (size_t i = 0; i < theirs->schema->n; i++)
		if (!schema_find(os, theirs->schema->tables[i]->name))
			warning("table \"%s\" is not in OURS: left as it is", theirs->schema->tables[i]->name);
	for (size_t i = 0; i < base->schema->n; i++)
		if (!schema_find(os, base->schema->tables[i]->name) &&
		    !schema_find(theirs->schema, base->schema->tables[i]->name))
			warning("table \"%s\" is only in BASE: not merged", base->schema->tables[i]->name);
	for (size_t i = 0; i < os->n; i++) {
		const struct table *t = os->tables[i];
		const struct table *th = schema_find(theirs->schema, t->name);
		const struct table *b = schema_find(base->schema, t->name);
		if (!th)
			return error("%s: table \"%s\" of OURS is missing (dbmerge does not create tables)",
				     theirs->name, t->name);
		if (table_same_shape(t, th, theirs->name) < 0 || (b && table_same_shape(t, b, base->name) < 0))
			return -1;
		if (!b)
			warning("table \"%s\" is not in BASE: its rows on both sides count as new", t->name);
	}

	struct merge_rules rules = { prefer, 1, NULL, 0, NULL };
	struct holding h = { w, { 0 }, source_rows(ours), NULL, NULL, NULL, mc, { 0 } };
	struct row_iter bi = source_rows(base), oi = { ours_rows_next, &h, ours->name }, ti = source_rows(theirs);
	int ret = -1;
	struct row_iter none = no_rows(base->name);
	holdback_init(&h.hb, os);
	change_init(&h.held);
	stream_write_header(w, STREAM_CHANGES, ours->origin, ours->engine);
	for (size_t i = 0; i < os->n; i++)
		if (stream_write_table(w, os->tables[i]) < 0)
			goto out;
	for (size_t i = 0; i < os->n; i++) {
		const struct table *t = os->tables[i];
		const struct table *th = schema_find(theirs->schema, t->name);
		const struct table *b = schema_find(base->schema, t->name);
		if ((b && source_begin_table(base, b) < 0) || source_begin_table(ours, t) < 0 ||
		    source_begin_table(theirs, th) < 0)
			goto out;
		stream_begin_table(w, t);
		h.t = t;
		h.cnt = summary_table(sum, t->name);
		if (merge_table(t, b ? &bi : &none, &oi, &ti, &rules, emit_holding, &h, h.cnt, mc) < 0 ||
		    stream_end_table(w) < 0)
			goto out;
	}
	/* A truncated input must give a truncated output, which every consumer
	 * refuses: the final end record comes only after all three ended well. */
	if (source_finish(base) < 0 || source_finish(ours) < 0 || source_finish(theirs) < 0)
		goto out;
	ret = 0;
out:
	holdback_release(&h.hb);
	change_release(&h.held);
	return ret;
}
