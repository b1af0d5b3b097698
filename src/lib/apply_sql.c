/* apply_sql: dbapply --sql, a dry run that prints the statements it ran,
 * with their values as literals in the target's dialect: a script that,
 * run by the engine's own client, makes the same change.
 *
 * The run is a dry run in every other way (every check, every write, then
 * the rollback), so a script is printed only for a stream that dbapply
 * would apply, and each statement is rendered right after the write it
 * stands for succeeded.  Its parts are kept apart until the end: the
 * schema step (outside the transaction where DDL commits by itself), the
 * rows, the id generators.  --schema's changes to the tables the target
 * has (apply_alter.c) are the statements that ran, SQLite's rebuilds
 * with them, in the order they ran: before the rows, or after them
 * (a narrowing, NOT NULL).  MySQL commits DDL by itself, so there no DDL
 * runs: the statements of the schema step before the rows go before the
 * transaction, those after the rows' commit after it, and where the step
 * would make tables or columns before the rows, the rows are checked
 * against them as planned and not written (apply_schema_unrun). */
#include "apply_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int value_literal(void *ctx, const struct table *t, const struct row *r, size_t i, struct buf *out)
{
	struct db *db = ctx;
	if (db->ops->literal(db, t, r, i, out) == 0)
		return 0;
	char *why = xstrdup(db->err.buf);
	db_error(db, "column \"%s\": %s", t->cols[i].name, why);
	free(why);
	return -1;
}

int apply_sql_check(struct apply *a)
{
	if (!a->o->sql)
		return 0;
	if (!a->db->ops->literal || !a->db->ops->dialect)
		return error("%s: --sql: %s targets take no SQL", a->db->shown_url, a->db->ops->engine);
	return 0;
}

/* Statement sql into out for the mysql client, which ends a statement at
 * each ';' outside quotes: one that holds a ';' (a trigger's BEGIN ... END)
 * goes between DELIMITER lines, with a delimiter it does not hold. */
static void add_client_statement(struct buf *out, const char *sql)
{
	static const char *const delimiters[] = { "$$", "//", "$dbpipe$", NULL };
	size_t i = 0;
	if (!strchr(sql, ';')) {
		buf_addf(out, "%s;\n", sql);
		return;
	}
	while (delimiters[i + 1] && strstr(sql, delimiters[i]))
		i++;
	buf_addf(out, "DELIMITER %s\n%s%s\nDELIMITER ;\n", delimiters[i], sql, delimiters[i]);
}

void apply_sql_ddl(struct apply *a, const char *sql)
{
	if (a->o->sql && a->db->ops->ddl_commits)
		add_client_statement(&a->sql_ddl, sql);
	else if (a->o->sql)
		buf_addf(&a->sql_ddl, "%s;\n", sql);
}

void apply_sql_ddl_after_commit(struct apply *a, const char *sql)
{
	if (a->o->sql)
		add_client_statement(&a->sql_commit, sql);
}

void apply_sql_ddl_after_rows(struct apply *a, const char *sql)
{
	if (a->o->sql)
		buf_addf(&a->sql_after, "%s;\n", sql);
}

/* Whether a foreign key of schema s has an action: SQLite's connection
 * then enforces them (conn.c), else they are off and checked at the end. */
static int has_reference_action(const struct schema *s)
{
	for (size_t i = 0; i < s->n; i++)
		for (size_t r = 0; r < s->tables[i]->nrefs; r++)
			if (s->tables[i]->refs[r].on_delete != REF_NO_ACTION ||
			    s->tables[i]->refs[r].on_update != REF_NO_ACTION)
				return 1;
	return 0;
}

void apply_sql_alters(struct apply *a, enum alter_when when)
{
	for (size_t i = 0; a->o->sql && a->alter && i < a->alter->n; i++) {
		const struct alter_step *s = &a->alter->v[i];
		/* after the commit: the dry run ends before, so none has run */
		if (s->when != when || (!s->done && when != ALTER_AFTER_COMMIT))
			continue;
		if (when == ALTER_AFTER_COMMIT) /* MySQL's */
			apply_sql_ddl_after_commit(a, s->sql);
		else
			buf_addf(when <= ALTER_BEFORE_ROWS ? &a->sql_ddl : &a->sql_after, "%s;\n", s->sql);
		if (s->rebuild_table && !has_reference_action(&a->target))
			a->sql_rebuilds_unenforced = 1;
	}
}

/* The index of table name in the target's schema, or -1. */
static long target_index(const struct apply *a, const char *name)
{
	for (size_t i = 0; i < a->target.n; i++)
		if (!strcmp(a->target.tables[i]->name, name))
			return (long)i;
	return -1;
}

