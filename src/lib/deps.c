/* deps: topological order of tables by their foreign keys, strongly
 * connected components (Tarjan) and the plan that breaks each cycle. */
#include "deps.h"

#include <stdlib.h>
#include <string.h>

/* The graph: for each table, the schema index of each reference's target
 * (-1 for a table outside the schema). */
struct graph {
	const struct schema *s;
	size_t n;
	long **parent;
	/* Tarjan's state */
	long *index, *low, *comp;
	int *on_stack;
	size_t *stack, sp, next_index, ncomp;
};

/* Index of the table named name in s, or -1. */
static long index_of(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->tables[i]->name, name))
			return (long)i;
	return -1;
}

/* Sorted names make the result independent of the schema's own order. */
static int by_name(const void *a, const void *b, void *arg)
{
	const struct schema *s = arg;
	return strcmp(s->tables[*(const size_t *)a]->name, s->tables[*(const size_t *)b]->name);
}

static int by_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* Tarjan's algorithm from v; components are numbered in the order they
 * complete (children's components before their parents'). */
static void strongconnect(struct graph *g, size_t v)
{
	g->index[v] = g->low[v] = (long)g->next_index++;
	g->stack[g->sp++] = v;
	g->on_stack[v] = 1;
	const struct table *t = g->s->tables[v];
	for (size_t r = 0; r < t->nrefs; r++) {
		long w = g->parent[v][r];
		if (w < 0)
			continue;
		if (g->index[w] < 0) {
			strongconnect(g, (size_t)w);
			if (g->low[w] < g->low[v])
				g->low[v] = g->low[w];
		} else if (g->on_stack[w] && g->index[w] < g->low[v]) {
			g->low[v] = g->index[w];
		}
	}
	if (g->low[v] == g->index[v]) {
		size_t w;
		do {
			w = g->stack[--g->sp];
			g->on_stack[w] = 0;
			g->comp[w] = (long)g->ncomp;
		} while (w != v);
		g->ncomp++;
	}
}

/* How the load can break reference r of t when it must. */
static enum deps_how classify(const struct table *t, const struct ref *r, unsigned flags)
{
	if ((r->deferrable || (flags & DEPS_ALL_DEFER)) && !(flags & DEPS_NO_DEFER))
		return DEPS_DEFER;
	if (!r->ncols)
		return DEPS_NONE;
	for (size_t c = 0; c < r->ncols; c++) {
		long i = table_column_index(t, r->cols[c]);
		/* The later update finds the row by its key, so a key column
		 * cannot be the one left NULL. */
		if (i < 0 || !t->cols[i].nullable || t->cols[i].generated || table_is_key(t, (size_t)i))
			return DEPS_NONE;
	}
	return DEPS_SET_NULL;
}

/* Order the members of one component (all in comp c, listed in `members` by
 * name) so that the keys it breaks are breakable, cheapest first; see the
 * header.  Fills pos[] (place in the component) for each member. */
static void order_component(const struct graph *g, unsigned flags, size_t *members, size_t m,
			    long *pos)
{
	size_t *out = xcalloc(m + 1, sizeof(size_t));
	for (size_t k = 0; k < m; k++)
		pos[members[k]] = -1;
	for (size_t placed = 0; placed < m; placed++) {
		long best = -1;
		size_t best_null = 0, best_defer = 0;
		for (size_t k = 0; k < m; k++) {
			size_t i = members[k];
			if (pos[i] >= 0)
				continue;
			const struct table *t = g->s->tables[i];
			size_t nnull = 0, ndefer = 0;
			int ok = 1;
			for (size_t r = 0; r < t->nrefs && ok; r++) {
				long p = g->parent[i][r];
				if (p < 0 || (size_t)p == i || g->comp[p] != g->comp[i] || pos[p] >= 0)
					continue;
				switch (classify(t, &t->refs[r], flags)) {
				case DEPS_DEFER: ndefer++; break;
				case DEPS_SET_NULL: nnull++; break;
				case DEPS_NONE: ok = 0; break;
				}
			}
			/* members are in name order, so a tie keeps the first by name */
			if (ok && (best < 0 || nnull < best_null || (nnull == best_null && ndefer < best_defer))) {
				best = (long)i;
				best_null = nnull;
				best_defer = ndefer;
			}
		}
		if (best < 0) {
			/* A loop of unbreakable keys: place the first by name; its keys
			 * are reported as DEPS_NONE. */
			for (size_t k = 0; k < m && best < 0; k++)
				if (pos[members[k]] < 0)
					best = (long)members[k];
		}
		pos[best] = (long)placed;
		out[placed] = (size_t)best;
	}
	memcpy(members, out, m * sizeof(size_t));
	free(out);
}

