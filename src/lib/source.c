/* source: a row stream or a live database, read table by table in key order. */
#include "source.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "ahead.h"
#include "deps.h"
#include "progress.h"

void filter_add(char ***v, size_t *n, const char *pattern)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(pattern);
}

void filter_release(struct filter *f)
{
	for (size_t i = 0; i < f->ninclude; i++)
		free(f->include[i]);
	for (size_t i = 0; i < f->nexclude; i++)
		free(f->exclude[i]);
	free(f->include);
	free(f->exclude);
	memset(f, 0, sizeof(*f));
}

int filter_match(const struct filter *f, const char *table)
{
	if (!f)
		return 1;
	for (size_t i = 0; i < f->nexclude; i++)
		if (glob_match(f->exclude[i], table))
			return 0;
	if (!f->ninclude)
		return 1;
	for (size_t i = 0; i < f->ninclude; i++)
		if (glob_match(f->include[i], table))
			return 1;
	return 0;
}

static int open_database(struct source *s, const char *arg, const struct filter *f,
			 const struct db_options *o)
{
	struct schema all;
	schema_init(&all);
	s->db = db_connect(arg, o);
	if (!s->db)
		return -1;
	if (s->db->ops->begin_read(s->db) < 0 || s->db->ops->load_schema(s->db, &all) < 0) {
		error("%s: %s", s->db->shown_url, s->db->err.buf);
		schema_release(&all);
		return -1;
	}
	for (size_t i = 0; f && i < f->ninclude; i++) {
		int any = 0;
		for (size_t j = 0; j < all.n && !any; j++)
			any = glob_match(f->include[i], all.tables[j]->name);
		if (!any) {
			schema_release(&all);
			return error("%s: no table matches \"%s\"", s->db->shown_url, f->include[i]);
		}
	}
	/* The environment's own excludes (dbpipe.conf) apply to every dump of it. */
	struct filter envf = { NULL, 0, s->db->env.exclude, s->db->env.nexclude };
	for (size_t i = 0; i < all.n; i++) {
		if (filter_match(f, all.tables[i]->name) && filter_match(&envf, all.tables[i]->name)) {
			schema_add(&s->dbschema, all.tables[i]);
			all.tables[i] = NULL;
		}
	}
	s->all_tables = s->dbschema.n == all.n;
	schema_release(&all);
	/* Every table is dumped whole, whatever the filter: a filtered-out table is
	 * simply absent, never present and partial. */
	for (size_t i = 0; i < s->dbschema.n; i++)
		s->dbschema.tables[i]->complete = 1;
	deps_sort_schema(&s->dbschema);
	struct buf mark = BUF_INIT;
	/* No mark is no loss: the next sync from this dump reads every row. */
	if (s->db->ops->snapshot_mark && s->db->ops->snapshot_mark(s->db, &mark) == 0)
		s->mark = buf_detach(&mark);
	buf_release(&mark);
	s->schema = &s->dbschema;
	s->origin = s->db->shown_url;
	s->engine = s->db->ops->engine;
	return 0;
}

int source_load_schema(const char *target, const struct db_options *o, struct schema *out)
{
	struct db *db = db_connect(target, o);
	int ret = 0;
	if (!db)
		return -1;
	if (db->ops->begin_read(db) < 0 || db->ops->load_schema(db, out) < 0)
		ret = error("%s: %s", db->shown_url, db->err.buf);
	db->ops->rollback(db);
	db_disconnect(db);
	return ret;
}

int source_since(struct source *s, const char *mark)
{
	if (!mark || !*mark)
		return 0;
	struct db *db = s->db;
	if (!db) {
		warning("%s: --since applies to a database, not a stream: every row is read", s->name);
		return 0;
	}
	if (!db->ops->since_usable) {
		warning("%s: --since: %s cannot tell which rows changed: every row is dumped", db->shown_url,
			db->ops->engine);
		return 0;
	}
	int usable = db->ops->since_usable(db, mark);
	if (usable < 0)
		return error("%s: %s", db->shown_url, db->err.buf);
	if (!usable) {
		warning("%s: --since: %s: every row is dumped", db->shown_url, db->err.buf);
		return 0;
	}
	s->since = xstrdup(mark);
	for (size_t i = 0; i < s->dbschema.n; i++)
		s->dbschema.tables[i]->complete = 0;
	return 0;
}

