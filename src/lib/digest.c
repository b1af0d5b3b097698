/* digest: dbdump-rows --digest and --against (digest.h). */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "progress.h"

/* XXH3-128 as 32 hex digits, high half first (XXH128_canonical order). */
static void hex128(char out[33], XXH128_hash_t h)
{
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, h.high64, h.low64);
}

/* A row record and its newline into the range hash. */
static void hash_row_line(XXH3_state_t *h, struct buf *line)
{
	buf_addch(line, '\n');
	XXH3_128bits_update(h, line->buf, line->len);
	line->len--;
	line->buf[line->len] = '\0';
}

/* ---- the digest ---- */

/* The ranges of one table: cut after range_rows rows, never between two
 * rows of equal key (a table keyed by its whole row may repeat one), so a
 * key belongs to one range. */
static int digest_table(struct source *src, struct stream_writer *w, const struct table *t, uint64_t range_rows,
			XXH3_state_t *h, struct buf *line)
{
	const struct row *row;
	struct row last;
	uint64_t n = 0;
	char hex[33];
	int got, ret = -1;
	row_init(&last, t->ncols);
	XXH3_128bits_reset(h);
	while ((got = source_next_row(src, &row)) > 0) {
		if (n >= range_rows && table_key_cmp(t, row, &last)) {
			hex128(hex, XXH3_128bits_digest(h));
			if (stream_write_range(w, NULL, &last, n, hex) < 0)
				goto out;
			XXH3_128bits_reset(h);
			n = 0;
		}
		if (stream_format_row(w, row, line) < 0)
			goto out;
		progress_rows(1, line->len + 1);
		hash_row_line(h, line);
		row_copy(&last, row);
		n++;
	}
	if (got < 0)
		goto out;
	hex128(hex, XXH3_128bits_digest(h));
	ret = n ? stream_write_range(w, NULL, &last, n, hex) : 0;
out:
	row_release(&last);
	return ret;
}

int digest_write(struct source *src, const char *path, uint64_t range_rows)
{
	struct stream_writer w;
	struct buf line = BUF_INIT;
	XXH3_state_t *h = XXH3_createState();
	if (stream_create(&w, path) < 0) {
		XXH3_freeState(h);
		return -1;
	}
	w.hash_name = "xxh3-128";
	w.range_rows = range_rows;
	stream_write_header(&w, STREAM_DIGEST, src->origin, src->engine);
	for (size_t i = 0; i < src->schema->n; i++)
		if (stream_write_table(&w, src->schema->tables[i]) < 0)
			goto fail;
	for (size_t i = 0; i < src->schema->n; i++) {
		const struct table *t = src->schema->tables[i];
		if (source_begin_table(src, t) < 0)
			goto fail;
		stream_begin_table(&w, t);
		progress_table("digest", t->name);
		if (digest_table(src, &w, t, range_rows, h, &line) < 0 || stream_end_table(&w) < 0)
			goto fail;
	}
	progress_done();
	buf_release(&line);
	XXH3_freeState(h);
	return stream_finish(&w);
fail:
	stream_abandon(&w);
	buf_release(&line);
	XXH3_freeState(h);
	return -1;
}

/* ---- against a digest ---- */

/* Whether rows of a and b are written alike, so their row records can be
 * compared by hash: the same columns (names, neutral types) in the same
 * order, and the same key. */
static int same_shape(const struct table *a, const struct table *b)
{
	if (a->ncols != b->ncols || a->nkey != b->nkey || a->key_kind != b->key_kind)
		return 0;
	for (size_t i = 0; i < a->ncols; i++)
		if (strcmp(a->cols[i].name, b->cols[i].name) || a->cols[i].type != b->cols[i].type)
			return 0;
	for (size_t k = 0; k < a->nkey; k++)
		if (a->key[k] != b->key[k])
			return 0;
	return 1;
}

struct against {
	struct stream_reader dr;  /* the digest */
	struct stream_writer w;
	struct source *src;
	XXH3_state_t *h;
	struct buf line;
	/* The current range of the digest (have_range), the rows of the source
	 * in it so far: their records (each with its newline) in held, unless
	 * the range is known to differ and its rows go straight out (sending). */
	int have_range, sending;
	uint64_t nrows;
	struct buf held;
	struct row after;         /* the digest's previous range's last key */
	int has_after;
	/* A range that differs with no source row in it, not written yet:
	 * the next range that differs, if adjacent, joins it, so that a run of
	 * emptied ranges is one record (and one range that dbapply queues). */
	int pending, pending_has_after;
	struct row pending_after, pending_last;
	uint64_t ranges, ranges_sent, rows_sent, tables_whole;
	int dr_open;
};

static int flush_pending(struct against *ag)
{
	if (!ag->pending)
		return 0;
	ag->pending = 0;
	return stream_write_range(&ag->w, ag->pending_has_after ? &ag->pending_after : NULL, &ag->pending_last,
				  0, NULL);
}

