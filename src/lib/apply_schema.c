/* apply_schema: dbapply --schema, the additive changes the stream's table
 * records ask of the target (tables, columns, indexes, foreign keys),
 * made before the rows; and without --schema the refusal that names every
 * one of them.
 *
 * Where DDL is transactional (PostgreSQL, SQLite) the statements run in
 * the write transaction, before the target's schema is read again for
 * the data step: a failure anywhere rolls both back.  MySQL commits each
 * DDL statement by itself, so there the whole stream is first copied and
 * read to its end record (every check a reader makes), then the DDL runs,
 * then the data step on the copy; when the data step fails, the DDL is
 * undone, newest first, and the message says so. */
#include "apply_int.h"
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* One statement and the one that undoes it (NULL: undone with its table). */
struct ddl_step {
	char *sql, *undo;
};

/* A change made, by the table's name (MySQL: the data step reads the
 * stream again, so it is found there again). */
struct made_change {
	enum schema_change_kind kind;
	char *table;
	size_t i;
};

/* An enum type or domain the plan makes for column col of a table, or a
 * function its triggers call (col SIZE_MAX) (PostgreSQL). */
struct type_made {
	char *table, *name;
	size_t col;
};

struct ddl_plan {
	struct ddl_step *v;
	size_t n, alloc;
	/* Run after the rows (not where DDL commits): the foreign keys of the
	 * tables made, owned strings. */
	char **after;
	size_t nafter, after_alloc;
	struct schema types;  /* the enum types and domains it makes (no tables) */
	struct type_made *typed;
	size_t ntyped, typed_alloc;
	struct made_change *made;
	size_t nmade, made_alloc;
	size_t done;        /* statements run so far */
	struct buf dropped; /* defaults not carried across engines */
	struct alter_plan alter; /* MySQL: the alters and drops (apply_alter.c) */
	/* dbapply --sql on MySQL: the DDL before the rows did not run (MySQL
	 * would commit it); the rows are checked against what it would make
	 * (apply_schema_unrun). */
	int unrun;
};

static void plan_add(struct ddl_plan *p, struct buf *sql, struct buf *undo)
{
	ALLOC_GROW(p->v, p->n + 1, p->alloc);
	p->v[p->n].sql = buf_detach(sql);
	p->v[p->n].undo = undo && undo->len ? buf_detach(undo) : NULL;
	p->n++;
}

static void plan_release(struct ddl_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].sql);
		free(p->v[i].undo);
	}
	free(p->v);
	for (size_t i = 0; i < p->nmade; i++)
		free(p->made[i].table);
	free(p->made);
	for (size_t i = 0; i < p->nafter; i++)
		free(p->after[i]);
	free(p->after);
	schema_release(&p->types);
	for (size_t i = 0; i < p->ntyped; i++) {
		free(p->typed[i].table);
		free(p->typed[i].name);
	}
	free(p->typed);
	buf_release(&p->dropped);
	apply_alter_release(&p->alter);
	memset(p, 0, sizeof(*p));
}

/* The drop that undoes an additive change (SQLite's foreign keys go with
 * their column or table). */
static int undoing(enum schema_change_kind k, const struct sql_dialect *d, enum schema_change_kind *out)
{
	switch (k) {
	case SC_ADD_TABLE: *out = SC_DROP_TABLE; return 1;
	case SC_ADD_COLUMN: *out = SC_DROP_COLUMN; return 1;
	case SC_ADD_INDEX: *out = SC_DROP_INDEX; return 1;
	case SC_ADD_REFERENCE: *out = SC_DROP_REFERENCE; return !d->inline_references;
	default: return 0;
	}
}

static void made_add(struct apply *a, enum schema_change_kind kind, const struct table *t, size_t i)
{
	ALLOC_GROW(a->made.v, a->made.n + 1, a->made.alloc);
	struct schema_change *c = &a->made.v[a->made.n++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->old_t = t;
	c->old_i = i;
}

/* Whether an undo stream asks to make table name (or one of its columns)
 * again: what --schema --mirror dropped (apply_alter.c). */
static int restores(const struct stream_reader *rd, const char *name)
{
	for (size_t i = 0; i < rd->nschema; i++)
		if ((rd->schema_records[i].kind == SC_ADD_TABLE || rd->schema_records[i].kind == SC_ADD_COLUMN) &&
		    !strcmp(rd->schema_records[i].t->name, name))
			return 1;
	return 0;
}

/* Whether change c adds a table that inherits from one that a change of
 * d[from..n) not yet placed adds. */
static int waits_for_parent(const struct schema_diff *d, size_t from, const struct schema_change *c)
{
	for (size_t p = 0; c->kind == SC_ADD_TABLE && p < c->new_t->ninherits; p++)
		for (size_t j = from; j < d->n; j++)
			if (&d->v[j] != c && d->v[j].kind == SC_ADD_TABLE &&
			    !strcmp(d->v[j].new_t->name, c->new_t->inherits[p]))
				return 1;
	return 0;
}

/* Put each table added after the tables it inherits from (PostgreSQL's
 * INHERITS names a table that exists), the rest in their order: the
 * plan makes them in this order, and the undo stream drops them in the
 * opposite one.  A cycle, which PostgreSQL cannot have, is left as is. */
static void parents_first(struct schema_diff *d)
{
	for (size_t placed = 0; placed < d->n;) {
		size_t i = placed;
		while (i < d->n && waits_for_parent(d, placed, &d->v[i]))
			i++;
		if (i == d->n)
			return;
		struct schema_change next = d->v[i];
		memmove(&d->v[placed + 1], &d->v[placed], (i - placed) * sizeof(*d->v));
		d->v[placed++] = next;
	}
}

/* The additive changes of the tables this run writes, in d (which points
 * into target and stream); of an undo stream, those of the tables its
 * add_table and add_column records name, as its table records define them. */
static void wanted_changes(const struct apply_opts *o, const char *purpose, const struct schema *target,
			   const struct stream_reader *rd, const char *engine, struct schema_diff *d)
{
	struct schema_diff all;
	int undo = !strcmp(purpose, "undo");
	schema_diff_compute(target, &rd->schema, !strcmp(rd->engine ? rd->engine : "", engine), &all);
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < all.n; i++)
		if (schema_change_additive(all.v[i].kind) && apply_writes_table(o, purpose, all.v[i].new_t->name) &&
		    (!undo || restores(rd, all.v[i].new_t->name))) {
			ALLOC_GROW(d->v, d->n + 1, d->alloc);
			d->v[d->n++] = all.v[i];
		}
	schema_diff_release(&all);
	parents_first(d);
}

/* The tables both have whose columns the stream cannot write as they are
 * (another type, another key), each said; the count.  Tables that lack a
 * column are left to the schema step, which names the column. */
static size_t incompatible(const struct apply_opts *o, const struct schema *target,
			   const struct stream_reader *rd, const struct schema_diff *d)
{
	struct buf err = BUF_INIT;
	size_t n = 0;
	for (size_t i = 0; i < rd->schema.n; i++) {
		const struct table *st = rd->schema.tables[i], *tt = schema_find(target, st->name);
		int grows = 0;
		for (size_t c = 0; c < d->n && !grows; c++)
			grows = d->v[c].kind == SC_ADD_COLUMN && d->v[c].new_t == st;
		if (!tt || grows || !apply_writes_table(o, rd->purpose, st->name) ||
		    schema_check_compatible(st, tt, &err) == 0)
			continue;
		error("%s:%ld: %s", rd->name, st->line, err.buf);
		n++;
	}
	buf_release(&err);
	return n;
}

static int refuse(const char *stream, const struct table *t, const char *why)
{
	return error("%s:%ld: --schema: %s", stream, t->line, why);
}

/* A NOT NULL column without a default cannot be added to rows that
 * exist: there would be no value for it. */
static int addable_column(const char *stream, const struct table *t, size_t i)
{
	const struct column *c = &t->cols[i];
	if (c->nullable || c->default_sql)
		return 0;
	struct buf why = BUF_INIT;
	buf_addf(&why, "column \"%s\".\"%s\" is NOT NULL without a default: the target's rows would have no "
		 "value for it (add it by hand, or give it a default in the source)", t->name, c->name);
	refuse(stream, t, why.buf);
	buf_release(&why);
	return -1;
}

/* What a table of the source has that the target's engine cannot make:
 * triggers of another engine (their code is that engine's), or of a stream
 * that says there are some without their code; an index of the source
 * engine's own kind (FULLTEXT, SPATIAL) on another engine.  Each refused
 * by name, or with --without-triggers / --without-engine-indexes left out
 * and named in a warning; the count refused. */