/* Record the cycle whose members (in load order) are given. */
static void add_cycle(struct deps *d, const struct graph *g, unsigned flags, const size_t *members,
		      size_t m, const long *pos)
{
	const struct schema *s = g->s;
	d->cycles = xrealloc(d->cycles, (d->ncycles + 1) * sizeof(*d->cycles));
	struct deps_cycle *cy = &d->cycles[d->ncycles];
	memset(cy, 0, sizeof(*cy));
	cy->nmembers = m;
	cy->members = xcalloc(m + 1, sizeof(size_t));
	memcpy(cy->members, members, m * sizeof(size_t));
	cy->self_reference = m == 1;
	cy->loadable = 1;
	for (size_t k = 0; k < m; k++) {
		size_t i = members[k];
		const struct table *t = s->tables[i];
		d->cycle_of[i] = (long)d->ncycles;
		for (size_t r = 0; r < t->nrefs; r++) {
			long p = g->parent[i][r];
			if (p < 0 || g->comp[p] != g->comp[i] || ((size_t)p != i && pos[p] < pos[i]))
				continue;
			cy->breaks = xrealloc(cy->breaks, (cy->nbreaks + 1) * sizeof(*cy->breaks));
			struct deps_break *b = &cy->breaks[cy->nbreaks++];
			b->table = i;
			b->ref = r;
			b->parent = (size_t)p;
			b->how = classify(t, &t->refs[r], flags);
			if (b->how == DEPS_NONE)
				cy->loadable = 0;
			if (b->how != DEPS_SET_NULL)
				continue;
			for (size_t c = 0; c < t->refs[r].ncols; c++) {
				size_t col = (size_t)table_column_index(t, t->refs[r].cols[c]);
				size_t *n = &d->nnull_cols[i], j;
				for (j = 0; j < *n && d->null_cols[i][j] != col; j++)
					;
				if (j < *n)
					continue;
				d->null_cols[i] = xrealloc(d->null_cols[i], (*n + 1) * sizeof(size_t));
				d->null_cols[i][(*n)++] = col;
			}
			qsort(d->null_cols[i], d->nnull_cols[i], sizeof(size_t), by_size);
		}
	}
	d->ncycles++;
}

/* The result's arrays, sized for n tables; no table in a cycle yet. */
static void deps_alloc(struct deps *d, size_t n)
{
	memset(d, 0, sizeof(*d));
	d->n = n;
	d->order = xcalloc(n + 1, sizeof(size_t));
	d->level = xcalloc(n + 1, sizeof(size_t));
	d->in_cycle = xcalloc(n + 1, sizeof(int));
	d->self_ref = xcalloc(n + 1, sizeof(int));
	d->cycle_of = xcalloc(n + 1, sizeof(long));
	d->nnull_cols = xcalloc(n + 1, sizeof(size_t));
	d->null_cols = xcalloc(n + 1, sizeof(size_t *));
	for (size_t i = 0; i < n; i++)
		d->cycle_of[i] = -1;
}

/* The graph of s's references, with Tarjan's state reset; notes in d the
 * tables that refer to themselves. */
static void graph_init(struct graph *g, const struct schema *s, struct deps *d)
{
	size_t n = s->n;
	memset(g, 0, sizeof(*g));
	g->s = s;
	g->n = n;
	g->parent = xcalloc(n + 1, sizeof(long *));
	g->index = xcalloc(n + 1, sizeof(long));
	g->low = xcalloc(n + 1, sizeof(long));
	g->comp = xcalloc(n + 1, sizeof(long));
	g->on_stack = xcalloc(n + 1, sizeof(int));
	g->stack = xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		const struct table *t = s->tables[i];
		g->parent[i] = xcalloc(t->nrefs + 1, sizeof(long));
		for (size_t r = 0; r < t->nrefs; r++) {
			g->parent[i][r] = index_of(s, t->refs[r].table);
			if (g->parent[i][r] == (long)i)
				d->self_ref[i] = 1;
		}
		g->index[i] = -1;
	}
}

static void graph_release(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->parent[i]);
	free(g->parent);
	free(g->index);
	free(g->low);
	free(g->comp);
	free(g->on_stack);
	free(g->stack);
}

/* Components: members by name (names: every table, by name), then ordered
 * inside; pred[i] is the member loaded just before i in its component (-1
 * for the first), pos[i] its place there.  Marks in d the tables in a cycle
 * of two or more.  members: room for n indexes. */
static void order_components(const struct graph *g, unsigned flags, const size_t *names, struct deps *d,
			     long *pos, long *pred, size_t *members)
{
	size_t n = g->n;
	size_t *csize = xcalloc(g->ncomp + 1, sizeof(size_t));
	int *comp_done = xcalloc(g->ncomp + 1, sizeof(int));
	for (size_t i = 0; i < n; i++) {
		csize[g->comp[i]]++;
		pred[i] = -1;
		pos[i] = 0;
	}
	for (size_t i = 0; i < n; i++)
		d->in_cycle[i] = csize[g->comp[i]] > 1;
	for (size_t k = 0; k < n; k++) {
		long c = g->comp[names[k]];
		if (csize[c] < 2 || comp_done[c])
			continue;
		comp_done[c] = 1;
		size_t m = 0;
		for (size_t j = k; j < n; j++)
			if (g->comp[names[j]] == c)
				members[m++] = names[j];
		order_component(g, flags, members, m, pos);
		for (size_t j = 1; j < m; j++)
			pred[members[j]] = (long)members[j - 1];
	}
	free(csize);
	free(comp_done);
}

