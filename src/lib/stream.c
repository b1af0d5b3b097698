/* stream: the NDJSON row/change stream, read with every integrity check and
 * written with counts and xxHash (XXH3-64) hashes. */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"

#define READ_CHUNK (256 * 1024)
#define WRITE_CHUNK (256 * 1024)
#define ZSTD_MAGIC "\x28\xb5\x2f\xfd" /* a zstd frame's first bytes */

static const char *const side_names[] = { "base", "ours", "theirs" };
static const char *const kind_names[] = { "update/update", "update/delete", "delete/update", "insert/insert",
					  "held" };

const char *conflict_kind_name(enum conflict_kind k)
{
	return kind_names[k];
}

int conflict_has_side(enum conflict_kind k, enum conflict_side s)
{
	switch (k) {
	case CONFLICT_UPDATE_UPDATE: return 1;
	case CONFLICT_UPDATE_DELETE: return s != SIDE_THEIRS;
	case CONFLICT_DELETE_UPDATE: return s != SIDE_OURS;
	case CONFLICT_INSERT_INSERT: return s != SIDE_BASE;
	case CONFLICT_HELD: return s == SIDE_OURS;
	}
	return 0;
}

void change_init(struct change *c)
{
	memset(c, 0, sizeof(*c));
	row_init(&c->row, 0);
	row_init(&c->old, 0);
	for (int i = 0; i < 3; i++)
		row_init(&c->side[i], 0);
	buf_init(&c->range_cells);
}

void change_release(struct change *c)
{
	row_release(&c->row);
	row_release(&c->old);
	for (int i = 0; i < 3; i++)
		row_release(&c->side[i]);
	buf_release(&c->range_cells);
}

int stream_error(const struct stream_reader *r, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error("%s:%ld: %s", r->name, r->lineno, msg);
}

/* zlib names a stream opened by descriptor "<fd:N>": keep only its message. */
static const char *gz_message(gzFile gz, int *zerr)
{
	const char *msg = gzerror(gz, zerr);
	if (!strncmp(msg, "<fd:", 4) && strstr(msg, ": "))
		msg = strstr(msg, ": ") + 2;
	return msg;
}

/* zstd's part of fill_input: up to cap bytes of r's decompressed input into
 * dst.  The count, 0 at the end, or -1 with *why set (NULL: errno's). */
static ssize_t zstd_read(struct stream_reader *r, char *dst, size_t cap, const char **why)
{
	ZSTD_outBuffer out = { dst, cap, 0 };
	for (;;) {
		if (r->zin_pos < r->zin.len || r->zflush) {
			ZSTD_inBuffer in = { r->zin.buf, r->zin.len, r->zin_pos };
			size_t ret = ZSTD_decompressStream(r->zd, &out, &in);
			if (ZSTD_isError(ret)) {
				*why = ZSTD_getErrorName(ret); /* "Data corruption detected", ... */
				return -1;
			}
			r->zin_pos = in.pos;
			r->zleft = ret;
			r->zflush = out.pos == out.size;
			if (out.pos)
				return (ssize_t)out.pos;
			if (r->zin_pos < r->zin.len)
				continue;
		}
		r->zin.len = r->zin_pos = 0;
		buf_grow(&r->zin, READ_CHUNK);
		ssize_t got = read(r->zfd, r->zin.buf, READ_CHUNK);
		if (got < 0 && errno == EINTR && !util_interrupted)
			continue;
		if (got < 0) {
			*why = NULL;
			return -1;
		}
		if (!got) {
			*why = "truncated zstd data: its last frame ends early";
			return r->zleft ? -1 : 0;
		}
		r->zin.len = (size_t)got;
	}
}

/* Read the next chunk of input into r->in (setting r->eof at its end).
 * Returns 0 or -1; a failure is on the line being read. */
static int fill_input(struct stream_reader *r)
{
	if (util_interrupted)
		return stream_error(r, "interrupted");
	buf_grow(&r->in, READ_CHUNK);
	/* A reading thread may be cancelled (stream_close) only while it waits
	 * for input, which may never come from a stalled pipe. */
	int cancel_state;
	const char *zwhy = NULL;
	if (r->in_thread)
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &cancel_state);
	ssize_t got = r->zd ? zstd_read(r, r->in.buf, READ_CHUNK, &zwhy) : gzread(r->gz, r->in.buf, READ_CHUNK);
	if (r->in_thread)
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	if (got < 0 && util_interrupted)
		return stream_error(r, "interrupted");
	if (got < 0 && r->zd) {
		r->lineno++;
		if (!zwhy)
			return stream_error(r, "read error: %s", strerror(errno));
		return stream_error(r, "%s%s", strncmp(zwhy, "truncated", 9) ? "corrupt zstd data: " : "", zwhy);
	}
	if (got < 0) {
		int zerr;
		const char *msg = gz_message(r->gz, &zerr);
		r->lineno++;
		return stream_error(r, "read error: %s", zerr == Z_ERRNO ? strerror(errno) : msg);
	}
	r->in.len = (size_t)got;
	r->in_pos = 0;
	if (got == 0 && !r->zd) {
		int zerr;
		const char *msg = gz_message(r->gz, &zerr);
		if (zerr != Z_OK && zerr != Z_STREAM_END) {
			r->lineno++;
			return stream_error(r, "truncated or corrupt gzip data: %s", msg);
		}
	}
	if (got == 0)
		r->eof = 1;
	return 0;
}

/* Read one line into r->line without its newline.  Returns 1, 0 at EOF, -1.
 * A line longer than STREAM_MAX_RECORD is refused as soon as the part read
 * passes it, so r->line never holds more. */
static int read_line(struct stream_reader *r)
{
	buf_reset(&r->line);
	for (;;) {
		if (r->in_pos < r->in.len) {
			const char *start = r->in.buf + r->in_pos;
			const char *nl = memchr(start, '\n', r->in.len - r->in_pos);
			size_t n = nl ? (size_t)(nl - start) : r->in.len - r->in_pos;
			if (n > STREAM_MAX_RECORD - r->line.len) {
				r->lineno++;
				return stream_error(r, "record longer than %zu bytes", STREAM_MAX_RECORD);
			}
			buf_add(&r->line, start, n);
			r->in_pos += n + (nl != NULL);
			if (nl) {
				r->lineno++;
				return 1;
			}
		}
		if (r->eof)
			break;
		if (fill_input(r) < 0)
			return -1;
	}
	if (r->line.len) {
		r->lineno++;
		return stream_error(r, "truncated stream: the last line is incomplete");
	}
	return 0;
}

/* Parse the line in r->line; the record lives in r->doc until the next one. */
static int parse_record(struct stream_reader *r, struct jv **rec, const char **type)
{
	if (json_parse(&r->doc, r->line.buf, r->line.len, 1, rec, &r->err) < 0)
		return stream_error(r, "%s", r->err.buf);
	*type = jv_get_string(*rec, "type");
	if (!*type)
		return stream_error(r, "record without a \"type\"");
	return 1;
}

static int read_record(struct stream_reader *r, struct jv **rec, const char **type)
{
	int got = read_line(r);
	if (got <= 0)
		return got;
	return parse_record(r, rec, type);
}

/* The data lines (rows, changes, ranges) go into both hashes, the table's
 * and the stream's: gathered and hashed a chunk at a time, not in two
 * updates per line, each with a cost of its own (XXH3 gives the same hash
 * of the same bytes however they are cut). */
enum { HASH_CHUNK = 64 * 1024 };

static void hash_due_lines(struct stream_reader *r)
{
	if (!r->hashes_due.len)
		return;
	XXH3_64bits_update(r->h_table, r->hashes_due.buf, r->hashes_due.len);
	XXH3_64bits_update(r->h_all, r->hashes_due.buf, r->hashes_due.len);
	buf_reset(&r->hashes_due);
}

static void hash_data_line(struct stream_reader *r)
{
	buf_add(&r->hashes_due, r->line.buf, r->line.len);
	buf_addch(&r->hashes_due, '\n');
	if (r->hashes_due.len >= HASH_CHUNK)
		hash_due_lines(r);
}

/* Any other line, into h alone, after the data lines before it. */
static void hash_line(struct stream_reader *r, XXH3_state_t *h, struct buf *line)
{
	hash_due_lines(r);
	if (!line->alloc) {
		XXH3_64bits_update(h, "\n", 1);
		return;
	}
	/* The line and its newline in one update, in the place of its NUL. */
	line->buf[line->len] = '\n';
	XXH3_64bits_update(h, line->buf, line->len + 1);
	line->buf[line->len] = '\0';
}

static void hex64(char out[17], uint64_t h)
{
	snprintf(out, 17, "%016" PRIx64, h);
}

