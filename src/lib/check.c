/* check: CHECK constraints read as SQL tokens and written again (check.h). */
#include "check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum tok_kind { TK_WORD, TK_IDENT, TK_NUM, TK_STR, TK_OP, TK_LP, TK_RP, TK_COMMA };

struct tok {
	enum tok_kind kind;
	char *text;   /* a word or operator as written; an identifier unquoted */
	int dropped;  /* a parenthesis left out */
	size_t at, end; /* where it is in the text read */
};

struct toks {
	struct tok *v;
	size_t n, alloc;
};

static void toks_add(struct toks *ts, enum tok_kind kind, const char *s, size_t n, size_t at, size_t end)
{
	if (ts->n == ts->alloc) {
		ts->alloc = ts->alloc ? 2 * ts->alloc : 16;
		ts->v = xrealloc(ts->v, ts->alloc * sizeof(*ts->v));
	}
	struct tok *t = &ts->v[ts->n++];
	t->kind = kind;
	t->text = xmalloc(n + 1);
	memcpy(t->text, s, n);
	t->text[n] = '\0';
	t->dropped = 0;
	t->at = at;
	t->end = end;
}

static void toks_release(struct toks *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		free(ts->v[i].text);
	free(ts->v);
	memset(ts, 0, sizeof(*ts));
}

/* A quoted name or string from s (at its opening quote), its doubled
 * closing quote read as one; the end past the closing quote, or NULL. */
static const char *quoted(const char *s, char close, struct buf *text)
{
	for (s++; *s; s++) {
		if (*s == close && s[1] == close && close != ']') {
			buf_addch(text, close);
			s++;
		} else if (*s == close) {
			return s + 1;
		} else {
			buf_addch(text, *s);
		}
	}
	return NULL;
}

/* Split s into tokens; -1 on what cannot be read, and on a comment or a
 * ';' (not one expression).  A statement is scanned instead: its comments
 * skipped, and it stops after the parenthesis that closes its first. */
static int tokenize(const char *s, struct toks *ts, int statement)
{
	const char *start = s;
	struct buf text = BUF_INIT;
	int depth = 0, rc = 0;
	while (*s) {
		const char *p = s;
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (statement && s[0] == '-' && s[1] == '-') {
			s += strcspn(s, "\n");
			continue;
		}
		if (statement && s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");
			s = e ? e + 2 : s + strlen(s);
			continue;
		}
		if ((s[0] == '-' && s[1] == '-') || (s[0] == '/' && s[1] == '*') || *s == ';') {
			rc = -1;
			break;
		}
		if (*s == '"' || *s == '`' || *s == '[') {
			buf_reset(&text);
			if (!(s = quoted(s, *s == '[' ? ']' : *s, &text))) {
				rc = -1;
				break;
			}
			toks_add(ts, TK_IDENT, text.buf ? text.buf : "", text.len, p - start, s - start);
			continue;
		}
		if (*s == '\'') {
			buf_reset(&text);
			if (!(s = quoted(s, '\'', &text))) {
				rc = -1;
				break;
			}
			toks_add(ts, TK_STR, p, (size_t)(s - p), p - start, s - start); /* as written: the engines read it alike */
			continue;
		}
		if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
			while (isalnum((unsigned char)*s) || *s == '.' ||
			       ((*s == '+' || *s == '-') && (s[-1] == 'e' || s[-1] == 'E')))
				s++;
			toks_add(ts, TK_NUM, p, (size_t)(s - p), p - start, s - start);
			continue;
		}
		if (isalpha((unsigned char)*s) || *s == '_' || (unsigned char)*s >= 0x80) {
			while (isalnum((unsigned char)*s) || *s == '_' || *s == '$' || (unsigned char)*s >= 0x80)
				s++;
			toks_add(ts, TK_WORD, p, (size_t)(s - p), p - start, s - start);
			continue;
		}
		if (*s == '(' || *s == ')' || *s == ',') {
			toks_add(ts, *s == '(' ? TK_LP : *s == ')' ? TK_RP : TK_COMMA, s, 1, p - start, p - start + 1);
			depth += *s == '(' ? 1 : *s == ')' ? -1 : 0;
			s++;
			if (depth < 0) {
				rc = -1;
				break;
			}
			if (statement && depth == 0 && p[0] == ')')
				break;
			continue;
		}
		static const char *const two[] = { "<=", ">=", "<>", "!=", "==", "||", "::", NULL };
		size_t n = 1;
		for (size_t i = 0; two[i]; i++)
			if (!strncmp(s, two[i], 2))
				n = 2;
		if (n == 1 && !strchr("<>=+-*/%&|~!^", *s)) {
			rc = -1;
			break;
		}
		toks_add(ts, TK_OP, s, n, p - start, p - start + n);
		s += n;
	}
	buf_release(&text);
	return rc < 0 || depth ? -1 : 0;
}

