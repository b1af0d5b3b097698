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
#include "sketch.h"

/* XXH3-128 as 32 hex digits, high half first (XXH128_canonical order). */
static void hex128(char out[33], XXH128_hash_t h)
{
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, h.high64, h.low64);
}

/* A range's hash: the sum of its rows' hashes, modulo 2^128 (sign -1: take
 * one out), so that the source can check what a sketch says differs. */
static void sum_add(XXH128_hash_t *sum, XXH128_hash_t h, int sign)
{
	if (sign > 0) {
		uint64_t lo = sum->low64 + h.low64;
		sum->high64 += h.high64 + (lo < h.low64);
		sum->low64 = lo;
	} else {
		uint64_t borrow = sum->low64 < h.low64;
		sum->low64 -= h.low64;
		sum->high64 -= h.high64 + borrow;
	}
}

/* The text of row's key in t (sketch.h): its values as a row record writes
 * them, comma-separated, into out.  The row was written already, so its
 * values are ones a stream holds. */
static void key_text(const struct table *t, const struct row *row, struct buf *out, struct buf *err)
{
	buf_reset(out);
	for (size_t k = 0; k < t->nkey; k++) {
		if (k)
			buf_addch(out, ',');
		value_to_json(out, row, t->key[k], t->cols[t->key[k]].type, err);
	}
}

/* ---- the digest ---- */

struct digest_range {
	XXH128_hash_t sum;
	struct sketch sketch;
	struct buf line, key, cells, err;
};

static int write_digest_range(struct stream_writer *w, struct digest_range *d, const struct row *last, uint64_t n)
{
	char hex[33];
	hex128(hex, d->sum);
	buf_reset(&d->cells);
	/* A key too long for the sketch: the range has none, and goes whole
	 * if it differs. */
	if (d->sketch.ncells && !d->sketch.overflow)
		sketch_encode(&d->sketch, &d->cells);
	int rc = stream_write_range(w, NULL, last, n, hex, d->sketch.ncells && !d->sketch.overflow ? d->cells.buf : NULL);
	memset(&d->sum, 0, sizeof(d->sum));
	sketch_reset(&d->sketch);
	return rc;
}

/* The ranges of one table: cut after range_rows rows, never between two
 * rows of equal key (a table keyed by its whole row may repeat one), so a
 * key belongs to one range. */
static int digest_table(struct source *src, struct stream_writer *w, const struct table *t, uint64_t range_rows,
			struct digest_range *d)
{
	const struct row *row;
	struct row last;
	uint64_t n = 0;
	int got, ret = -1;
	row_init(&last, t->ncols);
	while ((got = source_next_row(src, &row)) > 0) {
		if (n >= range_rows && table_key_cmp(t, row, &last)) {
			if (write_digest_range(w, d, &last, n) < 0)
				goto out;
			n = 0;
		}
		if (stream_format_row(w, row, &d->line) < 0)
			goto out;
		progress_rows(1, d->line.len + 1);
		XXH128_hash_t h = XXH3_128bits(d->line.buf, d->line.len);
		sum_add(&d->sum, h, 1);
		if (d->sketch.ncells) {
			key_text(t, row, &d->key, &d->err);
			sketch_add(&d->sketch, d->key.buf, d->key.len, h, 1);
		}
		row_copy(&last, row);
		n++;
	}
	if (got < 0)
		goto out;
	ret = n ? write_digest_range(w, d, &last, n) : 0;
out:
	row_release(&last);
	return ret;
}

int digest_write(struct source *src, const char *path, uint64_t range_rows, uint64_t cells)
{
	struct stream_writer w;
	struct digest_range d;
	int rc = -1;
	memset(&d, 0, sizeof(d));
	if (stream_create(&w, path) < 0)
		return -1;
	sketch_init(&d.sketch, cells);
	w.hash_name = DIGEST_HASH;
	w.range_rows = range_rows;
	w.digest_cells = cells;
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
		if (digest_table(src, &w, t, range_rows, &d) < 0 || stream_end_table(&w) < 0)
			goto fail;
	}
	progress_done();
	rc = stream_finish(&w);
	goto out;
fail:
	stream_abandon(&w);
out:
	sketch_release(&d.sketch);
	buf_release(&d.line);
	buf_release(&d.key);
	buf_release(&d.cells);
	buf_release(&d.err);
	return rc;
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

/* A source row held while its range's verdict is pending: its record's
 * place in held (without the newline), its hash, its key's text in keys. */
struct held_row {
	size_t off, len, key_off, key_len;
	XXH128_hash_t h;
};

