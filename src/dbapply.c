/* dbapply: apply a row stream or a change stream to a database in one
 * transaction, parents first for inserts and updates, children first for
 * deletes; --dry-run does it all and rolls back. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "deps.h"
#include "diff.h"
#include "stream.h"
#include "summary.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbapply [--dry-run] [--insert-only | --mirror] TARGET [STREAM]\n"
	"Apply a row stream or a change stream (from STREAM or stdin) to TARGET in\n"
	"one transaction.  A row stream is compared with the target's own rows.\n"
	"\n"
	"  (default)        merge: insert new rows, update changed ones, delete nothing\n"
	"  --insert-only    insert new rows only; existing rows are left alone\n"
	"  --mirror         make the stream's complete tables exact copies: deletes too\n"
	"  -n, --dry-run    do everything, report, then roll back: nothing is written\n"
	"  -h, --help       show this help\n"
	"\n"
	"TARGET is sqlite:PATH, a .db/.sqlite file, a URL or an environment name.\n"
	"Prints a per-table summary to stdout.  Exit status: 0 ok, 2 trouble (the\n"
	"target is then as it was).  See dbapply(1).\n";

enum mode { MODE_MERGE, MODE_INSERT_ONLY, MODE_MIRROR };

/* One table of the stream and where its changes are spooled before writing. */
struct plan {
	struct table *st;       /* the stream's table */
	struct table *proj;     /* target types laid out like the stream's table */
	struct diff_counts *counts;
	char *spool[2];         /* [0] inserts and updates, [1] deletes */
	FILE *lines[2];         /* stream line of each spooled change */
	struct stream_writer w[2];
	uint64_t nspooled[2];
};

struct apply {
	enum mode mode;
	int dry_run;
	struct stream_reader rd;
	struct db *db;
	struct schema target;
	struct plan *plans;
	size_t nplans;
	struct summary sum;
	char tmpdir[64];
	struct plan *cur;       /* the table being read */
};

static int spool_open(struct apply *a, struct plan *p, size_t idx, int which)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%zu-%s", a->tmpdir, idx, which ? "delete" : "upsert");
	p->spool[which] = xstrdup(path.buf);
	buf_adds(&path, ".lines");
	p->lines[which] = fopen(path.buf, "w+");
	buf_release(&path);
	if (!p->lines[which] || stream_create(&p->w[which], p->spool[which]) < 0)
		return error("%s: %s", a->tmpdir, strerror(errno));
	stream_write_header(&p->w[which], STREAM_CHANGES, "dbapply spool", a->db->ops->engine);
	stream_write_table(&p->w[which], p->st);
	stream_begin_table(&p->w[which], p->st);
	return 0;
}

/* Spool one change; line is where it came from in the input (0: the target). */
static int spool_change(struct apply *a, const struct change *c, long line)
{
	struct plan *p = a->cur;
	int which = c->type == REC_DELETE;
	if (stream_write_change(&p->w[which], c) < 0 ||
	    fwrite(&line, sizeof(line), 1, p->lines[which]) != 1)
		return error("%s: cannot spool: %s", a->tmpdir, strerror(errno));
	p->nspooled[which]++;
	return 0;
}

static int emit_from_diff(void *ctx, const struct change *c)
{
	struct apply *a = ctx;
	return spool_change(a, c, c->type == REC_DELETE ? 0 : a->rd.rec_line);
}

/* The stream's rows of the current table, for diff_table. */
static int stream_rows_next(void *ctx, const struct row **out)
{
	struct apply *a = ctx;
	int got = stream_next(&a->rd);
	if (got < 0)
		return -1;
	if (got == 0 || a->rd.rec.type == REC_TABLE_END)
		return 0;
	*out = &a->rd.rec.row;
	return 1;
}

struct target_rows {
	struct db *db;
	struct db_cursor *cursor;
	struct row row;
};

static int target_rows_next(void *ctx, const struct row **out)
{
	struct target_rows *tr = ctx;
	int got = tr->db->ops->scan_next(tr->cursor, &tr->row);
	if (got < 0)
		return error("%s: %s", tr->db->shown_url, tr->db->err.buf);
	*out = &tr->row;
	return got;
}

