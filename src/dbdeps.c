/* dbdeps: the foreign-key graph of a database or row stream: load order,
 * levels, and the cycles with the keys a load breaks. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps.h"
#include "json.h"
#include "source.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbdeps [--dot | --ndjson] [--no-defer] [SOURCE]\n"
	"Print the tables of SOURCE in dependency order (parents first), one a line\n"
	"as \"LEVEL TABLE\", then each cycle of foreign keys: its tables, and each key\n"
	"the load breaks and how (deferred, or set NULL and filled in by a later\n"
	"update), or that the cycle cannot be loaded row by row.\n"
	"\n"
	"  --dot        the graph for Graphviz dot(1) instead\n"
	"  --ndjson     one JSON object per table and per cycle instead\n"
	"  --no-defer   plan as if no key could be deferred (dbapply on PostgreSQL's\n"
	"               NOT DEFERRABLE keys)\n"
	"  -h, --help   show this help\n"
	"\n"
	"SOURCE is a database (sqlite:PATH, a .db/.sqlite file, a URL, csv:DIR or an\n"
	"environment name) or a row stream file; - or none reads a stream on stdin.\n"
	"Exit status: 0 ok, 1 a cycle cannot be loaded row by row, 2 trouble.\n"
	"See dbdeps(1).\n";

enum format { FMT_TEXT, FMT_DOT, FMT_NDJSON };

static const char *const how_text[] = {
	[DEPS_DEFER] = "deferred, checked at commit",
	[DEPS_SET_NULL] = "inserted as NULL, filled in by a later update",
	[DEPS_NONE] = "NOT NULL and not deferrable",
};

/* "table(a, b)" */
static void add_columns(struct buf *out, const char *table, char **cols, size_t n)
{
	buf_addf(out, "%s(", table);
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s%s", i ? ", " : "", cols[i]);
	buf_addch(out, ')');
}

static void print_text(const struct schema *s, const struct deps *d, struct buf *out)
{
	for (size_t k = 0; k < d->n; k++)
		buf_addf(out, "%zu %s\n", d->level[d->order[k]], s->tables[d->order[k]]->name);
	for (size_t c = 0; c < d->ncycles; c++) {
		const struct deps_cycle *cy = &d->cycles[c];
		buf_adds(out, "cycle: ");
		for (size_t m = 0; m < cy->nmembers; m++)
			buf_addf(out, "%s%s", m ? ", " : "", s->tables[cy->members[m]]->name);
		if (cy->self_reference)
			buf_adds(out, " (self-reference)");
		if (!cy->loadable)
			buf_adds(out, ": cannot be loaded row by row");
		buf_addch(out, '\n');
		for (size_t b = 0; b < cy->nbreaks; b++) {
			const struct deps_break *br = &cy->breaks[b];
			const struct table *t = s->tables[br->table];
			const struct ref *r = &t->refs[br->ref];
			buf_adds(out, "  ");
			add_columns(out, t->name, r->cols, r->ncols);
			buf_adds(out, " -> ");
			add_columns(out, r->table, r->to, r->ncols);
			buf_addf(out, ": %s", how_text[br->how]);
			if (br->how == DEPS_NONE && cy->self_reference)
				buf_adds(out, " (rows may refer only to rows before them in key order)");
			buf_addch(out, '\n');
		}
	}
}

/* A DOT identifier or label in double quotes. */
static void dot_quote(struct buf *out, const char *s)
{
	buf_addch(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addch(out, '\\');
		if (*s == '\n')
			buf_adds(out, "\\n");
		else
			buf_addch(out, *s);
	}
	buf_addch(out, '"');
}

/* The break of reference r of table i, or NULL when the load keeps it. */
static const struct deps_break *find_break(const struct deps *d, size_t i, size_t r)
{
	if (d->cycle_of[i] < 0)
		return NULL;
	const struct deps_cycle *cy = &d->cycles[d->cycle_of[i]];
	for (size_t b = 0; b < cy->nbreaks; b++)
		if (cy->breaks[b].table == i && cy->breaks[b].ref == r)
			return &cy->breaks[b];
	return NULL;
}

static long index_of(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->tables[i]->name, name))
			return (long)i;
	return -1;
}

static void print_dot(const struct schema *s, const struct deps *d, struct buf *out)
{
	char *shown = xcalloc(d->ncycles + 1, 1);
	buf_adds(out, "digraph dbdeps {\n\tnode [shape=box];\n");
	for (size_t k = 0; k < d->n; k++) {
		size_t i = d->order[k];
		long c = d->cycle_of[i];
		if (c < 0 || d->cycles[c].self_reference) {
			buf_addch(out, '\t');
			dot_quote(out, s->tables[i]->name);
			buf_adds(out, ";\n");
			continue;
		}
		if (shown[c])
			continue;
		shown[c] = 1;
		buf_addf(out, "\tsubgraph \"cluster_%ld\" {\n\t\tlabel=\"cycle %ld\";\n", c + 1, c + 1);
		for (size_t m = 0; m < d->cycles[c].nmembers; m++) {
			buf_adds(out, "\t\t");
			dot_quote(out, s->tables[d->cycles[c].members[m]]->name);
			buf_adds(out, ";\n");
		}
		buf_adds(out, "\t}\n");
	}
	for (size_t k = 0; k < d->n; k++) {
		size_t i = d->order[k];
		const struct table *t = s->tables[i];
		for (size_t r = 0; r < t->nrefs; r++) {
			if (index_of(s, t->refs[r].table) < 0)
				continue;
			struct buf label = BUF_INIT;
			const struct deps_break *br = find_break(d, i, r);
			for (size_t c = 0; c < t->refs[r].ncols; c++)
				buf_addf(&label, "%s%s", c ? ", " : "", t->refs[r].cols[c]);
			if (br)
				buf_addf(&label, " (%s)", deps_how_name(br->how));
			buf_addch(out, '\t');
			dot_quote(out, t->name);
			buf_adds(out, " -> ");
			dot_quote(out, t->refs[r].table);
			buf_adds(out, " [label=");
			dot_quote(out, label.buf);
			if (br)
				buf_adds(out, br->how == DEPS_NONE ? ", style=dashed, color=red" : ", style=dashed");
			buf_adds(out, "];\n");
			buf_release(&label);
		}
	}
	buf_adds(out, "}\n");
	free(shown);
}

