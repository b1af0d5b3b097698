/* apply_int: what the parts of apply (apply.h) share, private to them.
 *
 * apply.c        the run: its two phases, the cleanup, apply_stream
 * apply_plan.c   planning: each stream table matched with the target's,
 *                tables left out, the order of the writes and their cycles
 * apply_read.c   phase 1: the input compared with the target (a row
 *                stream) or checked against it (a change stream), by whole
 *                tables or by keyed look-ups
 * apply_base.c   the sync base, read and written beside the stream, and the
 *                three-way merge that uses it
 * apply_rekey.c  --rekey: the map of re-keyed rows, applied as rows are read
 * apply_write.c  the spools, phase 2 (writing them) and the undo stream
 *
 * Each function is described where it is defined.  Those returning int give
 * -1 after printing why, as apply_stream does. */
#ifndef DBPIPE_APPLY_INT_H
#define DBPIPE_APPLY_INT_H

#include <stdint.h>
#include <stdio.h>

#include "ahead.h"
#include "apply.h"
#include "deps.h"
#include "diff.h"
#include "holdback.h"
#include "natural.h"
#include "rekey.h"
#include "source.h"
#include "stream.h"
#include "strmap.h"

#define MAX_CONFLICTS_SHOWN 20

/* One table of the stream and where its changes are spooled before writing. */
struct plan {
	struct table *st;       /* the stream's table, as the target keeps its values */
	/* The stream's table as read, when its values take another form in
	 * the target (convert.h); st is then a converted copy. */
	const struct table *wire;
	struct table *proj;     /* target types laid out like the stream's table */
	const struct table *bt; /* the old sync base's table of that name (same shape), or NULL */
	/* A merge of a row stream's table that no sync base holds yet (the
	 * first sync from this source, or a table new in the stream): merged
	 * three-way with an empty base, so a row that differs under the same
	 * key is left out and reported, not taken for an edit (--prefer and
	 * --rekey settle it). */
	int first_sync;
	struct diff_counts *counts;
	char *spool[2];         /* [0] inserts and updates, [1] deletes */
	FILE *lines[2];         /* the input line of each spooled change */
	struct stream_writer w[2];
	uint64_t nspooled[2];
	int skip;               /* not applied: excluded, history, or a natural-key table */
	/* A table the undo stream being applied drops whole (one its run
	 * made), where that is in the write transaction: its rows are read
	 * and checked for conflicts like any, and go with the table rather
	 * than one by one (apply_schema_drop_made). */
	int dropped;
	long natural;           /* the natural key of a table matched by one (natural.h), or -1 */
	int quiet_triggers;     /* its triggers are turned off while writing (--disable-triggers) */
	int triggers_are_off;
	/* Foreign-key columns of a cycle the engine cannot defer: written NULL
	 * first and filled in once every row is in (indexes into st's columns). */
	size_t nnull, *null_cols;
	char *fixup;            /* spool of those updates */
	struct stream_writer fw;
	uint64_t nfixups;
};

/* apply_alter.c: --schema's changes to what the target has (see there).
 * When a statement runs: */
enum alter_when {
	ALTER_BEFORE_SCHEMA, /* before the schema step's own DDL: an index whose name it takes again */
	ALTER_BEFORE_ROWS, ALTER_AFTER_ROWS, ALTER_AFTER_COMMIT
};
struct alter_step {
	char *sql;
	char *undo;             /* MySQL: what takes it back if the rows fail, or NULL */
	enum alter_when when;
	/* NOT NULL is set: checked right before, the first NULL's key said */
	char *check_table, *check_column;
	/* SQLite: rebuild_table changed by edits[0..nedits), every change of
	 * the table that runs at this step's time, in one rebuild
	 * (db_ops.rebuild_table); sql made again when the step runs, from the
	 * schema as it is then.  A column an edit narrows or makes NOT NULL is
	 * checked first, as SQLite would keep any value (what the edits point
	 * to is alter_kept's). */
	char *rebuild_table;
	struct rebuild_edit *edits;
	size_t nedits, edits_alloc;
	/* What the statement does, for its failure's message ("adding check
	 * ... to table ..."), or NULL */
	char *what;
	int done;
};
/* What a step changed or took away, for the undo stream. */
struct alter_kept {
	/* SC_ALTER_COLUMN, SC_DROP_COLUMN, SC_DROP_TABLE, SC_DROP_INDEX,
	 * SC_DROP_REFERENCE, SC_DROP_CHECK, or SC_ADD_CHECK (was then the
	 * stream's table, col its check) */
	enum schema_change_kind kind;
	struct table *was;      /* the target's table before (owned) */
	size_t col;             /* the column, index, reference or check of was it is about */
	char *clause;           /* add_check on SQLite: its table constraint, for the rebuild's add_constraint */
	struct table *now;      /* the stream's table (owned; not for drop_table) */
	size_t col_now;         /* alter_column: the column of now */
	char *rows;             /* drops: was's rows before, a row stream, or NULL */
	struct table *ext;      /* the undo's table record (apply_alter_undo_table) */
};
struct alter_plan {
	struct alter_step *v;
	size_t n, alloc;
	struct alter_kept *kept;
	size_t nkept, kept_alloc;
	size_t destructive;     /* changes that need --mirror */
};
struct undo_merge;

