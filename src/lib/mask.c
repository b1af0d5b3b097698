/* mask: dbmask's rules and the values they make (see mask.h). */
#include "mask.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "value.h"

/* --- SipHash-2-4: a keyed hash whose output cannot be turned back into
 * its input, nor guessed for a chosen input, without the key. --- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                             \
	do {                                                                 \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);    \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                       \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                       \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);    \
	} while (0)

static uint64_t siphash(const uint64_t key[2], const unsigned char *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0], v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0], v3 = 0x7465646279746573ULL ^ key[1];
	size_t whole = len - len % 8;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = 0;
		for (int b = 7; b >= 0; b--)
			m = m << 8 | in[i + (size_t)b];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t last = (uint64_t)len << 56;
	for (size_t b = 0; b < len % 8; b++)
		last |= (uint64_t)in[whole + b] << (8 * b);
	v3 ^= last;
	SIPROUND;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The numbers one value's mask draws from: a keyed hash of the rule and the
 * value seeds them, splitmix64 steps on. */
struct draw {
	uint64_t state;
};

static void draw_start(struct draw *d, const struct mask_rules *r, enum mask_kind k, const char *p,
		       size_t n)
{
	struct buf in = BUF_INIT;
	buf_addch(&in, (char)('a' + k));
	buf_add(&in, p, n);
	d->state = siphash(r->key, (const unsigned char *)in.buf, in.len);
	buf_release(&in);
}

static uint64_t draw_next(struct draw *d)
{
	uint64_t z = (d->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* --- the rules file --- */

static const char *const kind_names[] = {
	"keep", "null", "fixed", "hash", "fake email", "fake phone", "fake name", "fake text",
	"fake date", "fake number",
};

const char *mask_kind_name(enum mask_kind k)
{
	return kind_names[k];
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int parse_rule(struct mask_rule *rule, char *text)
{
	if (!strncmp(text, "fixed", 5) && (isspace((unsigned char)text[5]) || !text[5])) {
		rule->kind = MASK_FIXED;
		rule->fixed = xstrdup(trim(text + 5));
		return 0;
	}
	/* "fake   email" reads as "fake email" */
	struct buf words = BUF_INIT;
	for (char *w = strtok(text, " \t"); w; w = strtok(NULL, " \t"))
		buf_addf(&words, "%s%s", words.len ? " " : "", w);
	int rc = -1;
	for (size_t k = 0; k < sizeof(kind_names) / sizeof(*kind_names); k++)
		if (k != MASK_FIXED && words.len && !strcmp(words.buf, kind_names[k])) {
			rule->kind = (enum mask_kind)k;
			rc = 0;
		}
	buf_release(&words);
	return rc;
}

static int rule_line(struct mask_rules *r, const char *table, char *line, long lineno)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return error("%s:%ld: expected COLUMN = RULE or [TABLE]", r->path, lineno);
	if (!table)
		return error("%s:%ld: a rule before any [TABLE] section", r->path, lineno);
	*eq = '\0';
	char *col = trim(line), *text = trim(eq + 1);
	if (!*col)
		return error("%s:%ld: a rule without a column name", r->path, lineno);
	const struct mask_rule *first = mask_rules_find(r, table, col);
	if (first)
		return error("%s:%ld: a second rule for \"%s\".\"%s\" (the first is on line %ld)",
			     r->path, lineno, table, col, first->line);
	struct mask_rule rule = { xstrdup(table), xstrdup(col), MASK_KEEP, NULL, lineno };
	if (parse_rule(&rule, text) < 0) {
		free(rule.table);
		free(rule.column);
		return error("%s:%ld: unknown rule for \"%s\" (known: keep, null, fixed VALUE, hash, "
			     "fake email, fake phone, fake name, fake text, fake date, fake number)",
			     r->path, lineno, col);
	}
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n++] = rule;
	return 0;
}

int mask_rules_load(struct mask_rules *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->path = xstrdup(path);
	FILE *f = fopen(path, "r");
	if (!f)
		return error("%s: %s", path, strerror(errno));
	char *line = NULL, *table = NULL;
	size_t alloc = 0;
	long lineno = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &alloc, f) >= 0) {
		char *s = trim(line);
		lineno++;
		if (!*s || *s == ';' || *s == '#')
			continue;
		if (*s == '[') {
			size_t n = strlen(s);
			if (s[n - 1] != ']' || n < 3) {
				rc = error("%s:%ld: a section is [TABLE]", path, lineno);
				break;
			}
			free(table);
			table = xstrndup(s + 1, n - 2);
			continue;
		}
		rc = rule_line(r, table, s, lineno);
	}
	if (rc == 0 && ferror(f))
		rc = error("%s: %s", path, strerror(errno));
	free(line);
	free(table);
	fclose(f);
	return rc;
}

