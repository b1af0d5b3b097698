/* syncbase: naming, committing and restoring sync bases (syncbase.h). */
#include "syncbase.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "util.h"

static const char undo_suffix[] = ".undo.ndjson.gz";
/* A base is written zstd (level 1: a whole sync's rows pass through it, and
 * zstd takes a third of gzip's time for less than half its bytes); one
 * kept by an earlier dbpipe is gzip, read and replaced alike. */
static const char base_ext[] = ".ndjson.zst", legacy_ext[] = ".ndjson.gz";

char *sync_base_path(const char *dir, const char *label, const char *identity, const char *source)
{
	struct buf p = BUF_INIT;
	source = source ? source : "";
	buf_addf(&p, "%s/%s.base-%016" PRIx64 "-%016" PRIx64 "%s", dir, label,
		 (uint64_t)XXH3_64bits(identity, strlen(identity)), (uint64_t)XXH3_64bits(source, strlen(source)),
		 base_ext);
	return buf_detach(&p);
}

/* base_path's name with the extension of an earlier dbpipe's base. */
static char *legacy_path(const char *base_path)
{
	struct buf p = BUF_INIT;
	buf_add(&p, base_path, strlen(base_path) - strlen(base_ext));
	buf_adds(&p, legacy_ext);
	return buf_detach(&p);
}

char *sync_base_existing(const char *base_path)
{
	if (!access(base_path, F_OK))
		return xstrdup(base_path);
	char *legacy = legacy_path(base_path);
	if (!access(legacy, F_OK))
		return legacy;
	free(legacy);
	return NULL;
}

/* Whether name ends in a base's extension, this dbpipe's or an earlier's. */
static int has_base_ext(const char *name)
{
	return ends_with(name, base_ext) || ends_with(name, legacy_ext);
}

/* "<undo stem>.prevbase-<hash>" for base_path ".../<label>.base-<hash>.ndjson.*". */
static int prev_stem(struct buf *out, const char *undo_path, const char *base_path)
{
	size_t n = strlen(undo_path), ls = sizeof(undo_suffix) - 1;
	const char *h = strstr(base_path, ".base-");
	if (n <= ls || strcmp(undo_path + n - ls, undo_suffix) || !h)
		return -1;
	buf_add(out, undo_path, n - ls);
	buf_adds(out, ".prevbase-");
	h += strlen(".base-");
	buf_add(out, h, strcspn(h, "."));
	return 0;
}

/* Keep file, a base of base_path's source of either extension (NULL: there
 * is none), for the rollback of undo_path; a hard link, so the base stays
 * in place meanwhile. */
static void keep_for_rollback(const char *file, const char *base_path, const char *undo_path)
{
	struct buf prev = BUF_INIT;
	if (!undo_path || access(undo_path, F_OK) || prev_stem(&prev, undo_path, base_path) < 0) {
		buf_release(&prev);
		return;
	}
	if (file) {
		const char *slash = strrchr(file, '/');
		buf_adds(&prev, strstr(slash ? slash : file, ".ndjson."));
		if (link(file, prev.buf) < 0)
			warning("%s: %s (dbapply --rollback will not restore the sync base)", prev.buf,
				strerror(errno));
	} else {
		buf_adds(&prev, ".none");
		FILE *f = fopen(prev.buf, "w");
		if (!f || fclose(f))
			warning("%s: %s (dbapply --rollback will not remove the sync base)", prev.buf, strerror(errno));
	}
	buf_release(&prev);
}

/* After a mirror, the target's tables are another source's copy: the bases
 * of the target's other sources no longer say what it held. */
static void forget_other_sources(const char *base_path, const char *undo_path)
{
	const char *slash = strrchr(base_path, '/'), *name = slash ? slash + 1 : base_path;
	const char *h = strstr(name, ".base-");
	struct buf dir = BUF_INIT, other = BUF_INIT;
	if (!h || !strchr(h + 6, '-'))
		return;
	size_t prefix = (size_t)(strchr(h + 6, '-') + 1 - name); /* "<label>.base-<target hash>-" */
	buf_add(&dir, base_path, slash ? (size_t)(slash - base_path) : 0);
	if (!dir.len)
		buf_adds(&dir, ".");
	DIR *d = opendir(dir.buf);
	/* "<label>.base-<target hash>-<source hash>.": this source's own base,
	 * of either extension, which sync_base_commit keeps apart */
	size_t own = strlen(name) - strlen(base_ext) + 1;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (strncmp(e->d_name, name, prefix) || !strncmp(e->d_name, name, own) || !has_base_ext(e->d_name))
			continue;
		buf_reset(&other);
		buf_addf(&other, "%s/%s", dir.buf, e->d_name);
		keep_for_rollback(other.buf, other.buf, undo_path);
		if (unlink(other.buf) < 0)
			warning("%s: %s (a stale sync base: remove it)", other.buf, strerror(errno));
	}
	if (d)
		closedir(d);
	buf_release(&dir);
	buf_release(&other);
}

