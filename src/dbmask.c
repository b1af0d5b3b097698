/* dbmask: a row or change stream with personal data replaced, by rules. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keysort.h"
#include "mask.h"
#include "source.h"
#include "stream.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbmask -r RULES [-k KEYFILE] [-o FILE] [-S SIZE] [INPUT]\n"
	"       dbmask --check -r RULES SOURCE\n"
	"Copy a row or change stream (INPUT, default stdin), replacing the values of\n"
	"the columns RULES names: keep, null, fixed VALUE, hash, fake email, fake\n"
	"phone, fake name, fake text, fake date, fake number.  The same value and\n"
	"secret always give the same output, so masked keys stay joined.\n"
	"\n"
	"  -r, --rules FILE        the rules: [TABLE] sections of COLUMN = RULE lines\n"
	"  -k, --key-file FILE     the secret (else the environment's DBMASK_KEY)\n"
	"  -o, --output FILE       write to FILE (gzip if .gz) instead of stdout\n"
	"  -S, --buffer-size SIZE  memory for re-sorting a table whose key is masked\n"
	"                          (default 64M; K, M, G suffixes)\n"
	"      --check             list the text columns of SOURCE no rule covers\n"
	"  -h, --help              show this help\n"
	"\n"
	"Exit status: 0 done (--check: every text column covered), 1 --check found\n"
	"columns no rule covers, 2 trouble.  See dbmask(1).\n";

struct masking {
	struct mask_rules rules;
	struct mask_table *plan;
	struct stream_reader rd;
	struct stream_writer w;
	struct change out;       /* the masked record */
	struct keysort sort;
	size_t buffer_size;
	int rd_open;
};

