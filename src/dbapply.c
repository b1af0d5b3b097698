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
#include "progress.h"
#include "util.h"

static const char usage_text[] =
	"usage: dbapply [-n] [--insert-only | --mirror] [options] TARGET [STREAM]\n"
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
	"  --rekey           insert a collision (a key both sides created) under a new\n"
	"                    key, and translate later streams from the source by it\n"
	"  --with-history    also apply migration-history tables (django_migrations...)\n"
	"  --insert-only     insert new rows only; existing rows are left alone\n"
	"  --mirror          make the stream's complete tables exact copies: deletes too\n"
	"  -n, --dry-run     do everything, report, then roll back: nothing is written\n"
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
	"  -q, --quiet       no progress meter on stderr (shown only on a terminal)\n"
	"  -h, --help        show this help\n"
	"\n"
	"TARGET is sqlite:PATH, a .db/.sqlite file, a URL or an environment name.\n"
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
	summary_print(planned, stderr);
	fprintf(stderr, "%s is protected. Type its name to go on: ", name);
	char *line = NULL;
	size_t alloc = 0;
	ssize_t n = getline(&line, &alloc, stdin);
	int ok = n > 0 && (line[n - 1] = '\0', !strcmp(line, name));
	free(line);
	return ok ? 0 : error("not confirmed: nothing was written to %s", name);
}

/* Once the plan is known and confirmed: a backup first on a protected
 * environment (from its own connection, which still sees the state before). */
