/* natural: natural keys of reference tables and the translation of the
 * references into them (natural.h). */
#include "natural.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

/* ---- parsing "t1(a, b) t2(c)" ---- */

static const char *skip_blank(const char *p)
{
	while (*p && (isspace((unsigned char)*p) || *p == ','))
		p++;
	return p;
}

static char *word(const char **p)
{
	const char *s = *p;
	while (**p && !isspace((unsigned char)**p) && !strchr("(),", **p))
		(*p)++;
	return *p > s ? xstrndup(s, (size_t)(*p - s)) : NULL;
}

int natural_parse(const char *spec, struct natural_key **out, size_t *n, struct buf *err)
{
	const char *p = skip_blank(spec);
	while (*p) {
		struct natural_key k = { word(&p), NULL, 0 };
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!k.table || *p != '(') {
			free(k.table);
			buf_addf(err, "natural takes TABLE(column, ...), space-separated, not \"%s\"", spec);
			return -1;
		}
		p++;
		for (;;) {
			while (*p && (isspace((unsigned char)*p) || *p == ','))
				p++;
			if (*p == ')')
				break;
			char *c = word(&p);
			if (!c) {
				natural_free(&k, 1);
				buf_addf(err, "natural: \"%s\": a column list ends with ')'", spec);
				return -1;
			}
			k.cols = xrealloc(k.cols, (k.ncols + 1) * sizeof(char *));
			k.cols[k.ncols++] = c;
		}
		p++;
		if (!k.ncols) {
			natural_free(&k, 1);
			buf_addf(err, "natural: \"%s\": a table needs at least one column", spec);
			return -1;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = k;
		p = skip_blank(p);
	}
	return 0;
}

void natural_free(struct natural_key *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(k[i].table);
		for (size_t c = 0; c < k[i].ncols; c++)
			free(k[i].cols[c]);
		free(k[i].cols);
	}
}

/* ---- the natural keys ---- */

struct natural_map {
	struct strmap ids;     /* the stream's key values -> natural key */
	struct strmap target;  /* natural key -> the target's key values */
};

static void put(struct strmap *m, const struct buf *k, const struct buf *v)
{
	strmap_put(m, k->buf, k->len, v->buf, v->len); /* the first row with a key names it */
}

void natural_init(struct natural *nat, const struct natural_key *keys, size_t n)
{
	nat->keys = keys;
	nat->nkeys = n;
	nat->maps = xcalloc(n + 1, sizeof(*nat->maps));
}

void natural_release(struct natural *nat)
{
	for (size_t i = 0; nat->maps && i < nat->nkeys; i++) {
		strmap_release(&nat->maps[i].ids);
		strmap_release(&nat->maps[i].target);
	}
	free(nat->maps);
	memset(nat, 0, sizeof(*nat));
}

long natural_find(const struct natural *nat, const char *table)
{
	for (size_t i = 0; i < nat->nkeys; i++)
		if (!strcmp(nat->keys[i].table, table))
			return (long)i;
	return -1;
}

int natural_check(const struct natural *nat, size_t k, const struct table *t, struct buf *err)
{
	const struct natural_key *nk = &nat->keys[k];
	for (size_t c = 0; c < nk->ncols; c++)
		if (table_column_index(t, nk->cols[c]) < 0) {
			buf_addf(err, "natural key %s: the target's table has no column \"%s\"", nk->table, nk->cols[c]);
			return -1;
		}
	if (t->key_kind == KEY_ROW) {
		buf_addf(err, "natural key %s: the table has no key of its own for references to name", nk->table);
		return -1;
	}
	return 0;
}

static int key_of(struct buf *b, const struct table *t, const struct row *r)
{
	buf_reset(b);
	for (size_t k = 0; k < t->nkey; k++)
		if (!row_add_part(b, r, (long)t->key[k]))
			return 0;
	return 1;
}

static int natural_of(struct buf *b, const struct natural_key *nk, const struct table *t, const struct row *r)
{
	buf_reset(b);
	return table_add_parts(b, t, r, nk->cols, nk->ncols);
}

/* Note r's key and natural key: in the target's map (natural key -> ids)
 * or in the stream's (ids -> natural key). */