/* One run of apply_stream: its input, target, plans and state. */
struct apply {
	const struct apply_opts *o;
	/* The target's rows of a table compared whole, read on a thread
	 * (ahead.h) while nothing else uses the connection; made once. */
	struct rows_ahead *target_ahead;
	struct stream_reader rd;
	int rd_open;
	/* The input as messages name it, when rd reads a copy of it
	 * (apply_schema_outside); NULL: rd's own name. */
	const char *input_name;
	/* What the schema step made, as the drops that undo it (kinds
	 * SC_DROP_*, old_t a table of rd's schema): the undo stream's schema
	 * records. */
	struct schema_diff made;
	/* Copies of the stream's tables that made points to where the step
	 * made an enum type or domain for a column (type_made set), owned. */
	struct schema made_tables;
	/* DDL the schema step leaves until the rows are written (PostgreSQL,
	 * SQLite): the foreign keys of the tables it made, so that a cycle of
	 * them loads, checked whole when added; owned strings. */
	char **after_rows;
	size_t nafter_rows, after_rows_alloc;
	const struct apply_schema_undo *schema_outside; /* MySQL: what ran before the transaction */
	/* --schema's alters and --mirror's drops (apply_alter.c): alter_own
	 * for PostgreSQL and SQLite, MySQL's in schema_outside; NULL: none. */
	struct alter_plan alter_own, *alter;
	int committed;           /* the rows are committed; a later step failed */
	int triggers_fired;     /* a table with triggers on was written in this run */
	struct db *db;
	struct schema target;
	int *target_in_cycle;   /* per target table: in a cycle or self-referencing */
	struct plan *plans;
	size_t nplans;
	struct summary *sum;
	char *tmpdir;
	struct plan *cur;       /* the table being read */
	uint64_t conflicts;     /* changes that no longer fit the target */
	uint64_t conflict_records; /* dbmerge's conflict records, not applied */
	char *undo_partial;     /* the undo stream until the commit */
	struct change out;      /* a change being spooled */
	long line;              /* the input line of the record being compared */
	/* Records of one table held for a keyed look-up of their target rows
	 * (apply_read_keyed): the changes and their input lines. */
	struct change *held;
	long *held_line;
	const struct row **held_keys;
	size_t nheld, held_alloc, held_pos;
	struct buf msg;
	/* The reports of rows left out or in conflict, printed once the input
	 * is read whole (apply_report): a truncated or refused stream prints
	 * its error alone, not the reports of a run that writes nothing. */
	struct buf reports;
	int input_whole;        /* read to its end record: reports print at once */
	/* The sync base (syncbase.h): the old one, read beside the stream of a
	 * row stream, and the new one, written as the stream is read (not in a
	 * dry run) and put in place after the commit. */
	struct source base;
	struct source base_own;  /* the old base again, for its own tables (apply_base_start) */
	int base_own_open;
	int base_open, base_w_open;
	int base_rows_read;      /* rows of the old base were taken (apply_base_finish) */
	char *base_path;         /* the old base read: this run's, or an earlier dbpipe's (syncbase.h) */
	char *base_new, *base_partial; /* where the new base goes, and is written first */
	struct stream_writer base_w;
	const struct row *base_next; /* the old base's next row, read ahead */
	int base_have, base_primed;
	/* the old base's rows of the current table may hold their key only
	 * until base_row_whole: a three-way merge read by bytes */
	int base_keys_only;
	const struct row *base_bound; /* three-way by keyed batches: the batch's last key */
	const struct row *stream_row; /* the stream's current row, whole */
	int key_keep_old;        /* three-way: the current key keeps its old base row */
	struct holdback holdback; /* rows left out, whose referrers follow them */
	struct natural nat;      /* reference tables matched by natural keys */
	uint64_t reported;       /* three-way conflicts and held rows reported (capped) */
	int commit_unknown;      /* the connection was lost during the commit: outcome unknown */
	/* --rekey (rekey.h): the map, and for the table being read: the rows
	 * the map moves to other keys (held until the merge reaches them), the
	 * collisions to re-key at its end, the largest key of any side. */
	struct rekey rk;
	struct keyed_rows { struct row *r; long *line; size_t n, alloc, pos; } moved, queued;
	int stream_pending;      /* the stream's current row waits behind moved ones */
	int stream_ended;        /* the stream's rows of the table have all been read */
	int64_t max_key;
	int have_max_key;
	struct table *rk_table;  /* the map's table record in the new base, or NULL */
	/* Keys a first sync left out (apply_base.c): the old base's list,
	 * those of it merged in this run, those left out in this run; the
	 * list's table record in the new base, or NULL. */
	struct strmap unbased, unbased_seen, unbased_left;
	struct table *unbased_table;
	struct buf unbased_key;
	/* Phase 2: per write, where its row came from (struct written), so
	 * that a failure the engine reports later names the right row. */
	FILE *wlog;
	uint64_t wlog_base;      /* db->nwrites before the first write */
	/* --sql (apply_sql.c): the script's schema step, rows (a file in
	 * tmpdir) and id generators; whether its rows turned MySQL's
	 * foreign-key checks off. */
	struct buf sql_ddl, sql_after, sql_seq;
	struct buf sql_commit;   /* MySQL: the DDL dbapply runs after the rows' commit */
	/* MySQL: the schema step before the rows did not run; the rows are
	 * checked against the target's schema as it would make it, and not
	 * written (apply_schema_unrun). */
	int schema_unrun;
	FILE *sql_rows;
	int sql_fk_off;
	/* SQLite: the script holds a rebuild, and dbapply's connection ran it
	 * with foreign keys off (no foreign key has an action, conn.c). */
	int sql_rebuilds_unenforced;
};

