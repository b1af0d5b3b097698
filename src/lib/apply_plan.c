/* apply_plan: each stream table matched with the target's before any data
 * is read (tables left out, natural keys, triggers), and the order of the
 * writes with the cycles they must break. */
#include "apply_int.h"

#include "convert.h"

#include <stdlib.h>
#include <string.h>

const char *const apply_default_history[] = {
	"django_migrations", "_prisma_migrations", "schema_migrations", "ar_internal_metadata",
	"alembic_version", "flyway_schema_history", "knex_migrations", "knex_migrations_lock",
	"doctrine_migration_versions", NULL,
};

/* Migration bookkeeping (django_migrations, ...) says which migrations ran
 * on this database: copying it would claim ones that never ran.  Backups
 * and undo streams restore it like any table. */
static int history_table(const struct apply_opts *o, const char *purpose, const char *table)
{
	if (!strcmp(purpose, "backup") || !strcmp(purpose, "undo"))
		return 0;
	for (size_t i = 0; i < o->nhistory; i++)
		if (glob_match(o->history[i], table))
			return 1;
	return 0;
}

static int is_history(const struct apply *a, const char *table)
{
	return history_table(a->o, a->rd.purpose, table);
}

int apply_writes_table(const struct apply_opts *o, const char *purpose, const char *name)
{
	for (size_t i = 0; i < o->nnatural; i++)
		if (!strcmp(o->natural[i].table, name))
			return 0;
	if (o->exclude && !filter_match(o->exclude, name))
		return 0;
	return o->with_history || !history_table(o, purpose, name);
}

/* A table matched by its natural key is the target's own: not written, and
 * its rows (natural key -> the target's ids) read now, for the references. */
static int load_natural(struct apply *a, struct plan *p, const struct table *tt)
{
	struct db_cursor *cur;
	struct row r;
	int got;
	buf_reset(&a->msg);
	if (!tt)
		return error("%s:%ld: table \"%s\", matched by its natural key, is not in the target", a->rd.name,
			     p->st->line, p->st->name);
	if (natural_check(&a->nat, (size_t)p->natural, tt, &a->msg) < 0 ||
	    natural_check(&a->nat, (size_t)p->natural, p->st, &a->msg) < 0)
		return error("%s:%ld: %s", a->rd.name, p->st->line, a->msg.buf);
	warning("table \"%s\" is matched by its natural key: not applied, and references into it are "
		"translated to the target's ids", p->st->name);
	if (a->db->ops->scan_open(a->db, tt, &cur) < 0)
		return error("%s: table \"%s\": %s", a->db->shown_url, tt->name, a->db->err.buf);
	row_init(&r, tt->ncols);
	while ((got = a->db->ops->scan_next(cur, &r)) > 0)
		natural_add_target(&a->nat, (size_t)p->natural, tt, &r);
	a->db->ops->scan_close(cur);
	row_release(&r);
	return got < 0 ? error("%s: table \"%s\": %s", a->db->shown_url, tt->name, a->db->err.buf) : 0;
}

/* Translating a reference that is part of the table's key would move its
 * rows out of the key order every comparison relies on. */
static int refers_by_key_to_natural(const struct apply *a, const struct table *st)
{
	for (size_t j = 0; j < st->nrefs; j++) {
		const struct ref *r = &st->refs[j];
		if (natural_find(&a->nat, r->table) < 0)
			continue;
		for (size_t c = 0; c < r->ncols; c++) {
			long i = table_column_index(st, r->cols[c]);
			if (i >= 0 && table_is_key(st, (size_t)i) && st->key_kind != KEY_ROW)
				return error("%s:%ld: table \"%s\": its key column \"%s\" refers to table \"%s\", "
					     "matched by its natural key: translating it is not supported", a->rd.name,
					     st->line, st->name, r->cols[c], r->table);
		}
	}
	return 0;
}