int sync_base_commit(const char *base_path, const char *partial, const char *undo_path, int mirror)
{
	int rc = 0;
	char *found = sync_base_existing(base_path);
	keep_for_rollback(found, base_path, undo_path);
	free(found);
	if (mirror)
		forget_other_sources(base_path, undo_path);
	if (rename(partial, base_path) < 0) {
		rc = error("%s: %s (the sync is committed, but its base was not kept: the next merge "
			   "from this source cannot tell an edit from a collision)", base_path, strerror(errno));
		unlink(partial);
	}
	char *legacy = legacy_path(base_path);
	if (!rc && unlink(legacy) < 0 && errno != ENOENT)
		warning("%s: %s (an earlier base: remove it)", legacy, strerror(errno));
	free(legacy);
	return rc;
}

int sync_base_prev_list(const char *undo_path, char ***paths, size_t *n)
{
	size_t len = strlen(undo_path), ls = sizeof(undo_suffix) - 1;
	const char *slash = strrchr(undo_path, '/');
	const char *stem = slash ? slash + 1 : undo_path;
	struct buf want = BUF_INIT, dir = BUF_INIT;
	*paths = NULL;
	*n = 0;
	if (len <= ls || strcmp(undo_path + len - ls, undo_suffix))
		return 0;
	buf_add(&want, stem, (size_t)(undo_path + len - ls - stem));
	buf_adds(&want, ".prevbase-");
	if (slash)
		buf_add(&dir, undo_path, (size_t)(slash - undo_path));
	else
		buf_adds(&dir, ".");
	DIR *d = opendir(dir.buf);
	if (!d) {
		int rc = error("%s: %s", dir.buf, strerror(errno));
		buf_release(&want);
		buf_release(&dir);
		return rc;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, want.buf, want.len) || !strchr(e->d_name + want.len, '.'))
			continue;
		struct buf p = BUF_INIT;
		buf_addf(&p, "%s/%s", dir.buf, e->d_name);
		*paths = xrealloc(*paths, (*n + 1) * sizeof(char *));
		(*paths)[(*n)++] = buf_detach(&p);
	}
	closedir(d);
	buf_release(&want);
	buf_release(&dir);
	return 0;
}

int sync_base_restore(const char *undo_path, const char *dir, const char *label)
{
	char **prev;
	size_t n;
	struct buf to = BUF_INIT;
	int rc = sync_base_prev_list(undo_path, &prev, &n);
	for (size_t i = 0; i < n; i++) {
		/* .../<stem>.prevbase-<hash><ext> -> dir/<label>.base-<hash><ext>, after
		 * the base of either extension the run left; .none: none */
		const char *hash = strstr(strrchr(prev[i], '/'), ".prevbase-") + strlen(".prevbase-");
		const char *dot = strchr(hash, '.');
		buf_reset(&to);
		buf_addf(&to, "%s/%s.base-%.*s%s", dir, label, (int)(dot - hash), hash, base_ext);
		char *legacy = legacy_path(to.buf);
		if ((unlink(to.buf) < 0 && errno != ENOENT) || (unlink(legacy) < 0 && errno != ENOENT)) {
			rc = error("%s: %s", to.buf, strerror(errno));
		} else if (!strcmp(dot, ".none")) {
			if (unlink(prev[i]) < 0)
				rc = error("%s: %s", prev[i], strerror(errno));
		} else {
			buf_truncate(&to, to.len - strlen(base_ext));
			buf_adds(&to, dot);
			if (rename(prev[i], to.buf) < 0)
				rc = error("%s: %s", to.buf, strerror(errno));
		}
		free(legacy);
		free(prev[i]);
	}
	free(prev);
	buf_release(&to);
	return rc;
}
