/* dbdump-rows: a consistent snapshot of a database's tables as a row stream. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "source.h"
#include "stream.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbdump-rows [-t PATTERN]... [-x PATTERN]... [-o FILE] SOURCE\n"
	"Write the tables of SOURCE as a row stream (man dbpipe.5): a header, the\n"
	"table records in dependency order, then each table's rows in key order.\n"
	"\n"
	"  -t, --table PATTERN    dump only tables matching the glob (repeatable)\n"
	"  -x, --exclude PATTERN  leave out tables matching the glob (repeatable)\n"
	"  -o, --output FILE      write to FILE (gzip if it ends in .gz), not stdout\n"
	"  -h, --help             show this help\n"
	"\n"
	"SOURCE is sqlite:PATH, a .db/.sqlite file, a URL or an environment name.\n"
	"Exit status: 0 ok, 2 trouble.  See dbdump-rows(1).\n";

static int dump(struct source *src, const char *out_path)
{
	struct stream_writer w;
	const struct row *row;
	if (stream_create(&w, out_path) < 0)
		return -1;
	stream_write_header(&w, STREAM_ROWS, src->origin, src->engine);
	for (size_t i = 0; i < src->schema->n; i++)
		if (stream_write_table(&w, src->schema->tables[i]) < 0)
			goto fail;
	for (size_t i = 0; i < src->schema->n; i++) {
		const struct table *t = src->schema->tables[i];
		int got;
		if (source_begin_table(src, t) < 0)
			goto fail;
		stream_begin_table(&w, t);
		while ((got = source_next_row(src, &row)) > 0)
			if (stream_write_row(&w, row) < 0)
				goto fail;
		if (got < 0 || stream_end_table(&w) < 0)
			goto fail;
	}
	return stream_finish(&w);
fail:
	/* Without its final end record the output is refused by every reader. */
	stream_abandon(&w);
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct filter filter = { 0 };
	struct source src;
	const char *out_path = NULL;
	int c, rc = EXIT_TROUBLE;

	util_progname = "dbdump-rows";
	while ((c = getopt_long(argc, argv, "t:x:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': filter_add(&filter.include, &filter.ninclude, optarg); break;
		case 'x': filter_add(&filter.exclude, &filter.nexclude, optarg); break;
		case 'o': out_path = optarg; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: usage_error("unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage_error(argc ? "too many operands" : "missing SOURCE");

	if (!db_is_target(argv[0]))
		die("%s: not a database (a URL, a .db/.sqlite file or an environment name)", argv[0]);
	if (source_open(&src, argv[0], &filter) == 0 && dump(&src, out_path) == 0)
		rc = EXIT_OK;
	source_close(&src);
	filter_release(&filter);
	return rc;
}
