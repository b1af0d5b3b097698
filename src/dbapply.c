/* dbapply: apply a row stream or a change stream to a database in one
 * transaction (the work is in lib/apply.c); backups, undo and rollback. */
#include <getopt.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "backup.h"
#include "db.h"
#include "source.h"
#include "summary.h"
#include "syncbase.h"
#include "syncmark.h"
#include "convert.h"
#include "progress.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbapply [-n | --sql] [--insert-only | --mirror] [options] TARGET [STREAM]\n"
	"       dbapply --rollback [options] TARGET\n"
	"       dbapply --mark TARGET\n"
	"Apply a row stream or a change stream (from STREAM or stdin) to TARGET in\n"
	"one transaction.  A row stream is compared with the target's own rows and,\n"
	"after the first sync from its source, with the sync base: what both held.\n"
	"\n"
	"  (default)         merge: insert new rows, update rows the source changed,\n"
	"                    keep what the target changed, delete nothing; report\n"
	"                    conflicts and collisions and leave them out\n"
	"  --prefer source|target\n"
	"                    settle conflicts with the stream's or the target's values\n"
	"                    (and rows that differ where no sync base tells an edit\n"
	"                    from a collision: a first sync)\n"
	"  --rekey           insert a collision (a key both sides created) under a new\n"
	"                    key, and translate later streams from the source by it\n"
	"  --with-history    also apply migration-history tables (django_migrations...);\n"
	"                    --schema does\n"
	"  --schema          first create the tables, columns, indexes and foreign keys\n"
	"                    of the stream that the target lacks (dbpipe(5)), and\n"
	"                    change columns where nothing is lost (a wider type, NOT\n"
	"                    NULL dropped, a default); the migration history travels\n"
	"                    with them\n"
	"  --without-triggers\n"
	"                    with --schema from another engine: make tables without\n"
	"                    the source's triggers (each named), not refuse them\n"
	"  --without-engine-indexes\n"
	"                    with --schema from another engine: leave out MySQL's\n"
	"                    FULLTEXT and SPATIAL indexes (each named), not refuse them\n"
	"  --insert-only     insert new rows only; existing rows are left alone\n"
	"  --mirror          make the stream's complete tables exact copies: deletes too;\n"
	"                    with --schema also drop the columns and tables the stream\n"
	"                    lacks, narrow types and set NOT NULL (kept for --rollback)\n"
	"  -n, --dry-run     do everything, report, then roll back: nothing is written\n"
	"  --sql             a dry run that prints the statements it would run, schema\n"
	"                    and rows, as one script for the target engine's own client\n"
	"                    (psql, mysql, sqlite3); the summary goes to stderr\n"
	"  --rollback        apply the newest undo stream of TARGET: the state before\n"
	"                    the last sync comes back\n"
	"  --mark            print the mark of the last sync into TARGET, for\n"
	"                    dbdump-rows --since (nothing if it has none)\n"
	"  --force           write over rows that changed in the target since the\n"
	"                    stream was made (conflicts), instead of stopping\n"
	"  -y, --yes         confirm destructive work on a protected environment\n"
	"  --no-backup       no backup first, even on a protected environment\n"
	"  --no-undo         do not write an undo stream\n"
	"  --disable-triggers\n"
	"                    turn the target tables' own triggers off while writing\n"
	"                    (PostgreSQL, SQLite), so rows arrive exactly as sent\n"
	"  --save-base FILE  after success, write the target's rows to FILE (the\n"
	"                    BASE of a later three-way dbmerge)\n"
	"  --allow-non-transactional\n"
	"                    write MySQL tables that cannot roll back (MyISAM)\n"
	"  --zero-date=null  read MySQL zero dates (0000-00-00) as NULL\n"
	"  --lossy fraction  cut digits of a second or decimal places that the target\n"
	"                    column does not keep, instead of refusing the value\n"
	"  -q, --quiet       no progress meter on stderr (shown only on a terminal)\n"
	"  -h, --help        show this help\n"
	"\n"
	"TARGET is sqlite:PATH, a .db/.sqlite file, a URL, csv:DIR or an environment\n"
	"name.\n"
	"Prints a per-table summary to stdout.  Exit status: 0 ok, 2 trouble (the\n"
	"target is then as it was); 1 when conflicts, collisions or conflict records\n"
	"from dbmerge were left out (the rest is applied).  See dbapply(1).\n";

