/* apply: the run of dbapply's engine: phase 1 (read, compare, check, spool),
 * phase 2 (write in dependency order), the commit and the cleanup.  The
 * parts are in apply_*.c (apply_int.h). */
#include "apply_int.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "syncbase.h"

void apply_report(struct apply *a, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	struct buf *was = util_capture_messages(a->input_whole ? NULL : &a->reports);
	error("%s", msg.buf);
	util_capture_messages(was);
	buf_release(&msg);
}

/* Phase 1: read the whole input, compare or check, spool the changes. */
static int read_input(struct apply *a)
{
	for (size_t i = 0; i < a->nplans; i++) {
		a->cur = &a->plans[i];
		progress_table("read", a->cur->st->name);
		a->rd.lazy = 0;
		if (a->cur->skip) {
			const struct row *r;
			int got;
			while ((got = apply_stream_rows_next(a, &r)) > 0)
				;
			if (got < 0)
				return -1;
			continue;
		}
		if (apply_base_begin_table(a, a->cur) < 0)
			return -1;
		int keyed = apply_use_keys(a, a->cur);
		/* set before the table's first record: its section is read so */
		a->rd.lazy = !keyed && a->rd.kind == STREAM_ROWS && apply_reads_bytes(a, a->cur);
		int rc = keyed ? apply_read_keyed(a, a->cur)
			 : a->rd.kind == STREAM_ROWS ? apply_read_row_table(a, a->cur)
			 : apply_read_change_table(a, a->cur);
		if (rc < 0 || apply_base_end_table(a, a->cur) < 0)
			return -1;
	}
	/* The final end record proves the input is whole; nothing is written before. */
	int got = stream_next(&a->rd);
	if (got > 0)
		return stream_error(&a->rd, "records after the last table");
	if (got < 0)
		return -1;
	util_print_messages(&a->reports);
	buf_release(&a->reports);
	a->input_whole = 1;
	if (a->reported > MAX_CONFLICTS_SHOWN)
		error("... and %llu more rows left out (conflicts, collisions and the rows held back with them)",
		      (unsigned long long)(a->reported - MAX_CONFLICTS_SHOWN));
	if (apply_base_finish(a) < 0)
		return -1;
	if (a->conflicts) {
		if (a->conflicts > MAX_CONFLICTS_SHOWN)
			error("... and %llu more conflicts", (unsigned long long)(a->conflicts - MAX_CONFLICTS_SHOWN));
		if (!a->o->force)
			return error("%llu conflicting row%s: the target changed since the stream was made "
				     "(--force writes the stream's values anyway)",
				     (unsigned long long)a->conflicts, a->conflicts == 1 ? "" : "s");
		warning("--force: writing over %llu conflicting row%s", (unsigned long long)a->conflicts,
			a->conflicts == 1 ? "" : "s");
	}
	for (size_t i = 0; i < a->nplans; i++)
		for (int w = 0; w < 2 && !a->plans[i].skip; w++)
			if (stream_end_table(&a->plans[i].w[w]) < 0 || stream_finish(&a->plans[i].w[w]) < 0)
				return -1;
	return 0;
}

/* Each table's spools in the order d gives live[] (n of them): upserts
 * parents first, then the cycle columns held back and those set NULL
 * before deletes, then deletes children first. */
static int write_spools(struct apply *a, struct plan **live, size_t n, const struct deps *d)
{
	for (size_t i = 0; i < n; i++)
		if (apply_write_spool(a, live[d->order[i]], 0) < 0)
			return -1;
	for (size_t i = 0; i < n; i++)
		if (apply_write_spool(a, live[d->order[i]], 2) < 0 || apply_write_spool(a, live[d->order[i]], 3) < 0)
			return -1;
	for (size_t i = n; i-- > 0;)
		if (apply_write_spool(a, live[d->order[i]], 1) < 0)
			return -1;
	return 0;
}

/* The id generators of the tables that got inserts, past their largest id. */
static int reset_sequences(struct apply *a)
{
	for (size_t i = 0; i < a->nplans; i++)
		if (!a->plans[i].skip && !a->plans[i].dropped && a->plans[i].counts->inserts &&
		    (a->db->ops->reset_sequence(a->db, a->plans[i].proj) < 0 ||
		     apply_sql_sequence(a, a->plans[i].proj) < 0)) {
			if (!apply_blame_earlier_write(a))
				error("%s: table \"%s\": %s", a->db->shown_url, a->plans[i].st->name, a->db->err.buf);
			return -1;
		}
	return 0;
}

