/* syncmark: what a target remembers of the last sync into it, so that the
 * next one can send only what changed (dbdump-rows --since).
 *
 * A file <label>.mark.json in the target's backup directory holds the
 * target's identity, the "mark" of the stream last applied (the source's
 * snapshot, see db_ops.snapshot_mark) and the tables that stream held: the
 * promise that the target has every row those tables had at that snapshot.
 * dbapply forgets it before it writes anything and writes it anew only
 * after a commit, so a failed or killed run leaves no promise behind, only
 * a full sync next time. */
#ifndef DBPIPE_SYNCMARK_H
#define DBPIPE_SYNCMARK_H

#include <stddef.h>

#include "db.h"

struct sync_mark {
	char *mark;
	char **tables;
	size_t ntables;
};

/* Read the state of the target (label, identity) in dir: 1 found, 0 none
 * (no file, one of another target, or one that cannot be read, with a
 * warning: the mark only saves work). */
int sync_mark_read(const char *dir, const char *label, const char *identity, struct sync_mark *out);
/* Write it (replacing any); 0 or -1 (message printed). */
int sync_mark_write(const char *dir, const char *label, const char *identity, const struct sync_mark *m);
/* Remove it; 0 (also when there is none) or -1 (message printed). */
int sync_mark_forget(const char *dir, const char *label);
void sync_mark_release(struct sync_mark *m);

/* Whether m covers table: it was in the stream m was recorded from. */
int sync_mark_has_table(const struct sync_mark *m, const char *table);
/* Whether since, a mark of the same database, is at or before m's: a stream
 * of the changes since it leaves nothing out.  Marks end in ":N". */
int sync_mark_covers(const struct sync_mark *m, const char *since);

#endif
