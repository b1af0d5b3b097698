/* holdback: the set of held rows, keyed by the values their referrers
 * would hold (holdback.h). */
#include "holdback.h"

#include <stdlib.h>
#include <string.h>

void holdback_init(struct holdback *h, const struct schema *s)
{
	memset(h, 0, sizeof(*h));
	h->s = s;
}

void holdback_release(struct holdback *h)
{
	strmap_release(&h->held);
	memset(h, 0, sizeof(*h));
}

static size_t table_index(const struct schema *s, const struct table *t)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->tables[i] == t || !strcmp(s->tables[i]->name, t->name))
			return i;
	return (size_t)-1;
}

/* "child:ref:" then each value as length and bytes; 0 if a value is NULL
 * or absent (no reference then) or a column is missing. */
static int ref_key(struct buf *k, size_t child, size_t ref, const struct table *t, char *const *cols,
		   size_t ncols, const struct row *r)
{
	buf_reset(k);
	buf_addf(k, "%zu:%zu:", child, ref);
	return table_add_parts(k, t, r, cols, ncols);
}

void holdback_add(struct holdback *h, const struct table *t, const struct row *r)
{
	struct buf k = BUF_INIT, what = BUF_INIT;
	buf_addf(&what, "table \"%s\" at ", t->name);
	table_key_to_json(&what, t, r);
	for (size_t c = 0; c < h->s->n; c++) {
		const struct table *child = h->s->tables[c];
		for (size_t j = 0; j < child->nrefs; j++) {
			const struct ref *ref = &child->refs[j];
			if (!strcmp(ref->table, t->name) && ref_key(&k, c, j, t, ref->to, ref->ncols, r))
				strmap_put(&h->held, k.buf, k.len, what.buf, what.len);
		}
	}
	buf_release(&k);
	buf_release(&what);
}

const char *holdback_refers(struct holdback *h, const struct table *t, const struct row *r)
{
	const char *found = NULL;
	if (!h->held.n)
		return NULL;
	size_t c = table_index(h->s, t);
	if (c == (size_t)-1)
		return NULL;
	/* The references as the schema has them: their indexes are the keys'. */
	const struct table *st = h->s->tables[c];
	struct buf k = BUF_INIT;
	for (size_t j = 0; j < st->nrefs && !found; j++) {
		const struct ref *ref = &st->refs[j];
		if (!ref_key(&k, c, j, t, ref->cols, ref->ncols, r))
			continue;
		const struct strmap_entry *e = strmap_get(&h->held, k.buf, k.len);
		if (e)
			found = e->val;
	}
	buf_release(&k);
	return found;
}