/* The secret: the first line of FILE, else DBMASK_KEY, else none. */
static int load_secret(struct mask_rules *r, const char *file)
{
	const char *env = getenv("DBMASK_KEY");
	if (!file) {
		if (env && *env)
			mask_rules_set_secret(r, env, strlen(env));
		return 0;
	}
	FILE *f = fopen(file, "r");
	if (!f)
		return error("%s: %s", file, strerror(errno));
	char *line = NULL;
	size_t alloc = 0;
	ssize_t n = getline(&line, &alloc, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (n <= 0) {
		free(line);
		return error("%s: the key file is empty", file);
	}
	mask_rules_set_secret(r, line, (size_t)n);
	memset(line, 0, (size_t)n);
	free(line);
	return 0;
}

static void warn_unknown_tables(const struct mask_rules *r, const struct schema *s)
{
	for (size_t i = 0; i < r->n; i++)
		if (!schema_find(s, r->v[i].table) &&
		    (i == 0 || strcmp(r->v[i - 1].table, r->v[i].table)))
			warning("%s:%ld: no table \"%s\" in the input: its rules are not used", r->path,
				r->v[i].line, r->v[i].table);
}

static struct change *masked(struct masking *m, const struct mask_table *mt, const struct change *c)
{
	struct change *o = &m->out;
	o->type = c->type;
	o->table = c->table;
	o->kind = c->kind;
	mask_row(&m->rules, mt, &c->row, &o->row);
	mask_row(&m->rules, mt, &c->old, &o->old);
	for (int s = 0; s < 3; s++)
		if (c->type == REC_CONFLICT && conflict_has_side(c->kind, (enum conflict_side)s))
			mask_row(&m->rules, mt, &c->side[s], &o->side[s]);
	return o;
}

static int emit(void *ctx, const struct change *c)
{
	return stream_write_record(ctx, c);
}

/* One table's data: masked, and sorted again when its key was masked. */
static int mask_table_data(struct masking *m, const struct mask_table *mt)
{
	int got;
	stream_begin_table(&m->w, mt->t);
	if (mt->key_masked)
		keysort_init(&m->sort, mt->t, m->rd.kind, m->buffer_size);
	while ((got = stream_next(&m->rd)) > 0 && m->rd.rec.type != REC_TABLE_END) {
		struct change *o = masked(m, mt, &m->rd.rec);
		if ((mt->key_masked ? keysort_add(&m->sort, o) : stream_write_record(&m->w, o)) < 0)
			return -1;
	}
	if (got < 0)
		return -1;
	if (mt->key_masked) {
		int rc = keysort_finish(&m->sort, emit, &m->w);
		keysort_release(&m->sort);
		if (rc < 0)
			return -1;
	}
	return stream_end_table(&m->w);
}

static int run_mask(struct masking *m, const char *input, const char *output)
{
	m->rd_open = 1;
	if (stream_open(&m->rd, input) < 0)
		return -1;
	m->rules.engine = m->rd.engine;
	warn_unknown_tables(&m->rules, &m->rd.schema);
	if (mask_plan(&m->rules, &m->rd.schema, &m->plan) < 0 || stream_create(&m->w, output) < 0)
		return -1;
	m->w.mark = m->rd.mark;
	m->w.since = m->rd.since;
	m->w.masked = m->rules.path;
	m->w.all_tables = m->rd.all_tables;
	stream_write_header(&m->w, m->rd.kind, m->rd.source, m->rd.engine);
	for (size_t i = 0; i < m->rd.schema.n; i++)
		if (stream_write_table(&m->w, m->rd.schema.tables[i]) < 0)
			goto fail;
	for (size_t i = 0; i < m->rd.schema.n; i++)
		if (mask_table_data(m, &m->plan[i]) < 0)
			goto fail;
	/* The input must end properly before the output may. */
	if (stream_next(&m->rd) != 0)
		goto fail;
	return stream_finish(&m->w);
fail:
	stream_abandon(&m->w);
	return -1;
}

/* --check: every text column that no rule covers, as TABLE.COLUMN lines. */
static int run_check(struct mask_rules *r, const char *arg, int *uncovered)
{
	struct source src;
	struct mask_table *plan = NULL;
	int rc = -1;
	memset(&src, 0, sizeof(src));
	/* The rules are checked as for masking, with a stand-in secret. */
	if (!r->have_key)
		mask_rules_set_secret(r, "check", 5);
	if (source_open(&src, arg, NULL, NULL) == 0) {
		r->engine = src.engine;
		warn_unknown_tables(r, src.schema);
		if (mask_plan(r, src.schema, &plan) == 0) {
			for (size_t t = 0; t < src.schema->n; t++)
				for (size_t i = 0; i < plan[t].t->ncols; i++)
					if (plan[t].t->cols[i].type == VT_TEXT && !mask_covers(&plan[t], i) &&
					    !mask_rules_find(r, plan[t].t->name, plan[t].t->cols[i].name)) {
						printf("%s.%s\n", plan[t].t->name, plan[t].t->cols[i].name);
						(*uncovered)++;
					}
			rc = 0;
		}
		mask_plan_release(plan, src.schema->n);
	}
	source_close(&src);
	return rc;
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned long long unit = 1;
	if (*end == 'K' || *end == 'k')
		unit = 1ULL << 10, end++;
	else if (*end == 'M' || *end == 'm')
		unit = 1ULL << 20, end++;
	else if (*end == 'G' || *end == 'g')
		unit = 1ULL << 30, end++;
	if (end == s || *end || !v)
		usage_error("--buffer-size takes a size such as 512K, 64M or 1G");
	return (size_t)(v * unit);
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256 };
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "buffer-size", required_argument, NULL, 'S' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct masking m;
	const char *rules = NULL, *key_file = NULL, *output = NULL;
	int c, check = 0, uncovered = 0, rc = EXIT_TROUBLE;

	util_progname = "dbmask";
	argv[0] = (char *)util_progname; /* getopt's messages start with it */
	sigpipe_defer(); /* a reader that goes away ends us quietly, after cleanup */
	memset(&m, 0, sizeof(m));
	m.buffer_size = 64u << 20;
	while ((c = getopt_long(argc, argv, "r:k:o:S:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rules = optarg; break;
		case 'k': key_file = optarg; break;
		case 'o': output = optarg; break;
		case 'S': m.buffer_size = parse_size(optarg); break;
		case OPT_CHECK: check = 1; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: usage_error(NULL); /* getopt has named the option */
		}
	}
	argc -= optind;
	argv += optind;
	if (!rules)
		usage_error("missing -r RULES");
	if (argc > 1 || (check && argc != 1))
		usage_error(argc > 1 ? "too many operands" : "missing SOURCE");
	if (check && output)
		usage_error("--check writes no stream");
	change_init(&m.out);
	if (mask_rules_load(&m.rules, rules) == 0 && load_secret(&m.rules, key_file) == 0) {
		if (check && run_check(&m.rules, argv[0], &uncovered) == 0)
			rc = uncovered ? EXIT_DIFFER : EXIT_OK;
		else if (!check && run_mask(&m, argc ? argv[0] : "-", output) == 0)
			rc = EXIT_OK;
	}
	if (m.plan)
		mask_plan_release(m.plan, m.rd.schema.n);
	if (m.rd_open)
		stream_close(&m.rd);
	change_release(&m.out);
	mask_rules_release(&m.rules);
	exit_if_reader_gone();
	return rc;
}
