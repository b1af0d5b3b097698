/* backup: naming, writing, verifying and listing backups and undo streams. */
#include "backup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "stream.h"

char *backup_label(const struct db *db)
{
	struct buf b = BUF_INIT;
	const char *name = db->env.name;
	if (!name) {
		/* the last path element of the URL, without query and extension */
		const char *u = db->url, *q = strpbrk(u, "?#");
		size_t n = q ? (size_t)(q - u) : strlen(u);
		while (n && u[n - 1] == '/')
			n--;
		size_t start = n;
		while (start && u[start - 1] != '/' && u[start - 1] != ':')
			start--;
		const char *dot = memchr(u + start, '.', n - start);
		if (dot && dot > u + start)
			n = (size_t)(dot - u);
		buf_add(&b, u + start, n - start);
		name = b.buf;
	}
	struct buf out = BUF_INIT;
	for (const char *p = name; *p; p++)
		buf_addch(&out, isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-' ? *p : '_');
	if (!out.len)
		buf_adds(&out, "db");
	buf_release(&b);
	return buf_detach(&out);
}

const char *backup_dir(const struct db *db)
{
	return db->env.backups ? db->env.backups : "backups";
}

char *backup_new_path(const char *dir, const char *label, const char *kind)
{
	char stamp[32];
	time_t now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
	struct buf p = BUF_INIT;
	for (int n = 0; n < 1000; n++) {
		buf_reset(&p);
		buf_addf(&p, "%s/%s-%s", dir, label, stamp);
		if (n)
			buf_addf(&p, "-%d", n);
		buf_addf(&p, ".%s.ndjson.gz", kind);
		if (access(p.buf, F_OK))
			return buf_detach(&p);
	}
	buf_release(&p);
	error("%s: no free name for a new %s", dir, kind);
	return NULL;
}

static char *marker_path(const char *path)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s.verified", path);
	return buf_detach(&b);
}

/* The marker holds the size and modification time of the file it vouches
 * for, and what it holds: a file changed since is no longer verified. */
static int write_marker(const char *path, const struct stat *st, const char *summary)
{
	char *m = marker_path(path);
	FILE *f = fopen(m, "w");
	int ok = f && fprintf(f, "%lld %lld %s\n", (long long)st->st_size, (long long)st->st_mtime, summary) > 0;
	if (f && fclose(f) != 0)
		ok = 0;
	int rc = ok ? 0 : error("%s: %s (the backup reads back whole, but cannot be marked verified)", m,
				strerror(errno ? errno : EIO));
	if (!ok)
		unlink(m);
	free(m);
	return rc;
}

static void remove_marker(const char *path)
{
	char *m = marker_path(path);
	unlink(m);
	free(m);
}

/* Whether the marker vouches for a file of this size; fills tables and rows. */
static int marker_valid(const char *path, const struct stat *st, struct backup_info *info)
{
	char *m = marker_path(path);
	FILE *f = fopen(m, "r");
	long long size = -1, mtime = -1;
	unsigned long long tables = 0, rows = 0;
	free(m);
	if (!f)
		return 0;
	if (fscanf(f, "%lld %lld %llu tables %llu rows", &size, &mtime, &tables, &rows) != 4)
		size = -1;
	fclose(f);
	if (size != (long long)st->st_size || mtime != (long long)st->st_mtime)
		return 0;
	info->tables = tables;
	info->rows = rows;
	return 1;
}

static time_t parse_at(const char *at)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!at || !strptime(at, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	return timegm(&tm);
}

/* Read the header line of path; 1 if it is a dbpipe stream with a purpose.
 * Anything else in the directory is passed over without a message. */
static int read_header(const char *path, struct backup_info *info)
{
	char chunk[4096];
	struct buf line = BUF_INIT, err = BUF_INIT;
	struct json_doc doc;
	struct jv *h;
	gzFile gz = gzopen(path, "rb");
	int ok = 0;
	if (!gz)
		return 0;
	/* The header line, however long (a long source URL) */
	while (gzgets(gz, chunk, sizeof(chunk))) {
		buf_adds(&line, chunk);
		if (line.len && line.buf[line.len - 1] == '\n')
			break;
	}
	json_doc_init(&doc);
	if (json_parse(&doc, line.buf, strcspn(line.buf, "\n"), 1, &h, &err) == 0) {
		const char *type = jv_get_string(h, "type"), *purpose = jv_get_string(h, "purpose");
		if (type && !strcmp(type, "header") && purpose && *purpose) {
			const char *src = jv_get_string(h, "source"), *at = jv_get_string(h, "at");
			info->purpose = xstrdup(purpose);
			info->source = xstrdup(src ? src : "");
			info->at = xstrdup(at ? at : "");
			info->when = parse_at(at);
			ok = 1;
		}
	}
	json_doc_release(&doc);
	gzclose(gz);
	buf_release(&line);
	buf_release(&err);
	return ok;
}

/* Read path whole; the marker goes to marked (path itself, or the name
 * path will be renamed to). */