/* Match every stream table with a target table before any data is read. */
static int plan_tables(struct apply *a)
{
	struct buf err = BUF_INIT;
	a->plans = xcalloc(a->rd.schema.n + 1, sizeof(*a->plans));
	for (size_t i = 0; i < a->rd.schema.n; i++) {
		struct table *st = a->rd.schema.tables[i];
		struct table *tt = schema_find(&a->target, st->name);
		struct plan *p = &a->plans[a->nplans++];
		p->st = st;
		if (!tt) {
			buf_release(&err);
			return error("%s:%ld: unknown table \"%s\" (the target has no such table)",
				     a->rd.name, st->line, st->name);
		}
		if (schema_check_compatible(st, tt, &err) < 0) {
			error("%s:%ld: %s", a->rd.name, st->line, err.buf);
			buf_release(&err);
			return -1;
		}
		if (tt->has_triggers)
			warning("table \"%s\" has triggers: they fire for every row written", st->name);
		if (a->mode == MODE_MIRROR && !st->complete && a->rd.kind == STREAM_ROWS)
			warning("table \"%s\" is not complete in the stream: --mirror deletes nothing from it",
				st->name);
		p->proj = table_project(tt, st);
		p->counts = summary_table(&a->sum, st->name);
		if (spool_open(a, p, i, 0) < 0 || spool_open(a, p, i, 1) < 0) {
			buf_release(&err);
			return -1;
		}
	}
	buf_release(&err);
	return 0;
}

/* Phase 1: read the whole input, compare or filter, spool the changes. */
static int read_input(struct apply *a)
{
	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];
		a->cur = p;
		if (a->rd.kind == STREAM_ROWS) {
			struct diff_policy pol = { 1, a->mode != MODE_INSERT_ONLY,
						   a->mode == MODE_MIRROR && p->st->complete };
			struct target_rows tr = { a->db, NULL, { 0 } };
			struct row_iter old = { target_rows_next, &tr, a->db->shown_url };
			struct row_iter new_ = { stream_rows_next, a, a->rd.name };
			if (a->db->ops->scan_open(a->db, p->proj, &tr.cursor) < 0)
				return error("%s: table \"%s\": %s", a->db->shown_url, p->st->name, a->db->err.buf);
			row_init(&tr.row, p->proj->ncols);
			int rc = diff_table(p->st, &old, &new_, &pol, emit_from_diff, a, p->counts);
			a->db->ops->scan_close(tr.cursor);
			row_release(&tr.row);
			if (rc < 0)
				return -1;
			/* diff_table stops at the end of the stream's rows of this table;
			 * the reader has then consumed its end record. */
			if (a->rd.rec.type != REC_TABLE_END && stream_rows_next(a, &(const struct row *){ 0 }) != 0)
				return -1;
			continue;
		}
		int got;
		while ((got = stream_next(&a->rd)) > 0 && a->rd.rec.type != REC_TABLE_END) {
			const struct change *c = &a->rd.rec;
			if (c->table != p->st)
				return stream_error(&a->rd, "internal error: table out of step");
			if (c->type == REC_DELETE && a->mode != MODE_MIRROR) {
				p->counts->kept++;
				continue;
			}
			if (c->type == REC_UPDATE && a->mode == MODE_INSERT_ONLY) {
				p->counts->kept++;
				continue;
			}
			if (spool_change(a, c, a->rd.rec_line) < 0)
				return -1;
			if (c->type == REC_INSERT)
				p->counts->inserts++;
			else if (c->type == REC_UPDATE)
				p->counts->updates++;
			else
				p->counts->deletes++;
		}
		if (got <= 0)
			return got < 0 ? -1 : stream_error(&a->rd, "truncated stream: table \"%s\" has no end record", p->st->name);
	}
	/* The final end record proves the input is whole; nothing is written before. */
	int got = stream_next(&a->rd);
	if (got > 0)
		return stream_error(&a->rd, "records after the last table");
	if (got < 0)
		return -1;
	for (size_t i = 0; i < a->nplans; i++)
		for (int w = 0; w < 2; w++)
			if (stream_end_table(&a->plans[i].w[w]) < 0 || stream_finish(&a->plans[i].w[w]) < 0)
				return -1;
	return 0;
}

/* Write the spooled changes of one table; which: 0 upserts, 1 deletes. */
static int write_spool(struct apply *a, struct plan *p, int which)
{
	struct stream_reader sp;
	int got, ret = -1;
	long line;
	if (!p->nspooled[which])
		return 0;
	rewind(p->lines[which]);
	if (stream_open(&sp, p->spool[which]) < 0)
		goto out;
	while ((got = stream_next(&sp)) > 0) {
		if (sp.rec.type == REC_TABLE_END)
			continue;
		if (fread(&line, sizeof(line), 1, p->lines[which]) != 1) {
			error("%s: spool out of step", p->spool[which]);
			goto out;
		}
		if (a->db->ops->write(a->db, p->proj, &sp.rec) < 0) {
			static const char *const verbs[] = { "insert", "insert", "update", "delete" };
			if (line)
				error("%s:%ld: table \"%s\": %s failed: %s", a->rd.name, line, p->st->name,
				      verbs[sp.rec.type], a->db->err.buf);
			else
				error("%s: table \"%s\": deleting a row only in the target failed: %s",
				      a->db->shown_url, p->st->name, a->db->err.buf);
			goto out;
		}
	}
	if (got == 0)
		ret = 0;
out:
	stream_close(&sp);
	return ret;
}