struct against {
	struct stream_reader dr;  /* the digest */
	struct stream_writer w;
	struct source *src;
	struct buf line, key, err;
	/* The current range of the digest (have_range), the rows of the source
	 * in it so far: their sum, and their records (each with its newline)
	 * in held, unless the range is known to differ and its rows go
	 * straight out (sending). */
	int have_range, sending;
	uint64_t nrows;
	XXH128_hash_t sum;
	struct buf held, keys;
	struct held_row *rows;
	size_t nheld, held_alloc;
	struct row after;         /* the digest's previous range's last key */
	int has_after;
	/* A range that differs with no source row in it, not written yet:
	 * the next range that differs, if adjacent, joins it, so that a run of
	 * emptied ranges is one record (and one range that dbapply queues). */
	int pending, pending_has_after;
	struct row pending_after, pending_last;
	/* The sketches of the current range: the source's, the digest's; the
	 * rows a peel finds, their keys, the order they go out in. */
	struct sketch ours, theirs;
	struct sketch_elem *elems;
	struct row *elem_keys;
	size_t *order;
	struct json_doc doc;
	uint64_t ranges, ranges_sent, ranges_keyed, keys_sent, rows_sent, tables_whole;
	int dr_open;
};

static int flush_pending(struct against *ag)
{
	if (!ag->pending)
		return 0;
	ag->pending = 0;
	return stream_write_range(&ag->w, ag->pending_has_after ? &ag->pending_after : NULL, &ag->pending_last,
				  0, NULL, NULL);
}

/* A range that differs (last NULL: the one open to the table's end): its
 * record, joined to the pending one before it, then the rows held for it;
 * or, with no rows and a last key, made or joined to the pending one. */
