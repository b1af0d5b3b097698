/* keysort: records of one table in key order in bounded memory (see keysort.h). */
#include "keysort.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void keysort_init(struct keysort *ks, const struct table *t, enum stream_kind kind, size_t limit)
{
	memset(ks, 0, sizeof(*ks));
	ks->t = t;
	ks->kind = kind;
	ks->limit = limit;
}

static size_t row_bytes(const struct row *r)
{
	return r->data.len + r->n * sizeof(struct value);
}

static void copy_change(struct change *dst, const struct change *src)
{
	change_init(dst);
	dst->type = src->type;
	dst->table = src->table;
	dst->kind = src->kind;
	row_copy(&dst->row, &src->row);
	row_copy(&dst->old, &src->old);
	for (int s = 0; s < 3; s++)
		row_copy(&dst->side[s], &src->side[s]);
}

static int key_cmp(const struct table *t, const struct change *a, const struct change *b)
{
	for (size_t k = 0; k < t->nkey; k++) {
		size_t i = t->key[k];
		int c = value_cmp(&a->row, i, &b->row, i, t->cols[i].type);
		if (c)
			return c;
	}
	return 0;
}

static const struct table *sort_table;

static int qsort_cmp(const void *a, const void *b)
{
	return key_cmp(sort_table, a, b);
}

int stream_write_record(struct stream_writer *w, const struct change *c)
{
	if (c->type == REC_ROW)
		return stream_write_row(w, &c->row);
	if (c->type == REC_CONFLICT)
		return stream_write_conflict(w, c);
	return stream_write_change(w, c);
}

static int collision(const struct keysort *ks, const struct change *c)
{
	struct buf key = BUF_INIT;
	for (size_t k = 0; k < ks->t->nkey; k++) {
		size_t i = ks->t->key[k];
		buf_addf(&key, "%s%s=", k ? ", " : "", ks->t->cols[i].name);
		if (c->row.v[i].state == V_SET && ks->t->cols[i].type != VT_BYTES)
			buf_add(&key, row_ptr(&c->row, i), c->row.v[i].len);
		else
			buf_adds(&key, c->row.v[i].state == V_SET ? "<bytes>" : "NULL");
	}
	error("table \"%s\": two records have the key (%s) once masked: the rules make two keys one "
	      "(use hash, or keep the key)", ks->t->name, key.buf);
	buf_release(&key);
	return -1;
}

static void sort_kept(struct keysort *ks)
{
	sort_table = ks->t;
	qsort(ks->v, ks->n, sizeof(*ks->v), qsort_cmp);
}

static void forget_kept(struct keysort *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		change_release(&ks->v[i]);
	ks->n = ks->bytes = 0;
}

static char *run_path(const struct keysort *ks, size_t i)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/run%zu.ndjson", ks->dir, i);
	return buf_detach(&b);
}

/* Sort what is kept and write it as the next run. */
static int spill(struct keysort *ks)
{
	if (!ks->dir) {
		const char *tmp = getenv("TMPDIR");
		struct buf d = BUF_INIT;
		buf_addf(&d, "%s/dbmask.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(d.buf)) {
			error("%s: cannot make a directory: %s", d.buf, strerror(errno));
			buf_release(&d);
			return -1;
		}
		ks->dir = buf_detach(&d);
	}
	sort_kept(ks);
	char *path = run_path(ks, ks->nruns++);
	struct stream_writer w;
	int rc = stream_create(&w, path);
	free(path);
	if (rc < 0)
		return -1;
	stream_write_header(&w, ks->kind, "", "");
	stream_write_table(&w, ks->t);
	stream_begin_table(&w, ks->t);
	for (size_t i = 0; i < ks->n && rc == 0; i++) {
		if (i && key_cmp(ks->t, &ks->v[i - 1], &ks->v[i]) == 0)
			rc = collision(ks, &ks->v[i]);
		else
			rc = stream_write_record(&w, &ks->v[i]);
	}
	if (rc == 0 && stream_end_table(&w) == 0 && stream_finish(&w) == 0) {
		forget_kept(ks);
		return 0;
	}
	if (rc == 0)
		return -1;
	stream_abandon(&w);
	return -1;
}

int keysort_add(struct keysort *ks, const struct change *c)
{
	if (ks->n == ks->alloc) {
		ks->alloc = ks->alloc * 2 + 64;
		ks->v = xrealloc(ks->v, ks->alloc * sizeof(*ks->v));
	}
	copy_change(&ks->v[ks->n++], c);
	ks->bytes += sizeof(struct change) + row_bytes(&c->row) + row_bytes(&c->old);
	return ks->bytes >= ks->limit ? spill(ks) : 0;
}

/* Everything fitted in memory: sort and hand it over. */
static int emit_kept(struct keysort *ks, int (*emit)(void *ctx, const struct change *c), void *ctx)
{
	sort_kept(ks);
	for (size_t i = 0; i < ks->n; i++) {
		if (i && key_cmp(ks->t, &ks->v[i - 1], &ks->v[i]) == 0)
			return collision(ks, &ks->v[i]);
		if (emit(ctx, &ks->v[i]) < 0)
			return -1;
	}
	forget_kept(ks);
	return 0;
}

/* The next data record of a run: 1, or 0 at its end. */
static int run_next(struct stream_reader *r)
{
	int got = stream_next(r);
	return got > 0 && r->rec.type != REC_TABLE_END ? 1 : got < 0 ? -1 : 0;
}

static int merge_runs(struct keysort *ks, int (*emit)(void *ctx, const struct change *c), void *ctx)
{
	struct stream_reader *rd = xcalloc(ks->nruns, sizeof(*rd));
	int *have = xcalloc(ks->nruns, sizeof(*have));
	size_t opened = 0;
	int rc = 0;
	for (; opened < ks->nruns && rc == 0; opened++) {
		char *path = run_path(ks, opened);
		rc = stream_open(&rd[opened], path);
		free(path);
		if (rc == 0)
			rc = (have[opened] = run_next(&rd[opened])) < 0 ? -1 : 0;
	}
	while (rc == 0) {
		size_t best = ks->nruns;
		for (size_t i = 0; i < ks->nruns; i++)
			if (have[i] && (best == ks->nruns || key_cmp(ks->t, &rd[i].rec, &rd[best].rec) < 0))
				best = i;
		if (best == ks->nruns)
			break;
		for (size_t i = 0; i < ks->nruns && rc == 0; i++)
			if (i != best && have[i] && key_cmp(ks->t, &rd[i].rec, &rd[best].rec) == 0)
				rc = collision(ks, &rd[best].rec);
		if (rc == 0 && emit(ctx, &rd[best].rec) < 0)
			rc = -1;
		if (rc == 0 && (have[best] = run_next(&rd[best])) < 0)
			rc = -1;
	}
	for (size_t i = 0; i < opened; i++)
		stream_close(&rd[i]);
	free(rd);
	free(have);
	return rc;
}

int keysort_finish(struct keysort *ks, int (*emit)(void *ctx, const struct change *c), void *ctx)
{
	if (!ks->nruns)
		return emit_kept(ks, emit, ctx);
	if (ks->n && spill(ks) < 0)
		return -1;
	return merge_runs(ks, emit, ctx);
}

void keysort_release(struct keysort *ks)
{
	forget_kept(ks);
	free(ks->v);
	for (size_t i = 0; ks->dir && i < ks->nruns; i++) {
		char *path = run_path(ks, i);
		unlink(path);
		free(path);
	}
	if (ks->dir)
		rmdir(ks->dir);
	free(ks->dir);
	memset(ks, 0, sizeof(*ks));
}