static int word_is(const struct tok *t, const char *w)
{
	return t && t->kind == TK_WORD && !strcasecmp(t->text, w);
}

static const char *const portable_words[] = { "AND", "OR", "NOT", "IS", "NULL", "IN", "BETWEEN", "TRUE",
					      "FALSE", NULL };
static const char *const portable_ops[] = { "=", "<>", "<", ">", "<=", ">=", "+", "-", "*", "/", NULL };

static int in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcasecmp(s, list[i]))
			return 1;
	return 0;
}

/* The token before i / after i that is not left out, or NULL. */
static struct tok *before(struct toks *ts, size_t i)
{
	while (i-- > 0)
		if (!ts->v[i].dropped)
			return &ts->v[i];
	return NULL;
}

static struct tok *after(struct toks *ts, size_t i)
{
	for (i++; i < ts->n; i++)
		if (!ts->v[i].dropped)
			return &ts->v[i];
	return NULL;
}

static int is_connective(const struct tok *t, int or_too)
{
	return !t || t->kind == TK_LP || t->kind == TK_RP || word_is(t, "AND") || (or_too && word_is(t, "OR"));
}

/* Leave out the parentheses that cannot change the meaning: around the
 * whole expression, around one token, and around a term with no AND or
 * OR of its own between connectives (AND, OR, the ends); around terms
 * joined by AND alone between ORs.  A parenthesis after a word is a call
 * or an IN list, and stays. */
static void drop_parentheses(struct toks *ts)
{
	size_t *open = xcalloc(ts->n + 1, sizeof(*open));
	for (int changed = 1; changed;) {
		changed = 0;
		size_t depth = 0;
		for (size_t j = 0; j < ts->n; j++) {
			if (ts->v[j].dropped)
				continue;
			if (ts->v[j].kind == TK_LP) {
				open[depth++] = j;
				continue;
			}
			if (ts->v[j].kind != TK_RP)
				continue;
			size_t i = open[--depth];
			struct tok *prev = before(ts, i), *next = after(ts, j);
			if (prev && prev->kind == TK_WORD && !in_list(prev->text, portable_words))
				continue; /* a call */
			if (word_is(prev, "IN"))
				continue;
			int ands = 0, ors = 0, nots = 0, commas = 0, inner = 0;
			size_t d = 0;
			for (size_t k = i + 1; k < j; k++) {
				if (ts->v[k].dropped)
					continue;
				inner++;
				if (ts->v[k].kind == TK_LP)
					d++;
				else if (ts->v[k].kind == TK_RP)
					d--;
				else if (!d) {
					ands += word_is(&ts->v[k], "AND");
					ors += word_is(&ts->v[k], "OR");
					nots += word_is(&ts->v[k], "NOT");
					commas += ts->v[k].kind == TK_COMMA;
				}
			}
			int drop = 0;
			if (commas)
				drop = 0;
			else if (!prev && !next)
				drop = 1;
			else if (inner == 1)
				drop = 1;
			else if (!ands && !ors && !nots)
				drop = is_connective(prev, 1) && is_connective(next, 1);
			else if (!ors)
				drop = is_connective(prev, 1) && is_connective(next, 1) && !word_is(prev, "NOT");
			if (drop) {
				ts->v[i].dropped = ts->v[j].dropped = 1;
				changed = 1;
			}
		}
	}
	free(open);
}

/* Whether a string literal token holds a date or a time of day in the
 * canonical text ('2007-01-01', '2007-01-01 00:00:00', fraction too):
 * compared with a date or timestamp column, every engine reads it so
 * (SQLite compares the text it stores, in that form). */
static int canonical_time_literal(const struct tok *t)
{
	const char *p = t->text + 1;
	size_t n = strlen(t->text) - 2;
	int date = n >= 10 && isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[3]) && p[4] == '-' &&
		   isdigit((unsigned char)p[5]) && p[7] == '-' && isdigit((unsigned char)p[9]);
	if (!date || n == 10)
		return date;
	if (n < 19 || p[10] != ' ' || p[13] != ':' || p[16] != ':')
		return 0;
	for (size_t i = 19; i < n; i++)
		if (!(i == 19 ? p[i] == '.' : isdigit((unsigned char)p[i])))
			return 0;
	return 1;
}

/* Leave out PostgreSQL's cast of a date or time of day in the canonical
 * text to a date or a timestamp without time zone: payment_date >=
 * '2007-01-01 00:00:00'::timestamp without time zone is payment_date >=
 * '2007-01-01 00:00:00' (Sakila's payment_p2007_01). */
