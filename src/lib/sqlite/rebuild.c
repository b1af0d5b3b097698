/* sqlite/rebuild: a column's type, NOT NULL or default changed, a foreign
 * key or UNIQUE constraint dropped or a foreign key added, the only way
 * SQLite allows, by the table rebuild of its documentation
 * (lang_altertable.html, "Making Other Kinds Of Table Schema Changes"):
 * a new table made from the CREATE TABLE text SQLite keeps, with the
 * changed columns' definitions replaced and the clauses left out or added
 * (a list of struct rebuild_edit, db.h: every change of the table in one
 * rebuild, so that its rows are copied once), the rows copied (with their
 * rowids), the
 * old table dropped, the new one renamed, and the table's indexes,
 * triggers and id generator (sqlite_sequence) made again as they were.
 *
 * It runs inside dbapply's write transaction, where PRAGMA foreign_keys
 * cannot be turned off: the connection has it on only where a foreign key
 * of the database has an action (conn.c), and then dropping a table that
 * another refers to would fire the actions (an ON DELETE CASCADE deletes
 * the children) and leave violations counted against the commit.  Such a
 * table is refused by name.  The rename runs with legacy_alter_table on,
 * so that views and triggers naming the table are kept as their text has
 * them, not parsed against a table that is gone for one statement.
 *
 * Worked example: t(id INTEGER PRIMARY KEY, name varchar(10) NOT NULL
 * COLLATE NOCASE) made varchar(50) and nullable becomes
 *   CREATE TABLE "t__dbapply_rebuild"(id INTEGER PRIMARY KEY,
 *       name varchar(50) COLLATE NOCASE);
 *   INSERT INTO "t__dbapply_rebuild" (rowid, "id", "name")
 *       SELECT rowid, "id", "name" FROM "t";
 *   DROP TABLE "t"; PRAGMA legacy_alter_table = ON;
 *   ALTER TABLE "t__dbapply_rebuild" RENAME TO "t";
 *   PRAGMA legacy_alter_table = OFF;  (then its indexes and triggers) */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqlite.h"
#include "sql.h"

/* Where the token at p ends: a quoted name or string, a parenthesized
 * group (whole), a word, or one other character. */
static const char *skip_space(const char *p, const char *end);

static const char *token_end(const char *p, const char *end)
{
	if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
		char close = *p == '[' ? ']' : *p;
		for (p++; p < end; p++)
			if (*p == close) {
				if (close != ']' && p + 1 < end && p[1] == close) {
					p++; /* a doubled quote */
					continue;
				}
				return p + 1;
			}
		return end;
	}
	if (*p == '(') {
		for (p = skip_space(p + 1, end); p < end && *p != ')'; p = skip_space(p, end))
			p = token_end(p, end);
		return p < end ? p + 1 : end;
	}
	if (isdigit((unsigned char)*p) || (*p == '.' && p + 1 < end && isdigit((unsigned char)p[1]))) {
		/* a number: 1.5, .5, 1e-5, 0x1F */
		for (p++; p < end && (isalnum((unsigned char)*p) || *p == '.' ||
				      ((*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E')));)
			p++;
		return p;
	}
	if (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80) {
		while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80))
			p++;
		return p;
	}
	return p + 1;
}

/* Past white space and comments. */
static const char *skip_space(const char *p, const char *end)
{
	for (;;) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p + 1 < end && p[0] == '-' && p[1] == '-') {
			while (p < end && *p != '\n')
				p++;
		} else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
			const char *e = p + 2;
			while (e + 1 < end && !(e[0] == '*' && e[1] == '/'))
				e++;
			p = e + 1 < end ? e + 2 : end;
		} else {
			return p;
		}
	}
}

struct span {
	const char *p;
	size_t n;
};

static int word_is(struct span t, const char *word)
{
	return t.n == strlen(word) && !strncasecmp(t.p, word, t.n);
}

