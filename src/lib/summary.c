/* summary: per-table change counts, printed as an aligned table. */
#include "summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct diff_counts *summary_table(struct summary *s, const char *table)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->rows[i]->table, table))
			return &s->rows[i]->c;
	ALLOC_GROW(s->rows, s->n + 1, s->alloc);
	s->rows[s->n] = xcalloc(1, sizeof(**s->rows));
	s->rows[s->n]->table = xstrdup(table);
	return &s->rows[s->n++]->c;
}

uint64_t summary_changes(const struct summary *s)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->rows[i]->c.inserts + s->rows[i]->c.updates + s->rows[i]->c.deletes;
	return n;
}

uint64_t summary_print(const struct summary *s, FILE *f)
{
	struct diff_counts total = { 0 };
	int w = 5;
	for (size_t i = 0; i < s->n; i++)
		if ((int)strlen(s->rows[i]->table) > w)
			w = (int)strlen(s->rows[i]->table);
	fprintf(f, "%-*s %9s %9s %9s\n", w, "table", "created", "updated", "deleted");
	for (size_t i = 0; i < s->n; i++) {
		const struct diff_counts *c = &s->rows[i]->c;
		fprintf(f, "%-*s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n", w, s->rows[i]->table,
			c->inserts, c->updates, c->deletes);
		total.inserts += c->inserts;
		total.updates += c->updates;
		total.deletes += c->deletes;
		total.kept += c->kept;
		total.left += c->left;
	}
	fprintf(f, "%-*s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n", w, "total",
		total.inserts, total.updates, total.deletes);
	if (total.kept)
		fprintf(f, "%" PRIu64 " row%s only in the target kept (--mirror would delete %s)\n",
			total.kept, total.kept == 1 ? "" : "s", total.kept == 1 ? "it" : "them");
	if (total.left)
		fprintf(f, "%" PRIu64 " changed row%s left as %s (--insert-only)\n",
			total.left, total.left == 1 ? "" : "s", total.left == 1 ? "it is" : "they are");
	return total.inserts + total.updates + total.deletes;
}

void summary_release(struct summary *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rows[i]->table);
		free(s->rows[i]);
	}
	free(s->rows);
	memset(s, 0, sizeof(*s));
}
