/* apply_alter: what dbapply --schema changes in what the target already
 * has, and what only --schema --mirror may take away.
 *
 * A column whose change loses nothing (a wider type, NOT NULL dropped, a
 * default) is altered with --schema.  With --mirror as well: an index or
 * foreign key the stream's table lacks is dropped (without --mirror it is
 * named in a warning and left), a column the stream's table lacks is
 * dropped, a table the stream lacks is dropped when the stream holds every
 * table of its source (its header says "all_tables": a dump without
 * -t/-x), a type is narrowed and NOT NULL set, the last two checked by the
 * engine or by us before they run, so that a value is never cut or lost
 * unseen.  Without --mirror each of these but the indexes and foreign keys
 * is refused by name before anything is made.
 *
 * What a drop takes away is kept first (the table's rows, read in the
 * transaction before the DDL), and the undo stream carries it back: an
 * add_table record with the table record and its rows as inserts, an
 * add_column record with the column in the table record and its values
 * as updates, an alter_column record for every column to put back as it
 * was (a narrowed or widened type, NOT NULL), an add_index or
 * add_reference record for a dropped index or foreign key.  dbapply
 * --rollback makes the tables and columns again before the rows
 * (apply_schema.c) and runs the alters and the index and foreign key
 * restores after them (apply_schema_drops).
 *
 * When each statement runs, per engine:
 *   PostgreSQL, SQLite   in the write transaction: alters that lose
 *                        nothing and the drops before the rows; narrowing
 *                        and NOT NULL after them (the rows may be what
 *                        makes them fit), each NOT NULL checked first.
 *   MySQL                before the transaction (it commits DDL by
 *                        itself): the alters, NOT NULL checked first,
 *                        undone if the rows fail; the drops after the
 *                        rows' commit, so a failure of the rows leaves
 *                        every dropped thing in place.
 * SQLite has no ALTER COLUMN: a column is changed there by rebuilding its
 * table (db_ops.rebuild_table, sqlite/rebuild.c), one rebuild per table
 * for all its changes that run at one time (rebuild_step_add), made when
 * the step runs so that the after-rows rebuild builds on the one before
 * the rows; SQLite keeps
 * any value in any declared type, so a narrowing is checked here, value
 * by value, first.  A foreign key or a UNIQUE constraint is dropped
 * there by a rebuild too.  It drops columns (3.35 and later) and tables. */
#include "apply_int.h"
#include "convert.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How a column's change is classed. */
enum change_class { CHANGE_LOSSLESS, CHANGE_NARROWS, CHANGE_REFUSED };

static void step_add(struct alter_plan *p, struct buf *sql, struct buf *undo, enum alter_when when,
		     const char *check_table, const char *check_column)
{
	ALLOC_GROW(p->v, p->n + 1, p->alloc);
	struct alter_step *s = &p->v[p->n++];
	memset(s, 0, sizeof(*s));
	s->sql = buf_detach(sql);
	s->undo = undo && undo->len ? buf_detach(undo) : NULL;
	s->when = when;
	s->check_table = check_table ? xstrdup(check_table) : NULL;
	s->check_column = check_column ? xstrdup(check_column) : NULL;
}

/* The step that rebuilds table at time when, made on the first change of
 * it, with edit e added: SQLite copies a table's rows once for all the
 * changes made at one time. */
static void rebuild_step_add(struct alter_plan *p, const char *table, enum alter_when when, struct rebuild_edit e)
{
	struct alter_step *s = NULL;
	for (size_t i = 0; i < p->n && !s; i++)
		if (p->v[i].rebuild_table && p->v[i].when == when && !strcmp(p->v[i].rebuild_table, table))
			s = &p->v[i];
	if (!s) {
		struct buf sql = BUF_INIT;
		/* the statements are made when the step runs (apply_alter_run) */
		buf_addf(&sql, "-- rebuild of table \"%s\"", table);
		step_add(p, &sql, NULL, when, NULL, NULL);
		s = &p->v[p->n - 1];
		s->rebuild_table = xstrdup(table);
	}
	ALLOC_GROW(s->edits, s->nedits + 1, s->edits_alloc);
	s->edits[s->nedits++] = e;
}

static struct alter_kept *kept_add(struct alter_plan *p, enum schema_change_kind kind, const struct table *was,
				   size_t col)
{
	ALLOC_GROW(p->kept, p->nkept + 1, p->kept_alloc);
	struct alter_kept *k = &p->kept[p->nkept++];
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->was = table_copy(was);
	k->col = col;
	return k;
}

/* The rows kept for the dropped columns of table name (kept once for all
 * of them, with the first), or NULL. */
static const char *kept_column_first_rows(struct alter_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nkept; i++)
		if (p->kept[i].kind == SC_DROP_COLUMN && !strcmp(p->kept[i].was->name, name))
			return p->kept[i].rows;
	return NULL;
}

void apply_alter_release(struct alter_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].sql);
		free(p->v[i].undo);
		free(p->v[i].check_table);
		free(p->v[i].check_column);
		free(p->v[i].rebuild_table);
		free(p->v[i].edits);
		free(p->v[i].what);
	}
	free(p->v);
	for (size_t i = 0; i < p->nkept; i++) {
		table_free(p->kept[i].was);
		table_free(p->kept[i].now);
		table_free(p->kept[i].ext);
		if (p->kept[i].rows)
			unlink(p->kept[i].rows);
		free(p->kept[i].rows);
		free(p->kept[i].clause);
	}
	free(p->kept);
	memset(p, 0, sizeof(*p));
}

/* The length a text type holds: n of char(n)/varchar(n), else unbounded. */
static unsigned long text_length(const char *native)
{
	unsigned a = 0, b = 0;
	if (sql_native_has(native, "char") && sql_native_args(native, &a, &b) >= 1)
		return a;
	return (unsigned long)-1;
}

/* Precision and scale of a decimal; unbounded without parentheses. */
static void decimal_digits(const char *native, unsigned *p, unsigned *s)
{
	unsigned a = 0, b = 0;
	int n = sql_native_args(native, &a, &b);
	*p = n >= 1 ? a : 1000;
	*s = n == 2 ? b : n == 1 ? 0 : 500;
}

static int float_bytes(const char *native)
{
	return (sql_native_has(native, "double") || sql_native_has(native, "float8")) ? 8
	       : (sql_native_has(native, "real") || sql_native_has(native, "float")) ? 4 : 8;
}

/* The type change from column was (the target's) to now (the stream's):
 * lossless, narrowing (the engine refuses a value that does not fit), or
 * one that dbapply does not make (another kind of value, or a rounding
 * the engine would do unseen); why says which. */