static int before_write(void *ctx, const struct summary *planned)
{
	struct before_write *c = ctx;
	if (confirm_destructive(c, planned) < 0)
		return -1;
	/* From here the target may change: its old mark no longer holds. */
	if (!c->dry_run && sync_mark_forget(c->marks->dir, c->marks->label) < 0)
		return error("the mark of the last sync cannot be removed, so nothing was written");
	if (!c->backup || !summary_changes(planned))
		return 0;
	char *path = backup_new_path(backup_dir(c->db), c->label, "backup");
	if (!path || backup_write(c->target, path, c->dbopts) < 0) {
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

int main(int argc, char **argv)
{
	enum { OPT_INSERT_ONLY = 256, OPT_MIRROR, OPT_FORCE, OPT_NO_BACKUP, OPT_NO_UNDO,
	       OPT_ROLLBACK, OPT_SAVE_BASE, OPT_ALLOW_NONTX, OPT_MARK, OPT_DISABLE_TRIGGERS, OPT_PREFER,
	       OPT_WITH_HISTORY, OPT_REKEY };
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
		{ "allow-non-transactional", no_argument, NULL, OPT_ALLOW_NONTX },
		{ "quiet", no_argument, NULL, 'q' },
		{ "zero-date", required_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct apply_opts o = { APPLY_MERGE };
	struct before_write bw = { 0 };
	struct db_options dbopts = { 0 };
	struct marks marks = { 0 };
	struct filter envf = { 0 }; /* the target environment's excludes */
	struct summary sum = { 0 };
	struct db *db = NULL;
	uint64_t conflict_records = 0;
	const char *save_base = NULL, *prefer = NULL, *input;
	char **history = NULL;
	size_t nhistory = 0;
	char *undo = NULL, *rollback_from = NULL, *label = NULL, *identity = NULL;
	int c, quiet = 0, rollback = 0, print_mark = 0, no_backup = 0, no_undo = 0, with_history = 0;
	int rc = EXIT_TROUBLE;

	util_progname = "dbapply";
	interrupt_defer(); /* Ctrl-C and kill roll back and clean up first */
	argv[0] = (char *)util_progname; /* getopt's messages start with it */
	while ((c = getopt_long(argc, argv, "qnyh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': o.dry_run = 1; break;
		case OPT_INSERT_ONLY:
		case OPT_MIRROR: {
			enum apply_mode m = c == OPT_MIRROR ? APPLY_MIRROR : APPLY_INSERT_ONLY;
			if (o.mode != APPLY_MERGE && o.mode != m)
				usage_error("--insert-only and --mirror exclude each other");
			o.mode = m;
			break;
		}
		case OPT_FORCE: o.force = 1; break;
		case 'y': bw.yes = 1; break;
		case OPT_NO_BACKUP: no_backup = 1; break;
		case OPT_NO_UNDO: no_undo = 1; break;
		case OPT_ROLLBACK: rollback = 1; break;
		case OPT_MARK: print_mark = 1; break;
		case OPT_DISABLE_TRIGGERS: o.disable_triggers = 1; break;
		case OPT_SAVE_BASE: save_base = optarg; break;
		case OPT_PREFER:
			if (strcmp(optarg, "source") && strcmp(optarg, "target"))
				usage_error("--prefer takes source or target");
			prefer = optarg;
			break;
		case OPT_WITH_HISTORY: with_history = 1; break;
		case OPT_REKEY: o.rekey = 1; break;
		case OPT_ALLOW_NONTX: dbopts.allow_non_transactional = 1; break;
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
	if (argc < 1 || argc > 2 - (rollback || print_mark))
		usage_error(argc ? "too many operands" : "missing TARGET");
	if (print_mark && (rollback || o.mode != APPLY_MERGE || o.dry_run))
		usage_error("--mark takes no other action");
	if (rollback && o.mode != APPLY_MERGE)
		usage_error("--rollback takes no --insert-only or --mirror");
	/* A dry run must not write what it cannot take back. */
	if (o.dry_run)
		dbopts.allow_non_transactional = 0;

	if (!(db = db_connect(argv[0], &dbopts)))
		goto out;
	label = backup_label(db);
	identity = db_identity(db);
	o.undo_source = identity;
	marks.dir = backup_dir(db);
	marks.label = label;
	marks.identity = identity;
	/* how messages name the target: never with its password */
	const char *shown = db->env.name ? db->env.name : db->shown_url;
	marks.target = shown;
	sync_mark_read(marks.dir, label, identity, &marks.last);
	if (print_mark) {
		if (marks.last.mark)
			printf("%s\n", marks.last.mark);
		rc = EXIT_OK;
		goto out;
	}
	o.after_header = check_stream_marks;
	o.after_header_ctx = &marks;
	input = argc > 1 ? argv[1] : "-";
	if (rollback) {
		/* An undo stream deletes what the sync inserted: it needs mirror's deletes. */
		o.mode = APPLY_MIRROR;
		no_undo = 1;
		if (!(rollback_from = newest_undo(db, label, identity)))
			goto out;
		input = rollback_from;
		fprintf(stderr, "dbapply: rolling back with %s\n", input);
	}
	if (!prefer)
		prefer = db->env.prefer;
	o.prefer = !prefer ? PREFER_NONE : !strcmp(prefer, "source") ? PREFER_OURS : PREFER_THEIRS;
	o.rekey |= db->env.rekey;
	o.natural = db->env.natural;
	o.nnatural = db->env.nnatural;
	o.base_dir = backup_dir(db);
	o.base_label = label;
	if (!with_history) {
		for (const char *const *h = apply_default_history; *h; h++)
			filter_add(&history, &nhistory, *h);
		for (size_t i = 0; i < db->env.nhistory; i++)
			filter_add(&history, &nhistory, db->env.history[i]);
		o.history = history;
		o.nhistory = nhistory;
	}
	if (db->env.nexclude) {
		envf.exclude = db->env.exclude;
		envf.nexclude = db->env.nexclude;
		o.exclude = &envf;
		marks.exclude = &envf;
	}
	bw.db = db;
	bw.target = argv[0];
	bw.mode = o.mode;
	bw.dry_run = o.dry_run;
	bw.rollback = rollback;
	bw.backup = db->env.protected_env && !no_backup && !o.dry_run;
	bw.label = label;
	bw.marks = &marks;
	bw.dbopts = &dbopts;
	o.before_write = before_write;
	o.before_write_ctx = &bw;
	if (!no_undo && !o.dry_run && !(undo = backup_new_path(backup_dir(db), label, "undo")))
		goto out;
	o.undo_path = undo;
	if (apply_stream(db, input, &o, &sum, &conflict_records) < 0)
		goto out;
	/* Committed: the stream's mark is now the target's (a failure to
	 * record it costs only a full sync next time). */
	if (!o.dry_run && marks.next.mark &&
	    sync_mark_write(marks.dir, label, identity, &marks.next) < 0)
		warning("the sync is done, but its mark was not kept: the next --since dump will be whole");
	summary_print(&sum, stdout);
	if (o.dry_run)
		printf("dry run: rolled back, nothing was written to %s\n", db->shown_url);
	if (undo && !access(undo, F_OK))
		printf("undo: %s (dbapply --rollback %s restores the state before this run)\n", undo, shown);
	if (rollback_from && !o.dry_run) {
		/* the sync bases as they were before that sync */
		if (sync_base_restore(rollback_from, backup_dir(db), label) < 0)
			warning("the rollback is done, but the sync base was not restored: the next merge may "
				"take the rolled-back rows for the target's own changes");
		mark_undone(rollback_from);
	}
	if (conflict_records)
		printf("%llu conflict%s from dbmerge not applied: settle %s with dbmerge --prefer\n",
		       (unsigned long long)conflict_records, conflict_records == 1 ? "" : "s",
		       conflict_records == 1 ? "it" : "them");
	rc = conflict_records || summary_undecided(&sum) ? EXIT_DIFFER : EXIT_OK;
	if (save_base && !o.dry_run) {
		struct source base;
		if (source_open(&base, argv[0], NULL, &dbopts) < 0 || source_dump(&base, save_base, "base") < 0) {
			error("%s: the sync is done, but the base was not saved", save_base);
			rc = EXIT_TROUBLE;
		}
		source_close(&base);
	}
out:
	if (fflush(stdout) || ferror(stdout))
		rc = EXIT_TROUBLE;
	if (util_interrupted)
		rc = 128 + util_interrupted;
	summary_release(&sum);
	sync_mark_release(&marks.last);
	sync_mark_release(&marks.next);
	db_disconnect(db);
	free(undo);
	free(rollback_from);
	free(label);
	free(identity);
	for (size_t i = 0; i < nhistory; i++)
		free(history[i]);
	free(history);
	return rc;
}
