/* strmap: byte strings to byte strings (strmap.h). */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util.h"

static struct strmap_entry *slot(const struct strmap *m, const char *key, size_t klen)
{
	size_t i = (size_t)XXH3_64bits(key, klen) & (m->cap - 1);
	while (m->e[i].key && (m->e[i].klen != klen || memcmp(m->e[i].key, key, klen)))
		i = (i + 1) & (m->cap - 1);
	return &m->e[i];
}

const struct strmap_entry *strmap_get(const struct strmap *m, const char *key, size_t klen)
{
	if (!m->n)
		return NULL;
	const struct strmap_entry *e = slot(m, key, klen);
	return e->key ? e : NULL;
}

static char *copy(const char *p, size_t n)
{
	char *c = xmalloc(n + 1);
	memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

int strmap_put(struct strmap *m, const char *key, size_t klen, const char *val, size_t vlen)
{
	if (2 * (m->n + 1) > m->cap) {
		struct strmap_entry *old = m->e;
		size_t oldcap = m->cap;
		m->cap = m->cap ? 2 * m->cap : 64;
		m->e = xcalloc(m->cap, sizeof(*m->e));
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].key)
				*slot(m, old[i].key, old[i].klen) = old[i];
		free(old);
	}
	struct strmap_entry *e = slot(m, key, klen);
	if (e->key)
		return 0;
	e->key = copy(key, klen);
	e->klen = klen;
	e->val = copy(val, vlen);
	e->vlen = vlen;
	m->n++;
	return 1;
}

void strmap_release(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->e[i].key);
		free(m->e[i].val);
	}
	free(m->e);
	memset(m, 0, sizeof(*m));
}
