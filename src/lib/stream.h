/* stream: reading and writing the NDJSON row and change streams (man/dbpipe.5).
 *
 * The reader checks everything a consumer relies on before it hands out a
 * record: the header, table records before data, sections in table order,
 * keys strictly ascending, per-table and final counts and hashes, and the
 * final end record (a stream without it is truncated).  A file may be gzip
 * or zstd, and stdin gzip: detected, not guessed from the name.  Output is
 * compressed by the name: gzip for ".gz", zstd for ".zst".  Every function
 * returning int gives -1 after printing "prog: file:line: reason". */
#ifndef DBPIPE_STREAM_H
#define DBPIPE_STREAM_H

#include <stdint.h>
#include <stdio.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "json.h"
#include "schema.h"
#include "schemadiff.h"
#include "util.h"
#include "value.h"

/* STREAM_DIGEST: dbdump-rows --digest's stream of key-range hashes
 * (digest.h), opened only with stream_open_digest. */
enum stream_kind { STREAM_ROWS, STREAM_CHANGES, STREAM_DIGEST };

/* The longest record (one line, without its newline) a reader takes: a
 * longer one is refused ("record longer than N bytes") before more of it is
 * held.  Reading a record costs about 8 to 12 times its length at the peak
 * (the line, its parsed JSON, the decoded row, its copies): a 50 MB BLOB,
 * 67 MB of base64, peaks at 570-780 MB in dbapply.  128 MiB takes a BLOB of
 * up to about 95 MiB and caps that peak near 1.5 GB (man/dbpipe.5). */
#define STREAM_MAX_RECORD ((size_t)128 << 20)

/* REC_RANGE: a range record of a digest stream. */
enum rec_type { REC_ROW, REC_INSERT, REC_UPDATE, REC_DELETE, REC_TABLE_END, REC_CONFLICT, REC_RANGE };

/* A conflict record of a change stream (dbmerge BASE OURS THEIRS): a row that
 * both sides changed in ways that do not merge.  Named "ours/theirs": what
 * OURS did, then what THEIRS did.  The sides present: update/update all
 * three; update/delete BASE and OURS; delete/update BASE and THEIRS;
 * insert/insert OURS and THEIRS.  "held": OURS' row (inserted or changed),
 * held back because it refers to a row of an insert/insert or update/delete
 * conflict, which it would otherwise attach to THEIRS' row or to none. */
enum conflict_kind {
	CONFLICT_UPDATE_UPDATE, CONFLICT_UPDATE_DELETE, CONFLICT_DELETE_UPDATE, CONFLICT_INSERT_INSERT,
	CONFLICT_HELD
};
enum conflict_side { SIDE_BASE, SIDE_OURS, SIDE_THEIRS };
/* "update/update", ... */
const char *conflict_kind_name(enum conflict_kind k);
/* Whether kind k has a row on side s. */
int conflict_has_side(enum conflict_kind k, enum conflict_side s);

/* A data record.  row: for ROW and INSERT the whole row; for UPDATE the key
 * and the new values of the changed columns; for DELETE and CONFLICT the key.
 * old: for UPDATE the previous values of the changed columns, for DELETE the
 * whole previous row (values absent where the stream did not give them).
 * kind and side: for CONFLICT only, the whole row of each side that has one
 * (conflict_has_side); the others are not read. */
struct change {
	enum rec_type type;
	struct table *table;
	struct row row;
	struct row old;
	enum conflict_kind kind;
	struct row side[3];
	/* RANGE (a digest's): row holds the range's last key; its row count
	 * and its hash (32 hex digits: the sum of its rows' XXH3-128 hashes);
	 * its sketch's cells as written (base64), if it has them. */
	uint64_t range_rows;
	char range_hash[33];
	int range_has_cells;
	struct buf range_cells;
};

/* A key range (after, last] of a row stream's ranged table (a range
 * record of dbdump-rows --against): every row the source holds in it is
 * in the stream.  has_after 0: from the table's first key; has_last 0: to
 * its end.  exact: the one key last (a "key" range record). */
struct stream_range {
	struct row after, last;
	int has_after, has_last, exact;
};