void mask_rules_set_secret(struct mask_rules *r, const char *secret, size_t len)
{
	/* Two fixed keys turn a secret of any length into a 128-bit key. */
	static const uint64_t k0[2] = { 0x6462706970652d6dULL, 0x61736b2d6b657931ULL };
	static const uint64_t k1[2] = { 0x6462706970652d6dULL, 0x61736b2d6b657932ULL };
	r->key[0] = siphash(k0, (const unsigned char *)secret, len);
	r->key[1] = siphash(k1, (const unsigned char *)secret, len);
	r->have_key = 1;
}

void mask_rules_release(struct mask_rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].table);
		free(r->v[i].column);
		free(r->v[i].fixed);
	}
	free(r->v);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

const struct mask_rule *mask_rules_find(const struct mask_rules *r, const char *table,
					const char *column)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].table, table) && !strcmp(r->v[i].column, column))
			return &r->v[i];
	return NULL;
}

/* --- planning: which rule each column takes --- */

static int kind_fits(enum mask_kind k, enum vtype t)
{
	switch (k) {
	case MASK_KEEP: case MASK_NULL: case MASK_FIXED:
		return 1;
	case MASK_HASH:
		return t == VT_TEXT || t == VT_INT || t == VT_UUID || t == VT_BYTES;
	case MASK_FAKE_DATE:
		return t == VT_DATE || t == VT_TIMESTAMP || t == VT_TIMESTAMPTZ;
	case MASK_FAKE_NUMBER:
		return t == VT_INT || t == VT_DECIMAL || t == VT_FLOAT;
	default:
		return t == VT_TEXT;
	}
}

static int is_referenced(const struct schema *s, const struct table *t, const char *col)
{
	for (size_t i = 0; i < s->n; i++)
		for (size_t r = 0; r < s->tables[i]->nrefs; r++) {
			const struct ref *rf = &s->tables[i]->refs[r];
			if (strcmp(rf->table, t->name))
				continue;
			for (size_t c = 0; c < rf->ncols; c++)
				if (!strcmp(rf->to[c], col))
					return 1;
		}
	return 0;
}

static int fixed_value(const struct mask_rules *r, const struct mask_rule *rule,
		       struct mask_table *m, size_t i)
{
	const struct column *c = &m->t->cols[i];
	struct json_doc d;
	struct jv *j;
	struct buf err = BUF_INIT, quoted = BUF_INIT;
	json_doc_init(&d);
	/* A value that reads as JSON (42, true, "text") is that; anything else is text. */
	int rc = json_parse(&d, rule->fixed, strlen(rule->fixed), 0, &j, &err);
	if (rc < 0 || (j->type == J_STRING) != (c->type != VT_INT && c->type != VT_FLOAT &&
						  c->type != VT_BOOL)) {
		json_doc_release(&d);
		json_doc_init(&d);
		json_add_string(&quoted, rule->fixed, strlen(rule->fixed));
		rc = json_parse(&d, quoted.buf, quoted.len, 0, &j, &err);
	}
	if (rc == 0)
		rc = value_from_json(&m->fixed, i, c->type, j, &err);
	if (rc < 0)
		error("%s:%ld: fixed value for \"%s\".\"%s\" (%s): %s", r->path, rule->line, m->t->name,
		      c->name, vtype_name(c->type), err.buf);
	json_doc_release(&d);
	buf_release(&err);
	buf_release(&quoted);
	return rc;
}

static int check_kind(const struct mask_rules *r, const struct mask_rule *rule, const struct schema *s,
		      struct mask_table *m, size_t i, const char *where)
{
	const struct column *c = &m->t->cols[i];
	if (!kind_fits(m->kind[i], c->type))
		return error("%s: \"%s\".\"%s\" is %s: %s cannot keep it one", where,
			     m->t->name, c->name, vtype_name(c->type), mask_kind_name(m->kind[i]));
	int keyish = table_is_key(m->t, i) || is_referenced(s, m->t, c->name);
	if ((m->kind[i] == MASK_NULL || m->kind[i] == MASK_FIXED) && keyish)
		return error("%s: \"%s\".\"%s\" is a key or referenced: %s would give many rows one "
			     "value (use hash)", where, m->t->name, c->name, mask_kind_name(m->kind[i]));
	if (m->kind[i] == MASK_NULL && !c->nullable)
		return error("%s: \"%s\".\"%s\" is NOT NULL: null cannot mask it", where,
			     m->t->name, c->name);
	if (m->kind[i] == MASK_FIXED && fixed_value(r, rule, m, i) < 0)
		return -1;
	if (m->kind[i] != MASK_KEEP && m->kind[i] != MASK_NULL && m->kind[i] != MASK_FIXED &&
	    !r->have_key)
		return error("%s: %s needs a secret: -k FILE or DBMASK_KEY", where,
			     mask_kind_name(m->kind[i]));
	if (m->kind[i] != MASK_KEEP && table_is_key(m->t, i))
		m->key_masked = 1;
	return 0;
}