/* Phase 2: parents first for inserts and updates, children first for deletes. */
static int write_changes(struct apply *a)
{
	struct schema order = { a->nplans, a->nplans, xcalloc(a->nplans + 1, sizeof(struct table *)) };
	struct deps d;
	int ret = -1;
	/* The target's own references decide the order. */
	for (size_t i = 0; i < a->nplans; i++)
		order.tables[i] = schema_find(&a->target, a->plans[i].st->name);
	deps_compute(&order, &d);
	for (size_t i = 0; i < a->nplans; i++)
		if (write_spool(a, &a->plans[d.order[i]], 0) < 0)
			goto out;
	for (size_t i = a->nplans; i-- > 0;)
		if (write_spool(a, &a->plans[d.order[i]], 1) < 0)
			goto out;
	for (size_t i = 0; i < a->nplans; i++)
		if (a->plans[i].counts->inserts && a->db->ops->reset_sequence(a->db, a->plans[i].proj) < 0) {
			error("%s: table \"%s\": %s", a->db->shown_url, a->plans[i].st->name, a->db->err.buf);
			goto out;
		}
	if (a->db->ops->check_constraints(a->db) < 0) {
		error("%s: %s", a->db->shown_url, a->db->err.buf);
		goto out;
	}
	ret = 0;
out:
	deps_release(&d);
	free(order.tables);
	return ret;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(struct apply *a)
{
	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];
		for (int w = 0; w < 2; w++) {
			if (p->w[w].name)
				stream_abandon(&p->w[w]);
			if (p->lines[w])
				fclose(p->lines[w]);
			free(p->spool[w]);
		}
		table_free(p->proj);
	}
	free(a->plans);
	if (a->tmpdir[0])
		nftw(a->tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	schema_release(&a->target);
	summary_release(&a->sum);
}

static int run(struct apply *a, const char *target, const char *input)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(a->tmpdir, sizeof(a->tmpdir), "%s/dbapply.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(a->tmpdir)) {
		a->tmpdir[0] = '\0';
		return error("cannot make a spool directory: %s", strerror(errno));
	}
	if (stream_open(&a->rd, input) < 0)
		return -1;
	if (!(a->db = db_connect(target)))
		return -1;
	if (a->db->ops->begin_write(a->db) < 0 || a->db->ops->load_schema(a->db, &a->target) < 0)
		return error("%s: %s", a->db->shown_url, a->db->err.buf);
	if (plan_tables(a) < 0 || read_input(a) < 0 || write_changes(a) < 0)
		return -1;
	if (a->dry_run) {
		if (a->db->ops->rollback(a->db) < 0)
			return error("%s: rollback failed: %s", a->db->shown_url, a->db->err.buf);
		summary_print(&a->sum, stdout);
		printf("dry run: rolled back, nothing was written to %s\n", a->db->shown_url);
		return 0;
	}
	if (a->db->ops->commit(a->db) < 0)
		return error("%s: commit failed: %s", a->db->shown_url, a->db->err.buf);
	summary_print(&a->sum, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "insert-only", no_argument, NULL, 'I' },
		{ "mirror", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct apply a;
	int c, rc = EXIT_TROUBLE;

	util_progname = "dbapply";
	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': a.dry_run = 1; break;
		case 'I':
		case 'M':
			if (a.mode != MODE_MERGE && a.mode != (c == 'I' ? MODE_INSERT_ONLY : MODE_MIRROR))
				usage_error("--insert-only and --mirror exclude each other");
			a.mode = c == 'I' ? MODE_INSERT_ONLY : MODE_MIRROR;
			break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: usage_error("unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2)
		usage_error(argc ? "too many operands" : "missing TARGET");

	if (run(&a, argv[0], argc > 1 ? argv[1] : "-") == 0)
		rc = EXIT_OK;
	else if (a.db) {
		if (a.db->ops->rollback(a.db) < 0)
			error("%s: rollback failed: %s", a.db->shown_url, a.db->err.buf);
		else
			error("nothing was written to %s", a.db->shown_url);
	}
	cleanup(&a);
	if (a.rd.name)
		stream_close(&a.rd);
	db_disconnect(a.db);
	if (fflush(stdout) || ferror(stdout))
		rc = EXIT_TROUBLE;
	return rc;
}
