/* source: tables and their rows in key order, read either from a stream
 * (file, "-", gzip) or from a live database in one snapshot.  dbdump-rows,
 * dbdiff and dbapply read through it, so a database and a dump of it are
 * interchangeable wherever a program takes a row stream. */
#ifndef DBPIPE_SOURCE_H
#define DBPIPE_SOURCE_H

#include "db.h"
#include "diff.h"
#include "schema.h"
#include "stream.h"
#include "subset.h"

/* Table selection: -t/--table and -x/--exclude glob patterns. */
struct filter {
	char **include;
	size_t ninclude;
	char **exclude;
	size_t nexclude;
};
void filter_add(char ***v, size_t *n, const char *pattern);
void filter_release(struct filter *f);
int filter_match(const struct filter *f, const char *table);

struct source {
	char *name;               /* as given on the command line */
	int is_stream;
	struct stream_reader rd;
	struct db *db;
	struct schema dbschema;   /* a database's selected tables, in dependency order */
	struct schema *schema;    /* the tables, parents first: rd.schema or dbschema */
	const char *origin;       /* shown source (masked URL) for headers */
	const char *engine;
	char *mark;               /* a database's snapshot mark (db_ops.snapshot_mark), or NULL */
	char *since;              /* set by source_since: only rows changed since this mark */
	struct subset *subset;    /* set by source_subset: only the rows it chose */
	/* Keep the rows of stream tables passed over in temporary files, so they
	 * can still be read when asked for later (inputs whose tables come in
	 * different orders).  Set before the first source_begin_table. */
	int spool_passed;
	/* source_dump writes the table records and an empty section for each,
	 * no rows (dbdump-rows --schema-only); no table is complete, so a
	 * --mirror of it deletes nothing. */
	int schema_only;
	/* Read the rows of a stream lazily (stream.h): a row may hold only its
	 * key until made whole through its row_iter (source_rows), which also
	 * gives its record's bytes; and read on a thread of its own
	 * (stream_read_ahead).  Set before the first source_begin_table; for a
	 * consumer that compares the rows of two streams (dbdiff). */
	int lazy;
	/* With lazy: the rows of the tables passed over and not spooled are
	 * taken by their key only, in order and hashed but not decoded; for a
	 * second reader of a stream whose rows another reader checks (the
	 * sync base's own tables, written after the others, read first). */
	int pass_by_key;
	/* A database read without a -t/-x filter or an excluded table: its
	 * dump says so in its header ("all_tables"). */
	int all_tables;
	/* Read a database's rows on a thread of its own, a batch ahead of the
	 * consumer, so that a program reading two databases (dbdiff) reads
	 * them on two cores.  Set before the first source_begin_table, only
	 * where nothing else uses the connection while a table is read. */
	int read_ahead;
	/* private */
	struct rows_ahead *ahead;
	size_t next;
	const struct table *cur;
	struct db_cursor *cursor;
	struct row row, prev;
	int have_prev;
	size_t cur_index;         /* of cur in schema (databases) */
	struct spooled { const struct table *t; char *path; } *spooled;
	size_t nspooled;
	char *spool_dir;
	struct stream_reader spool_rd;
	int reading_spool;
};

/* Open a stream or a database (then begin its read snapshot) with the
 * connection options o (NULL: none).  The filter applies to a database's
 * tables; a pattern that matches nothing is an error, as in pg_dump.
 * Prints a message and returns -1 on failure. */
int source_open(struct source *s, const char *arg, const struct filter *f,
		const struct db_options *o);
/* The tables of the database target (connected with the options o, read
 * in one snapshot, then disconnected) into out: what dbdump-rows --like
 * hands a csv: source.  Prints a message and returns -1 on failure. */
int source_load_schema(const char *target, const struct db_options *o, struct schema *out);

/* Read only the rows changed since mark (dbdump-rows --since): every table
 * becomes incomplete.  Where the mark cannot be used (another database, an
 * engine that cannot tell, too old) a warning says so and every row is read.
 * NULL or "" reads every row silently.  0 or -1. */
int source_since(struct source *s, const char *mark);
/* Read only a subset of a database's rows (dbdump-rows --subset): the rows
 * the starts select, what refers to them and what they need (subset.h);
 * every table becomes incomplete.  Prints a message and returns -1 on
 * failure. */
int source_subset(struct source *s, const struct subset_start *starts, size_t n);
/* Position at the rows of t, one of s->schema's tables: any of them in a
 * database; in a stream one at or after the current position (tables passed
 * over are read and checked, and spooled if spool_passed is set), or one
 * passed over and spooled before. */
int source_begin_table(struct source *s, const struct table *t);
/* Next row of the current table: 1 (row in *out, valid until the next call),
 * 0 at the end of the table, -1. */
int source_next_row(struct source *s, const struct row **out);
/* A row_iter (diff.h) over the rows of s's current table. */
struct row_iter source_rows(struct source *s);
/* Make the current row whole, were it read lazily (lazy): 0 or -1. */
int source_row_whole(struct source *s);
/* The record of the current row read lazily from the stream itself (not a
 * spool): 1 with its bytes (no newline), else 0. */
int source_row_bytes(struct source *s, const char **p, size_t *n);
/* A row_iter with no rows, for a table one input lacks; name is for messages. */
struct row_iter no_rows(const char *name);

/* For streams: read to the final end record and check it.  0 or -1. */
int source_finish(struct source *s);
void source_close(struct source *s);

/* Write every table of s as a row stream to path (NULL or "-": stdout; gzip
 * for ".gz"), with the header's "purpose" field if purpose is not NULL.  A
 * failed dump leaves a stream without its final end record. */
int source_dump(struct source *s, const char *path, const char *purpose);

#endif
