/* dbdump-rows: a consistent snapshot of a database's tables as a row stream. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "digest.h"
#include "sketch.h"
#include "source.h"
#include "stream.h"
#include "progress.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbdump-rows [-t PATTERN]... [-x PATTERN]... [--since MARK] [--subset TABLE:WHERE]...\n"
	"                   [--like DB] [--schema-only] [-o FILE] SOURCE\n"
	"       dbdump-rows --digest [--digest-rows N] [--digest-cells N] [-t PATTERN]... [-x PATTERN]...\n"
	"                   [-o FILE] TARGET\n"
	"       dbdump-rows --against DIGEST [-t PATTERN]... [-x PATTERN]... [-o FILE] SOURCE\n"
	"Write the tables of SOURCE as a row stream (man dbpipe.5): a header, the\n"
	"table records in dependency order, then each table's rows in key order.\n"
	"\n"
	"  -t, --table PATTERN    dump only tables matching the glob (repeatable)\n"
	"  -x, --exclude PATTERN  leave out tables matching the glob (repeatable)\n"
	"  -o, --output FILE      write to FILE (gzip if it ends in .gz), not stdout\n"
	"  --since MARK           only rows inserted or updated since MARK, the\n"
	"                         snapshot of an earlier dump (dbapply --mark TARGET\n"
	"                         prints the one last applied; PostgreSQL only: other\n"
	"                         engines, other databases and \"\" dump every row)\n"
	"  --subset TABLE:WHERE   only the rows of TABLE where the SQL condition WHERE\n"
	"                         holds, every row that refers to them (transitively)\n"
	"                         and every row those refer to (repeatable): a slice\n"
	"                         that loads with every foreign key\n"
	"  --like DB              a csv: SOURCE takes its column types, keys and\n"
	"                         references from the tables of the database DB\n"
	"                         (without it every column is text, keyed by the\n"
	"                         whole row)\n"
	"  --schema-only          the table records (columns, keys, references,\n"
	"                         indexes, defaults) and no rows\n"
	"  --digest               write a digest of the rows instead: per table, the\n"
	"                         hash and sketch of each range of rows in key order,\n"
	"                         for --against at the other end of a slow link\n"
	"  --digest-rows N        rows per range of the digest (default 1024)\n"
	"  --digest-cells N       cells of each range's sketch, a multiple of 3\n"
	"                         (default 48; 0: none, a range that differs goes whole)\n"
	"  --against DIGEST       write only the rows that differ from DIGEST's (a file\n"
	"                         or - for stdin): by key where a range's sketch tells\n"
	"                         them, else the range whole, framed so that\n"
	"                         dbapply --mirror deletes within those keys and ranges\n"
	"  --zero-date=null       read MySQL zero dates (0000-00-00) as NULL\n"
	"  -q, --quiet            no progress meter on stderr (shown only on a terminal)\n"
	"  -h, --help             show this help\n"
	"\n"
	"SOURCE is sqlite:PATH, a .db/.sqlite file, a URL, csv:DIR or an environment\n"
	"name.\n"
	"Exit status: 0 ok, 2 trouble.  See dbdump-rows(1).\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "output", required_argument, NULL, 'o' },
		{ "since", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "zero-date", required_argument, NULL, 'Z' },
		{ "like", required_argument, NULL, 'L' },
		{ "subset", required_argument, NULL, 'U' },
		{ "schema-only", no_argument, NULL, 's' },
		{ "digest", no_argument, NULL, 'D' },
		{ "digest-rows", required_argument, NULL, 'R' },
		{ "digest-cells", required_argument, NULL, 'C' },
		{ "against", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct filter filter = { 0 };
	struct db_options dbopts = { 0 };
	struct source src;
	struct schema like;
	struct subset_start *starts = NULL;
	size_t nstarts = 0;
	const char *out_path = NULL, *since = NULL, *like_db = NULL, *against = NULL;
	int c, quiet = 0, schema_only = 0, digest = 0, rc = EXIT_TROUBLE;
	uint64_t range_rows = 0, cells = DIGEST_CELLS;
	int cells_given = 0;

	util_progname = "dbdump-rows";
	argv[0] = (char *)util_progname; /* getopt's messages start with it */
	sigpipe_defer(); /* a reader that goes away ends us quietly, after cleanup */
	while ((c = getopt_long(argc, argv, "qt:x:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': filter_add(&filter.include, &filter.ninclude, optarg); break;
		case 'x': filter_add(&filter.exclude, &filter.nexclude, optarg); break;
		case 'o': out_path = optarg; break;
		case 'S': since = optarg; break;
		case 'q': quiet = 1; break;
		case 's': schema_only = 1; break;
		case 'D': digest = 1; break;
		case 'A': against = optarg; break;
		case 'R': {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 || n > 100000000 || optarg[0] == '-')
				usage_error("--digest-rows takes a count from 1 to 100000000");
			range_rows = n;
			break;
		}
		case 'C': {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || n % SKETCH_PARTS || n > 99999 || optarg[0] == '-')
				usage_error("--digest-cells takes a multiple of 3 from 0 to 99999");
			cells = n;
			cells_given = 1;
			break;
		}
		case 'L': like_db = optarg; break;
		case 'U': {
			char *colon = strchr(optarg, ':');
			if (!colon || colon == optarg || !colon[1])
				usage_error("--subset takes TABLE:WHERE-CONDITION");
			*colon = '\0';
			starts = xrealloc(starts, (nstarts + 1) * sizeof(*starts));
			starts[nstarts].table = optarg;
			starts[nstarts++].where = colon + 1;
			break;
		}
		case 'Z':
			if (db_parse_zero_date(optarg, &dbopts) < 0)
				usage_error("--zero-date takes only \"null\"");
			break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: usage_error(NULL); /* getopt has named the option */
		}
	}
	argc -= optind;
	argv += optind;
	progress_init(quiet);
	if (argc != 1)
		usage_error(argc ? "too many operands" : "missing SOURCE");
	if (schema_only && (since || nstarts))
		usage_error("--schema-only takes no --since or --subset: it writes no rows");
	if ((range_rows || cells_given) && !digest)
		usage_error("--digest-rows and --digest-cells go with --digest");
	if ((digest || against) && (digest + !!against > 1 || schema_only || since || nstarts || like_db))
		usage_error("--digest and --against take no --since, --subset, --like, --schema-only or each other: "
			    "they compare every row");

	if (!db_is_target(argv[0]))
		die("%s: not a database (a URL, a .db/.sqlite file, csv:DIR or an environment name)", argv[0]);
	schema_init(&like);
	if (like_db && source_load_schema(like_db, &dbopts, &like) < 0) {
		schema_release(&like);
		filter_release(&filter);
		return EXIT_TROUBLE;
	}
	if (like_db)
		dbopts.like = &like;
	if (source_open(&src, argv[0], &filter, &dbopts) == 0) {
		src.schema_only = schema_only;
		if (like_db && strcmp(src.engine, "csv"))
			warning("--like is for csv: sources: %s has types of its own", src.name);
		if (digest)
			rc = digest_write(&src, out_path, range_rows ? range_rows : DIGEST_RANGE_ROWS, cells) == 0
				     ? EXIT_OK : EXIT_TROUBLE;
		else if (against)
			rc = digest_against(&src, against, out_path, quiet) == 0 ? EXIT_OK : EXIT_TROUBLE;
		else if (source_since(&src, since) == 0 && source_subset(&src, starts, nstarts) == 0 &&
			 source_dump(&src, out_path, NULL) == 0)
			rc = EXIT_OK;
	}
	source_close(&src);
	schema_release(&like);
	filter_release(&filter);
	free(starts);
	exit_if_reader_gone();
	return rc;
}
