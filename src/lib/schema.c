/* schema: tables, columns, keys and references; the table record. */
#include "schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "strmap.h"

/* Triggers, rules, functions: a name and its SQL each. */
static void free_code(struct trigger *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].sql);
	}
	free(v);
}

static void add_code(struct trigger **v, size_t *n, const char *name, const char *sql)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].name = xstrdup(name);
	(*v)[(*n)++].sql = xstrdup(sql);
}

const struct trigger *schema_find_function(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->nfunctions; i++)
		if (!strcmp(s->functions[i].name, name))
			return &s->functions[i];
	return NULL;
}

void schema_init(struct schema *s)
{
	s->n = s->alloc = 0;
	s->tables = NULL;
	s->types = NULL;
	s->ntypes = s->types_alloc = 0;
	s->domains = NULL;
	s->ndomains = s->domains_alloc = 0;
	s->functions = NULL;
	s->nfunctions = s->functions_alloc = 0;
}

void schema_release(struct schema *s)
{
	for (size_t i = 0; i < s->n; i++)
		table_free(s->tables[i]);
	free(s->tables);
	for (size_t i = 0; i < s->ntypes; i++) {
		free(s->types[i].name);
		free_strv(s->types[i].labels, s->types[i].nlabels);
	}
	free(s->types);
	for (size_t i = 0; i < s->ndomains; i++)
		domain_free(s->domains[i]);
	free(s->domains);
	free_code(s->functions, s->nfunctions);
	schema_init(s);
}

void schema_add(struct schema *s, struct table *t)
{
	ALLOC_GROW(s->tables, s->n + 1, s->alloc);
	s->tables[s->n++] = t;
}

struct table *schema_find(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->tables[i]->name, name))
			return s->tables[i];
	return NULL;
}

struct enum_type *schema_find_type(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->ntypes; i++)
		if (!strcmp(s->types[i].name, name))
			return &s->types[i];
	return NULL;
}

struct enum_type *schema_add_type(struct schema *s, const char *name)
{
	ALLOC_GROW(s->types, s->ntypes + 1, s->types_alloc);
	struct enum_type *ty = &s->types[s->ntypes++];
	ty->name = xstrdup(name);
	ty->labels = NULL;
	ty->nlabels = 0;
	return ty;
}

struct domain *schema_find_domain(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->ndomains; i++)
		if (!strcmp(s->domains[i]->name, name))
			return s->domains[i];
	return NULL;
}

void schema_add_domain(struct schema *s, struct domain *dom)
{
	ALLOC_GROW(s->domains, s->ndomains + 1, s->domains_alloc);
	s->domains[s->ndomains++] = dom;
}

struct domain *domain_new(const char *name, const char *base, int not_null, const char *default_sql)
{
	struct domain *dom = xcalloc(1, sizeof(*dom));
	dom->name = xstrdup(name);
	dom->base = xstrdup(base);
	dom->not_null = not_null;
	dom->default_sql = default_sql ? xstrdup(default_sql) : NULL;
	return dom;
}

void domain_add_check(struct domain *dom, const char *name, const char *expr)
{
	dom->checks = xrealloc(dom->checks, (dom->nchecks + 1) * sizeof(*dom->checks));
	dom->checks[dom->nchecks].name = name && *name ? xstrdup(name) : NULL;
	dom->checks[dom->nchecks++].expr = xstrdup(expr);
}

struct domain *domain_copy(const struct domain *dom)
{
	if (!dom)
		return NULL;
	struct domain *c = domain_new(dom->name, dom->base, dom->not_null, dom->default_sql);
	for (size_t i = 0; i < dom->nchecks; i++)
		domain_add_check(c, dom->checks[i].name, dom->checks[i].expr);
	return c;
}

void domain_free(struct domain *dom)
{
	if (!dom)
		return;
	for (size_t i = 0; i < dom->nchecks; i++) {
		free(dom->checks[i].name);
		free(dom->checks[i].expr);
	}
	free(dom->checks);
	free(dom->name);
	free(dom->base);
	free(dom->default_sql);
	free(dom);
}

static int str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int domain_equal(const struct domain *a, const struct domain *b)
{
	if (!a || !b)
		return a == b;
	int eq = !strcmp(a->name, b->name) && !strcmp(a->base, b->base) && a->not_null == b->not_null &&
		 str_same(a->default_sql, b->default_sql) && a->nchecks == b->nchecks;
	for (size_t i = 0; eq && i < a->nchecks; i++)
		eq = str_same(a->checks[i].name, b->checks[i].name) && !strcmp(a->checks[i].expr, b->checks[i].expr);
	return eq;
}

static void add_name_part(struct buf *b, const char *part)
{
	for (const char *p = part; *p; p++) {
		if (*p == '.' || *p == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *p);
	}
}

char *table_name_make(const char *schema, const char *table)
{
	struct buf b = BUF_INIT;
	if (schema) {
		add_name_part(&b, schema);
		buf_addch(&b, '.');
	}
	add_name_part(&b, table);
	return buf_detach(&b);
}

void table_name_split(const char *name, char **schema, char **table)
{
	struct buf part = BUF_INIT;
	*schema = NULL;
	for (const char *p = name; *p; p++) {
		if (*p == '\\' && p[1]) {
			buf_addch(&part, *++p);
		} else if (*p == '.' && !*schema) {
			*schema = buf_detach(&part);
			buf_init(&part);
		} else {
			buf_addch(&part, *p);
		}
	}
	buf_adds(&part, "");
	*table = buf_detach(&part);
}

struct table *schema_find_parts(const struct schema *s, const char *schema, const char *table)
{
	char *name = table_name_make(schema, table);
	struct table *t = schema_find(s, name);
	free(name);
	return t;
}

struct table *table_new(const char *name)
{
	struct table *t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	return t;
}

