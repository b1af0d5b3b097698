/* dbdiff: the change stream that turns OLD into NEW (rows compared by key). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "diff.h"
#include "source.h"
#include "stream.h"
#include "summary.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbdiff [--schema] [--stat] [-o FILE] OLD NEW\n"
	"Write the change stream (insert, update, delete records with old values)\n"
	"that turns OLD into NEW.  OLD and NEW are row streams (files, gzip or not,\n"
	"or - for stdin) or databases (sqlite:PATH, .db files, URLs, csv:DIR,\n"
	"environment names), compared table by table in key order in constant\n"
	"memory.\n"
	"\n"
	"  --schema          compare the schemas only: schema records (tables, columns,\n"
	"                    keys, indexes, foreign keys that differ), no rows\n"
	"  --stat            print created/updated/deleted per table to stderr\n"
	"                    (with --schema: each schema difference)\n"
	"  -o, --output FILE write the change stream to FILE (gzip if .gz)\n"
	"  -h, --help        show this help\n"
	"\n"
	"Exit status: 0 no differences, 1 differences, 2 trouble.  See dbdiff(1).\n";

static int emit_change(void *ctx, const struct change *c)
{
	return stream_write_change(ctx, c);
}

/* dbdiff --schema: the schema records that turn OLD's schema into NEW's.
 * *n counts them; with stat each is described on stderr. */
static int run_schema(struct source *old, struct source *new_, const char *out_path, int stat, size_t *n)
{
	struct stream_writer w;
	struct schema_diff d;
	struct buf line = BUF_INIT;
	schema_diff_compute(old->schema, new_->schema, !strcmp(old->engine, new_->engine), &d);
	*n = d.n;
	if (stream_create(&w, out_path) < 0) {
		schema_diff_release(&d);
		return -1;
	}
	stream_write_header(&w, STREAM_CHANGES, new_->origin, new_->engine);
	for (size_t i = 0; i < d.n; i++) {
		if (stat) {
			buf_reset(&line);
			schema_change_describe(&line, &d.v[i], "OLD", "NEW");
			fprintf(stderr, "%s\n", line.buf);
		}
		if (stream_write_schema(&w, &d.v[i]) < 0)
			goto fail;
	}
	if (stat)
		fprintf(stderr, d.n ? "%zu schema difference%s\n" : "no schema differences\n", d.n, d.n == 1 ? "" : "s");
	/* A truncated input is refused here too. */
	if (source_finish(old) < 0 || source_finish(new_) < 0)
		goto fail;
	schema_diff_release(&d);
	buf_release(&line);
	return stream_finish(&w);
fail:
	schema_diff_release(&d);
	buf_release(&line);
	stream_abandon(&w);
	return -1;
}

/* OLD's rows of a table that NEW types otherwise (another engine: Django's
 * char(32) UUID in SQLite, PostgreSQL's uuid), each value in the form NEW's
 * column keeps (convert.h), so that one value compares equal on both
 * sides.  A value NEW's column could not hold stays as it is: it differs. */
struct in_new_form {
	struct row_iter in;
	const struct table *from, *to;
	struct row row;
	struct buf err;
};

static int in_new_form_next(void *ctx, const struct row **out)
{
	struct in_new_form *c = ctx;
	const struct row *r;
	int got = c->in.next(c->in.ctx, &r);
	if (got <= 0)
		return got;
	row_copy(&c->row, r);
	struct convert_opts co = { 0, 0 };
	for (size_t i = 0; i < c->row.n && i < c->to->ncols; i++)
		(void)convert_value(&c->row, i, &c->from->cols[i], &c->to->cols[i], &co, &c->err);
	*out = &c->row;
	return 1;
}

/* Whether OLD's table o, of another engine, differs from NEW's t in its
 * column types only, each of which converts: the same columns in the same
 * order, the same key.  On one engine another type is a schema change. */
static int types_differ_only(const struct source *old, const struct source *new_, const struct table *t,
			     const struct table *o)
{
	if (!old->engine || !new_->engine || !strcmp(old->engine, new_->engine))
		return 0;
	struct buf err = BUF_INIT;
	int ok = o->ncols == t->ncols && !table_shape_equal(t, o) && schema_check_compatible(o, t, &err) == 0;
	for (size_t i = 0; ok && i < t->ncols; i++)
		ok = !strcmp(t->cols[i].name, o->cols[i].name);
	buf_release(&err);
	return ok;
}