int source_subset(struct source *s, const struct subset_start *starts, size_t n)
{
	if (!n)
		return 0;
	if (!s->db)
		return error("%s: --subset applies to a database, not a stream", s->name);
	s->subset = xcalloc(1, sizeof(*s->subset));
	if (subset_compute(s->subset, s->db, &s->dbschema, starts, n) < 0)
		return -1;
	/* A slice says nothing of the rows it leaves out: a mirror keeps them. */
	for (size_t i = 0; i < s->dbschema.n; i++)
		s->dbschema.tables[i]->complete = 0;
	return 0;
}

int source_open(struct source *s, const char *arg, const struct filter *f,
		const struct db_options *o)
{
	memset(s, 0, sizeof(*s));
	s->name = db_mask_url(arg); /* for messages: never a password */
	schema_init(&s->dbschema);
	row_init(&s->row, 0);
	row_init(&s->prev, 0);
	if (db_is_target(arg))
		return open_database(s, arg, f, o);
	s->is_stream = 1;
	if (stream_open(&s->rd, arg) < 0)
		return -1;
	if (s->rd.kind != STREAM_ROWS)
		return error("%s: a change stream where a row stream is needed", s->rd.name);
	s->schema = &s->rd.schema;
	s->origin = s->rd.source;
	s->engine = s->rd.engine;
	return 0;
}

/* Read the rest of the current stream table; into a spool file if asked. */
static int pass_table(struct source *s, int keep)
{
	const struct row *r;
	struct stream_writer w;
	int got;
	if (keep) {
		if (!s->spool_dir && !(s->spool_dir = util_make_temp_dir("dbpipe")))
			return -1;
		struct buf p = BUF_INIT;
		buf_addf(&p, "%s/%zu", s->spool_dir, s->nspooled);
		s->spooled = xrealloc(s->spooled, (s->nspooled + 1) * sizeof(*s->spooled));
		s->spooled[s->nspooled].t = s->cur;
		s->spooled[s->nspooled++].path = buf_detach(&p);
		if (stream_create(&w, s->spooled[s->nspooled - 1].path) < 0)
			return -1;
		stream_write_header(&w, STREAM_ROWS, s->origin, s->engine);
		stream_write_table(&w, s->cur);
		stream_begin_table(&w, s->cur);
	}
	/* Rows passed over are read whole: checked as any other, and spooled
	 * (but for a reader that passes them by key, pass_by_key). */
	while ((got = source_next_row(s, &r)) > 0)
		if ((s->is_stream && !s->reading_spool && !(s->pass_by_key && !keep) && stream_decode(&s->rd) < 0) ||
		    (keep && stream_write_row(&w, r) < 0)) {
			got = -1;
			break;
		}
	if (keep) {
		if (got == 0 && stream_end_table(&w) == 0)
			return stream_finish(&w);
		stream_abandon(&w);
		return -1;
	}
	return got;
}

static int open_spooled(struct source *s, const struct table *t)
{
	for (size_t i = 0; i < s->nspooled; i++) {
		if (s->spooled[i].t != t)
			continue;
		if (stream_open(&s->spool_rd, s->spooled[i].path) < 0)
			return -1;
		s->reading_spool = 1;
		s->cur = t;
		/* the spool's own table record stands for t */
		return 0;
	}
	return error("%s: table \"%s\" comes in another order than expected", s->name, t->name);
}