static void drop_time_casts(struct toks *ts)
{
	for (size_t i = 1; i + 1 < ts->n; i++) {
		struct tok *k = &ts->v[i];
		if (k->kind != TK_OP || strcmp(k->text, "::") || ts->v[i - 1].kind != TK_STR ||
		    !canonical_time_literal(&ts->v[i - 1]))
			continue;
		size_t words = 0;
		if (word_is(&ts->v[i + 1], "date"))
			words = 1;
		else if (word_is(&ts->v[i + 1], "timestamp") && i + 4 < ts->n && word_is(&ts->v[i + 2], "without") &&
			 word_is(&ts->v[i + 3], "time") && word_is(&ts->v[i + 4], "zone"))
			words = 4;
		if (!words || (i + 1 + words < ts->n && ts->v[i + 1 + words].kind == TK_LP))
			continue;
		for (size_t w = 0; w <= words; w++)
			ts->v[i + w].dropped = 1;
	}
}

/* Leave out PostgreSQL's casts of a value to the type it has in every
 * engine's reading anyway: price > (0)::numeric is price > 0, and
 * (name)::text = 'a'::text is name = 'a'. */
static void drop_casts(struct toks *ts)
{
	drop_time_casts(ts);
	static const char *const plain[] = { "numeric", "integer", "bigint", "smallint", "text", "real",
					     "boolean", "varchar", "character varying", "double precision", NULL };
	for (size_t i = 1; i + 1 < ts->n; i++) {
		struct tok *k = &ts->v[i], *prev = &ts->v[i - 1];
		if (k->kind != TK_OP || strcmp(k->text, "::") || ts->v[i + 1].kind != TK_WORD ||
		    !(prev->kind == TK_NUM || prev->kind == TK_STR || prev->kind == TK_IDENT ||
		      prev->kind == TK_WORD || prev->kind == TK_RP))
			continue;
		size_t words = 1;
		char two[64];
		if (i + 2 < ts->n && ts->v[i + 2].kind == TK_WORD) {
			snprintf(two, sizeof(two), "%s %s", ts->v[i + 1].text, ts->v[i + 2].text);
			if (in_list(two, plain))
				words = 2;
		}
		if (words == 1 && !in_list(ts->v[i + 1].text, plain))
			continue;
		if (i + 1 + words < ts->n && ts->v[i + 1 + words].kind == TK_LP)
			continue; /* a length or precision: numeric(8,2) is a rounding */
		for (size_t w = 0; w <= words; w++)
			ts->v[i + w].dropped = 1;
	}
}

static const struct column *column_named(const struct table *t, const char *name, int exact)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (exact ? !strcmp(t->cols[i].name, name) : !strcasecmp(t->cols[i].name, name))
			return &t->cols[i];
	return NULL;
}

int check_render(struct buf *out, const struct sql_dialect *d, const struct table *t, const char *expr)
{
	struct toks ts = { 0 };
	if (tokenize(expr, &ts, 0) < 0 || !ts.n) {
		toks_release(&ts);
		return -1;
	}
	drop_casts(&ts);
	drop_parentheses(&ts);
	int portable = 1;
	struct tok *last = NULL;
	for (size_t i = 0; i < ts.n; i++) {
		struct tok *k = &ts.v[i];
		if (k->dropped)
			continue;
		int glued = !last || last->kind == TK_LP || k->kind == TK_RP || k->kind == TK_COMMA ||
			    (k->kind == TK_LP && last->kind == TK_WORD && !in_list(last->text, portable_words));
		if (!glued)
			buf_addch(out, ' ');
		last = k;
		const struct column *c = NULL;
		switch (k->kind) {
		case TK_WORD:
			if (in_list(k->text, portable_words)) {
				for (const char *p = k->text; *p; p++)
					buf_addch(out, (char)toupper((unsigned char)*p));
			} else if ((c = column_named(t, k->text, 0))) {
				sql_ident(out, d, c->name);
			} else {
				buf_adds(out, k->text);
				portable = 0;
			}
			break;
		case TK_IDENT:
			if ((c = column_named(t, k->text, 1)) || (c = column_named(t, k->text, 0)))
				sql_ident(out, d, c->name);
			else {
				sql_ident(out, d, k->text);
				portable = 0;
			}
			break;
		case TK_STR:
			buf_adds(out, k->text);
			portable &= !strchr(k->text, '\\'); /* an escape to MySQL */
			break;
		case TK_OP:
			buf_adds(out, !strcmp(k->text, "==") ? "=" : !strcmp(k->text, "!=") ? "<>" : k->text);
			portable &= in_list(k->text, portable_ops) || !strcmp(k->text, "==") || !strcmp(k->text, "!=");
			break;
		default:
			buf_adds(out, k->text);
		}
	}
	toks_release(&ts);
	return portable;
}

/* A dialect for comparing: any quote will do, as long as both sides use it. */
static const struct sql_dialect neutral = { .quote = '"' };

