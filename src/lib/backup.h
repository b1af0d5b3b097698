/* backup: dbpipe's own files in a backup directory — gzip NDJSON backups and
 * undo streams — named <label>-<UTC stamp>.<kind>.ndjson.gz, recognised by
 * the "purpose" of their header, never by name alone.  A ".verified" file
 * beside a backup records that it was read back whole and found intact. */
#ifndef DBPIPE_BACKUP_H
#define DBPIPE_BACKUP_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "db.h"
#include "source.h"

struct backup_info {
	char *path;
	char *label;      /* the environment or database name in the file name */
	char *purpose;    /* backup, undo, undone */
	char *source;     /* masked URL from the header */
	char *at;         /* header time */
	time_t when;      /* at, parsed */
	time_t named;     /* the stamp in the name, parsed; 0 without one */
	int seq;          /* the -N after the stamp of a name taken twice in a second */
	uint64_t tables, rows;
	off_t size;
	int verified;     /* a valid .verified marker exists */
};

/* The label of a target: its environment name, else the database's file or
 * database name, reduced to [A-Za-z0-9._-]. */
char *backup_label(const struct db *db);
/* A new path dir/<label>-<stamp>.<kind>.ndjson.gz that does not exist yet;
 * creates dir. NULL (message printed) on failure. */
char *backup_new_path(const char *dir, const char *label, const char *kind);
/* The backup directory of a target: its environment's, else "backups". */
const char *backup_dir(const struct db *db);

/* Dump target (excluding its environment's excluded tables) into path as a
 * backup, then read it back and mark it verified.  schema_only: the table
 * records and no rows (dbdump-rows --schema-only), with the purpose
 * "schema", which dbprune leaves alone.  0 or -1. */
int backup_write(const char *target, const char *path, const struct db_options *o, int schema_only);
/* Read path whole: gzip CRC, records, counts, hashes.  Fills info (may be
 * NULL) and refreshes the .verified marker.  0, or -1 with what is wrong. */
int backup_verify(const char *path, struct backup_info *info);

/* The dbpipe files in dir (by header), oldest first.  Files that are not
 * dbpipe streams are left out silently. */
int backup_scan(const char *dir, struct backup_info **out, size_t *n);
/* The undo streams of runs that never committed, left behind when dbapply
 * was killed: <label>-<stamp>.undo.ndjson.partial.gz in dir, with an undo
 * header, last written more than min_age seconds ago (a younger one may be
 * a run still going).  Fills *paths (caller frees each and the array). */
int backup_scan_leftovers(const char *dir, long long min_age, char ***paths, size_t *n);
void backup_info_release(struct backup_info *b);
void backup_list_free(struct backup_info *list, size_t n);

#endif
