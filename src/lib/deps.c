/* deps: topological order of tables by their foreign keys. */
#include "deps.h"

#include <stdlib.h>
#include <string.h>

/* Index of the table named name in s, or -1. */
static long index_of(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->tables[i]->name, name))
			return (long)i;
	return -1;
}

/* Whether table a can reach table b by following references. */
static int reaches(const struct schema *s, size_t a, size_t b, char *seen)
{
	if (a == b)
		return 1;
	if (seen[a])
		return 0;
	seen[a] = 1;
	const struct table *t = s->tables[a];
	for (size_t r = 0; r < t->nrefs; r++) {
		long p = index_of(s, t->refs[r].table);
		if (p >= 0 && (size_t)p != a && reaches(s, (size_t)p, b, seen))
			return 1;
	}
	return 0;
}

/* Sorted names make the result independent of the schema's own order. */
static int by_name(const void *a, const void *b, void *arg)
{
	const struct schema *s = arg;
	return strcmp(s->tables[*(const size_t *)a]->name, s->tables[*(const size_t *)b]->name);
}

void deps_compute(const struct schema *s, struct deps *d)
{
	size_t n = s->n;
	memset(d, 0, sizeof(*d));
	d->n = n;
	d->order = xcalloc(n + 1, sizeof(size_t));
	d->level = xcalloc(n + 1, sizeof(size_t));
	d->in_cycle = xcalloc(n + 1, sizeof(int));
	d->self_ref = xcalloc(n + 1, sizeof(int));
	size_t *names = xcalloc(n + 1, sizeof(size_t));
	char *placed = xcalloc(n + 1, 1), *seen = xcalloc(n + 1, 1);
	for (size_t i = 0; i < n; i++)
		names[i] = i;
	qsort_r(names, n, sizeof(size_t), by_name, (void *)s);

	for (size_t i = 0; i < n; i++) {
		const struct table *t = s->tables[i];
		for (size_t r = 0; r < t->nrefs; r++) {
			long p = index_of(s, t->refs[r].table);
			if (p == (long)i)
				d->self_ref[i] = 1;
			else if (p >= 0) {
				memset(seen, 0, n);
				if (reaches(s, (size_t)p, i, seen))
					d->in_cycle[i] = 1;
			}
		}
	}

	for (size_t done = 0; done < n; done++) {
		long pick = -1;
		for (size_t k = 0; k < n && pick < 0; k++) {
			size_t i = names[k];
			if (placed[i])
				continue;
			const struct table *t = s->tables[i];
			int ready = 1;
			for (size_t r = 0; r < t->nrefs && ready; r++) {
				long p = index_of(s, t->refs[r].table);
				if (p >= 0 && (size_t)p != i && !placed[p])
					ready = 0;
			}
			if (ready)
				pick = (long)i;
		}
		if (pick < 0) {
			/* Only cycles are left: break one at its first member by name. */
			for (size_t k = 0; k < n && pick < 0; k++)
				if (!placed[names[k]])
					pick = (long)names[k];
			d->ncycles++;
		}
		placed[pick] = 1;
		d->order[done] = (size_t)pick;
		const struct table *t = s->tables[pick];
		size_t level = 0;
		for (size_t r = 0; r < t->nrefs; r++) {
			long p = index_of(s, t->refs[r].table);
			if (p >= 0 && p != pick && placed[p] && d->level[p] + 1 > level)
				level = d->level[p] + 1;
		}
		d->level[pick] = level;
	}
	free(names);
	free(placed);
	free(seen);
}

void deps_release(struct deps *d)
{
	free(d->order);
	free(d->level);
	free(d->in_cycle);
	free(d->self_ref);
	memset(d, 0, sizeof(*d));
}

void deps_sort_schema(struct schema *s)
{
	struct deps d;
	deps_compute(s, &d);
	struct table **sorted = xcalloc(s->n + 1, sizeof(*sorted));
	for (size_t i = 0; i < s->n; i++)
		sorted[i] = s->tables[d.order[i]];
	memcpy(s->tables, sorted, s->n * sizeof(*sorted));
	free(sorted);
	deps_release(&d);
}
