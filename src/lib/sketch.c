/* sketch: a digest range's invertible Bloom lookup table (sketch.h). */
#include "sketch.h"

#include <stdlib.h>
#include <string.h>

void sketch_init(struct sketch *s, size_t ncells)
{
	s->ncells = ncells;
	s->cells = ncells ? xcalloc(ncells, sizeof(*s->cells)) : NULL;
	s->overflow = 0;
}

void sketch_reset(struct sketch *s)
{
	if (s->ncells)
		memset(s->cells, 0, s->ncells * sizeof(*s->cells));
	s->overflow = 0;
}

void sketch_release(struct sketch *s)
{
	free(s->cells);
	s->cells = NULL;
	s->ncells = 0;
}

/* The cell of part j for hash h: h hashed again with seed j, so that the
 * three places are independent whatever the part's size. */
static size_t cell_of(const struct sketch *s, XXH128_hash_t h, size_t j)
{
	size_t per = s->ncells / SKETCH_PARTS;
	unsigned char words[16]; /* little-endian, low half first (dbpipe(5)) */
	for (int i = 0; i < 8; i++) {
		words[i] = (unsigned char)(h.low64 >> (8 * i));
		words[8 + i] = (unsigned char)(h.high64 >> (8 * i));
	}
	uint64_t x = XXH3_64bits_withSeed(words, sizeof(words), j);
	return j * per + (size_t)(((unsigned __int128)x * per) >> 64);
}

static void cell_toggle(struct sketch_cell *c, const unsigned char *key, size_t keylen, XXH128_hash_t h,
			int64_t sign)
{
	c->count += sign;
	c->h.low64 ^= h.low64;
	c->h.high64 ^= h.high64;
	for (size_t i = 0; i < keylen; i++)
		c->key[i] ^= key[i];
}

void sketch_add(struct sketch *s, const char *key, size_t keylen, XXH128_hash_t h, int sign)
{
	if (!s->ncells)
		return;
	if (keylen > SKETCH_KEY_MAX || !keylen) {
		s->overflow = 1;
		return;
	}
	for (size_t j = 0; j < SKETCH_PARTS; j++)
		cell_toggle(&s->cells[cell_of(s, h, j)], (const unsigned char *)key, keylen, h, sign);
}

void sketch_subtract(struct sketch *a, const struct sketch *b)
{
	for (size_t i = 0; i < a->ncells; i++) {
		a->cells[i].count -= b->cells[i].count;
		cell_toggle(&a->cells[i], b->cells[i].key, SKETCH_KEY_MAX, b->cells[i].h, 0);
	}
	a->overflow |= b->overflow;
}

static size_t key_length(const unsigned char *key)
{
	size_t n = SKETCH_KEY_MAX;
	while (n && !key[n - 1])
		n--;
	return n;
}

static int cell_empty(const struct sketch_cell *c)
{
	return !c->count && !c->h.low64 && !c->h.high64 && !key_length(c->key);
}

/* Whether cell i of part j holds one row alone: a count of one either way,
 * a key, and i the place of its hash in part j (else two or more rows
 * XORed, whose hash points anywhere). */
static int cell_pure(const struct sketch *s, size_t i, size_t j)
{
	const struct sketch_cell *c = &s->cells[i];
	return (c->count == 1 || c->count == -1) && key_length(c->key) && cell_of(s, c->h, j) == i;
}

int sketch_peel(struct sketch *s, struct sketch_elem *out, size_t *n)
{
	size_t per = s->ncells / SKETCH_PARTS;
	int progress = 1;
	*n = 0;
	if (s->overflow)
		return -1;
	while (progress) {
		progress = 0;
		for (size_t i = 0; i < s->ncells; i++) {
			if (!cell_pure(s, i, i / per))
				continue;
			if (*n == s->ncells)
				return -1;
			struct sketch_cell *c = &s->cells[i];
			struct sketch_elem *e = &out[(*n)++];
			e->side = (int)c->count;
			e->h = c->h;
			e->keylen = key_length(c->key);
			memcpy(e->key, c->key, e->keylen);
			e->key[e->keylen] = '\0';
			for (size_t j = 0; j < SKETCH_PARTS; j++)
				cell_toggle(&s->cells[cell_of(s, e->h, j)], (const unsigned char *)e->key, e->keylen,
					    e->h, -e->side);
			progress = 1;
		}
	}
	for (size_t i = 0; i < s->ncells; i++)
		if (!cell_empty(&s->cells[i]))
			return -1;
	return 0;
}

/* ---- as text: per cell a count (an unsigned LEB128 varint; 0 for an
 * empty cell, which ends there), the hash's 16 bytes (high half first, big
 * end first), the key's length (a varint) and its bytes. */

static void add_varint(struct buf *b, uint64_t v)
{
	do {
		buf_addch(b, (char)((v & 127) | (v > 127 ? 128 : 0)));
		v >>= 7;
	} while (v);
}

static void add_u64(struct buf *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
		buf_addch(b, (char)(v >> (8 * i) & 255));
}

void sketch_encode(const struct sketch *s, struct buf *out)
{
	struct buf raw = BUF_INIT;
	for (size_t i = 0; i < s->ncells; i++) {
		const struct sketch_cell *c = &s->cells[i];
		/* A target's sketch: counts are never negative, and a count of 0
		 * is an empty cell. */
		add_varint(&raw, c->count > 0 ? (uint64_t)c->count : 0);
		if (c->count <= 0)
			continue;
		add_u64(&raw, c->h.high64);
		add_u64(&raw, c->h.low64);
		size_t len = key_length(c->key);
		add_varint(&raw, len);
		buf_add(&raw, (const char *)c->key, len);
	}
	base64_encode(out, (const unsigned char *)raw.buf, raw.len);
	buf_release(&raw);
}

static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p == end)
			return -1;
		unsigned char b = *(*p)++;
		*v |= (uint64_t)(b & 127) << shift;
		if (!(b & 128))
			return 0;
	}
	return -1;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int sketch_decode(struct sketch *s, const char *text, size_t n)
{
	struct buf raw = BUF_INIT;
	int rc = -1;
	sketch_reset(s);
	if (base64_decode(&raw, text, n) < 0)
		goto out;
	const unsigned char *p = (const unsigned char *)raw.buf, *end = p + raw.len;
	for (size_t i = 0; i < s->ncells; i++) {
		struct sketch_cell *c = &s->cells[i];
		uint64_t count, len;
		if (get_varint(&p, end, &count) < 0 || count > INT64_MAX)
			goto out;
		if (!count)
			continue;
		if (end - p < 16)
			goto out;
		c->count = (int64_t)count;
		c->h.high64 = get_u64(p);
		c->h.low64 = get_u64(p + 8);
		p += 16;
		if (get_varint(&p, end, &len) < 0 || len > SKETCH_KEY_MAX || len > (uint64_t)(end - p) ||
		    (len && !p[len - 1]))
			goto out;
		memcpy(c->key, p, len);
		p += len;
	}
	rc = p == end ? 0 : -1;
out:
	buf_release(&raw);
	return rc;
}
