/* digest: a sync over a slow link in two one-way streams (man/dbpipe.5).
 *
 *   ssh vps dbdump-rows --digest prod | dbdump-rows --against - dev | ssh vps dbapply prod
 *
 * The target writes a digest: for each table, its rows in key order cut into
 * ranges of about range_rows rows, each range sent as its last key, its row
 * count and the XXH3-128 hash of its rows' row records (the bytes
 * dbdump-rows writes, so equal on every engine).  The source reads the
 * digest beside its own rows (a merge-join per table) and writes a row
 * stream holding only the ranges whose rows hash otherwise: each such range
 * is a range record (after, last] followed by every source row in it, so
 * that dbapply --mirror may delete what the target holds in the range and
 * the stream lacks, and nothing outside.  Source rows past the digest's
 * last key form a range open to the table's end.  A range that differs and
 * holds no source row is joined to the next one that differs if they are
 * adjacent, so that an emptied stretch of a table is one record.
 *
 *   digest (target: 1..7, R=3)        source: 1 2 3 4 5 6 8
 *   range last 3 rows 3 hash h(1,2,3)     same hash: not sent
 *   range last 6 rows 3 hash h(4,5,6)     same hash: not sent
 *   range last 7 rows 1 hash h(7)         source holds none: differs, no rows
 *   (end)                                 8 is past 7: open to the end; joined to the
 *                                         range before: {"after":6,"last":null}, row 8
 *
 * A table whose columns or key differ from the digest's table record (names,
 * neutral types, order), or which the digest lacks, is sent whole (complete).
 * Memory: one range's rows on the source side (a range known to differ
 * because it holds more rows than the digest says is written at once); the
 * digest is read once to check it whole before anything is written (a copy
 * of stdin is kept in a temporary file for that), then again for the join.
 *
 * Both functions print a message and return -1 on failure; a failed write
 * leaves its output without the final end record. */
#ifndef DBPIPE_DIGEST_H
#define DBPIPE_DIGEST_H

#include <stdint.h>

#include "source.h"

/* Rows per range when not given (dbdump-rows --digest-rows): the
 * smallest digest plus answer, gzip'd, measured at 0.1% drift (bench/run.sh). */
#define DIGEST_RANGE_ROWS 64

/* Write the digest of every table of src to path (NULL or "-": stdout). */
int digest_write(struct source *src, const char *path, uint64_t range_rows);
/* Write to path the rows of src whose ranges differ from the digest read
 * from digest_path ("-": stdin).  quiet: no summary on stderr. */
int digest_against(struct source *src, const char *digest_path, const char *path, int quiet);

#endif
