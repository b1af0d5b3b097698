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

uint64_t summary_undecided(const struct summary *s)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->rows[i]->c.conflicts + s->rows[i]->c.collisions + s->rows[i]->c.unbased_left +
		     s->rows[i]->c.held;
	return n;
}

void summary_left_out(struct summary *s, const char *table)
{
	s->left_out = xrealloc(s->left_out, (s->nleft_out + 1) * sizeof(*s->left_out));
	s->left_out[s->nleft_out++] = xstrdup(table);
}

/* "N row(s) what", when N is not 0. */
static void count_line(FILE *f, uint64_t n, const char *one, const char *many, const char *what)
{
	if (n)
		fprintf(f, "%" PRIu64 " %s %s\n", n, n == 1 ? one : many, what);
}

uint64_t summary_print(const struct summary *s, FILE *f)
{
	struct diff_counts total = { 0 };
	int w = 5;
	if (s->rows_not_tried) {
		fputs("rows not tried: they need the schema changes above, which a dry run on MySQL does not make\n", f);
		return 0;
	}
	if (s->rows_unrun)
		fputs("rows checked against the schema changes above as planned, not tried on the server (MySQL "
		      "would commit that DDL): foreign keys, unique indexes and triggers not tried\n", f);
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
		total.theirs_kept += c->theirs_kept;
		total.unbased += c->unbased;
		total.unbased_left += c->unbased_left;
		total.conflicts += c->conflicts;
		total.collisions += c->collisions;
		total.held += c->held;
		total.rekeyed += c->rekeyed;
		total.trigger_made += c->trigger_made;
		total.cut += c->cut;
	}
	fprintf(f, "%-*s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n", w, "total",
		total.inserts, total.updates, total.deletes);
	if (total.kept)
		fprintf(f, "%" PRIu64 " row%s only in the target kept (--mirror would delete %s)\n",
			total.kept, total.kept == 1 ? "" : "s", total.kept == 1 ? "it" : "them");
	if (total.left)
		fprintf(f, "%" PRIu64 " changed row%s left as %s (--insert-only)\n",
			total.left, total.left == 1 ? "" : "s", total.left == 1 ? "it is" : "they are");
	if (total.trigger_made)
		fprintf(f, "%" PRIu64 " row%s made by a trigger during this sync written over with the "
			"stream's values\n", total.trigger_made, total.trigger_made == 1 ? "" : "s");
	if (total.cut)
		fprintf(f, "%" PRIu64 " value%s of the stream cut to the digits %s column keeps (--lossy fraction)\n",
			total.cut, total.cut == 1 ? "" : "s", total.cut == 1 ? "its" : "their");
	if (!s->sync)
		return total.inserts + total.updates + total.deletes;
	count_line(f, total.theirs_kept, "row", "rows", "changed in the target since the last sync kept as changed");
	count_line(f, total.unbased, "row", "rows",
		   "overwritten with no sync base to tell an edit from a collision (a first sync: --prefer source)");
	count_line(f, total.unbased_left, "row", "rows",
		   "not applied: other values under the same key, and no sync base to tell an edit from a "
		   "collision (a first sync: --prefer or --rekey settles them)");
	count_line(f, total.conflicts, "conflict", "conflicts",
		   "not applied: changed on both sides since the last sync (--prefer settles them)");
	count_line(f, total.collisions, "collision", "collisions",
		   "not applied: a key both sides created for other rows");
	count_line(f, total.held, "row", "rows", "held back: they refer to a row not applied");
	count_line(f, total.rekeyed, "collision", "collisions", "re-keyed: inserted under a new key (--rekey)");
	for (size_t i = 0; i < s->nleft_out; i++)
		fprintf(f, "%s\"%s\"%s", i ? ", " : "history tables left out: ", s->left_out[i],
			i + 1 == s->nleft_out ? " (--with-history includes them)\n" : "");
	return total.inserts + total.updates + total.deletes;
}

void summary_release(struct summary *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rows[i]->table);
		free(s->rows[i]);
	}
	free(s->rows);
	for (size_t i = 0; i < s->nleft_out; i++)
		free(s->left_out[i]);
	free(s->left_out);
	memset(s, 0, sizeof(*s));
}
