/* dbprune: retention of dbpipe backups and undo streams in a directory. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "syncbase.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbprune [--keep N] [--max-age AGE] [-n] DIR\n"
	"Remove old backups and undo streams from DIR: per name (environment or\n"
	"database) and kind, keep the newest N (default 10) and remove those older\n"
	"than AGE.  Only files whose header says they are dbpipe backups or undo\n"
	"streams are touched, and never the newest verified backup of a name.\n"
	"The partial undo streams of runs killed over a day ago go too.\n"
	"\n"
	"  --keep N         how many to keep per name and kind (default 10)\n"
	"  --max-age AGE    remove files older than AGE: 30d, 12h, 90m, 3600s\n"
	"  -n, --dry-run    say what would be removed, remove nothing\n"
	"  -h, --help       show this help\n"
	"\n"
	"Prints each file removed.  Exit status: 0 ok, 2 trouble.  See dbprune(1).\n";

/* "30d" -> seconds; -1 if malformed. */
static long long parse_age(const char *s)
{
	char *end;
	long long n = strtoll(s, &end, 10);
	if (end == s || n < 0 || n > 100000000)
		return -1;
	switch (*end) {
	case 'd': n *= 86400; end++; break;
	case 'h': n *= 3600; end++; break;
	case 'm': n *= 60; end++; break;
	case 's': end++; break;
	case '\0': break;
	default: return -1;
	}
	return *end ? -1 : n;
}

/* A partial undo stream this old is a killed run's, not a running one's. */
#define LEFTOVER_AGE 86400

static const char *kind_of(const char *purpose)
{
	return !strcmp(purpose, "backup") ? "backup" : "undo";
}

/* Keep only backups and undo streams: a saved base (--save-base) is the user's. */
static size_t backups_and_undos(struct backup_info *l, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(l[i].purpose, "backup") && strcmp(l[i].purpose, "undo")) {
			backup_info_release(&l[i]);
			continue;
		}
		l[kept++] = l[i];
	}
	return kept;
}

/* Which of l (oldest first) go: more than keep newer of the same label and
 * kind, or older than max_age; never the newest verified backup of a name. */
static char *choose_removals(const struct backup_info *l, size_t n, int64_t keep, long long max_age)
{
	time_t now = time(NULL);
	char *remove_it = xcalloc(n + 1, 1);
	for (size_t i = n; i-- > 0;) {
		size_t newer = 0;
		int newer_verified_backup = 0;
		for (size_t j = i + 1; j < n; j++) {
			if (strcmp(l[j].label, l[i].label) || strcmp(kind_of(l[j].purpose), kind_of(l[i].purpose)))
				continue;
			newer++;
			if (!strcmp(l[j].purpose, "backup") && l[j].verified)
				newer_verified_backup = 1;
		}
		int old = max_age >= 0 && l[i].when && now - l[i].when > max_age;
		if ((int64_t)newer >= keep || old)
			remove_it[i] = 1;
		/* The newest verified backup of a name is what a restore needs. */
		if (!strcmp(l[i].purpose, "backup") && l[i].verified && !newer_verified_backup)
			remove_it[i] = 0;
	}
	return remove_it;
}

/* Remove one chosen file with its .verified marker and, for an undo stream,
 * the sync bases kept for that run's rollback. */
static int remove_one(const struct backup_info *b)
{
	if (unlink(b->path) < 0)
		return error("%s: cannot remove: %s", b->path, strerror(errno));
	struct buf m = BUF_INIT;
	buf_addf(&m, "%s.verified", b->path);
	unlink(m.buf);
	buf_release(&m);
	printf("removed %s\n", b->path);
	char **prev;
	size_t nprev;
	if (!strcmp(b->purpose, "undo") && sync_base_prev_list(b->path, &prev, &nprev) == 0) {
		for (size_t k = 0; k < nprev; k++) {
			if (unlink(prev[k]) == 0)
				printf("removed %s\n", prev[k]);
			free(prev[k]);
		}
		free(prev);
	}
	return 0;
}

/* What a killed dbapply left: it never committed, so it undoes nothing. */
static int remove_leftovers(const char *dir, int dry)
{
	char **left;
	size_t nleft;
	int rc = 0;
	if (backup_scan_leftovers(dir, LEFTOVER_AGE, &left, &nleft) < 0)
		return -1;
	for (size_t i = 0; i < nleft; i++) {
		if (dry)
			printf("would remove %s\n", left[i]);
		else if (unlink(left[i]) < 0)
			rc = error("%s: cannot remove: %s", left[i], strerror(errno));
		else
			printf("removed %s\n", left[i]);
		free(left[i]);
	}
	free(left);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t keep = 10;
	long long max_age = -1;
	int c, dry = 0, rc = EXIT_OK;
	struct backup_info *l;
	size_t n;

	util_progname = "dbprune";
	argv[0] = (char *)util_progname; /* getopt's messages start with it */
	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (parse_int64(optarg, 0, 1000000, &keep) < 0)
				usage_error("--keep takes a whole number, not \"%s\"", optarg);
			break;
		case 'a':
			if ((max_age = parse_age(optarg)) < 0)
				usage_error("--max-age takes an age like 30d, 12h, 90m or 3600s, not \"%s\"", optarg);
			break;
		case 'n': dry = 1; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: usage_error(NULL); /* getopt has named the option */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage_error(argc ? "too many operands" : "missing DIR");
	if (backup_scan(argv[0], &l, &n) < 0)
		return EXIT_TROUBLE;

	n = backups_and_undos(l, n);
	char *remove_it = choose_removals(l, n, keep, max_age);
	for (size_t i = 0; i < n; i++) {
		if (remove_it[i] && dry)
			printf("would remove %s\n", l[i].path);
		else if (remove_it[i] && remove_one(&l[i]) < 0)
			rc = EXIT_TROUBLE;
	}
	free(remove_it);
	backup_list_free(l, n);
	if (remove_leftovers(argv[0], dry) < 0)
		rc = EXIT_TROUBLE;
	if (fflush(stdout) || ferror(stdout))
		rc = EXIT_TROUBLE;
	return rc;
}
