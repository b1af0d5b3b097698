/* subset: the rows a slice of a database needs (see subset.h). */
#include "subset.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The values of the named columns of r, as one string; 0 when one is
 * NULL (a reference with a NULL refers to nothing). */
static int tuple_of(struct buf *out, const struct table *t, const struct row *r, char **cols, size_t n)
{
	buf_reset(out);
	return table_add_parts(out, t, r, cols, n);
}

static size_t table_index(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->tables[i]->name, name))
			return i;
	return s->n;
}

/* Take row r of table ti: note its key, the values other tables' references
 * may point at, and the values its own references point at.  1 if new. */
static int choose(struct subset *sub, size_t ti, const struct row *r, struct buf *tmp)
{
	const struct schema *s = sub->s;
	const struct table *t = s->tables[ti];
	table_key_text(tmp, t, r);
	if (!strmap_put(&sub->keys[ti], tmp->buf ? tmp->buf : "", tmp->len, "", 0))
		return 0;
	sub->chosen++;
	for (size_t c = 0; c < s->n; c++)
		for (size_t k = 0; k < s->tables[c]->nrefs; k++) {
			const struct ref *rf = &s->tables[c]->refs[k];
			if (!strcmp(rf->table, t->name) && tuple_of(tmp, t, r, rf->to, rf->ncols))
				strmap_put(&sub->parent_values[c][k], tmp->buf, tmp->len, "", 0);
		}
	for (size_t k = 0; k < t->nrefs; k++)
		if (tuple_of(tmp, t, r, t->refs[k].cols, t->refs[k].ncols))
			strmap_put(&sub->needed[ti][k], tmp->buf, tmp->len, "", 0);
	return 1;
}

/* Read every row of table ti and choose those `wanted` says; the number
 * chosen that were not before, or -1. */
static long scan_choose(struct subset *sub, struct db *db, size_t ti,
			int (*wanted)(const struct subset *sub, size_t ti, const struct row *r, struct buf *tmp))
{
	const struct table *t = sub->s->tables[ti];
	struct db_cursor *cur;
	struct row row;
	struct buf tmp = BUF_INIT;
	long added = 0;
	int got;
	if (db->ops->scan_open(db, t, &cur) < 0)
		return error("%s: table \"%s\": %s", db->shown_url, t->name, db->err.buf);
	row_init(&row, t->ncols);
	while ((got = db->ops->scan_next(cur, &row)) > 0)
		if (wanted(sub, ti, &row, &tmp))
			added += choose(sub, ti, &row, &tmp);
	db->ops->scan_close(cur);
	row_release(&row);
	buf_release(&tmp);
	if (got < 0)
		return error("%s: table \"%s\": %s", db->shown_url, t->name, db->err.buf);
	return added;
}

/* A descendant: the row refers to a chosen row. */
static int refers_to_chosen(const struct subset *sub, size_t ti, const struct row *r, struct buf *tmp)
{
	const struct table *t = sub->s->tables[ti];
	for (size_t k = 0; k < t->nrefs; k++)
		if (sub->parent_values[ti][k].n && tuple_of(tmp, t, r, t->refs[k].cols, t->refs[k].ncols) &&
		    strmap_get(&sub->parent_values[ti][k], tmp->buf, tmp->len))
			return 1;
	return 0;
}

/* An ancestor: a chosen row refers to this row. */
static int chosen_refers_to(const struct subset *sub, size_t ti, const struct row *r, struct buf *tmp)
{
	const struct schema *s = sub->s;
	const struct table *t = s->tables[ti];
	for (size_t c = 0; c < s->n; c++)
		for (size_t k = 0; k < s->tables[c]->nrefs; k++) {
			const struct ref *rf = &s->tables[c]->refs[k];
			if (sub->needed[c][k].n && !strcmp(rf->table, t->name) &&
			    tuple_of(tmp, t, r, rf->to, rf->ncols) &&
			    strmap_get(&sub->needed[c][k], tmp->buf, tmp->len))
				return 1;
		}
	return 0;
}

static int start_rows(struct subset *sub, struct db *db, const struct subset_start *st)
{
	size_t ti = table_index(sub->s, st->table);
	if (ti == sub->s->n)
		return error("--subset: no table \"%s\" in %s (or it is excluded)", st->table, db->shown_url);
	if (!db->ops->scan_where_open)
		return error("--subset: %s cannot select rows by a condition", db->ops->engine);
	const struct table *t = sub->s->tables[ti];
	struct db_cursor *cur;
	struct row row;
	struct buf tmp = BUF_INIT;
	int got;
	if (db->ops->scan_where_open(db, t, st->where, &cur) < 0)
		return error("--subset %s:%s: %s", st->table, st->where, db->err.buf);
	row_init(&row, t->ncols);
	while ((got = db->ops->scan_next(cur, &row)) > 0)
		choose(sub, ti, &row, &tmp);
	db->ops->scan_close(cur);
	row_release(&row);
	buf_release(&tmp);
	if (got < 0)
		return error("--subset %s:%s: %s", st->table, st->where, db->err.buf);
	return 0;
}

/* Scan every table with `wanted` until a whole pass chooses nothing new
 * (self-references and cycles take several). */
static int until_settled(struct subset *sub, struct db *db,
			 int (*wanted)(const struct subset *sub, size_t ti, const struct row *r, struct buf *tmp))
{
	long added;
	do {
		added = 0;
		for (size_t ti = 0; ti < sub->s->n; ti++) {
			long n = scan_choose(sub, db, ti, wanted);
			if (n < 0)
				return -1;
			added += n;
		}
	} while (added);
	return 0;
}

int subset_compute(struct subset *sub, struct db *db, const struct schema *s,
		   const struct subset_start *starts, size_t nstarts)
{
	memset(sub, 0, sizeof(*sub));
	sub->s = s;
	sub->keys = xcalloc(s->n + 1, sizeof(*sub->keys));
	sub->parent_values = xcalloc(s->n + 1, sizeof(*sub->parent_values));
	sub->needed = xcalloc(s->n + 1, sizeof(*sub->needed));
	for (size_t i = 0; i < s->n; i++) {
		sub->parent_values[i] = xcalloc(s->tables[i]->nrefs + 1, sizeof(struct strmap));
		sub->needed[i] = xcalloc(s->tables[i]->nrefs + 1, sizeof(struct strmap));
	}
	for (size_t i = 0; i < nstarts; i++)
		if (start_rows(sub, db, &starts[i]) < 0)
			return -1;
	/* Descendants first, to the end; then the ancestors of all of them. */
	if (until_settled(sub, db, refers_to_chosen) < 0 || until_settled(sub, db, chosen_refers_to) < 0)
		return -1;
	return 0;
}

int subset_has(const struct subset *sub, size_t ti, const struct row *r)
{
	struct buf key = BUF_INIT;
	table_key_text(&key, sub->s->tables[ti], r);
	int has = strmap_get(&sub->keys[ti], key.buf ? key.buf : "", key.len) != NULL;
	buf_release(&key);
	return has;
}

void subset_release(struct subset *sub)
{
	for (size_t i = 0; sub->s && i < sub->s->n; i++) {
		strmap_release(&sub->keys[i]);
		for (size_t k = 0; k < sub->s->tables[i]->nrefs; k++) {
			strmap_release(&sub->parent_values[i][k]);
			strmap_release(&sub->needed[i][k]);
		}
		free(sub->parent_values[i]);
		free(sub->needed[i]);
	}
	free(sub->keys);
	free(sub->parent_values);
	free(sub->needed);
	memset(sub, 0, sizeof(*sub));
}