static enum change_class type_change(const struct column *was, const struct column *now, const char *engine,
				     struct buf *why)
{
	if (was->type != now->type) {
		buf_addf(why, "from %s (%s) to %s (%s), another kind of value", vtype_name(was->type),
			 was->native, vtype_name(now->type), now->native);
		return CHANGE_REFUSED;
	}
	if (!strcasecmp(was->native, now->native))
		return CHANGE_LOSSLESS;
	switch (now->type) {
	case VT_INT:
		/* MySQL's unsigned int holds no negative numbers, however wide */
		if (sql_native_has(now->native, "unsigned") && !sql_native_has(was->native, "unsigned")) {
			buf_addf(why, "from %s to %s, which holds no negative numbers", was->native, now->native);
			return CHANGE_NARROWS;
		}
		if (sql_int_bytes(now->native, engine) >= sql_int_bytes(was->native, engine))
			return CHANGE_LOSSLESS;
		buf_addf(why, "from %s to %s, a narrower integer", was->native, now->native);
		return CHANGE_NARROWS;
	case VT_TEXT:
		if (text_length(now->native) >= text_length(was->native))
			return CHANGE_LOSSLESS;
		buf_addf(why, "from %s to %s, a shorter text", was->native, now->native);
		return CHANGE_NARROWS;
	case VT_DECIMAL: {
		unsigned wp, ws, np, ns;
		decimal_digits(was->native, &wp, &ws);
		decimal_digits(now->native, &np, &ns);
		if (ns >= ws && np - ns >= wp - ws)
			return CHANGE_LOSSLESS;
		if (ns >= ws) {
			buf_addf(why, "from %s to %s, fewer integer digits", was->native, now->native);
			return CHANGE_NARROWS;
		}
		buf_addf(why, "from %s to %s, which would round the fractions", was->native, now->native);
		return CHANGE_REFUSED;
	}
	case VT_FLOAT:
		if (float_bytes(now->native) >= float_bytes(was->native))
			return CHANGE_LOSSLESS;
		buf_addf(why, "from %s to %s, which would round every value", was->native, now->native);
		return CHANGE_REFUSED;
	default:
		buf_addf(why, "from %s to %s, a change dbapply does not make", was->native, now->native);
		return CHANGE_REFUSED;
	}
}

/* The class of a whole column change (type, NULLs; a default loses
 * nothing); why names what narrows or is refused. */
static enum change_class column_change(const struct column *was, const struct column *now, const char *engine,
				       struct buf *why)
{
	enum change_class type = type_change(was, now, engine, why);
	if (type == CHANGE_REFUSED)
		return type;
	if (was->nullable && !now->nullable) {
		buf_addf(why, "%sNOT NULL is set", why->len ? ", and " : "");
		return CHANGE_NARROWS;
	}
	return type;
}

/* Whether a table that stays (not in drops) has a foreign key into name;
 * the first such table in *by. */
static int referenced_by_staying(const struct schema *target, const struct schema_diff *all, const char *name,
				 const char **by)
{
	for (size_t i = 0; i < target->n; i++) {
		const struct table *t = target->tables[i];
		int dropped = 0;
		for (size_t c = 0; c < all->n && !dropped; c++)
			dropped = all->v[c].kind == SC_DROP_TABLE && all->v[c].old_t == t;
		for (size_t r = 0; !dropped && r < t->nrefs; r++)
			if (!strcmp(t->refs[r].table, name) && strcmp(t->name, name)) {
				*by = t->name;
				return 1;
			}
	}
	return 0;
}

/* A table's rows as they are now, into a row stream at path: what a drop
 * takes away, for the undo stream. */
static int keep_rows(struct db *db, const struct table *t, const char *path)
{
	struct stream_writer w;
	struct db_cursor *cur = NULL;
	struct row r;
	int got = -1;
	row_init(&r, t->ncols);
	if (stream_create(&w, path) < 0)
		goto out;
	stream_write_header(&w, STREAM_ROWS, db->shown_url, db->ops->engine);
	stream_write_table(&w, t);
	stream_begin_table(&w, t);
	if (db->ops->scan_open(db, t, &cur) < 0) {
		error("%s: table \"%s\": %s", db->shown_url, t->name, db->err.buf);
		stream_abandon(&w);
		goto out;
	}
	while ((got = db->ops->scan_next(cur, &r)) > 0)
		if (stream_write_row(&w, &r) < 0)
			break;
	if (got < 0 && db->err.len)
		error("%s: table \"%s\": %s", db->shown_url, t->name, db->err.buf);
	if (got == 0 && stream_end_table(&w) == 0 && stream_finish(&w) == 0)
		got = 0;
	else if (w.name)
		stream_abandon(&w), got = -1;
	else
		got = -1;
out:
	if (cur)
		db->ops->scan_close(cur);
	row_release(&r);
	return got;
}

/* The drops of the dropped tables in an order the engine takes: a table
 * after every dropped table that refers to it. */
static void order_table_drops(const struct schema_diff *all, const struct table **v, size_t *n)
{
	size_t left = 0;
	const struct table **todo = xcalloc(all->n + 1, sizeof(*todo));
	for (size_t i = 0; i < all->n; i++)
		if (all->v[i].kind == SC_DROP_TABLE)
			todo[left++] = all->v[i].old_t;
	*n = 0;
	while (left) {
		size_t pick = 0;
		for (size_t i = 0; i < left; i++) {
			int referred = 0;
			for (size_t j = 0; j < left && !referred; j++)
				for (size_t r = 0; j != i && r < todo[j]->nrefs && !referred; r++)
					referred = !strcmp(todo[j]->refs[r].table, todo[i]->name);
			if (!referred) {
				pick = i;
				break;
			}
		}
		v[(*n)++] = todo[pick];
		todo[pick] = todo[--left];
	}
	free(todo);
}

/* Why value v (canonical text) of a column does not fit column to, an
 * engine's narrower type that the engine would keep anyway (SQLite keeps
 * any text in a varchar(10), any integer in a smallint), into why; 0 if
 * it fits. */
static int value_misfit(struct row *r, size_t i, const struct column *was, const struct column *to,
			struct buf *why)
{
	const char *v = row_ptr(r, i);
	if (to->type == VT_INT) {
		int bytes = sql_int_bytes(to->native, "sqlite");
		long long max = bytes == 2 ? 32767 : bytes == 4 ? 2147483647LL : 0;
		long long n = strtoll(v, NULL, 10);
		if (max && (n > max || n < -max - 1)) {
			buf_addf(why, "the value %s is outside %s", v, to->native);
			return -1;
		}
	} else if (to->type == VT_DECIMAL) {
		unsigned p, s;
		decimal_digits(to->native, &p, &s);
		size_t digits = strspn(v + (*v == '-'), "0123456789");
		if (digits > p - s && !(digits == 1 && v[*v == '-'] == '0')) {
			buf_addf(why, "the value %s has more integer digits than %s holds", v, to->native);
			return -1;
		}
	} else if (to->type == VT_TEXT) {
		struct convert_opts o = { 0, 0 };
		return convert_value(r, i, was, to, &o, why);
	}
	return 0;
}

/* -1 (the first row's key said) if column of table holds a NULL, or,
 * given fit, a value that does not fit it. */