int source_begin_table(struct source *s, const struct table *t)
{
	if (s->cur && pass_table(s, 0) < 0)
		return -1;
	s->have_prev = 0;
	if (!s->is_stream) {
		/* A database reads any of its tables at any time. */
		rows_ahead_stop(s->ahead);
		if (s->cursor) {
			s->db->ops->scan_close(s->cursor);
			s->cursor = NULL;
		}
		s->cur = t;
		for (s->cur_index = 0; s->cur_index < s->schema->n && s->schema->tables[s->cur_index] != t;)
			s->cur_index++;
		if ((s->since ? s->db->ops->scan_since_open(s->db, t, s->since, &s->cursor)
			      : s->db->ops->scan_open(s->db, t, &s->cursor)) < 0)
			return error("%s: table \"%s\": %s", s->db->shown_url, t->name, s->db->err.buf);
		if (s->row.n != t->ncols) {
			row_release(&s->row);
			row_init(&s->row, t->ncols);
		}
		return s->read_ahead ? rows_ahead_start(&s->ahead, s->db, s->cursor, t->ncols) : 0;
	}
	if (s->lazy && !s->rd.lazy) {
		s->rd.lazy = 1;
		if (stream_read_ahead(&s->rd) < 0)
			return -1;
	}
	size_t at = s->next;
	while (at < s->schema->n && s->schema->tables[at] != t)
		at++;
	if (at >= s->schema->n)
		return open_spooled(s, t);
	while (s->next < at) {
		s->cur = s->schema->tables[s->next++];
		if (pass_table(s, s->spool_passed) < 0)
			return -1;
		s->cur = NULL;
	}
	s->next++;
	s->cur = t;
	return 0;
}

int source_next_row(struct source *s, const struct row **out)
{
	if (!s->cur)
		return 0;
	if (s->reading_spool || s->is_stream) {
		struct stream_reader *rd = s->reading_spool ? &s->spool_rd : &s->rd;
		int got = stream_next(rd);
		if (got < 0)
			return -1;
		if (got == 0)
			return stream_error(rd, "the final end record inside table \"%s\"", s->cur->name);
		if (rd->rec.type == REC_TABLE_END) {
			s->cur = NULL;
			if (s->reading_spool) {
				/* read the spool's final end, then let it go */
				got = stream_next(rd);
				stream_close(rd);
				s->reading_spool = 0;
				if (got != 0)
					return -1;
			}
			return 0;
		}
		*out = &rd->rec.row;
		return 1;
	}
	int got;
	const struct row *r = &s->row;
	while ((got = s->read_ahead ? rows_ahead_next(s->ahead, &r) : s->db->ops->scan_next(s->cursor, &s->row)) > 0 &&
	       s->subset && !subset_has(s->subset, s->cur_index, r))
		; /* not in the slice */
	if (got < 0)
		return error("%s: %s", s->db->shown_url, s->read_ahead ? rows_ahead_error(s->ahead) : s->db->err.buf);
	if (got == 0) {
		rows_ahead_stop(s->ahead);
		s->db->ops->scan_close(s->cursor);
		s->cursor = NULL;
		s->cur = NULL;
		return 0;
	}
	/* An engine whose order differs from the stream's would make a stream
	 * that every reader refuses: stop here instead. */
	if (s->have_prev && table_key_cmp(s->cur, &s->prev, r) >= (s->cur->key_kind == KEY_ROW)) {
		struct buf key = BUF_INIT;
		table_key_to_json(&key, s->cur, r);
		error("%s: table \"%s\": the database returned key %s out of order", s->db->shown_url,
		      s->cur->name, key.buf);
		buf_release(&key);
		return -1;
	}
	table_key_copy(s->cur, &s->prev, r);
	s->have_prev = 1;
	*out = r;
	return 1;
}

int source_finish(struct source *s)
{
	if (!s->is_stream)
		return 0;
	if (s->cur && pass_table(s, 0) < 0)
		return -1;
	while (s->next < s->schema->n) {
		s->cur = s->schema->tables[s->next++];
		if (pass_table(s, 0) < 0)
			return -1;
	}
	int got = stream_next(&s->rd);
	if (got < 0)
		return -1;
	if (got > 0)
		return stream_error(&s->rd, "records after the last table");
	return 0;
}