/* The first table by name that is ready: every parent outside its
 * component is placed, and so is the member before it in its component. */
static long first_ready(const struct graph *g, const size_t *names, const long *pred, const char *placed)
{
	for (size_t k = 0; k < g->n; k++) {
		size_t i = names[k];
		if (placed[i] || (pred[i] >= 0 && !placed[pred[i]]))
			continue;
		const struct table *t = g->s->tables[i];
		int ready = 1;
		for (size_t r = 0; r < t->nrefs && ready; r++) {
			long p = g->parent[i][r];
			if (p >= 0 && g->comp[p] != g->comp[i] && !placed[p])
				ready = 0;
		}
		if (ready)
			return (long)i;
	}
	return -1;
}

/* Kahn's algorithm, always taking the first ready table by name: d->order
 * and each table's level. */
static void load_order(const struct graph *g, const size_t *names, const long *pred, struct deps *d)
{
	char *placed = xcalloc(g->n + 1, 1);
	for (size_t done = 0; done < g->n; done++) {
		/* The constraints form a DAG, so some table is always ready. */
		long pick = first_ready(g, names, pred, placed);
		placed[pick] = 1;
		d->order[done] = (size_t)pick;
		const struct table *t = g->s->tables[pick];
		size_t level = 0;
		for (size_t r = 0; r < t->nrefs; r++) {
			long p = g->parent[pick][r];
			if (p >= 0 && p != pick && placed[p] && d->level[p] + 1 > level)
				level = d->level[p] + 1;
		}
		d->level[pick] = level;
	}
	free(placed);
}

/* Cycles in the load order of their first member.  members: room for n. */
static void collect_cycles(struct deps *d, const struct graph *g, unsigned flags, const long *pos,
			   size_t *members)
{
	size_t n = g->n;
	for (size_t k = 0; k < n; k++) {
		size_t i = d->order[k];
		if (d->cycle_of[i] >= 0)
			continue;
		if (d->in_cycle[i]) {
			size_t m = 0;
			for (size_t j = k; j < n; j++)
				if (g->comp[d->order[j]] == g->comp[i])
					members[m++] = d->order[j];
			add_cycle(d, g, flags, members, m, pos);
		} else if (d->self_ref[i]) {
			add_cycle(d, g, flags, &i, 1, pos);
		}
	}
}

void deps_compute_flags(const struct schema *s, unsigned flags, struct deps *d)
{
	size_t n = s->n;
	struct graph g;
	deps_alloc(d, n);
	graph_init(&g, s, d);

	size_t *names = xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		names[i] = i;
	qsort_r(names, n, sizeof(size_t), by_name, (void *)s);
	for (size_t k = 0; k < n; k++)
		if (g.index[names[k]] < 0)
			strongconnect(&g, names[k]);

	long *pos = xcalloc(n + 1, sizeof(long)), *pred = xcalloc(n + 1, sizeof(long));
	size_t *members = xcalloc(n + 1, sizeof(size_t));
	order_components(&g, flags, names, d, pos, pred, members);
	load_order(&g, names, pred, d);
	collect_cycles(d, &g, flags, pos, members);

	graph_release(&g);
	free(names);
	free(pos);
	free(pred);
	free(members);
}

void deps_compute(const struct schema *s, struct deps *d)
{
	deps_compute_flags(s, 0, d);
}

int deps_all_loadable(const struct deps *d)
{
	for (size_t c = 0; c < d->ncycles; c++)
		if (!d->cycles[c].loadable)
			return 0;
	return 1;
}

const char *deps_how_name(enum deps_how how)
{
	switch (how) {
	case DEPS_DEFER: return "defer";
	case DEPS_SET_NULL: return "set-null";
	case DEPS_NONE: break;
	}
	return "none";
}

void deps_release(struct deps *d)
{
	for (size_t c = 0; c < d->ncycles; c++) {
		free(d->cycles[c].members);
		free(d->cycles[c].breaks);
	}
	for (size_t i = 0; i < d->n; i++)
		free(d->null_cols[i]);
	free(d->cycles);
	free(d->cycle_of);
	free(d->null_cols);
	free(d->nnull_cols);
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
	if (s->n) /* an empty schema has no array at all */
		memcpy(s->tables, sorted, s->n * sizeof(*sorted));
	free(sorted);
	deps_release(&d);
}