static int check_column(struct db *db, const struct schema *target, const char *table, const char *column,
			const struct column *fit)
{
	const struct table *t = schema_find(target, table);
	long col = t ? table_column_index(t, column) : -1;
	struct db_cursor *cur;
	struct row r;
	struct buf why = BUF_INIT;
	int got, ret = 0;
	if (col < 0)
		return 0;
	if (db->ops->scan_open(db, t, &cur) < 0)
		return error("%s: table \"%s\": %s", db->shown_url, t->name, db->err.buf);
	row_init(&r, t->ncols);
	while ((got = db->ops->scan_next(cur, &r)) > 0) {
		if (!fit && r.v[col].state == V_NULL)
			buf_adds(&why, "NULL there (fill it first)");
		else if (fit && r.v[col].state == V_SET && value_misfit(&r, (size_t)col, &t->cols[col], fit, &why) == 0)
			continue;
		if (!why.len)
			continue;
		struct buf key = BUF_INIT;
		table_key_to_json(&key, t, &r);
		if (fit)
			ret = error("%s: --schema: column \"%s\".\"%s\" cannot be made %s: the row at key %s: %s",
				    db->shown_url, table, column, fit->native, key.buf, why.buf);
		else
			ret = error("%s: --schema: column \"%s\".\"%s\" cannot be made NOT NULL: the row at key %s "
				    "holds %s", db->shown_url, table, column, key.buf, why.buf);
		buf_release(&key);
		break;
	}
	if (got < 0)
		ret = error("%s: table \"%s\": %s", db->shown_url, t->name, db->err.buf);
	db->ops->scan_close(cur);
	row_release(&r);
	buf_release(&why);
	return ret;
}

/* The stream's table of change c as this target would have it: the id
 * generator and a generated column stay the target's (SQLite calls every
 * INTEGER PRIMARY KEY one, and the stream has no expression); from another
 * engine only what the diff compares there changes (NULLs, a portable
 * default), the type staying the target's, since its spelling is another
 * engine's.  Owned by the caller. */
static struct table *as_target_has(const struct schema_change *c, int same_engine)
{
	struct table *t = table_copy(c->new_t);
	struct column *now = &t->cols[c->new_i];
	const struct column *was = &c->old_t->cols[c->old_i];
	now->autoinc = was->autoinc;
	now->generated = was->generated;
	if (same_engine)
		return t;
	free(now->native);
	now->native = xstrdup(was->native);
	if (now->default_sql && !default_is_portable(now->default_sql)) {
		free(now->default_sql);
		now->default_sql = was->default_sql ? xstrdup(was->default_sql) : NULL;
	}
	return t;
}

/* Whether the stream's tables include one of table name's schema: a
 * stream of every table of a source without schemas (SQLite) says nothing
 * of a PostgreSQL target's other schemas. */
static int schema_in_stream(const struct stream_reader *rd, const char *name)
{
	char *schema, *table;
	int found = 0;
	table_name_split(name, &schema, &table);
	for (size_t i = 0; i < rd->schema.n && !found; i++) {
		char *s2, *t2;
		table_name_split(rd->schema.tables[i]->name, &s2, &t2);
		found = (!schema && !s2) || (schema && s2 && !strcmp(schema, s2));
		free(s2);
		free(t2);
	}
	free(schema);
	free(table);
	return found;
}

/* Whether the target's column was is now as this engine spells it: only
 * what stays the target's (an id generator) differs. */
static int column_alike(const struct column *was, const struct column *now)
{
	return !strcasecmp(was->native, now->native) && was->nullable == now->nullable &&
	       ((!was->default_sql && !now->default_sql) ||
		(was->default_sql && now->default_sql && !strcmp(was->default_sql, now->default_sql)));
}

/* SQLite: -1 with why (in why, emptied first) if column was of table t
 * cannot be given now's definition by a rebuild: the rowid's INTEGER
 * PRIMARY KEY would become an ordinary column, or the rebuild itself
 * refuses (db_ops.rebuild_column). */
static int rebuild_refused(struct db *db, const struct table *t, const struct column *was, const struct column *now,
			   struct buf *why)
{
	buf_reset(why);
	if (was->autoinc && strcasecmp(now->native, "INTEGER")) {
		buf_addf(why, "it is SQLite's INTEGER PRIMARY KEY (the rowid), which type %s would make an "
			 "ordinary column: change it by hand", now->native);
		return -1;
	}
	struct rebuild_edit e = { .col = now };
	if (db->ops->rebuild_table(db, t->name, &e, 1, why) < 0) {
		buf_reset(why);
		buf_adds(why, db->err.buf);
		return -1;
	}
	buf_reset(why);
	return 0;
}

/* Whether index or foreign key change c (a drop) names column of its
 * table that another change drops: it goes with it. */
static int goes_with_column(const struct schema_diff *all, const struct schema_change *c)
{
	char *const *cols = c->kind == SC_DROP_INDEX ? c->old_t->indexes[c->old_i].cols : c->old_t->refs[c->old_i].cols;
	size_t n = c->kind == SC_DROP_INDEX ? c->old_t->indexes[c->old_i].ncols : c->old_t->refs[c->old_i].ncols;
	for (size_t i = 0; i < all->n; i++)
		for (size_t j = 0; all->v[i].kind == SC_DROP_COLUMN && all->v[i].old_t == c->old_t && j < n; j++)
			if (!strcmp(cols[j], c->old_t->cols[all->v[i].old_i].name))
				return 1;
	return 0;
}

/* An index or foreign key of the target that the stream's table lacks
 * (change c): 1 if --schema --mirror drops it; 0 if it is not this
 * run's (a table it does not write) or goes with a dropped column; -1 if
 * it is left without --mirror, why in *left. */
static int key_drop_planned(const struct apply_opts *o, const struct stream_reader *rd, const struct schema_diff *all,
			    const struct schema_change *c, const char **left)
{
	*left = NULL;
	if (!apply_writes_table(o, rd->purpose, c->old_t->name) || goes_with_column(all, c))
		return 0;
	if (o->mode != APPLY_MIRROR)
		*left = "only with --schema --mirror";
	return *left ? -1 : 1;
}

/* The index the stream's table has under the name of index drop c (a
 * change of its columns or uniqueness): the schema step makes it, so the
 * target's must be gone first.  NULL if none. */
static const struct index *index_named_again(const struct schema_diff *all, const struct schema_change *c)
{
	const char *name = c->old_t->indexes[c->old_i].name;
	for (size_t i = 0; i < all->n; i++)
		if (all->v[i].kind == SC_ADD_INDEX && !strcmp(all->v[i].new_t->name, c->old_t->name) &&
		    !strcmp(all->v[i].new_t->indexes[all->v[i].new_i].name, name))
			return &all->v[i].new_t->indexes[all->v[i].new_i];
	return NULL;
}

static void refuse(const struct stream_reader *rd, long line, const char *what, const char *why, int *bad)
{
	if (line)
		error("%s:%ld: --schema: %s: %s", rd->name, line, what, why);
	else /* a table only the target has */
		error("%s: --schema: %s: %s", rd->name, what, why);
	*bad = 1;
}

/* The name a check the target lacks is added under where the stream
 * gives none: "<table>_chk_<n>", the first n table t does not use. */
static void check_name(struct buf *out, const struct table *t)
{
	const char *bare = strrchr(t->name, '.');
	bare = bare ? bare + 1 : t->name;
	for (size_t n = 1;; n++) {
		int taken = 0;
		buf_reset(out);
		buf_addf(out, "%s_chk_%zu", bare, n);
		for (size_t i = 0; i < t->nchecks && !taken; i++)
			taken = t->checks[i].name && !strcmp(t->checks[i].name, out->buf);
		if (!taken)
			return;
	}
}

/* A drop of a check or trigger (change c) that only --mirror makes:
 * without it, named in a warning and left; whether it is. */