void table_key_first_columns(struct table *t, size_t n)
{
	t->key = xcalloc(n, sizeof(size_t));
	for (size_t k = 0; k < n; k++)
		t->key[k] = k;
	t->nkey = n;
	t->key_kind = KEY_PRIMARY;
	t->complete = 1;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].native);
		free(t->cols[i].default_sql);
		free_strv(t->cols[i].labels, t->cols[i].nlabels);
		free(t->cols[i].type_made);
		domain_free(t->cols[i].domain);
	}
	free(t->cols);
	free(t->key);
	for (size_t i = 0; i < t->nrefs; i++) {
		free_strv(t->refs[i].cols, t->refs[i].ncols);
		free_strv(t->refs[i].to, t->refs[i].ncols);
		free(t->refs[i].table);
		free(t->refs[i].name);
	}
	free(t->refs);
	for (size_t i = 0; i < t->nindexes; i++) {
		free(t->indexes[i].name);
		free(t->indexes[i].kind);
		free_strv(t->indexes[i].cols, t->indexes[i].ncols);
	}
	free(t->indexes);
	for (size_t i = 0; i < t->nchecks; i++) {
		free(t->checks[i].name);
		free(t->checks[i].expr);
	}
	free(t->checks);
	free_code(t->triggers, t->ntriggers);
	free_code(t->rules, t->nrules);
	free_code(t->functions, t->nfunctions);
	free_strv(t->functions_made, t->nfunctions_made);
	free_strv(t->not_carried, t->nnot_carried);
	free_strv(t->inherits, t->ninherits);
	free(t->name);
	free(t);
}

struct column *table_add_column(struct table *t, const char *name, enum vtype type,
				const char *native, int nullable)
{
	/* Room for twice as many whenever a power of two is full (only this
	 * function grows cols): a table record of 100,000 columns must not
	 * copy the array 100,000 times. */
	if (!(t->ncols & (t->ncols - 1)))
		t->cols = xrealloc(t->cols, (t->ncols ? 2 * t->ncols : 1) * sizeof(*t->cols));
	struct column *c = &t->cols[t->ncols++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->type = type;
	c->native = xstrdup(native ? native : "");
	c->nullable = nullable;
	c->scale = -1;
	return c;
}

int native_scale(const char *native, int decimal, int dflt)
{
	const char *p = strchr(native, '(');
	if (!p)
		return dflt;
	if (decimal) {
		const char *comma = strchr(p, ',');
		return comma ? atoi(comma + 1) : 0;
	}
	return atoi(p + 1);
}

long table_column_index(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return (long)i;
	return -1;
}

int column_equal(const struct column *c, const struct row *a, size_t ia, const struct row *b, size_t ib)
{
	if (c->exact_text && c->type == VT_DECIMAL && a->v[ia].state == V_SET && b->v[ib].state == V_SET)
		return a->v[ia].len == b->v[ib].len && !memcmp(row_ptr(a, ia), row_ptr(b, ib), a->v[ia].len);
	if (c->json_doc && c->type == VT_JSON && a->v[ia].state == V_SET && b->v[ib].state == V_SET &&
	    (a->v[ia].len != b->v[ib].len || memcmp(row_ptr(a, ia), row_ptr(b, ib), a->v[ia].len)))
		return json_text_equal(row_ptr(a, ia), a->v[ia].len, row_ptr(b, ib), b->v[ib].len) == 1;
	return value_equal(a, ia, b, ib, c->type);
}

int table_is_key(const struct table *t, size_t i)
{
	for (size_t k = 0; k < t->nkey; k++)
		if (t->key[k] == i)
			return 1;
	return 0;
}

int table_is_compared(const struct table *t, size_t i)
{
	return !table_is_key(t, i) && !t->cols[i].generated && !t->cols[i].own_value;
}

int table_key_all(const struct table *t, int (*ok)(const struct column *c))
{
	if (t->key_kind == KEY_ROW || !t->nkey)
		return 0;
	for (size_t k = 0; k < t->nkey; k++)
		if (!ok(&t->cols[t->key[k]]))
			return 0;
	return 1;
}

void table_key_whole_row(struct table *t)
{
	free(t->key);
	t->key = xcalloc(t->ncols, sizeof(*t->key));
	t->nkey = 0;
	for (size_t i = 0; i < t->ncols; i++)
		if (!t->cols[i].generated)
			t->key[t->nkey++] = i;
	t->key_kind = KEY_ROW;
}

int table_offer_key(struct table *t, int primary, const size_t *cols, size_t ncols)
{
	if (t->nkey || !ncols)
		return 0;
	for (size_t i = 0; i < ncols; i++)
		if (cols[i] >= t->ncols ||
		    (!primary && (t->cols[cols[i]].nullable || t->cols[cols[i]].generated)))
			return 0;
	free(t->key);
	t->key = xcalloc(ncols, sizeof(*t->key));
	memcpy(t->key, cols, ncols * sizeof(*cols));
	t->nkey = ncols;
	t->key_kind = primary ? KEY_PRIMARY : KEY_UNIQUE;
	return 1;
}

void table_settle_key(struct table *t)
{
	if (!t->nkey)
		table_key_whole_row(t);
}

struct ref *table_add_ref(struct table *t, const char *to, int deferrable)
{
	t->refs = xrealloc(t->refs, (t->nrefs + 1) * sizeof(*t->refs));
	struct ref *rf = &t->refs[t->nrefs++];
	memset(rf, 0, sizeof(*rf));
	rf->table = xstrdup(to);
	rf->deferrable = deferrable;
	return rf;
}

void ref_add_column(struct ref *rf, const char *col, const char *to_col)
{
	rf->cols = xrealloc(rf->cols, (rf->ncols + 1) * sizeof(*rf->cols));
	rf->to = xrealloc(rf->to, (rf->ncols + 1) * sizeof(*rf->to));
	rf->cols[rf->ncols] = xstrdup(col);
	rf->to[rf->ncols] = xstrdup(to_col);
	rf->ncols++;
}

static const char *const ref_action_names[] = { "NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT" };

enum ref_action ref_action_parse(const char *sql)
{
	for (size_t i = 0; sql && i < sizeof(ref_action_names) / sizeof(*ref_action_names); i++)
		if (!strcasecmp(sql, ref_action_names[i]))
			return (enum ref_action)i;
	return REF_NO_ACTION;
}

enum ref_action ref_action_effective(const struct table *t, const struct ref *r, enum ref_action a)
{
	for (size_t c = 0; a == REF_SET_NULL && c < r->ncols; c++) {
		long i = table_column_index(t, r->cols[c]);
		if (i >= 0 && !t->cols[i].nullable)
			return REF_NO_ACTION;
	}
	return a;
}

const char *ref_action_sql(enum ref_action a)
{
	return ref_action_names[a];
}

struct index *table_add_index(struct table *t, const char *name, int unique)
{
	t->indexes = xrealloc(t->indexes, (t->nindexes + 1) * sizeof(*t->indexes));
	struct index *ix = &t->indexes[t->nindexes++];
	memset(ix, 0, sizeof(*ix));
	ix->name = xstrdup(name);
	ix->unique = unique;
	return ix;
}

void index_add_column(struct index *ix, const char *col)
{
	ix->cols = xrealloc(ix->cols, (ix->ncols + 1) * sizeof(*ix->cols));
	ix->cols[ix->ncols++] = xstrdup(col);
}

void table_drop_last_index(struct table *t)
{
	struct index *ix = &t->indexes[--t->nindexes];
	free(ix->name);
	free(ix->kind);
	free_strv(ix->cols, ix->ncols);
}

static int index_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct index *)a)->name, ((const struct index *)b)->name);
}

