/* diff: merge-join of two sorted row sequences into insert/update/delete.
 *
 * Worked example (key id):  OLD 1 2 4   NEW 2' 3 4
 *   1 < 2  -> delete 1;  2 = 2 -> update if any column differs;
 *   4 > 3  -> insert 3;  4 = 4 -> same, nothing. */
#include "diff.h"

#include <string.h>

/* Fetch the next row and check that keys ascend, so a mis-sorted input is
 * an error rather than a wrong diff. */
static int next_checked(struct row_iter *it, const struct table *t, const struct row **out,
			struct row *prev, int *have_prev)
{
	int got = it->next(it->ctx, out);
	if (got <= 0)
		return got;
	if (*have_prev) {
		int cmp = table_key_cmp(t, prev, *out);
		if (cmp > 0 || (cmp == 0 && t->key_kind != KEY_ROW))
			return error("%s: table \"%s\": rows not in key order (engine collation?)",
				     it->name, t->name);
	}
	table_key_copy(t, prev, *out);
	*have_prev = 1;
	return 1;
}

int row_iter_whole(struct row_iter *it)
{
	return it->whole ? it->whole(it->ctx) : 0;
}

int row_iter_same_bytes(struct row_iter *oi, struct row_iter *ni)
{
	const char *po, *pn;
	size_t lo, ln;
	return oi->bytes && ni->bytes && oi->bytes(oi->ctx, &po, &lo) && ni->bytes(ni->ctx, &pn, &ln) &&
	       lo == ln && !memcmp(po, pn, lo);
}

int diff_table(const struct table *t, struct row_iter *oi, struct row_iter *ni,
	       const struct diff_policy *p, diff_emit_fn emit, void *ctx,
	       struct diff_counts *cnt)
{
	struct row prev_o, prev_n;
	struct change c;
	const struct row *o = NULL, *n = NULL;
	int have_o = 0, have_n = 0, ret = -1;
	row_init(&prev_o, t->ncols);
	row_init(&prev_n, t->ncols);
	change_init(&c);
	c.table = (struct table *)t;
	int go = next_checked(oi, t, &o, &prev_o, &have_o);
	int gn = go < 0 ? -1 : next_checked(ni, t, &n, &prev_n, &have_n);
	while (go > 0 || gn > 0) {
		if (go < 0 || gn < 0)
			goto out;
		int cmp = go <= 0 ? 1 : gn <= 0 ? -1 : table_key_cmp(t, o, n);
		if (cmp < 0) {
			if (row_iter_whole(oi) < 0)
				goto out;
			if (p->outside && p->outside(p->outside_ctx, o)) {
				/* not known to be gone: nothing to say */
			} else if (p->deletes) {
				c.type = REC_DELETE;
				row_resize(&c.row, t->ncols);
				for (size_t k = 0; k < t->nkey; k++)
					row_copy_value(&c.row, o, t->key[k]);
				row_copy(&c.old, o);
				if (emit(ctx, &c) < 0)
					goto out;
				cnt->deletes++;
			} else {
				cnt->kept++;
			}
			go = next_checked(oi, t, &o, &prev_o, &have_o);
		} else if (cmp > 0) {
			if (row_iter_whole(ni) < 0)
				goto out;
			if (p->inserts) {
				c.type = REC_INSERT;
				row_copy(&c.row, n);
				row_resize(&c.old, t->ncols);
				if (emit(ctx, &c) < 0)
					goto out;
				cnt->inserts++;
			}
			gn = next_checked(ni, t, &n, &prev_n, &have_n);
		} else if (row_iter_same_bytes(oi, ni)) {
			go = next_checked(oi, t, &o, &prev_o, &have_o);
			gn = go < 0 ? -1 : next_checked(ni, t, &n, &prev_n, &have_n);
		} else {
			int differ = 0;
			if (row_iter_whole(oi) < 0 || row_iter_whole(ni) < 0)
				goto out;
			row_resize(&c.row, t->ncols);
			row_resize(&c.old, t->ncols);
			for (size_t i = 0; i < t->ncols; i++) {
				if (table_is_key(t, i)) {
					row_copy_value(&c.row, n, i);
					continue;
				}
				if (t->cols[i].generated || column_equal(&t->cols[i], o, i, n, i))
					continue;
				differ = 1;
				row_copy_value(&c.row, n, i);
				row_copy_value(&c.old, o, i);
			}
			if (differ && p->updates) {
				c.type = REC_UPDATE;
				if (emit(ctx, &c) < 0)
					goto out;
				cnt->updates++;
			} else if (differ) {
				cnt->left++;
			}
			go = next_checked(oi, t, &o, &prev_o, &have_o);
			gn = go < 0 ? -1 : next_checked(ni, t, &n, &prev_n, &have_n);
		}
	}
	ret = go < 0 || gn < 0 ? -1 : 0;
out:
	row_release(&prev_o);
	row_release(&prev_n);
	change_release(&c);
	return ret;
}