struct stream_reader {
	char *name;            /* as shown in messages ("<stdin>" for -) */
	gzFile gz;             /* the input, through zlib (plain or gzip)... */
	ZSTD_DCtx *zd;         /* ...or zstd: zfd's bytes, read into zin */
	int zfd;
	struct buf zin;
	size_t zin_pos;
	size_t zleft;          /* zstd's last hint: 0 at a frame's end */
	int zflush;            /* zstd filled the output: it may hold more */
	struct buf line;
	long lineno;
	enum stream_kind kind;
	char *source, *engine, *at;
	char *purpose;         /* header "purpose": "backup", "undo" or "" */
	char *mark, *since;    /* header "mark" and "since", NULL if absent */
	/* header "all_tables": the stream holds every table of its source
	 * (no -t/-x filter, no excluded table), so a table it lacks is one
	 * the source does not have (dbapply --schema --mirror drops it). */
	int all_tables;
	/* A digest's header: "hash" (NULL if absent) and "cells" (the cells
	 * of each range's sketch, 0 if none). */
	char *digest_hash;
	uint64_t digest_cells;
	struct schema schema;  /* the table records, in stream order */
	/* Schema records (dbdiff --schema's, an undo stream's drops), in
	 * stream order. */
	struct schema_record *schema_records;
	size_t nschema;
	struct change rec;     /* the record stream_next returned */
	long rec_line;         /* its line */
	/* Set after stream_open to read a row record written in the writer's own
	 * layout ({"type":"row","table":T,"row":{key columns first,...}}) up to
	 * its key only: rec.row then holds the key, undecoded is set, and line
	 * the record's bytes, so that a consumer comparing two streams decodes
	 * (stream_decode) only the rows whose bytes differ.  The key order,
	 * counts and hashes are checked as for every record; the rest of such a
	 * record is checked when it is decoded.  Any other record, or a value
	 * the key scan does not take, is read whole. */
	int lazy;
	int undecoded;
	/* Set after stream_open to take the range records of ranged tables
	 * (dbapply); without it such a record is refused by name.  They are
	 * not handed out: each is checked (in key order, its rows inside it)
	 * and queued for stream_range_covers, which needs them for as long as
	 * a consumer merge-joining the rows with another input may ask. */
	int take_ranges;
	/* private */
	struct stream_range *ranges; /* the queue, from range_head to nranges */
	const struct table *ranges_table; /* the table they are of */
	size_t nranges, range_head, ranges_alloc;
	int in_range;          /* a range record opened this section's current range */
	struct row range_last; /* its last key, if it has one (range_bounded) */
	int range_bounded, range_open_end, range_exact;
	struct row prev_row;   /* the key of the section's previous row record */
	int have_prev_row;
	size_t next_table;
	struct table *cur;
	uint64_t count, total;
	XXH3_state_t *h_table, *h_all;
	struct buf hashes_due; /* private: data lines in neither hash yet (stream.c) */
	struct row last;
	int have_last, eof, pending;
	struct buf err, in;
	size_t in_pos;
	struct json_doc doc;   /* the current record, parsed */
	struct buf row_prefix; /* lazy: {"type":"row","table":"T","row":{ of cur */
	struct buf key_names;  /* lazy: "name": of each key column of cur */
	size_t *key_name_off;
	struct buf key_text;   /* lazy: a key value's literal, NUL-terminated */
	struct stream_ahead *ahead; /* stream_read_ahead's thread, or NULL */
	int in_thread;         /* this is the reader that thread runs */
};

/* Open path ("-" is stdin) and read the header and every table record.
 * A digest stream is refused: it is not a row or change stream. */
int stream_open(struct stream_reader *r, const char *path);
/* The same for a digest stream (dbdump-rows --digest), and only for one;
 * messages name it shown (a copy of stdin is "<stdin>"), or path if NULL. */
int stream_open_digest(struct stream_reader *r, const char *path, const char *shown);
/* Whether key lies in a range queued by the range records read so far
 * (take_ranges).  Keys asked must not decrease within a table: ranges
 * below key are dropped as passed. */
int stream_range_covers(struct stream_reader *r, const struct row *key);
/* Read the next data record into r->rec: returns 1, or 0 after the final end
 * record has been read and checked, or -1. */
int stream_next(struct stream_reader *r);
/* From here on, read r on a thread of its own, ahead of its consumer (a
 * bounded queue of records in batches), so that a program reading two
 * streams reads them on two cores.  Records, their lines and messages
 * reach the consumer in the order and with the lines a direct read gives.
 * Set lazy before.  0, or -1 with a message. */
int stream_read_ahead(struct stream_reader *r);
/* Read the rest of a record stream_next left undecoded (lazy): rec.row
 * whole, every check of a record read whole.  0 (also when nothing was left
 * undecoded) or -1. */
int stream_decode(struct stream_reader *r);
void stream_close(struct stream_reader *r);
/* Report "prog: file:line: msg" for the current record and return -1. */
int stream_error(const struct stream_reader *r, const char *fmt, ...) PRINTF_LIKE(2, 3);