/* Phase 2: parents first for inserts and updates, children first for deletes. */
static int write_changes(struct apply *a)
{
	struct schema order = { 0, a->nplans, xcalloc(a->nplans + 1, sizeof(struct table *)) };
	struct plan **live = xcalloc(a->nplans + 1, sizeof(*live));
	struct deps d;
	int ret = -1;
	struct buf wpath = BUF_INIT;
	buf_addf(&wpath, "%s/written", a->tmpdir);
	a->wlog = fopen(wpath.buf, "w+");
	buf_release(&wpath);
	if (!a->wlog) {
		free(order.tables);
		free(live);
		return error("%s: %s", a->tmpdir, strerror(errno));
	}
	a->wlog_base = a->db->nwrites;
	apply_plan_order(a, &order, live, &d);
	if (apply_set_triggers(a, live, order.n, 0) < 0 || write_spools(a, live, order.n, &d) < 0 ||
	    reset_sequences(a) < 0 || apply_set_triggers(a, live, order.n, 1) < 0)
		goto out;
	if (a->db->ops->check_constraints(a->db) < 0) {
		if (!apply_blame_earlier_write(a))
			error("%s: %s", a->db->shown_url, a->db->err.buf);
		goto out;
	}
	ret = 0;
out:
	deps_release(&d);
	free(order.tables);
	free(live);
	return ret;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(struct apply *a)
{
	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];
		for (int w = 0; w < 2; w++) {
			if (p->w[w].name)
				stream_abandon(&p->w[w]);
			if (p->lines[w])
				fclose(p->lines[w]);
			free(p->spool[w]);
		}
		if (p->fw.name)
			stream_abandon(&p->fw);
		free(p->fixup);
		free(p->null_cols);
		table_free(p->proj);
		if (p->wire)
			table_free(p->st);
	}
	free(a->plans);
	rows_ahead_free(a->target_ahead);
	apply_alter_release(&a->alter_own);
	if (a->tmpdir)
		nftw(a->tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(a->tmpdir);
	if (a->rd_open)
		stream_close(&a->rd);
	schema_release(&a->target);
	free(a->target_in_cycle);
	for (size_t i = 0; i < a->held_alloc; i++)
		change_release(&a->held[i]);
	free(a->held);
	free(a->held_line);
	free(a->held_keys);
	change_release(&a->out);
	buf_release(&a->msg);
	buf_release(&a->reports);
	if (a->base_w_open)
		stream_abandon(&a->base_w);
	if (a->base_partial && !access(a->base_partial, F_OK))
		unlink(a->base_partial); /* a failed run keeps the old base */
	free(a->base_partial);
	free(a->base_path);
	free(a->base_new);
	if (a->base_open)
		source_close(&a->base);
	if (a->base_own_open)
		source_close(&a->base_own);
	holdback_release(&a->holdback);
	natural_release(&a->nat);
	rekey_release(&a->rk);
	apply_keyed_rows_release(&a->moved);
	apply_keyed_rows_release(&a->queued);
	table_free(a->rk_table);
	table_free(a->unbased_table);
	strmap_release(&a->unbased);
	strmap_release(&a->unbased_seen);
	strmap_release(&a->unbased_left);
	buf_release(&a->unbased_key);
	schema_diff_release(&a->made);
	schema_release(&a->made_tables);
	for (size_t i = 0; i < a->nafter_rows; i++)
		free(a->after_rows[i]);
	free(a->after_rows);
	apply_sql_release(a);
	if (a->wlog)
		fclose(a->wlog);
}

