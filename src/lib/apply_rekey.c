/* apply_rekey: --rekey in apply: the keys the map moves, applied to the
 * stream's rows and references as they are read, and the collisions given
 * new keys at the end of each table. */
#include "apply_int.h"

#include <stdlib.h>
#include <string.h>

/* Append a copy of r, read at line, to k. */
void apply_keyed_rows_add(struct keyed_rows *k, const struct row *r, long line)
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

void apply_keyed_rows_release(struct keyed_rows *k)
{
	for (size_t i = 0; i < k->alloc; i++)
		row_release(&k->r[i]);
	free(k->r);
	free(k->line);
	memset(k, 0, sizeof(*k));
}

/* The largest integer key of t seen on any side (max_key): new keys go
 * above it. */
void apply_note_key(struct apply *a, const struct table *t, const struct row *r)
{
	int64_t k;
	if (rekey_table_ok(t) && rekey_key_of(t, r, &k) && (!a->have_max_key || k > a->max_key)) {
		a->max_key = k;
		a->have_max_key = 1;
	}
}

/* Whether the map has entries for table. */
int apply_rekeyed_table(const struct apply *a, const char *table)
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
int apply_rekey_references(struct apply *a, const struct table *t, struct row *r, size_t fresh_only)
{
	for (size_t j = 0; j < t->nrefs; j++) {
		const struct ref *ref = &t->refs[j];
		const struct table *pt = schema_find(&a->rd.schema, ref->table);
		int64_t v, to;
		long i;
		if (ref->ncols != 1 || !pt || !rekey_table_ok(pt) || strcmp(ref->to[0], pt->cols[pt->key[0]].name) ||
		    !apply_rekeyed_table(a, ref->table))
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

/* A row whose own key is one the map gave to another row of the stream's
 * source: a collision with that row's copy in the target. */
static int image_collision(struct apply *a, const struct row *r)
{
	struct plan *p = a->cur;
	if (a->o->rekey) {
		apply_keyed_rows_add(&a->queued, r, a->rd.rec_line);
		return 0;
	}
	p->counts->collisions++;
	holdback_add(&a->holdback, p->st, r);
	if (++a->reported <= MAX_CONFLICTS_SHOWN) {
		buf_reset(&a->msg);
		table_key_to_json(&a->msg, p->st, r);
		apply_report(a, "%s:%ld: table \"%s\" at key %s: collision: --rekey gave this key in the target to another row "
		      "of the stream's source: not applied, nor the rows that refer to it (--rekey re-keys it too)",
		      a->rd.name, a->rd.rec_line, p->st->name, a->msg.buf);
	}
	return 0;
}

/* The stream's rows of a table that can be re-keyed, in the target's key
 * order: a row the map moves is held, with its new key, until the merge
 * reaches that key (always after its own: new keys are larger than any
 * other); a row whose key the map gave to another is a collision. */
int apply_rekey_rows_next(void *ctx, const struct row **out)
{
	struct apply *a = ctx;
	const struct table *t = a->cur->st;
	struct keyed_rows *m = &a->moved;
	for (;;) {
		const struct row *r = &a->rd.rec.row;
		int64_t k, to;
		if (!a->stream_pending && !a->stream_ended) {
			int got = apply_stream_rows_next(ctx, &r);
			if (got < 0)
				return -1;
			a->stream_pending = got > 0;
			a->stream_ended = got == 0;
			if (a->stream_pending && rekey_key_of(t, r, &k)) {
				apply_note_key(a, t, r);
				if (rekey_lookup(&a->rk, t->name, k, &to)) {
					apply_keyed_rows_add(m, r, a->rd.rec_line);
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
int apply_rekey_queued(struct apply *a, struct plan *p)
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
		rc = apply_spool_change(a, &c, a->queued.line[i]);
		p->counts->inserts++;
		p->counts->rekeyed++;
		warning("%s:%ld: table \"%s\" at key {\"%s\":%lld}: collision: inserted as {\"%s\":%lld} (--rekey)",
				a->rd.name, a->queued.line[i], t->name, t->cols[t->key[0]].name, (long long)src,
				t->cols[t->key[0]].name, (long long)next);
	}
	change_release(&c);
	return rc;
}
