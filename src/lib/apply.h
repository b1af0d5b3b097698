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

/* Apply the stream at input ("-" is stdin) to db, which is connected and not
 * in a transaction.  Fills sum, and counts in *conflict_records the conflict
 * records of a dbmerge stream, which are reported and not applied.  On success the transaction is committed (or
 * rolled back for a dry run); on failure returns -1 with the reason printed,
 * the transaction rolled back and no undo file left behind. */
int apply_stream(struct db *db, const char *input, const struct apply_opts *o,
		 struct summary *sum, uint64_t *conflict_records);

#endif