/* The header record, the first line: the stream's kind, version and
 * provenance into r. */
static int read_header(struct stream_reader *r)
{
	struct jv *rec;
	const char *type;
	int64_t version;
	/* (zstd is only told from its magic number where open_stream could
	 * read it ahead of time: a file) */
	if (!r->zd && (fill_input(r) < 0 || (r->in.len >= 4 && !memcmp(r->in.buf, ZSTD_MAGIC, 4)))) {
		r->lineno = 1;
		return r->in.len ? stream_error(r, "zstd data on a pipe: give the file's name, or "
						"decompress it first (zstd -dc)") : -1;
	}
	int got = read_record(r, &rec, &type);
	if (got < 0)
		return -1;
	if (got == 0)
		return stream_error(r, "empty stream: no header record");
	const char *kind = jv_get_string(rec, "stream");
	if (strcmp(type, "header") || !kind)
		return stream_error(r, "not a dbpipe stream: the first record must be a header");
	if (jv_int64(jv_get(rec, "version"), &version) < 0 || version != 1)
		return stream_error(r, "unsupported stream version (this program reads version 1)");
	if (!strcmp(kind, "rows"))
		r->kind = STREAM_ROWS;
	else if (!strcmp(kind, "changes"))
		r->kind = STREAM_CHANGES;
	else if (!strcmp(kind, "digest"))
		r->kind = STREAM_DIGEST;
	else
		return stream_error(r, "unknown stream kind \"%s\"", kind);
	const char *s = jv_get_string(rec, "source"), *e = jv_get_string(rec, "engine"),
		   *at = jv_get_string(rec, "at");
	r->source = xstrdup(s ? s : "");
	r->engine = xstrdup(e ? e : "");
	r->at = xstrdup(at ? at : "");
	s = jv_get_string(rec, "purpose");
	r->purpose = xstrdup(s ? s : "");
	s = jv_get_string(rec, "mark");
	r->mark = s ? xstrdup(s) : NULL;
	s = jv_get_string(rec, "since");
	r->since = s ? xstrdup(s) : NULL;
	r->all_tables = jv_get_true(rec, "all_tables");
	if (r->kind == STREAM_DIGEST) {
		int64_t cells = 0;
		s = jv_get_string(rec, "hash");
		r->digest_hash = s ? xstrdup(s) : NULL;
		if (jv_get(rec, "cells") && (jv_int64(jv_get(rec, "cells"), &cells) < 0 || cells < 0 ||
					     cells % 3 || cells > 99999))
			return stream_error(r, "header: \"cells\" must be a multiple of 3 from 0 to 99999");
		r->digest_cells = (uint64_t)cells;
	}
	return 0;
}

/* Table records come first, so the whole schema is known before data. */
static int read_table_records(struct stream_reader *r)
{
	struct jv *rec;
	const char *type;
	for (;;) {
		int got = read_record(r, &rec, &type);
		if (got < 0)
			return -1;
		if (got == 0)
			return stream_error(r, "truncated stream: no final end record");
		if (!strcmp(type, "schema")) {
			/* What differs (dbdiff) or what a rollback drops (undo
			 * streams); the table records say what the rows are. */
			r->schema_records = xrealloc(r->schema_records, (r->nschema + 1) * sizeof(*r->schema_records));
			buf_reset(&r->err);
			if (schema_record_from_json(rec, &r->schema_records[r->nschema], &r->err) < 0)
				return stream_error(r, "%s", r->err.buf);
			r->nschema++;
			hash_line(r, r->h_all, &r->line);
			continue;
		}
		if (strcmp(type, "table")) {
			r->pending = 1; /* r->line and r->doc hold the first data record */
			return 0;
		}
		struct table *t = table_from_json(rec, &r->err);
		if (!t)
			return stream_error(r, "%s", r->err.buf);
		if (schema_find(&r->schema, t->name)) {
			stream_error(r, "table \"%s\" declared twice", t->name);
			table_free(t);
			return -1;
		}
		t->line = r->lineno;
		schema_add(&r->schema, t);
		hash_line(r, r->h_all, &r->line);
	}
}

/* A pipe between two programs of a sync holds 64 KiB by default: the
 * writer then wakes the reader every 64 KiB.  1 MiB (the most an
 * unprivileged process may ask on Linux) lets each side run longer between
 * switches.  Nothing for a file, or where the system refuses. */
static void pipe_widen(int fd)
{
#ifdef F_SETPIPE_SZ
	(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
	(void)fd;
#endif
}

static int open_stream(struct stream_reader *r, const char *path, int digest, const char *shown)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->line);
	buf_init(&r->err);
	buf_init(&r->in);
	buf_init(&r->zin);
	buf_init(&r->row_prefix);
	buf_init(&r->key_names);
	buf_init(&r->key_text);
	json_doc_init(&r->doc);
	schema_init(&r->schema);
	change_init(&r->rec);
	row_init(&r->last, 0);
	row_init(&r->range_last, 0);
	row_init(&r->prev_row, 0);
	r->h_table = XXH3_createState();
	r->h_all = XXH3_createState();
	XXH3_64bits_reset(r->h_all);
	XXH3_64bits_reset(r->h_table);
	buf_init(&r->hashes_due);
	int fd;
	if (!path || !strcmp(path, "-")) {
		r->name = xstrdup("<stdin>");
		fd = dup(0);
	} else {
		r->name = xstrdup(path);
		fd = open(path, O_RDONLY);
	}
	if (fd < 0)
		return error("%s: %s", r->name, strerror(errno));
	pipe_widen(fd);
	if (shown) {
		free(r->name);
		r->name = xstrdup(shown);
	}
	/* zstd is told by its magic number where the input can be read ahead
	 * of time (a file); zlib takes the rest, plain or gzip */
	unsigned char magic[4];
	if (pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) && !memcmp(magic, ZSTD_MAGIC, 4)) {
		r->zd = ZSTD_createDCtx();
		r->zfd = fd;
		if (!r->zd) {
			close(fd);
			return error("%s: cannot open", r->name);
		}
	} else {
		r->gz = gzdopen(fd, "rb");
		if (!r->gz) {
			close(fd);
			return error("%s: cannot open", r->name);
		}
		/* half what fill_input asks for: zlib then reads (or inflates)
		 * straight into r->in, not through a buffer of its own and a copy */
		gzbuffer(r->gz, READ_CHUNK / 2);
	}
	if (read_header(r) < 0)
		return -1;
	if ((r->kind == STREAM_DIGEST) != digest)
		return stream_error(r, digest ? "not a digest stream (dbdump-rows --digest writes one)"
					      : "a digest stream (dbdump-rows --digest): only dbdump-rows --against reads it");
	return read_table_records(r);
}

int stream_open(struct stream_reader *r, const char *path)
{
	return open_stream(r, path, 0, NULL);
}

int stream_open_digest(struct stream_reader *r, const char *path, const char *shown)
{
	return open_stream(r, path, 1, shown);
}

int stream_range_covers(struct stream_reader *r, const struct row *key)
{
	const struct table *t = r->ranges_table;
	for (; r->range_head < r->nranges; r->range_head++) {
		struct stream_range *g = &r->ranges[r->range_head];
		if (g->has_last && table_key_cmp(t, &g->last, key) < 0)
			continue; /* passed: later keys are larger still */
		if (g->exact)
			return table_key_cmp(t, &g->last, key) == 0;
		return !g->has_after || table_key_cmp(t, key, &g->after) > 0;
	}
	return 0;
}

/* Fill row (sized for t) from the JSON object obj.  With whole=1 every
 * column must be present; otherwise only the ones given are set. */
static int row_from_object(struct stream_reader *r, struct row *row, const struct table *t,
			   const struct jv *obj, int whole, const char *field)
{
	size_t guess = 0, found = 0;
	if (!obj || obj->type != J_OBJECT)
		return stream_error(r, "\"%s\" must be an object", field);
	for (const struct jv *v = obj->first; v; v = v->next) {
		/* Writers put the columns in table order: try the next one first. */
		long i = guess < t->ncols && !strcmp(t->cols[guess].name, v->key) ? (long)guess
			: table_column_index(t, v->key);
		if (i < 0)
			return stream_error(r, "unknown column \"%s\" in table \"%s\"", v->key, t->name);
		guess = (size_t)i + 1;
		found++;
		if (value_from_json(row, (size_t)i, t->cols[i].type, v, &r->err) < 0)
			return stream_error(r, "type mismatch in \"%s\".\"%s\": %s", t->name,
					    t->cols[i].name, r->err.buf);
	}
	if (whole && found != t->ncols)
		for (size_t i = 0; i < t->ncols; i++)
			if (row->v[i].state == V_ABSENT)
				return stream_error(r, "table \"%s\": row lacks column \"%s\"", t->name,
						    t->cols[i].name);
	return 0;
}