/* The mark of the last sync into the target (syncmark.h) and that of the
 * stream being applied, which replaces it after the commit. */
struct marks {
	const char *dir, *label, *identity, *target;
	const struct filter *exclude; /* the target environment's: never applied */
	struct sync_mark last;   /* mark NULL: none */
	struct sync_mark next;   /* from the stream's header; mark NULL: none */
};

/* A stream of the changes since a mark (dbdump-rows --since) brings the
 * target up to date only from the state that mark promises: the target's
 * last sync must be at or after it and have held each of its tables. */
static int check_stream_marks(void *ctx, const struct stream_reader *rd)
{
	struct marks *m = ctx;
	if (rd->since) {
		const char *why = !m->last.mark ? "has no record of a sync from it"
				  : !sync_mark_covers(&m->last, rd->since) ? "was last synced from another point"
				  : NULL;
		if (why)
			return error("%s:1: the stream holds only the rows changed since its \"since\" mark, and %s %s: "
				     "dump it without --since", rd->name, m->target, why);
		for (size_t i = 0; i < rd->schema.n; i++) {
			const struct table *t = rd->schema.tables[i];
			if (m->exclude && !filter_match(m->exclude, t->name))
				continue; /* never applied here */
			if (!sync_mark_has_table(&m->last, t->name))
				return error("%s:%ld: table \"%s\" was not in the last sync into %s, so its changes "
					     "since then are not enough: dump it without --since", rd->name, t->line,
					     t->name, m->target);
		}
	}
	if (rd->mark) {
		m->next.mark = xstrdup(rd->mark);
		m->next.tables = xcalloc(rd->schema.n + 1, sizeof(char *));
		/* what the run applies: not the tables the environment keeps to itself */
		for (size_t i = 0; i < rd->schema.n; i++)
			if (!m->exclude || filter_match(m->exclude, rd->schema.tables[i]->name))
				m->next.tables[m->next.ntables++] = xstrdup(rd->schema.tables[i]->name);
	}
	return 0;
}

struct before_write {
	struct db *db;
	const char *target;
	enum apply_mode mode;
	int yes, dry_run, backup, rollback;
	int done;             /* asked (and backed up) before MySQL's drops */
	const char *label;
	struct marks *marks;
	const struct db_options *dbopts;
};

/* Destructive work on a protected environment needs --yes or its name typed. */
static int confirm_destructive(struct before_write *c, const struct summary *planned)
{
	/* Only --mirror (and --rollback, which is one) can delete rows. */
	if (!c->db->env.protected_env || c->yes || c->dry_run || c->mode != APPLY_MIRROR)
		return 0;
	const char *name = c->db->env.name;
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return error("%s is protected: %s needs --yes (no terminal to ask on)", name,
			     c->rollback ? "--rollback" : "--mirror");
	progress_done();
	if (planned)
		summary_print(planned, stderr);
	else
		fprintf(stderr, "dbapply: the schema of %s changes first (see dbapply: schema: below)\n", name);
	fprintf(stderr, "%s is protected. Type its name to go on: ", name);
	char *line = NULL;
	size_t alloc = 0;
	ssize_t n = getline(&line, &alloc, stdin);
	int ok = n > 0 && (line[n - 1] = '\0', !strcmp(line, name));
	free(line);
	return ok ? 0 : error("not confirmed: nothing was written to %s", name);
}

/* Once the plan is known and confirmed: a backup first on a protected
 * environment (from its own connection, which still sees the state before).
 * planned NULL: before the DDL of --schema or a rollback (MySQL's drops,
 * which it cannot take back; on PostgreSQL the backup would wait on the
 * DDL's locks), and then not again before the rows. */
static int before_write(void *ctx, const struct summary *planned)
{
	struct before_write *c = ctx;
	if (c->done)
		return 0;
	if (confirm_destructive(c, planned) < 0)
		return -1;
	c->done = !planned;
	/* From here the target may change: its old mark no longer holds. */
	if (!c->dry_run && sync_mark_forget(c->marks->dir, c->marks->label) < 0)
		return error("the mark of the last sync cannot be removed, so nothing was written");
	if (!c->backup || (planned && !summary_changes(planned) && !planned->schema_drops))
		return 0;
	char *path = backup_new_path(backup_dir(c->db), c->label, "backup");
	if (!path || backup_write(c->target, path, c->dbopts, 0) < 0) {
		free(path);
		return error("no backup, so nothing was written (--no-backup skips it)");
	}
	fprintf(stderr, "dbapply: backup: %s\n", path);
	free(path);
	return 0;
}