void table_sort_indexes(struct table *t)
{
	if (t->nindexes > 1)
		qsort(t->indexes, t->nindexes, sizeof(*t->indexes), index_name_cmp);
}

void table_add_check(struct table *t, const char *name, const char *expr)
{
	t->checks = xrealloc(t->checks, (t->nchecks + 1) * sizeof(*t->checks));
	struct check *ck = &t->checks[t->nchecks++];
	ck->name = name && *name ? xstrdup(name) : NULL;
	ck->expr = xstrdup(expr);
}

/* Whether s is a number literal: -12, 1.5, 1e3. */
static int is_number(const char *s)
{
	char *end;
	if (!*s || isspace((unsigned char)*s))
		return 0;
	strtod(s, &end);
	return !*end;
}

/* The end of the quoted literal starting at s ('it''s'), or NULL. */
static const char *literal_end(const char *s)
{
	if (*s != '\'')
		return NULL;
	for (const char *p = s + 1; *p; p++)
		if (*p == '\'' && p[1] == '\'')
			p++;
		else if (*p == '\'')
			return p + 1;
	return NULL;
}

char *column_default_normalize(const char *text, const struct column *c)
{
	if (!text)
		return NULL;
	while (isspace((unsigned char)*text))
		text++;
	size_t n = strlen(text);
	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	/* SQLite keeps ("x") as written: one pair of parentheses around a literal goes. */
	struct buf b = BUF_INIT;
	if (n > 2 && text[0] == '(' && text[n - 1] == ')' && (text[1] == '\'' || isdigit((unsigned char)text[1])))
		buf_add(&b, text + 1, n - 2);
	else
		buf_add(&b, text, n);
	/* PostgreSQL's 'a'::character varying, '-1'::integer */
	const char *e = literal_end(b.buf);
	if (e && e[0] == ':' && e[1] == ':') {
		b.len = (size_t)(e - b.buf);
		b.buf[b.len] = '\0';
	}
	char *s = b.buf;
	if (!*s || !strcasecmp(s, "NULL")) {
		buf_release(&b);
		return NULL;
	}
	const char *out = NULL;
	if (!strcasecmp(s, "now()") || !strncasecmp(s, "current_timestamp", 17) ||
	    !strncasecmp(s, "localtimestamp", 14))
		out = "CURRENT_TIMESTAMP";
	else if (!strcasecmp(s, "current_date") || !strcasecmp(s, "curdate()") || !strcasecmp(s, "current_date()"))
		out = "CURRENT_DATE";
	if (out) {
		buf_release(&b);
		return xstrdup(out);
	}
	/* A quoted number into a number column is the number. */
	if (literal_end(s) && literal_end(s) == s + strlen(s) && (c->type == VT_INT || c->type == VT_FLOAT ||
	    c->type == VT_DECIMAL || c->type == VT_BOOL)) {
		struct buf inner = BUF_INIT;
		buf_add(&inner, s + 1, strlen(s) - 2);
		if (is_number(inner.buf) || c->type == VT_BOOL) {
			buf_release(&b);
			b = inner;
			s = b.buf;
		} else {
			buf_release(&inner);
		}
	}
	/* MySQL writes a decimal's default with the column's scale (0.00):
	 * a number is kept without trailing zeros of its fraction, so that
	 * 0 and 0.00 are one default on every engine. */
	if (is_number(s) && strchr(s, '.') && !strpbrk(s, "eE")) {
		while (b.len && b.buf[b.len - 1] == '0')
			b.buf[--b.len] = '\0';
		if (b.len && b.buf[b.len - 1] == '.')
			b.buf[--b.len] = '\0';
		s = b.buf;
	}
	if (c->type == VT_BOOL) {
		if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "f"))
			out = "false";
		else if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "t"))
			out = "true";
	}
	if (out) {
		buf_release(&b);
		return xstrdup(out);
	}
	return buf_detach(&b);
}

int default_is_portable(const char *def)
{
	const char *e = literal_end(def);
	return is_number(def) || (e && !*e) || !strcmp(def, "true") || !strcmp(def, "false") ||
	       !strcmp(def, "CURRENT_TIMESTAMP") || !strcmp(def, "CURRENT_DATE");
}

static int table_name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct table *const *)a)->name, (*(struct table *const *)b)->name);
}

void schema_sort(struct schema *s)
{
	if (s->n > 1)
		qsort(s->tables, s->n, sizeof(*s->tables), table_name_cmp);
}

static void add_strv(struct buf *out, char **v, size_t n)
{
	buf_addch(out, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addch(out, ',');
		json_add_string(out, v[i], strlen(v[i]));
	}
	buf_addch(out, ']');
}

static const char *const key_kind_names[] = { "primary", "unique", "row" };

void column_to_json(struct buf *out, const struct column *c)
{
	buf_adds(out, "{\"name\":");
	json_add_string(out, c->name, strlen(c->name));
	buf_addf(out, ",\"type\":\"%s\",\"native\":", vtype_name(c->type));
	json_add_string(out, c->native, strlen(c->native));
	buf_addf(out, ",\"nullable\":%s", c->nullable ? "true" : "false");
	if (c->generated)
		buf_adds(out, ",\"generated\":true");
	if (c->autoinc)
		buf_adds(out, ",\"autoincrement\":true");
	if (c->default_sql) {
		buf_adds(out, ",\"default\":");
		json_add_string(out, c->default_sql, strlen(c->default_sql));
	}
	if (c->nlabels) {
		buf_adds(out, ",\"labels\":");
		add_strv(out, c->labels, c->nlabels);
	}
	if (c->domain) {
		buf_adds(out, ",\"domain\":");
		domain_to_json(out, c->domain);
	}
	if (c->type_made) {
		buf_adds(out, ",\"enum_type_made\":");
		json_add_string(out, c->type_made, strlen(c->type_made));
	}
	buf_addch(out, '}');
}