static int check_end(struct stream_reader *r, const struct jv *rec, XXH3_state_t *h, uint64_t count,
		     const char *what)
{
	int64_t rows = -1;
	const char *hash = jv_get_string(rec, "hash");
	char want[17];
	if (jv_int64(jv_get(rec, "rows"), &rows) < 0 || rows < 0 || (uint64_t)rows != count)
		return stream_error(r, "%s: end record says %lld records, the stream holds %" PRIu64,
				    what, (long long)rows, count);
	hash_due_lines(r);
	hex64(want, XXH3_64bits_digest(h));
	if (!hash || strcmp(hash, want))
		return stream_error(r, "%s: hash mismatch (end record says %s, content hashes to %s)",
				    what, hash ? hash : "nothing", want);
	return 0;
}

/* The kind and the three sides of a conflict record whose key is read: each
 * side the kind has is a whole row with the record's key, the others null. */
static int read_conflict(struct stream_reader *r, struct change *c, const struct jv *rec)
{
	const struct table *t = c->table;
	const char *kind = jv_get_string(rec, "kind");
	size_t k;
	if (!kind)
		return stream_error(r, "conflict record without a \"kind\"");
	for (k = 0; k < sizeof(kind_names) / sizeof(*kind_names) && strcmp(kind, kind_names[k]); k++)
		;
	if (k == sizeof(kind_names) / sizeof(*kind_names))
		return stream_error(r, "unknown conflict kind \"%s\"", kind);
	c->kind = (enum conflict_kind)k;
	for (int s = 0; s < 3; s++) {
		const struct jv *v = jv_get(rec, side_names[s]);
		int want = conflict_has_side(c->kind, (enum conflict_side)s);
		row_resize(&c->side[s], t->ncols);
		if (!v)
			return stream_error(r, "conflict record without \"%s\" (null if that side has no row)",
					    side_names[s]);
		if (v->type == J_NULL) {
			if (want)
				return stream_error(r, "a %s conflict needs the \"%s\" row", kind, side_names[s]);
			continue;
		}
		if (!want)
			return stream_error(r, "a %s conflict has no \"%s\" row: it must be null", kind, side_names[s]);
		if (row_from_object(r, &c->side[s], t, v, 1, side_names[s]) < 0)
			return -1;
		for (size_t i = 0; i < t->nkey; i++) {
			size_t col = t->key[i];
			if (!value_equal(&c->side[s], col, &c->row, col, t->cols[col].type))
				return stream_error(r, "the \"%s\" row has another key than the record", side_names[s]);
		}
	}
	return 0;
}

/* The next record: the one stream_open read ahead, or a new line.  A
 * stream that ends here lacks its final end record. */
static int next_record(struct stream_reader *r, struct jv **rec, const char **type)
{
	if (r->pending) {
		r->pending = 0;
		return parse_record(r, rec, type);
	}
	int got = read_record(r, rec, type);
	if (got == 0)
		return stream_error(r, "truncated stream: no final end record");
	return got;
}

/* The final end record: every table's section read, the counts and the
 * hash of the whole stream right, and nothing after it.  Returns 0 or -1. */
static int read_final_end(struct stream_reader *r, const struct jv *rec)
{
	int64_t ntables;
	if (r->cur)
		return stream_error(r, "final end record inside the data of table \"%s\"", r->cur->name);
	if (r->next_table < r->schema.n)
		return stream_error(r, "stream ends before the data of table \"%s\"",
				    r->schema.tables[r->next_table]->name);
	if (jv_int64(jv_get(rec, "tables"), &ntables) < 0 || ntables < 0 || (size_t)ntables != r->schema.n)
		return stream_error(r, "end record: table count does not match the %zu table records", r->schema.n);
	if (check_end(r, rec, r->h_all, r->total, "stream") < 0)
		return -1;
	/* Nothing may follow the final end record. */
	int got = read_line(r);
	if (got < 0)
		return -1;
	if (got > 0)
		return stream_error(r, "data after the final end record");
	return 0;
}

/* lazy: what scan_row_key matches for the rows of t, as the writer spells
 * it (add_table_field, stream_begin_table). */
static void prepare_key_scan(struct stream_reader *r, const struct table *t)
{
	buf_reset(&r->row_prefix);
	buf_adds(&r->row_prefix, "{\"type\":\"row\",\"table\":");
	json_add_string(&r->row_prefix, t->name, strlen(t->name));
	buf_adds(&r->row_prefix, ",\"row\":{");
	buf_reset(&r->key_names);
	r->key_name_off = xrealloc(r->key_name_off, (t->nkey + 1) * sizeof(*r->key_name_off));
	for (size_t k = 0; k < t->nkey; k++) {
		r->key_name_off[k] = r->key_names.len;
		json_add_key(&r->key_names, t->cols[t->key[k]].name);
	}
	r->key_name_off[t->nkey] = r->key_names.len;
}

/* lazy: the key of the row record in r->line, straight from its bytes, into
 * c->row (every other column absent).  Taken only in the writer's layout:
 * row_prefix, then the key columns first and in key order, each a number
 * literal or a string of printable ASCII without escapes, which the JSON
 * parser would give unchanged; the value goes through value_from_json as in
 * a full read.  1: done; 0: anything else, the record is read whole (and
 * so fails, if it does, with the message a full read gives). */
static int scan_row_key(struct stream_reader *r, struct change *c)
{
	const struct table *t = r->cur;
	const char *p = r->line.buf, *end = p + r->line.len;
	if (!t->nkey || !r->row_prefix.len || r->line.len < r->row_prefix.len || memcmp(p, r->row_prefix.buf, r->row_prefix.len))
		return 0;
	p += r->row_prefix.len;
	row_resize(&c->row, t->ncols);
	for (size_t k = 0; k < t->nkey; k++) {
		const char *name = r->key_names.buf + r->key_name_off[k];
		size_t namelen = r->key_name_off[k + 1] - r->key_name_off[k];
		if ((size_t)(end - p) < namelen || memcmp(p, name, namelen))
			return 0;
		p += namelen;
		struct jv v = { 0 };
		const char *lit;
		if (p < end && *p == '"') {
			lit = ++p;
			while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
				p++;
			if (p >= end || *p != '"')
				return 0;
			v.type = J_STRING;
			v.len = (size_t)(p++ - lit);
		} else {
			lit = p;
			if (p < end && *p == '-')
				p++;
			const char *digits = p;
			while (p < end && *p >= '0' && *p <= '9')
				p++;
			if (p == digits || (*digits == '0' && p - digits > 1))
				return 0;
			v.type = J_NUMBER;
			v.len = (size_t)(p - lit);
		}
		if (p >= end || (*p != ',' && *p != '}'))
			return 0;
		p++;
		buf_reset(&r->key_text);
		buf_add(&r->key_text, lit, v.len);
		v.s = r->key_text.buf;
		size_t col = t->key[k];
		if (value_from_json(&c->row, col, t->cols[col].type, &v, &r->err) < 0)
			return 0;
	}
	return 1;
}

/* The table a data record of tname belongs to: the current section's, or
 * the next table's, whose section it opens.  NULL (said why) if neither. */
static struct table *enter_section(struct stream_reader *r, const char *tname)
{
	if (r->cur) {
		if (strcmp(tname, r->cur->name)) {
			stream_error(r, "record for table \"%s\" inside the data of table \"%s\" (missing end record?)",
				     tname, r->cur->name);
			return NULL;
		}
		return r->cur;
	}
	struct table *t = schema_find(&r->schema, tname);
	if (!t) {
		stream_error(r, "unknown table \"%s\" (no table record declares it)", tname);
		return NULL;
	}
	if (r->next_table >= r->schema.n || r->schema.tables[r->next_table] != t) {
		stream_error(r, "data of table \"%s\" out of order: expected %s%s%s", tname,
			     r->next_table < r->schema.n ? "table \"" : "the final end record",
			     r->next_table < r->schema.n ? r->schema.tables[r->next_table]->name : "",
			     r->next_table < r->schema.n ? "\"" : "");
		return NULL;
	}
	r->cur = t;
	r->next_table++;
	r->count = 0;
	r->have_last = 0;
	r->in_range = r->range_bounded = r->range_open_end = r->range_exact = 0;
	r->have_prev_row = 0;
	r->nranges = r->range_head = 0;
	r->ranges_table = t;
	hash_due_lines(r);
	XXH3_64bits_reset(r->h_table);
	if (r->lazy)
		prepare_key_scan(r, t);
	return t;
}