/* A partial undo stream of label newer than found (or any, when found is
 * NULL) is a later run that was stopped (kill -9, a lost link) while it
 * committed: whether its changes are in the target is unknown, and rolling
 * back the sync before it would leave them there.  -1 (said why) if so. */
static int refuse_unsettled(struct db *db, const char *label, const char *found)
{
	char **left;
	size_t nleft, len = strlen(label);
	struct stat fst, lst;
	int rc = 0;
	if (backup_scan_leftovers(backup_dir(db), -1, &left, &nleft) < 0)
		return -1;
	if (found && stat(found, &fst) < 0)
		found = NULL;
	for (size_t i = 0; i < nleft; i++) {
		const char *slash = strrchr(left[i], '/'), *name = slash ? slash + 1 : left[i];
		if (!rc && !strncmp(name, label, len) && name[len] == '-' && !stat(left[i], &lst) &&
		    (!found || lst.st_mtime >= fst.st_mtime))
			rc = error("%s: a later sync into %s was stopped during its commit, so whether it "
				   "committed is unknown: if its changes are in the target, rename the file to end in "
				   ".undo.ndjson.gz and roll back again (it undoes that sync), else remove it; "
				   "nothing was rolled back", left[i], db->shown_url);
		free(left[i]);
	}
	free(left);
	return rc;
}

/* The newest undo stream of db in its backup directory, or NULL. */
static char *newest_undo(struct db *db, const char *label, const char *identity)
{
	struct backup_info *list;
	size_t n;
	char *found = NULL;
	if (access(backup_dir(db), F_OK) < 0) {
		error("no undo stream for %s: no %s/ here", db->shown_url, backup_dir(db));
		return NULL;
	}
	if (backup_scan(backup_dir(db), &list, &n) < 0)
		return NULL;
	for (size_t i = n; i-- > 0 && !found;) {
		static const char suffix[] = ".undo.ndjson.gz";
		size_t len = strlen(list[i].path);
		/* by identity, so prod.db, ./prod.db and sqlite:prod.db are one
		 * target, and a/prod.db and b/prod.db are two */
		if (!strcmp(list[i].purpose, "undo") && len > sizeof(suffix) &&
		    !strcmp(list[i].path + len - (sizeof(suffix) - 1), suffix) &&
		    !strcmp(list[i].label, label) && !strcmp(list[i].source, identity))
			found = xstrdup(list[i].path);
	}
	backup_list_free(list, n);
	if (refuse_unsettled(db, label, found) < 0) {
		free(found);
		return NULL;
	}
	if (!found)
		error("no undo stream for %s in %s/", db->shown_url, backup_dir(db));
	return found;
}

/* foo.undo.ndjson.gz -> foo.undone.ndjson.gz: a rollback is not repeated. */
static void mark_undone(const char *path)
{
	struct buf to = BUF_INIT;
	buf_add(&to, path, strlen(path) - strlen(".undo.ndjson.gz"));
	buf_adds(&to, ".undone.ndjson.gz");
	if (rename(path, to.buf) < 0)
		warning("%s: cannot rename to %s", path, to.buf);
	buf_release(&to);
}

/* What the command line asks for. */
struct args {
	struct apply_opts o;     /* mode, dry_run, force, disable_triggers, rekey */
	struct db_options dbopts;
	const char *target, *input, *save_base, *prefer;
	int quiet, yes, rollback, print_mark, no_backup, no_undo, with_history;
};