/* The target's rows of one table, in key order. */
struct target_rows {
	struct db *db;
	struct db_cursor *cursor;
	const struct table *t;
	struct row row, prev;
	const struct row *cur; /* the current row: row, or the read-ahead thread's */
	int have;            /* cur holds a row (for the change-stream join) */
	int ahead;           /* cur was read ahead: the next call returns it */
	struct rows_ahead *rows_ahead; /* the rows come from this thread, if set */
	struct apply *track; /* --rekey: note each row's key in it (apply_note_key) */
	/* A row stream read lazily (apply_reads_bytes): row's record as the
	 * stream's writer spells it, made when first asked (spelled 1; -1: a
	 * value no stream holds), for a comparison of bytes. */
	struct stream_writer *speller;
	struct buf record;
	int spelled;
};

/* apply.c */
/* A report of a row left out or in conflict: error()'s line, kept in
 * a->reports until the input is read whole. */
void apply_report(struct apply *a, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* apply_plan.c */
/* Whether a run with o writes the table name of a stream with that
 * purpose: not matched by a natural key, not excluded, not migration
 * history. */
int apply_writes_table(const struct apply_opts *o, const char *purpose, const char *name);
int apply_plan_tables(struct apply *a);
int apply_plan_engine_writes(struct apply *a);
void apply_plan_order(struct apply *a, struct schema *order, struct plan **live, struct deps *d);

/* apply_read.c */
int apply_stream_rows_next(void *ctx, const struct row **out);
int apply_reads_bytes(const struct apply *a, const struct plan *p);
int apply_target_rows_next(void *ctx, const struct row **out);
int apply_use_keys(struct apply *a, struct plan *p);
int apply_read_keyed(struct apply *a, struct plan *p);
int apply_read_row_table(struct apply *a, struct plan *p);
int apply_read_change_table(struct apply *a, struct plan *p);

/* apply_base.c */
int apply_three_way(const struct apply *a, const struct plan *p);
int apply_base_start(struct apply *a);
int apply_base_write_tables(struct apply *a);
int apply_base_begin_table(struct apply *a, struct plan *p);
int apply_base_overlay(struct apply *a, struct plan *p, const struct row *r);
int apply_stream_rows_overlay(void *ctx, const struct row **out);
int apply_base_is_stale(struct apply *a, struct plan *p, struct target_rows *tr);
int apply_merge_three(struct apply *a, struct plan *p, struct row_iter *ours, struct row_iter *theirs);
int apply_base_end_table(struct apply *a, struct plan *p);
int apply_base_finish(struct apply *a);

/* apply_rekey.c */
void apply_keyed_rows_add(struct keyed_rows *k, const struct row *r, long line);
void apply_keyed_rows_release(struct keyed_rows *k);
void apply_note_key(struct apply *a, const struct table *t, const struct row *r);
int apply_rekeyed_table(const struct apply *a, const char *table);
int apply_rekey_references(struct apply *a, const struct table *t, struct row *r, size_t fresh_only);
int apply_rekey_rows_next(void *ctx, const struct row **out);
int apply_rekey_queued(struct apply *a, struct plan *p);

/* apply_schema.c */
/* In the write transaction, once the target's schema is loaded: with
 * --schema (PostgreSQL, SQLite) make the additive changes and load the
 * schema again; else refuse the missing tables and columns, every one
 * named. */
int apply_schema_step(struct apply *a);
/* MySQL with --schema, before the write transaction: copy input into dir
 * (*copy, the caller's: the data step reads it), read and check all of
 * it, then run the DDL.  *undo (NULL if nothing was made) takes it back
 * with apply_schema_undo, or is released by apply_schema_keep.  1: a dry
 * run that showed the DDL and stops there.  --sql runs none of it and
 * goes on (apply_schema_unrun), but for changes to what the target has
 * that run before the rows (1). */
struct apply_schema_undo;
int apply_schema_outside(struct db *db, const char *input, const struct apply_opts *o, const char *dir,
			 char **copy, struct apply_schema_undo **undo);
void apply_schema_undo(struct db *db, struct apply_schema_undo *undo);
/* Once rd is open: what apply_schema_outside made, into a->made. */
void apply_schema_note_made(struct apply *a, const struct apply_schema_undo *undo);
/* Whether rd, an undo stream, drops table name: one its run made. */
int apply_undo_drops_table(const struct stream_reader *rd, const char *name);
/* Once the undo stream is read: a table it drops that holds rows besides
 * those it deletes (rows made since its run) is refused, -1 (with --force
 * a warning): the drop would take them unsaid. */
int apply_undo_check_made_rows(struct apply *a);
/* An undo stream's drops of the tables its run made, whole, with their
 * rules, the target's foreign keys into them, their types and functions,
 * each said: before the rows are written back where DDL is transactional
 * (the rows of the target's own tables they refer to can then go), after
 * the commit where DDL commits by itself (after_commit). */
int apply_schema_drop_made(struct apply *a, int after_commit);
/* The other drops of an undo stream's schema records (dbapply --rollback
 * of a run that made columns, indexes, foreign keys), and its changes
 * that come after the rows (alter_column, add_index, add_reference), each
 * said; in the transaction, or after the commit where DDL commits by
 * itself (after_commit). */
int apply_schema_drops(struct apply *a, int after_commit);
/* Run the DDL the schema step left until the rows are written
 * (a->after_rows), each said; -1 at the first that fails. */
int apply_schema_after_rows(struct apply *a);
/* MySQL: the same once the rows are committed (the triggers of the tables
 * apply_schema_outside made); -1 at the first that fails. */
int apply_schema_after_commit(struct apply *a);
void apply_schema_keep(struct apply_schema_undo *undo);
/* dbapply --sql on MySQL, once the target's schema is loaded: where
 * apply_schema_outside ran none of its DDL before the rows, the tables,
 * columns, indexes and foreign keys it would make go into a->target (as
 * unmade: no rows, the columns read as their default) and the DDL into
 * the script, and a->schema_unrun is set: the rows are checked, not written.
 * -1 for a stream of another engine, whose types are known only once
 * made. */
int apply_schema_unrun(struct apply *a);
/* MySQL: the alters and drops apply_schema_outside planned, or NULL. */
struct alter_plan *apply_schema_alters(const struct apply_schema_undo *undo);

/* apply_alter.c */
/* With --schema: the changes to columns and tables the target has, each
 * refused by name (-1) or planned into p with the rows a drop takes
 * (kept in dir, when there is an undo stream).  An undo stream has none. */
int apply_alter_plan(const struct apply_opts *o, struct db *db, const struct schema *target,
		     const struct stream_reader *rd, const char *dir, struct alter_plan *p);
/* The statements of p that run at when, each said (shown_only: a dry run
 * that runs none); target: the schema a NOT NULL check reads. */
int apply_alter_run(struct db *db, struct alter_plan *p, enum alter_when when, const struct schema *target,
		    int shown_only);
/* MySQL: take back the statements run, newest first, each said; how many,
 * or -1 if one could not be. */
int apply_alter_undo(struct db *db, struct alter_plan *p);
/* dbapply --sql on MySQL, where none of p runs: whether what p runs
 * before the rows can be planned into the target's schema (all but an
 * added check, which the rows are not checked against); then the checks
 * that MySQL's ALTER would make (a NULL under NOT NULL, a value a narrower
 * type cannot keep: -1, its key said) and target's columns as p makes
 * them. */
int apply_alter_plannable(const struct alter_plan *p);
int apply_alter_unrun(struct db *db, struct alter_plan *p, struct schema *target);
/* Run one statement that undoes a schema step's (MySQL), saying it on
 * standard error, or naming it and the engine's error; 0 or -1. */
int apply_undo_ddl(struct db *db, const char *undo);
void apply_alter_release(struct alter_plan *p);
/* The undo stream: the schema records that restore what p took away or
 * changed; the table record to write for st (st, or st with the dropped
 * columns); per table, the inverted changes merged with the dropped
 * columns' values (begin, change, end, free); the dropped tables' records
 * (records) or their rows as inserts. */
int apply_alter_undo_schema(struct alter_plan *p, struct stream_writer *w);
const struct table *apply_alter_undo_table(struct alter_plan *p, const struct table *st);
int apply_alter_undo_begin(struct alter_plan *p, const struct table *st, struct undo_merge **out);
int apply_alter_undo_change(struct undo_merge *m, struct stream_writer *w, const struct change *u);
int apply_alter_undo_end(struct undo_merge *m, struct stream_writer *w);
void apply_alter_undo_free(struct undo_merge *m);
int apply_alter_undo_tables(struct alter_plan *p, struct stream_writer *w, int records);

/* apply_schema.c: whether a trigger's (a rule's, a function's) statement
 * from a stream begins with start and is one statement, nothing more. */
int apply_trigger_statement(const struct sql_dialect *dl, const struct trigger *g, const char *start);

/* apply_sql.c */
int apply_sql_check(struct apply *a);
void apply_sql_ddl(struct apply *a, const char *sql);
/* The same for DDL that runs after the rows (apply_schema_after_rows). */
void apply_sql_ddl_after_rows(struct apply *a, const char *sql);
/* The same for MySQL's DDL after the rows' commit. */
void apply_sql_ddl_after_commit(struct apply *a, const char *sql);
/* The statements a->alter's steps of time when ran (apply_alter_run), in
 * their order: before the rows with the schema step's, after them with
 * apply_sql_ddl_after_rows's. */
void apply_sql_alters(struct apply *a, enum alter_when when);
int apply_sql_write(struct apply *a, const struct plan *p, const struct change *c);
int apply_sql_sequence(struct apply *a, const struct table *t);
int apply_sql_print(struct apply *a);
void apply_sql_release(struct apply *a);

/* apply_write.c */
int apply_spool_open(struct apply *a, struct plan *p, size_t idx, int which);
int apply_spool_change(struct apply *a, const struct change *c, long line);
int apply_emit_from_diff(void *ctx, const struct change *c);
int apply_write_undo(struct apply *a);
int apply_set_triggers(struct apply *a, struct plan **live, size_t n, int on);
int apply_write_spool(struct apply *a, struct plan *p, int which);
int apply_blame_earlier_write(struct apply *a);

#endif