void domain_to_json(struct buf *out, const struct domain *dom)
{
	buf_adds(out, "{\"name\":");
	json_add_string(out, dom->name, strlen(dom->name));
	buf_adds(out, ",\"base\":");
	json_add_string(out, dom->base, strlen(dom->base));
	buf_addf(out, ",\"nullable\":%s", dom->not_null ? "false" : "true");
	if (dom->default_sql) {
		buf_adds(out, ",\"default\":");
		json_add_string(out, dom->default_sql, strlen(dom->default_sql));
	}
	if (dom->nchecks) {
		buf_adds(out, ",\"checks\":[");
		for (size_t i = 0; i < dom->nchecks; i++) {
			if (i)
				buf_addch(out, ',');
			check_to_json(out, &dom->checks[i]);
		}
		buf_addch(out, ']');
	}
	buf_addch(out, '}');
}

void ref_to_json(struct buf *out, const struct ref *r, int names)
{
	buf_adds(out, "{\"columns\":");
	add_strv(out, r->cols, r->ncols);
	buf_adds(out, ",\"table\":");
	json_add_string(out, r->table, strlen(r->table));
	buf_adds(out, ",\"to\":");
	add_strv(out, r->to, r->ncols);
	if (r->deferrable)
		buf_adds(out, ",\"deferrable\":true");
	if (r->on_delete != REF_NO_ACTION)
		buf_addf(out, ",\"on_delete\":\"%s\"", ref_action_sql(r->on_delete));
	if (r->on_update != REF_NO_ACTION)
		buf_addf(out, ",\"on_update\":\"%s\"", ref_action_sql(r->on_update));
	if (names && r->name) {
		buf_adds(out, ",\"name\":");
		json_add_string(out, r->name, strlen(r->name));
	}
	buf_addch(out, '}');
}

void index_to_json(struct buf *out, const struct index *ix, int names)
{
	buf_adds(out, "{\"name\":");
	json_add_string(out, ix->name, strlen(ix->name));
	buf_adds(out, ",\"columns\":");
	add_strv(out, ix->cols, ix->ncols);
	if (ix->unique)
		buf_adds(out, ",\"unique\":true");
	if (ix->kind) {
		buf_adds(out, ",\"kind\":");
		json_add_string(out, ix->kind, strlen(ix->kind));
	}
	if (names && ix->constraint)
		buf_adds(out, ",\"constraint\":true");
	buf_addch(out, '}');
}

void trigger_to_json(struct buf *out, const struct trigger *g)
{
	buf_adds(out, "{\"name\":");
	json_add_string(out, g->name, strlen(g->name));
	buf_adds(out, ",\"sql\":");
	json_add_string(out, g->sql, strlen(g->sql));
	buf_addch(out, '}');
}

void check_to_json(struct buf *out, const struct check *ck)
{
	buf_addch(out, '{');
	if (ck->name) {
		buf_adds(out, "\"name\":");
		json_add_string(out, ck->name, strlen(ck->name));
		buf_addch(out, ',');
	}
	buf_adds(out, "\"check\":");
	json_add_string(out, ck->expr, strlen(ck->expr));
	buf_addch(out, '}');
}

/* ,"key":[{"name":...,"sql":...},...] where there are some. */
static void add_code_json(struct buf *out, const char *key, const struct trigger *v, size_t n)
{
	if (!n)
		return;
	buf_addf(out, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addch(out, ',');
		trigger_to_json(out, &v[i]);
	}
	buf_addch(out, ']');
}

void table_to_json(struct buf *out, const struct table *t, int flags)
{
	buf_adds(out, "{\"type\":\"table\",\"table\":");
	json_add_string(out, t->name, strlen(t->name));
	buf_adds(out, ",\"key\":[");
	for (size_t k = 0; k < t->nkey; k++) {
		if (k)
			buf_addch(out, ',');
		const char *n = t->cols[t->key[k]].name;
		json_add_string(out, n, strlen(n));
	}
	buf_addf(out, "],\"key_from\":\"%s\",\"columns\":[", key_kind_names[t->key_kind]);
	for (size_t i = 0; i < t->ncols; i++) {
		if (i)
			buf_addch(out, ',');
		column_to_json(out, &t->cols[i]);
	}
	buf_adds(out, "],\"references\":[");
	for (size_t i = 0; i < t->nrefs; i++) {
		if (i)
			buf_addch(out, ',');
		ref_to_json(out, &t->refs[i], 0);
	}
	buf_addch(out, ']');
	if (t->nindexes) {
		buf_adds(out, ",\"indexes\":[");
		for (size_t i = 0; i < t->nindexes; i++) {
			if (i)
				buf_addch(out, ',');
			index_to_json(out, &t->indexes[i], 0);
		}
		buf_addch(out, ']');
	}
	if (t->nchecks) {
		buf_adds(out, ",\"checks\":[");
		for (size_t i = 0; i < t->nchecks; i++) {
			if (i)
				buf_addch(out, ',');
			check_to_json(out, &t->checks[i]);
		}
		buf_addch(out, ']');
	}
	/* their code, which --schema makes again on the same engine only; a
	 * catalog that cannot give it says that there are some */
	if (t->ntriggers) {
		buf_adds(out, ",\"triggers\":[");
		for (size_t i = 0; i < t->ntriggers; i++) {
			if (i)
				buf_addch(out, ',');
			trigger_to_json(out, &t->triggers[i]);
		}
		buf_addch(out, ']');
	} else if (t->has_triggers) {
		buf_adds(out, ",\"triggers\":true");
	}
	add_code_json(out, "rules", t->rules, t->nrules);
	add_code_json(out, "functions", t->functions, t->nfunctions);
	if (t->nfunctions_made) {
		buf_adds(out, ",\"functions_made\":");
		add_strv(out, t->functions_made, t->nfunctions_made);
	}
	if (t->ninherits) {
		buf_adds(out, ",\"inherits\":");
		add_strv(out, t->inherits, t->ninherits);
	}
	if (t->nnot_carried) {
		buf_adds(out, ",\"not_carried\":");
		add_strv(out, t->not_carried, t->nnot_carried);
	}
	if (flags & TABLE_COMPLETE)
		buf_adds(out, ",\"complete\":true");
	if (flags & TABLE_RANGED)
		buf_adds(out, ",\"ranged\":true");
	buf_addch(out, '}');
}

static int fail(struct buf *err, const char *msg, const char *arg)
{
	buf_reset(err);
	buf_addf(err, msg, arg);
	return -1;
}