void source_close(struct source *s)
{
	rows_ahead_free(s->ahead);
	s->ahead = NULL;
	if (s->cursor)
		s->db->ops->scan_close(s->cursor);
	if (s->db) {
		s->db->ops->rollback(s->db);
		db_disconnect(s->db);
	}
	if (s->is_stream)
		stream_close(&s->rd);
	if (s->subset)
		subset_release(s->subset);
	free(s->subset);
	schema_release(&s->dbschema);
	row_release(&s->row);
	row_release(&s->prev);
	if (s->reading_spool)
		stream_close(&s->spool_rd);
	for (size_t i = 0; i < s->nspooled; i++) {
		unlink(s->spooled[i].path);
		free(s->spooled[i].path);
	}
	free(s->spooled);
	if (s->spool_dir)
		rmdir(s->spool_dir);
	free(s->spool_dir);
	free(s->name);
	free(s->mark);
	free(s->since);
	memset(s, 0, sizeof(*s));
}

int source_dump(struct source *src, const char *path, const char *purpose)
{
	struct stream_writer w;
	const struct row *row;
	if (stream_create(&w, path) < 0)
		return -1;
	w.purpose = purpose;
	w.mark = src->mark;
	w.since = src->since;
	w.all_tables = src->all_tables;
	stream_write_header(&w, STREAM_ROWS, src->origin, src->engine);
	for (size_t i = 0; i < src->schema->n; i++) {
		if (src->schema_only)
			src->schema->tables[i]->complete = 0;
		if (stream_write_table(&w, src->schema->tables[i]) < 0)
			goto fail;
	}
	for (size_t i = 0; i < src->schema->n; i++) {
		const struct table *t = src->schema->tables[i];
		int got;
		if (src->schema_only) {
			stream_begin_table(&w, t);
			if (stream_end_table(&w) < 0)
				goto fail;
			continue;
		}
		if (source_begin_table(src, t) < 0)
			goto fail;
		stream_begin_table(&w, t);
		progress_table(purpose && !strcmp(purpose, "backup") ? "backup" : "dump", t->name);
		while ((got = source_next_row(src, &row)) > 0) {
			uint64_t before = w.bytes;
			if (stream_write_row(&w, row) < 0)
				goto fail;
			progress_rows(1, w.bytes - before);
		}
		if (got < 0 || stream_end_table(&w) < 0)
			goto fail;
	}
	progress_done();
	return stream_finish(&w);
fail:
	/* Without its final end record the output is refused by every reader. */
	stream_abandon(&w);
	return -1;
}

static int source_rows_next(void *ctx, const struct row **out)
{
	return source_next_row(ctx, out);
}

int source_row_bytes(struct source *s, const char **p, size_t *n)
{
	if (!s->is_stream || s->reading_spool || !s->rd.lazy)
		return 0;
	*p = s->rd.line.buf;
	*n = s->rd.line.len;
	return 1;
}

static int source_rows_bytes(void *ctx, const char **p, size_t *n)
{
	return source_row_bytes(ctx, p, n);
}

int source_row_whole(struct source *s)
{
	return s->is_stream && !s->reading_spool ? stream_decode(&s->rd) : 0;
}

static int source_rows_whole(void *ctx)
{
	return source_row_whole(ctx);
}

struct row_iter source_rows(struct source *s)
{
	struct row_iter it = { source_rows_next, s, s->name, NULL, NULL };
	if (s->lazy && s->is_stream) {
		it.bytes = source_rows_bytes;
		it.whole = source_rows_whole;
	}
	return it;
}

static int no_rows_next(void *ctx, const struct row **out)
{
	(void)ctx;
	(void)out;
	return 0;
}

struct row_iter no_rows(const char *name)
{
	struct row_iter it = { no_rows_next, NULL, name };
	return it;
}
