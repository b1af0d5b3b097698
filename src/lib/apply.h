/* apply: writing a row stream or a change stream into a database in one
 * transaction, the engine behind dbapply.
 *
 * Phase 1 reads the whole input before anything is written: each table of a
 * row stream is merge-joined with the target's own rows (diff.h); each change
 * of a change stream is checked against the target row it names, so that a
 * row changed since the stream was made is a conflict, not an overwrite.  The
 * resulting changes, each carrying the target's exact old values, are spooled
 * to temporary files.  Only when the input has ended with its final end
 * record does phase 2 write: inserts and updates parents first, deletes
 * children first, then id generators and the deferred constraint checks.
 * Every failure leaves the transaction to be rolled back by the caller. */
#ifndef DBPIPE_APPLY_H
#define DBPIPE_APPLY_H

#include <stdint.h>

#include "db.h"
#include "merge.h"
#include "natural.h"
#include "source.h"
#include "summary.h"

enum apply_mode { APPLY_MERGE, APPLY_INSERT_ONLY, APPLY_MIRROR };

struct apply_opts {
	enum apply_mode mode;
	int dry_run;             /* roll back at the end instead of committing */
	int force;               /* write over conflicts instead of refusing */
	int disable_triggers;    /* turn the target tables' triggers off while writing */
	const char *undo_path;   /* write the undo stream here before committing
				    (not for a dry run, nor when nothing changes) */
	const char *undo_source; /* its header's "source": the target's db_identity */
	const struct filter *exclude; /* tables not to touch (the target environment's) */
	/* Migration-history tables (glob patterns): left out of a row stream
	 * unless it is a backup or undo stream, named in sum->history. */
	char *const *history;
	size_t nhistory;
	int with_history;        /* they are applied all the same (--with-history, --schema) */
	/* The sync base (syncbase.h): kept in base_dir for (base_label,
	 * undo_source) and each stream's source; NULL base_dir: none is read
	 * or kept, and a merge is two-way. */
	const char *base_dir, *base_label;
	/* Reference tables matched by a natural key (natural.h): not written,
	 * and references into them translated to the target's ids. */
	const struct natural_key *natural;
	size_t nnatural;
	/* How a merge settles a conflict: PREFER_OURS the stream's values,
	 * PREFER_THEIRS the target's; PREFER_NONE reports it. */
	enum merge_prefer prefer;
	/* A collision (a key both sides created for other rows) in a table
	 * keyed by one integer column is inserted under a new key, and the map
	 * kept with the base translates later streams (rekey.h). */
	int rekey;
	/* --schema: make the additive schema changes the stream's table
	 * records ask for (missing tables, columns, indexes, foreign keys)
	 * before the rows (apply_schema.c); without it they are refused, each
	 * named. */
	int schema;
	/* --schema across engines: make a table that has triggers without
	 * them (--without-triggers), leave out an index of a kind only the
	 * source's engine makes (--without-engine-indexes); each is named in
	 * a warning.  Without them such a table or index is refused. */
	int without_triggers, without_engine_indexes;
	/* --sql (with dry_run): print to stdout, in the target's dialect, the
	 * statements the run makes, schema and rows, as one script that the
	 * engine's own client can run (apply_sql.c). */
	int sql;
	/* The input is an undo stream (dbapply --rollback): it makes again
	 * the tables and columns its run dropped (add_table, add_column). */
	int rollback;
	/* Changes of values the user allows (convert.h's LOSSY_*): none by
	 * default, and every value the target cannot keep exactly is refused. */
	unsigned lossy;
	/* Called after phase 1, before anything is written, with the counts
	 * (to ask for confirmation, to take a backup); returns 0 to go on, -1 to
	 * stop (having said why).  NULL: go on. */
	int (*before_write)(void *ctx, const struct summary *planned);
	void *before_write_ctx;
	/* Called once the stream's header and table records are read, before
	 * any row; returns -1 (having said why) to refuse the stream.  NULL: go on. */
	int (*after_header)(void *ctx, const struct stream_reader *rd);
	void *after_header_ctx;
};

/* The migration-history tables of common frameworks (Django, Prisma, Rails,
 * Alembic, Flyway, Knex, Doctrine), NULL-terminated. */
extern const char *const apply_default_history[];

/* Apply the stream at input ("-" is stdin) to db, which is connected and not
 * in a transaction.  A row stream with a base from the same source is merged
 * three-way (merge.h): rows the target changed since are kept, conflicts and
 * collisions (a key both sides created with other content) are reported and
 * left out with every row that refers to them, and the rest is written; the
 * counts are in sum (summary_left_out).  Fills sum, and counts in *conflict_records the conflict
 * records of a dbmerge stream, which are reported and not applied.  On success the transaction is committed (or
 * rolled back for a dry run); on failure returns -1 with the reason printed,
 * the transaction rolled back and no undo file left behind. */
int apply_stream(struct db *db, const char *input, const struct apply_opts *o,
		 struct summary *sum, uint64_t *conflict_records);

#endif
