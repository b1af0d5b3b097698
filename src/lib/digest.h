/* digest: a sync over a slow link in two one-way streams (man/dbpipe.5).
 *
 *   ssh vps dbdump-rows --digest prod | dbdump-rows --against - dev | ssh vps dbapply prod
 *
 * The target writes a digest: for each table, its rows in key order cut into
 * ranges of about range_rows rows, each range sent as its last key, its row
 * count, the sum of its rows' XXH3-128 hashes (of the row records
 * dbdump-rows writes, so equal on every engine) and a sketch of its rows
 * (sketch.h).  The source reads the digest beside its own rows (a
 * merge-join per table) and writes a row stream holding only what differs.
 * In a range whose rows hash otherwise, the digest's sketch taken from the
 * source's names the keys that differ; checked against the range's count
 * and hash, each goes as a range record of that key followed by the
 * source's row under it, if any.  A range the sketch cannot tell goes whole:
 * a range record (after, last] followed by every source row in it.  Either
 * way dbapply --mirror may delete what the target holds there and the
 * stream lacks, and nothing outside.  Source rows past the digest's last
 * key form a range open to the table's end.  A range that goes whole and
 * holds no source row is joined to the next one that does if they are
 * adjacent, so that an emptied stretch of a table is one record.
 *
 *   digest (target: 1..7, R=3)        source: 1 2 3 4' 6 8 (4 changed, 5 deleted)
 *   range last 3 rows 3 hash h(1,2,3)     same hash: not sent
 *   range last 6 rows 3 hash h(4,5,6)     differs; the sketches tell 4 and 4' (an
 *                                         update), 5 (the target's): {"key":4}, row 4',
 *                                         {"key":5}
 *   range last 7 rows 1 hash h(7)         source holds none: differs; with one row
 *                                         the sketch tells 7: {"key":7}
 *   (end)                                 8 is past 7: open to the end,
 *                                         {"after":7,"last":null}, row 8
 *
 * A table whose columns or key differ from the digest's table record (names,
 * neutral types, order), or which the digest lacks, is sent whole (complete).
 * Memory: one range's rows on the source side (a range known to go whole
 * because it holds more rows than the digest's count and cells is written
 * at once); the
 * digest is read once to check it whole before anything is written (a copy
 * of stdin is kept in a temporary file for that), then again for the join.
 *
 * Both functions print a message and return -1 on failure; a failed write
 * leaves its output without the final end record. */
#ifndef DBPIPE_DIGEST_H
#define DBPIPE_DIGEST_H

#include <stdint.h>

#include "source.h"

/* Rows per range and cells per range's sketch when not given
 * (dbdump-rows --digest-rows, --digest-cells): the fewest bytes both ways
 * at 0.1% drift while 0.3% stays under 2% (bench/run.sh, dbpipe(5)). */
#define DIGEST_RANGE_ROWS 1024
#define DIGEST_CELLS 48
/* The digest's "hash": a range's hash is the sum of its rows' XXH3-128. */
#define DIGEST_HASH "xxh3-128-sum"

/* Write the digest of every table of src to path (NULL or "-": stdout),
 * with a sketch of cells cells (a multiple of SKETCH_PARTS; 0: none) in
 * each range. */
int digest_write(struct source *src, const char *path, uint64_t range_rows, uint64_t cells);
/* Write to path the rows of src whose ranges differ from the digest read
 * from digest_path ("-": stdin).  quiet: no summary on stderr. */
int digest_against(struct source *src, const char *digest_path, const char *path, int quiet);

#endif
