/* rekey: the map of re-keyed rows (rekey.h). */
#include "rekey.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "value.h"

void rekey_release(struct rekey *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].table);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

int rekey_table_ok(const struct table *t)
{
	return t->key_kind != KEY_ROW && t->nkey == 1 && t->cols[t->key[0]].type == VT_INT;
}

static int cmp(const char *table, int64_t src, const struct rekey_entry *e)
{
	int c = strcmp(table, e->table);
	return c ? c : src < e->src ? -1 : src > e->src;
}

/* The place of (table, src): where it is, or where it would go. */
static size_t find(const struct rekey *m, const char *table, int64_t src, int *found)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp(table, src, &m->e[mid]);
		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = 0;
	return lo;
}

int rekey_lookup(const struct rekey *m, const char *table, int64_t src, int64_t *dst)
{
	int found;
	size_t i = find(m, table, src, &found);
	if (found)
		*dst = m->e[i].dst;
	return found;
}

int rekey_is_fresh(const struct rekey *m, const char *table, int64_t src)
{
	int found;
	size_t i = find(m, table, src, &found);
	return found && m->e[i].fresh;
}

/* Entries are few (one per collision ever re-keyed): a scan will do. */
int rekey_is_image(const struct rekey *m, const char *table, int64_t key)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].dst == key && !strcmp(m->e[i].table, table))
			return 1;
	return 0;
}

int64_t rekey_max_image(const struct rekey *m, const char *table)
{
	int64_t max = INT64_MIN;
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].table, table) && m->e[i].dst > max)
			max = m->e[i].dst;
	return max;
}

void rekey_add(struct rekey *m, const char *table, int64_t src, int64_t dst, int fresh)
{
	int found;
	size_t i = find(m, table, src, &found);
	if (found) {
		m->e[i].dst = dst;
		m->e[i].fresh = fresh;
		return;
	}
	ALLOC_GROW(m->e, m->n + 1, m->alloc);
	memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof(*m->e));
	m->e[i].table = xstrdup(table);
	m->e[i].src = src;
	m->e[i].dst = dst;
	m->e[i].fresh = fresh;
	m->n++;
}

struct table *rekey_table_record(void)
{
	struct table *t = table_new(REKEY_TABLE);
	table_add_column(t, "table", VT_TEXT, "text", 0);
	table_add_column(t, "source_key", VT_INT, "bigint", 0);
	table_add_column(t, "target_key", VT_INT, "bigint", 0);
	table_key_first_columns(t, 2);
	return t;
}

static void set_int(struct row *r, size_t i, int64_t v)
{
	char s[24];
	int n = format_i64(s, v);
	row_set(r, i, s, (size_t)n);
}

void rekey_to_row(const struct rekey_entry *e, struct row *r)
{
	row_resize(r, 3);
	row_set(r, 0, e->table, strlen(e->table));
	set_int(r, 1, e->src);
	set_int(r, 2, e->dst);
}

int rekey_int_of(const struct row *r, long i, int64_t *out)
{
	if (i < 0 || r->v[i].state != V_SET)
		return 0;
	char *s = xstrndup(row_ptr(r, (size_t)i), r->v[i].len);
	int ok = parse_int64(s, INT64_MIN, INT64_MAX, out) == 0;
	free(s);
	return ok;
}

int rekey_from_row(struct rekey *m, const struct table *t, const struct row *r)
{
	long ti = table_column_index(t, "table");
	int64_t src, dst;
	if (ti < 0 || r->v[ti].state != V_SET || !rekey_int_of(r, table_column_index(t, "source_key"), &src) ||
	    !rekey_int_of(r, table_column_index(t, "target_key"), &dst))
		return -1;
	char *name = xstrndup(row_ptr(r, (size_t)ti), r->v[ti].len);
	rekey_add(m, name, src, dst, 0);
	free(name);
	return 0;
}

int rekey_key_of(const struct table *t, const struct row *r, int64_t *out)
{
	return rekey_int_of(r, (long)t->key[0], out);
}

void rekey_set_key(const struct table *t, struct row *r, int64_t key)
{
	set_int(r, t->key[0], key);
}