static int check_rule(const struct mask_rules *r, const struct mask_rule *rule, const struct schema *s,
		      struct mask_table *m, size_t i)
{
	/* "file:line" of the rule, or "file" for a rule taken through a reference */
	struct buf where = BUF_INIT;
	if (rule)
		buf_addf(&where, "%s:%ld", r->path, rule->line);
	else
		buf_addf(&where, "%s (a rule taken by a reference)", r->path);
	int rc = check_kind(r, rule, s, m, i, where.buf);
	buf_release(&where);
	return rc;
}

/* A column that refers to a masked column takes its rule, so the two stay
 * joined; one given another rule is an error.  Returns 1 if a rule moved. */
static int follow_refs(const struct mask_rules *r, const struct schema *s, struct mask_table *v,
		       int *failed)
{
	int moved = 0;
	for (size_t ti = 0; ti < s->n; ti++) {
		struct mask_table *m = &v[ti];
		for (size_t k = 0; k < m->t->nrefs; k++) {
			const struct ref *rf = &m->t->refs[k];
			const struct table *pt = schema_find(s, rf->table);
			size_t pi = 0;
			while (pt && pi < s->n && s->tables[pi] != pt)
				pi++;
			for (size_t c = 0; pt && pi < s->n && c < rf->ncols; c++) {
				long ci = table_column_index(m->t, rf->cols[c]);
				long pc = table_column_index(pt, rf->to[c]);
				if (ci < 0 || pc < 0 || v[pi].kind[pc] == m->kind[ci])
					continue;
				if (m->kind[ci] != MASK_KEEP && v[pi].kind[pc] != MASK_KEEP) {
					error("%s: \"%s\".\"%s\" refers to \"%s\".\"%s\": give both one rule "
					      "(%s and %s would part them)", r->path, m->t->name, rf->cols[c],
					      pt->name, rf->to[c], mask_kind_name(m->kind[ci]),
					      mask_kind_name(v[pi].kind[pc]));
					*failed = 1;
					return 0;
				}
				enum mask_kind k2 = m->kind[ci] == MASK_KEEP ? v[pi].kind[pc] : m->kind[ci];
				m->kind[ci] = v[pi].kind[pc] = k2;
				moved = 1;
			}
		}
	}
	return moved;
}

int mask_plan(const struct mask_rules *r, const struct schema *s, struct mask_table **out)
{
	struct mask_table *v = xcalloc(s->n + 1, sizeof(*v));
	int failed = 0;
	*out = v;
	for (size_t ti = 0; ti < s->n; ti++) {
		v[ti].t = s->tables[ti];
		v[ti].kind = xcalloc(s->tables[ti]->ncols + 1, sizeof(*v[ti].kind));
		row_init(&v[ti].fixed, s->tables[ti]->ncols);
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct table *t = schema_find(s, r->v[i].table);
		if (!t)
			continue; /* the caller warns: a rules file may cover more tables */
		long ci = table_column_index(t, r->v[i].column);
		if (ci < 0)
			return error("%s:%ld: table \"%s\" has no column \"%s\"", r->path, r->v[i].line,
				     t->name, r->v[i].column);
		for (size_t ti = 0; ti < s->n; ti++)
			if (v[ti].t == t)
				v[ti].kind[ci] = r->v[i].kind;
	}
	while (follow_refs(r, s, v, &failed))
		;
	if (failed)
		return -1;
	for (size_t ti = 0; ti < s->n; ti++)
		for (size_t i = 0; i < v[ti].t->ncols; i++) {
			const struct mask_rule *rule = mask_rules_find(r, v[ti].t->name, v[ti].t->cols[i].name);
			if (check_rule(r, rule, s, &v[ti], i) < 0)
				return -1;
		}
	return 0;
}