/* A row record (row stream) or an insert (change stream): the whole row. */
static int read_whole_row(struct stream_reader *r, struct change *c, const char *type, const struct jv *rec)
{
	int is_row = type[0] == 'r';
	if (is_row != (r->kind == STREAM_ROWS))
		return stream_error(r, "a \"%s\" record in a %s stream", type, r->kind == STREAM_ROWS ? "row" : "change");
	c->type = is_row ? REC_ROW : REC_INSERT;
	return row_from_object(r, &c->row, c->table, jv_get(rec, "row"), 1, "row");
}

/* An update, delete or conflict record: its "key" exactly the table's key
 * columns, then what the type adds ("set", the sides, "old"). */
static int read_keyed_change(struct stream_reader *r, struct change *c, const char *type, const struct jv *rec)
{
	const struct table *t = c->table;
	if (r->kind != STREAM_CHANGES)
		return stream_error(r, "a \"%s\" record in a row stream", type);
	c->type = type[0] == 'u' ? REC_UPDATE : type[0] == 'd' ? REC_DELETE : REC_CONFLICT;
	const struct jv *key = jv_get(rec, "key");
	if (row_from_object(r, &c->row, t, key, 0, "key") < 0)
		return -1;
	for (size_t k = 0; k < t->nkey; k++)
		if (c->row.v[t->key[k]].state == V_ABSENT)
			return stream_error(r, "\"key\" lacks key column \"%s\"", t->cols[t->key[k]].name);
	if (key->count != t->nkey)
		return stream_error(r, "\"key\" holds columns that are not the key of \"%s\"", t->name);
	if (c->type == REC_CONFLICT)
		return read_conflict(r, c, rec);
	if (c->type == REC_UPDATE) {
		const struct jv *set = jv_get(rec, "set");
		for (size_t k = 0; k < t->nkey; k++)
			if (jv_get(set, t->cols[t->key[k]].name))
				return stream_error(r, "\"set\" changes key column \"%s\" (a new key is a delete and an insert)",
						    t->cols[t->key[k]].name);
		if (row_from_object(r, &c->row, t, set, 0, "set") < 0)
			return -1;
	}
	const struct jv *old = jv_get(rec, "old");
	return old ? row_from_object(r, &c->old, t, old, 0, "old") : 0;
}

/* Keys strictly ascending; a table keyed by its whole row may repeat rows.
 * Then the record counts, and is hashed, in its section. */
static int take_in_order(struct stream_reader *r, const struct change *c)
{
	const struct table *t = c->table;
	if (c->type == REC_ROW && r->in_range) {
		if (r->range_bounded && table_key_cmp(t, &c->row, &r->range_last) > 0)
			return stream_error(r, "table \"%s\": a row after the last key of its range", t->name);
		if (r->range_exact && table_key_cmp(t, &c->row, &r->range_last))
			return stream_error(r, "table \"%s\": a row whose key is not its key range's", t->name);
		/* A consumer merge-joining these rows with the target's has passed
		 * every key below the previous row: ranges that end there are done. */
		while (r->have_prev_row && r->range_head < r->nranges && r->ranges[r->range_head].has_last &&
		       table_key_cmp(t, &r->ranges[r->range_head].last, &r->prev_row) < 0)
			r->range_head++;
		table_key_copy(t, &r->prev_row, &c->row);
		r->have_prev_row = 1;
	}
	if (r->have_last) {
		int cmp = table_key_cmp(t, &r->last, &c->row);
		if (cmp > 0 || (cmp == 0 && t->key_kind != KEY_ROW))
			return stream_error(r, "key out of order in table \"%s\": %s the previous record's key",
					    t->name, cmp ? "below" : "equal to");
	}
	table_key_copy(t, &r->last, &c->row);
	r->have_last = 1;
	hash_data_line(r);
	r->count++;
	r->total++;
	return 0;
}

/* A key object of a range record ("after", "last"): exactly t's key
 * columns into row; 0 for null (an open end) when open_ok, 1 for a key. */
static int range_key(struct stream_reader *r, const struct table *t, const struct jv *v, const char *field,
		     struct row *row, int open_ok)
{
	if (!v)
		return stream_error(r, "range record without \"%s\"", field);
	if (v->type == J_NULL && open_ok)
		return 0;
	row_resize(row, t->ncols);
	if (row_from_object(r, row, t, v, 0, field) < 0)
		return -1;
	for (size_t k = 0; k < t->nkey; k++)
		if (row->v[t->key[k]].state == V_ABSENT)
			return stream_error(r, "\"%s\" lacks key column \"%s\"", field, t->cols[t->key[k]].name);
	if (v->count != t->nkey)
		return stream_error(r, "\"%s\" holds columns that are not the key of \"%s\"", field, t->name);
	return 1;
}

/* A digest's range record: its last key (in order, as a record's key), row
 * count and hash. */
static int read_digest_range(struct stream_reader *r, struct change *c, const struct jv *rec)
{
	int64_t rows;
	const char *hash = jv_get_string(rec, "hash");
	c->type = REC_RANGE;
	if (range_key(r, c->table, jv_get(rec, "last"), "last", &c->row, 0) < 0)
		return -1;
	if (jv_int64(jv_get(rec, "rows"), &rows) < 0 || rows < 1)
		return stream_error(r, "range record: \"rows\" must be a count of at least 1");
	if (!hash || strlen(hash) != 32 || strspn(hash, "0123456789abcdef") != 32)
		return stream_error(r, "range record: \"hash\" must be 32 lowercase hex digits");
	c->range_rows = (uint64_t)rows;
	memcpy(c->range_hash, hash, 33);
	const struct jv *cells = jv_get(rec, "cells");
	c->range_has_cells = cells != NULL;
	buf_reset(&c->range_cells);
	if (cells && (cells->type != J_STRING || !r->digest_cells))
		return stream_error(r, "range record: \"cells\" must be a string, in a digest whose header gives \"cells\"");
	if (cells)
		buf_add(&c->range_cells, cells->s, cells->len);
	return 0;
}

/* A row stream's range record (dbdump-rows --against), for a consumer that
 * takes them: checked to follow the ranges and rows before it, queued, and
 * made the range the next rows must lie in. */
static int take_range(struct stream_reader *r, struct table *t, const struct jv *rec)
{
	if (!r->take_ranges)
		return stream_error(r, "a range record (dbdump-rows --against): only dbapply reads such a stream");
	if (!t->ranged)
		return stream_error(r, "a range record in table \"%s\", whose table record is not \"ranged\"", t->name);
	if (r->range_open_end)
		return stream_error(r, "table \"%s\": a range after the range open to the table's end", t->name);
	if (r->nranges == r->ranges_alloc) {
		size_t n = r->ranges_alloc ? 2 * r->ranges_alloc : 8;
		r->ranges = xrealloc(r->ranges, n * sizeof(*r->ranges));
		for (size_t i = r->ranges_alloc; i < n; i++) {
			row_init(&r->ranges[i].after, 0);
			row_init(&r->ranges[i].last, 0);
		}
		r->ranges_alloc = n;
	}
	if (r->range_head == r->nranges)
		r->range_head = r->nranges = 0; /* an empty queue starts over */
	struct stream_range *g = &r->ranges[r->nranges];
	if (jv_get(rec, "key")) {
		/* The range of one key: above every key and range before it. */
		if (range_key(r, t, jv_get(rec, "key"), "key", &g->last, 0) < 0)
			return -1;
		if ((r->have_last && table_key_cmp(t, &g->last, &r->last) <= 0) ||
		    (r->range_bounded && table_key_cmp(t, &g->last, &r->range_last) <= 0) ||
		    (r->in_range && !r->range_bounded))
			return stream_error(r, "table \"%s\": a key range at or below the key or range before it", t->name);
		g->has_after = 0;
		g->has_last = g->exact = 1;
		r->nranges++;
		r->in_range = r->range_bounded = r->range_exact = 1;
		row_copy(&r->range_last, &g->last);
		hash_data_line(r);
		return 0;
	}
	g->exact = r->range_exact = 0;
	int a = range_key(r, t, jv_get(rec, "after"), "after", &g->after, 1);
	int l = a < 0 ? -1 : range_key(r, t, jv_get(rec, "last"), "last", &g->last, 1);
	if (a < 0 || l < 0)
		return -1;
	g->has_after = a;
	g->has_last = l;
	/* Disjoint and ascending: after at or past every key before it. */
	if (a && r->have_last && table_key_cmp(t, &g->after, &r->last) < 0)
		return stream_error(r, "table \"%s\": a range that starts below the key before it", t->name);
	if ((!a && (r->have_last || r->in_range)) || (a && r->range_bounded && table_key_cmp(t, &g->after, &r->range_last) < 0))
		return stream_error(r, "table \"%s\": a range that overlaps the range before it", t->name);
	if (a && l && table_key_cmp(t, &g->after, &g->last) >= 0)
		return stream_error(r, "table \"%s\": a range whose last key is not above its \"after\"", t->name);
	r->nranges++;
	r->in_range = 1;
	r->range_bounded = l;
	r->range_open_end = !l;
	if (l)
		row_copy(&r->range_last, &g->last);
	if (a) {
		row_copy(&r->last, &g->after); /* the next row's key must be above it */
		r->have_last = 1;
	}
	hash_data_line(r);
	return 0;
}

