/* dbbackup: gzip NDJSON backups of a database, their verification and list. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "db.h"
#include "progress.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbbackup [-d DIR] [--schema-only] TARGET\n"
	"       dbbackup --verify FILE...\n"
	"       dbbackup --list [DIR]\n"
	"Write a consistent gzip NDJSON backup of TARGET (schema records, rows,\n"
	"counts and hashes) as DIR/<name>-<UTC time>.backup.ndjson.gz, read it\n"
	"back and mark it verified.  Restore with: dbapply --mirror TARGET < FILE\n"
	"\n"
	"  -d, --dir DIR   the backup directory (default: the environment's\n"
	"                  'backups' setting, else ./backups)\n"
	"  --schema-only   the table records only, as DIR/<name>-<UTC time>.schema.ndjson.gz\n"
	"                  (dbprune leaves it alone)\n"
	"  --verify        check each FILE whole: gzip CRC, records, counts, hashes\n"
	"  --list          list the backups and undo streams in DIR (default backups)\n"
	"  --zero-date=null\n"
	"                  read MySQL zero dates (0000-00-00) as NULL\n"
	"  -q, --quiet     no progress meter on stderr (shown only on a terminal)\n"
	"  -h, --help      show this help\n"
	"\n"
	"Exit status: 0 ok, 2 trouble (a FILE that fails --verify).  See dbbackup(1).\n";

static int list(const char *dir)
{
	struct backup_info *l;
	size_t n;
	if (backup_scan(dir, &l, &n) < 0)
		return -1;
	printf("%-20s  %-6s  %10s  %6s  %10s  %-8s  %s\n", "time", "kind", "bytes", "tables", "rows",
	       "status", "file");
	for (size_t i = 0; i < n; i++) {
		char tables[24] = "-", rows[24] = "-";
		if (l[i].verified) {
			snprintf(tables, sizeof(tables), "%" PRIu64, l[i].tables);
			snprintf(rows, sizeof(rows), "%" PRIu64, l[i].rows);
		}
		printf("%-20s  %-6s  %10lld  %6s  %10s  %-8s  %s\n", l[i].at, l[i].purpose,
		       (long long)l[i].size, tables, rows, l[i].verified ? "verified" : "-", l[i].path);
	}
	backup_list_free(l, n);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_VERIFY = 256, OPT_LIST, OPT_SCHEMA_ONLY };
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "schema-only", no_argument, NULL, OPT_SCHEMA_ONLY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "zero-date", required_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	struct db_options dbopts = { 0 };
	int c, quiet = 0, verify = 0, do_list = 0, schema_only = 0, rc = EXIT_OK;

	util_progname = "dbbackup";
	argv[0] = (char *)util_progname; /* getopt's messages start with it */
	while ((c = getopt_long(argc, argv, "qd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case OPT_VERIFY: verify = 1; break;
		case OPT_LIST: do_list = 1; break;
		case OPT_SCHEMA_ONLY: schema_only = 1; break;
		case 'q': quiet = 1; break;
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
	if (verify + do_list > 1)
		usage_error("--verify and --list exclude each other");
	if (schema_only && (verify || do_list))
		usage_error("--schema-only goes with a TARGET to back up");

	if (verify) {
		if (argc < 1)
			usage_error("--verify needs a FILE");
		for (int i = 0; i < argc; i++) {
			struct backup_info info = { 0 };
			if (backup_verify(argv[i], &info) < 0) {
				error("%s: NOT verified", argv[i]);
				rc = EXIT_TROUBLE;
				continue;
			}
			printf("%s: ok, %" PRIu64 " tables, %" PRIu64 " rows\n", argv[i], info.tables, info.rows);
		}
	} else if (do_list) {
		if (argc > 1)
			usage_error("too many operands");
		if (list(argc ? argv[0] : dir ? dir : "backups") < 0)
			rc = EXIT_TROUBLE;
	} else {
		if (argc != 1)
			usage_error(argc ? "too many operands" : "missing TARGET");
		struct db *db = db_connect(argv[0], &dbopts);
		char *label = NULL, *path = NULL;
		if (!db)
			return EXIT_TROUBLE;
		label = backup_label(db);
		path = backup_new_path(dir ? dir : backup_dir(db), label, schema_only ? "schema" : "backup");
		/* backup_write opens its own snapshot; this connection only named the target. */
		db_disconnect(db);
		if (!path || backup_write(argv[0], path, &dbopts, schema_only) < 0) {
			rc = EXIT_TROUBLE;
		} else {
			printf("%s\n", path);
		}
		free(label);
		free(path);
	}
	if (fflush(stdout) || ferror(stdout))
		rc = EXIT_TROUBLE;
	return rc;
}