/* A range that differs (last NULL: the one open to the table's end): its
 * record, joined to the pending one before it, then the rows held for it;
 * or, with no rows and a last key, made or joined to the pending one. */
static int send_range(struct against *ag, const struct row *last)
{
	const char *p = ag->held.buf, *end = p + ag->held.len;
	const struct row *after = ag->has_after ? &ag->after : NULL;
	if (ag->pending)
		after = ag->pending_has_after ? &ag->pending_after : NULL;
	if (!ag->held.len && last) {
		if (!ag->pending) {
			ag->pending_has_after = ag->has_after;
			if (ag->has_after)
				row_copy(&ag->pending_after, &ag->after);
		}
		row_copy(&ag->pending_last, last);
		ag->pending = 1;
		return 0;
	}
	ag->pending = 0;
	if (stream_write_range(&ag->w, after, last, 0, NULL) < 0)
		return -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (stream_write_row_record(&ag->w, p, (size_t)(nl - p)) < 0)
			return -1;
		ag->rows_sent++;
		p = nl + 1;
	}
	buf_reset(&ag->held);
	ag->sending = 1;
	return 0;
}

/* The current digest range is complete on the source side: send it if it
 * differs, then read the next one. */
static int end_range(struct against *ag)
{
	struct change *c = &ag->dr.rec;
	char hex[33];
	hex128(hex, XXH3_128bits_digest(ag->h));
	ag->ranges++;
	if (ag->sending || ag->nrows != c->range_rows || strcmp(hex, c->range_hash)) {
		ag->ranges_sent++;
		if (!ag->sending && send_range(ag, &c->row) < 0)
			return -1;
	} else if (flush_pending(ag) < 0) {
		return -1;
	}
	row_copy(&ag->after, &c->row);
	ag->has_after = 1;
	ag->sending = 0;
	ag->nrows = 0;
	buf_reset(&ag->held);
	XXH3_128bits_reset(ag->h);
	int got = stream_next(&ag->dr);
	if (got < 0)
		return -1;
	ag->have_range = got > 0 && c->type == REC_RANGE;
	return 0;
}

/* Source rows of t merge-joined with the digest's ranges of t, whose
 * section the digest reader is at. */
static int against_table(struct against *ag, const struct table *t)
{
	const struct row *row;
	int got;
	ag->has_after = ag->sending = ag->pending = 0;
	ag->nrows = 0;
	buf_reset(&ag->held);
	XXH3_128bits_reset(ag->h);
	if ((got = stream_next(&ag->dr)) < 0)
		return -1;
	ag->have_range = got > 0 && ag->dr.rec.type == REC_RANGE;
	while ((got = source_next_row(ag->src, &row)) > 0) {
		while (ag->have_range && table_key_cmp(t, row, &ag->dr.rec.row) > 0)
			if (end_range(ag) < 0)
				return -1;
		if (stream_format_row(&ag->w, row, &ag->line) < 0)
			return -1;
		progress_rows(1, ag->line.len + 1);
		ag->rows_sent += ag->sending || !ag->have_range; /* written now, below */
		if (!ag->have_range) {
			/* Past the digest's last key: a range open to the end. */
			if (!ag->sending && send_range(ag, NULL) < 0)
				return -1;
			if (stream_write_row_record(&ag->w, ag->line.buf, ag->line.len) < 0)
				return -1;
			continue;
		}
		hash_row_line(ag->h, &ag->line);
		if (ag->sending) {
			if (stream_write_row_record(&ag->w, ag->line.buf, ag->line.len) < 0)
				return -1;
		} else {
			buf_add(&ag->held, ag->line.buf, ag->line.len);
			buf_addch(&ag->held, '\n');
		}
		/* More rows than the digest has: it differs; hold no more of them. */
		if (++ag->nrows > ag->dr.rec.range_rows && !ag->sending) {
			if (send_range(ag, &ag->dr.rec.row) < 0)
				return -1;
		}
	}
	if (got < 0)
		return -1;
	while (ag->have_range)
		if (end_range(ag) < 0)
			return -1;
	if (flush_pending(ag) < 0)
		return -1;
	if (ag->dr.rec.type != REC_TABLE_END)
		return stream_error(&ag->dr, "internal error: table \"%s\" not at its end", t->name);
	return 0;
}

/* Read the digest at path whole and check it (counts, hashes, final end
 * record), so that a truncated one is refused before anything is written. */
static int check_digest(const char *path, const char *shown)
{
	struct stream_reader r;
	int got = -1;
	if (stream_open_digest(&r, path, shown) == 0)
		while ((got = stream_next(&r)) > 0)
			;
	stream_close(&r);
	return got;
}