/* A table the environment excludes has other rows under the same ids there
 * (its own users): a reference into it would point at someone else. */
static int refers_to_excluded(const struct apply *a, const struct table *st)
{
	int bad = 0;
	for (size_t j = 0; a->o->exclude && j < st->nrefs; j++) {
		const struct ref *r = &st->refs[j];
		if (filter_match(a->o->exclude, r->table) || natural_find(&a->nat, r->table) >= 0)
			continue;
		struct buf cols = BUF_INIT;
		for (size_t c = 0; c < r->ncols; c++)
			buf_addf(&cols, "%s\"%s\"", c ? ", " : "", r->cols[c]);
		error("%s:%ld: table \"%s\": column %s refers to table \"%s\", which the target's environment "
		      "excludes: its ids there name other rows.  Exclude \"%s\" too, or stop excluding \"%s\"",
		      a->rd.name, st->line, st->name, cols.buf, r->table, st->name, r->table);
		buf_release(&cols);
		bad = -1;
	}
	return bad;
}

/* Match every stream table with a target table before any data is read. */
int apply_plan_tables(struct apply *a)
{
	struct buf err = BUF_INIT;
	int ret = -1, refs_bad = 0;
	a->plans = xcalloc(a->rd.schema.n + 1, sizeof(*a->plans));
	for (size_t i = 0; i < a->rd.schema.n; i++) {
		struct table *st = a->rd.schema.tables[i];
		struct table *tt = schema_find(&a->target, st->name);
		struct plan *p = &a->plans[a->nplans++];
		p->st = st;
		p->natural = natural_find(&a->nat, st->name);
		if (p->natural >= 0) {
			p->skip = 1;
			if (load_natural(a, p, tt) < 0)
				goto out;
			continue;
		}
		if (refers_by_key_to_natural(a, st) < 0)
			goto out;
		if (a->o->exclude && !filter_match(a->o->exclude, st->name)) {
			warning("table \"%s\" is excluded by the target's environment: not applied", st->name);
			p->skip = 1;
			continue;
		}
		if (!a->o->with_history && is_history(a, st->name)) {
			summary_left_out(a->sum, st->name);
			p->skip = 1;
			continue;
		}
		if (refers_to_excluded(a, st) < 0) {
			refs_bad = 1; /* every one is named before the run stops */
			continue;
		}
		if (!tt) {
			error("%s:%ld: unknown table \"%s\" (the target has no such table)",
			      a->rd.name, st->line, st->name);
			goto out;
		}
		if (schema_check_compatible(st, tt, &err) < 0) {
			error("%s:%ld: %s", a->rd.name, st->line, err.buf);
			goto out;
		}
		if (tt->has_triggers && a->o->disable_triggers) {
			if (!a->db->ops->set_triggers) {
				error("%s:%ld: table \"%s\" has triggers, and %s cannot turn them off inside a "
				      "transaction (drop --disable-triggers)", a->rd.name, st->line, st->name,
				      a->db->ops->engine);
				goto out;
			}
			p->quiet_triggers = 1;
		} else if (tt->has_triggers) {
			warning("table \"%s\" has triggers: they fire for every row written "
				"(--disable-triggers turns them off)", st->name);
		}
		if (tt->nrules)
			warning("table \"%s\" has rules (PostgreSQL): they rewrite the statements that write its "
				"rows (an insert may go to another table), and --disable-triggers does not turn them off",
				st->name);
		if (a->o->mode == APPLY_MIRROR && !st->complete && !st->ranged && a->rd.kind == STREAM_ROWS)
			warning("table \"%s\" is not complete in the stream: --mirror deletes nothing from it",
				st->name);
		p->proj = table_project(tt, st);
		/* rows are compared as the target keeps their values */
		for (size_t c = 0; c < st->ncols; c++) {
			st->cols[c].exact_text = p->proj->cols[c].exact_text;
			st->cols[c].json_doc = p->proj->cols[c].json_doc;
		}
		struct table *conv = convert_table(st, p->proj);
		if (conv) {
			p->wire = st;
			p->st = st = conv;
		}
		/* A history row of the same migration says when it ran on each
		 * side: the target keeps its own time. */
		for (size_t c = 0; is_history(a, st->name) && c < st->ncols; c++)
			st->cols[c].own_value = st->cols[c].type == VT_TIMESTAMP || st->cols[c].type == VT_TIMESTAMPTZ;
		for (size_t m = 0; m < a->made.n; m++) {
			const struct schema_change *c = &a->made.v[m];
			long col = c->kind == SC_DROP_COLUMN && !strcmp(c->old_t->name, st->name)
					   ? table_column_index(st, c->old_t->cols[c->old_i].name) : -1;
			if (col >= 0)
				st->cols[col].just_added = 1;
		}
		/* MySQL commits DDL by itself, so there the tables are dropped
		 * after the rows' commit: their rows go in the transaction, as
		 * ever, before the rows of the target's own tables they refer to. */
		p->dropped = !a->db->ops->ddl_commits && apply_undo_drops_table(&a->rd, st->name);
		p->counts = summary_table(a->sum, st->name);
		p->bt = a->base_open ? schema_find(a->base.schema, st->name) : NULL;
		if (p->bt && !table_shape_equal(st, p->bt)) {
			/* Its rows cannot be read as the stream's: without a base
			 * this time, as in a first sync, a row that differs is
			 * reported rather than taken for an edit. */
			warning("table \"%s\" has other columns or another key than in the sync base %s "
				"(a schema change): merged without the base this time%s", st->name, a->base_path,
				a->o->mode == APPLY_MERGE && a->rd.kind == STREAM_ROWS
					? ", as a first sync (a row that differs is reported, not overwritten)" : "");
			p->bt = NULL;
		}
		if (!p->bt && a->o->base_dir && a->o->mode == APPLY_MERGE && a->rd.kind == STREAM_ROWS)
			p->first_sync = 1;
		if (apply_spool_open(a, p, i, 0) < 0 || apply_spool_open(a, p, i, 1) < 0)
			goto out;
	}
	ret = refs_bad ? -1 : 0;
out:
	buf_release(&err);
	return ret;
}