static int next_one(struct stream_reader *r);

/* The next record for the consumer: range records of a row stream are
 * taken here (take_range), not handed out. */
static int next_direct(struct stream_reader *r)
{
	int got;
	while ((got = next_one(r)) == 2)
		;
	return got;
}

/* One record: 1, 0 at the end, -1, or 2 for a range record taken. */
static int next_one(struct stream_reader *r)
{
	struct jv *rec = NULL;
	const char *type;
	struct change *c = &r->rec;
	r->undecoded = 0;
	if (r->lazy && r->cur && r->kind == STREAM_ROWS && !r->pending) {
		int got = read_line(r);
		if (got < 0)
			return -1;
		if (got == 0)
			return stream_error(r, "truncated stream: no final end record");
		r->rec_line = r->lineno;
		if (scan_row_key(r, c)) {
			c->table = r->cur;
			c->type = REC_ROW;
			row_resize(&c->old, c->table->ncols);
			if (take_in_order(r, c) < 0) /* which hashes the line */
				return -1;
			r->undecoded = 1;
			return 1;
		}
		if (parse_record(r, &rec, &type) < 0)
			return -1;
	} else if (next_record(r, &rec, &type) < 0) {
		return -1;
	}
	r->rec_line = r->lineno;
	const char *tname = jv_get_string(rec, "table");
	if (!strcmp(type, "end") && !tname)
		return read_final_end(r, rec);
	if (!tname)
		return stream_error(r, "\"%s\" record without a \"table\"", type);
	struct table *t = enter_section(r, tname);
	if (!t)
		return -1;
	c->table = t;

	if (!strcmp(type, "end")) {
		hash_line(r, r->h_all, &r->line);
		if (check_end(r, rec, r->h_table, r->count, t->name) < 0)
			return -1;
		c->type = REC_TABLE_END;
		r->cur = NULL;
		return 1;
	}
	row_resize(&c->row, t->ncols);
	row_resize(&c->old, t->ncols);
	int rc;
	if (!strcmp(type, "range") && r->kind == STREAM_ROWS)
		return take_range(r, t, rec) < 0 ? -1 : 2;
	if (!strcmp(type, "range") && r->kind == STREAM_DIGEST)
		rc = read_digest_range(r, c, rec);
	else if (r->kind == STREAM_DIGEST)
		rc = stream_error(r, "a \"%s\" record in a digest stream", type);
	else if (!strcmp(type, "row") || !strcmp(type, "insert"))
		rc = read_whole_row(r, c, type, rec);
	else if (!strcmp(type, "update") || !strcmp(type, "delete") || !strcmp(type, "conflict"))
		rc = read_keyed_change(r, c, type, rec);
	else
		rc = stream_error(r, "unknown record type \"%s\"", type);
	if (rc < 0 || take_in_order(r, c) < 0)
		return -1;
	return 1;
}

/* ---- reading ahead on a thread ---- */

/* The reading thread runs a stream_reader of its own ("inner": the input,
 * its buffers, hashes and checks) and hands the consumer its records in
 * batches under one lock, since a lock per record would cost about what a
 * record does.  A record, its line and the messages the reading printed
 * move by swapping buffers, never by copying them.  The consumer's reader
 * keeps the header, the schema (shared: the thread only reads it) and a doc
 * of its own for stream_decode. */
enum { AHEAD_BATCHES = 4, AHEAD_RECORDS = 256, AHEAD_BYTES = 1 << 20 };

struct ahead_record {
	struct change rec;
	struct buf line, messages;
	long lineno, rec_line;
	int undecoded, rc;
};

struct ahead_batch {
	struct ahead_record *recs;
	size_t n, bytes;
};

struct stream_ahead {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct stream_reader inner;
	struct ahead_batch batch[AHEAD_BATCHES];
	size_t head, ready;     /* the batches ready for the consumer: from head on */
	size_t bytes_ready;     /* the bytes of their lines */
	int started, stop;      /* stop: the consumer is closing */
	/* the consumer's */
	struct ahead_batch *cur;
	size_t pos;
	int done, last_rc;
};

#define SWAP(type, a, b) do { type swap_tmp = (a); (a) = (b); (b) = swap_tmp; } while (0)

static void *read_ahead_main(void *arg)
{
	struct stream_ahead *a = arg;
	struct stream_reader *r = &a->inner;
	int cancel_state, end = 0;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	while (!end) {
		pthread_mutex_lock(&a->lock);
		/* Bounded in records and in bytes, so that long records (up to
		 * STREAM_MAX_RECORD) are not held more than about three at a time. */
		while ((a->ready == AHEAD_BATCHES || (a->ready && a->bytes_ready >= AHEAD_BYTES)) && !a->stop)
			pthread_cond_wait(&a->changed, &a->lock);
		/* The consumer moves head and ready together: this slot stays free. */
		struct ahead_batch *b = &a->batch[(a->head + a->ready) % AHEAD_BATCHES];
		int stop = a->stop;
		pthread_mutex_unlock(&a->lock);
		if (stop)
			break;
		size_t bytes = 0;
		b->n = 0;
		while (!end && b->n < AHEAD_RECORDS && bytes < AHEAD_BYTES) {
			struct ahead_record *e = &b->recs[b->n++];
			buf_reset(&e->messages);
			util_capture_messages(&e->messages);
			e->rc = next_direct(r);
			util_capture_messages(NULL);
			e->lineno = r->lineno;
			e->rec_line = r->rec_line;
			e->undecoded = r->undecoded;
			SWAP(struct change, e->rec, r->rec);
			SWAP(struct buf, e->line, r->line);
			bytes += e->line.len;
			end = e->rc <= 0;
		}
		b->bytes = bytes;
		pthread_mutex_lock(&a->lock);
		a->ready++;
		a->bytes_ready += bytes;
		pthread_cond_broadcast(&a->changed);
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}

static int next_ahead(struct stream_reader *r)
{
	struct stream_ahead *a = r->ahead;
	if (a->done)
		return a->last_rc;
	if (a->cur && a->pos == a->cur->n) {
		pthread_mutex_lock(&a->lock);
		a->head = (a->head + 1) % AHEAD_BATCHES;
		a->ready--;
		a->bytes_ready -= a->cur->bytes;
		pthread_cond_broadcast(&a->changed);
		pthread_mutex_unlock(&a->lock);
		a->cur = NULL;
	}
	if (!a->cur) {
		pthread_mutex_lock(&a->lock);
		while (!a->ready)
			pthread_cond_wait(&a->changed, &a->lock);
		a->cur = &a->batch[a->head];
		pthread_mutex_unlock(&a->lock);
		a->pos = 0;
	}
	struct ahead_record *e = &a->cur->recs[a->pos++];
	SWAP(struct change, e->rec, r->rec);
	SWAP(struct buf, e->line, r->line);
	r->lineno = e->lineno;
	r->rec_line = e->rec_line;
	r->undecoded = e->undecoded;
	util_print_messages(&e->messages);
	if (e->rc <= 0) {
		a->done = 1;
		a->last_rc = e->rc;
	}
	return e->rc;
}

int stream_read_ahead(struct stream_reader *r)
{
	if (r->take_ranges)
		return error("%s: range records are taken only by a direct read", r->name);
	struct stream_ahead *a = xcalloc(1, sizeof(*a));
	for (size_t i = 0; i < AHEAD_BATCHES; i++) {
		a->batch[i].recs = xcalloc(AHEAD_RECORDS, sizeof(*a->batch[i].recs));
		for (size_t j = 0; j < AHEAD_RECORDS; j++) {
			struct ahead_record *e = &a->batch[i].recs[j];
			change_init(&e->rec);
			buf_init(&e->line);
			buf_init(&e->messages);
		}
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->changed, NULL);
	/* The thread's reader takes over the input and what reading needs; the
	 * name, header fields and schema stay with r and are only lent. */
	a->inner = *r;
	a->inner.in_thread = 1;
	r->gz = NULL;
	r->zd = NULL;
	buf_init(&r->zin);
	buf_init(&r->line);
	buf_init(&r->err);
	buf_init(&r->in);
	json_doc_init(&r->doc);
	change_init(&r->rec);
	row_init(&r->last, 0);
	r->h_table = r->h_all = NULL;
	buf_init(&r->hashes_due);
	buf_init(&r->row_prefix);
	buf_init(&r->key_names);
	r->key_name_off = NULL;
	buf_init(&r->key_text);
	r->ahead = a;
	int err = pthread_create(&a->thread, NULL, read_ahead_main, a);
	a->started = !err;
	if (err) {
		a->done = 1;
		a->last_rc = -1;
		return error("%s: cannot start a thread to read it: %s", r->name, strerror(err));
	}
	return 0;
}

/* Release what reading owns: the thread's reader (stream_read_ahead), and
 * the same part of the reader stream_close closes. */
static void release_inner(struct stream_reader *r)
{
	if (r->gz)
		gzclose(r->gz);
	r->gz = NULL;
	if (r->zd) {
		ZSTD_freeDCtx(r->zd);
		close(r->zfd);
	}
	r->zd = NULL;
	buf_release(&r->zin);
	change_release(&r->rec);
	row_release(&r->last);
	XXH3_freeState(r->h_table);
	XXH3_freeState(r->h_all);
	r->h_table = r->h_all = NULL;
	buf_release(&r->hashes_due);
	buf_release(&r->line);
	buf_release(&r->err);
	buf_release(&r->in);
	json_doc_release(&r->doc);
	buf_release(&r->row_prefix);
	buf_release(&r->key_names);
	free(r->key_name_off);
	r->key_name_off = NULL;
	buf_release(&r->key_text);
}

static void stop_ahead(struct stream_ahead *a)
{
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->lock);
	if (a->started) {
		pthread_cancel(a->thread); /* acted on only while it waits for input */
		pthread_join(a->thread, NULL);
	}
	release_inner(&a->inner);
	for (size_t i = 0; i < AHEAD_BATCHES; i++) {
		for (size_t j = 0; j < AHEAD_RECORDS; j++) {
			change_release(&a->batch[i].recs[j].rec);
			buf_release(&a->batch[i].recs[j].line);
			buf_release(&a->batch[i].recs[j].messages);
		}
		free(a->batch[i].recs);
	}
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->changed);
	free(a);
}