static int verify_into(const char *path, const char *marked, struct backup_info *info)
{
	struct stream_reader r;
	struct stat st;
	int got, ret = -1;
	if (stream_open(&r, path) < 0)
		goto out;
	while ((got = stream_next(&r)) > 0)
		;
	if (got < 0)
		goto out;
	if (stat(path, &st) < 0) {
		error("%s: %s", path, strerror(errno));
		goto out;
	}
	if (info) {
		info->tables = r.schema.n;
		info->rows = r.total;
		info->size = st.st_size;
	}
	struct buf s = BUF_INIT;
	buf_addf(&s, "%zu tables %llu rows", r.schema.n, (unsigned long long)r.total);
	ret = write_marker(marked, &st, s.buf);
	buf_release(&s);
out:
	if (ret < 0)
		remove_marker(marked);
	stream_close(&r);
	return ret;
}

int backup_verify(const char *path, struct backup_info *info)
{
	return verify_into(path, path, info);
}

int backup_write(const char *target, const char *path, const struct db_options *o, int schema_only)
{
	struct source src;
	int ret = -1;
	if (source_open(&src, target, NULL, o) < 0 || make_parent_dir(path) < 0)
		goto out;
	/* Written and verified under a name no one takes for a backup (dbprune
	 * included), then renamed: a backup is whole and verified, or absent. */
	char *partial = partial_path(path);
	src.schema_only = schema_only;
	if (source_dump(&src, partial, schema_only ? "schema" : "backup") < 0 ||
	    verify_into(partial, path, NULL) < 0) {
		unlink(partial);
		free(partial);
		goto out;
	}
	if (rename(partial, path) < 0) {
		error("%s: %s", path, strerror(errno));
		remove_marker(path);
		unlink(partial);
		free(partial);
		goto out;
	}
	free(partial);
	ret = 0;
out:
	source_close(&src);
	return ret;
}

/* In the order the names were taken: the stamp and -N of the name, which
 * dbapply takes at its start. The header's "at" is written a moment later
 * and may fall in the next second, so it orders only names without a stamp
 * (a run's "-1" taken at 12:00:00 with "at" 12:00:01 is older than the next
 * run's 12:00:01 with no -N). */
static int by_name(const void *a, const void *b)
{
	const struct backup_info *x = a, *y = b;
	time_t tx = x->named ? x->named : x->when, ty = y->named ? y->named : y->when;
	if (tx != ty)
		return tx < ty ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->path, y->path);
}

int backup_scan(const char *dir, struct backup_info **out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t alloc = 0;
	*out = NULL;
	*n = 0;
	if (!d)
		return error("%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 10 || strcmp(e->d_name + len - 10, ".ndjson.gz"))
			continue;
		struct backup_info b;
		struct stat st;
		memset(&b, 0, sizeof(b));
		struct buf p = BUF_INIT;
		buf_addf(&p, "%s/%s", dir, e->d_name);
		if (stat(p.buf, &st) < 0 || !S_ISREG(st.st_mode) || !read_header(p.buf, &b)) {
			buf_release(&p);
			backup_info_release(&b);
			continue;
		}
		b.path = buf_detach(&p);
		b.size = st.st_size;
		b.verified = marker_valid(b.path, &st, &b);
		/* <label>-<stamp>[-n].<kind>.ndjson.gz: the label ends before the stamp */
		const char *stamp = e->d_name;
		for (const char *q = e->d_name; (q = strchr(q, '-')); q++)
			if (isdigit((unsigned char)q[1]) && strlen(q) > 17 && q[9] == 'T') {
				stamp = q;
				break;
			}
		b.label = xstrndup(e->d_name, stamp > e->d_name ? (size_t)(stamp - e->d_name) : 0);
		if (stamp > e->d_name) {
			struct tm tm;
			memset(&tm, 0, sizeof(tm));
			const char *end = strptime(stamp + 1, "%Y%m%dT%H%M%SZ", &tm);
			if (end && (*end == '-' || *end == '.'))
				b.named = timegm(&tm);
			if (stamp[17] == '-')
				b.seq = (int)strtol(stamp + 18, NULL, 10);
		}
		ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = b;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), by_name);
	return 0;
}

int backup_scan_leftovers(const char *dir, long long min_age, char ***paths, size_t *n)
{
	static const char suffix[] = ".undo.ndjson.partial.gz";
	size_t ls = sizeof(suffix) - 1, alloc = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t now = time(NULL);
	*paths = NULL;
	*n = 0;
	if (!d)
		return error("%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= ls || strcmp(e->d_name + len - ls, suffix))
			continue;
		struct buf p = BUF_INIT;
		struct backup_info b;
		struct stat st;
		memset(&b, 0, sizeof(b));
		buf_addf(&p, "%s/%s", dir, e->d_name);
		if (!stat(p.buf, &st) && S_ISREG(st.st_mode) && now - st.st_mtime > min_age &&
		    read_header(p.buf, &b) && !strcmp(b.purpose, "undo")) {
			ALLOC_GROW(*paths, *n + 1, alloc);
			(*paths)[(*n)++] = buf_detach(&p);
		}
		buf_release(&p);
		backup_info_release(&b);
	}
	closedir(d);
	return 0;
}

void backup_info_release(struct backup_info *b)
{
	free(b->path);
	free(b->label);
	free(b->purpose);
	free(b->source);
	free(b->at);
	memset(b, 0, sizeof(*b));
}

void backup_list_free(struct backup_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		backup_info_release(&list[i]);
	free(list);
}