/* The tokens of [p, end) up to a top-level comma (or the end); *next is
 * past that comma. */
static size_t tokens_of_item(const char *p, const char *end, struct span **v, size_t *alloc, const char **next)
{
	size_t n = 0;
	for (p = skip_space(p, end); p < end && *p != ','; p = skip_space(p, end)) {
		const char *e = token_end(p, end);
		ALLOC_GROW(*v, n + 1, *alloc);
		(*v)[n].p = p;
		(*v)[n++].n = (size_t)(e - p);
		p = e;
	}
	*next = p < end ? p + 1 : end;
	return n;
}

/* Whether token t, a column's first, names column name. */
static int names_column(struct span t, const char *name)
{
	size_t len = strlen(name);
	if (t.n >= 2 && strchr("\"`[", t.p[0]))
		return t.n - 2 == len && !strncasecmp(t.p + 1, name, len);
	return t.n == len && !strncasecmp(t.p, name, len);
}

static int starts_constraint(struct span t)
{
	static const char *const words[] = { "CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK",
					     "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS" };
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (word_is(t, words[i]))
			return 1;
	return 0;
}

/* A default as SQLite reads it back from pragma table_info: a literal
 * as it is, any other expression in parentheses. */
static void add_default(struct buf *out, const char *def)
{
	const char *end = def + strlen(def);
	char *num_end;
	strtod(def, &num_end);
	int literal = (*def && token_end(def, end) == end && *def != '(') || (num_end != def && num_end == end);
	buf_addf(out, literal ? " DEFAULT %s" : " DEFAULT (%s)", def);
}

/* Column item v[0..n) (its name first) with col's type, NOT NULL and
 * default, every other constraint (key, UNIQUE, CHECK, COLLATE,
 * REFERENCES) kept as written, and a NOT NULL's ON CONFLICT clause kept
 * where the column stays NOT NULL (it decides what an INSERT does). */
static void column_item(struct buf *out, const struct span *v, size_t n, const struct column *col)
{
	size_t i = 1, on_conflict = 0;
	buf_add(out, v[0].p, v[0].n);
	if (*col->native)
		buf_addf(out, " %s", col->native);
	while (i < n && !starts_constraint(v[i]))
		i++; /* the old type */
	while (i < n) {
		size_t from = i, drop = 0;
		if (word_is(v[i], "CONSTRAINT") && i + 2 < n)
			i += 2; /* its name goes or stays with what follows */
		int not_null = 0;
		if (word_is(v[i], "NOT") && i + 1 < n && word_is(v[i + 1], "NULL")) {
			i += 2;
			drop = not_null = 1;
		} else if (word_is(v[i], "NULL")) {
			i++;
			drop = 1;
		} else if (word_is(v[i], "DEFAULT") && i + 1 < n) {
			i += 2;
			if (i < n && (v[i - 1].n == 1 && (v[i - 1].p[0] == '-' || v[i - 1].p[0] == '+')))
				i++; /* a signed number */
			drop = 1;
		} else {
			i++;
		}
		if (drop && i + 2 < n && word_is(v[i], "ON") && word_is(v[i + 1], "CONFLICT")) {
			if (not_null)
				on_conflict = i + 2; /* its resolution: written again below */
			i += 3;
		}
		/* up to the next constraint, as written */
		while (!drop && i < n && !starts_constraint(v[i]))
			i++;
		if (i > n)
			i = n;
		if (!drop)
			buf_addf(out, " %.*s", (int)(v[i - 1].p + v[i - 1].n - v[from].p), v[from].p);
	}
	if (!col->nullable)
		buf_adds(out, " NOT NULL");
	if (!col->nullable && on_conflict)
		buf_addf(out, " ON CONFLICT %.*s", (int)v[on_conflict].n, v[on_conflict].p);
	if (col->default_sql)
		add_default(out, col->default_sql);
}

/* The names of a parenthesized list of names, (a, "b"), compared with
 * v[0..n): whether they are the same, in order. */