/* The cycle columns of each table, as indexes into the stream's columns. */
static void plan_cycle_columns(struct apply *a, struct plan **live, size_t n, const struct deps *d)
{
	for (size_t k = 0; k < n; k++) {
		struct plan *p = live[k];
		const struct table *tt = schema_find(&a->target, p->st->name);
		p->null_cols = xcalloc(d->nnull_cols[k] + 1, sizeof(size_t));
		for (size_t j = 0; j < d->nnull_cols[k]; j++) {
			long i = table_column_index(p->st, tt->cols[d->null_cols[k][j]].name);
			if (i >= 0)
				p->null_cols[p->nnull++] = (size_t)i;
		}
	}
}

/* The tables to write (not skipped) into live[] and, as the target has
 * them, into order, at the same places: the target's own references decide
 * the order.  d: that order and its cycles (deps_release it), each plan's
 * cycle columns set, and a warning for a cycle that cannot be loaded. */
static long order_index(const struct schema *order, const char *name)
{
	for (size_t i = 0; i < order->n; i++)
		if (!strcmp(order->tables[i]->name, name))
			return (long)i;
	return -1;
}

/* Whether table t may come now: every table it refers to that the order
 * put before it (a later one is a cycle's break) has come. */
static int parents_placed(const struct schema *order, const struct deps *d, const size_t *pos,
			  const int *placed, size_t t)
{
	for (size_t r = 0; r < order->tables[t]->nrefs; r++) {
		long p = order_index(order, order->tables[t]->refs[r].table);
		if (p >= 0 && (size_t)p != t && pos[p] < pos[t] && !placed[p])
			return 0;
	}
	(void)d;
	return 1;
}