static int drop_left(const struct apply_opts *o, const struct stream_reader *rd, const struct schema_change *c)
{
	if (o->mode == APPLY_MIRROR)
		return 0;
	struct buf what = BUF_INIT;
	schema_change_describe(&what, c, "the target", "the stream");
	warning("%s:%ld: --schema: %s: not dropped (only with --schema --mirror)", rd->name, c->new_t->line, what.buf);
	buf_release(&what);
	return 1;
}

/* The checks of the tables the run writes: one the stream's table has and
 * the target's lacks (change c, SC_ADD_CHECK) is added after the rows
 * (PostgreSQL; SQLite by a rebuild), which may be what makes the table's
 * rows fit it, or on MySQL before them, taken back if they fail; one only
 * the target has (SC_DROP_CHECK) is dropped before the rows with --mirror,
 * named in a warning without.  Each kept for the undo stream. */
static int plan_check(const struct apply_opts *o, struct db *db, const struct stream_reader *rd,
		      const struct schema_change *c, struct alter_plan *p)
{
	const struct sql_dialect *dl = db->ops->dialect;
	const char *src = rd->engine ? rd->engine : "";
	int mysql = db->ops->ddl_commits, sqlite = dl->alter == ALTER_NONE, add = c->kind == SC_ADD_CHECK;
	const struct table *t = add ? c->new_t : c->old_t;
	const struct check *ck = &t->checks[add ? c->new_i : c->old_i];
	struct buf sql = BUF_INIT, undo = BUF_INIT, err = BUF_INIT, name = BUF_INIT, what = BUF_INIT;
	int ret = 0;
	if (!apply_writes_table(o, rd->purpose, t->name) || (!add && drop_left(o, rd, c)))
		return 0;
	struct alter_kept *k = kept_add(p, c->kind, t, add ? c->new_i : c->old_i);
	if (add && !k->was->checks[k->col].name) {
		/* named, so that the undo stream (and on MySQL a failure of the
		 * rows) drops it by its name, not by an expression the engine
		 * may have written otherwise */
		check_name(&name, c->old_t);
		k->was->checks[k->col].name = buf_detach(&name);
	}
	ck = &k->was->checks[k->col];
	buf_addf(&what, "%s check %s%s%s(%s) %s table \"%s\"", add ? "adding" : "dropping", ck->name ? "\"" : "",
		 ck->name ? ck->name : "", ck->name ? "\" " : "", ck->expr, add ? "to" : "of", t->name);
	if (add && sqlite) {
		if (sql_check_clause(&sql, dl, k->was, ck, src, &err) < 0)
			goto refused;
		k->clause = buf_detach(&sql);
		rebuild_step_add(p, t->name, ALTER_AFTER_ROWS, (struct rebuild_edit){ .add_constraint = k->clause });
	} else if (add) {
		if (sql_add_check(&sql, dl, k->was, ck, src, &err) < 0)
			goto refused;
		if (mysql)
			sql_drop_check(&undo, dl, t->name, ck->name);
		step_add(p, &sql, &undo, mysql ? ALTER_BEFORE_ROWS : ALTER_AFTER_ROWS, NULL, NULL);
	} else if (sqlite) {
		rebuild_step_add(p, t->name, ALTER_BEFORE_ROWS, (struct rebuild_edit){ .drop_check = ck });
	} else {
		if (!ck->name) {
			buf_adds(&err, "the target gives it no name to drop it by: drop it by hand");
			goto refused;
		}
		sql_drop_check(&sql, dl, t->name, ck->name);
		if (mysql && sql_add_check(&undo, dl, k->was, ck, db->ops->engine, &err) < 0)
			goto refused;
		step_add(p, &sql, &undo, ALTER_BEFORE_ROWS, NULL, NULL);
		p->destructive++;
	}
	if (sqlite && !add)
		p->destructive++;
	if (!sqlite) /* a rebuild's failure names its table and statement */
		p->v[p->n - 1].what = buf_detach(&what);
	goto out;
refused:
	ret = -1;
	error("%s:%ld: --schema: %s", rd->name, t->line, err.buf);
out:
	buf_release(&sql);
	buf_release(&undo);
	buf_release(&err);
	buf_release(&name);
	buf_release(&what);
	return ret;
}

/* The triggers of the tables the run writes: one the stream's table has
 * and the target's lacks (SC_ADD_TRIGGER) is made after the rows, so that
 * it does not fire for them (PostgreSQL, SQLite: in the transaction;
 * MySQL: after the commit), on the engine whose code it is (another's is
 * refused by name, or left out with --without-triggers); one only the
 * target has (SC_DROP_TRIGGER) is dropped before the rows with --mirror,
 * named in a warning without.  Each kept for the undo stream. */
static int plan_trigger(const struct apply_opts *o, struct db *db, const struct stream_reader *rd,
			const struct schema_change *c, struct alter_plan *p)
{
	const struct sql_dialect *dl = db->ops->dialect;
	const char *src = rd->engine ? rd->engine : "";
	int mysql = db->ops->ddl_commits, add = c->kind == SC_ADD_TRIGGER;
	const struct table *t = add ? c->new_t : c->old_t;
	const struct trigger *g = &t->triggers[add ? c->new_i : c->old_i];
	struct buf sql = BUF_INIT, undo = BUF_INIT;
	int ret = 0;
	if (!apply_writes_table(o, rd->purpose, t->name) || (!add && drop_left(o, rd, c)))
		return 0;
	if (add && strcmp(src, db->ops->engine) && o->without_triggers) {
		warning("%s:%ld: --schema: table \"%s\": trigger \"%s\" of %s is left out (--without-triggers)",
			rd->name, t->line, t->name, g->name, src);
	} else if (add && strcmp(src, db->ops->engine)) {
		ret = error("%s:%ld: --schema: table \"%s\": trigger \"%s\" is code of %s, which %s cannot run: not "
			    "made (--without-triggers leaves it out, named)", rd->name, t->line, t->name, g->name, src,
			    db->ops->engine);
	} else if (add && !apply_trigger_statement(dl, g, "CREATE TRIGGER ")) {
		ret = error("%s:%ld: --schema: table \"%s\": trigger \"%s\": its SQL is not one CREATE TRIGGER "
			    "statement: not made", rd->name, t->line, t->name, g->name);
	} else {
		kept_add(p, c->kind, t, add ? c->new_i : c->old_i);
		if (add) {
			buf_adds(&sql, g->sql);
		} else {
			sql_drop_trigger(&sql, dl, t->name, g->name);
			if (mysql)
				buf_adds(&undo, g->sql);
			p->destructive++;
		}
		step_add(p, &sql, &undo, !add ? ALTER_BEFORE_ROWS : mysql ? ALTER_AFTER_COMMIT : ALTER_AFTER_ROWS, NULL,
			 NULL);
	}
	buf_release(&sql);
	buf_release(&undo);
	return ret;
}