static size_t uncarried(const struct apply_opts *o, const struct schema_diff *d, const char *stream,
			const char *src_engine, const char *engine)
{
	struct buf why = BUF_INIT;
	size_t n = 0;
	int same = !strcmp(src_engine, engine);
	for (size_t i = 0; i < d->n; i++) {
		const struct schema_change *c = &d->v[i];
		const struct table *t = c->new_t;
		if (c->kind != SC_ADD_TABLE && c->kind != SC_ADD_INDEX)
			continue;
		for (size_t x = 0; c->kind == SC_ADD_TABLE && x < t->nnot_carried; x++) {
			buf_reset(&why);
			buf_addf(&why, "table \"%s\": the source's %s is not in the stream (dbpipe(5)), and a table "
				 "made without it would behave otherwise: not made (make the table by hand)", t->name,
				 t->not_carried[x]);
			refuse(stream, t, why.buf);
			n++;
		}
		for (size_t x = 0; c->kind == SC_ADD_TABLE && !same && x < t->ninherits; x++)
			warning("%s:%ld: --schema: table \"%s\" is made as a table of its own, with all its "
				"columns: its inheritance from \"%s\" is %s's, which %s does not have", stream, t->line,
				t->name, t->inherits[x], src_engine, engine);
		if (c->kind == SC_ADD_TABLE && t->has_triggers && !t->ntriggers) {
			if (o->without_triggers) {
				warning("%s:%ld: --schema: table \"%s\" is made without its triggers (the stream "
					"does not hold their code) (--without-triggers)", stream, t->line, t->name);
			} else {
				buf_reset(&why);
				buf_addf(&why, "table \"%s\" has triggers in the source, and the stream does not hold "
					 "their code (an older dbdump-rows wrote it): not made (--without-triggers makes "
					 "it without them)", t->name);
				refuse(stream, t, why.buf);
				n++;
			}
		}
		/* rules are PostgreSQL's code as triggers are: the same opt-out */
		for (size_t g = 0; c->kind == SC_ADD_TABLE && !same && g < t->ntriggers + t->nrules; g++) {
			int rule = g >= t->ntriggers;
			const char *what = rule ? "rule" : "trigger";
			const char *name = rule ? t->rules[g - t->ntriggers].name : t->triggers[g].name;
			if (o->without_triggers) {
				warning("%s:%ld: --schema: table \"%s\": %s \"%s\" of %s is left out "
					"(--without-triggers)", stream, t->line, t->name, what, name, src_engine);
				continue;
			}
			buf_reset(&why);
			buf_addf(&why, "table \"%s\": %s \"%s\" is code of %s, which %s cannot run: not made "
				 "(--without-triggers makes the table without its %s, each named)", t->name, what,
				 name, src_engine, engine, rule ? "rules and triggers" : "triggers");
			refuse(stream, t, why.buf);
			n++;
		}
		for (size_t x = 0; x < t->nindexes && !same; x++) {
			const struct index *ix = &t->indexes[x];
			if (!ix->kind || (c->kind == SC_ADD_INDEX && x != c->new_i))
				continue;
			if (o->without_engine_indexes) {
				warning("%s:%ld: --schema: table \"%s\": the %s index \"%s\" of %s is left out "
					"(--without-engine-indexes)", stream, t->line, t->name, ix->kind, ix->name,
					src_engine);
				continue;
			}
			buf_reset(&why);
			buf_addf(&why, "table \"%s\": index \"%s\" is a %s index of %s, which %s cannot make: "
				 "not made (--without-engine-indexes leaves it out)", t->name, ix->name, ix->kind,
				 src_engine, engine);
			refuse(stream, t, why.buf);
			n++;
		}
	}
	buf_release(&why);
	return n;
}

/* The plan makes type name (an enum type, a domain) for column col of t,
 * or function name for its triggers (col SIZE_MAX): undoing the table or
 * column drops it too (with_types_made). */
static void plan_typed(struct ddl_plan *p, const struct table *t, const char *name, size_t col)
{
	ALLOC_GROW(p->typed, p->ntyped + 1, p->typed_alloc);
	p->typed[p->ntyped].table = xstrdup(t->name);
	p->typed[p->ntyped].name = xstrdup(name);
	p->typed[p->ntyped++].col = col;
}

/* Whether a trigger's or rule's statement from the stream makes one and
 * nothing more: "CREATE TRIGGER " or "CREATE RULE " (start) first, and no
 * second statement where the dialect can tell (sql_one_statement). */
int apply_trigger_statement(const struct sql_dialect *dl, const struct trigger *g, const char *start)
{
	const char *p = g->sql;
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return !strncasecmp(p, start, strlen(start)) && sql_one_statement(dl, p);
}

/* The functions of the source's own schemas that the triggers of t call
 * (PostgreSQL), made after the rows and before the triggers where the
 * target and the plan have none of that signature; one the target has
 * with other code is refused by name.  "CREATE OR REPLACE" is made
 * "CREATE": a function made meanwhile is an error, not replaced. */
static int plan_functions(const struct db *db, const struct schema *target, const struct table *t,
			  const char *stream, struct ddl_plan *p)
{
	struct buf why = BUF_INIT;
	int bad = 0;
	for (size_t f = 0; f < t->nfunctions; f++) {
		const struct trigger *fn = &t->functions[f], *has = schema_find_function(target, fn->name);
		const char *sql = fn->sql;
		int planned = 0;
		for (size_t i = 0; i < p->ntyped && !planned; i++)
			planned = p->typed[i].col == SIZE_MAX && !strcmp(p->typed[i].name, fn->name);
		if (planned || (has && !strcmp(has->sql, fn->sql)))
			continue;
		buf_reset(&why);
		if (has)
			buf_addf(&why, "table \"%s\": its triggers call function %s, which the target has with other "
				 "code: not made (make them the same by hand)", t->name, fn->name);
		else if (!apply_trigger_statement(db->ops->dialect, fn, "CREATE OR REPLACE FUNCTION ") ||
			 !sql_is_function_signature(fn->name))
			buf_addf(&why, "table \"%s\": function %s: its SQL is not one CREATE FUNCTION statement: "
				 "not made", t->name, fn->name);
		if (why.len) {
			refuse(stream, t, why.buf);
			bad = 1;
			continue;
		}
		while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '\r')
			sql++;
		struct buf create = BUF_INIT;
		buf_addf(&create, "CREATE FUNCTION %s", sql + strlen("CREATE OR REPLACE FUNCTION "));
		ALLOC_GROW(p->after, p->nafter + 1, p->after_alloc);
		p->after[p->nafter++] = buf_detach(&create);
		plan_typed(p, t, fn->name, SIZE_MAX);
	}
	buf_release(&why);
	return bad ? -1 : 0;
}

/* The triggers of table t, made on its own engine after the rows: in the
 * write transaction where DDL is transactional (p->after), after the
 * commit on MySQL (p->after_commit), so that they do not fire for the
 * rows loaded (Sakila's rental_date would overwrite every rental_date).
 * Its rules (PostgreSQL) too, for the same reason: Sakila's payment rules
 * would send the rows loaded into its children. */
static int plan_triggers(const struct db *db, const struct schema *target, const struct table *t,
			 const char *stream, struct ddl_plan *p)
{
	int bad = plan_functions(db, target, t, stream, p) < 0;
	for (size_t g = 0; g < t->ntriggers + t->nrules; g++) {
		int rule = g >= t->ntriggers;
		const struct trigger *code = rule ? &t->rules[g - t->ntriggers] : &t->triggers[g];
		if (!apply_trigger_statement(db->ops->dialect, code, rule ? "CREATE RULE " : "CREATE TRIGGER ")) {
			struct buf why = BUF_INIT;
			buf_addf(&why, "table \"%s\": %s \"%s\": its SQL is not one CREATE %s statement: not made",
				 t->name, rule ? "rule" : "trigger", code->name, rule ? "RULE" : "TRIGGER");
			refuse(stream, t, why.buf);
			buf_release(&why);
			bad = 1;
			continue;
		}
		ALLOC_GROW(p->after, p->nafter + 1, p->after_alloc);
		p->after[p->nafter++] = xstrdup(code->sql);
	}
	return bad ? -1 : 0;
}

static void add_labels_sql(struct buf *out, char *const *v, size_t n)
{
	buf_addch(out, '(');
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s'%s'", i ? ", " : "", v[i]);
	buf_addch(out, ')');
}

/* The enum type of column i of t, where the target's engine makes one
 * for it (PostgreSQL): planned unless the target or the plan has one of
 * that name with the same values; one with other values is refused by
 * name.  -1 when refused. */
static int plan_enum_type(const struct sql_dialect *dl, const struct schema *target, const char *stream,
			  const char *src_engine, const struct table *t, size_t i, struct ddl_plan *p)
{
	const struct column *c = &t->cols[i];
	struct buf name = BUF_INIT, sql = BUF_INIT, undo = BUF_INIT, why = BUF_INIT;
	int ret = 0;
	sql_enum_type_name(&name, t, c, src_engine);
	const struct enum_type *has = schema_find_type(target, name.buf);
	if (!has)
		has = schema_find_type(&p->types, name.buf);
	if (!c->nlabels) {
		buf_addf(&why, "table \"%s\": column \"%s\" is an enum whose values the stream does not hold: "
			 "its type %s is not made", t->name, c->name, name.buf);
	} else if (has && !strv_equal(has->labels, has->nlabels, c->labels, c->nlabels)) {
		buf_addf(&why, "table \"%s\": column \"%s\": the target's enum type %s has the values ", t->name,
			 c->name, name.buf);
		add_labels_sql(&why, has->labels, has->nlabels);
		buf_adds(&why, ", the stream's ");
		add_labels_sql(&why, c->labels, c->nlabels);
		buf_adds(&why, ": not made (make them the same by hand)");
	} else if (!has) {
		struct enum_type *ty = schema_add_type(&p->types, name.buf);
		for (size_t l = 0; l < c->nlabels; l++) {
			ty->labels = xrealloc(ty->labels, (ty->nlabels + 1) * sizeof(*ty->labels));
			ty->labels[ty->nlabels++] = xstrdup(c->labels[l]);
		}
		sql_create_enum_type(&sql, dl, name.buf, c);
		sql_drop_type(&undo, name.buf);
		plan_add(p, &sql, &undo);
		plan_typed(p, t, name.buf, i);
	}
	if (why.len)
		ret = refuse(stream, t, why.buf);
	buf_release(&name);
	buf_release(&sql);
	buf_release(&undo);
	buf_release(&why);
	return ret;
}