static int run(struct source *old, struct source *new_, const char *out_path, struct summary *sum,
	       size_t *only_in_old)
{
	struct stream_writer w;
	struct row_iter oi, ni, none = no_rows(old->name);
	struct in_new_form conv = { .err = BUF_INIT };
	int converts = 0;

	/* The change stream cannot drop a table: say so, and count it as a difference. */
	for (size_t i = 0; i < old->schema->n; i++)
		if (!schema_find(new_->schema, old->schema->tables[i]->name)) {
			warning("table \"%s\" is only in OLD: not compared", old->schema->tables[i]->name);
			(*only_in_old)++;
		}
	/* Tables may come in another order in OLD (another dependency order):
	 * the ones passed over wait in temporary files. */
	old->spool_passed = 1;
	new_->spool_passed = 1;
	for (size_t i = 0; i < new_->schema->n; i++) {
		const struct table *t = new_->schema->tables[i];
		const struct table *o = schema_find(old->schema, t->name);
		if (o && types_differ_only(old, new_, t, o))
			converts = 1;
		else if (o && table_same_shape(t, o, old->name) < 0)
			return -1;
	}
	/* Two streams: a row whose record has the same bytes on both sides is
	 * the same row, read no further than its key (diff.h); not where
	 * OLD's values take NEW's form, since their bytes differ. */
	old->lazy = new_->lazy = old->is_stream && new_->is_stream && !converts;
	/* Two databases, or a database and a stream: each database's rows are
	 * read on a thread of their own (nothing else uses its connection). */
	old->read_ahead = new_->read_ahead = 1;
	oi = source_rows(old);
	ni = source_rows(new_);
	conv.in = oi;
	row_init(&conv.row, 0);
	if (stream_create(&w, out_path) < 0)
		return -1;
	stream_write_header(&w, STREAM_CHANGES, new_->origin, new_->engine);
	for (size_t i = 0; i < new_->schema->n; i++)
		if (stream_write_table(&w, new_->schema->tables[i]) < 0)
			goto fail;
	for (size_t i = 0; i < new_->schema->n; i++) {
		const struct table *t = new_->schema->tables[i];
		const struct table *o = schema_find(old->schema, t->name);
		if ((o && source_begin_table(old, o) < 0) || source_begin_table(new_, t) < 0)
			goto fail;
		stream_begin_table(&w, t);
		/* A table NEW holds only in part (dbdump-rows --since) says nothing
		 * of the rows it lacks: they are kept, not deleted. */
		struct diff_policy pol = { 1, 1, t->complete };
		struct row_iter in_form = { in_new_form_next, &conv, old->name };
		conv.from = o;
		conv.to = t;
		row_resize(&conv.row, t->ncols);
		struct row_iter *from = !o ? &none : types_differ_only(old, new_, t, o) ? &in_form : &oi;
		if (diff_table(t, from, &ni, &pol, emit_change, &w,
			       summary_table(sum, t->name)) < 0 || stream_end_table(&w) < 0)
			goto fail;
	}
	/* Both inputs must end properly before the output may: a truncated input
	 * gives a truncated output, which every consumer refuses. */
	if (source_finish(old) < 0 || source_finish(new_) < 0)
		goto fail;
	row_release(&conv.row);
	buf_release(&conv.err);
	return stream_finish(&w);
fail:
	row_release(&conv.row);
	buf_release(&conv.err);
	stream_abandon(&w);
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stat", no_argument, NULL, 's' },
		{ "schema", no_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct source old, new_;
	struct summary sum = { 0 };
	const char *out_path = NULL;
	size_t only_in_old = 0;
	int c, stat = 0, schema_only = 0, rc = EXIT_TROUBLE;

	util_progname = "dbdiff";
	argv[0] = (char *)util_progname; /* getopt's messages start with it */
	sigpipe_defer(); /* a reader that goes away ends us quietly, after cleanup */
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': stat = 1; break;
		case 'S': schema_only = 1; break;
		case 'o': out_path = optarg; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: usage_error(NULL); /* getopt has named the option */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage_error(argc < 2 ? "missing OLD or NEW" : "too many operands");
	if (!strcmp(argv[0], "-") && !strcmp(argv[1], "-"))
		usage_error("OLD and NEW cannot both be stdin");

	memset(&new_, 0, sizeof(new_));
	if (schema_only) {
		size_t n = 0;
		if (source_open(&old, argv[0], NULL, NULL) == 0 && source_open(&new_, argv[1], NULL, NULL) == 0 &&
		    run_schema(&old, &new_, out_path, stat, &n) == 0)
			rc = n ? EXIT_DIFFER : EXIT_OK;
	} else if (source_open(&old, argv[0], NULL, NULL) == 0 && source_open(&new_, argv[1], NULL, NULL) == 0 &&
	    run(&old, &new_, out_path, &sum, &only_in_old) == 0) {
		uint64_t changes = summary_changes(&sum) + only_in_old;
		if (stat) {
			if (changes)
				summary_print(&sum, stderr);
			else
				fputs("no differences\n", stderr);
		}
		rc = changes ? EXIT_DIFFER : EXIT_OK;
	}
	source_close(&old);
	source_close(&new_);
	summary_release(&sum);
	exit_if_reader_gone();
	return rc;
}