static void add_row(struct natural *nat, size_t k, const struct table *t, const struct row *r, int target)
{
	struct buf key = BUF_INIT, nkey = BUF_INIT;
	if (key_of(&key, t, r) && natural_of(&nkey, &nat->keys[k], t, r)) {
		if (target)
			put(&nat->maps[k].target, &nkey, &key);
		else
			put(&nat->maps[k].ids, &key, &nkey);
	}
	buf_release(&key);
	buf_release(&nkey);
}

void natural_add_target(struct natural *nat, size_t k, const struct table *t, const struct row *r)
{
	add_row(nat, k, t, r, 1);
}

void natural_add_stream(struct natural *nat, size_t k, const struct table *t, const struct row *r)
{
	add_row(nat, k, t, r, 0);
}

/* The next "length:bytes" part of s (of end), or NULL at the end. */
static const char *next_part(const char *s, const char *end, const char **p, size_t *len)
{
	if (s >= end)
		return NULL;
	char *colon;
	*len = strtoul(s, &colon, 10);
	*p = colon + 1;
	return *p + *len;
}

/* "app_label=office, model=client" for the natural key in v. */
static void describe(struct buf *out, const struct natural_key *nk, const char *v, size_t vlen)
{
	const char *s = v, *p;
	size_t len;
	for (size_t c = 0; c < nk->ncols && (s = next_part(s, v + vlen, &p, &len)); c++)
		buf_addf(out, "%s%s=%.*s", c ? ", " : "", nk->cols[c], (int)(len > 60 ? 60 : len), p);
}

int natural_translate(struct natural *nat, const struct schema *s, const struct table *t, struct row *r,
		      struct buf *err)
{
	struct buf ids = BUF_INIT;
	int rc = 0;
	for (size_t j = 0; j < t->nrefs && !rc; j++) {
		const struct ref *ref = &t->refs[j];
		long k = natural_find(nat, ref->table);
		const struct table *nt = k < 0 ? NULL : schema_find(s, ref->table);
		if (k < 0)
			continue;
		if (!nt) {
			buf_addf(err, "column \"%s\" refers to table \"%s\", matched by its natural key, but the stream "
				 "does not hold that table's rows to name it by: dump it too", ref->cols[0], ref->table);
			rc = -1;
			break;
		}
		/* The stream's ids, in the key order of the natural table. */
		long at[nt->nkey + 1];
		int whole = ref->ncols == nt->nkey, unset = 0;
		buf_reset(&ids);
		for (size_t kk = 0; whole && kk < nt->nkey; kk++) {
			at[kk] = -1;
			for (size_t c = 0; c < ref->ncols; c++)
				if (!strcmp(ref->to[c], nt->cols[nt->key[kk]].name))
					at[kk] = table_column_index(t, ref->cols[c]);
			whole = at[kk] >= 0;
			if (whole && !row_add_part(&ids, r, at[kk]))
				unset = 1; /* NULL or absent: no reference to translate */
		}
		if (whole && unset)
			continue;
		if (!whole) {
			buf_addf(err, "column \"%s\" refers to table \"%s\" by other columns than its key: a natural key "
				 "cannot translate it", ref->cols[0], ref->table);
			rc = -1;
			break;
		}
		const struct strmap_entry *nk = strmap_get(&nat->maps[k].ids, ids.buf, ids.len);
		if (!nk) {
			buf_addf(err, "column \"%s\" refers to a row of \"%s\" that the stream does not hold (or whose "
				 "natural key is NULL)", ref->cols[0], ref->table);
			rc = -1;
			break;
		}
		const struct strmap_entry *tid = strmap_get(&nat->maps[k].target, nk->val, nk->vlen);
		if (!tid) {
			buf_addf(err, "column \"%s\" refers to the row of \"%s\" with ", ref->cols[0], ref->table);
			describe(err, &nat->keys[k], nk->val, nk->vlen);
			buf_adds(err, ", which the target lacks (its natural key names no row there)");
			rc = -1;
			break;
		}
		const char *sp = tid->val, *p;
		size_t len;
		for (size_t kk = 0; kk < nt->nkey && (sp = next_part(sp, tid->val + tid->vlen, &p, &len)); kk++)
			row_set(r, (size_t)at[kk], p, len);
	}
	buf_release(&ids);
	return rc;
}