/* Options and operands into a, in getopt's order; a usage error exits. */
static void parse_options(int argc, char **argv, struct args *a)
{
	enum { OPT_INSERT_ONLY = 256, OPT_MIRROR, OPT_FORCE, OPT_NO_BACKUP, OPT_NO_UNDO,
	       OPT_ROLLBACK, OPT_SAVE_BASE, OPT_ALLOW_NONTX, OPT_MARK, OPT_DISABLE_TRIGGERS, OPT_PREFER,
	       OPT_WITH_HISTORY, OPT_REKEY, OPT_SCHEMA, OPT_LOSSY, OPT_SQL, OPT_WITHOUT_TRIGGERS,
	       OPT_WITHOUT_ENGINE_INDEXES };
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "insert-only", no_argument, NULL, OPT_INSERT_ONLY },
		{ "mirror", no_argument, NULL, OPT_MIRROR },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "yes", no_argument, NULL, 'y' },
		{ "no-backup", no_argument, NULL, OPT_NO_BACKUP },
		{ "no-undo", no_argument, NULL, OPT_NO_UNDO },
		{ "rollback", no_argument, NULL, OPT_ROLLBACK },
		{ "mark", no_argument, NULL, OPT_MARK },
		{ "disable-triggers", no_argument, NULL, OPT_DISABLE_TRIGGERS },
		{ "save-base", required_argument, NULL, OPT_SAVE_BASE },
		{ "prefer", required_argument, NULL, OPT_PREFER },
		{ "with-history", no_argument, NULL, OPT_WITH_HISTORY },
		{ "rekey", no_argument, NULL, OPT_REKEY },
		{ "schema", no_argument, NULL, OPT_SCHEMA },
		{ "without-triggers", no_argument, NULL, OPT_WITHOUT_TRIGGERS },
		{ "without-engine-indexes", no_argument, NULL, OPT_WITHOUT_ENGINE_INDEXES },
		{ "sql", no_argument, NULL, OPT_SQL },
		{ "lossy", required_argument, NULL, OPT_LOSSY },
		{ "allow-non-transactional", no_argument, NULL, OPT_ALLOW_NONTX },
		{ "quiet", no_argument, NULL, 'q' },
		{ "zero-date", required_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct apply_opts *o = &a->o;
	int c;
	while ((c = getopt_long(argc, argv, "qnyh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': o->dry_run = 1; break;
		case OPT_INSERT_ONLY:
		case OPT_MIRROR: {
			enum apply_mode m = c == OPT_MIRROR ? APPLY_MIRROR : APPLY_INSERT_ONLY;
			if (o->mode != APPLY_MERGE && o->mode != m)
				usage_error("--insert-only and --mirror exclude each other");
			o->mode = m;
			break;
		}
		case OPT_FORCE: o->force = 1; break;
		case 'y': a->yes = 1; break;
		case OPT_NO_BACKUP: a->no_backup = 1; break;
		case OPT_NO_UNDO: a->no_undo = 1; break;
		case OPT_ROLLBACK: a->rollback = 1; break;
		case OPT_MARK: a->print_mark = 1; break;
		case OPT_DISABLE_TRIGGERS: o->disable_triggers = 1; break;
		case OPT_SAVE_BASE: a->save_base = optarg; break;
		case OPT_PREFER:
			if (strcmp(optarg, "source") && strcmp(optarg, "target"))
				usage_error("--prefer takes source or target");
			a->prefer = optarg;
			break;
		case OPT_WITH_HISTORY: a->with_history = 1; break;
		case OPT_REKEY: o->rekey = 1; break;
		case OPT_SCHEMA: o->schema = 1; break;
		case OPT_WITHOUT_TRIGGERS: o->without_triggers = 1; break;
		case OPT_WITHOUT_ENGINE_INDEXES: o->without_engine_indexes = 1; break;
		case OPT_SQL: o->sql = o->dry_run = 1; break;
		case OPT_LOSSY:
			/* one kind for now; a list would be comma-separated */
			if (strcmp(optarg, "fraction"))
				usage_error("--lossy takes only \"fraction\"");
			o->lossy |= LOSSY_FRACTION;
			break;
		case OPT_ALLOW_NONTX: a->dbopts.allow_non_transactional = 1; break;
		case 'q': a->quiet = 1; break;
		case 'Z':
			if (db_parse_zero_date(optarg, &a->dbopts) < 0)
				usage_error("--zero-date takes only \"null\"");
			break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: usage_error(NULL); /* getopt has named the option */
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2 - (a->rollback || a->print_mark))
		usage_error(argc ? "too many operands" : "missing TARGET");
	if (a->print_mark && (a->rollback || o->mode != APPLY_MERGE || o->dry_run))
		usage_error("--mark takes no other action");
	if (o->schema && (a->rollback || a->print_mark))
		usage_error("--schema goes with a stream to apply, not --rollback or --mark");
	if ((o->without_triggers || o->without_engine_indexes) && !o->schema)
		usage_error("--without-triggers and --without-engine-indexes go with --schema");
	if (o->sql && (a->rollback || a->print_mark || o->disable_triggers || a->save_base))
		usage_error("--sql goes with a stream to apply, without --rollback, --mark, "
			    "--disable-triggers or --save-base");
	if (a->rollback && o->mode != APPLY_MERGE)
		usage_error("--rollback takes no --insert-only or --mirror");
	/* A dry run must not write what it cannot take back. */
	if (o->dry_run)
		a->dbopts.allow_non_transactional = 0;
	a->target = argv[0];
	a->input = argc > 1 ? argv[1] : "-";
}

/* One run: the command line, the target and what is kept for the end. */
struct run {
	struct args args;
	struct db *db;
	const char *shown;       /* how messages name the target: never with its password */
	char *label, *identity;
	struct marks marks;
	struct filter envf;      /* the target environment's excludes */
	char **history;
	size_t nhistory;
	struct before_write bw;
	struct summary sum;
	uint64_t conflict_records;
	char *undo, *rollback_from;
};

/* Connect, and read the mark of the last sync into the target. */
static int open_target(struct run *r)
{
	if (!(r->db = db_connect(r->args.target, &r->args.dbopts)))
		return -1;
	r->label = backup_label(r->db);
	r->identity = db_identity(r->db);
	r->args.o.undo_source = r->identity;
	r->marks.dir = backup_dir(r->db);
	r->marks.label = r->label;
	r->marks.identity = r->identity;
	r->shown = r->db->env.name ? r->db->env.name : r->db->shown_url;
	r->marks.target = r->shown;
	sync_mark_read(r->marks.dir, r->label, r->identity, &r->marks.last);
	return 0;
}

/* --rollback: the input is the newest undo stream, applied as a mirror. */
static int start_rollback(struct run *r)
{
	/* An undo stream deletes what the sync inserted: it needs mirror's deletes. */
	r->args.o.mode = APPLY_MIRROR;
	r->args.o.rollback = 1; /* it may make again what a --schema --mirror dropped */
	r->args.no_undo = 1;
	if (!(r->rollback_from = newest_undo(r->db, r->label, r->identity)))
		return -1;
	r->args.input = r->rollback_from;
	fprintf(stderr, "dbapply: rolling back with %s\n", r->args.input);
	return 0;
}

/* A rollback that committed: the sync bases as they were before that sync,
 * and its undo stream marked as used. */
static void finish_rollback(struct run *r)
{
	if (sync_base_restore(r->rollback_from, backup_dir(r->db), r->label) < 0)
		warning("the rollback is done, but the sync base was not restored: the next merge may "
			"take the rolled-back rows for the target's own changes");
	mark_undone(r->rollback_from);
}

/* The rest of apply_opts, from the target's environment and the run. */
static void settle_apply_opts(struct run *r)
{
	struct apply_opts *o = &r->args.o;
	struct db *db = r->db;
	const char *prefer = r->args.prefer ? r->args.prefer : db->env.prefer;
	o->after_header = check_stream_marks;
	o->after_header_ctx = &r->marks;
	o->prefer = !prefer ? PREFER_NONE : !strcmp(prefer, "source") ? PREFER_OURS : PREFER_THEIRS;
	o->rekey |= db->env.rekey;
	o->natural = db->env.natural;
	o->nnatural = db->env.nnatural;
	o->base_dir = backup_dir(db);
	o->base_label = r->label;
	/* --schema: the migration history travels with the schema it
	 * describes, so that the framework finds nothing left to migrate. */
	for (const char *const *h = apply_default_history; *h; h++)
		filter_add(&r->history, &r->nhistory, *h);
	for (size_t i = 0; i < db->env.nhistory; i++)
		filter_add(&r->history, &r->nhistory, db->env.history[i]);
	o->history = r->history;
	o->nhistory = r->nhistory;
	o->with_history = r->args.with_history || o->schema;
	if (db->env.nexclude) {
		r->envf.exclude = db->env.exclude;
		r->envf.nexclude = db->env.nexclude;
		o->exclude = &r->envf;
		r->marks.exclude = &r->envf;
	}
	r->bw = (struct before_write){
		.db = db, .target = r->args.target, .mode = o->mode, .yes = r->args.yes,
		.dry_run = o->dry_run, .rollback = r->args.rollback,
		.backup = db->env.protected_env && !r->args.no_backup && !o->dry_run,
		.label = r->label, .marks = &r->marks, .dbopts = &r->args.dbopts,
	};
	o->before_write = before_write;
	o->before_write_ctx = &r->bw;
}

/* What a committed run (or a dry run) reports on stdout, and keeps: the
 * stream's mark, the base for dbmerge.  Returns the exit status. */
static int finish_apply(struct run *r)
{
	const struct apply_opts *o = &r->args.o;
	uint64_t n = r->conflict_records;
	int rc;
	/* Committed: the stream's mark is now the target's (a failure to
	 * record it costs only a full sync next time). */
	if (!o->dry_run && r->marks.next.mark &&
	    sync_mark_write(r->marks.dir, r->label, r->identity, &r->marks.next) < 0)
		warning("the sync is done, but its mark was not kept: the next --since dump will be whole");
	/* --sql: stdout is the script */
	FILE *report = o->sql ? stderr : stdout;
	summary_print(&r->sum, report);
	if (o->dry_run)
		fprintf(report, "dry run: rolled back, nothing was written to %s\n", r->db->shown_url);
	if (r->undo && !access(r->undo, F_OK))
		printf("undo: %s (dbapply --rollback %s restores the state before this run)\n", r->undo, r->shown);
	if (r->rollback_from && !o->dry_run)
		finish_rollback(r);
	if (n)
		printf("%llu conflict%s from dbmerge not applied: settle %s with dbmerge --prefer\n",
		       (unsigned long long)n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
	rc = n || summary_undecided(&r->sum) ? EXIT_DIFFER : EXIT_OK;
	if (r->args.save_base && !o->dry_run) {
		struct source base;
		if (source_open(&base, r->args.target, NULL, &r->args.dbopts) < 0 ||
		    source_dump(&base, r->args.save_base, "base") < 0) {
			error("%s: the sync is done, but the base was not saved", r->args.save_base);
			rc = EXIT_TROUBLE;
		}
		source_close(&base);
	}
	return rc;
}

/* Apply the input to the target (a rollback's too); returns the exit status. */
static int apply(struct run *r)
{
	struct apply_opts *o = &r->args.o;
	settle_apply_opts(r);
	if (!r->args.no_undo && !o->dry_run && !(r->undo = backup_new_path(backup_dir(r->db), r->label, "undo")))
		return EXIT_TROUBLE;
	o->undo_path = r->undo;
	if (apply_stream(r->db, r->args.input, o, &r->sum, &r->conflict_records) < 0)
		return EXIT_TROUBLE;
	return finish_apply(r);
}

static void run_release(struct run *r)
{
	summary_release(&r->sum);
	sync_mark_release(&r->marks.last);
	sync_mark_release(&r->marks.next);
	db_disconnect(r->db);
	free(r->undo);
	free(r->rollback_from);
	free(r->label);
	free(r->identity);
	for (size_t i = 0; i < r->nhistory; i++)
		free(r->history[i]);
	free(r->history);
}

int main(int argc, char **argv)
{
	struct run r = { .args = { .o = { APPLY_MERGE } } };
	int rc = EXIT_TROUBLE;

	util_progname = "dbapply";
	interrupt_defer(); /* Ctrl-C and kill roll back and clean up first */
	argv[0] = (char *)util_progname; /* getopt's messages start with it */
	parse_options(argc, argv, &r.args);
	progress_init(r.args.quiet);
	if (open_target(&r) < 0)
		goto out;
	if (r.args.print_mark) {
		if (r.marks.last.mark)
			printf("%s\n", r.marks.last.mark);
		rc = EXIT_OK;
		goto out;
	}
	if (r.args.rollback && start_rollback(&r) < 0)
		goto out;
	rc = apply(&r);
out:
	if (fflush(stdout) || ferror(stdout))
		rc = EXIT_TROUBLE;
	if (util_interrupted)
		rc = 128 + util_interrupted;
	run_release(&r);
	return rc;
}
