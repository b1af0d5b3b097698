/* keysort: records of one table in key order in bounded memory (see keysort.h). */
#include "keysort.h"

#include <errno.h>
#include <stdint.h>
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
	buf_init(&ks->arena);
	change_init(&ks->scratch);
}

int stream_write_record(struct stream_writer *w, const struct change *c)
{
	if (c->type == REC_ROW)
		return stream_write_row(w, &c->row);
	if (c->type == REC_CONFLICT)
		return stream_write_conflict(w, c);
	return stream_write_change(w, c);
}

/* --- packing: a record as bytes in the arena --- */

static void pack_u32(struct buf *b, uint32_t v)
{
	buf_add(b, &v, sizeof(v));
}

static uint32_t unpack_u32(const char **p)
{
	uint32_t v;
	memcpy(&v, *p, sizeof(v));
	*p += sizeof(v);
	return v;
}

/* A row: its count, then each value's state, length and bytes (and a NUL,
 * so that numbers can be read in place). */
static void pack_row(struct buf *b, const struct row *r)
{
	pack_u32(b, (uint32_t)r->n);
	for (size_t i = 0; i < r->n; i++) {
		buf_addch(b, (char)r->v[i].state);
		pack_u32(b, (uint32_t)r->v[i].len);
		if (r->v[i].state == V_SET)
			buf_add(b, row_ptr(r, i), r->v[i].len);
		buf_addch(b, '\0');
	}
}

static void unpack_row(const char **p, struct row *r)
{
	row_resize(r, unpack_u32(p));
	for (size_t i = 0; i < r->n; i++) {
		enum vstate st = (enum vstate)*(*p)++;
		uint32_t len = unpack_u32(p);
		if (st == V_SET)
			row_set(r, i, *p, len);
		else if (st == V_NULL)
			row_set_null(r, i);
		*p += (st == V_SET ? len : 0) + 1;
	}
}

static void pack_change(struct buf *b, const struct change *c)
{
	buf_addch(b, (char)c->type);
	buf_addch(b, (char)c->kind);
	pack_row(b, &c->row);
	pack_row(b, &c->old);
	for (int s = 0; s < 3; s++)
		pack_row(b, c->type == REC_CONFLICT ? &c->side[s] : &(struct row){ 0 });
}

static void unpack_change(const char *p, struct change *c, struct table *t)
{
	c->type = (enum rec_type)*p++;
	c->kind = (enum conflict_kind)*p++;
	c->table = t;
	unpack_row(&p, &c->row);
	unpack_row(&p, &c->old);
	for (int s = 0; s < 3; s++)
		unpack_row(&p, &c->side[s]);
}

/* Value i of the packed row at p (the record's first row: the key is there). */
static const char *packed_value(const char *p, size_t i, int *set, size_t *len)
{
	p += 2 + sizeof(uint32_t); /* type, kind, the row's count */
	for (size_t k = 0;; k++) {
		enum vstate st = (enum vstate)*p++;
		uint32_t l = unpack_u32(&p);
		if (k == i) {
			*set = st == V_SET;
			*len = l;
			return p;
		}
		p += (st == V_SET ? l : 0) + 1;
	}
}

static int packed_key_cmp(const struct table *t, const char *a, const char *b)
{
	for (size_t k = 0; k < t->nkey; k++) {
		size_t i = t->key[k], la, lb;
		int sa, sb;
		const char *pa = packed_value(a, i, &sa, &la), *pb = packed_value(b, i, &sb, &lb);
		int c = value_cmp_text(pa, la, sa, pb, lb, sb, t->cols[i].type);
		if (c)
			return c;
	}
	return 0;
}

static const struct keysort *sorting;

static int start_cmp(const void *a, const void *b)
{
	const char *base = sorting->arena.buf;
	return packed_key_cmp(sorting->t, base + *(const size_t *)a, base + *(const size_t *)b);
}

/* --- keeping, spilling, merging --- */

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

static int collision(const struct keysort *ks, const struct change *c)
{
	struct buf key = BUF_INIT;
	table_describe_key(&key, ks->t, &c->row);
	error("table \"%s\": two records have the key%s once masked: the rules make two keys one "
	      "(use hash, or keep the key)", ks->t->name, key.buf);
	buf_release(&key);
	return -1;
}

/* Hand the kept records to emit in key order (sorted first), then forget them. */
static int emit_kept(struct keysort *ks, int (*emit)(void *ctx, const struct change *c), void *ctx)
{
	sorting = ks;
	qsort(ks->start, ks->n, sizeof(*ks->start), start_cmp);
	for (size_t i = 0; i < ks->n; i++) {
		if (i && !packed_key_cmp(ks->t, ks->arena.buf + ks->start[i - 1], ks->arena.buf + ks->start[i])) {
			unpack_change(ks->arena.buf + ks->start[i], &ks->scratch, (struct table *)ks->t);
			return collision(ks, &ks->scratch);
		}
		unpack_change(ks->arena.buf + ks->start[i], &ks->scratch, (struct table *)ks->t);
		if (emit(ctx, &ks->scratch) < 0)
			return -1;
	}
	ks->n = 0;
	buf_reset(&ks->arena);
	return 0;
}

static char *run_path(const struct keysort *ks, size_t i)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s/run%zu.ndjson", ks->dir, i);
	return buf_detach(&b);
}

static int make_dir(struct keysort *ks)
{
	return (ks->dir = util_make_temp_dir("dbmask")) ? 0 : -1;
}

static int write_run_record(void *ctx, const struct change *c)
{
	return stream_write_record(ctx, c);
}

/* Sort what is kept and write it as the next run (a stream file). */
static int spill(struct keysort *ks)
{
	if (!ks->dir && make_dir(ks) < 0)
		return -1;
	char *path = run_path(ks, ks->nruns++);
	struct stream_writer w;
	int rc = stream_create(&w, path);
	free(path);
	if (rc < 0)
		return -1;
	stream_write_header(&w, ks->kind, "", "");
	stream_write_table(&w, ks->t);
	stream_begin_table(&w, ks->t);
	if (emit_kept(ks, write_run_record, &w) < 0 || stream_end_table(&w) < 0) {
		stream_abandon(&w);
		return -1;
	}
	return stream_finish(&w);
}

int keysort_add(struct keysort *ks, const struct change *c)
{
	if (ks->n == ks->alloc) {
		ks->alloc = ks->alloc * 2 + 1024;
		ks->start = xrealloc(ks->start, ks->alloc * sizeof(*ks->start));
	}
	ks->start[ks->n++] = ks->arena.len;
	pack_change(&ks->arena, c);
	return ks->arena.len + ks->n * sizeof(*ks->start) >= ks->limit ? spill(ks) : 0;
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
	buf_release(&ks->arena);
	free(ks->start);
	change_release(&ks->scratch);
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