static int strv_from_json(const struct jv *a, char ***out, size_t *n, struct buf *err, const char *what)
{
	if (!a || a->type != J_ARRAY)
		return fail(err, "table record: \"%s\" must be an array of names", what);
	*n = 0;
	*out = xcalloc(a->count ? a->count : 1, sizeof(char *));
	for (const struct jv *s = a->first; s; s = s->next) {
		if (s->type != J_STRING)
			return fail(err, "table record: \"%s\" must be an array of names", what);
		(*out)[(*n)++] = xstrdup(s->s);
	}
	return 0;
}

/* A column's "domain"; NULL when it is malformed. */
static struct domain *domain_from_json(const struct jv *j)
{
	const char *name = jv_get_string(j, "name"), *base = jv_get_string(j, "base");
	const struct jv *nl = jv_get(j, "nullable"), *def = jv_get(j, "default"), *cks = jv_get(j, "checks");
	if (j->type != J_OBJECT || !name || !*name || !base || !*base ||
	    (nl && nl->type != J_TRUE && nl->type != J_FALSE) || (def && def->type != J_STRING && def->type != J_NULL) ||
	    (cks && cks->type != J_ARRAY))
		return NULL;
	struct domain *dom = domain_new(name, base, nl && nl->type == J_FALSE, def && def->type == J_STRING ? def->s : NULL);
	for (const struct jv *k = cks ? cks->first : NULL; k; k = k->next) {
		const char *expr = jv_get_string(k, "check");
		const struct jv *cn = jv_get(k, "name");
		if (!expr || !*expr || (cn && cn->type != J_STRING)) {
			domain_free(dom);
			return NULL;
		}
		domain_add_check(dom, cn ? cn->s : NULL, expr);
	}
	return dom;
}

int column_from_json(struct table *t, const struct jv *c, struct buf *err)
{
	const char *cn = jv_get_string(c, "name"), *ty = jv_get_string(c, "type");
	enum vtype vt;
	if (!cn || !ty)
		return fail(err, "table \"%s\": a column without \"name\" or \"type\"", t->name);
	if (vtype_parse(ty, &vt) < 0) {
		buf_reset(err);
		buf_addf(err, "table \"%s\": column \"%s\" has unknown type \"%s\"", t->name, cn, ty);
		return -1;
	}
	const struct jv *nl = jv_get(c, "nullable");
	struct column *col = table_add_column(t, cn, vt, jv_get_string(c, "native"), !nl || nl->type != J_FALSE);
	col->generated = jv_get_true(c, "generated");
	col->autoinc = jv_get_true(c, "autoincrement");
	const char *def = jv_get_string(c, "default");
	col->default_sql = def ? xstrdup(def) : NULL;
	const struct jv *labels = jv_get(c, "labels");
	if (labels && strv_from_json(labels, &col->labels, &col->nlabels, err, "labels") < 0)
		return -1;
	const char *made = jv_get_string(c, "enum_type_made");
	col->type_made = made ? xstrdup(made) : NULL;
	const struct jv *dom = jv_get(c, "domain");
	if (dom && !(col->domain = domain_from_json(dom))) {
		buf_reset(err);
		buf_addf(err, "table \"%s\": column \"%s\": a malformed domain (\"name\", \"base\", "
			 "\"nullable\", \"default\", \"checks\")", t->name, cn);
		return -1;
	}
	return 0;
}

/* The columns of a table record, their names checked for repeats in one
 * pass (a record may have many columns). */
static int columns_from_json(struct table *t, const struct jv *cols, struct buf *err)
{
	struct strmap names = { 0 };
	int rc = -1;
	for (const struct jv *c = cols->first; c; c = c->next) {
		const char *cn = jv_get_string(c, "name");
		if (cn && !strmap_put(&names, cn, strlen(cn), "", 0)) {
			buf_reset(err);
			buf_addf(err, "table \"%s\": column \"%s\" listed twice", t->name, cn);
			goto out;
		}
		if (column_from_json(t, c, err) < 0)
			goto out;
	}
	rc = 0;
out:
	strmap_release(&names);
	return rc;
}

/* The key of a table record: its columns, else the whole row. */
static int key_from_json(struct table *t, const struct jv *rec, struct buf *err)
{
	char **key = NULL;
	size_t nkey = 0;
	int rc = 0;
	const struct jv *kj = jv_get(rec, "key");
	if (kj && strv_from_json(kj, &key, &nkey, err, "key") < 0) {
		free_strv(key, nkey);
		return -1;
	}
	if (!nkey) {
		table_key_whole_row(t);
		free_strv(key, nkey);
		return 0;
	}
	t->key = xcalloc(nkey, sizeof(*t->key));
	for (size_t k = 0; k < nkey && rc == 0; k++) {
		long ci = table_column_index(t, key[k]);
		if (ci < 0) {
			buf_reset(err);
			buf_addf(err, "table \"%s\": key column \"%s\" is not a column", t->name, key[k]);
			rc = -1;
		} else {
			t->key[t->nkey++] = (size_t)ci;
		}
	}
	free_strv(key, nkey);
	const char *kf = jv_get_string(rec, "key_from");
	t->key_kind = kf && !strcmp(kf, "unique") ? KEY_UNIQUE : kf && !strcmp(kf, "row") ? KEY_ROW : KEY_PRIMARY;
	return rc;
}

static int refs_from_json(struct table *t, const struct jv *rec, struct buf *err)
{
	const struct jv *refs = jv_get(rec, "references");
	if (refs && refs->type != J_ARRAY)
		return fail(err, "table \"%s\": \"references\" must be an array", t->name);
	for (const struct jv *r = refs ? refs->first : NULL; r; r = r->next) {
		t->refs = xrealloc(t->refs, (t->nrefs + 1) * sizeof(*t->refs));
		struct ref *rf = &t->refs[t->nrefs++];
		memset(rf, 0, sizeof(*rf));
		const char *rt = jv_get_string(r, "table");
		size_t nto = 0;
		rf->table = xstrdup(rt ? rt : "");
		if (!rt || strv_from_json(jv_get(r, "columns"), &rf->cols, &rf->ncols, err, "columns") < 0 ||
		    strv_from_json(jv_get(r, "to"), &rf->to, &nto, err, "to") < 0 || nto != rf->ncols) {
			free_strv(rf->to, nto);
			free_strv(rf->cols, rf->ncols);
			rf->to = rf->cols = NULL;
			rf->ncols = 0;
			return fail(err, "table \"%s\": a malformed reference", t->name);
		}
		rf->deferrable = jv_get_true(r, "deferrable");
		rf->on_delete = ref_action_parse(jv_get_string(r, "on_delete"));
		rf->on_update = ref_action_parse(jv_get_string(r, "on_update"));
	}
	return 0;
}