int stream_next(struct stream_reader *r)
{
	return r->ahead ? next_ahead(r) : next_direct(r);
}

int stream_decode(struct stream_reader *r)
{
	struct jv *rec;
	const char *type;
	struct change *c = &r->rec;
	if (!r->undecoded)
		return 0;
	r->undecoded = 0;
	/* The line began with the row prefix of the current table, and the
	 * parser refuses a key given twice: "type" is "row", "table" is cur. */
	if (parse_record(r, &rec, &type) < 0)
		return -1;
	row_resize(&c->row, c->table->ncols);
	return read_whole_row(r, c, type, rec);
}

void stream_close(struct stream_reader *r)
{
	if (r->ahead)
		stop_ahead(r->ahead);
	r->ahead = NULL;
	free(r->name);
	free(r->source);
	free(r->engine);
	free(r->at);
	free(r->purpose);
	free(r->mark);
	free(r->since);
	free(r->digest_hash);
	r->name = r->source = r->engine = r->at = r->purpose = r->mark = r->since = r->digest_hash = NULL;
	schema_release(&r->schema);
	for (size_t i = 0; i < r->nschema; i++)
		table_free(r->schema_records[i].t);
	free(r->schema_records);
	r->schema_records = NULL;
	r->nschema = 0;
	for (size_t i = 0; i < r->ranges_alloc; i++) {
		row_release(&r->ranges[i].after);
		row_release(&r->ranges[i].last);
	}
	free(r->ranges);
	r->ranges = NULL;
	r->nranges = r->range_head = r->ranges_alloc = 0;
	row_release(&r->range_last);
	row_release(&r->prev_row);
	release_inner(r);
}

/* ---- writer ---- */

static void writer_init(struct stream_writer *w)
{
	memset(w, 0, sizeof(*w));
	buf_init(&w->out);
	buf_init(&w->err);
	buf_init(&w->keys);
	buf_init(&w->row_prefix);
	w->h_table = XXH3_createState();
	w->h_all = XXH3_createState();
	XXH3_64bits_reset(w->h_table); /* a state never reset must not be updated */
}

int stream_create(struct stream_writer *w, const char *path)
{
	writer_init(w);
	XXH3_64bits_reset(w->h_all);
	if (!path || !strcmp(path, "-")) {
		w->name = xstrdup("<stdout>");
		w->f = stdout;
		pipe_widen(1);
		return 0;
	}
	w->name = xstrdup(path);
	if (ends_with(path, ".gz")) {
		w->gz = gzopen(path, "wb6");
		if (!w->gz)
			return error("%s: %s", path, strerror(errno));
		return 0;
	}
	w->f = fopen(path, "w");
	if (!w->f)
		return error("%s: %s", path, strerror(errno));
	if (ends_with(path, ".zst") && !(w->zc = ZSTD_createCCtx()))
		return error("%s: cannot start zstd", path);
	return 0;
}

void stream_create_formatter(struct stream_writer *w)
{
	writer_init(w);
	w->name = xstrdup("<row record>");
}

/* A write of w's output failed (err is its errno, or 0): said once, and not
 * at all when the reader went away (EPIPE: `dbdump-rows db | head`, util.h).
 * What was not written is dropped, never tried again. */
static int write_failed(struct stream_writer *w, int err, const char *why)
{
	buf_reset(&w->out);
	w->hashed = 0;
	if (w->failed)
		return -1;
	w->failed = 1;
	if (err == EPIPE)
		return reader_gone();
	return error("%s: write error: %s", w->name, why);
}

/* Write n bytes at p to a writer's output: gz, or f through zc if set (end:
 * and end zc's frame), or f.  0, or -1 with *err (errno, or 0) and *why. */
static int sink_write(gzFile gz, ZSTD_CCtx *zc, FILE *f, const char *p, size_t n, int end, int *err,
		      const char **why)
{
	*err = 0;
	if (gz) {
		int zerr;
		if (!n || gzwrite(gz, p, (unsigned)n) == (int)n)
			return 0;
		*err = errno;
		*why = gzerror(gz, &zerr);
		if (zerr != Z_ERRNO)
			*err = 0;
		return -1;
	}
	if (zc) {
		char out[64 * 1024];
		ZSTD_inBuffer in = { p, n, 0 };
		for (;;) {
			ZSTD_outBuffer o = { out, sizeof(out), 0 };
			size_t left = ZSTD_compressStream2(zc, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left)) {
				*why = ZSTD_getErrorName(left);
				return -1;
			}
			if (o.pos && fwrite(out, 1, o.pos, f) != o.pos)
				break;
			if (end ? !left : in.pos == in.size)
				return 0;
		}
	} else if (fwrite(p, 1, n, f) == n) {
		return 0;
	}
	*err = errno;
	*why = strerror(errno);
	return -1;
}

/* stream_fast's thread: it compresses what flush_out hands it, one chunk
 * while the next is made, so that the sync base's compression (with gzip,
 * a third of a whole sync's instructions) runs on another core.  The writer
 * never touches its output while the thread runs; close_writer joins it
 * first. */
struct stream_deflater {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	gzFile gz;              /* the writer's output, as sink_write takes it */
	ZSTD_CCtx *zc;
	FILE *f;
	struct buf pending;     /* handed over, not yet taken */
	int stop;
	int failed, err;        /* a write failed: errno (0: not a system error) and why */
	char *why;
};

static void *deflate_main(void *arg)
{
	struct stream_deflater *d = arg;
	struct buf work = BUF_INIT;
	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (!d->pending.len && !d->stop)
			pthread_cond_wait(&d->changed, &d->lock);
		if (!d->pending.len)
			break;
		SWAP(struct buf, work, d->pending);
		pthread_cond_broadcast(&d->changed);
		int failed = d->failed;
		pthread_mutex_unlock(&d->lock);
		int err = 0;
		const char *why = NULL;
		if (!failed)
			sink_write(d->gz, d->zc, d->f, work.buf, work.len, 0, &err, &why);
		buf_reset(&work);
		pthread_mutex_lock(&d->lock);
		if (why && !d->failed) {
			d->failed = 1;
			d->err = err;
			d->why = xstrdup(why);
		}
	}
	pthread_mutex_unlock(&d->lock);
	buf_release(&work);
	return NULL;
}