/* The domain of column i of t, on its own engine (PostgreSQL): planned
 * unless the target or the plan has one of that name that says the same;
 * one that says otherwise is refused by name, with both definitions.
 * -1 when refused. */
static int plan_domain(const struct schema *target, const char *stream, const struct table *t, size_t i,
		       struct ddl_plan *p)
{
	const struct domain *dom = t->cols[i].domain;
	const struct domain *has = schema_find_domain(target, dom->name);
	struct buf sql = BUF_INIT, undo = BUF_INIT, why = BUF_INIT;
	int ret = 0;
	if (!has)
		has = schema_find_domain(&p->types, dom->name);
	if (!sql_domain_makeable(dom)) {
		buf_addf(&why, "table \"%s\": column \"%s\": its domain %s is not one name, type and expressions "
			 "(a ';' or a comment): not made", t->name, t->cols[i].name, dom->name);
	} else if (has && !domain_equal(has, dom)) {
		buf_addf(&why, "table \"%s\": column \"%s\": the target's domain is \"", t->name, t->cols[i].name);
		sql_create_domain(&why, has);
		buf_adds(&why, "\", the stream's \"");
		sql_create_domain(&why, dom);
		buf_adds(&why, "\": not made (make them the same by hand)");
	} else if (!has) {
		schema_add_domain(&p->types, domain_copy(dom));
		sql_create_domain(&sql, dom);
		sql_drop_type(&undo, dom->name);
		plan_add(p, &sql, &undo);
		plan_typed(p, t, dom->name, i);
	}
	if (why.len)
		ret = refuse(stream, t, why.buf);
	buf_release(&sql);
	buf_release(&undo);
	buf_release(&why);
	return ret;
}

/* The enum types and domains the tables and columns of d need, before
 * them; domains on their own engine only (elsewhere a column of one is of
 * its base type, with its checks: sql_create_table). */
static int plan_types(const struct sql_dialect *dl, const struct schema *target, const struct schema_diff *d,
		      const char *stream, const char *src_engine, struct ddl_plan *p)
{
	int bad = 0, same = !strcmp(src_engine, dl->engine);
	for (size_t i = 0; dl->enum_types && i < d->n; i++) {
		const struct schema_change *c = &d->v[i];
		const struct table *t = c->new_t;
		if (c->kind != SC_ADD_TABLE && c->kind != SC_ADD_COLUMN)
			continue;
		for (size_t col = 0; col < t->ncols; col++) {
			if (c->kind != SC_ADD_TABLE && col != c->new_i)
				continue;
			if (t->cols[col].domain && same) {
				if (plan_domain(target, stream, t, col, p) < 0)
					bad = 1;
			} else if (t->cols[col].type == VT_ENUM &&
				   plan_enum_type(dl, target, stream, src_engine, t, col, p) < 0) {
				bad = 1;
			}
		}
	}
	return bad ? -1 : 0;
}

/* The table (in d or the target) that table t inherits column col of t
 * from, with an id generator of its own there; NULL for none. */
static const struct table *generator_parent(const struct schema *target, const struct schema_diff *d,
					    const struct table *t, const char *col)
{
	for (size_t x = 0; x < t->ninherits; x++) {
		const struct table *parent = schema_find(target, t->inherits[x]);
		for (size_t i = 0; !parent && i < d->n; i++)
			if (d->v[i].kind == SC_ADD_TABLE && !strcmp(d->v[i].new_t->name, t->inherits[x]))
				parent = d->v[i].new_t;
		long pc = parent ? table_column_index(parent, col) : -1;
		if (pc >= 0 && parent->cols[pc].autoinc)
			return parent;
	}
	return NULL;
}

/* A table that inherits.  On PostgreSQL: CREATE TABLE ... INHERITS, its
 * parents made first (parents_first); a column it inherits with its
 * parent's id generator (Sakila's payment_p2007_01.payment_id, whose
 * default is payment's sequence) takes its values from that generator as
 * in the source, not from one of its own: its default is set to the
 * parent's sequence, named when the statement runs.  On another engine:
 * a table of its own (uncarried warns), and such a column is a plain
 * one, said here: no generator there is the parent's. */
static int plan_child_table(const struct sql_dialect *dl, const struct schema *target,
			    const struct schema_diff *d, const char *stream, const char *src_engine,
			    const struct table *t, struct ddl_plan *p, struct buf *err)
{
	int same = !strcmp(src_engine, dl->engine);
	struct table *copy = table_copy(t);
	struct buf sql = BUF_INIT, undo = BUF_INIT, name = BUF_INIT;
	const struct table **parents = xcalloc(t->ncols, sizeof(*parents));
	for (size_t i = 0; i < t->ncols; i++) {
		if (!t->cols[i].autoinc || !(parents[i] = generator_parent(target, d, t, t->cols[i].name)))
			continue;
		copy->cols[i].autoinc = 0;
		if (!same)
			warning("%s:%ld: --schema: table \"%s\": column \"%s\" takes its ids from the generator of "
				"\"%s\" in the source: made without one", stream, t->line, t->name, t->cols[i].name,
				parents[i]->name);
	}
	int rc = sql_create_table(&sql, dl, copy, src_engine, &p->dropped, err);
	sql_drop_table(&undo, dl, t->name);
	if (rc == 0)
		plan_add(p, &sql, &undo);
	for (size_t i = 0; rc == 0 && same && i < t->ncols; i++) {
		if (!parents[i])
			continue;
		buf_reset(&sql);
		buf_adds(&sql, "DO $dbpipe$BEGIN EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT "
			 "nextval(%L::regclass)', ");
		buf_reset(&name);
		sql_addf(&name, dl, "%T", t->name);
		sql_literal(&sql, dl, LIT_TEXT, name.buf, name.len);
		buf_adds(&sql, ", ");
		sql_literal(&sql, dl, LIT_TEXT, t->cols[i].name, strlen(t->cols[i].name));
		buf_adds(&sql, ", pg_catalog.pg_get_serial_sequence(");
		buf_reset(&name);
		sql_addf(&name, dl, "%T", parents[i]->name);
		sql_literal(&sql, dl, LIT_TEXT, name.buf, name.len);
		buf_adds(&sql, ", ");
		sql_literal(&sql, dl, LIT_TEXT, t->cols[i].name, strlen(t->cols[i].name));
		buf_adds(&sql, ")); END$dbpipe$");
		plan_add(p, &sql, NULL); /* goes with its table */
	}
	free(parents);
	table_free(copy);
	buf_release(&sql);
	buf_release(&undo);
	buf_release(&name);
	return rc;
}

/* The DDL of d in the order it can run: enum types and domains, tables, columns,
 * indexes, then foreign keys (their tables all exist by then).  Every
 * refusal is said before -1. */