/* "indexes": optional, absent in streams of before it was written. */
static int indexes_from_json(struct table *t, const struct jv *rec, struct buf *err)
{
	const struct jv *ixs = jv_get(rec, "indexes");
	if (ixs && ixs->type != J_ARRAY)
		return fail(err, "table \"%s\": \"indexes\" must be an array", t->name);
	for (const struct jv *j = ixs ? ixs->first : NULL; j; j = j->next) {
		const char *name = jv_get_string(j, "name");
		char **cols = NULL;
		size_t n = 0;
		if (!name || strv_from_json(jv_get(j, "columns"), &cols, &n, err, "columns") < 0 || !n) {
			free_strv(cols, n);
			return fail(err, "table \"%s\": a malformed index", t->name);
		}
		struct index *ix = table_add_index(t, name, jv_get_true(j, "unique"));
		ix->cols = cols;
		ix->ncols = n;
		const char *kind = jv_get_string(j, "kind");
		ix->kind = kind ? xstrdup(kind) : NULL;
	}
	return 0;
}

/* "checks": optional, absent in streams of before it was written. */
static int checks_from_json(struct table *t, const struct jv *rec, struct buf *err)
{
	const struct jv *cks = jv_get(rec, "checks");
	if (cks && cks->type != J_ARRAY)
		return fail(err, "table \"%s\": \"checks\" must be an array", t->name);
	for (const struct jv *j = cks ? cks->first : NULL; j; j = j->next) {
		const char *expr = jv_get_string(j, "check");
		const struct jv *name = jv_get(j, "name");
		if (!expr || !*expr || (name && name->type != J_STRING))
			return fail(err, "table \"%s\": a malformed check", t->name);
		table_add_check(t, jv_get_string(j, "name"), expr);
	}
	return 0;
}

/* "triggers" or "rules": objects of a name and the SQL that makes it
 * (a "triggers" that is not an array is an older stream's true). */
static int code_from_json(struct table *t, const struct jv *a, const char *what,
			  void (*add)(struct table *, const char *, const char *), struct buf *err)
{
	for (const struct jv *g = a && a->type == J_ARRAY ? a->first : NULL; g; g = g->next) {
		const char *name = jv_get_string(g, "name"), *sql = jv_get_string(g, "sql");
		if (!name || !sql) {
			buf_addf(err, "table \"%s\": a %s without \"name\" or \"sql\"", t->name, what);
			return -1;
		}
		add(t, name, sql);
	}
	return 0;
}

struct table *table_from_json(const struct jv *rec, struct buf *err)
{
	const char *name = jv_get_string(rec, "table");
	if (!name) {
		fail(err, "table record without a \"table\" name%s", "");
		return NULL;
	}
	struct table *t = table_new(name);
	const struct jv *cols = jv_get(rec, "columns");
	if (!cols || cols->type != J_ARRAY || !cols->count) {
		fail(err, "table record for \"%s\" has no \"columns\" array", name);
		table_free(t);
		return NULL;
	}
	if (columns_from_json(t, cols, err) < 0 || key_from_json(t, rec, err) < 0 ||
	    refs_from_json(t, rec, err) < 0 || indexes_from_json(t, rec, err) < 0 ||
	    checks_from_json(t, rec, err) < 0) {
		table_free(t);
		return NULL;
	}
	t->complete = jv_get_true(rec, "complete");
	t->has_triggers = jv_get_true(rec, "triggers");
	if (code_from_json(t, jv_get(rec, "triggers"), "trigger", table_add_trigger, err) < 0 ||
	    code_from_json(t, jv_get(rec, "rules"), "rule", table_add_rule, err) < 0 ||
	    code_from_json(t, jv_get(rec, "functions"), "function", table_add_function, err) < 0) {
		table_free(t);
		return NULL;
	}
	const struct jv *nc = jv_get(rec, "not_carried"), *inh = jv_get(rec, "inherits");
	const struct jv *fm = jv_get(rec, "functions_made");
	if ((nc && strv_from_json(nc, &t->not_carried, &t->nnot_carried, err, "not_carried") < 0) ||
	    (inh && strv_from_json(inh, &t->inherits, &t->ninherits, err, "inherits") < 0) ||
	    (fm && strv_from_json(fm, &t->functions_made, &t->nfunctions_made, err, "functions_made") < 0)) {
		table_free(t);
		return NULL;
	}
	t->ranged = jv_get_true(rec, "ranged");
	return t;
}

void table_key_to_json(struct buf *out, const struct table *t, const struct row *r)
{
	struct buf err = BUF_INIT;
	buf_addch(out, '{');
	for (size_t k = 0; k < t->nkey; k++) {
		size_t i = t->key[k];
		if (k)
			buf_addch(out, ',');
		json_add_key(out, t->cols[i].name);
		if (value_to_json(out, r, i, t->cols[i].type, &err) < 0)
			buf_adds(out, "\"?\"");
	}
	buf_addch(out, '}');
	buf_release(&err);
}

int table_shape_equal(const struct table *a, const struct table *b)
{
	int same = b->ncols == a->ncols && b->nkey == a->nkey;
	for (size_t i = 0; same && i < a->ncols; i++)
		same = !strcmp(b->cols[i].name, a->cols[i].name) && b->cols[i].type == a->cols[i].type;
	for (size_t k = 0; same && k < a->nkey; k++)
		same = b->key[k] == a->key[k];
	return same;
}

/* The first difference between a's shape (here) and b's (in the other
 * input), for a message. */