static int group_is(struct span g, char *const *v, size_t n)
{
	const char *end = g.p + g.n - 1, *p = g.p + 1;
	size_t i = 0;
	for (p = skip_space(p, end); p < end; p = skip_space(p, end)) {
		const char *e = token_end(p, end);
		struct span t = { p, (size_t)(e - p) };
		if (!(t.n == 1 && *p == ',') && (i >= n || !names_column(t, v[i++])))
			return 0;
		p = e;
	}
	return i == n;
}

/* Past a foreign key clause's tail at v[i]: ON DELETE/UPDATE action,
 * MATCH name, [NOT] DEFERRABLE, INITIALLY DEFERRED/IMMEDIATE. */
static size_t past_reference_tail(const struct span *v, size_t n, size_t i)
{
	while (i < n) {
		if (word_is(v[i], "ON") && i + 2 < n)
			i += word_is(v[i + 2], "SET") || word_is(v[i + 2], "NO") ? 4 : 3;
		else if (word_is(v[i], "MATCH") || word_is(v[i], "INITIALLY") ||
			 (word_is(v[i], "NOT") && i + 1 < n && word_is(v[i + 1], "DEFERRABLE")))
			i += 2;
		else if (word_is(v[i], "DEFERRABLE"))
			i++;
		else
			break;
	}
	return i < n ? i : n;
}

/* The original text of v[from..to), or nothing. */
static void add_tokens(struct buf *out, const struct span *v, size_t from, size_t to)
{
	if (from < to)
		buf_addf(out, "%s%.*s", out->len && out->buf[out->len - 1] != ' ' ? " " : "",
			 (int)(v[to - 1].p + v[to - 1].n - v[from].p), v[from].p);
}

/* Column item v[0..n) without its inline REFERENCES to e->drop_ref's
 * table or its inline UNIQUE (e->drop_unique), into out; whether it had
 * one. */
static int column_without(struct buf *out, const struct span *v, size_t n, const struct rebuild_edit *e)
{
	for (size_t i = 1; i < n; i++) {
		size_t from = i >= 3 && word_is(v[i - 2], "CONSTRAINT") ? i - 2 : i, to = 0;
		if (e->drop_ref && word_is(v[i], "REFERENCES") && i + 1 < n && names_column(v[i + 1], e->drop_ref->table))
			to = past_reference_tail(v, n, i + 2 + (i + 2 < n && v[i + 2].p[0] == '('));
		else if (e->drop_unique && word_is(v[i], "UNIQUE"))
			to = i + 1 + (i + 2 < n && word_is(v[i + 1], "ON") ? 3 : 0);
		if (!to)
			continue;
		add_tokens(out, v, 0, from);
		add_tokens(out, v, to < n ? to : n, n);
		return 1;
	}
	return 0;
}

/* Whether table constraint v[0..n) is check ck: by its name, else (an
 * unnamed one) by its expression as written, between its parentheses. */
static int is_check(const struct span *v, size_t n, const struct check *ck)
{
	size_t i = n > 2 && word_is(v[0], "CONSTRAINT") ? 2 : 0;
	if (i + 2 != n || !word_is(v[i], "CHECK") || v[i + 1].p[0] != '(')
		return 0;
	if (ck->name)
		return i && names_column(v[1], ck->name);
	const char *p = v[i + 1].p + 1, *end = v[i + 1].p + v[i + 1].n - 1;
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	return !i && (size_t)(end - p) == strlen(ck->expr) && !strncmp(p, ck->expr, (size_t)(end - p));
}

/* Whether table constraint v[0..n) is e's foreign key, UNIQUE or check
 * to drop. */