static int plan_build(const struct apply_opts *o, const struct db *db, const struct schema *target,
		      const struct schema_diff *d, const char *stream, const char *src_engine, struct ddl_plan *p)
{
	const struct sql_dialect *dl = db->ops->dialect;
	struct buf sql = BUF_INIT, undo = BUF_INIT, err = BUF_INIT;
	int bad = uncarried(o, d, stream, src_engine, db->ops->engine) > 0;
	if (plan_types(dl, target, d, stream, src_engine, p) < 0)
		bad = 1;
	int same = !strcmp(src_engine, db->ops->engine);
	for (int pass = 0; pass < 5; pass++)
		for (size_t i = 0; i < d->n; i++) {
			const struct schema_change *c = &d->v[i];
			const struct table *t = c->new_t;
			int rc = 0, made = 1;
			buf_reset(&sql);
			buf_reset(&undo);
			buf_reset(&err);
			if (pass == 0 && c->kind == SC_ADD_TABLE && t->ninherits) {
				rc = plan_child_table(dl, target, d, stream, src_engine, t, p, &err);
				made = 0;
			} else if (pass == 0 && c->kind == SC_ADD_TABLE) {
				rc = sql_create_table(&sql, dl, t, src_engine, &p->dropped, &err);
				sql_drop_table(&undo, dl, t->name);
			} else if (pass == 1 && c->kind == SC_ADD_COLUMN) {
				rc = addable_column(stream, t, c->new_i);
				if (rc == 0)
					rc = sql_add_column(&sql, dl, t, c->new_i, src_engine, &p->dropped, &err);
				sql_drop_column(&undo, dl, t->name, t->cols[c->new_i].name);
			} else if (pass == 2 && c->kind == SC_ADD_TABLE) {
				for (size_t x = 0; x < t->nindexes; x++) {
					/* MySQL's own index of a foreign key is not one of the schema's */
					if (!strcmp(src_engine, "mysql") && strcmp(db->ops->engine, "mysql") &&
					    schema_index_of_reference(t, &t->indexes[x]))
						continue;
					/* left out, named by uncarried (--without-engine-indexes) */
					if (t->indexes[x].kind && !same)
						continue;
					buf_reset(&sql);
					sql_create_index(&sql, dl, t, &t->indexes[x]);
					plan_add(p, &sql, NULL); /* goes with its table */
				}
				made = 0;
			} else if (pass == 2 && c->kind == SC_ADD_INDEX && t->indexes[c->new_i].kind && !same) {
				made = 0; /* left out, named by uncarried */
			} else if (pass == 2 && c->kind == SC_ADD_INDEX) {
				sql_create_index(&sql, dl, t, &t->indexes[c->new_i]);
				sql_drop_index(&undo, dl, t, &t->indexes[c->new_i]);
			} else if (pass == 3 && c->kind == SC_ADD_TABLE && !dl->inline_references) {
				for (size_t r = 0; r < t->nrefs && rc == 0; r++) {
					buf_reset(&sql);
					buf_reset(&undo);
					rc = sql_add_reference(&sql, dl, t, &t->refs[r], &err);
					sql_drop_reference(&undo, dl, t, &t->refs[r]);
					if (rc < 0)
						break;
					/* in the write transaction, after the rows: a cycle
					 * of references (Sakila's store and staff) loads in
					 * any order, and ADD CONSTRAINT checks every row */
					if (!db->ops->ddl_commits) {
						ALLOC_GROW(p->after, p->nafter + 1, p->after_alloc);
						p->after[p->nafter++] = buf_detach(&sql);
					} else {
						plan_add(p, &sql, &undo);
					}
				}
				made = 0;
			} else if (pass == 3 && c->kind == SC_ADD_REFERENCE) {
				const struct ref *r = &t->refs[c->new_i];
				long col = r->ncols == 1 ? table_column_index(c->old_t, r->cols[0]) : 0;
				if (dl->inline_references && col < 0) {
					made = 0; /* made with its new column (sql_add_column) */
				} else if (dl->inline_references) {
					struct buf what = BUF_INIT;
					schema_change_describe(&what, c, "the target", "the stream");
					warning("%s: --schema: %s: not added, as %s adds a foreign key only with a new "
						"column", stream, what.buf, db->ops->engine);
					buf_release(&what);
					made = 0;
				} else {
					rc = sql_add_reference(&sql, dl, t, r, &err);
					sql_drop_reference(&undo, dl, t, r);
				}
			} else if (pass == 4 && c->kind == SC_ADD_TABLE && same) {
				rc = plan_triggers(db, target, t, stream, p);
				made = 0;
			} else {
				made = 0;
			}
			if (rc < 0) {
				if (err.len)
					refuse(stream, t, err.buf);
				bad = 1;
			} else if (made) {
				plan_add(p, &sql, &undo);
			}
		}
	buf_release(&sql);
	buf_release(&undo);
	buf_release(&err);
	if (p->dropped.len)
		warning("--schema: defaults of %s that %s cannot take are left out: %s", src_engine,
			db->ops->engine, p->dropped.buf);
	return bad ? -1 : 0;
}

static long find_trigger(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->ntriggers; i++)
		if (!strcmp(t->triggers[i].name, name))
			return (long)i;
	return -1;
}

/* An undo stream's drop_check and drop_trigger records (what its run
 * added), into p: dropped before the rows, which put back values such a
 * check may refuse, and which such a trigger must not fire for.  A check
 * is found in the target by its name, else by its expression; on MySQL
 * each is made again if the rows fail. */
static int plan_check_drops(struct db *db, const struct schema *target, const struct stream_reader *rd,
			    struct ddl_plan *p)
{
	const struct sql_dialect *dl = db->ops->dialect;
	struct buf sql = BUF_INIT, undo = BUF_INIT, err = BUF_INIT;
	int ret = 0;
	for (size_t i = 0; i < rd->nschema && ret == 0 && !strcmp(rd->purpose, "undo"); i++) {
		const struct schema_record *r = &rd->schema_records[i];
		if (r->kind == SC_DROP_TRIGGER && r->t->ntriggers) {
			const struct table *tt = schema_find(target, r->t->name);
			const struct trigger *g = &r->t->triggers[0];
			if (!tt || find_trigger(tt, g->name) < 0) {
				warning("%s: the undo stream drops trigger \"%s\" of table \"%s\", which the target "
					"does not have: nothing to drop", db->shown_url, g->name, r->t->name);
				continue;
			}
			buf_reset(&sql);
			buf_reset(&undo);
			sql_drop_trigger(&sql, dl, tt->name, g->name);
			if (db->ops->ddl_commits)
				buf_adds(&undo, tt->triggers[find_trigger(tt, g->name)].sql);
			plan_add(p, &sql, &undo);
			continue;
		}
		if (r->kind != SC_DROP_CHECK || !r->t->nchecks)
			continue;
		const struct table *tt = schema_find(target, r->t->name);
		const struct check *want = &r->t->checks[0], *ck = NULL;
		for (size_t c = 0; tt && c < tt->nchecks && !ck; c++)
			if (want->name ? tt->checks[c].name && !strcmp(tt->checks[c].name, want->name)
				       : check_equal(tt, tt->checks[c].expr, tt, want->expr))
				ck = &tt->checks[c];
		if (!ck) {
			warning("%s: the undo stream drops check %s%s%s(%s) of table \"%s\", which the target does "
				"not have: nothing to drop", db->shown_url, want->name ? "\"" : "",
				want->name ? want->name : "", want->name ? "\" " : "", want->expr, r->t->name);
			continue;
		}
		buf_reset(&sql);
		buf_reset(&undo);
		if (dl->alter == ALTER_NONE && db->ops->rebuild_table) {
			struct rebuild_edit e = { .drop_check = ck };
			if (db->ops->rebuild_table(db, tt->name, &e, 1, &sql) < 0)
				ret = error("%s: %s", db->shown_url, db->err.buf);
		} else if (!ck->name) {
			ret = error("%s: the undo stream drops check (%s) of table \"%s\", which the target gives no "
				    "name to drop it by: drop it by hand", db->shown_url, ck->expr, tt->name);
		} else {
			sql_drop_check(&sql, dl, tt->name, ck->name);
			if (db->ops->ddl_commits && sql_add_check(&undo, dl, tt, ck, db->ops->engine, &err) < 0)
				ret = error("%s: %s", db->shown_url, err.buf);
		}
		if (ret == 0)
			plan_add(p, &sql, &undo);
	}
	buf_release(&sql);
	buf_release(&undo);
	buf_release(&err);
	return ret;
}

/* Run the plan's statements, each said on stderr; -1 at the first that
 * fails (p->done say how many ran). */
static int plan_run(struct db *db, struct ddl_plan *p, int shown_only)
{
	for (p->done = 0; p->done < p->n; p->done++) {
		fprintf(stderr, "%s: schema: %s;%s\n", util_progname, p->v[p->done].sql,
			shown_only ? " (not run: dry run)" : "");
		if (!shown_only && db->ops->exec_ddl(db, p->v[p->done].sql) < 0)
			return error("%s: %s: %s", db->shown_url, p->v[p->done].sql, db->err.buf);
	}
	return 0;
}

int apply_undo_ddl(struct db *db, const char *undo)
{
	if (db->ops->exec_ddl(db, undo) < 0)
		return error("%s: undoing the schema step: %s: %s", db->shown_url, undo, db->err.buf);
	fprintf(stderr, "%s: schema undone: %s;\n", util_progname, undo);
	return 0;
}

/* MySQL: undo what the plan made, newest first; says what it did. */
static void plan_undo(struct db *db, struct ddl_plan *p)
{
	int ok = 1;
	for (size_t i = p->done; i-- > 0;) {
		if (!p->v[i].undo)
			continue;
		if (apply_undo_ddl(db, p->v[i].undo) < 0)
			ok = 0;
	}
	if (ok && p->done)
		error("the schema step is undone: %s is as before (MySQL commits DDL by itself, so it "
		      "was made and then taken back)", db->shown_url);
	else if (p->done)
		error("the schema step is undone only in part: see above for what %s still holds",
		      db->shown_url);
}

/* MySQL: undo the alters, then what the plan made; says what it did
 * (plan_undo says it when it made something). */
static void undo_all(struct db *db, struct ddl_plan *p)
{
	int altered = apply_alter_undo(db, &p->alter);
	plan_undo(db, p);
	if (altered < 0)
		error("the schema step is undone only in part: see above for what %s still holds",
		      db->shown_url);
	else if (altered > 0 && !p->done)
		error("the schema step is undone: %s is as before (MySQL commits DDL by itself, so it "
		      "was made and then taken back)", db->shown_url);
}

/* Without --schema: every table and column the target lacks, and the
 * indexes and foreign keys --schema would add too.  -1 when a table or
 * column is missing (the rows cannot be written), else 0 after warning
 * of the rest. */
static int refuse_missing(struct apply *a, const struct schema_diff *d)
{
	size_t tables = 0, columns = 0;
	struct buf what = BUF_INIT;
	for (size_t i = 0; i < d->n; i++) {
		const struct schema_change *c = &d->v[i];
		if (c->kind == SC_ADD_TABLE) {
			error("%s:%ld: unknown table \"%s\" (the target has no such table)", a->rd.name,
			      c->new_t->line, c->new_t->name);
			tables++;
		} else if (c->kind == SC_ADD_COLUMN) {
			error("%s:%ld: unknown column \"%s\" in table \"%s\"", a->rd.name, c->new_t->line,
			      c->new_t->cols[c->new_i].name, c->new_t->name);
			columns++;
		}
	}
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].kind != SC_ADD_INDEX && d->v[i].kind != SC_ADD_REFERENCE)
			continue;
		buf_reset(&what);
		schema_change_describe(&what, &d->v[i], "the target", "the stream");
		if (tables || columns)
			error("%s:%ld: %s", a->rd.name, d->v[i].new_t->line, what.buf);
		else
			warning("%s:%ld: %s (dbapply --schema adds it)", a->rd.name, d->v[i].new_t->line, what.buf);
	}
	buf_release(&what);
	if (!tables && !columns)
		return 0;
	incompatible(a->o, &a->target, &a->rd, d);
	return error("the target lacks %zu table%s and %zu column%s of the stream: dbapply --schema adds "
		     "them (and the indexes and foreign keys above), nothing was changed",
		     tables, tables == 1 ? "" : "s", columns, columns == 1 ? "" : "s");
}

