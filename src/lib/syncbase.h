/* syncbase: what a target and one source last agreed on, so that the next
 * merge from that source can tell who changed what (three-way, merge.h).
 *
 * After each commit of a row stream, dbapply keeps, per target and per
 * source (the stream header's "source"), a row stream of the rows both
 * held: <dir>/<label>.base-<target>-<source>.ndjson.zst (zstd), where target
 * and source are hashes of the target's identity and of the source's name
 * (an earlier dbpipe's .ndjson.gz is read, and replaced by the next run).
 * It holds whole rows, not hashes, since a column merge and a conflict
 * report need the base's values, and it is an ordinary stream (dbbackup
 * --verify reads it, dbmerge takes it as BASE).  It is written aside while
 * the stream is read and put in place only after the commit, like the mark;
 * the base it replaces is kept beside the run's undo stream (<undo
 * stem>.prevbase-<target>-<source>.ndjson.zst or .gz as it was, or an empty
 * ...prevbase-<target>-<source>.none when there was none), so that dbapply
 * --rollback puts it back along with the rows.  Functions return 0 or -1
 * after printing a message; they never exit. */
#ifndef DBPIPE_SYNCBASE_H
#define DBPIPE_SYNCBASE_H

#include <stddef.h>

/* The base of target (label, identity) for source, in dir: the path a run
 * writes it to.  Caller frees. */
char *sync_base_path(const char *dir, const char *label, const char *identity, const char *source);
/* The file that holds base_path's base now: base_path, or the gzip one an
 * earlier dbpipe kept (".ndjson.gz"), or NULL for none.  Caller frees. */
char *sync_base_existing(const char *base_path);

/* After the commit: base_path's current file (if any) is kept for the undo
 * stream undo_path (if not NULL), then partial becomes base_path.  After a
 * mirror, the bases of the target's other sources are stale: they go (kept
 * for the rollback likewise). */
int sync_base_commit(const char *base_path, const char *partial, const char *undo_path, int mirror);

/* The bases kept beside the undo stream undo_path (dbprune removes them
 * with it).  Fills *paths (caller frees each and the array); 0 or -1. */
int sync_base_prev_list(const char *undo_path, char ***paths, size_t *n);

/* After a rollback with undo_path: every base it replaced comes back
 * (or goes, where there was none). */
int sync_base_restore(const char *undo_path, const char *dir, const char *label);

#endif