/* Write the tables whose triggers fire as early as their parents allow
 * (their parents first, then them, then the rest, each group in the
 * order's own order): what their triggers make in other tables is then
 * there before the stream's rows of those tables are written, and goes in
 * as an update (find_trigger_made), instead of colliding inside the trigger
 * with a row the stream wrote first (Sakila's film and film_text). */
static void triggers_early(struct schema *order, struct plan **live, struct deps *d)
{
	size_t n = d->n, *pos = xcalloc(n + 1, sizeof(*pos)), *out = xcalloc(n + 1, sizeof(*out));
	int *early = xcalloc(n + 1, sizeof(*early)), *placed = xcalloc(n + 1, sizeof(*placed)), moved = 1;
	for (size_t i = 0; i < n; i++) {
		pos[d->order[i]] = i;
		early[i] = live[i]->proj->has_triggers && !live[i]->quiet_triggers;
	}
	while (moved) { /* the parents of an early table are early */
		moved = 0;
		for (size_t t = 0; t < n; t++)
			for (size_t r = 0; early[t] && r < order->tables[t]->nrefs; r++) {
				long p = order_index(order, order->tables[t]->refs[r].table);
				if (p >= 0 && pos[p] < pos[t] && !early[p])
					early[p] = moved = 1;
			}
	}
	for (size_t k = 0; k < n; k++) {
		size_t pick = n;
		for (size_t i = 0; i < n && pick == n; i++) /* early ones first */
			if (!placed[d->order[i]] && early[d->order[i]] &&
			    parents_placed(order, d, pos, placed, d->order[i]))
				pick = d->order[i];
		for (size_t i = 0; i < n && pick == n; i++) /* else the order's next */
			if (!placed[d->order[i]])
				pick = d->order[i];
		placed[pick] = 1;
		out[k] = pick;
	}
	memcpy(d->order, out, n * sizeof(*out));
	free(pos);
	free(out);
	free(early);
	free(placed);
}

void apply_plan_order(struct apply *a, struct schema *order, struct plan **live, struct deps *d)
{
	for (size_t i = 0; i < a->nplans; i++)
		if (!a->plans[i].skip && !a->plans[i].dropped) {
			live[order->n] = &a->plans[i];
			order->tables[order->n++] = schema_find(&a->target, a->plans[i].st->name);
		}
	deps_compute_flags(order, a->db->ops->defers_all_checks ? DEPS_ALL_DEFER : 0, d);
	triggers_early(order, live, d);
	plan_cycle_columns(a, live, order->n, d);
	for (size_t c = 0; c < d->ncycles; c++) {
		if (d->cycles[c].loadable)
			continue;
		/* Say why before the engine refuses a row that points forward. */
		struct buf names = BUF_INIT;
		for (size_t m = 0; m < d->cycles[c].nmembers; m++)
			buf_addf(&names, "%s\"%s\"", m ? ", " : "", order->tables[d->cycles[c].members[m]]->name);
		warning("the cycle %s goes through NOT NULL keys that cannot be deferred: "
			"its rows load only if none points at a row loaded after it", names.buf);
		buf_release(&names);
	}
}

/* Tell an engine that wants to know (MySQL, which turns foreign-key checks
 * off for them) which target tables are in a cycle or refer to themselves. */
int apply_plan_engine_writes(struct apply *a)
{
	if (!a->db->ops->plan_writes)
		return 0;
	struct deps d;
	deps_compute(&a->target, &d);
	a->target_in_cycle = xcalloc(a->target.n + 1, sizeof(int));
	for (size_t i = 0; i < a->target.n; i++)
		a->target_in_cycle[i] = d.in_cycle[i] || d.self_ref[i];
	deps_release(&d);
	return a->db->ops->plan_writes(a->db, &a->target, a->target_in_cycle);
}