int apply_alter_plan(const struct apply_opts *o, struct db *db, const struct schema *target,
		     const struct stream_reader *rd, const char *dir, struct alter_plan *p)
{
	const struct sql_dialect *dl = db->ops->dialect;
	const char *src = rd->engine ? rd->engine : "";
	int mysql = db->ops->ddl_commits, bad = 0, keep = o->undo_path && !o->dry_run;
	struct schema_diff all;
	struct buf what = BUF_INIT, why = BUF_INIT, sql = BUF_INIT, undo = BUF_INIT, err = BUF_INIT;
	memset(p, 0, sizeof(*p));
	if (!o->schema || !dl || !strcmp(rd->purpose, "undo"))
		return 0;
	int same = !strcmp(src, db->ops->engine);
	schema_diff_compute(target, &rd->schema, same, &all);
	/* Tables the stream lacks are the source's only when it holds all of them. */
	for (size_t i = 0; i < all.n; i++)
		if (all.v[i].kind == SC_DROP_TABLE &&
		    (!rd->all_tables || !apply_writes_table(o, rd->purpose, all.v[i].old_t->name) ||
		     !schema_in_stream(rd, all.v[i].old_t->name)))
			all.v[i].kind = SC_ALTER_KEY; /* not ours: left out below */
	/* Each change by name, refused or planned; the DDL follows. */
	for (size_t i = 0; i < all.n; i++) {
		const struct schema_change *c = &all.v[i];
		const struct table *t = c->new_t ? c->new_t : c->old_t;
		int destructive = 0;
		const char *left = NULL;
		if ((c->kind == SC_DROP_INDEX || c->kind == SC_DROP_REFERENCE) &&
		    key_drop_planned(o, rd, &all, c, &left) < 0) {
			buf_reset(&what);
			schema_change_describe(&what, c, "the target", "the stream");
			if (c->kind == SC_DROP_INDEX && index_named_again(&all, c))
				refuse(rd, c->new_t->line, what.buf, "the stream's table has another index of that "
				       "name, which cannot be made beside it: only with --schema --mirror (which "
				       "drops this one first)", &bad);
			else
				warning("%s:%ld: --schema: %s: not dropped (%s)", rd->name, c->new_t->line, what.buf,
					left);
		}
		if ((c->kind != SC_ALTER_COLUMN && c->kind != SC_DROP_COLUMN && c->kind != SC_DROP_TABLE) ||
		    !apply_writes_table(o, rd->purpose, t->name))
			continue;
		buf_reset(&what);
		buf_reset(&why);
		schema_change_describe(&what, c, "the target", "the stream");
		long line = c->new_t ? c->new_t->line : 0;
		if (c->kind == SC_ALTER_COLUMN) {
			struct table *nt = as_target_has(c, same);
			const struct column *was = &c->old_t->cols[c->old_i], *now = &nt->cols[c->new_i];
			/* only what stays the target's differs (an id generator): nothing to do */
			int alike = column_alike(was, now);
			enum change_class k = column_change(was, now, db->ops->engine, &why);
			int rebuilds = !alike && k != CHANGE_REFUSED && dl->alter == ALTER_NONE;
			if (rebuilds && rebuild_refused(db, c->old_t, was, now, &sql) < 0) {
				table_free(nt);
				refuse(rd, line, what.buf, sql.buf, &bad);
				continue;
			}
			table_free(nt);
			if (alike)
				continue;
			if (k == CHANGE_REFUSED) {
				refuse(rd, line, what.buf, why.buf, &bad);
				continue;
			}
			destructive = k == CHANGE_NARROWS;
		} else if (c->kind == SC_DROP_COLUMN) {
			const struct column *was = &c->old_t->cols[c->old_i];
			destructive = 1;
			buf_addf(&why, "dropping it takes its values away");
			if (table_is_key(c->old_t, c->old_i)) {
				refuse(rd, line, what.buf, "it is part of the key", &bad);
				continue;
			}
			if (dl->alter == ALTER_NONE && !was->nullable && !was->default_sql) {
				refuse(rd, line, what.buf, "it is NOT NULL without a default, which SQLite could "
				       "not add back as it was on --rollback: drop it by hand", &bad);
				continue;
			}
		} else {
			const char *by = NULL;
			destructive = 1;
			buf_addf(&why, "dropping it takes its rows away (the stream holds every table of its "
				 "source)");
			if (referenced_by_staying(target, &all, c->old_t->name, &by)) {
				buf_reset(&why);
				buf_addf(&why, "table \"%s\" keeps a foreign key into it", by);
				refuse(rd, c->old_t->line, what.buf, why.buf, &bad);
				continue;
			}
		}
		if (destructive && o->mode != APPLY_MIRROR) {
			buf_addf(&why, ": only with --schema --mirror");
			refuse(rd, line, what.buf, why.buf, &bad);
		} else if (c->kind == SC_ALTER_COLUMN && c->old_t->cols[c->old_i].nullable &&
			   !c->new_t->cols[c->new_i].nullable &&
			   check_column(db, target, c->old_t->name, c->old_t->cols[c->old_i].name, NULL) < 0) {
			bad = 1; /* NULLs the target holds: the first one's key said */
		}
		p->destructive += destructive;
	}
	if (bad)
		goto out;
	/* Alters, in stream order; NOT NULL checked right before its statement. */
	for (size_t i = 0; i < all.n; i++) {
		const struct schema_change *c = &all.v[i];
		if (c->kind != SC_ALTER_COLUMN || !apply_writes_table(o, rd->purpose, c->new_t->name))
			continue;
		struct table *nt = as_target_has(c, same);
		const struct column *was = &c->old_t->cols[c->old_i], *now = &nt->cols[c->new_i];
		const char *now_engine = same ? src : db->ops->engine;
		buf_reset(&why);
		enum change_class k = column_change(was, now, db->ops->engine, &why);
		buf_reset(&sql);
		buf_reset(&undo);
		buf_reset(&err);
		enum alter_when when = k == CHANGE_NARROWS && !mysql ? ALTER_AFTER_ROWS : ALTER_BEFORE_ROWS;
		if (dl->alter == ALTER_NONE) {
			if (column_alike(was, now)) {
				table_free(nt);
				continue; /* only what stays the target's differs */
			}
			rebuild_step_add(p, nt->name, when, (struct rebuild_edit){ .col = now });
		} else if (sql_alter_column(&sql, dl, was, nt, c->new_i, now_engine, &err) < 0 ||
			   (mysql && sql_alter_column(&undo, dl, now, c->old_t, c->old_i, db->ops->engine, &err) < 0)) {
			refuse(rd, c->new_t->line, "--schema", err.buf, &bad);
			table_free(nt);
			continue;
		}
		if (dl->alter != ALTER_NONE && !sql.len) {
			table_free(nt);
			continue; /* the same column in this engine's words */
		}
		int sets_not_null = was->nullable && !now->nullable;
		if (dl->alter != ALTER_NONE)
			step_add(p, &sql, &undo, when, sets_not_null ? nt->name : NULL, sets_not_null ? now->name : NULL);
		struct alter_kept *kp = kept_add(p, SC_ALTER_COLUMN, c->old_t, c->old_i);
		kp->now = nt;
		kp->col_now = c->new_i;
	}
	/* Foreign keys, then indexes (MySQL keeps an index a foreign key
	 * needs), then columns, then tables (referring ones first), each kept
	 * first. */
	enum alter_when drop_when = mysql ? ALTER_AFTER_COMMIT : ALTER_BEFORE_ROWS;
	for (int pass = 0; pass < 2 && !bad; pass++)
		for (size_t i = 0; i < all.n; i++) {
			const struct schema_change *c = &all.v[i];
			const char *left;
			if (c->kind != (pass ? SC_DROP_INDEX : SC_DROP_REFERENCE) ||
			    key_drop_planned(o, rd, &all, c, &left) <= 0)
				continue;
			struct alter_kept *k = kept_add(p, c->kind, c->old_t, c->old_i);
			struct rebuild_edit e = { .drop_ref = pass ? NULL : &k->was->refs[k->col],
						  .drop_unique = pass ? &k->was->indexes[k->col] : NULL };
			/* SQLite drops neither without a rebuild of the table */
			int rebuilds = dl->alter == ALTER_NONE &&
				       (!pass || !strncmp(e.drop_unique->name, "sqlite_autoindex_", 17));
			buf_reset(&sql);
			if (rebuilds && db->ops->rebuild_table(db, c->old_t->name, &e, 1, &sql) < 0) {
				buf_reset(&what);
				schema_change_describe(&what, c, "the target", "the stream");
				refuse(rd, c->new_t->line, what.buf, db->err.buf, &bad);
				continue;
			}
			buf_reset(&sql);
			buf_reset(&undo);
			/* an index whose name the stream's table gives another: gone
			 * before the schema step makes that one (MySQL: made again if
			 * the run fails) */
			int named_again = pass && !rebuilds && index_named_again(&all, c);
			if (named_again && mysql)
				sql_create_index(&undo, dl, c->old_t, &c->old_t->indexes[c->old_i]);
			if (rebuilds)
				rebuild_step_add(p, c->old_t->name, drop_when, e);
			else if (pass)
				sql_drop_index(&sql, dl, c->old_t, &c->old_t->indexes[c->old_i]);
			else
				sql_drop_reference(&sql, dl, c->old_t, &c->old_t->refs[c->old_i]);
			if (!rebuilds)
				step_add(p, &sql, &undo, named_again ? ALTER_BEFORE_SCHEMA : drop_when, NULL, NULL);
			p->destructive++;
		}
	for (size_t i = 0; i < all.n && !bad; i++)
		if ((all.v[i].kind == SC_ADD_CHECK || all.v[i].kind == SC_DROP_CHECK) &&
		    plan_check(o, db, rd, &all.v[i], p) < 0)
			bad = 1;
	for (size_t i = 0; i < all.n && !bad; i++)
		if ((all.v[i].kind == SC_ADD_TRIGGER || all.v[i].kind == SC_DROP_TRIGGER) &&
		    plan_trigger(o, db, rd, &all.v[i], p) < 0)
			bad = 1;
	for (size_t i = 0; i < all.n && !bad; i++) {
		const struct schema_change *c = &all.v[i];
		if (c->kind != SC_DROP_COLUMN || !apply_writes_table(o, rd->purpose, c->old_t->name))
			continue;
		const char *name = c->old_t->cols[c->old_i].name;
		/* SQLite drops no indexed column: its indexes go first (the
		 * undo stream's table record has them, so a rollback makes them
		 * again); the other engines drop them with it. */
		for (size_t x = 0; dl->alter == ALTER_NONE && x < c->old_t->nindexes; x++) {
			const struct index *ix = &c->old_t->indexes[x];
			int has = 0;
			for (size_t j = 0; j < ix->ncols; j++)
				has |= !strcmp(ix->cols[j], name);
			if (!has || !strncmp(ix->name, "sqlite_autoindex_", 17))
				continue; /* a UNIQUE constraint: SQLite refuses, and says so */
			buf_reset(&sql);
			sql_drop_index(&sql, dl, c->old_t, ix);
			step_add(p, &sql, NULL, drop_when, NULL, NULL);
		}
		buf_reset(&sql);
		sql_drop_column(&sql, dl, c->old_t->name, name);
		step_add(p, &sql, NULL, drop_when, NULL, NULL);
		struct alter_kept *kp = kept_add(p, SC_DROP_COLUMN, c->old_t, c->old_i);
		kp->now = table_copy(c->new_t);
	}
	const struct table **drops = xcalloc(all.n + 1, sizeof(*drops));
	size_t ndrops;
	order_table_drops(&all, drops, &ndrops);
	for (size_t i = 0; i < ndrops && !bad; i++) {
		buf_reset(&sql);
		sql_drop_table(&sql, dl, drops[i]->name);
		step_add(p, &sql, NULL, drop_when, NULL, NULL);
		kept_add(p, SC_DROP_TABLE, drops[i], 0);
	}
	free(drops);
	/* What the drops take away, read before any of them runs. */
	for (size_t i = 0; i < p->nkept && !bad && keep; i++) {
		struct alter_kept *k = &p->kept[i];
		if ((k->kind != SC_DROP_COLUMN && k->kind != SC_DROP_TABLE) ||
		    (k->kind == SC_DROP_COLUMN && kept_column_first_rows(p, k->was->name)))
			continue;
		struct buf path = BUF_INIT;
		buf_addf(&path, "%s/kept-%zu", dir, i);
		k->rows = buf_detach(&path);
		if (keep_rows(db, k->was, k->rows) < 0)
			bad = 1;
	}
out:
	buf_release(&what);
	buf_release(&why);
	buf_release(&sql);
	buf_release(&undo);
	buf_release(&err);
	schema_diff_release(&all);
	return bad ? -1 : 0;
}