static void shape_difference(struct buf *out, const struct table *a, const struct table *b)
{
	for (size_t i = 0; i < a->ncols || i < b->ncols; i++) {
		const struct column *x = i < a->ncols ? &a->cols[i] : NULL, *y = i < b->ncols ? &b->cols[i] : NULL;
		if (x && y && !strcmp(x->name, y->name) && x->type == y->type)
			continue;
		if (x && y && !strcmp(x->name, y->name))
			buf_addf(out, "column \"%s\" is %s (%s) here, %s (%s) in the other input", x->name,
				 vtype_name(x->type), x->native, vtype_name(y->type), y->native);
		else if (x && table_column_index(b, x->name) < 0)
			buf_addf(out, "column \"%s\" is only here", x->name);
		else if (y && table_column_index(a, y->name) < 0)
			buf_addf(out, "column \"%s\" is only in the other input", y->name);
		else
			buf_addf(out, "the columns come in another order (column %zu is \"%s\" here, \"%s\" in "
				 "the other input)",
				 i + 1, x ? x->name : "", y ? y->name : "");
		return;
	}
	buf_adds(out, "another key: (");
	for (size_t k = 0; k < a->nkey; k++)
		buf_addf(out, "%s%s", k ? "," : "", a->cols[a->key[k]].name);
	buf_adds(out, ") here, (");
	for (size_t k = 0; k < b->nkey; k++)
		buf_addf(out, "%s%s", k ? "," : "", b->cols[b->key[k]].name);
	buf_adds(out, ") in the other input");
}

int table_same_shape(const struct table *a, const struct table *b, const char *name)
{
	if (table_shape_equal(a, b))
		return 0;
	struct buf why = BUF_INIT;
	shape_difference(&why, b, a); /* b is name's: "here" */
	error("%s: table \"%s\" has other columns, column types or another key than in the other input "
	      "(a schema change: its rows cannot be compared): %s (dbdiff --schema lists every "
	      "difference)", name, a->name, why.buf);
	buf_release(&why);
	return -1;
}

/* At most this many key columns and bytes of each value in a message. */
enum { KEY_SHOWN_COLS = 4, KEY_SHOWN_BYTES = 60 };

void table_describe_key(struct buf *out, const struct table *t, const struct row *r)
{
	buf_adds(out, " (");
	for (size_t k = 0; k < t->nkey && k < KEY_SHOWN_COLS; k++) {
		size_t i = t->key[k];
		if (k)
			buf_adds(out, ", ");
		buf_addf(out, "%s=", t->cols[i].name);
		if (r->v[i].state != V_SET) {
			buf_adds(out, "NULL");
		} else if (t->cols[i].type == VT_BYTES) {
			buf_addf(out, "<%zu bytes>", r->v[i].len);
		} else {
			for (size_t j = 0; j < r->v[i].len && j < KEY_SHOWN_BYTES; j++) {
				char ch = row_ptr(r, i)[j];
				buf_addch(out, (unsigned char)ch < ' ' ? ' ' : ch); /* one line */
			}
			if (r->v[i].len > KEY_SHOWN_BYTES)
				buf_adds(out, "...");
		}
	}
	if (t->nkey > KEY_SHOWN_COLS)
		buf_adds(out, ", ...");
	buf_addch(out, ')');
}

void table_key_text(struct buf *out, const struct table *t, const struct row *r)
{
	buf_reset(out);
	for (size_t k = 0; k < t->nkey; k++)
		if (!row_add_part(out, r, (long)t->key[k]))
			buf_addch(out, 'N');
}

int table_add_parts(struct buf *out, const struct table *t, const struct row *r, char *const *cols,
		    size_t n)
{
	for (size_t c = 0; c < n; c++)
		if (!row_add_part(out, r, table_column_index(t, cols[c])))
			return 0;
	return 1;
}

int table_key_cmp(const struct table *t, const struct row *a, const struct row *b)
{
	for (size_t k = 0; k < t->nkey; k++) {
		size_t i = t->key[k];
		int c = value_cmp(a, i, b, i, t->cols[i].type);
		if (c)
			return c;
	}
	return 0;
}

void table_key_copy(const struct table *t, struct row *dst, const struct row *src)
{
	row_resize(dst, src->n);
	for (size_t k = 0; k < t->nkey; k++)
		row_copy_value(dst, src, t->key[k]);
}

/* Whether values of neutral type `from` can be written to a column of `to`. */
static int type_converts(enum vtype from, enum vtype to)
{
	/* Another engine's type into JSON would be read as JSON: a PostgreSQL
	 * array '{}' becomes an object. */
	if (from == to || to == VT_TEXT || to == VT_OTHER || (from == VT_OTHER && to != VT_JSON))
		return 1;
	switch (to) {
	case VT_FLOAT:
	case VT_DECIMAL:
		return from == VT_INT || from == VT_DECIMAL || from == VT_FLOAT;
	case VT_INT:
		return from == VT_BOOL;
	case VT_BOOL:
		return from == VT_INT;
	case VT_TIMESTAMP:
	case VT_TIMESTAMPTZ:
		return from == VT_TIMESTAMP || from == VT_TIMESTAMPTZ || from == VT_DATE || from == VT_TEXT;
	case VT_DATE:
	case VT_TIME:
	case VT_UUID:
	case VT_JSON:
	case VT_ENUM:
		return from == VT_TEXT || from == VT_ENUM;
	default:
		return 0;
	}
}

int schema_check_compatible(const struct table *src, const struct table *dst, struct buf *err)
{
	buf_reset(err);
	for (size_t i = 0; i < src->ncols; i++) {
		const struct column *c = &src->cols[i];
		long j = table_column_index(dst, c->name);
		if (j < 0) {
			buf_addf(err, "unknown column \"%s\" in table \"%s\"", c->name, src->name);
			return -1;
		}
		const struct column *d = &dst->cols[j];
		if (!type_converts(c->type, d->type)) {
			buf_addf(err, "type mismatch: column \"%s\".\"%s\" is %s (%s) in the stream but %s (%s) in the target",
				 src->name, c->name, vtype_name(c->type), c->native,
				 vtype_name(d->type), d->native);
			return -1;
		}
	}
	/* A target column the stream lacks is not checked here: it may have a
	 * default, and the engine says so on insert if it has none. */
	int same = src->nkey == dst->nkey;
	for (size_t k = 0; same && k < src->nkey; k++)
		same = !strcmp(src->cols[src->key[k]].name, dst->cols[dst->key[k]].name);
	if (!same) {
		struct buf a = BUF_INIT, b = BUF_INIT;
		for (size_t k = 0; k < src->nkey; k++)
			buf_addf(&a, "%s%s", k ? "," : "", src->cols[src->key[k]].name);
		for (size_t k = 0; k < dst->nkey; k++)
			buf_addf(&b, "%s%s", k ? "," : "", dst->cols[dst->key[k]].name);
		buf_addf(err, "table \"%s\": the stream's key (%s) differs from the target's key (%s)",
			 src->name, a.buf, b.buf);
		buf_release(&a);
		buf_release(&b);
		return -1;
	}
	return 0;
}