/* stdin copied into a file of dir, to be read twice. */
static int copy_stdin(const char *path)
{
	char chunk[1 << 16];
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return error("%s: %s", path, strerror(errno));
	while ((n = read(0, chunk, sizeof(chunk))) > 0)
		if (write(fd, chunk, (size_t)n) != n) {
			error("%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	if (n < 0 || close(fd) < 0)
		return error("<stdin>: %s", strerror(errno));
	return 0;
}

static int against_run(struct against *ag, const char *digest_path, const char *path, const char *shown)
{
	size_t pos = 0; /* the digest's sections before pos have been read */
	int got;
	if (check_digest(digest_path, shown) < 0)
		return -1;
	ag->dr_open = 1;
	if (stream_open_digest(&ag->dr, digest_path, shown) < 0)
		return -1;
	struct schema *ss = ag->src->schema;
	int *ranged = xcalloc(ss->n ? ss->n : 1, sizeof(*ranged));
	for (size_t i = 0; i < ss->n; i++) {
		struct table *t = ss->tables[i], *dt = schema_find(&ag->dr.schema, t->name);
		ranged[i] = dt && same_shape(t, dt);
		if (dt && !ranged[i])
			warning("table \"%s\": columns or key differ from the digest's (%s): sent whole", t->name,
				ag->dr.name);
	}
	if (stream_create(&ag->w, path) < 0) {
		free(ranged);
		return -1;
	}
	ag->w.ranges = 1;
	stream_write_header(&ag->w, STREAM_ROWS, ag->src->origin, ag->src->engine);
	for (size_t i = 0; i < ss->n; i++) {
		struct table *t = ss->tables[i];
		int complete = t->complete;
		if (ranged[i]) {
			t->complete = 0;
			t->ranged = 1;
		}
		got = stream_write_table(&ag->w, t);
		t->complete = complete;
		t->ranged = 0;
		if (got < 0)
			goto fail;
	}
	for (size_t i = 0; i < ss->n; i++) {
		const struct table *t = ss->tables[i];
		size_t at = 0;
		if (ranged[i]) {
			while (ag->dr.schema.tables[at] != schema_find(&ag->dr.schema, t->name))
				at++;
			if (at < pos) {
				/* The digest's tables come in another order: this one's
				 * ranges were passed over, so it goes whole. */
				warning("table \"%s\": the digest gives it before tables that precede it here: sent whole",
					t->name);
				ranged[i] = 0;
			}
		}
		if (source_begin_table(ag->src, t) < 0)
			goto fail;
		stream_begin_table(&ag->w, t);
		progress_table("against", t->name);
		if (!ranged[i]) {
			const struct row *row;
			ag->tables_whole++;
			while ((got = source_next_row(ag->src, &row)) > 0) {
				if (stream_write_row(&ag->w, row) < 0)
					goto fail;
				ag->rows_sent++;
			}
			if (got < 0 || stream_end_table(&ag->w) < 0)
				goto fail;
			continue;
		}
		/* Pass over the sections of tables before it. */
		for (; pos < at; pos++) {
			while ((got = stream_next(&ag->dr)) > 0 && ag->dr.rec.type != REC_TABLE_END)
				;
			if (got < 0)
				goto fail;
		}
		pos = at + 1;
		if (against_table(ag, t) < 0 || stream_end_table(&ag->w) < 0)
			goto fail;
	}
	while ((got = stream_next(&ag->dr)) > 0)
		;
	if (got < 0)
		goto fail;
	free(ranged);
	progress_done();
	return stream_finish(&ag->w);
fail:
	free(ranged);
	stream_abandon(&ag->w);
	return -1;
}

int digest_against(struct source *src, const char *digest_path, const char *path, int quiet)
{
	struct against ag;
	char *dir = NULL, *copy = NULL;
	int rc = -1;
	memset(&ag, 0, sizeof(ag));
	ag.src = src;
	ag.h = XXH3_createState();
	buf_init(&ag.line);
	buf_init(&ag.held);
	row_init(&ag.after, 0);
	row_init(&ag.pending_after, 0);
	row_init(&ag.pending_last, 0);
	if (!strcmp(digest_path, "-")) {
		struct buf d = BUF_INIT;
		if (!(dir = util_make_temp_dir("dbpipe")))
			goto out;
		buf_addf(&d, "%s/digest", dir);
		copy = buf_detach(&d);
		if (copy_stdin(copy) < 0)
			goto out;
	}
	rc = against_run(&ag, copy ? copy : digest_path, path, copy ? "<stdin>" : NULL);
	if (rc == 0 && !quiet)
		fprintf(stderr, "%s: %" PRIu64 " of %" PRIu64 " ranges differ; %" PRIu64 " rows sent%s\n",
			util_progname, ag.ranges_sent, ag.ranges, ag.rows_sent,
			ag.tables_whole ? " (tables sent whole included)" : "");
out:
	if (ag.dr_open)
		stream_close(&ag.dr);
	if (copy)
		unlink(copy);
	if (dir)
		rmdir(dir);
	free(copy);
	free(dir);
	buf_release(&ag.line);
	buf_release(&ag.held);
	row_release(&ag.after);
	row_release(&ag.pending_after);
	row_release(&ag.pending_last);
	XXH3_freeState(ag.h);
	return rc;
}