static int constraint_dropped(const struct span *v, size_t n, const struct rebuild_edit *e)
{
	size_t i = n > 2 && word_is(v[0], "CONSTRAINT") ? 2 : 0;
	if (e->drop_check)
		return is_check(v, n, e->drop_check);
	if (e->drop_ref && i + 4 < n && word_is(v[i], "FOREIGN") && word_is(v[i + 1], "KEY") &&
	    group_is(v[i + 2], e->drop_ref->cols, e->drop_ref->ncols) && word_is(v[i + 3], "REFERENCES") &&
	    names_column(v[i + 4], e->drop_ref->table))
		return 1;
	return e->drop_unique && i + 1 < n && word_is(v[i], "UNIQUE") &&
	       group_is(v[i + 1], e->drop_unique->cols, e->drop_unique->ncols);
}

/* A foreign key as a table constraint of SQLite's CREATE TABLE. */
static void add_reference(struct buf *out, const struct ref *r)
{
	buf_adds(out, ", FOREIGN KEY (");
	for (size_t i = 0; i < r->ncols; i++)
		sql_addf(out, &sq_dialect, i ? ", %I" : "%I", r->cols[i]);
	sql_addf(out, &sq_dialect, ") REFERENCES %I (", r->table);
	for (size_t i = 0; i < r->ncols; i++)
		sql_addf(out, &sq_dialect, i ? ", %I" : "%I", r->to[i]);
	buf_addch(out, ')');
	if (r->on_delete != REF_NO_ACTION)
		buf_addf(out, " ON DELETE %s", ref_action_sql(r->on_delete));
	if (r->on_update != REF_NO_ACTION)
		buf_addf(out, " ON UPDATE %s", ref_action_sql(r->on_update));
}

/* What edit e makes, for messages: "change column \"a\"". */
static void edit_said(struct buf *out, const struct rebuild_edit *e)
{
	if (e->col)
		buf_addf(out, "change column \"%s\"", e->col->name);
	else
		buf_adds(out, e->add_ref ? "add a foreign key" : e->drop_ref ? "drop a foreign key"
			      : e->add_constraint ? "add a constraint" : e->drop_check ? "drop a check"
			      : "drop a UNIQUE constraint");
}

/* Column item v[0..n) with each edit of e[0..ne) that is about it made in
 * turn, each on the text the one before made, into out; found counts
 * them per edit. */
static void column_edited(struct buf *out, const struct span *v, size_t n, const struct rebuild_edit *e, size_t ne,
			  size_t *found)
{
	struct buf item = BUF_INIT, made = BUF_INIT;
	struct span *w = NULL;
	size_t alloc = 0;
	buf_add(&item, v[0].p, (size_t)(v[n - 1].p + v[n - 1].n - v[0].p));
	for (size_t k = 0; k < ne; k++) {
		const char *next;
		size_t m = tokens_of_item(item.buf, item.buf + item.len, &w, &alloc, &next);
		const struct ref *one = e[k].drop_ref && e[k].drop_ref->ncols == 1 ? e[k].drop_ref : NULL;
		const struct index *lone = e[k].drop_unique && e[k].drop_unique->ncols == 1 ? e[k].drop_unique : NULL;
		buf_reset(&made);
		if (e[k].col && names_column(w[0], e[k].col->name))
			column_item(&made, w, m, e[k].col);
		else if (!((one && names_column(w[0], one->cols[0])) || (lone && names_column(w[0], lone->cols[0]))) ||
			 !column_without(&made, w, m, &e[k]))
			continue;
		found[k]++;
		struct buf swap = item;
		item = made;
		made = swap;
	}
	buf_add(out, item.buf, item.len);
	free(w);
	buf_release(&item);
	buf_release(&made);
}

/* create (a CREATE TABLE as sqlite_schema keeps it) as table tmp with
 * e[0..ne) made; -1 (why in err) if it cannot be read or does not have
 * what each edit changes exactly once. */