void stream_fast(struct stream_writer *w)
{
	if (w->gz)
		gzsetparams(w->gz, 1, Z_DEFAULT_STRATEGY);
	else if (w->zc)
		ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, -1);
	else
		return;
	struct stream_deflater *d = xcalloc(1, sizeof(*d));
	d->gz = w->gz;
	d->zc = w->zc;
	d->f = w->f;
	buf_init(&d->pending);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->changed, NULL);
	if (pthread_create(&d->thread, NULL, deflate_main, d)) {
		/* no thread: compressed in line, as any other writer */
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->changed);
		buf_release(&d->pending);
		free(d);
		return;
	}
	w->deflater = d;
}

/* Hand w's output to its deflater, once the chunk before is taken. */
static int hand_over(struct stream_writer *w)
{
	struct stream_deflater *d = w->deflater;
	pthread_mutex_lock(&d->lock);
	while (d->pending.len && !d->failed)
		pthread_cond_wait(&d->changed, &d->lock);
	int failed = d->failed;
	if (!failed) {
		SWAP(struct buf, w->out, d->pending);
		pthread_cond_broadcast(&d->changed);
	}
	pthread_mutex_unlock(&d->lock);
	/* (err and why are set once, before failed) */
	if (failed)
		return write_failed(w, d->err, d->why);
	buf_reset(&w->out);
	return 0;
}

/* Let w's deflater finish what it was handed, and end it: 0, or -1 if a
 * write failed (said as write_failed says it). */
static int end_deflater(struct stream_writer *w)
{
	struct stream_deflater *d = w->deflater;
	if (!d)
		return 0;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	int ret = d->failed ? write_failed(w, d->err, d->why) : 0;
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->changed);
	buf_release(&d->pending);
	free(d->why);
	free(d);
	w->deflater = NULL;
	return ret;
}

/* The data lines of w->out not hashed yet, into both hashes: in one update
 * each per chunk of output, not two per line, whose cost of their own was
 * 6% of a whole SQLite sync's main thread (XXH3 gives the same hash of
 * the same bytes however they are cut). */
static void hash_data_lines(struct stream_writer *w)
{
	const char *p = w->out.buf + w->hashed;
	size_t n = w->out.len - w->hashed;
	if (n) {
		XXH3_64bits_update(w->h_table, p, n);
		XXH3_64bits_update(w->h_all, p, n);
	}
	w->hashed = w->out.len;
}

static int flush_out(struct stream_writer *w)
{
	if (w->failed)
		return write_failed(w, 0, "");
	if (!w->out.len)
		return 0;
	hash_data_lines(w);
	w->hashed = 0; /* of the next chunk */
	if (w->deflater)
		return hand_over(w);
	int err;
	const char *why;
	if (sink_write(w->gz, w->zc, w->f, w->out.buf, w->out.len, 0, &err, &why) < 0)
		return write_failed(w, err, why);
	buf_reset(&w->out);
	return 0;
}

/* Finish the line that starts at `start` in w->out: newline, hashes, flush. */
static int end_line(struct stream_writer *w, size_t start, int data)
{
	/* A line no reader would take is not written: the stream stays short of
	 * its end record, so it is refused whole rather than at that line. */
	if (w->out.len - start > STREAM_MAX_RECORD) {
		size_t len = w->out.len - start;
		buf_reset(&w->out);
		w->hashed = 0;
		if (w->failed)
			return -1;
		w->failed = 1;
		if (w->cur)
			return error("%s: table \"%s\": a record of %zu bytes, longer than the %zu a "
				     "stream may hold (see dbpipe(5))", w->name, w->cur->name, len,
				     STREAM_MAX_RECORD);
		return error("%s: a record of %zu bytes, longer than the %zu a stream may hold",
			     w->name, len, STREAM_MAX_RECORD);
	}
	buf_addch(&w->out, '\n');
	w->bytes += w->out.len - start;
	if (!data) { /* in h_all only, after the data lines before it */
		size_t end = w->out.len;
		w->out.len = start;
		hash_data_lines(w);
		w->out.len = end;
		XXH3_64bits_update(w->h_all, w->out.buf + start, end - start);
		w->hashed = end;
	}
	return w->out.len >= WRITE_CHUNK ? flush_out(w) : 0;
}

int stream_write_header(struct stream_writer *w, enum stream_kind kind,
			const char *source, const char *engine)
{
	char at[32];
	time_t now = time(NULL);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	w->kind = kind;
	buf_addf(&w->out, "{\"type\":\"header\",\"stream\":\"%s\",\"version\":1,\"source\":",
		 kind == STREAM_ROWS ? "rows" : kind == STREAM_CHANGES ? "changes" : "digest");
	json_add_string(&w->out, source, strlen(source));
	buf_adds(&w->out, ",\"engine\":");
	json_add_string(&w->out, engine, strlen(engine));
	buf_addf(&w->out, ",\"at\":\"%s\"", at);
	if (w->purpose)
		buf_addf(&w->out, ",\"purpose\":\"%s\"", w->purpose);
	if (w->mark) {
		buf_adds(&w->out, ",\"mark\":");
		json_add_string(&w->out, w->mark, strlen(w->mark));
	}
	if (w->since) {
		buf_adds(&w->out, ",\"since\":");
		json_add_string(&w->out, w->since, strlen(w->since));
	}
	if (w->all_tables)
		buf_adds(&w->out, ",\"all_tables\":true");
	if (w->masked) {
		buf_adds(&w->out, ",\"masked\":");
		json_add_string(&w->out, w->masked, strlen(w->masked));
	}
	if (w->hash_name)
		buf_addf(&w->out, ",\"hash\":\"%s\"", w->hash_name);
	if (w->range_rows)
		buf_addf(&w->out, ",\"range_rows\":%" PRIu64, w->range_rows);
	if (w->digest_cells)
		buf_addf(&w->out, ",\"cells\":%" PRIu64, w->digest_cells);
	buf_adds(&w->out, "}\n");
	w->hashed = w->out.len; /* the header is not hashed: two dumps of the same data hash alike */
	return 0;
}

int stream_write_schema(struct stream_writer *w, const struct schema_change *c)
{
	size_t start = w->out.len;
	schema_change_to_json(&w->out, c);
	return end_line(w, start, 0);
}

int stream_write_table(struct stream_writer *w, const struct table *t)
{
	size_t start = w->out.len;
	table_to_json(&w->out, t, (w->kind == STREAM_ROWS && t->complete ? TABLE_COMPLETE : 0) |
				  (w->kind == STREAM_ROWS && w->ranges && t->ranged ? TABLE_RANGED : 0));
	w->ntables++;
	return end_line(w, start, 0);
}

static void add_table_field(struct buf *out, const char *type, const struct table *t)
{
	buf_addf(out, "{\"type\":\"%s\",\"table\":", type);
	json_add_string(out, t->name, strlen(t->name));
}

void stream_begin_table(struct stream_writer *w, const struct table *t)
{
	w->cur = t;
	w->count = 0;
	hash_data_lines(w); /* the table before's, if any were left */
	XXH3_64bits_reset(w->h_table);
	/* Each column's "name": once per table, not once per value. */
	buf_reset(&w->keys);
	w->key_off = xrealloc(w->key_off, (t->ncols + 1) * sizeof(*w->key_off));
	for (size_t i = 0; i < t->ncols; i++) {
		w->key_off[i] = w->keys.len;
		json_add_key(&w->keys, t->cols[i].name);
	}
	w->key_off[t->ncols] = w->keys.len;
	/* and what every row record starts with: once, not formatted per row */
	buf_reset(&w->row_prefix);
	add_table_field(&w->row_prefix, "row", t);
	buf_adds(&w->row_prefix, ",\"row\":");
}

enum which_columns { ALL_COLUMNS, KEY_COLUMNS, NON_KEY_COLUMNS };

/* Append {"col":value,...} for the columns of r that are present and
 * chosen: 0, or -1 with *bad the column whose value no stream can hold (the
 * reason in w->err; nothing said). */
static int add_object_to(struct stream_writer *w, struct buf *out, const struct table *t,
			 const struct row *r, enum which_columns which, size_t *bad)
{
	int first = 1;
	buf_addch(out, '{');
	for (size_t i = 0; i < t->ncols; i++) {
		if (r->v[i].state == V_ABSENT)
			continue;
		if (which != ALL_COLUMNS && table_is_key(t, i) != (which == KEY_COLUMNS))
			continue;
		if (!first)
			buf_addch(out, ',');
		first = 0;
		buf_add(out, w->keys.buf + w->key_off[i], w->key_off[i + 1] - w->key_off[i]);
		if (value_to_json(out, r, i, t->cols[i].type, &w->err) < 0) {
			*bad = i;
			return -1;
		}
	}
	buf_addch(out, '}');
	return 0;
}