void mask_plan_release(struct mask_table *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].kind);
		row_release(&m[i].fixed);
	}
	free(m);
}

int mask_covers(const struct mask_table *m, size_t i)
{
	return m->kind[i] != MASK_KEEP;
}

/* --- the values --- */

/* The length a native type declares ("varchar(40)", "character(8)"), or 0. */
static size_t declared_length(const struct column *c)
{
	const char *p = c->native ? strchr(c->native, '(') : NULL;
	if (!p || !strcasestr(c->native, "char"))
		return 0;
	return (size_t)strtoul(p + 1, NULL, 10);
}

static void add_hex(struct buf *out, struct draw *d, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (i % 16 == 0)
			x = draw_next(d);
		buf_addch(out, hex[x & 15]);
		x >>= 4;
	}
}

static const char *const first_names[] = {
	"Ada", "Alan", "Alice", "Amir", "Ana", "Ben", "Chen", "Clara", "Dara", "David", "Elena", "Emil",
	"Fatima", "Grace", "Hana", "Ivan", "Jonas", "Julia", "Kofi", "Lea", "Luca", "Maria", "Mateo",
	"Mina", "Nora", "Omar", "Paula", "Ravi", "Rosa", "Sam", "Sara", "Tariq", "Una", "Victor",
	"Wen", "Yara", "Zoe",
};
static const char *const last_names[] = {
	"Abara", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
	"Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt",
	"Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
};
static const char *const words[] = {
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
	"eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "enim",
	"ad", "minim", "veniam", "quis", "nostrud", "exercitation", "ullamco", "laboris", "nisi",
};
#define COUNT(a) (sizeof(a) / sizeof(*(a)))

/* A name of as many words as the original: one word (a first or a last
 * name column) is one name, more are a first and a last name. */
static void fake_name(struct buf *out, struct draw *d, const char *p, size_t n)
{
	int words = 0;
	for (size_t i = 0; i < n; i++)
		words += !isspace((unsigned char)p[i]) && (i == 0 || isspace((unsigned char)p[i - 1]));
	uint64_t x = draw_next(d);
	if (words <= 1) {
		size_t all = COUNT(first_names) + COUNT(last_names);
		size_t k = x % all;
		buf_adds(out, k < COUNT(first_names) ? first_names[k] : last_names[k - COUNT(first_names)]);
		return;
	}
	buf_addf(out, "%s %s", first_names[x % COUNT(first_names)],
		 last_names[draw_next(d) % COUNT(last_names)]);
}

/* Words up to about n bytes (at least one word for a value that had any). */
static void fake_text(struct buf *out, struct draw *d, size_t n)
{
	size_t start = out->len;
	while (out->len - start < n) {
		const char *w = words[draw_next(d) % COUNT(words)];
		if (out->len > start) {
			if (out->len - start + 1 + strlen(w) > n)
				break;
			buf_addch(out, ' ');
		}
		buf_adds(out, w);
	}
}

/* Each digit replaced by a drawn one; the first of a run of digits is not 0
 * when the run is longer than one (a number keeps its width). */
static void fake_digits(struct buf *out, struct draw *d, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i])) {
			buf_addch(out, p[i]);
			continue;
		}
		int lead = (i == 0 || !isdigit((unsigned char)p[i - 1])) && i + 1 < n &&
			   isdigit((unsigned char)p[i + 1]);
		uint64_t x = draw_next(d);
		buf_addch(out, (char)('0' + (lead ? 1 + x % 9 : x % 10)));
	}
}

static long days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static void civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (long)yoe + era * 400 + (*m <= 2);
}

/* The date moved by up to 180 days either way; the time of day stays.
 * Values that are not a plain date of years 1-9999 (infinity, BC) stay. */
static void fake_date(struct buf *out, struct draw *d, const char *p, size_t n)
{
	long y;
	unsigned m, day;
	if (n < 10 || sscanf(p, "%4ld-%2u-%2u", &y, &m, &day) != 3 || p[4] != '-' || y < 1 ||
	    (n > 10 && p[10] != 'T' && p[10] != ' ') || (n > 10 && strstr(p, "BC"))) {
		buf_add(out, p, n);
		return;
	}
	long z = days_from_civil(y, m, day) + (long)(draw_next(d) % 361) - 180;
	civil_from_days(z, &y, &m, &day);
	if (y < 1 || y > 9999) {
		buf_add(out, p, n);
		return;
	}
	buf_addf(out, "%04ld-%02u-%02u", y, m, day);
	buf_add(out, p + 10, n - 10);
}

