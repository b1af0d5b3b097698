/* json: a strict one-line JSON parser into a reusable arena, and the string
 * escape of the writers. */
#include "json.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

#define MAX_DEPTH 256

void json_doc_init(struct json_doc *d)
{
	memset(d, 0, sizeof(*d));
}

void json_doc_release(struct json_doc *d)
{
	free(d->nodes);
	free(d->text);
	json_doc_init(d);
}

struct parser {
	const char *s, *p, *end;
	struct json_doc *d;
	struct buf *err;
	int depth;
};

/* While parsing, members are linked by index + 1 (the node array may move);
 * the links become pointers once the line is done. */
#define LINK(i) ((struct jv *)(uintptr_t)((i) + 1))
#define UNLINK(p) ((size_t)(uintptr_t)(p) - 1)

static int fail(struct parser *ps, const char *at, const char *msg)
{
	buf_reset(ps->err);
	buf_addf(ps->err, "invalid JSON at column %zu: %s", (size_t)(at - ps->s) + 1, msg);
	return -1;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n'))
		ps->p++;
}

static size_t new_node(struct parser *ps, enum jtype t)
{
	struct json_doc *d = ps->d;
	ALLOC_GROW(d->nodes, d->nnodes + 1, d->alloc);
	struct jv *v = &d->nodes[d->nnodes];
	memset(v, 0, sizeof(*v));
	v->type = t;
	return d->nnodes++;
}

static int hexval(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3F));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* Length of the valid UTF-8 sequence at s (of at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], min;
	size_t len;
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
	else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
	else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
	else return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return len;
}

int utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *e = s + n;
	while (s < e) {
		size_t len = *s < 0x80 ? 1 : utf8_seq(s, (size_t)(e - s));
		if (!len)
			return 0;
		s += len;
	}
	return 1;
}

/* A string at ps->p (the opening quote), unescaped into the doc's text. */
static int parse_string(struct parser *ps, const char **out, size_t *outlen)
{
	const char *p = ps->p + 1, *end = ps->end;
	char *o = ps->d->text + ps->d->textlen, *start = o;
	for (;;) {
		if (p >= end)
			return fail(ps, ps->p, "unterminated string");
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c == '\\') {
			if (p + 1 >= end)
				return fail(ps, p, "unterminated string");
			switch (p[1]) {
			case '"': *o++ = '"'; break;
			case '\\': *o++ = '\\'; break;
			case '/': *o++ = '/'; break;
			case 'b': *o++ = '\b'; break;
			case 'f': *o++ = '\f'; break;
			case 'n': *o++ = '\n'; break;
			case 'r': *o++ = '\r'; break;
			case 't': *o++ = '\t'; break;
			case 'u': {
				unsigned cp, lo;
				if (end - p < 6 || hexval(p + 2, &cp) < 0)
					return fail(ps, p, "\\u needs four hex digits");
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					return fail(ps, p, "a lone low surrogate");
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hexval(p + 8, &lo) < 0 ||
					    lo < 0xDC00 || lo > 0xDFFF)
						return fail(ps, p, "a high surrogate without its low surrogate");
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				}
				o = put_utf8(o, cp);
				p += 4;
				break;
			}
			default:
				return fail(ps, p, "unknown escape");
			}
			p += 2;
			continue;
		}
		if (c < 0x20)
			return fail(ps, p, "a control character in a string (it must be escaped)");
		if (c < 0x80) {
			*o++ = (char)c;
			p++;
			continue;
		}
		size_t len = utf8_seq((const unsigned char *)p, (size_t)(end - p));
		if (!len)
			return fail(ps, p, "invalid UTF-8");
		memcpy(o, p, len);
		o += len;
		p += len;
	}
	*o++ = '\0';
	*out = start;
	*outlen = (size_t)(o - start - 1);
	ps->d->textlen += (size_t)(o - start);
	ps->p = p + 1;
	return 0;
}

static int parse_number(struct parser *ps, size_t idx)
{
	const char *p = ps->p, *end = ps->end, *start = p;
	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return fail(ps, start, "not a value");
	if (*p == '0')
		p++;
	else
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail(ps, p, "a digit must follow the decimal point");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail(ps, p, "a digit must follow the exponent");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	struct json_doc *d = ps->d;
	char *o = d->text + d->textlen;
	memcpy(o, start, (size_t)(p - start));
	o[p - start] = '\0';
	d->nodes[idx].s = o;
	d->nodes[idx].len = (size_t)(p - start);
	d->textlen += (size_t)(p - start) + 1;
	ps->p = p;
	return 0;
}

static int parse_value(struct parser *ps, size_t *idx);

static int dup_error(struct parser *ps, const char *at, const char *key)
{
	buf_reset(ps->err);
	buf_addf(ps->err, "invalid JSON at column %zu: duplicate key \"%.60s\"", (size_t)(at - ps->s) + 1, key);
	return -1;
}