static int rewrite_create(struct buf *out, const char *create, const char *tmp, const struct rebuild_edit *e,
			  size_t ne, struct buf *err)
{
	const char *end = create + strlen(create), *p = create, *body = NULL;
	struct span *v = NULL;
	size_t alloc = 0, *found = xcalloc(ne + 1, sizeof(*found));
	int ret = 0;
	for (p = skip_space(p, end); p < end; p = skip_space(p, end)) {
		if (*p == '(') {
			body = p;
			break;
		}
		p = token_end(p, end);
	}
	if (!body) {
		buf_addf(err, "its CREATE TABLE has no column list");
		free(found);
		return -1;
	}
	const char *body_end = token_end(body, end) - 1; /* at its ')' */
	sql_addf(out, &sq_dialect, "CREATE TABLE %I (", tmp);
	int first = 1;
	for (p = body + 1; p < body_end;) {
		const char *next;
		size_t n = tokens_of_item(p, body_end, &v, &alloc, &next);
		int column = n && !starts_constraint(v[0]) && !word_is(v[0], "FOREIGN"), dropped = 0;
		p = next;
		for (size_t k = 0; n && !column && k < ne; k++)
			if (constraint_dropped(v, n, &e[k]) && ++found[k])
				dropped = 1;
		if (!n || dropped)
			continue;
		if (!first)
			buf_adds(out, ", ");
		first = 0;
		if (column)
			column_edited(out, v, n, e, ne, found);
		else
			buf_add(out, v[0].p, (size_t)(v[n - 1].p + v[n - 1].n - v[0].p));
	}
	for (size_t k = 0; k < ne; k++)
		if (e[k].add_ref) {
			add_reference(out, e[k].add_ref);
			found[k]++;
		} else if (e[k].add_constraint) {
			buf_addf(out, ", %s", e[k].add_constraint);
			found[k]++;
		}
	buf_adds(out, ")");
	buf_adds(out, body_end + 1); /* WITHOUT ROWID, STRICT */
	free(v);
	for (size_t k = 0; k < ne && !ret; k++)
		if (found[k] != 1) {
			buf_addf(err, "its CREATE TABLE does not define %s once",
				 e[k].col ? "that column" : e[k].drop_ref ? "that foreign key"
				 : e[k].drop_check ? "that check as a table constraint" : "that UNIQUE constraint");
			if (ne > 1) {
				buf_adds(err, " (to ");
				edit_said(err, &e[k]);
				buf_adds(err, ")");
			}
			ret = -1;
		}
	free(found);
	return ret;
}

/* Why the table cannot be rebuilt in this transaction, into err: the
 * connection enforces foreign keys (conn.c) and a table refers to it. */
static int enforced_referrers(struct db *db, const char *table, struct buf *err)
{
	char **on, **by;
	size_t non, nby;
	if (sq_texts(db, "SELECT foreign_keys FROM pragma_foreign_keys WHERE ?1 IS NOT NULL", table, NULL, &on,
		     &non) < 0)
		return -1;
	int enforced = non && !strcmp(on[0], "1");
	free_strv(on, non);
	if (!enforced)
		return 0;
	if (sq_texts(db, "SELECT DISTINCT m.name FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f "
			 "WHERE m.type = 'table' AND f.\"table\" = ?1 COLLATE NOCASE ORDER BY m.name",
		     table, NULL, &by, &nby) < 0)
		return -1;
	if (nby)
		buf_addf(err, "table \"%s\" has a foreign key into it, and SQLite enforces foreign keys in this "
			 "run (one of the database has an ON DELETE or ON UPDATE action), which dropping the "
			 "table for the rebuild would fire inside the transaction: change the column by hand",
			 by[0]);
	free_strv(by, nby);
	return nby ? 1 : 0;
}