int strv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return 0;
	return 1;
}

void table_add_rule(struct table *t, const char *name, const char *sql)
{
	add_code(&t->rules, &t->nrules, name, sql);
}

void table_add_function(struct table *t, const char *name, const char *sql)
{
	add_code(&t->functions, &t->nfunctions, name, sql);
}

void table_add_inherits(struct table *t, const char *parent)
{
	t->inherits = xrealloc(t->inherits, (t->ninherits + 1) * sizeof(*t->inherits));
	t->inherits[t->ninherits++] = xstrdup(parent);
}

void table_add_not_carried(struct table *t, const char *what)
{
	t->not_carried = xrealloc(t->not_carried, (t->nnot_carried + 1) * sizeof(*t->not_carried));
	t->not_carried[t->nnot_carried++] = xstrdup(what);
}

void table_add_trigger(struct table *t, const char *name, const char *sql)
{
	add_code(&t->triggers, &t->ntriggers, name, sql);
	t->has_triggers = 1;
}

void column_add_label(struct column *c, const char *label)
{
	c->labels = xrealloc(c->labels, (c->nlabels + 1) * sizeof(*c->labels));
	c->labels[c->nlabels++] = xstrdup(label);
}

static void column_copy_labels(struct column *d, const struct column *s)
{
	d->labels = NULL;
	d->nlabels = 0;
	for (size_t i = 0; i < s->nlabels; i++)
		column_add_label(d, s->labels[i]);
}

struct column *table_add_column_copy(struct table *t, const struct column *s)
{
	struct column *d = table_add_column(t, s->name, s->type, s->native, s->nullable);
	char *name = d->name, *native = d->native;
	*d = *s;
	d->name = name;
	d->native = native;
	d->default_sql = s->default_sql ? xstrdup(s->default_sql) : NULL; /* each owns its own */
	d->type_made = s->type_made ? xstrdup(s->type_made) : NULL;
	d->domain = domain_copy(s->domain);
	column_copy_labels(d, s);
	return d;
}

void table_set_column(struct table *t, size_t i, const struct column *s)
{
	struct column *d = &t->cols[i];
	char *name = d->name, *native = xstrdup(s->native);
	free(d->native);
	free(d->default_sql);
	free_strv(d->labels, d->nlabels);
	free(d->type_made);
	domain_free(d->domain);
	*d = *s;
	d->name = name;
	d->native = native;
	d->default_sql = s->default_sql ? xstrdup(s->default_sql) : NULL;
	d->type_made = s->type_made ? xstrdup(s->type_made) : NULL;
	d->domain = domain_copy(s->domain);
	column_copy_labels(d, s);
}

void table_add_ref_copy(struct table *t, const struct ref *r)
{
	struct ref *rf = table_add_ref(t, r->table, r->deferrable);
	rf->on_delete = r->on_delete;
	rf->on_update = r->on_update;
	rf->name = r->name ? xstrdup(r->name) : NULL;
	for (size_t k = 0; k < r->ncols; k++)
		ref_add_column(rf, r->cols[k], r->to[k]);
}

void table_add_index_copy(struct table *t, const struct index *x)
{
	struct index *ix = table_add_index(t, x->name, x->unique);
	ix->kind = x->kind ? xstrdup(x->kind) : NULL;
	ix->constraint = x->constraint;
	for (size_t k = 0; k < x->ncols; k++)
		index_add_column(ix, x->cols[k]);
}

struct table *table_copy(const struct table *t)
{
	struct table *c = table_new(t->name);
	for (size_t i = 0; i < t->ncols; i++)
		table_add_column_copy(c, &t->cols[i]);
	c->key = xcalloc(t->nkey ? t->nkey : 1, sizeof(*c->key));
	c->nkey = t->nkey;
	memcpy(c->key, t->key, t->nkey * sizeof(*c->key));
	c->key_kind = t->key_kind;
	for (size_t r = 0; r < t->nrefs; r++)
		table_add_ref_copy(c, &t->refs[r]);
	for (size_t x = 0; x < t->nindexes; x++)
		table_add_index_copy(c, &t->indexes[x]);
	for (size_t x = 0; x < t->nchecks; x++)
		table_add_check(c, t->checks[x].name, t->checks[x].expr);
	c->complete = t->complete;
	c->ranged = t->ranged;
	c->has_triggers = t->has_triggers;
	c->unmade = t->unmade;
	for (size_t x = 0; x < t->ntriggers; x++)
		table_add_trigger(c, t->triggers[x].name, t->triggers[x].sql);
	for (size_t x = 0; x < t->nnot_carried; x++)
		table_add_not_carried(c, t->not_carried[x]);
	for (size_t x = 0; x < t->ninherits; x++)
		table_add_inherits(c, t->inherits[x]);
	for (size_t x = 0; x < t->nrules; x++)
		table_add_rule(c, t->rules[x].name, t->rules[x].sql);
	for (size_t x = 0; x < t->nfunctions; x++)
		table_add_function(c, t->functions[x].name, t->functions[x].sql);
	for (size_t x = 0; x < t->nfunctions_made; x++) {
		c->functions_made = xrealloc(c->functions_made, (x + 1) * sizeof(*c->functions_made));
		c->functions_made[c->nfunctions_made++] = xstrdup(t->functions_made[x]);
	}
	c->line = t->line;
	return c;
}

struct table *table_project(const struct table *dst, const struct table *src)
{
	struct table *p = table_new(dst->name);
	for (size_t i = 0; i < src->ncols; i++) {
		const struct column *d = &dst->cols[table_column_index(dst, src->cols[i].name)];
		struct column *c = table_add_column(p, d->name, d->type, d->native, d->nullable);
		c->generated = d->generated;
		c->autoinc = d->autoinc;
		c->exact_text = d->exact_text;
		c->default_sql = d->default_sql ? xstrdup(d->default_sql) : NULL;
		c->json_doc = d->json_doc;
		c->scale = d->scale;
		c->unmade = d->unmade;
		column_copy_labels(c, d);
	}
	p->key = xcalloc(src->nkey ? src->nkey : 1, sizeof(*p->key));
	p->nkey = src->nkey;
	memcpy(p->key, src->key, src->nkey * sizeof(*p->key));
	p->key_kind = src->key_kind;
	p->has_triggers = dst->has_triggers;
	p->unmade = dst->unmade;
	return p;
}
