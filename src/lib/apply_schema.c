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

#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

struct ddl_plan {
	struct ddl_step *v;
	size_t n, alloc;
	struct made_change *made;
	size_t nmade, made_alloc;
	size_t done;        /* statements run so far */
	struct buf dropped; /* defaults not carried across engines */
	struct alter_plan alter; /* MySQL: the alters and drops (apply_alter.c) */
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

/* What a table of the source has that the stream does not carry, or that
 * the target's engine cannot make: triggers (their code is not in the
 * stream), an index of the source engine's own kind (FULLTEXT, SPATIAL)
 * on another engine.  Each refused by name rather than left out unseen;
 * the count. */
static size_t uncarried(const struct schema_diff *d, const char *stream, const char *src_engine,
			const char *engine)
{
	struct buf why = BUF_INIT;
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct schema_change *c = &d->v[i];
		const struct table *t = c->new_t;
		if (c->kind != SC_ADD_TABLE && c->kind != SC_ADD_INDEX)
			continue;
		if (c->kind == SC_ADD_TABLE && t->has_triggers) {
			buf_reset(&why);
			buf_addf(&why, "table \"%s\" has triggers in the source, and the stream does not hold "
				 "their code: not made (make the table and its triggers by hand, or drop the "
				 "triggers in the source)", t->name);
			refuse(stream, t, why.buf);
			n++;
		}
		for (size_t x = 0; x < t->nindexes && strcmp(src_engine, engine); x++) {
			const struct index *ix = &t->indexes[x];
			if (!ix->kind || (c->kind == SC_ADD_INDEX && x != c->new_i))
				continue;
			buf_reset(&why);
			buf_addf(&why, "table \"%s\": index \"%s\" is a %s index of %s, which %s cannot make: "
				 "not made (drop it in the source, or make the table by hand)", t->name, ix->name,
				 ix->kind, src_engine, engine);
			refuse(stream, t, why.buf);
			n++;
		}
	}
	buf_release(&why);
	return n;
}

/* The DDL of d in the order it can run: tables, columns, indexes, then
 * foreign keys (their tables all exist by then).  Every refusal is said
 * before -1. */