static int send_range(struct against *ag, const struct row *last)
{
	const struct row *after = ag->has_after ? &ag->after : NULL;
	if (ag->pending)
		after = ag->pending_has_after ? &ag->pending_after : NULL;
	if (!ag->nheld && last) {
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
	if (stream_write_range(&ag->w, after, last, 0, NULL, NULL) < 0)
		return -1;
	for (size_t i = 0; i < ag->nheld; i++) {
		if (stream_write_row_record(&ag->w, ag->held.buf + ag->rows[i].off, ag->rows[i].len) < 0)
			return -1;
		ag->rows_sent++;
	}
	buf_reset(&ag->held);
	ag->nheld = 0;
	ag->sending = 1;
	return 0;
}

/* Key text (n bytes) into row (sized for t): -1 when it is not a key of t. */
static int key_from_text(struct against *ag, const struct table *t, const char *text, size_t n, struct row *row)
{
	struct jv *root;
	buf_reset(&ag->key);
	buf_addch(&ag->key, '[');
	buf_add(&ag->key, text, n);
	buf_addch(&ag->key, ']');
	row_resize(row, t->ncols);
	if (json_parse(&ag->doc, ag->key.buf, ag->key.len, 0, &root, &ag->err) < 0 || root->type != J_ARRAY ||
	    root->count != t->nkey)
		return -1;
	size_t k = 0;
	for (const struct jv *v = root->first; v; v = v->next, k++)
		if (value_from_json(row, t->key[k], t->cols[t->key[k]].type, v, &ag->err) < 0)
			return -1;
	return 0;
}

/* A range that differs, sent as the keys whose rows differ: the digest's
 * sketch taken from the source's, peeled whole, and checked against the
 * range's row count and hash (so a sketch that peels wrong, however
 * unlikely, costs bytes, never a change).  Each key goes as a range of
 * that key and the source's rows in it.  1 when sent so, 0 when the range
 * must go whole, -1 on a failed write. */
static int send_keys(struct against *ag, const struct table *t)
{
	const struct change *c = &ag->dr.rec;
	size_t n;
	if (!c->range_has_cells || !ag->ours.ncells ||
	    sketch_decode(&ag->theirs, c->range_cells.buf, c->range_cells.len) < 0)
		return 0;
	sketch_reset(&ag->ours);
	for (size_t i = 0; i < ag->nheld; i++)
		sketch_add(&ag->ours, ag->keys.buf + ag->rows[i].key_off, ag->rows[i].key_len, ag->rows[i].h, 1);
	sketch_subtract(&ag->ours, &ag->theirs);
	if (sketch_peel(&ag->ours, ag->elems, &n) < 0)
		return 0;
	XXH128_hash_t sum = ag->sum;
	uint64_t count = ag->nrows;
	for (size_t e = 0; e < n; e++) {
		const struct sketch_elem *el = &ag->elems[e];
		if (key_from_text(ag, t, el->key, el->keylen, &ag->elem_keys[e]) < 0)
			return 0;
		if (el->side > 0) {
			/* A source row: one that is held, as the sketch says. */
			size_t i = 0;
			while (i < ag->nheld && (ag->rows[i].key_len != el->keylen || ag->rows[i].h.low64 != el->h.low64 ||
						 ag->rows[i].h.high64 != el->h.high64 ||
						 memcmp(ag->keys.buf + ag->rows[i].key_off, el->key, el->keylen)))
				i++;
			if (i == ag->nheld)
				return 0;
			sum_add(&sum, el->h, -1);
			count--;
		} else {
			/* A target row: its key within the range. */
			if ((ag->has_after && table_key_cmp(t, &ag->elem_keys[e], &ag->after) <= 0) ||
			    table_key_cmp(t, &ag->elem_keys[e], &c->row) > 0)
				return 0;
			sum_add(&sum, el->h, 1);
			count++;
		}
	}
	char hex[33];
	hex128(hex, sum);
	if (count != c->range_rows || strcmp(hex, c->range_hash))
		return 0;
	/* In key order (a few keys: insertion sort), each key once. */
	for (size_t e = 0; e < n; e++) {
		size_t j = e;
		for (; j > 0 && table_key_cmp(t, &ag->elem_keys[ag->order[j - 1]], &ag->elem_keys[e]) > 0; j--)
			ag->order[j] = ag->order[j - 1];
		ag->order[j] = e;
	}
	if (flush_pending(ag) < 0)
		return -1;
	for (size_t e = 0; e < n;) {
		const struct row *key = &ag->elem_keys[ag->order[e]];
		size_t end = e + 1;
		while (end < n && !table_key_cmp(t, &ag->elem_keys[ag->order[end]], key))
			end++;
		if (stream_write_range_key(&ag->w, key) < 0)
			return -1;
		ag->keys_sent++;
		/* The source's rows of this key: those whose key is spelt as one
		 * of the key's elements spells it. */
		for (size_t i = 0; i < ag->nheld; i++) {
			const char *k = ag->keys.buf + ag->rows[i].key_off;
			size_t f = e;
			for (; f < end; f++) {
				const struct sketch_elem *el = &ag->elems[ag->order[f]];
				if (el->keylen == ag->rows[i].key_len && !memcmp(el->key, k, el->keylen))
					break;
			}
			if (f == end)
				continue;
			if (stream_write_row_record(&ag->w, ag->held.buf + ag->rows[i].off, ag->rows[i].len) < 0)
				return -1;
			ag->rows_sent++;
		}
		e = end;
	}
	ag->ranges_keyed++;
	return 1;
}

/* The current digest range is complete on the source side: send it if it
 * differs, by its keys or whole, then read the next one. */
static int end_range(struct against *ag, const struct table *t)
{
	struct change *c = &ag->dr.rec;
	char hex[33];
	hex128(hex, ag->sum);
	ag->ranges++;
	if (ag->sending || ag->nrows != c->range_rows || strcmp(hex, c->range_hash)) {
		ag->ranges_sent++;
		int keyed = ag->sending ? 1 : send_keys(ag, t);
		if (keyed < 0 || (!keyed && send_range(ag, &c->row) < 0))
			return -1;
	} else if (flush_pending(ag) < 0) {
		return -1;
	}
	row_copy(&ag->after, &c->row);
	ag->has_after = 1;
	ag->sending = 0;
	ag->nrows = 0;
	ag->nheld = 0;
	buf_reset(&ag->held);
	buf_reset(&ag->keys);
	memset(&ag->sum, 0, sizeof(ag->sum));
	int got = stream_next(&ag->dr);
	if (got < 0)
		return -1;
	ag->have_range = got > 0 && c->type == REC_RANGE;
	return 0;
}

/* The source's row just formatted into line, held for its range. */
static void hold_row(struct against *ag, const struct table *t, const struct row *row, XXH128_hash_t h)
{
	if (ag->nheld == ag->held_alloc) {
		ag->held_alloc = ag->held_alloc ? 2 * ag->held_alloc : 256;
		ag->rows = xrealloc(ag->rows, ag->held_alloc * sizeof(*ag->rows));
	}
	struct held_row *hr = &ag->rows[ag->nheld++];
	hr->off = ag->held.len;
	hr->len = ag->line.len;
	hr->h = h;
	buf_add(&ag->held, ag->line.buf, ag->line.len);
	buf_addch(&ag->held, '\n');
	hr->key_off = ag->keys.len;
	if (ag->ours.ncells) {
		key_text(t, row, &ag->key, &ag->err);
		buf_add(&ag->keys, ag->key.buf, ag->key.len);
	}
	hr->key_len = ag->keys.len - hr->key_off;
}

/* Source rows of t merge-joined with the digest's ranges of t, whose
 * section the digest reader is at. */
static int against_table(struct against *ag, const struct table *t)
{
	const struct row *row;
	int got;
	ag->has_after = ag->sending = ag->pending = 0;
	ag->nrows = 0;
	ag->nheld = 0;
	buf_reset(&ag->held);
	buf_reset(&ag->keys);
	memset(&ag->sum, 0, sizeof(ag->sum));
	if ((got = stream_next(&ag->dr)) < 0)
		return -1;
	ag->have_range = got > 0 && ag->dr.rec.type == REC_RANGE;
	while ((got = source_next_row(ag->src, &row)) > 0) {
		while (ag->have_range && table_key_cmp(t, row, &ag->dr.rec.row) > 0)
			if (end_range(ag, t) < 0)
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
		XXH128_hash_t h = XXH3_128bits(ag->line.buf, ag->line.len);
		sum_add(&ag->sum, h, 1);
		if (ag->sending) {
			if (stream_write_row_record(&ag->w, ag->line.buf, ag->line.len) < 0)
				return -1;
		} else {
			hold_row(ag, t, row, h);
		}
		/* More rows than the digest has, beyond what its sketch could
		 * tell apart: it differs and goes whole; hold no more of them. */
		if (++ag->nrows > ag->dr.rec.range_rows + ag->ours.ncells && !ag->sending) {
			if (send_range(ag, &ag->dr.rec.row) < 0)
				return -1;
		}
	}
	if (got < 0)
		return -1;
	while (ag->have_range)
		if (end_range(ag, t) < 0)
			return -1;
	if (flush_pending(ag) < 0)
		return -1;
	if (ag->dr.rec.type != REC_TABLE_END)
		return stream_error(&ag->dr, "internal error: table \"%s\" not at its end", t->name);
	return 0;
}

/* Read the digest at path whole and check it (counts, hashes, each range's
 * cells, final end record), so that a truncated or broken one is refused
 * before anything is written. */
static int check_digest(const char *path, const char *shown)
{
	struct stream_reader r;
	struct sketch cells;
	int got = -1;
	sketch_init(&cells, 0);
	int opened = stream_open_digest(&r, path, shown) == 0;
	if (opened && (!r.digest_hash || strcmp(r.digest_hash, DIGEST_HASH))) {
		error("%s:1: a digest of ranges hashed by \"%s\": this dbdump-rows reads \"%s\"", r.name,
		      r.digest_hash ? r.digest_hash : "(nothing)", DIGEST_HASH);
	} else if (opened) {
		sketch_init(&cells, r.digest_cells);
		while ((got = stream_next(&r)) > 0)
			if (r.rec.type == REC_RANGE && r.rec.range_has_cells &&
			    sketch_decode(&cells, r.rec.range_cells.buf, r.rec.range_cells.len) < 0) {
				got = stream_error(&r, "range record: \"cells\" are not the %" PRIu64
						       " cells of a sketch (dbdump-rows --digest writes them)",
						   r.digest_cells);
				break;
			}
	}
	stream_close(&r);
	sketch_release(&cells);
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
	size_t ncells = ag->dr.digest_cells;
	sketch_init(&ag->ours, ncells);
	sketch_init(&ag->theirs, ncells);
	ag->elems = xcalloc(ncells + 1, sizeof(*ag->elems));
	ag->elem_keys = xcalloc(ncells + 1, sizeof(*ag->elem_keys));
	ag->order = xcalloc(ncells + 1, sizeof(*ag->order));
	for (size_t i = 0; i < ncells; i++)
		row_init(&ag->elem_keys[i], 0);
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
	json_doc_init(&ag.doc);
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
	if (rc == 0 && !quiet) {
		fprintf(stderr, "%s: %" PRIu64 " of %" PRIu64 " ranges differ", util_progname, ag.ranges_sent, ag.ranges);
		if (ag.ranges_keyed)
			fprintf(stderr, " (%" PRIu64 " of them by key: %" PRIu64 " keys)", ag.ranges_keyed, ag.keys_sent);
		fprintf(stderr, "; %" PRIu64 " rows sent%s\n", ag.rows_sent,
			ag.tables_whole ? " (tables sent whole included)" : "");
	}
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
	buf_release(&ag.key);
	buf_release(&ag.err);
	buf_release(&ag.held);
	buf_release(&ag.keys);
	free(ag.rows);
	row_release(&ag.after);
	row_release(&ag.pending_after);
	row_release(&ag.pending_last);
	if (ag.elem_keys)
		for (size_t i = 0; i < ag.ours.ncells; i++)
			row_release(&ag.elem_keys[i]);
	free(ag.elems);
	free(ag.elem_keys);
	free(ag.order);
	sketch_release(&ag.ours);
	sketch_release(&ag.theirs);
	json_doc_release(&ag.doc);
	return rc;
}