/* A check or trigger of the stream that a table of the target lacks is
 * said, not made, without --schema (apply_alter.c adds it with); a trigger
 * the target has as other code, and within PostgreSQL another inheritance
 * or a trigger's function that differs, are said either way. */
static void warn_missing_checks(struct apply *a)
{
	struct schema_diff all;
	struct buf what = BUF_INIT;
	schema_diff_compute(&a->target, &a->rd.schema,
			    !strcmp(a->rd.engine ? a->rd.engine : "", a->db->ops->engine), &all);
	for (size_t i = 0; i < all.n; i++) {
		enum schema_change_kind k = all.v[i].kind;
		if ((k != SC_ADD_CHECK && k != SC_ADD_TRIGGER && k != SC_ALTER_TRIGGER && k != SC_ALTER_INHERITS &&
		     k != SC_ALTER_FUNCTION) ||
		    !apply_writes_table(a->o, a->rd.purpose, all.v[i].new_t->name) ||
		    ((k == SC_ADD_CHECK || k == SC_ADD_TRIGGER) && a->o->schema && a->db->ops->exec_ddl))
			continue; /* apply_alter.c adds it, or refuses it by name */
		buf_reset(&what);
		schema_change_describe(&what, &all.v[i], "the target", "the stream");
		warning("%s:%ld: %s (%s)", a->rd.name, all.v[i].new_t->line, what.buf,
			k == SC_ADD_CHECK	? "dbapply --schema adds it"
			: k == SC_ADD_TRIGGER ? "dbapply --schema adds it, on the same engine"
			: k == SC_ALTER_TRIGGER ? "dbapply does not change a trigger"
			: k == SC_ALTER_INHERITS ? "dbapply does not change a table's inheritance"
						 : "dbapply does not change a function");
	}
	buf_release(&what);
	schema_diff_release(&all);
}

/* A protected environment confirms --schema --mirror (and a rollback),
 * and is backed up, before any DDL of the transaction: the backup reads
 * from a connection of its own, which the locks of an ALTER or DROP would
 * keep waiting. */
static int confirm_ddl(struct apply *a, size_t nddl)
{
	if (!(nddl || (a->alter && a->alter->n)) || a->o->dry_run || !a->o->before_write)
		return 0;
	return a->o->before_write(a->o->before_write_ctx, NULL);
}

/* t, or where the plan made an enum type or domain for a column of t or a
 * function for its triggers, a copy that names it (type_made,
 * functions_made): undoing the table or column drops it too. */
static const struct table *with_types_made(struct apply *a, const struct ddl_plan *p, const struct table *t)
{
	struct table *copy = NULL;
	for (size_t i = 0; i < p->ntyped; i++) {
		if (strcmp(p->typed[i].table, t->name))
			continue;
		if (!copy && !(copy = schema_find(&a->made_tables, t->name))) {
			copy = table_copy(t);
			schema_add(&a->made_tables, copy);
		}
		if (p->typed[i].col == SIZE_MAX) {
			copy->functions_made = xrealloc(copy->functions_made,
							(copy->nfunctions_made + 1) * sizeof(*copy->functions_made));
			copy->functions_made[copy->nfunctions_made++] = xstrdup(p->typed[i].name);
			continue;
		}
		free(copy->cols[p->typed[i].col].type_made);
		copy->cols[p->typed[i].col].type_made = xstrdup(p->typed[i].name);
	}
	return copy ? copy : t;
}

int apply_schema_step(struct apply *a)
{
	struct schema_diff d;
	struct ddl_plan p;
	int ret = -1;
	/* An undo stream makes again what --schema --mirror dropped. */
	int schema = a->o->schema || !strcmp(a->rd.purpose, "undo");
	memset(&p, 0, sizeof(p));
	warn_missing_checks(a);
	wanted_changes(a->o, a->rd.purpose, &a->target, &a->rd, a->db->ops->engine, &d);
	if (a->db->ops->exec_ddl && !a->db->ops->ddl_commits && plan_check_drops(a->db, &a->target, &a->rd, &p) < 0) {
		schema_diff_release(&d);
		return -1;
	}
	/* The changes to what the target has, refused or planned (and what
	 * the drops take away kept) before any DDL. */
	if (schema && a->db->ops->exec_ddl && !a->db->ops->ddl_commits) {
		a->alter = &a->alter_own;
		if (apply_alter_plan(a->o, a->db, &a->target, &a->rd, a->tmpdir, a->alter) < 0) {
			schema_diff_release(&d);
			return -1;
		}
		a->sum->schema_drops += a->alter->destructive;
	}
	if (!d.n && !p.n && !(a->alter && a->alter->n)) {
		schema_diff_release(&d);
		return 0;
	}
	/* With --schema on MySQL the DDL ran before this transaction
	 * (apply_schema_outside), or with --sql was planned into a->target
	 * (apply_schema_unrun): what is left is refused as without it. */
	if (!schema || !a->db->ops->exec_ddl || a->db->ops->ddl_commits) {
		if (schema && !a->db->ops->exec_ddl)
			error("%s: --schema: %s targets cannot take schema changes", a->db->shown_url,
			      a->db->ops->engine);
		ret = refuse_missing(a, &d);
		schema_diff_release(&d);
		return ret;
	}
	if (!incompatible(a->o, &a->target, &a->rd, &d) &&
	    plan_build(a->o, a->db, &a->target, &d, a->rd.name, a->rd.engine ? a->rd.engine : "", &p) == 0 &&
	    confirm_ddl(a, p.n) == 0 &&
	    (!a->alter || apply_alter_run(a->db, a->alter, ALTER_BEFORE_SCHEMA, &a->target, 0) == 0) &&
	    plan_run(a->db, &p, 0) == 0 &&
	    (!a->alter || apply_alter_run(a->db, a->alter, ALTER_BEFORE_ROWS, &a->target, 0) == 0)) {
		enum schema_change_kind k;
		apply_sql_alters(a, ALTER_BEFORE_SCHEMA);
		for (size_t i = 0; i < p.n; i++)
			apply_sql_ddl(a, p.v[i].sql);
		apply_sql_alters(a, ALTER_BEFORE_ROWS);
		for (size_t i = 0; i < p.nafter; i++) {
			ALLOC_GROW(a->after_rows, a->nafter_rows + 1, a->after_rows_alloc);
			a->after_rows[a->nafter_rows++] = p.after[i];
		}
		p.nafter = 0;
		for (size_t i = 0; i < d.n; i++)
			if (undoing(d.v[i].kind, a->db->ops->dialect, &k))
				made_add(a, k, with_types_made(a, &p, d.v[i].new_t), d.v[i].new_i);
		/* The data step works on the target as it is now. */
		schema_release(&a->target);
		schema_init(&a->target);
		ret = a->db->ops->load_schema(a->db, &a->target) < 0
			      ? error("%s: %s", a->db->shown_url, a->db->err.buf) : 0;
	}
	plan_release(&p);
	schema_diff_release(&d);
	return ret;
}

int apply_schema_after_rows(struct apply *a)
{
	for (size_t i = 0; i < a->nafter_rows; i++) {
		fprintf(stderr, "%s: schema: %s; (after the rows)\n", util_progname, a->after_rows[i]);
		if (a->db->ops->exec_ddl(a->db, a->after_rows[i]) < 0)
			return error("%s: %s: %s", a->db->shown_url, a->after_rows[i], a->db->err.buf);
		apply_sql_ddl_after_rows(a, a->after_rows[i]);
	}
	return 0;
}

int apply_schema_after_commit(struct apply *a)
{
	const struct ddl_plan *p = (const struct ddl_plan *)a->schema_outside;
	for (size_t i = 0; p && i < p->nafter; i++) {
		fprintf(stderr, "%s: schema: %s; (after the rows' commit)\n", util_progname, p->after[i]);
		if (a->db->ops->exec_ddl(a->db, p->after[i]) < 0)
			return error("%s: %s: %s", a->db->shown_url, p->after[i], a->db->err.buf);
	}
	return 0;
}

/* Whether alters has a step to run before the rows (of time
 * ALTER_BEFORE_SCHEMA or ALTER_BEFORE_ROWS). */
static int alters_before_rows(const struct alter_plan *alters)
{
	for (size_t i = 0; i < alters->n; i++)
		if (alters->v[i].when <= ALTER_BEFORE_ROWS)
			return 1;
	return 0;
}