/* ["a","b"] */
static void json_names(struct buf *out, char **names, size_t n)
{
	buf_addch(out, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addch(out, ',');
		json_add_string(out, names[i], strlen(names[i]));
	}
	buf_addch(out, ']');
}

static void print_ndjson(const struct schema *s, const struct deps *d, struct buf *out)
{
	for (size_t k = 0; k < d->n; k++) {
		size_t i = d->order[k];
		const struct table *t = s->tables[i];
		buf_adds(out, "{\"type\":\"table\",\"table\":");
		json_add_string(out, t->name, strlen(t->name));
		buf_addf(out, ",\"level\":%zu,\"references\":[", d->level[i]);
		/* distinct tables of the schema, in the order of the references */
		int first = 1;
		for (size_t r = 0; r < t->nrefs; r++) {
			size_t q;
			if (index_of(s, t->refs[r].table) < 0)
				continue;
			for (q = 0; q < r && strcmp(t->refs[q].table, t->refs[r].table); q++)
				;
			if (q < r)
				continue;
			if (!first)
				buf_addch(out, ',');
			first = 0;
			json_add_string(out, t->refs[r].table, strlen(t->refs[r].table));
		}
		buf_adds(out, "],\"cycle\":");
		if (d->cycle_of[i] < 0)
			buf_adds(out, "null");
		else
			buf_addf(out, "%ld", d->cycle_of[i] + 1);
		buf_adds(out, ",\"insert_null\":[");
		for (size_t c = 0; c < d->nnull_cols[i]; c++) {
			const char *name = t->cols[d->null_cols[i][c]].name;
			if (c)
				buf_addch(out, ',');
			json_add_string(out, name, strlen(name));
		}
		buf_adds(out, "]}\n");
	}
	for (size_t c = 0; c < d->ncycles; c++) {
		const struct deps_cycle *cy = &d->cycles[c];
		buf_addf(out, "{\"type\":\"cycle\",\"cycle\":%zu,\"tables\":[", c + 1);
		for (size_t m = 0; m < cy->nmembers; m++) {
			const char *name = s->tables[cy->members[m]]->name;
			if (m)
				buf_addch(out, ',');
			json_add_string(out, name, strlen(name));
		}
		buf_addf(out, "],\"self_reference\":%s,\"loadable\":%s,\"breaks\":[",
			 cy->self_reference ? "true" : "false", cy->loadable ? "true" : "false");
		for (size_t b = 0; b < cy->nbreaks; b++) {
			const struct deps_break *br = &cy->breaks[b];
			const struct table *t = s->tables[br->table];
			const struct ref *r = &t->refs[br->ref];
			buf_adds(out, b ? ",{\"table\":" : "{\"table\":");
			json_add_string(out, t->name, strlen(t->name));
			buf_adds(out, ",\"columns\":");
			json_names(out, r->cols, r->ncols);
			buf_adds(out, ",\"references\":");
			json_add_string(out, r->table, strlen(r->table));
			buf_adds(out, ",\"to\":");
			json_names(out, r->to, r->ncols);
			buf_addf(out, ",\"how\":\"%s\"}", deps_how_name(br->how));
		}
		buf_adds(out, "]}\n");
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dot", no_argument, NULL, 'd' },
		{ "ndjson", no_argument, NULL, 'j' },
		{ "no-defer", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum format fmt = FMT_TEXT;
	unsigned flags = 0;
	struct source src;
	struct buf out = BUF_INIT;
	int c, rc = EXIT_TROUBLE;

	util_progname = "dbdeps";
	argv[0] = (char *)util_progname; /* getopt's messages start with it */
	sigpipe_defer(); /* a reader that goes away ends us quietly, after cleanup */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
		case 'j':
			if (fmt != FMT_TEXT && fmt != (c == 'd' ? FMT_DOT : FMT_NDJSON))
				usage_error("--dot and --ndjson exclude each other");
			fmt = c == 'd' ? FMT_DOT : FMT_NDJSON;
			break;
		case 'D': flags |= DEPS_NO_DEFER; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: usage_error(NULL); /* getopt has named the option */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage_error("too many operands");

	/* A stream is read to its final end record: a truncated one is refused
	 * before anything is printed. */
	if (source_open(&src, argc ? argv[0] : "-", NULL, NULL) == 0 && source_finish(&src) == 0) {
		struct deps d;
		deps_compute_flags(src.schema, flags, &d);
		if (fmt == FMT_DOT)
			print_dot(src.schema, &d, &out);
		else if (fmt == FMT_NDJSON)
			print_ndjson(src.schema, &d, &out);
		else
			print_text(src.schema, &d, &out);
		rc = deps_all_loadable(&d) ? EXIT_OK : EXIT_DIFFER;
		deps_release(&d);
		if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout)) {
			if (errno == EPIPE)
				reader_gone();
			else
				error("<stdout>: write error: %s", strerror(errno));
			rc = EXIT_TROUBLE;
		}
	}
	source_close(&src);
	buf_release(&out);
	exit_if_reader_gone();
	return rc;
}
