/* dbmerge: filter a change stream by policy, or merge BASE OURS THEIRS into
 * the change stream that brings THEIRS up to date with OURS. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "source.h"
#include "stream.h"
#include "summary.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbmerge [--policy POLICY] [--stat] [-o FILE] [CHANGES]\n"
	"       dbmerge [--prefer ours|theirs] [--stat] [-o FILE] BASE OURS THEIRS\n"
	"With one operand or none, filter the change stream CHANGES (or stdin):\n"
	"\n"
	"  --policy upsert       keep inserts and updates, drop deletes (the default)\n"
	"  --policy insert-only  keep inserts only\n"
	"  --policy mirror       keep everything\n"
	"\n"
	"With three, BASE, OURS and THEIRS are row streams or databases, BASE being\n"
	"what both sides held at their last sync: write the change stream that\n"
	"brings THEIRS up to date with what OURS changed since BASE, keeping what\n"
	"THEIRS changed itself.  Rows changed differently on both sides, deleted on\n"
	"one and changed on the other, or inserted on both with other content are\n"
	"conflicts: written as \"conflict\" records, never applied.\n"
	"\n"
	"  --prefer ours|theirs  settle conflicts with that side's row\n"
	"  --stat                print created/updated/deleted per table to stderr\n"
	"  -o, --output FILE     write the change stream to FILE (gzip if .gz)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Apply the result with dbapply --mirror THEIRS (deletes included).\n"
	"Exit status: 0 ok, 1 conflicts left in the output, 2 trouble.  See dbmerge(1).\n";

static void print_stat(const struct summary *sum, const struct merge_counts *mc,
		       enum merge_prefer prefer)
{
	if (!summary_changes(sum) && !mc->conflicts && !mc->settled && !mc->dropped) {
		int kept = 0;
		for (size_t i = 0; i < sum->n; i++)
			kept |= sum->rows[i]->c.kept != 0;
		if (!kept) {
			fputs("no changes\n", stderr);
			return;
		}
	}
	summary_print(sum, stderr);
	if (mc->dropped)
		fprintf(stderr, "%" PRIu64 " update%s left out by --policy insert-only\n", mc->dropped,
			mc->dropped == 1 ? "" : "s");
	if (mc->settled)
		fprintf(stderr, "%" PRIu64 " conflict%s settled for %s\n", mc->settled,
			mc->settled == 1 ? "" : "s", prefer == PREFER_OURS ? "ours" : "theirs");
	if (mc->conflicts)
		fprintf(stderr, "%" PRIu64 " conflict%s, not applied\n", mc->conflicts,
			mc->conflicts == 1 ? "" : "s");
}

static int run_filter(const char *in, const char *out, enum merge_policy policy,
		      struct summary *sum, struct merge_counts *mc)
{
	struct stream_reader rd;
	struct stream_writer w;
	int ret = -1;
	if (stream_open(&rd, in) < 0)
		goto out;
	if (stream_create(&w, out) < 0)
		goto out;
	if (merge_filter(&rd, &w, policy, sum, mc) < 0) {
		stream_abandon(&w);
		goto out;
	}
	ret = stream_finish(&w);
out:
	if (rd.name)
		stream_close(&rd);
	return ret;
}

static int run_three_way(char **args, const char *out, enum merge_prefer prefer,
			 struct summary *sum, struct merge_counts *mc)
{
	struct source src[3];
	struct stream_writer w;
	int ret = -1, opened = 0;
	for (; opened < 3; opened++)
		if (source_open(&src[opened], args[opened], NULL, NULL) < 0) {
			opened++;
			goto out;
		}
	if (stream_create(&w, out) < 0)
		goto out;
	if (merge_three_way(&src[0], &src[1], &src[2], &w, prefer, sum, mc) < 0) {
		stream_abandon(&w);
		goto out;
	}
	ret = stream_finish(&w);
out:
	while (opened-- > 0)
		source_close(&src[opened]);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "prefer", required_argument, NULL, 'P' },
		{ "stat", no_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum merge_policy policy = MERGE_UPSERT;
	enum merge_prefer prefer = PREFER_NONE;
	struct summary sum = { 0 };
	struct merge_counts mc = { 0 };
	const char *out_path = NULL;
	int c, stat = 0, have_policy = 0, rc = EXIT_TROUBLE, ret;

	util_progname = "dbmerge";
	argv[0] = (char *)util_progname; /* getopt's messages start with it */
	sigpipe_defer(); /* a reader that goes away ends us quietly, after cleanup */
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (merge_policy_parse(optarg, &policy) < 0)
				usage_error("unknown policy \"%s\" (upsert, insert-only or mirror)", optarg);
			have_policy = 1;
			break;
		case 'P':
			if (merge_prefer_parse(optarg, &prefer) < 0)
				usage_error("--prefer takes ours or theirs, not \"%s\"", optarg);
			break;
		case 's': stat = 1; break;
		case 'o': out_path = optarg; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: usage_error(NULL); /* getopt has named the option */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 2 || argc > 3)
		usage_error(argc == 2 ? "two operands: give one change stream, or BASE OURS THEIRS"
				      : "too many operands");
	if (argc == 3) {
		if (have_policy)
			usage_error("--policy filters a change stream; it does not go with BASE OURS THEIRS");
		if ((!strcmp(argv[0], "-") + !strcmp(argv[1], "-") + !strcmp(argv[2], "-")) > 1)
			usage_error("only one of BASE, OURS and THEIRS can be stdin");
		ret = run_three_way(argv, out_path, prefer, &sum, &mc);
	} else {
		if (prefer != PREFER_NONE)
			usage_error("--prefer settles the conflicts of BASE OURS THEIRS; it needs three operands");
		ret = run_filter(argc ? argv[0] : "-", out_path, policy, &sum, &mc);
	}
	if (ret == 0) {
		if (stat)
			print_stat(&sum, &mc, prefer);
		else if (mc.conflicts)
			warning("%" PRIu64 " conflict%s written as conflict records, not applied%s", mc.conflicts,
				mc.conflicts == 1 ? "" : "s",
				argc == 3 ? " (--prefer ours or theirs settles them)" : "");
		rc = mc.conflicts ? EXIT_DIFFER : EXIT_OK;
	}
	summary_release(&sum);
	exit_if_reader_gone();
	return rc;
}