static int run(struct apply *a, const char *input)
{
	struct db *db = a->db;
	if (!(a->tmpdir = util_make_temp_dir("dbapply")))
		return -1;
	if (apply_sql_check(a) < 0)
		return -1;
	a->rd_open = 1;
	if (stream_open(&a->rd, input) < 0)
		return -1;
	a->rd.take_ranges = 1; /* dbdump-rows --against: apply_read_row_table */
	if (a->input_name) {
		free(a->rd.name);
		a->rd.name = xstrdup(a->input_name);
	}
	apply_schema_note_made(a, a->schema_outside);
	if (a->schema_outside) {
		a->alter = apply_schema_alters(a->schema_outside);
		a->sum->schema_drops += a->alter->destructive;
	}
	if (a->o->after_header && a->o->after_header(a->o->after_header_ctx, &a->rd) < 0)
		return -1;
	if (apply_base_start(a) < 0)
		return -1;
	holdback_init(&a->holdback, &a->rd.schema);
	natural_init(&a->nat, a->o->natural, a->o->nnatural);
	/* A target without types and keys of its own (csv:) takes the stream's. */
	db->opts.like = &a->rd.schema;
	if (db->ops->begin_write(db) < 0 || db->ops->load_schema(db, &a->target) < 0)
		return error("%s: %s", db->shown_url, db->err.buf);
	if (apply_schema_unrun(a) < 0 || apply_schema_step(a) < 0)
		return -1;
	if (apply_plan_engine_writes(a) < 0)
		return error("%s: %s", db->shown_url, db->err.buf);
	if (apply_plan_tables(a) < 0 || apply_base_write_tables(a) < 0 || read_input(a) < 0 ||
	    apply_undo_check_made_rows(a) < 0)
		return -1;
	if (a->o->before_write && a->o->before_write(a->o->before_write_ctx, a->sum) < 0)
		return -1;
	if (a->o->undo_path && !a->o->dry_run &&
	    (summary_changes(a->sum) || a->made.n || (a->alter && a->alter->nkept)) && apply_write_undo(a) < 0)
		return -1;
	/* The tables an undone run made go whole before the rows are written
	 * back: deleting their rows one by one first is work the drop does
	 * anyway, and a foreign-key cycle that is NOT NULL and not deferrable
	 * both ways refuses it (Sakila's store and staff); dropped first, they
	 * no longer refer to the rows of the target's own tables that go. */
	if (!db->ops->ddl_commits && apply_schema_drop_made(a, 0) < 0)
		return -1;
	if (write_changes(a) < 0)
		return -1;
	if (apply_schema_after_rows(a) < 0)
		return -1;
	/* narrowing and NOT NULL, once the rows are in (PostgreSQL) */
	if (a->alter && !db->ops->ddl_commits && apply_alter_run(db, a->alter, ALTER_AFTER_ROWS, &a->target, 0) < 0)
		return -1;
	apply_sql_alters(a, ALTER_AFTER_ROWS);
	if (!db->ops->ddl_commits && apply_schema_drops(a, 0) < 0)
		return -1;
	progress_done();
	if (a->o->dry_run) {
		if (db->ops->rollback(db) < 0)
			return error("%s: rollback of the dry run failed: %s (a transaction that was not "
				     "committed ends with its connection: nothing was written)", db->shown_url,
				     db->err.buf);
		apply_sql_alters(a, ALTER_AFTER_COMMIT);
		return a->o->sql ? apply_sql_print(a) : 0;
	}
	if (util_interrupted)
		return error("interrupted");
	if (db->ops->commit(db) < 0) {
		a->commit_unknown = db->commit_unknown;
		return error("%s: commit failed: %s", db->shown_url, db->err.buf);
	}
	if (db->commit_found)
		warning("%s: the connection was lost during the commit, and a new connection found the "
			"transaction committed", db->shown_url);
	/* Only a committed run has an undo stream: a killed one leaves a
	 * .partial.gz file that nothing reads. */
	if (a->undo_partial && !access(a->undo_partial, F_OK) && rename(a->undo_partial, a->o->undo_path) < 0)
		warning("%s: %s (the sync is committed; its undo stream is %s)", a->o->undo_path,
			strerror(errno), a->undo_partial);
	if (a->base_partial)
		sync_base_commit(a->base_new, a->base_partial, a->o->undo_path, a->o->mode == APPLY_MIRROR);
	if (db->ops->ddl_commits && (apply_schema_drop_made(a, 1) < 0 || apply_schema_drops(a, 1) < 0)) {
		a->committed = 1;
		return error("%s: the rows are committed; what the undone run made in the schema is not all "
			     "dropped (see above)", db->shown_url);
	}
	/* MySQL's drops, once the rows are committed: a failure of the rows
	 * has left them all in place; and the triggers of the tables it had,
	 * which must not fire for the rows. */
	if (a->alter && db->ops->ddl_commits && apply_alter_run(db, a->alter, ALTER_AFTER_COMMIT, &a->target, 0) < 0) {
		a->committed = 1;
		return error("%s: the rows are committed, and the drops and triggers above did not all run: "
			     "dbapply --rollback undoes the run (the undo stream restores what they took)",
			     db->shown_url);
	}
	/* MySQL's triggers of the tables made, once their rows are in */
	if (db->ops->ddl_commits && apply_schema_after_commit(a) < 0) {
		a->committed = 1;
		return error("%s: the rows are committed, and the triggers above are not all made: "
			     "dbapply --rollback undoes the run", db->shown_url);
	}
	return 0;
}