int apply_sql_write(struct apply *a, const struct plan *p, const struct change *c)
{
	if (!a->o->sql)
		return 0;
	if (!a->sql_rows) {
		struct buf path = BUF_INIT;
		buf_addf(&path, "%s/script", a->tmpdir);
		a->sql_rows = fopen(path.buf, "w+");
		buf_release(&path);
		if (!a->sql_rows)
			return error("%s: %s", a->tmpdir, strerror(errno));
	}
	/* MySQL writes the tables of a foreign-key cycle with its checks off
	 * (checked by queries instead, which this run did): so does the script. */
	if (a->target_in_cycle) {
		long ti = target_index(a, p->st->name);
		int off = ti >= 0 && a->target_in_cycle[ti];
		if (off != a->sql_fk_off) {
			if (off)
				fputs("-- a foreign-key cycle: written with the checks off, as dbapply does "
				      "(this run checked its references)\n", a->sql_rows);
			fprintf(a->sql_rows, "SET foreign_key_checks = %d;\n", !off);
			a->sql_fk_off = off;
		}
	}
	enum sql_write w = c->type == REC_DELETE ? SQL_DELETE : c->type == REC_UPDATE ? SQL_UPDATE : SQL_INSERT;
	buf_reset(&a->msg);
	int rc = sql_change_literal(&a->msg, a->db->ops->dialect, p->proj, w, &c->row, value_literal, a->db);
	if (rc < 0)
		return error("%s: table \"%s\": %s", a->db->shown_url, p->st->name, a->db->err.buf);
	if (rc > 0 && (fwrite(a->msg.buf, 1, a->msg.len, a->sql_rows) != a->msg.len ||
		       fputs(";\n", a->sql_rows) == EOF))
		return error("%s: %s", a->tmpdir, strerror(errno));
	return 0;
}

/* -1 with the reason in db->err (the caller says it, as for reset_sequence). */
int apply_sql_sequence(struct apply *a, const struct table *t)
{
	if (!a->o->sql || !a->db->ops->sequence_sql)
		return 0;
	return a->db->ops->sequence_sql(a->db, t, &a->sql_seq);
}

int apply_sql_print(struct apply *a)
{
	const struct sql_dialect *d = a->db->ops->dialect;
	int commits = a->db->ops->ddl_commits;
	FILE *out = stdout;
	fprintf(out, "-- dbapply --sql: what dbapply would run on %s (%s) for %s; nothing was written.\n",
		a->db->shown_url, a->db->ops->engine, a->input_name ? a->input_name : a->rd.name);
	fputs(d->script_session, out);
	/* A rebuild drops a table others may refer to and makes it again: with
	 * SQLite's foreign keys on, the drop would count their rows as
	 * violations that the new table does not take back. */
	if (a->sql_rebuilds_unenforced)
		fputs("-- its table rebuilds run with foreign keys off, as dbapply ran them (this run checked "
		      "every reference before its commit)\nPRAGMA foreign_keys = OFF;\n", out);
	if (commits && (a->sql_ddl.len || a->sql_commit.len))
		fprintf(out, "-- %s commits each DDL statement by itself, so this script is not atomic: the rows\n"
			"-- are one transaction, and each schema statement before it or after its COMMIT commits\n"
			"-- on its own.  If one fails, what ran before it stays.  dbapply runs them in this order;\n"
			"-- it takes the statements before the rows back when the rows fail, says which after the\n"
			"-- commit did not run, and dbapply --rollback undoes its run from the undo stream.\n"
			"-- This script has no undo: back up first.\n", a->db->ops->engine);
	if (a->schema_unrun)
		fputs("-- The rows were checked against the schema the statements before them make, not tried\n"
		      "-- on the server (MySQL would have committed that DDL): conflicts, unknown columns and values\n"
		      "-- the columns cannot keep were checked; foreign keys, unique indexes, the server's own\n"
		      "-- checks of each row and what the target's triggers do were not.\n", out);
	if (commits && a->sql_ddl.len) {
		fputs("-- the schema step, before the rows\n", out);
		fputs(a->sql_ddl.buf, out);
	}
	fputs(d->script_begin, out);
	if (!commits)
		fputs(a->sql_ddl.buf, out);
	if (a->sql_rows) {
		char chunk[65536];
		size_t n;
		rewind(a->sql_rows);
		while ((n = fread(chunk, 1, sizeof(chunk), a->sql_rows)) > 0)
			if (fwrite(chunk, 1, n, out) != n)
				break;
		if (ferror(a->sql_rows))
			return error("%s: %s", a->tmpdir, strerror(errno));
	}
	if (a->sql_fk_off)
		fputs("SET foreign_key_checks = 1;\n", out);
	fputs(a->sql_after.buf, out);
	fputs(a->sql_seq.buf, out);
	fputs("COMMIT;\n", out);
	if (a->sql_commit.len) {
		fputs("-- after the rows' commit, as dbapply runs them (each statement commits by itself)\n", out);
		fputs(a->sql_commit.buf, out);
	}
	return ferror(out) ? error("<stdout>: %s", strerror(errno)) : 0;
}

void apply_sql_release(struct apply *a)
{
	if (a->sql_rows)
		fclose(a->sql_rows);
	a->sql_rows = NULL;
	buf_release(&a->sql_ddl);
	buf_release(&a->sql_seq);
	buf_release(&a->sql_after);
	buf_release(&a->sql_commit);
}