static int plan_build(const struct db *db, const struct schema_diff *d, const char *stream,
		      const char *src_engine, struct ddl_plan *p)
{
	const struct sql_dialect *dl = db->ops->dialect;
	struct buf sql = BUF_INIT, undo = BUF_INIT, err = BUF_INIT;
	int bad = uncarried(d, stream, src_engine, db->ops->engine) > 0;
	for (int pass = 0; pass < 4; pass++)
		for (size_t i = 0; i < d->n; i++) {
			const struct schema_change *c = &d->v[i];
			const struct table *t = c->new_t;
			int rc = 0, made = 1;
			buf_reset(&sql);
			buf_reset(&undo);
			buf_reset(&err);
			if (pass == 0 && c->kind == SC_ADD_TABLE) {
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
					buf_reset(&sql);
					sql_create_index(&sql, dl, t, &t->indexes[x]);
					plan_add(p, &sql, NULL); /* goes with its table */
				}
				made = 0;
			} else if (pass == 2 && c->kind == SC_ADD_INDEX) {
				sql_create_index(&sql, dl, t, &t->indexes[c->new_i]);
				sql_drop_index(&undo, dl, t, &t->indexes[c->new_i]);
			} else if (pass == 3 && c->kind == SC_ADD_TABLE && !dl->inline_references) {
				for (size_t r = 0; r < t->nrefs && rc == 0; r++) {
					buf_reset(&sql);
					buf_reset(&undo);
					rc = sql_add_reference(&sql, dl, t, &t->refs[r], &err);
					sql_drop_reference(&undo, dl, t, &t->refs[r]);
					if (rc == 0)
						plan_add(p, &sql, &undo);
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

/* A check of the stream that a table of the target lacks is said, not
 * made: --schema adds checks only with the tables it creates. */
static void warn_missing_checks(struct apply *a)
{
	struct schema_diff all;
	struct buf what = BUF_INIT;
	schema_diff_compute(&a->target, &a->rd.schema,
			    !strcmp(a->rd.engine ? a->rd.engine : "", a->db->ops->engine), &all);
	for (size_t i = 0; i < all.n; i++) {
		if (all.v[i].kind != SC_ADD_CHECK || !apply_writes_table(a->o, a->rd.purpose, all.v[i].new_t->name))
			continue;
		buf_reset(&what);
		schema_change_describe(&what, &all.v[i], "the target", "the stream");
		warning("%s:%ld: %s (dbapply adds checks only with the tables it creates)", a->rd.name,
			all.v[i].new_t->line, what.buf);
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
	/* The changes to what the target has, refused or planned (and what
	 * the drops take away kept) before any DDL. */
	if (schema && a->db->ops->exec_ddl && !a->db->ops->ddl_commits) {
		a->alter = &a->alter_own;
		if (apply_alter_plan(a->o, a->db, &a->target, &a->rd, a->tmpdir, a->alter) < 0) {
			schema_diff_release(&d);
			return -1;
		}
		a->sum->schema_drops += a->alter->destructive;
		/* Not silently left out of a script that claims to be the run. */
		if (a->o->sql && a->alter->n) {
			schema_diff_release(&d);
			return error("%s: --sql: the script cannot hold --schema's changes to existing "
				     "columns and tables yet (%zu); dbapply --schema --dry-run prints them",
				     a->db->shown_url, a->alter->n);
		}
	}
	if (!d.n && !(a->alter && a->alter->n)) {
		schema_diff_release(&d);
		return 0;
	}
	/* With --schema on MySQL the DDL ran before this transaction
	 * (apply_schema_outside): what is left is refused as without it. */
	if (!schema || !a->db->ops->exec_ddl || a->db->ops->ddl_commits) {
		if (schema && !a->db->ops->exec_ddl)
			error("%s: --schema: %s targets cannot take schema changes", a->db->shown_url,
			      a->db->ops->engine);
		ret = refuse_missing(a, &d);
		schema_diff_release(&d);
		return ret;
	}
	if (!incompatible(a->o, &a->target, &a->rd, &d) &&
	    plan_build(a->db, &d, a->rd.name, a->rd.engine ? a->rd.engine : "", &p) == 0 &&
	    confirm_ddl(a, p.n) == 0 && plan_run(a->db, &p, 0) == 0 &&
	    (!a->alter || apply_alter_run(a->db, a->alter, ALTER_BEFORE_ROWS, &a->target, 0) == 0)) {
		enum schema_change_kind k;
		for (size_t i = 0; i < p.n; i++)
			apply_sql_ddl(a, p.v[i].sql);
		for (size_t i = 0; i < d.n; i++)
			if (undoing(d.v[i].kind, a->db->ops->dialect, &k))
				made_add(a, k, d.v[i].new_t, d.v[i].new_i);
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
	if (incompatible(o, &target, &rd, &d) || plan_build(db, &d, rd.name, rd.engine ? rd.engine : "", p) < 0 ||
	    apply_alter_plan(o, db, &target, &rd, dir, &p->alter) < 0)
		goto out;
	/* A protected environment confirms (and is backed up) before a drop
	 * that MySQL cannot take back. */
	if (p->alter.destructive && !o->dry_run && o->before_write &&
	    o->before_write(o->before_write_ctx, NULL) < 0)
		goto out;
	if (o->dry_run && (p->n || p->alter.n)) {
		plan_run(db, p, 1);
		for (enum alter_when w = ALTER_BEFORE_ROWS; w <= ALTER_AFTER_COMMIT; w++)
			if (apply_alter_run(db, &p->alter, w, &target, 1) < 0)
				goto out;
		warning("--dry-run: %s commits DDL by itself, so a dry run runs none of it, and the rows "
			"cannot be tried against a schema that is not there: nothing was written",
			db->ops->engine);
		ret = 1;
		goto out;
	}
	if (plan_run(db, p, 0) < 0) {
		plan_undo(db, p);
		goto out;
	}
	if (apply_alter_run(db, &p->alter, ALTER_BEFORE_ROWS, &target, 0) < 0) {
		undo_all(db, p);
		goto out;
	}
	for (size_t i = 0; i < d.n; i++) {
		enum schema_change_kind k;
		if (!undoing(d.v[i].kind, db->ops->dialect, &k))
			continue;
		ALLOC_GROW(p->made, p->nmade + 1, p->made_alloc);
		p->made[p->nmade].kind = k;
		p->made[p->nmade].table = xstrdup(d.v[i].new_t->name);
		p->made[p->nmade++].i = d.v[i].new_i;
	}
	ret = 0;
out:
	schema_diff_release(&d);
	schema_release(&target);
	stream_close(&rd);
out_plan:
	if (ret == 0 && (p->n || p->alter.n)) {
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
	struct rebuild_edit e = { .col = &r->t->cols[0] };
	if (a->db->ops->dialect->alter == ALTER_NONE && a->db->ops->rebuild_table) {
		/* SQLite: by a rebuild, from the table's text as it is now */
		if (a->db->ops->rebuild_table(a->db, r->t->name, &e, sql) < 0)
			ret = error("%s: %s", a->db->shown_url, a->db->err.buf);
	} else if (a->db->ops->dialect->alter == ALTER_NONE)
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
	struct rebuild_edit e = { .add_ref = &r->t->refs[0] };
	int ret;
	if (a->db->ops->dialect->inline_references && a->db->ops->rebuild_table) /* SQLite */
		ret = a->db->ops->rebuild_table(a->db, r->t->name, &e, sql) < 0
			      ? error("%s: %s", a->db->shown_url, a->db->err.buf) : 0;
	else
		ret = sql_add_reference(sql, a->db->ops->dialect, r->t, &r->t->refs[0], &err) < 0
			      ? error("%s: %s", a->rd.name, err.buf) : 0;
	buf_release(&err);
	return ret;
}

int apply_schema_drops(struct apply *a, int after_commit)
{
	const struct sql_dialect *dl = a->db->ops->dialect;
	struct buf sql = BUF_INIT;
	int ret = 0;
	if (strcmp(a->rd.purpose, "undo") || !a->rd.nschema)
		return 0;
	if (!a->db->ops->exec_ddl)
		return error("%s: the undo stream drops what its run made in the schema, and %s targets "
			     "cannot", a->db->shown_url, a->db->ops->engine);
	for (size_t i = 0; i < a->rd.nschema && ret == 0; i++) {
		const struct schema_record *r = &a->rd.schema_records[i];
		buf_reset(&sql);
		if (r->kind == SC_DROP_TABLE)
			sql_drop_table(&sql, dl, r->t->name);
		else if (r->kind == SC_DROP_COLUMN)
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
		else if (r->kind != SC_ALTER_COLUMN && r->kind != SC_ADD_INDEX && r->kind != SC_ADD_REFERENCE)
			continue; /* its restores ran before the rows */
		if (ret < 0 || !sql.len)
			continue;
		fprintf(stderr, "%s: schema: %s;%s\n", util_progname, sql.buf,
			after_commit ? " (after the rows' commit)" : "");
		if (a->db->ops->exec_ddl(a->db, sql.buf) < 0)
			ret = error("%s: %s: %s", a->db->shown_url, sql.buf, a->db->err.buf);
	}
	buf_release(&sql);
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