/* Before SQLite's rebuild step s: -1 (the first row's key said) if a
 * column it makes NOT NULL holds a NULL, or one it narrows a value that
 * does not fit, which SQLite would keep. */
static int check_rebuilt_columns(struct db *db, const struct schema *target, const struct alter_step *s)
{
	const struct table *t = schema_find(target, s->rebuild_table);
	struct buf why = BUF_INIT;
	int ret = 0;
	for (size_t k = 0; t && k < s->nedits && ret == 0; k++) {
		const struct column *now = s->edits[k].col;
		long i = now ? table_column_index(t, now->name) : -1;
		if (i < 0)
			continue;
		const struct column *was = &t->cols[i];
		buf_reset(&why);
		if (was->nullable && !now->nullable)
			ret = check_column(db, target, t->name, now->name, NULL);
		if (ret == 0 && column_change(was, now, db->ops->engine, &why) == CHANGE_NARROWS)
			ret = check_column(db, target, t->name, now->name, now);
	}
	buf_release(&why);
	return ret;
}

int apply_alter_run(struct db *db, struct alter_plan *p, enum alter_when when, const struct schema *target,
		    int shown_only)
{
	for (size_t i = 0; i < p->n; i++) {
		struct alter_step *s = &p->v[i];
		if (s->when != when)
			continue;
		if (s->check_table && check_column(db, target, s->check_table, s->check_column, NULL) < 0)
			return -1;
		if (s->rebuild_table && check_rebuilt_columns(db, target, s) < 0)
			return -1;
		if (s->rebuild_table) {
			/* made now: an earlier rebuild of the table changed its text */
			struct buf sql = BUF_INIT;
			if (db->ops->rebuild_table(db, s->rebuild_table, s->edits, s->nedits, &sql) < 0) {
				buf_release(&sql);
				return error("%s: %s", db->shown_url, db->err.buf);
			}
			free(s->sql);
			s->sql = buf_detach(&sql);
		}
		fprintf(stderr, "%s: schema: %s;%s\n", util_progname, s->sql,
			shown_only ? " (not run: dry run)" : when == ALTER_AFTER_COMMIT ? " (after the rows' commit)" : "");
		if (!shown_only && db->ops->exec_ddl(db, s->sql) < 0)
			return s->what ? error("%s: --schema: %s: %s", db->shown_url, s->what, db->err.buf)
			       : s->rebuild_table /* its statements said just above */
			       ? error("%s: --schema: table \"%s\" cannot be rebuilt: %s", db->shown_url,
				       s->rebuild_table, db->err.buf)
			       : error("%s: %s: %s", db->shown_url, s->sql, db->err.buf);
		s->done = !shown_only;
	}
	return 0;
}