static int cmp_key(const void *a, const void *b)
{
	const struct jv *x = *(const struct jv *const *)a, *y = *(const struct jv *const *)b;
	size_t m = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, m);
	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

/* Keys of the object at idx must differ: a row with a column twice is
 * ambiguous.  Pairwise for the usual few keys, sorted for wide rows. */
static int check_duplicates(struct parser *ps, size_t idx, const char *at)
{
	struct json_doc *d = ps->d;
	size_t n = d->nodes[idx].count, k = 0;
	struct jv **keys = n > 32 ? xcalloc(n, sizeof(*keys)) : NULL;
	int ret = 0;
	for (struct jv *a = d->nodes[idx].first; a && !ret;) {
		struct jv *na = &d->nodes[UNLINK(a)];
		if (keys) {
			keys[k++] = na;
		} else {
			for (struct jv *b = na->next; b;) {
				struct jv *nb = &d->nodes[UNLINK(b)];
				if (na->keylen == nb->keylen && !memcmp(na->key, nb->key, na->keylen)) {
					ret = dup_error(ps, at, na->key);
					break;
				}
				b = nb->next;
			}
		}
		a = na->next;
	}
	if (keys) {
		qsort(keys, k, sizeof(*keys), cmp_key);
		for (size_t i = 1; i < k && !ret; i++)
			if (!cmp_key(&keys[i - 1], &keys[i]))
				ret = dup_error(ps, at, keys[i]->key);
		free(keys);
	}
	return ret;
}

static int parse_members(struct parser *ps, size_t idx, int object)
{
	struct json_doc *d = ps->d;
	const char *open = ps->p;
	char close = object ? '}' : ']';
	size_t last = 0;
	int have_last = 0;
	if (++ps->depth > MAX_DEPTH)
		return fail(ps, ps->p, "nested too deeply");
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		size_t keylen = 0, kid;
		skip_ws(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, ps->p, "a key (a string) expected");
			if (parse_string(ps, &key, &keylen) < 0)
				return -1;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, ps->p, "':' expected after a key");
			ps->p++;
		}
		if (parse_value(ps, &kid) < 0)
			return -1;
		d->nodes[kid].key = key;
		d->nodes[kid].keylen = keylen;
		if (have_last)
			d->nodes[last].next = LINK(kid);
		else
			d->nodes[idx].first = LINK(kid);
		last = kid;
		have_last = 1;
		d->nodes[idx].count++;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return fail(ps, ps->p, object ? "unterminated object" : "unterminated array");
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p != close)
			return fail(ps, ps->p, object ? "',' or '}' expected" : "',' or ']' expected");
		ps->p++;
		break;
	}
	ps->depth--;
	return object ? check_duplicates(ps, idx, open) : 0;
}

static int parse_value(struct parser *ps, size_t *idx)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, ps->p, "a value expected");
	switch (*ps->p) {
	case '{':
		*idx = new_node(ps, J_OBJECT);
		return parse_members(ps, *idx, 1);
	case '[':
		*idx = new_node(ps, J_ARRAY);
		return parse_members(ps, *idx, 0);
	case '"': {
		const char *s;
		size_t len;
		*idx = new_node(ps, J_STRING);
		if (parse_string(ps, &s, &len) < 0)
			return -1;
		ps->d->nodes[*idx].s = s;
		ps->d->nodes[*idx].len = len;
		return 0;
	}
	case 't':
	case 'f':
	case 'n': {
		static const struct { const char *word; enum jtype t; } lits[] = {
			{ "true", J_TRUE }, { "false", J_FALSE }, { "null", J_NULL },
		};
		for (size_t i = 0; i < 3; i++) {
			size_t n = strlen(lits[i].word);
			if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, lits[i].word, n)) {
				*idx = new_node(ps, lits[i].t);
				ps->p += n;
				return 0;
			}
		}
		return fail(ps, ps->p, "not a value");
	}
	default:
		*idx = new_node(ps, J_NUMBER);
		return parse_number(ps, *idx);
	}
}

int json_parse(struct json_doc *d, const char *s, size_t n, int want_object,
	       struct jv **root, struct buf *err)
{
	struct parser ps = { s, s, s + n, d, err, 0 };
	size_t idx;
	d->nnodes = 0;
	d->textlen = 0;
	/* Unescaped text never outgrows the line: one terminator per value at most. */
	if (d->textalloc < 2 * n + 2) {
		free(d->text);
		d->textalloc = 2 * n + 2;
		d->text = xmalloc(d->textalloc);
	}
	if (parse_value(&ps, &idx) < 0)
		return -1;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, ps.p, "more after the value");
	if (want_object && d->nodes[idx].type != J_OBJECT) {
		buf_reset(err);
		buf_adds(err, "record is not a JSON object");
		return -1;
	}
	for (size_t i = 0; i < d->nnodes; i++) {
		struct jv *v = &d->nodes[i];
		if (v->first)
			v->first = &d->nodes[UNLINK(v->first)];
		if (v->next)
			v->next = &d->nodes[UNLINK(v->next)];
	}
	*root = &d->nodes[idx];
	return 0;
}