int check_equal(const struct table *a, const char *expr_a, const struct table *b, const char *expr_b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	int ra = check_render(&x, &neutral, a, expr_a), rb = check_render(&y, &neutral, b, expr_b);
	int eq = ra >= 0 && rb >= 0 ? !strcmp(x.buf, y.buf) : !strcmp(expr_a, expr_b);
	buf_release(&x);
	buf_release(&y);
	return eq;
}

long check_json_column(const struct table *t, const char *expr)
{
	struct buf got = BUF_INIT, want = BUF_INIT, c = BUF_INIT;
	long found = -1;
	if (check_render(&got, &neutral, t, expr) < 0) {
		buf_release(&got);
		return -1;
	}
	for (size_t i = 0; found < 0 && i < t->ncols; i++) {
		if (t->cols[i].type != VT_TEXT && t->cols[i].type != VT_JSON)
			continue;
		buf_reset(&c);
		sql_addf(&c, &neutral, "%I", t->cols[i].name);
		for (int or_null = 0; found < 0 && or_null < 2; or_null++) {
			buf_reset(&want);
			buf_addf(&want, or_null ? "JSON_VALID(%s) OR %s IS NULL" : "JSON_VALID(%s)", c.buf, c.buf);
			struct buf r = BUF_INIT;
			if (check_render(&r, &neutral, t, want.buf) >= 0 && !strcasecmp(r.buf, got.buf))
				found = (long)i;
			buf_release(&r);
		}
	}
	buf_release(&got);
	buf_release(&want);
	buf_release(&c);
	return found;
}

void check_scan_create_table(struct table *t, const char *create_sql)
{
	struct toks ts = { 0 };
	const char *p = strchr(create_sql, '(');
	/* The statement's own parenthesis: its columns and constraints. */
	if (!p || tokenize(p, &ts, 1) < 0) {
		toks_release(&ts);
		return;
	}
	for (size_t i = 0; i + 1 < ts.n; i++) {
		if (!word_is(&ts.v[i], "CHECK") || ts.v[i + 1].kind != TK_LP)
			continue;
		/* The expression: the tokens up to the matching parenthesis. */
		size_t depth = 0, j = i + 1;
		for (; j < ts.n; j++) {
			depth += ts.v[j].kind == TK_LP;
			if (ts.v[j].kind == TK_RP && !--depth)
				break;
		}
		if (j == ts.n)
			break;
		const char *name = i >= 2 && word_is(&ts.v[i - 2], "CONSTRAINT") &&
				   (ts.v[i - 1].kind == TK_WORD || ts.v[i - 1].kind == TK_IDENT)
				   ? ts.v[i - 1].text : NULL;
		/* as written, between the parentheses */
		size_t from = ts.v[i + 1].end, to = ts.v[j].at;
		while (from < to && isspace((unsigned char)p[from]))
			from++;
		while (to > from && isspace((unsigned char)p[to - 1]))
			to--;
		if (to > from) {
			char *expr = xstrndup(p + from, to - from);
			table_add_check(t, name, expr);
			free(expr);
		}
		i = j;
	}
	toks_release(&ts);
}

int check_of_domain(struct buf *out, const char *expr, const char *col)
{
	struct toks ts = { 0 };
	if (tokenize(expr, &ts, 0) < 0 || !ts.n) {
		toks_release(&ts);
		return -1;
	}
	size_t from = 0;
	for (size_t i = 0; i < ts.n; i++) {
		if (!word_is(&ts.v[i], "VALUE"))
			continue;
		buf_add(out, expr + from, ts.v[i].at - from);
		sql_ident(out, &neutral, col);
		from = ts.v[i].end;
	}
	buf_adds(out, expr + from);
	toks_release(&ts);
	return 0;
}

struct table *check_domains_inlined(const struct table *t, int *bad)
{
	struct table *c = NULL;
	struct buf expr = BUF_INIT;
	*bad = 0;
	for (size_t i = 0; i < t->ncols; i++) {
		const struct domain *dom = t->cols[i].domain;
		if (!dom)
			continue;
		if (!c)
			c = table_copy(t);
		struct column *col = &c->cols[i];
		free(col->native);
		col->native = xstrdup(dom->base);
		col->nullable = col->nullable && !dom->not_null;
		if (!col->default_sql && dom->default_sql)
			col->default_sql = column_default_normalize(dom->default_sql, col);
		for (size_t k = 0; k < dom->nchecks; k++) {
			buf_reset(&expr);
			if (check_of_domain(&expr, dom->checks[k].expr, col->name) < 0) {
				*bad = 1;
				break;
			}
			table_add_check(c, NULL, expr.buf);
		}
		domain_free(col->domain);
		col->domain = NULL;
	}
	buf_release(&expr);
	if (*bad) {
		table_free(c);
		return NULL;
	}
	return c;
}