int apply_alter_plannable(const struct alter_plan *p)
{
	for (size_t i = 0; i < p->nkept; i++)
		if (p->kept[i].kind == SC_ADD_CHECK)
			return 0;
	return 1;
}

int apply_alter_unrun(struct db *db, struct alter_plan *p, struct schema *target)
{
	struct buf why = BUF_INIT;
	int ret = 0;
	/* what MySQL's ALTER would check: no NULL where NOT NULL is set, every
	 * value fitting a narrower type */
	for (size_t i = 0; i < p->n && ret == 0; i++)
		if (p->v[i].when <= ALTER_BEFORE_ROWS && p->v[i].check_table)
			ret = check_column(db, target, p->v[i].check_table, p->v[i].check_column, NULL);
	for (size_t i = 0; i < p->nkept && ret == 0; i++) {
		const struct alter_kept *k = &p->kept[i];
		if (k->kind != SC_ALTER_COLUMN)
			continue;
		const struct column *was = &k->was->cols[k->col], *now = &k->now->cols[k->col_now];
		buf_reset(&why);
		if (column_change(was, now, db->ops->engine, &why) == CHANGE_NARROWS)
			ret = check_column(db, target, k->was->name, was->name, now);
	}
	/* then the columns as the alters make them */
	for (size_t i = 0; i < p->nkept && ret == 0; i++) {
		const struct alter_kept *k = &p->kept[i];
		struct table *t = k->kind == SC_ALTER_COLUMN ? schema_find(target, k->was->name) : NULL;
		long col = t ? table_column_index(t, k->was->cols[k->col].name) : -1;
		if (col >= 0)
			table_set_column(t, (size_t)col, &k->now->cols[k->col_now]);
	}
	buf_release(&why);
	return ret;
}

int apply_alter_undo(struct db *db, struct alter_plan *p)
{
	int undone = 0, failed = 0;
	for (size_t i = p->n; i-- > 0;) {
		if (!p->v[i].done || !p->v[i].undo)
			continue;
		if (apply_undo_ddl(db, p->v[i].undo) < 0)
			failed = 1;
		else
			undone++;
		p->v[i].done = 0;
	}
	return failed ? -1 : undone;
}

/* --- the undo stream --- */


/* The kept part of a dropped column of table name, from the i-th on, or
 * NULL.  The first of a table holds its rows (kept once for all its
 * dropped columns); none does without an undo stream. */
static struct alter_kept *kept_column(struct alter_plan *p, const char *name, size_t from)
{
	for (size_t i = from; p && i < p->nkept; i++)
		if (p->kept[i].kind == SC_DROP_COLUMN && !strcmp(p->kept[i].was->name, name))
			return kept_column_first_rows(p, name) ? &p->kept[i] : NULL;
	return NULL;
}

int apply_alter_undo_schema(struct alter_plan *p, struct stream_writer *w)
{
	for (size_t i = p ? p->nkept : 0; i-- > 0;) {
		struct alter_kept *k = &p->kept[i];
		struct schema_change c;
		memset(&c, 0, sizeof(c));
		if (k->kind == SC_DROP_TABLE && k->rows) {
			c.kind = SC_ADD_TABLE;
			c.new_t = k->was;
		} else if (k->kind == SC_DROP_COLUMN && kept_column_first_rows(p, k->was->name)) {
			c.kind = SC_ADD_COLUMN;
			c.new_t = k->was;
			c.new_i = k->col;
		} else if (k->kind == SC_ALTER_COLUMN) {
			c.kind = SC_ALTER_COLUMN;
			c.old_t = k->now;
			c.old_i = k->col_now;
			c.new_t = k->was;
			c.new_i = k->col;
		} else if (k->kind == SC_DROP_INDEX || k->kind == SC_DROP_REFERENCE || k->kind == SC_DROP_CHECK ||
			   k->kind == SC_DROP_TRIGGER) {
			/* made again after the rows, which may be what broke it (a
			 * trigger: which it must not fire for) */
			c.kind = k->kind == SC_DROP_INDEX ? SC_ADD_INDEX
				 : k->kind == SC_DROP_REFERENCE ? SC_ADD_REFERENCE
				 : k->kind == SC_DROP_CHECK ? SC_ADD_CHECK : SC_ADD_TRIGGER;
			c.new_t = k->was;
			c.new_i = k->col;
			c.names = 1; /* its own name, and a UNIQUE constraint as one */
		} else if (k->kind == SC_ADD_CHECK || k->kind == SC_ADD_TRIGGER) {
			/* dropped before the rows (apply_schema.c), which may break
			 * it, or which it would fire for */
			c.kind = k->kind == SC_ADD_CHECK ? SC_DROP_CHECK : SC_DROP_TRIGGER;
			c.old_t = k->was;
			c.old_i = k->col;
		} else {
			continue;
		}
		if (stream_write_schema(w, &c) < 0)
			return -1;
		/* A NOT NULL column without a default comes back nullable, is
		 * filled by the rows, then made NOT NULL again. */
		if (k->kind == SC_DROP_COLUMN && !k->was->cols[k->col].nullable && !k->was->cols[k->col].default_sql) {
			c.kind = SC_ALTER_COLUMN;
			c.old_t = c.new_t;
			c.old_i = c.new_i;
			if (stream_write_schema(w, &c) < 0)
				return -1;
		}
	}
	return 0;
}

const struct table *apply_alter_undo_table(struct alter_plan *p, const struct table *st)
{
	struct alter_kept *first = kept_column(p, st->name, 0);
	if (!first)
		return st;
	if (first->ext)
		return first->ext;
	/* The stream's table with the dropped columns after its own, each with
	 * its indexes and foreign keys; NOT NULL without a default as nullable
	 * (see apply_alter_undo_schema). */
	struct table *ext = table_copy(st);
	for (struct alter_kept *k = first; k; k = kept_column(p, st->name, (size_t)(k - p->kept) + 1)) {
		const struct column *c = &k->was->cols[k->col];
		struct column *n = table_add_column(ext, c->name, c->type, c->native, c->nullable || !c->default_sql);
		n->default_sql = c->default_sql ? xstrdup(c->default_sql) : NULL;
		n->exact_text = c->exact_text;
		n->json_doc = c->json_doc;
		n->scale = c->scale;
		for (size_t x = 0; x < k->was->nindexes; x++) {
			const struct index *ix = &k->was->indexes[x];
			int has = 0;
			for (size_t j = 0; j < ix->ncols; j++)
				has |= !strcmp(ix->cols[j], c->name);
			if (!has)
				continue;
			struct index *nx = table_add_index(ext, ix->name, ix->unique);
			for (size_t j = 0; j < ix->ncols; j++)
				index_add_column(nx, ix->cols[j]);
		}
		for (size_t r = 0; r < k->was->nrefs; r++) {
			const struct ref *rf = &k->was->refs[r];
			int has = 0;
			for (size_t j = 0; j < rf->ncols; j++)
				has |= !strcmp(rf->cols[j], c->name);
			if (!has)
				continue;
			struct ref *nr = table_add_ref(ext, rf->table, rf->deferrable);
			nr->on_delete = rf->on_delete;
			nr->on_update = rf->on_update;
			for (size_t j = 0; j < rf->ncols; j++)
				ref_add_column(nr, rf->cols[j], rf->to[j]);
		}
	}
	first->ext = ext;
	return ext;
}