int sq_rebuild_table(struct db *db, const char *table, const struct rebuild_edit *e, size_t ne, struct buf *out)
{
	char **create = NULL, **cols = NULL, **others = NULL, **seq = NULL, **rowid = NULL;
	size_t ncreate = 0, ncols = 0, nothers = 0, nseq = 0, nrowid = 0;
	struct buf tmp = BUF_INIT, err = BUF_INIT, list = BUF_INIT;
	int ret = -1;
	buf_addf(&tmp, "%s__dbapply_rebuild", table);
	for (size_t k = 0; k < ne; k++) {
		const struct column *col = e[k].col;
		if (col && (!sql_is_one_expression(col->native) ||
			    (col->default_sql && !sql_is_one_expression(col->default_sql)))) {
			db_error(db, "column \"%s\": its type or default is not one SQL expression", col->name);
			goto out;
		}
	}
	if (sq_texts(db, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1", table, NULL,
		     &create, &ncreate) < 0 ||
	    sq_texts(db, "SELECT name FROM pragma_table_xinfo(?1) WHERE hidden = 0 ORDER BY cid", table, NULL,
		     &cols, &ncols) < 0 ||
	    sq_texts(db, "SELECT sql FROM sqlite_schema WHERE tbl_name = ?1 AND type IN ('index', 'trigger') "
			 "AND sql IS NOT NULL ORDER BY type, name", table, NULL, &others, &nothers) < 0 ||
	    sq_texts(db, "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1", table, NULL,
		     &rowid, &nrowid) < 0)
		goto out;
	if (ncreate != 1) {
		db_error(db, "table \"%s\": not a table SQLite keeps a CREATE TABLE of", table);
		goto out;
	}
	int referred = enforced_referrers(db, table, &err);
	if (referred < 0)
		goto out;
	if (referred || rewrite_create(out, create[0], tmp.buf, e, ne, &err) < 0) {
		struct buf said = BUF_INIT;
		for (size_t k = 0; k < ne; k++) {
			buf_adds(&said, k == 0 ? "" : k + 1 < ne ? ", " : " and ");
			edit_said(&said, &e[k]);
		}
		db_error(db, "table \"%s\" cannot be rebuilt to %s: %s", table, said.buf, err.buf);
		buf_release(&said);
		goto out;
	}
	/* sqlite_sequence exists once a table has AUTOINCREMENT */
	if (sq_texts(db, "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence' AND ?1 IS NOT NULL", table,
		     NULL, &seq, &nseq) < 0)
		goto out;
	int has_sequence = nseq > 0;
	free_strv(seq, nseq);
	seq = NULL;
	nseq = 0;
	if (has_sequence &&
	    sq_texts(db, "SELECT seq FROM sqlite_sequence WHERE name = ?1", table, NULL, &seq, &nseq) < 0)
		goto out;
	int keeps_rowid = nrowid == 1 && !strcmp(rowid[0], "0");
	if (keeps_rowid)
		buf_adds(&list, "rowid");
	for (size_t i = 0; i < ncols; i++)
		sql_addf(&list, &sq_dialect, "%s%I", i || keeps_rowid ? ", " : "", cols[i]);
	sql_addf(out, &sq_dialect, "; INSERT INTO %I (%s) SELECT %s FROM %I; DROP TABLE %I; "
		 "PRAGMA legacy_alter_table = ON; ALTER TABLE %I RENAME TO %I; PRAGMA legacy_alter_table = OFF",
		 tmp.buf, list.buf, list.buf, table, table, tmp.buf, table);
	for (size_t i = 0; i < nothers; i++)
		buf_addf(out, "; %s", others[i]);
	if (nseq == 1) {
		struct buf name = BUF_INIT;
		sql_literal(&name, &sq_dialect, LIT_TEXT, table, strlen(table));
		buf_addf(out, "; DELETE FROM sqlite_sequence WHERE name = %s; INSERT INTO sqlite_sequence (name, seq) "
			 "VALUES (%s, %s)", name.buf, name.buf, seq[0]);
		buf_release(&name);
	}
	ret = 0;
out:
	free_strv(create, ncreate);
	free_strv(cols, ncols);
	free_strv(others, nothers);
	free_strv(seq, nseq);
	free_strv(rowid, nrowid);
	buf_release(&tmp);
	buf_release(&err);
	buf_release(&list);
	return ret;
}
