/* csv/file: reading a CSV file through libcsv, and writing its fields. */
#include "file.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reader {
	const char *path;
	const struct csv_sink *sink;
	struct buf *err;
	struct buf text;            /* the current record's fields, each NUL-terminated */
	struct slot { size_t off, len; int null; } *slots;
	size_t nslots, slots_alloc;
	struct csv_field *fields;
	size_t fields_alloc;
	size_t ncols;               /* from the header; 0 before it */
	long line, start;           /* the line read last; the one the record began on */
	int failed;
};

static int fail(struct reader *r, long line, const char *fmt, ...) PRINTF_LIKE(3, 4);
static int fail(struct reader *r, long line, const char *fmt, ...)
{
	va_list ap;
	buf_reset(r->err);
	buf_addf(r->err, "%s:%ld: ", r->path, line);
	va_start(ap, fmt);
	buf_vaddf(r->err, fmt, ap);
	va_end(ap);
	r->failed = 1;
	return -1;
}

static void on_field(void *p, size_t len, void *ctx)
{
	struct reader *r = ctx;
	if (r->failed)
		return;
	ALLOC_GROW(r->slots, r->nslots + 1, r->slots_alloc);
	struct slot *s = &r->slots[r->nslots++];
	s->null = p == NULL;
	s->off = r->text.len;
	s->len = len;
	if (p)
		buf_add(&r->text, p, len);
	buf_addch(&r->text, '\0');
}

/* Prefix the sink's reason with file:line. */
static void sink_failed(struct reader *r, long line)
{
	struct buf why = BUF_INIT;
	buf_add(&why, r->err->buf, r->err->len);
	fail(r, line, "%s", why.buf);
	buf_release(&why);
}

static int check_header(struct reader *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!r->fields[i].p || !r->fields[i].len)
			return fail(r, r->start, "column %zu of the header has no name", i + 1);
		for (size_t j = 0; j < i; j++)
			if (r->fields[j].len == r->fields[i].len &&
			    !memcmp(r->fields[j].p, r->fields[i].p, r->fields[i].len))
				return fail(r, r->start, "column \"%s\" is named twice in the header",
					    r->fields[i].p);
	}
	return 0;
}

static void on_record(int term, void *ctx)
{
	struct reader *r = ctx;
	(void)term;
	if (r->failed)
		return;
	size_t n = r->nslots;
	ALLOC_GROW(r->fields, n + 1, r->fields_alloc);
	for (size_t i = 0; i < n; i++) {
		r->fields[i].p = r->slots[i].null ? NULL : r->text.buf + r->slots[i].off;
		r->fields[i].len = r->slots[i].len;
	}
	if (!r->ncols) {
		/* A byte order mark, as spreadsheets write one, is not part of the name. */
		if (n && r->fields[0].p && r->fields[0].len >= 3 && !memcmp(r->fields[0].p, "\xef\xbb\xbf", 3)) {
			r->fields[0].p += 3;
			r->fields[0].len -= 3;
		}
		if (check_header(r, n) == 0) {
			if (r->sink->header(r->sink->ctx, r->fields, n, r->err) < 0)
				sink_failed(r, r->start);
			r->ncols = n;
		}
	} else if (n != r->ncols) {
		fail(r, r->start, "%zu field%s, but the header has %zu", n, n == 1 ? "" : "s", r->ncols);
	} else if (r->sink->record(r->sink->ctx, r->fields, n, r->start, r->err) < 0) {
		sink_failed(r, r->start);
	}
	r->nslots = 0;
	buf_reset(&r->text);
}

static int no_space(unsigned char c)
{
	(void)c;
	return 0; /* spaces around a value are part of it */
}

int csv_read_file(const char *path, const struct csv_sink *sink, struct buf *err)
{
	struct reader r = { .path = path, .sink = sink, .err = err };
	struct csv_parser p;
	FILE *f = fopen(path, "rb");
	if (!f) {
		buf_reset(err);
		buf_addf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_EMPTY_IS_NULL | CSV_APPEND_NULL) != 0) {
		fclose(f);
		buf_reset(err);
		buf_addf(err, "%s: cannot start the CSV parser", path);
		return -1;
	}
	csv_set_space_func(&p, no_space);
	buf_init(&r.text);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	/* One line at a time, so that each record knows the line it began on:
	 * a record begins on the first line fed while the parser is between
	 * records (pstate 0, libcsv's ROW_NOT_BEGUN). */
	while (!r.failed && (n = getline(&line, &cap, f)) > 0) {
		r.line++;
		if (p.pstate == 0)
			r.start = r.line;
		if (csv_parse(&p, line, (size_t)n, on_field, on_record, &r) != (size_t)n && !r.failed)
			fail(&r, r.line, "a quote inside an unquoted value, or text after a closing quote");
	}
	if (!r.failed && ferror(f))
		fail(&r, r.line, "%s", strerror(errno));
	if (!r.failed && csv_fini(&p, on_field, on_record, &r) != 0 && !r.failed)
		fail(&r, r.start, "a quoted value is not closed before the end of the file");
	if (!r.failed && !r.ncols) {
		buf_reset(err);
		buf_addf(err, "%s: no header row (a CSV file starts with the column names)", path);
		r.failed = 1;
	}
	free(line);
	fclose(f);
	csv_free(&p);
	buf_release(&r.text);
	free(r.slots);
	free(r.fields);
	return r.failed ? -1 : 0;
}

void csv_add_field(struct buf *out, const char *p, size_t len)
{
	if (!p)
		return;
	int quote = len == 0 || p[0] == ' ' || p[0] == '\t' || p[len - 1] == ' ' || p[len - 1] == '\t' ||
		    memchr(p, ',', len) || memchr(p, '"', len) || memchr(p, '\n', len) || memchr(p, '\r', len);
	if (!quote) {
		buf_add(out, p, len);
		return;
	}
	size_t need = csv_write(NULL, 0, p, len);
	buf_grow(out, need);
	csv_write(out->buf + out->len, need, p, len);
	out->len += need;
	out->buf[out->len] = '\0';
}