int apply_stream(struct db *db, const char *input, const struct apply_opts *o, struct summary *sum,
		 uint64_t *conflict_records)
{
	struct apply a;
	memset(&a, 0, sizeof(a));
	a.o = o;
	a.db = db;
	a.sum = sum;
	sum->sync = 1;
	change_init(&a.out);
	buf_init(&a.msg);
	buf_init(&a.sql_ddl);
	buf_init(&a.sql_seq);
	buf_init(&a.sql_after);
	buf_init(&a.sql_commit);
	schema_init(&a.target);
	if (o->undo_path) {
		/* x.ndjson.gz -> x.ndjson.partial.gz: still gzip, never taken for an undo stream */
		a.undo_partial = partial_path(o->undo_path);
	}
	/* MySQL: the DDL of --schema before the transaction, on a checked copy */
	struct apply_schema_undo *schema_undo = NULL;
	char *copy = NULL, *copy_dir = NULL;
	int ret = 0;
	if ((o->schema || o->rollback) && db->ops->exec_ddl && db->ops->ddl_commits) {
		if (!(copy_dir = util_make_temp_dir("dbapply-schema"))) {
			ret = -1;
		} else {
			ret = apply_schema_outside(db, input, o, copy_dir, &copy, &schema_undo);
			a.schema_outside = schema_undo;
			a.input_name = strcmp(input, "-") ? input : "<stdin>";
			input = copy;
		}
	}
	if (ret == 0)
		ret = run(&a, input);
	else if (ret > 0 && o->sql) /* a dry run that showed the DDL */
		ret = error("--sql: %s commits DDL by itself, and a check added to a table the target has "
			    "(above) runs before the rows, which cannot be checked against it: make the schema "
			    "first (dbdump-rows --schema-only SOURCE | dbapply --schema %s), then dbapply --sql",
			    db->ops->engine, db->shown_url);
	else if (ret > 0) {
		sum->rows_not_tried = 1;
		ret = 0;
	}
	*conflict_records = a.conflict_records;
	if (ret < 0 && a.commit_unknown) {
		/* Not "nothing was written": it may all have been.  The undo
		 * stream stays, and --rollback refuses until it is settled. */
		if (a.undo_partial && !access(a.undo_partial, F_OK))
			error("whether %s holds this run's changes is unknown: compare it with the stream; if it "
			      "does, rename %s to end in .undo.ndjson.gz to be able to roll it back, else remove it",
			      db->shown_url, a.undo_partial);
		else
			error("whether %s holds this run's changes is unknown: compare it with the stream",
			      db->shown_url);
	} else if (ret < 0 && !a.committed) {
		if (db->ops->rollback(db) < 0)
			error("%s: rollback failed: %s (a transaction that was not committed ends with its "
			      "connection: nothing was written)", db->shown_url, db->err.buf);
		else
			error("%s to %s", schema_undo ? "no row was written" : "nothing was written", db->shown_url);
		if (a.undo_partial)
			unlink(a.undo_partial);
	}
	free(a.undo_partial);
	cleanup(&a);
	if (schema_undo && ret < 0 && !a.commit_unknown)
		apply_schema_undo(db, schema_undo);
	else if (schema_undo)
		apply_schema_keep(schema_undo);
	if (copy)
		unlink(copy);
	if (copy_dir)
		rmdir(copy_dir);
	free(copy);
	free(copy_dir);
	return ret;
}