struct jv *jv_get(const struct jv *o, const char *key)
{
	if (!o || o->type != J_OBJECT)
		return NULL;
	for (struct jv *v = o->first; v; v = v->next)
		if (!strcmp(v->key, key))
			return v;
	return NULL;
}

const char *jv_get_string(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);
	return v && v->type == J_STRING ? v->s : NULL;
}

int jv_get_true(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);
	return v && v->type == J_TRUE;
}

int jv_is_integer(const struct jv *v)
{
	return v && v->type == J_NUMBER && !strpbrk(v->s, ".eE");
}

int jv_int64(const struct jv *v, int64_t *out)
{
	if (!jv_is_integer(v))
		return -1;
	errno = 0;
	long long x = strtoll(v->s, NULL, 10);
	if (errno)
		return -1;
	*out = x;
	return 0;
}

const char *jv_type_name(enum jtype t)
{
	static const char *const names[] = { "null", "false", "true", "number", "string", "array", "object" };
	return names[t];
}

/* Eight bytes at a time (a uint64_t read with memcpy: any alignment, any
 * byte order): whether any of them is one a JSON string must escape (below
 * 0x20, '"' or '\\'), by the "has a byte less than n" and "has a zero byte"
 * bit tricks; text is mostly plain, and a byte-by-byte test cost about 6
 * instructions a byte of every dump. */
#define BYTES_OF(c) (0x0101010101010101ULL * (uint64_t)(c))
#define HIGH_BITS BYTES_OF(0x80)
static int word_needs_escape(uint64_t x)
{
	uint64_t quote = x ^ BYTES_OF('"'), backslash = x ^ BYTES_OF('\\');
	return ((((x - BYTES_OF(0x20)) & ~x) | ((quote - BYTES_OF(1)) & ~quote) |
		 ((backslash - BYTES_OF(1)) & ~backslash)) & HIGH_BITS) != 0;
}

int json_add_string(struct buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	uint64_t high = 0; /* every byte or-ed in: a byte >= 0x80 sets a high bit */
	buf_grow(b, n + 2);
	b->buf[b->len++] = '"';
	size_t run = 0; /* start of the pending run of plain bytes */
	for (size_t i = 0; i < n; i++) {
		uint64_t word;
		while (i + 8 <= n && (memcpy(&word, s + i, 8), !word_needs_escape(word))) {
			high |= word;
			i += 8;
		}
		if (i == n)
			break;
		unsigned char c = s[i];
		high |= c;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		case '\b': buf_add(b, "\\b", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_add(b, u, 6);
		}
		}
	}
	buf_add(b, s + run, n - run);
	buf_addch(b, '"');
	if ((high & HIGH_BITS) && !utf8_valid(str, n))
		return -1;
	return 0;
}

void json_add_key(struct buf *b, const char *key)
{
	json_add_string(b, key, strlen(key));
	buf_addch(b, ':');
}

/* ---- comparing documents ---- */

static int jv_equal(const struct jv *a, const struct jv *b);

static int jv_numbers_equal(const struct jv *a, const struct jv *b)
{
	if (a->len == b->len && !memcmp(a->s, b->s, a->len))
		return 1;
	int c = decimal_cmp(a->s, a->len, b->s, b->len);
	return c == -2 ? strtod(a->s, NULL) == strtod(b->s, NULL) : c == 0;
}

static int jv_objects_equal(const struct jv *a, const struct jv *b)
{
	for (const struct jv *m = a->first; m; m = m->next) {
		const struct jv *o = b->first;
		while (o && (o->keylen != m->keylen || memcmp(o->key, m->key, m->keylen)))
			o = o->next;
		if (!o || !jv_equal(m, o))
			return 0;
	}
	return 1;
}

static int jv_equal(const struct jv *a, const struct jv *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case J_NUMBER:
		return jv_numbers_equal(a, b);
	case J_STRING:
		return a->len == b->len && !memcmp(a->s, b->s, a->len);
	case J_ARRAY:
		if (a->count != b->count)
			return 0;
		for (const struct jv *x = a->first, *y = b->first; x; x = x->next, y = y->next)
			if (!jv_equal(x, y))
				return 0;
		return 1;
	case J_OBJECT:
		return a->count == b->count && jv_objects_equal(a, b);
	default:
		return 1;
	}
}

int json_text_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	struct json_doc da, db;
	struct jv *ra, *rb;
	struct buf err = BUF_INIT;
	json_doc_init(&da);
	json_doc_init(&db);
	int rc = json_parse(&da, a, alen, 0, &ra, &err) < 0 || json_parse(&db, b, blen, 0, &rb, &err) < 0
		 ? -1 : jv_equal(ra, rb);
	json_doc_release(&da);
	json_doc_release(&db);
	buf_release(&err);
	return rc;
}