/* What the changes d make, as the drops that undo them, into p->made. */
static void note_made(struct ddl_plan *p, const struct schema_diff *d, const struct db *db)
{
	for (size_t i = 0; i < d->n; i++) {
		enum schema_change_kind k;
		if (!undoing(d->v[i].kind, db->ops->dialect, &k))
			continue;
		ALLOC_GROW(p->made, p->nmade + 1, p->made_alloc);
		p->made[p->nmade].kind = k;
		p->made[p->nmade].table = xstrdup(d->v[i].new_t->name);
		p->made[p->nmade++].i = d->v[i].new_i;
	}
}

int apply_schema_unrun(struct apply *a)
{
	const struct ddl_plan *p = (const struct ddl_plan *)a->schema_outside;
	struct schema_diff d;
	if (!p || !p->unrun)
		return 0;
	if (strcmp(a->rd.engine ? a->rd.engine : "", a->db->ops->engine))
		return error("--sql: the schema step would make tables or columns of a %s stream, which %s commits "
			     "by itself, and the rows cannot be checked against their %s types before they are made: "
			     "make the schema first (dbdump-rows --schema-only SOURCE | dbapply --schema %s), then "
			     "dbapply --sql", a->rd.engine ? a->rd.engine : "(unknown engine)", a->db->ops->engine,
			     a->db->ops->engine, a->db->shown_url);
	a->schema_unrun = 1;
	a->sum->rows_unrun = 1;
	wanted_changes(a->o, a->rd.purpose, &a->target, &a->rd, a->db->ops->engine, &d);
	for (size_t i = 0; i < d.n; i++) {
		const struct schema_change *c = &d.v[i];
		struct table *tt = schema_find(&a->target, c->new_t->name);
		if (c->kind == SC_ADD_TABLE) {
			tt = table_copy(c->new_t);
			tt->unmade = 1;
			tt->has_triggers = 0; /* made after the rows' commit */
			for (size_t j = 0; j < tt->ncols; j++)
				tt->cols[j].unmade = 1;
			schema_add(&a->target, tt);
		} else if (!tt) {
			continue; /* a table's own index or foreign key, made with it above */
		} else if (c->kind == SC_ADD_COLUMN) {
			table_add_column_copy(tt, &c->new_t->cols[c->new_i])->unmade = 1;
		} else if (c->kind == SC_ADD_INDEX) {
			table_add_index_copy(tt, &c->new_t->indexes[c->new_i]);
		} else if (c->kind == SC_ADD_REFERENCE) {
			table_add_ref_copy(tt, &c->new_t->refs[c->new_i]);
		}
	}
	schema_diff_release(&d);
	if (apply_alter_unrun(a->db, a->alter, &a->target) < 0) /* p->alter */
		return -1;
	/* in the order apply_schema_outside runs them */
	for (size_t i = 0; i < p->alter.n; i++)
		if (p->alter.v[i].when == ALTER_BEFORE_SCHEMA)
			apply_sql_ddl(a, p->alter.v[i].sql);
	for (size_t i = 0; i < p->n; i++)
		apply_sql_ddl(a, p->v[i].sql);
	for (size_t i = 0; i < p->alter.n; i++)
		if (p->alter.v[i].when == ALTER_BEFORE_ROWS)
			apply_sql_ddl(a, p->alter.v[i].sql);
	for (size_t i = 0; i < p->nafter; i++)
		apply_sql_ddl_after_commit(a, p->after[i]);
	return 0;
}