/* Value i of src into value j of dst (nothing if it is absent). */
static void copy_value_to(struct row *dst, size_t j, const struct row *src, size_t i)
{
	if (src->v[i].state == V_SET)
		row_set(dst, j, row_ptr(src, i), src->v[i].len);
	else if (src->v[i].state == V_NULL)
		row_set_null(dst, j);
}

/* The merge of a table's inverted changes with the values of its dropped
 * columns: the rows kept before the drop (was's layout, key order). */
struct undo_merge {
	const struct table *ext, *was;
	size_t first;            /* the first dropped column's index in ext */
	long *from;              /* per dropped column: its index in was */
	long *key_from;          /* per key column of ext: its index in was */
	struct stream_reader rd;
	int have;
	struct change out;
};

static int merge_advance(struct undo_merge *m)
{
	int got = stream_next(&m->rd);
	if (got < 0)
		return -1;
	m->have = got > 0 && m->rd.rec.type != REC_TABLE_END;
	return 0;
}

int apply_alter_undo_begin(struct alter_plan *p, const struct table *st, struct undo_merge **out)
{
	struct alter_kept *k = kept_column(p, st->name, 0);
	*out = NULL;
	if (!k)
		return 0;
	struct undo_merge *m = xcalloc(1, sizeof(*m));
	*out = m;
	m->ext = apply_alter_undo_table(p, st);
	m->was = k->was;
	m->first = st->ncols;
	m->from = xcalloc(m->ext->ncols - st->ncols + 1, sizeof(long));
	for (size_t i = st->ncols; i < m->ext->ncols; i++)
		m->from[i - st->ncols] = table_column_index(m->was, m->ext->cols[i].name);
	m->key_from = xcalloc(m->ext->nkey + 1, sizeof(long));
	for (size_t i = 0; i < m->ext->nkey; i++) {
		m->key_from[i] = table_column_index(m->was, m->ext->cols[m->ext->key[i]].name);
		if (m->key_from[i] < 0)
			return error("table \"%s\": its key is not the one it had before the drop", st->name);
	}
	change_init(&m->out);
	if (stream_open(&m->rd, k->rows) < 0)
		return -1;
	return merge_advance(m);
}

/* Key order of the kept row against row r (ext's layout). */
static int kept_cmp(const struct undo_merge *m, const struct row *r)
{
	for (size_t k = 0; k < m->ext->nkey; k++) {
		size_t at = m->ext->key[k];
		int c = value_cmp(&m->rd.rec.row, (size_t)m->key_from[k], r, at, m->ext->cols[at].type);
		if (c)
			return c;
	}
	return 0;
}

/* The dropped columns' kept values into row (ext's layout); whether one
 * needs writing (a value, or a column whose default would stand in). */
static int put_kept(struct undo_merge *m, struct row *row)
{
	int any = 0;
	for (size_t i = m->first; i < m->ext->ncols; i++) {
		copy_value_to(row, i, &m->rd.rec.row, (size_t)m->from[i - m->first]);
		any |= row->v[i].state == V_SET || m->ext->cols[i].default_sql != NULL;
	}
	return any;
}

/* Kept rows before limit (all, for NULL) that the run did not change, as
 * updates of their dropped columns. */
static int write_kept_before(struct undo_merge *m, struct stream_writer *w, const struct row *limit)
{
	struct change *u = &m->out;
	while (m->have && (!limit || kept_cmp(m, limit) < 0)) {
		u->type = REC_UPDATE;
		u->table = (struct table *)m->ext;
		row_resize(&u->row, m->ext->ncols);
		row_resize(&u->old, m->ext->ncols);
		for (size_t k = 0; k < m->ext->nkey; k++)
			copy_value_to(&u->row, m->ext->key[k], &m->rd.rec.row, (size_t)m->key_from[k]);
		if (put_kept(m, &u->row) && stream_write_change(w, u) < 0)
			return -1;
		if (merge_advance(m) < 0)
			return -1;
	}
	return 0;
}

int apply_alter_undo_change(struct undo_merge *m, struct stream_writer *w, const struct change *u)
{
	if (!m)
		return stream_write_change(w, u);
	const struct table *ext = m->ext;
	struct change *e = &m->out;
	if (write_kept_before(m, w, &u->row) < 0)
		return -1;
	e->type = u->type;
	e->table = (struct table *)ext;
	row_resize(&e->row, ext->ncols);
	row_resize(&e->old, ext->ncols);
	for (size_t i = 0; i < u->row.n; i++) {
		row_copy_value(&e->row, &u->row, i);
		row_copy_value(&e->old, &u->old, i);
	}
	if (m->have && kept_cmp(m, &e->row) == 0) {
		/* the run changed this row: its undo puts the dropped values back too */
		if (e->type != REC_DELETE)
			put_kept(m, &e->row);
		if (merge_advance(m) < 0)
			return -1;
	}
	return stream_write_change(w, e);
}

int apply_alter_undo_end(struct undo_merge *m, struct stream_writer *w)
{
	return m ? write_kept_before(m, w, NULL) : 0;
}

void apply_alter_undo_free(struct undo_merge *m)
{
	if (!m)
		return;
	if (m->rd.name || m->rd.gz)
		stream_close(&m->rd);
	change_release(&m->out);
	free(m->from);
	free(m->key_from);
	free(m);
}

int apply_alter_undo_tables(struct alter_plan *p, struct stream_writer *w, int records)
{
	for (size_t i = 0; p && i < p->nkept; i++) {
		struct alter_kept *k = &p->kept[i];
		struct stream_reader rd;
		struct change ins;
		int got;
		if (k->kind != SC_DROP_TABLE || !k->rows)
			continue;
		if (records) {
			if (stream_write_table(w, k->was) < 0)
				return -1;
			continue;
		}
		if (stream_open(&rd, k->rows) < 0) {
			stream_close(&rd);
			return -1;
		}
		change_init(&ins);
		stream_begin_table(w, k->was);
		while ((got = stream_next(&rd)) > 0 && rd.rec.type != REC_TABLE_END) {
			ins.type = REC_INSERT;
			ins.table = k->was;
			row_copy(&ins.row, &rd.rec.row);
			if (stream_write_change(w, &ins) < 0) {
				got = -1;
				break;
			}
		}
		change_release(&ins);
		stream_close(&rd);
		if (got < 0 || stream_end_table(w) < 0)
			return -1;
	}
	return 0;
}