static void fake_number(struct buf *out, struct draw *d, const struct column *c, const char *p,
			size_t n)
{
	if (c->type == VT_FLOAT) {
		char *end;
		double v = strtod(p, &end);
		if (!isfinite(v)) {
			buf_add(out, p, n);
			return;
		}
		v *= 0.5 + (double)(draw_next(d) >> 11) * 0x1p-53;
		/* single precision columns hold what a float holds */
		if (c->native && (strcasestr(c->native, "real") || strcasestr(c->native, "float4") ||
				  !strcasecmp(c->native, "float")))
			v = (double)(float)v;
		value_format_double(out, v);
		return;
	}
	if (c->type == VT_INT) {
		/* At most the original's magnitude: it fits wherever that fitted. */
		int neg = p[0] == '-';
		unsigned long long mag = strtoull(p + neg, NULL, 10);
		unsigned long long v = mag == ~0ULL ? draw_next(d) : draw_next(d) % (mag + 1);
		buf_addf(out, "%s%llu", neg && v ? "-" : "", v);
		return;
	}
	fake_digits(out, d, p, n); /* a decimal keeps its precision and scale */
}

static void hash_value(struct buf *out, struct draw *d, const struct column *c, const char *engine)
{
	switch (c->type) {
	case VT_INT: {
		/* Within the integer type's range (the common ones by name). */
		const char *nat = c->native ? c->native : "";
		int bits = 31;
		if (strcasestr(nat, "big") || strcasestr(nat, "int8") || (engine && !strcmp(engine, "sqlite")))
			bits = 62;
		else if (strcasestr(nat, "tiny"))
			bits = 7;
		else if (strcasestr(nat, "small") || strcasestr(nat, "int2"))
			bits = 15;
		else if (strcasestr(nat, "medium"))
			bits = 23;
		buf_addf(out, "%llu", 1 + (unsigned long long)(draw_next(d) % ((1ULL << bits) - 1)));
		break;
	}
	case VT_UUID: {
		size_t at = out->len;
		add_hex(out, d, 32);
		char hex[33];
		memcpy(hex, out->buf + at, 33);
		out->len = at;
		buf_addf(out, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
		break;
	}
	case VT_BYTES:
		for (int i = 0; i < 2; i++) {
			uint64_t x = draw_next(d);
			for (int b = 0; b < 8; b++, x >>= 8)
				buf_addch(out, (char)(x & 0xff));
		}
		break;
	default:
		add_hex(out, d, 32);
	}
}

static void make_value(struct buf *out, const struct mask_rules *r, const struct column *c,
		       enum mask_kind k, const char *p, size_t n)
{
	struct draw d;
	draw_start(&d, r, k, p, n);
	switch (k) {
	case MASK_HASH: hash_value(out, &d, c, r->engine); break;
	case MASK_FAKE_EMAIL:
		buf_adds(out, "u");
		add_hex(out, &d, 16);
		buf_adds(out, "@example.com");
		break;
	case MASK_FAKE_PHONE: fake_digits(out, &d, p, n); break;
	case MASK_FAKE_NAME: fake_name(out, &d, p, n); break;
	case MASK_FAKE_TEXT: fake_text(out, &d, n); break;
	case MASK_FAKE_DATE: fake_date(out, &d, p, n); break;
	case MASK_FAKE_NUMBER: fake_number(out, &d, c, p, n); break;
	default: buf_add(out, p, n); break;
	}
	size_t max = declared_length(c);
	if (max && c->type == VT_TEXT && out->len > max)
		out->len = max, out->buf[max] = '\0'; /* ASCII: a byte is a character */
}

void mask_row(const struct mask_rules *r, const struct mask_table *m, const struct row *in,
	      struct row *out)
{
	struct buf v = BUF_INIT;
	row_resize(out, in->n);
	for (size_t i = 0; i < in->n; i++) {
		enum mask_kind k = m->kind[i];
		if (in->v[i].state == V_ABSENT)
			continue;
		if (in->v[i].state == V_NULL || k == MASK_KEEP) {
			row_copy_value(out, in, i);
		} else if (k == MASK_NULL) {
			row_set_null(out, i);
		} else if (k == MASK_FIXED) {
			row_copy_value(out, &m->fixed, i);
		} else {
			buf_reset(&v);
			make_value(&v, r, &m->t->cols[i], k, row_ptr(in, i), in->v[i].len);
			row_set(out, i, v.len ? v.buf : "", v.len);
		}
	}
	buf_release(&v);
}