/* A copy of input in dir, the whole stream (it may be stdin). */
static char *copy_input(const char *input, const char *dir)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/schema-input", dir);
	FILE *in = strcmp(input, "-") ? fopen(input, "rb") : stdin, *out = fopen(path.buf, "wb");
	char chunk[65536];
	size_t n;
	int ok = in && out;
	while (ok && (n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		ok = fwrite(chunk, 1, n, out) == n;
	ok = ok && !ferror(in);
	if (!ok)
		error("%s: %s", !in ? input : path.buf, strerror(errno));
	if (in && in != stdin)
		fclose(in);
	if (out && fclose(out) != 0)
		ok = 0;
	if (!ok) {
		unlink(path.buf);
		buf_release(&path);
		return NULL;
	}
	return buf_detach(&path);
}

/* A dry run on MySQL that checks the rows against the schema as planned
 * (apply_schema_unrun): each statement in the order a run would make it,
 * none run. */
static void show_unrun(const struct ddl_plan *p)
{
	for (enum alter_when w = ALTER_BEFORE_SCHEMA; w <= ALTER_AFTER_COMMIT; w++) {
		for (size_t i = 0; w == ALTER_BEFORE_ROWS && i < p->n; i++) /* the step's own, after those before it */
			fprintf(stderr, "%s: schema: %s; (not run: dry run)\n", util_progname, p->v[i].sql);
		for (size_t i = 0; i < p->alter.n; i++)
			if (p->alter.v[i].when == w)
				fprintf(stderr, "%s: schema: %s; (%snot run: dry run)\n", util_progname, p->alter.v[i].sql,
					w == ALTER_AFTER_COMMIT ? "after the rows' commit; " : "");
		/* the new tables' triggers, after the drops (apply.c's order) */
		for (size_t i = 0; w == ALTER_AFTER_COMMIT && i < p->nafter; i++)
			fprintf(stderr, "%s: schema: %s; (after the rows' commit; not run: dry run)\n", util_progname,
				p->after[i]);
	}
}

int apply_schema_outside(struct db *db, const char *input, const struct apply_opts *o, const char *dir,
			 char **copy, struct apply_schema_undo **undo)
{
	struct stream_reader rd;
	struct schema target;
	struct schema_diff d;
	struct ddl_plan *p = xcalloc(1, sizeof(*p));
	int got, ret = -1;
	*undo = NULL;
	schema_init(&target);
	memset(&d, 0, sizeof(d));
	if (!(*copy = copy_input(input, dir)))
		goto out_plan;
	/* Read and check all of it now: the DDL below cannot be rolled back. */
	int opened = stream_open(&rd, *copy);
	rd.take_ranges = 1; /* read through here, used by the data step */
	if (opened < 0) {
		stream_close(&rd);
		goto out_plan;
	}
	free(rd.name); /* messages name the input, not the copy */
	rd.name = xstrdup(strcmp(input, "-") ? input : "<stdin>");
	while ((got = stream_next(&rd)) > 0)
		;
	if (got < 0 || db->ops->load_schema(db, &target) < 0) {
		if (got == 0)
			error("%s: %s", db->shown_url, db->err.buf);
		goto out;
	}
	wanted_changes(o, rd.purpose, &target, &rd, db->ops->engine, &d);
	if (plan_check_drops(db, &target, &rd, p) < 0 || incompatible(o, &target, &rd, &d) || plan_build(o, db, &target, &d, rd.name, rd.engine ? rd.engine : "", p) < 0 ||
	    apply_alter_plan(o, db, &target, &rd, dir, &p->alter) < 0)
		goto out;
	/* A protected environment confirms (and is backed up) before a drop
	 * that MySQL cannot take back. */
	if (p->alter.destructive && !o->dry_run && o->before_write &&
	    o->before_write(o->before_write_ctx, NULL) < 0)
		goto out;
	/* --sql: no DDL runs, MySQL would commit it.  What comes after the
	 * rows' commit (--mirror's drops, triggers) ends the script; the
	 * tables, columns, indexes and foreign keys the step makes before
	 * the rows are planned into the target's schema, and the rows checked
	 * against it (apply_schema_unrun), as are the changes to the columns
	 * the target has.  A check added to a table the target has cannot be
	 * planned so: it is shown, and refused by the caller.  A plain dry run
	 * checks the rows so too, where the stream is of the target's engine
	 * (else its columns' types are known only once made): it shows the
	 * statements and the rows' counts, and tries no row on the server. */
	if (o->dry_run && apply_alter_plannable(&p->alter) &&
	    (o->sql || !strcmp(rd.engine ? rd.engine : "", db->ops->engine))) {
		if (!o->sql)
			show_unrun(p);
		p->unrun = p->n || p->nafter || alters_before_rows(&p->alter);
		note_made(p, &d, db);
		ret = 0;
		goto out;
	}
	if (o->dry_run && (p->n || p->alter.n || p->nafter)) {
		if (apply_alter_run(db, &p->alter, ALTER_BEFORE_SCHEMA, &target, 1) < 0)
			goto out;
		plan_run(db, p, 1);
		for (size_t i = 0; i < p->nafter; i++)
			fprintf(stderr, "%s: schema: %s; (after the rows' commit; not run: dry run)\n", util_progname,
				p->after[i]);
		for (enum alter_when w = ALTER_BEFORE_ROWS; w <= ALTER_AFTER_COMMIT; w++)
			if (apply_alter_run(db, &p->alter, w, &target, 1) < 0)
				goto out;
		if (!o->sql) /* whose refusal says it */
			warning("--dry-run: %s commits DDL by itself, so a dry run runs none of it, and the rows "
				"cannot be tried against a schema that is not there: nothing was written",
				db->ops->engine);
		ret = 1;
		goto out;
	}
	if (apply_alter_run(db, &p->alter, ALTER_BEFORE_SCHEMA, &target, 0) < 0 || plan_run(db, p, 0) < 0) {
		undo_all(db, p);
		goto out;
	}
	if (apply_alter_run(db, &p->alter, ALTER_BEFORE_ROWS, &target, 0) < 0) {
		undo_all(db, p);
		goto out;
	}
	note_made(p, &d, db);
	ret = 0;
out:
	schema_diff_release(&d);
	schema_release(&target);
	stream_close(&rd);
out_plan:
	if (ret == 0 && (p->n || p->alter.n || p->nafter)) {
		*undo = (struct apply_schema_undo *)p;
	} else {
		plan_release(p);
		free(p);
	}
	return ret;
}

void apply_schema_undo(struct db *db, struct apply_schema_undo *undo)
{
	struct ddl_plan *p = (struct ddl_plan *)undo;
	if (!p)
		return;
	undo_all(db, p);
	plan_release(p);
	free(p);
}

struct alter_plan *apply_schema_alters(const struct apply_schema_undo *undo)
{
	return undo ? &((struct ddl_plan *)undo)->alter : NULL;
}

void apply_schema_note_made(struct apply *a, const struct apply_schema_undo *undo)
{
	const struct ddl_plan *p = (const struct ddl_plan *)undo;
	for (size_t i = 0; p && i < p->nmade; i++) {
		const struct table *t = schema_find(&a->rd.schema, p->made[i].table);
		if (t)
			made_add(a, p->made[i].kind, t, p->made[i].i);
	}
}

/* An undo stream's alter_column: the column as it was before the run
 * (its type, NOT NULL, default), from what it is now in the target. */
static int alter_back(struct apply *a, const struct schema_record *r, struct buf *sql)
{
	const struct table *now = schema_find(&a->target, r->t->name);
	long i = now ? table_column_index(now, r->t->cols[0].name) : -1;
	struct buf err = BUF_INIT;
	int ret = 0;
	if (a->db->ops->dialect->alter == ALTER_NONE)
		ret = error("%s: the undo stream changes column \"%s\".\"%s\" back, which %s cannot",
			    a->db->shown_url, r->t->name, r->t->cols[0].name, a->db->ops->engine);
	else if (sql_alter_column(sql, a->db->ops->dialect, i >= 0 ? &now->cols[i] : NULL, r->t, 0,
				  a->rd.engine ? a->rd.engine : "", &err) < 0)
		ret = error("%s: %s", a->rd.name, err.buf);
	buf_release(&err);
	return ret;
}

/* An undo stream's add_reference: the foreign key --schema --mirror
 * dropped, made again after the rows (which may have been what broke it). */
static int add_back(struct apply *a, const struct schema_record *r, struct buf *sql)
{
	struct buf err = BUF_INIT;
	int ret = sql_add_reference(sql, a->db->ops->dialect, r->t, &r->t->refs[0], &err) < 0
			  ? error("%s: %s", a->rd.name, err.buf) : 0;
	buf_release(&err);
	return ret;
}

/* SQLite: whether undo record r is made by rebuilding its table (a column
 * as it was, a foreign key again). */
static int rebuilds_back(const struct apply *a, const struct schema_record *r)
{
	return a->db->ops->rebuild_table && a->db->ops->dialect->alter == ALTER_NONE &&
	       ((r->kind == SC_ALTER_COLUMN && r->t->ncols) || (r->kind == SC_ADD_REFERENCE && r->t->nrefs) ||
		(r->kind == SC_ADD_CHECK && r->t->nchecks) ||
		/* a UNIQUE constraint of its CREATE TABLE, put back there */
		(r->kind == SC_ADD_INDEX && r->t->nindexes && r->t->indexes[0].unique &&
		 !strncmp(r->t->indexes[0].name, "sqlite_autoindex_", 17)));
}

/* SQLite: undo records from the i-th on that rebuild the same table, one
 * after the other, made by one rebuild from the table's text as it is now
 * (its rows copied once); how many it took, or -1. */
static long rebuild_back(struct apply *a, size_t i, struct buf *sql)
{
	const char *table = a->rd.schema_records[i].t->name;
	struct rebuild_edit *e = NULL;
	char **clauses = NULL;
	size_t n = 0, alloc = 0, nclauses = 0, clauses_alloc = 0;
	long took = 0;
	for (size_t j = i; j < a->rd.nschema && took == 0; j++) {
		const struct schema_record *r = &a->rd.schema_records[j];
		if (!rebuilds_back(a, r) || strcmp(r->t->name, table))
			break;
		ALLOC_GROW(e, n + 1, alloc);
		memset(&e[n], 0, sizeof(*e));
		if (r->kind == SC_ALTER_COLUMN) {
			e[n].col = &r->t->cols[0];
		} else if (r->kind == SC_ADD_REFERENCE) {
			e[n].add_ref = &r->t->refs[0];
		} else {
			struct buf clause = BUF_INIT, err = BUF_INIT;
			if (r->kind == SC_ADD_INDEX)
				sql_unique_clause(&clause, a->db->ops->dialect, &r->t->indexes[0]);
			else if (sql_check_clause(&clause, a->db->ops->dialect, r->t, &r->t->checks[0],
						  a->rd.engine ? a->rd.engine : "", &err) < 0)
				took = error("%s: %s", a->rd.name, err.buf);
			ALLOC_GROW(clauses, nclauses + 1, clauses_alloc);
			e[n].add_constraint = clauses[nclauses++] = buf_detach(&clause);
			buf_release(&err);
		}
		n++;
	}
	if (took == 0)
		took = a->db->ops->rebuild_table(a->db, table, e, n, sql) < 0
			       ? error("%s: %s", a->db->shown_url, a->db->err.buf) : (long)n;
	for (size_t k = 0; k < nclauses; k++)
		free(clauses[k]);
	free(clauses);
	free(e);
	return took;
}

/* One statement of an undo stream's drops, said; -1 when it fails. */
static int run_drop(struct apply *a, const char *sql, int after_commit)
{
	fprintf(stderr, "%s: schema: %s;%s\n", util_progname, sql, after_commit ? " (after the rows' commit)" : "");
	if (a->db->ops->exec_ddl(a->db, sql) < 0)
		return error("%s: %s: %s", a->db->shown_url, sql, a->db->err.buf);
	return 0;
}

int apply_undo_drops_table(const struct stream_reader *rd, const char *name)
{
	for (size_t i = 0; !strcmp(rd->purpose, "undo") && i < rd->nschema; i++)
		if (rd->schema_records[i].kind == SC_DROP_TABLE && !strcmp(rd->schema_records[i].t->name, name))
			return 1;
	return 0;
}

int apply_undo_check_made_rows(struct apply *a)
{
	struct row r;
	int ret = 0;
	for (size_t i = 0; !strcmp(a->rd.purpose, "undo") && i < a->rd.nschema && ret == 0; i++) {
		const struct schema_record *rec = &a->rd.schema_records[i];
		const struct table *tt = rec->kind == SC_DROP_TABLE ? schema_find(&a->target, rec->t->name) : NULL;
		uint64_t deletes = 0, rows = 0;
		struct db_cursor *cur;
		int got;
		if (!tt)
			continue; /* apply_schema_drop_made names it */
		/* the rows its section deletes (none without one) */
		for (size_t j = 0; j < a->nplans; j++)
			if (!strcmp(a->plans[j].st->name, tt->name) && a->plans[j].counts)
				deletes = a->plans[j].counts->deletes;
		if (a->db->ops->scan_open(a->db, tt, &cur) < 0)
			return error("%s: table \"%s\": %s", a->db->shown_url, tt->name, a->db->err.buf);
		row_init(&r, tt->ncols);
		while ((got = a->db->ops->scan_next(cur, &r)) > 0)
			rows++;
		a->db->ops->scan_close(cur);
		row_release(&r);
		if (got < 0)
			return error("%s: table \"%s\": %s", a->db->shown_url, tt->name, a->db->err.buf);
		if (rows <= deletes)
			continue;
		rows -= deletes;
		if (a->o->force)
			warning("--force: table \"%s\" holds %llu row%s that the undone run did not write: dropped "
				"with it", tt->name, (unsigned long long)rows, rows == 1 ? "" : "s");
		else
			ret = error("%s: table \"%s\", which the undone run made, holds %llu row%s that it did not "
				    "write (made since): the rollback drops the table, and %s with it (--force drops "
				    "%s too)", a->rd.name, tt->name, (unsigned long long)rows, rows == 1 ? "" : "s",
				    rows == 1 ? "it" : "them", rows == 1 ? "it" : "them");
	}
	return ret;
}

/* Whether undo record r drops a foreign key into a table the undo stream
 * drops (one the target's own table got to a table the run made). */
static int drops_reference_into_made(const struct stream_reader *rd, const struct schema_record *r)
{
	return r->kind == SC_DROP_REFERENCE && r->t->nrefs && apply_undo_drops_table(rd, r->t->refs[0].table);
}

/* After undo record r's table or column is dropped: the enum types and
 * domains its run made for it, and (a table) the functions it made for
 * the table's triggers; each said, -1 at the first that fails. */
static int drop_made_for(struct apply *a, const struct schema_record *r, int after_commit)
{
	struct buf sql = BUF_INIT;
	int ret = 0;
	for (size_t c = 0; ret == 0 && c < r->t->ncols; c++) {
		const char *type = r->t->cols[c].type_made;
		if (!type)
			continue;
		if (!sql_is_type_name(type)) {
			ret = error("%s: the undo stream's type of \"%s\".\"%s\" is not a type's name: %s", a->rd.name,
				    r->t->name, r->t->cols[c].name, type);
			break;
		}
		buf_reset(&sql);
		sql_drop_type(&sql, type);
		ret = run_drop(a, sql.buf, after_commit);
	}
	for (size_t f = 0; ret == 0 && r->kind == SC_DROP_TABLE && f < r->t->nfunctions_made; f++) {
		const char *fn = r->t->functions_made[f];
		if (!sql_is_function_signature(fn)) {
			ret = error("%s: the undo stream's function of \"%s\" is not a function's signature: %s",
				    a->rd.name, r->t->name, fn);
			break;
		}
		buf_reset(&sql);
		buf_addf(&sql, "DROP FUNCTION %s", fn);
		ret = run_drop(a, sql.buf, after_commit);
	}
	buf_release(&sql);
	return ret;
}

/* Which of the n tables left to drop (those with left[k] set) has a
 * foreign key into table k, other than to itself: the first, or n. */
static size_t referrer_left(const struct table *const *now, const int *left, size_t n, size_t k)
{
	for (size_t j = 0; j < n; j++)
		for (size_t x = 0; j != k && left[j] && x < now[j]->nrefs; x++)
			if (!strcmp(now[j]->refs[x].table, now[k]->name))
				return j;
	return n;
}

/* The tables of undo records rec[0..n) (now: each as the target has it),
 * dropped whole, then what its run made for them.  The order is
 * our own, children first: a table goes once no other table left refers
 * to it.  When every one left is referred to, a foreign-key cycle (Sakila's
 * store and staff, NOT NULL both ways and not deferrable), the foreign keys
 * of the others into the first of them are dropped, then it.  Not DROP ...
 * CASCADE, which would as well drop, unsaid, a foreign key of a table the
 * run did not make (one a user added since): that one stops the rollback,
 * which then writes nothing where DDL is transactional.  Not one DROP TABLE
 * of them all: MariaDB drops such a list in part when a later one fails.
 * SQLite has no foreign key to drop by itself (inline_references) and needs
 * none: its foreign keys wait for the commit, by which the whole cycle is
 * gone. */
static int drop_tables_made(struct apply *a, const struct schema_record *const *rec,
			    const struct table *const *now, size_t n, int after_commit)
{
	const struct sql_dialect *dl = a->db->ops->dialect;
	struct buf sql = BUF_INIT;
	int *left = xcalloc(n + 1, sizeof(*left)), ret = 0;
	for (size_t k = 0; k < n; k++)
		left[k] = 1;
	for (size_t done = 0; done < n && ret == 0; done++) {
		size_t k = n;
		for (size_t i = 0; i < n && k == n; i++)
			if (left[i] && referrer_left(now, left, n, i) == n)
				k = i;
		for (size_t i = 0; i < n && k == n; i++) /* a cycle: the first left */
			if (left[i])
				k = i;
		for (size_t j = 0; j < n && ret == 0 && !dl->inline_references; j++)
			for (size_t x = 0; j != k && left[j] && x < now[j]->nrefs && ret == 0; x++) {
				if (strcmp(now[j]->refs[x].table, now[k]->name))
					continue;
				buf_reset(&sql);
				sql_drop_reference(&sql, dl, now[j], &now[j]->refs[x]);
				ret = run_drop(a, sql.buf, after_commit);
			}
		if (ret < 0)
			break;
		buf_reset(&sql);
		sql_drop_table(&sql, dl, now[k]->name);
		left[k] = 0;
		ret = run_drop(a, sql.buf, after_commit);
	}
	/* Then what the run made for them, once every table is gone: a
	 * function is kept with the first table whose triggers call it, and
	 * the others' may call it too (Sakila's last_updated()). */
	for (size_t k = 0; k < n && ret == 0; k++)
		ret = drop_made_for(a, rec[k], after_commit);
	free(left);
	buf_release(&sql);
	return ret;
}

int apply_schema_drop_made(struct apply *a, int after_commit)
{
	const struct sql_dialect *dl = a->db->ops->dialect;
	struct buf sql = BUF_INIT;
	const struct schema_record **rec = xcalloc(a->rd.nschema + 1, sizeof(*rec));
	const struct table **now = xcalloc(a->rd.nschema + 1, sizeof(*now));
	size_t n = 0;
	int ret = 0;
	for (size_t i = 0; !strcmp(a->rd.purpose, "undo") && i < a->rd.nschema && ret == 0; i++) {
		const struct schema_record *r = &a->rd.schema_records[i];
		if (r->kind != SC_DROP_TABLE)
			continue;
		rec[n] = r;
		if (!(now[n++] = schema_find(&a->target, r->t->name)))
			ret = error("%s: the undo stream drops table \"%s\", which %s does not have", a->rd.name,
				    r->t->name, a->db->shown_url);
	}
	if (n && ret == 0 && !a->db->ops->exec_ddl)
		ret = error("%s: the undo stream drops what its run made in the schema, and %s targets cannot",
			    a->db->shown_url, a->db->ops->engine);
	/* Their rules first: one may name a table dropped before its own
	 * (Sakila's payment rules insert into the children). */
	for (size_t k = 0; k < n && ret == 0 && !strcmp(a->db->ops->engine, "postgresql"); k++)
		for (size_t g = 0; g < rec[k]->t->nrules && ret == 0; g++) {
			buf_reset(&sql);
			sql_addf(&sql, dl, "DROP RULE IF EXISTS %I ON %T", rec[k]->t->rules[g].name, rec[k]->t->name);
			ret = run_drop(a, sql.buf, after_commit);
		}
	/* Then the foreign keys the run gave the target's own tables into
	 * them, which would keep them from being dropped. */
	for (size_t i = 0; n && i < a->rd.nschema && ret == 0; i++) {
		const struct schema_record *r = &a->rd.schema_records[i];
		if (!drops_reference_into_made(&a->rd, r))
			continue;
		buf_reset(&sql);
		sql_drop_reference(&sql, dl, r->t, &r->t->refs[0]);
		ret = run_drop(a, sql.buf, after_commit);
	}
	if (n && ret == 0)
		ret = drop_tables_made(a, rec, now, n, after_commit);
	free(rec);
	free(now);
	buf_release(&sql);
	return ret;
}

int apply_schema_drops(struct apply *a, int after_commit)
{
	const struct sql_dialect *dl = a->db->ops->dialect;
	struct buf sql = BUF_INIT, err = BUF_INIT;
	int ret = 0;
	if (strcmp(a->rd.purpose, "undo") || !a->rd.nschema)
		return 0;
	if (!a->db->ops->exec_ddl)
		return error("%s: the undo stream drops what its run made in the schema, and %s targets "
			     "cannot", a->db->shown_url, a->db->ops->engine);
	for (size_t i = 0; i < a->rd.nschema && ret == 0; i++) {
		const struct schema_record *r = &a->rd.schema_records[i];
		buf_reset(&sql);
		long took = 1;
		if (r->kind == SC_DROP_TABLE || drops_reference_into_made(&a->rd, r))
			continue; /* apply_schema_drop_made's */
		if (rebuilds_back(a, r)) {
			if ((took = rebuild_back(a, i, &sql)) < 0)
				ret = -1;
			else
				i += (size_t)took - 1;
		} else if (r->kind == SC_DROP_COLUMN)
			sql_drop_column(&sql, dl, r->t->name, r->t->cols[0].name);
		else if (r->kind == SC_DROP_INDEX)
			sql_drop_index(&sql, dl, r->t, &r->t->indexes[0]);
		else if (r->kind == SC_DROP_REFERENCE)
			sql_drop_reference(&sql, dl, r->t, &r->t->refs[0]);
		else if (r->kind == SC_ALTER_COLUMN && alter_back(a, r, &sql) < 0)
			ret = -1;
		else if (r->kind == SC_ADD_INDEX && r->t->nindexes)
			sql_create_index(&sql, dl, r->t, &r->t->indexes[0]);
		else if (r->kind == SC_ADD_REFERENCE && r->t->nrefs && add_back(a, r, &sql) < 0)
			ret = -1;
		else if (r->kind == SC_ADD_CHECK && r->t->nchecks &&
			 sql_add_check(&sql, dl, r->t, &r->t->checks[0], a->rd.engine ? a->rd.engine : "",
				       &err) < 0)
			ret = error("%s: %s", a->rd.name, err.buf);
		else if (r->kind == SC_ADD_TRIGGER && r->t->ntriggers && !apply_trigger_statement(dl, &r->t->triggers[0], "CREATE TRIGGER "))
			ret = error("%s: the undo stream's trigger \"%s\" of table \"%s\" is not one CREATE TRIGGER "
				    "statement", a->rd.name, r->t->triggers[0].name, r->t->name);
		else if (r->kind == SC_ADD_TRIGGER && r->t->ntriggers)
			buf_adds(&sql, r->t->triggers[0].sql);
		else if (r->kind != SC_ALTER_COLUMN && r->kind != SC_ADD_INDEX && r->kind != SC_ADD_REFERENCE &&
			 r->kind != SC_ADD_CHECK && r->kind != SC_ADD_TRIGGER)
			continue; /* its restores and check drops ran before the rows */
		if (ret < 0 || !sql.len)
			continue;
		ret = run_drop(a, sql.buf, after_commit);
		/* then the enum types and domains the run made for the column */
		if (ret == 0 && r->kind == SC_DROP_COLUMN)
			ret = drop_made_for(a, r, after_commit);
	}
	buf_release(&sql);
	buf_release(&err);
	return ret;
}

void apply_schema_keep(struct apply_schema_undo *undo)
{
	struct ddl_plan *p = (struct ddl_plan *)undo;
	if (!p)
		return;
	plan_release(p);
	free(p);
}