/* The same into w's output, a value it cannot hold said by name. */
static int add_object(struct stream_writer *w, const struct table *t, const struct row *r,
		      enum which_columns which)
{
	size_t bad;
	if (add_object_to(w, &w->out, t, r, which, &bad) < 0)
		return error("%s: table \"%s\", column \"%s\": %s", w->name, t->name, t->cols[bad].name,
			     w->err.buf);
	return 0;
}

/* The row record of row, as stream_write_row spells it, appended to out
 * (-1 as add_object_to). */
static int add_row_record(struct stream_writer *w, struct buf *out, const struct row *row, size_t *bad)
{
	buf_add(out, w->row_prefix.buf, w->row_prefix.len);
	if (add_object_to(w, out, w->cur, row, ALL_COLUMNS, bad) < 0)
		return -1;
	buf_addch(out, '}');
	return 0;
}

static int row_value_error(struct stream_writer *w, size_t bad)
{
	return error("%s: table \"%s\", column \"%s\": %s", w->name, w->cur->name, w->cur->cols[bad].name,
		     w->err.buf);
}

int stream_write_row(struct stream_writer *w, const struct row *row)
{
	size_t start = w->out.len, bad;
	if (add_row_record(w, &w->out, row, &bad) < 0)
		return row_value_error(w, bad);
	w->count++;
	w->total++;
	return end_line(w, start, 1);
}

int stream_row_bytes(struct stream_writer *w, const struct row *row, struct buf *out)
{
	size_t bad;
	buf_reset(out);
	return add_row_record(w, out, row, &bad);
}

int stream_format_row(struct stream_writer *w, const struct row *row, struct buf *out)
{
	size_t bad;
	buf_reset(out);
	return add_row_record(w, out, row, &bad) < 0 ? row_value_error(w, bad) : 0;
}

int stream_write_row_record(struct stream_writer *w, const char *record, size_t n)
{
	size_t start = w->out.len;
	buf_add(&w->out, record, n);
	w->count++;
	w->total++;
	return end_line(w, start, 1);
}

int stream_write_range(struct stream_writer *w, const struct row *after, const struct row *last,
		       uint64_t rows, const char *hash, const char *cells)
{
	size_t start = w->out.len;
	add_table_field(&w->out, "range", w->cur);
	if (w->kind == STREAM_DIGEST) {
		buf_adds(&w->out, ",\"last\":");
		if (add_object(w, w->cur, last, KEY_COLUMNS) < 0)
			return -1;
		buf_addf(&w->out, ",\"rows\":%" PRIu64 ",\"hash\":\"%s\"", rows, hash);
		if (cells)
			buf_addf(&w->out, ",\"cells\":\"%s\"", cells);
		buf_addch(&w->out, '}');
		w->count++;
		w->total++;
		return end_line(w, start, 1);
	}
	buf_adds(&w->out, ",\"after\":");
	if (!after)
		buf_adds(&w->out, "null");
	else if (add_object(w, w->cur, after, KEY_COLUMNS) < 0)
		return -1;
	buf_adds(&w->out, ",\"last\":");
	if (!last)
		buf_adds(&w->out, "null");
	else if (add_object(w, w->cur, last, KEY_COLUMNS) < 0)
		return -1;
	buf_addch(&w->out, '}');
	return end_line(w, start, 1);
}

int stream_write_range_key(struct stream_writer *w, const struct row *key)
{
	size_t start = w->out.len;
	add_table_field(&w->out, "range", w->cur);
	buf_adds(&w->out, ",\"key\":");
	if (add_object(w, w->cur, key, KEY_COLUMNS) < 0)
		return -1;
	buf_addch(&w->out, '}');
	return end_line(w, start, 1);
}

int stream_write_change(struct stream_writer *w, const struct change *c)
{
	const struct table *t = w->cur;
	size_t start = w->out.len;
	switch (c->type) {
	case REC_INSERT:
	case REC_ROW:
		add_table_field(&w->out, "insert", t);
		buf_adds(&w->out, ",\"row\":");
		if (add_object(w, t, &c->row, ALL_COLUMNS) < 0)
			return -1;
		break;
	case REC_UPDATE:
		add_table_field(&w->out, "update", t);
		buf_adds(&w->out, ",\"key\":");
		if (add_object(w, t, &c->row, KEY_COLUMNS) < 0)
			return -1;
		buf_adds(&w->out, ",\"set\":");
		if (add_object(w, t, &c->row, NON_KEY_COLUMNS) < 0)
			return -1;
		buf_adds(&w->out, ",\"old\":");
		if (add_object(w, t, &c->old, NON_KEY_COLUMNS) < 0)
			return -1;
		break;
	case REC_DELETE:
		add_table_field(&w->out, "delete", t);
		buf_adds(&w->out, ",\"key\":");
		if (add_object(w, t, &c->row, KEY_COLUMNS) < 0)
			return -1;
		buf_adds(&w->out, ",\"old\":");
		if (add_object(w, t, &c->old, ALL_COLUMNS) < 0)
			return -1;
		break;
	default:
		return error("internal error: not a change");
	}
	buf_addch(&w->out, '}');
	w->count++;
	w->total++;
	return end_line(w, start, 1);
}

int stream_write_conflict(struct stream_writer *w, const struct change *c)
{
	const struct table *t = w->cur;
	size_t start = w->out.len;
	if (c->type != REC_CONFLICT)
		return error("internal error: not a conflict");
	add_table_field(&w->out, "conflict", t);
	buf_adds(&w->out, ",\"key\":");
	if (add_object(w, t, &c->row, KEY_COLUMNS) < 0)
		return -1;
	buf_addf(&w->out, ",\"kind\":\"%s\"", kind_names[c->kind]);
	for (int s = 0; s < 3; s++) {
		buf_addf(&w->out, ",\"%s\":", side_names[s]);
		if (!conflict_has_side(c->kind, (enum conflict_side)s))
			buf_adds(&w->out, "null");
		else if (add_object(w, t, &c->side[s], ALL_COLUMNS) < 0)
			return -1;
	}
	buf_addch(&w->out, '}');
	w->count++;
	w->total++;
	return end_line(w, start, 1);
}

int stream_end_table(struct stream_writer *w)
{
	char h[17];
	hash_data_lines(w);
	hex64(h, XXH3_64bits_digest(w->h_table));
	size_t start = w->out.len;
	add_table_field(&w->out, "end", w->cur);
	buf_addf(&w->out, ",\"rows\":%" PRIu64 ",\"hash\":\"%s\"}", w->count, h);
	w->cur = NULL;
	return end_line(w, start, 0);
}

static int close_writer(struct stream_writer *w)
{
	int ret = end_deflater(w);
	if (w->gz) {
		int zret = gzclose(w->gz);
		if (zret == Z_ERRNO && errno == EPIPE)
			ret = write_failed(w, EPIPE, "");
		else if (zret != Z_OK)
			ret = w->failed ? -1 : error("%s: error closing the gzip stream", w->name);
	} else if (w->f) {
		int err;
		const char *why;
		if (w->zc && !w->failed && sink_write(NULL, w->zc, w->f, "", 0, 1, &err, &why) < 0)
			ret = write_failed(w, err, why);
		if (fflush(w->f) || ferror(w->f))
			ret = write_failed(w, errno, strerror(errno));
		if (w->f != stdout && fclose(w->f) && !w->failed)
			ret = error("%s: %s", w->name, strerror(errno));
	}
	ZSTD_freeCCtx(w->zc);
	w->zc = NULL;
	w->gz = NULL;
	w->f = NULL;
	free(w->name);
	w->name = NULL;
	buf_release(&w->out);
	buf_release(&w->err);
	buf_release(&w->keys);
	buf_release(&w->row_prefix);
	free(w->key_off);
	w->key_off = NULL;
	XXH3_freeState(w->h_table);
	XXH3_freeState(w->h_all);
	w->h_table = w->h_all = NULL;
	return ret;
}

int stream_finish(struct stream_writer *w)
{
	char h[17];
	hash_data_lines(w);
	hex64(h, XXH3_64bits_digest(w->h_all));
	buf_addf(&w->out, "{\"type\":\"end\",\"rows\":%" PRIu64 ",\"tables\":%zu,\"hash\":\"%s\"}\n",
		 w->total, w->ntables, h);
	int ret = flush_out(w);
	if (close_writer(w) < 0)
		ret = -1;
	return ret;
}

void stream_abandon(struct stream_writer *w)
{
	flush_out(w);
	close_writer(w);
}
