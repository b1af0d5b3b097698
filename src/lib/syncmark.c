/* syncmark: the mark of the last sync into a target (syncmark.h). */
#include "syncmark.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

static char *state_path(const char *dir, const char *label)
{
	struct buf p = BUF_INIT;
	buf_addf(&p, "%s/%s.mark.json", dir, label);
	return buf_detach(&p);
}

void sync_mark_release(struct sync_mark *m)
{
	free(m->mark);
	for (size_t i = 0; i < m->ntables; i++)
		free(m->tables[i]);
	free(m->tables);
	memset(m, 0, sizeof(*m));
}

int sync_mark_read(const char *dir, const char *label, const char *identity, struct sync_mark *out)
{
	char *path = state_path(dir, label);
	struct buf text = BUF_INIT, err = BUF_INIT;
	struct json_doc doc;
	struct jv *root;
	int rc = 0; /* the mark only saves work: one that cannot be read is no mark */
	memset(out, 0, sizeof(*out));
	json_doc_init(&doc);
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno != ENOENT)
			warning("%s: %s (taken for no mark)", path, strerror(errno));
		goto out;
	}
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&text, chunk, n);
	fclose(f);
	while (text.len && text.buf[text.len - 1] == '\n')
		text.buf[--text.len] = '\0';
	if (json_parse(&doc, text.buf, text.len, 1, &root, &err) < 0) {
		warning("%s:1: %s (taken for no mark)", path, err.buf);
		goto out;
	}
	const char *target = jv_get_string(root, "target"), *mark = jv_get_string(root, "mark");
	struct jv *tables = jv_get(root, "tables");
	if (!target || !mark || !tables || tables->type != J_ARRAY) {
		warning("%s:1: not a sync mark: target, mark and tables expected (taken for no mark)", path);
		goto out;
	}
	if (strcmp(target, identity))
		goto out; /* another target of the same label: not ours */
	out->mark = xstrdup(mark);
	for (struct jv *t = tables->first; t; t = t->next) {
		if (t->type != J_STRING)
			continue;
		out->tables = xrealloc(out->tables, (out->ntables + 1) * sizeof(*out->tables));
		out->tables[out->ntables++] = xstrdup(t->s);
	}
	rc = 1;
out:
	json_doc_release(&doc);
	buf_release(&text);
	buf_release(&err);
	free(path);
	return rc;
}

int sync_mark_write(const char *dir, const char *label, const char *identity, const struct sync_mark *m)
{
	char *path = state_path(dir, label);
	struct buf text = BUF_INIT, tmp = BUF_INIT;
	int rc = -1;
	buf_adds(&text, "{\"target\":");
	json_add_string(&text, identity, strlen(identity));
	buf_adds(&text, ",\"mark\":");
	json_add_string(&text, m->mark, strlen(m->mark));
	buf_adds(&text, ",\"tables\":[");
	for (size_t i = 0; i < m->ntables; i++) {
		if (i)
			buf_addch(&text, ',');
		json_add_string(&text, m->tables[i], strlen(m->tables[i]));
	}
	buf_adds(&text, "]}\n");
	/* Whole or not at all: write aside, then rename. */
	buf_addf(&tmp, "%s.tmp", path);
	if (make_parent_dir(path) < 0)
		goto out;
	FILE *f = fopen(tmp.buf, "w");
	int ok = f && fwrite(text.buf, 1, text.len, f) == text.len;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp.buf, path) < 0) {
		error("%s: %s", path, strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	rc = 0;
out:
	buf_release(&text);
	buf_release(&tmp);
	free(path);
	return rc;
}

int sync_mark_forget(const char *dir, const char *label)
{
	char *path = state_path(dir, label);
	int rc = unlink(path) < 0 && errno != ENOENT ? error("%s: %s", path, strerror(errno)) : 0;
	free(path);
	return rc;
}

int sync_mark_has_table(const struct sync_mark *m, const char *table)
{
	for (size_t i = 0; i < m->ntables; i++)
		if (!strcmp(m->tables[i], table))
			return 1;
	return 0;
}

int sync_mark_covers(const struct sync_mark *m, const char *since)
{
	const char *a = strrchr(m->mark, ':'), *b = strrchr(since, ':');
	if (!a || !b || a - m->mark != b - since || memcmp(m->mark, since, (size_t)(a - m->mark)))
		return 0;
	char *ea, *eb;
	unsigned long long xa = strtoull(a + 1, &ea, 10), xb = strtoull(b + 1, &eb, 10);
	return !*ea && !*eb && ea > a + 1 && eb > b + 1 && xb <= xa;
}