struct stream_writer {
	char *name;
	FILE *f;               /* plain, or zstd's output (zc) */
	gzFile gz;
	ZSTD_CCtx *zc;
	struct buf out, err;
	XXH3_state_t *h_table, *h_all;
	uint64_t count, total;
	uint64_t bytes;        /* written so far (before compression) */
	enum stream_kind kind; /* from the header */
	size_t ntables;
	const struct table *cur;
	const char *purpose;   /* if set before the header: its "purpose" field */
	const char *mark, *since; /* likewise "mark" and "since" */
	const char *masked;    /* likewise "masked": dbmask's rules file */
	const char *hash_name; /* likewise "hash" (a digest's range hash) */
	uint64_t range_rows;   /* likewise "range_rows" (a digest's rows per range) */
	uint64_t digest_cells; /* likewise "cells" (a digest's cells per range's sketch) */
	/* Write "ranged":true in the table records of tables that have
	 * ranged set (dbdump-rows --against only). */
	int ranges;
	int all_tables;        /* likewise "all_tables" (stream_reader's) */
	struct buf keys;       /* private: "name": of each column of cur */
	struct buf row_prefix; /* private: {"type":"row","table":cur,"row": */
	size_t *key_off;
	int failed;            /* private: a write failed (said once, if at all) */
	size_t hashed;         /* private: out's bytes in h_all (the rest: data lines, in neither hash yet) */
	struct stream_deflater *deflater; /* private: stream_fast's thread, or NULL */
};

/* Create path (NULL or "-" is stdout); gzip when the name ends in ".gz",
 * zstd when it ends in ".zst".
 * A write that fails makes every later call return -1, with one message, or
 * none when the reader went away (EPIPE: see reader_gone in util.h). */
int stream_create(struct stream_writer *w, const char *path);
/* A writer with no output, for stream_row_bytes after stream_begin_table;
 * released by stream_abandon. */
void stream_create_formatter(struct stream_writer *w);
/* Right after stream_create of a compressed file: compression for speed
 * (level 1) rather than size, on a thread of its own, for a file every run
 * writes whole (the sync base). */
void stream_fast(struct stream_writer *w);
int stream_write_header(struct stream_writer *w, enum stream_kind kind,
			const char *source, const char *engine);
/* The table record; "complete" only in a row stream (a change stream's
 * tables never hold every row). */
int stream_write_table(struct stream_writer *w, const struct table *t);
/* A schema record (dbdiff, undo streams): after the header, before the
 * table records. */
int stream_write_schema(struct stream_writer *w, const struct schema_change *c);
/* Data of one table: begin, rows or changes, end. */
void stream_begin_table(struct stream_writer *w, const struct table *t);
int stream_write_row(struct stream_writer *w, const struct row *row);
/* The record stream_write_row would write for row (current table, no
 * newline) into out, reset first; nothing is written.  0, or -1 (a value
 * no stream can hold) with the reason in w->err; stream_format_row says
 * that reason, naming the column. */
int stream_row_bytes(struct stream_writer *w, const struct row *row, struct buf *out);
int stream_format_row(struct stream_writer *w, const struct row *row, struct buf *out);
/* Write a row record as it is (n bytes without its newline, in this
 * writer's layout for the current table: stream_row_bytes's, or one read
 * lazily) rather than decoded and spelled again. */
int stream_write_row_record(struct stream_writer *w, const char *record, size_t n);
/* A range record.  In a digest: last (a row holding the key), the row
 * count and hash (32 hex digits) of the range and its sketch's cells
 * (base64, or NULL for none), counted as a record of its table.  In a row
 * stream: (after, last] with NULL for an open end; hashed with the table's
 * records but not counted as a row. */
int stream_write_range(struct stream_writer *w, const struct row *after, const struct row *last,
		       uint64_t rows, const char *hash, const char *cells);
/* A row stream's range of the one key of row: {"key":{...}}. */
int stream_write_range_key(struct stream_writer *w, const struct row *key);
/* An insert, update or delete (a row record is written as an insert). */
int stream_write_change(struct stream_writer *w, const struct change *c);
/* A conflict record: c->row holds the key, c->side[] the rows of c->kind's sides. */
int stream_write_conflict(struct stream_writer *w, const struct change *c);
int stream_end_table(struct stream_writer *w);
/* Write the final end record, flush and close.  -1 if anything failed. */
int stream_finish(struct stream_writer *w);
/* Close without the final end record (after an error): consumers will see a
 * truncated stream and refuse it. */
void stream_abandon(struct stream_writer *w);

void change_init(struct change *c);
void change_release(struct change *c);

#endif
