/* schemadiff: the differences between two schemas, for dbdiff --schema,
 * dbapply --schema and dbapply's refusal without it. */
#include "schemadiff.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "json.h"

static const char *const change_names[] = {
	"add_table", "drop_table", "add_column", "drop_column", "alter_column", "alter_key",
	"add_index", "drop_index", "add_reference", "drop_reference", "alter_reference",
	"add_check", "drop_check", "add_trigger", "drop_trigger", "alter_trigger",
	"alter_inherits", "alter_function",
};

const char *schema_change_name(enum schema_change_kind k)
{
	return change_names[k];
}

int schema_change_additive(enum schema_change_kind k)
{
	return k == SC_ADD_TABLE || k == SC_ADD_COLUMN || k == SC_ADD_INDEX || k == SC_ADD_REFERENCE;
}

static void add(struct schema_diff *d, enum schema_change_kind k, const struct table *o, size_t oi,
		const struct table *n, size_t ni)
{
	ALLOC_GROW(d->v, d->n + 1, d->alloc);
	struct schema_change *c = &d->v[d->n++];
	c->kind = k;
	c->old_t = o;
	c->new_t = n;
	c->old_i = oi;
	c->new_i = ni;
}

static int str_equal(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}


static int columns_equal(const struct column *a, const struct column *b, int same_engine)
{
	if (a->type != b->type || a->nullable != b->nullable || a->autoinc != b->autoinc ||
	    a->generated != b->generated)
		return 0;
	/* an enum's values, where both sides list them (a value added to a
	 * PostgreSQL type leaves its name as it was) */
	if (a->nlabels && b->nlabels && !strv_equal(a->labels, a->nlabels, b->labels, b->nlabels))
		return 0;
	if (same_engine)
		return !strcasecmp(a->native, b->native) && str_equal(a->default_sql, b->default_sql) &&
		       domain_equal(a->domain, b->domain);
	/* gen_random_uuid() and uuid() mean one thing in two spellings: only
	 * portable defaults compare across engines. */
	if ((a->default_sql && !default_is_portable(a->default_sql)) ||
	    (b->default_sql && !default_is_portable(b->default_sql)))
		return 1;
	return str_equal(a->default_sql, b->default_sql);
}

/* A table's triggers and then its rules (PostgreSQL), numbered as one
 * list: the trigger records of a change name either, said by "rule". */
static const struct trigger *code_at(const struct table *t, size_t i)
{
	return i < t->ntriggers ? &t->triggers[i] : &t->rules[i - t->ntriggers];
}

static const char *code_word(const struct table *t, size_t i)
{
	return i < t->ntriggers ? "trigger" : "rule";
}

static long find_code(const struct table *t, const char *name, int rule)
{
	for (size_t i = rule ? t->ntriggers : 0; i < (rule ? t->ntriggers + t->nrules : t->ntriggers); i++)
		if (!strcmp(code_at(t, i)->name, name))
			return (long)i;
	return -1;
}

/* Triggers and rules by name; within one engine their SQL too (across
 * engines each is its engine's code, which says the same in other words).
 * A side that only says it has triggers (an older stream) is not compared. */
static void diff_triggers(const struct table *o, const struct table *n, int same_engine, struct schema_diff *d)
{
	if ((o->has_triggers && !o->ntriggers) || (n->has_triggers && !n->ntriggers))
		return;
	for (size_t i = 0; i < n->ntriggers + n->nrules; i++) {
		long j = find_code(o, code_at(n, i)->name, i >= n->ntriggers);
		if (j < 0)
			add(d, SC_ADD_TRIGGER, o, 0, n, i);
		else if (same_engine && strcmp(code_at(o, (size_t)j)->sql, code_at(n, i)->sql))
			add(d, SC_ALTER_TRIGGER, o, (size_t)j, n, i);
	}
	for (size_t j = 0; j < o->ntriggers + o->nrules; j++)
		if (find_code(n, code_at(o, j)->name, j >= o->ntriggers) < 0)
			add(d, SC_DROP_TRIGGER, o, j, n, 0);
}

static long find_function(const struct table *t, const char *signature)
{
	for (size_t i = 0; i < t->nfunctions; i++)
		if (!strcmp(t->functions[i].name, signature))
			return (long)i;
	return -1;
}

/* Within PostgreSQL: the tables a table inherits from (in order: a
 * child's columns come in its parents' order), and its triggers'
 * functions by signature, their code too. */
static void diff_pg_parts(const struct table *o, const struct table *n, struct schema_diff *d)
{
	if (!strv_equal(o->inherits, o->ninherits, n->inherits, n->ninherits))
		add(d, SC_ALTER_INHERITS, o, 0, n, 0);
	for (size_t i = 0; i < n->nfunctions; i++) {
		long j = find_function(o, n->functions[i].name);
		if (j < 0 || strcmp(o->functions[j].sql, n->functions[i].sql))
			add(d, SC_ALTER_FUNCTION, o, j < 0 ? SIZE_MAX : (size_t)j, n, i);
	}
	for (size_t j = 0; j < o->nfunctions; j++)
		if (find_function(n, o->functions[j].name) < 0)
			add(d, SC_ALTER_FUNCTION, o, j, n, SIZE_MAX);
}

static long find_index(const struct table *t, const struct index *ix)
{
	for (size_t i = 0; i < t->nindexes; i++)
		if (t->indexes[i].unique == ix->unique &&
		    strv_equal(t->indexes[i].cols, t->indexes[i].ncols, ix->cols, ix->ncols))
			return (long)i;
	return -1;
}

/* A plain index on exactly the columns of one of t's references: MySQL
 * makes it for the foreign key by itself. */
int schema_index_of_reference(const struct table *t, const struct index *ix)
{
	if (ix->unique)
		return 0;
	for (size_t r = 0; r < t->nrefs; r++)
		if (strv_equal(t->refs[r].cols, t->refs[r].ncols, ix->cols, ix->ncols))
			return 1;
	return 0;
}

static long find_ref(const struct table *t, const struct ref *rf)
{
	for (size_t i = 0; i < t->nrefs; i++)
		if (!strcmp(t->refs[i].table, rf->table) &&
		    strv_equal(t->refs[i].cols, t->refs[i].ncols, rf->cols, rf->ncols) &&
		    strv_equal(t->refs[i].to, t->refs[i].ncols, rf->to, rf->ncols))
			return (long)i;
	return -1;
}

/* Across engines RESTRICT is NO ACTION, and so is SET NULL on a NOT NULL
 * column (ref_action_effective): MySQL has that for PostgreSQL's. */
static int action_equal(const struct table *ta, const struct ref *ra, enum ref_action a, const struct table *tb,
			const struct ref *rb, enum ref_action b, int same_engine)
{
	if (!same_engine) {
		a = ref_action_effective(ta, ra, a == REF_RESTRICT ? REF_NO_ACTION : a);
		b = ref_action_effective(tb, rb, b == REF_RESTRICT ? REF_NO_ACTION : b);
	}
	return a == b;
}

static int key_equal(const struct table *a, const struct table *b)
{
	if (a->nkey != b->nkey || (a->key_kind == KEY_ROW) != (b->key_kind == KEY_ROW))
		return 0;
	for (size_t k = 0; k < a->nkey; k++)
		if (strcmp(a->cols[a->key[k]].name, b->cols[b->key[k]].name))
			return 0;
	return 1;
}

static long find_check(const struct table *t, const struct table *of, const struct check *ck)
{
	for (size_t i = 0; i < t->nchecks; i++)
		if (check_equal(t, t->checks[i].expr, of, ck->expr))
			return (long)i;
	return -1;
}

/* The column of t whose domain gave check i of its inlined copy (the
 * checks after t's own, check_domains_inlined's order). */
static size_t domain_column_of_check(const struct table *t, size_t i)
{
	i -= t->nchecks;
	for (size_t c = 0; c < t->ncols; c++) {
		size_t n = t->cols[c].domain ? t->cols[c].domain->nchecks : 0;
		if (i < n)
			return c;
		i -= n;
	}
	return 0;
}

/* Whether d already says that column i of n changed. */
static int column_altered(const struct schema_diff *d, const struct table *n, size_t i)
{
	for (size_t k = 0; k < d->n; k++)
		if (d->v[k].kind == SC_ALTER_COLUMN && d->v[k].new_t == n && d->v[k].new_i == i)
			return 1;
	return 0;
}

/* Whether check ck of t only says that a column holds JSON (Django's
 * JSONField on SQLite) where the other table's column of that name is
 * json (PostgreSQL's jsonb, MariaDB's JSON): the type says as much, and
 * the check is not a difference across engines. */
static int json_check_of_type(const struct table *t, const struct check *ck, const struct table *other)
{
	long c = check_json_column(t, ck->expr);
	long j = c < 0 ? -1 : table_column_index(other, t->cols[c].name);
	return j >= 0 && other->cols[j].type == VT_JSON;
}

/* o and n as recorded, oc and nc as compared (the same but for domains
 * across engines: diff_table). */
static void diff_parts(const struct table *o, const struct table *oc, const struct table *n,
		       const struct table *nc, int same_engine, struct schema_diff *d)
{
	for (size_t i = 0; i < n->ncols; i++) {
		long j = table_column_index(o, n->cols[i].name);
		if (j < 0)
			add(d, SC_ADD_COLUMN, o, 0, n, i);
		else if (!columns_equal(&oc->cols[j], &nc->cols[i], same_engine))
			add(d, SC_ALTER_COLUMN, o, (size_t)j, n, i);
	}
	for (size_t j = 0; j < o->ncols; j++)
		if (table_column_index(n, o->cols[j].name) < 0)
			add(d, SC_DROP_COLUMN, o, j, n, 0);
	/* A key made of the whole row follows the columns: not a change of its own. */
	if (!key_equal(o, n) && !(o->key_kind == KEY_ROW && n->key_kind == KEY_ROW))
		add(d, SC_ALTER_KEY, o, 0, n, 0);
	for (size_t i = 0; i < n->nindexes; i++)
		if (find_index(o, &n->indexes[i]) < 0 && (same_engine || !schema_index_of_reference(n, &n->indexes[i])))
			add(d, SC_ADD_INDEX, o, 0, n, i);
	for (size_t j = 0; j < o->nindexes; j++)
		if (find_index(n, &o->indexes[j]) < 0 && (same_engine || !schema_index_of_reference(o, &o->indexes[j])))
			add(d, SC_DROP_INDEX, o, j, n, 0);
	for (size_t i = 0; i < n->nrefs; i++) {
		long j = find_ref(o, &n->refs[i]);
		if (j < 0)
			add(d, SC_ADD_REFERENCE, o, 0, n, i);
		else if (!action_equal(o, &o->refs[j], o->refs[j].on_delete, n, &n->refs[i], n->refs[i].on_delete,
				       same_engine) ||
			 !action_equal(o, &o->refs[j], o->refs[j].on_update, n, &n->refs[i], n->refs[i].on_update,
				       same_engine))
			add(d, SC_ALTER_REFERENCE, o, (size_t)j, n, i);
	}
	for (size_t j = 0; j < o->nrefs; j++)
		if (find_ref(n, &o->refs[j]) < 0)
			add(d, SC_DROP_REFERENCE, o, j, n, 0);
	/* a domain's check the other side lacks changes its column */
	for (size_t i = 0; i < nc->nchecks; i++) {
		if (find_check(oc, nc, &nc->checks[i]) >= 0 ||
		    (!same_engine && json_check_of_type(nc, &nc->checks[i], oc)))
			continue;
		size_t c = domain_column_of_check(n, i);
		long j = i < n->nchecks ? 0 : table_column_index(o, n->cols[c].name);
		if (i < n->nchecks)
			add(d, SC_ADD_CHECK, o, 0, n, i);
		else if (j >= 0 && !column_altered(d, n, c))
			add(d, SC_ALTER_COLUMN, o, (size_t)j, n, c);
	}
	for (size_t j = 0; j < oc->nchecks; j++) {
		if (find_check(nc, oc, &oc->checks[j]) >= 0 ||
		    (!same_engine && json_check_of_type(oc, &oc->checks[j], nc)))
			continue;
		size_t c = domain_column_of_check(o, j);
		long i = j < o->nchecks ? 0 : table_column_index(n, o->cols[c].name);
		if (j < o->nchecks)
			add(d, SC_DROP_CHECK, o, j, n, 0);
		else if (i >= 0 && !column_altered(d, n, (size_t)i))
			add(d, SC_ALTER_COLUMN, o, c, n, (size_t)i);
	}
	diff_triggers(o, n, same_engine, d);
	if (same_engine)
		diff_pg_parts(o, n, d);
}

/* Across engines a column of a domain compares as what another engine
 * makes of it: its base type, NOT NULL, default, and its checks as checks
 * of the table (check_domains_inlined), so that PostgreSQL's year column
 * and MySQL's int column with CHECK (year between ...) compare equal. */
static void diff_table(const struct table *o, const struct table *n, int same_engine, struct schema_diff *d)
{
	int bad;
	struct table *oc = same_engine ? NULL : check_domains_inlined(o, &bad);
	struct table *nc = same_engine ? NULL : check_domains_inlined(n, &bad);
	diff_parts(o, oc ? oc : o, n, nc ? nc : n, same_engine, d);
	table_free(oc);
	table_free(nc);
}


void schema_diff_compute(const struct schema *old, const struct schema *new_, int same_engine,
			 struct schema_diff *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < new_->n; i++) {
		const struct table *n = new_->tables[i], *o = schema_find(old, n->name);
		if (!o)
			add(out, SC_ADD_TABLE, NULL, 0, n, 0);
		else
			diff_table(o, n, same_engine, out);
	}
	for (size_t i = 0; i < old->n; i++)
		if (!schema_find(new_, old->tables[i]->name))
			add(out, SC_DROP_TABLE, old->tables[i], 0, NULL, 0);
}

void schema_diff_release(struct schema_diff *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* The part of table t that change kind k is about, as JSON. */
static void part_to_json(struct buf *out, enum schema_change_kind k, const struct table *t, size_t i, int names)
{
	switch (k) {
	case SC_ADD_TABLE:
	case SC_DROP_TABLE:
		table_to_json(out, t, 0);
		return;
	case SC_ADD_COLUMN:
	case SC_DROP_COLUMN:
	case SC_ALTER_COLUMN:
		column_to_json(out, &t->cols[i]);
		return;
	case SC_ALTER_KEY:
		buf_addch(out, '[');
		for (size_t c = 0; c < t->nkey; c++) {
			if (c)
				buf_addch(out, ',');
			json_add_string(out, t->cols[t->key[c]].name, strlen(t->cols[t->key[c]].name));
		}
		buf_addch(out, ']');
		return;
	case SC_ADD_INDEX:
	case SC_DROP_INDEX:
		index_to_json(out, &t->indexes[i], names);
		return;
	case SC_ADD_REFERENCE:
	case SC_DROP_REFERENCE:
	case SC_ALTER_REFERENCE:
		ref_to_json(out, &t->refs[i], names);
		return;
	case SC_ADD_CHECK:
	case SC_DROP_CHECK:
		check_to_json(out, &t->checks[i]);
		return;
	case SC_ADD_TRIGGER:
	case SC_DROP_TRIGGER:
	case SC_ALTER_TRIGGER:
		trigger_to_json(out, code_at(t, i));
		if (i >= t->ntriggers) { /* a rule: {"name":...,"sql":...,"rule":true} */
			out->len--;
			buf_adds(out, ",\"rule\":true}");
		}
		return;
	case SC_ALTER_INHERITS:
		buf_addch(out, '[');
		for (size_t p = 0; p < t->ninherits; p++) {
			if (p)
				buf_addch(out, ',');
			json_add_string(out, t->inherits[p], strlen(t->inherits[p]));
		}
		buf_addch(out, ']');
		return;
	case SC_ALTER_FUNCTION: /* {"name":...,"sql":...}, null on the side without it */
		if (i == SIZE_MAX)
			buf_adds(out, "null");
		else
			trigger_to_json(out, &t->functions[i]);
		return;
	}
}

/* Whether the change names a column, and which side's table has it. */
static const struct column *change_column(const struct schema_change *c)
{
	if (c->kind == SC_ADD_COLUMN || c->kind == SC_ALTER_COLUMN)
		return &c->new_t->cols[c->new_i];
	if (c->kind == SC_DROP_COLUMN)
		return &c->old_t->cols[c->old_i];
	return NULL;
}

static int has_old(enum schema_change_kind k)
{
	return k == SC_DROP_TABLE || k == SC_DROP_COLUMN || k == SC_ALTER_COLUMN || k == SC_ALTER_KEY ||
	       k == SC_DROP_INDEX || k == SC_DROP_REFERENCE || k == SC_ALTER_REFERENCE || k == SC_DROP_CHECK ||
	       k == SC_DROP_TRIGGER || k == SC_ALTER_TRIGGER || k == SC_ALTER_INHERITS || k == SC_ALTER_FUNCTION;
}

static int has_new(enum schema_change_kind k)
{
	return k != SC_DROP_TABLE && k != SC_DROP_COLUMN && k != SC_DROP_INDEX && k != SC_DROP_REFERENCE &&
	       k != SC_DROP_CHECK && k != SC_DROP_TRIGGER;
}

void schema_change_to_json(struct buf *out, const struct schema_change *c)
{
	const struct table *t = c->new_t ? c->new_t : c->old_t;
	buf_addf(out, "{\"type\":\"schema\",\"change\":\"%s\",\"table\":", change_names[c->kind]);
	json_add_string(out, t->name, strlen(t->name));
	const struct column *col = change_column(c);
	if (col) {
		buf_adds(out, ",\"column\":");
		json_add_string(out, col->name, strlen(col->name));
	}
	if (has_old(c->kind)) {
		buf_adds(out, ",\"old\":");
		part_to_json(out, c->kind, c->old_t, c->old_i, c->names);
	}
	if (has_new(c->kind)) {
		buf_adds(out, ",\"new\":");
		part_to_json(out, c->kind, c->new_t, c->new_i, c->names);
	}
	buf_addch(out, '}');
}

int schema_record_from_json(const struct jv *rec, struct schema_record *out, struct buf *err)
{
	const char *change = jv_get_string(rec, "change"), *name = jv_get_string(rec, "table");
	const struct jv *old = jv_get(rec, "old");
	size_t k = 0;
	memset(out, 0, sizeof(*out));
	while (change && k < sizeof(change_names) / sizeof(*change_names) && strcmp(change, change_names[k]))
		k++;
	if (!change || !name || k == sizeof(change_names) / sizeof(*change_names)) {
		buf_addf(err, "schema record without a known \"change\" or a \"table\"");
		return -1;
	}
	out->kind = (enum schema_change_kind)k;
	if (out->kind == SC_DROP_TABLE) {
		if (!old || !(out->t = table_from_json(old, err)))
			return buf_addf(err, " (in a drop_table record)"), -1;
		return 0;
	}
	out->t = table_new(name);
	/* An undo stream's restores (dbapply --schema --mirror): add_table and
	 * add_column name what to make again, the table record holds its
	 * definition; alter_column carries the definition to go back to. */
	const char *named = jv_get_string(rec, "column");
	if (out->kind == SC_ADD_TABLE)
		return 0;
	if (out->kind == SC_ADD_COLUMN || out->kind == SC_ALTER_COLUMN) {
		const struct jv *new_ = jv_get(rec, "new");
		if (out->kind == SC_ADD_COLUMN && named) {
			table_add_column(out->t, named, VT_OTHER, "", 1);
			return 0;
		}
		if (out->kind == SC_ALTER_COLUMN && new_ && new_->type == J_OBJECT &&
		    column_from_json(out->t, new_, err) == 0)
			return 0;
		table_free(out->t);
		out->t = NULL;
		buf_addf(err, " (a %s record without its column)", change);
		return -1;
	}
	/* an undo stream's add_index, add_reference, add_check and
	 * add_trigger: what --schema --mirror dropped, made again from "new" */
	int adds = out->kind == SC_ADD_INDEX || out->kind == SC_ADD_REFERENCE || out->kind == SC_ADD_CHECK ||
		   out->kind == SC_ADD_TRIGGER;
	if (adds)
		old = jv_get(rec, "new");
	const char *col = jv_get_string(old, "name");
	if (out->kind == SC_DROP_COLUMN && col) {
		const char *made = jv_get_string(old, "enum_type_made");
		table_add_column(out->t, col, VT_OTHER, "", 1)->type_made = made ? xstrdup(made) : NULL;
	} else if ((out->kind == SC_DROP_INDEX || out->kind == SC_ADD_INDEX) && col) {
		struct index *ix = table_add_index(out->t, col, jv_get_true(old, "unique"));
		ix->constraint = jv_get_true(old, "constraint");
		const struct jv *cols = jv_get(old, "columns");
		for (const struct jv *c = cols && cols->type == J_ARRAY ? cols->first : NULL; c; c = c->next)
			if (c->type == J_STRING)
				index_add_column(ix, c->s);
	} else if ((out->kind == SC_DROP_REFERENCE || out->kind == SC_ADD_REFERENCE) && jv_get_string(old, "table")) {
		struct ref *r = table_add_ref(out->t, jv_get_string(old, "table"), jv_get_true(old, "deferrable"));
		r->on_delete = ref_action_parse(jv_get_string(old, "on_delete"));
		r->on_update = ref_action_parse(jv_get_string(old, "on_update"));
		r->name = jv_get_string(old, "name") ? xstrdup(jv_get_string(old, "name")) : NULL;
		const struct jv *cols = jv_get(old, "columns"), *to = jv_get(old, "to");
		const struct jv *c = cols && cols->type == J_ARRAY ? cols->first : NULL;
		const struct jv *t = to && to->type == J_ARRAY ? to->first : NULL;
		for (; c && t; c = c->next, t = t->next)
			if (c->type == J_STRING && t->type == J_STRING)
				ref_add_column(r, c->s, t->s);
	} else if ((out->kind == SC_DROP_CHECK || out->kind == SC_ADD_CHECK) && jv_get_string(old, "check")) {
		table_add_check(out->t, jv_get_string(old, "name"), jv_get_string(old, "check"));
	} else if ((out->kind == SC_DROP_TRIGGER || out->kind == SC_ADD_TRIGGER) && col && jv_get_string(old, "sql")) {
		table_add_trigger(out->t, col, jv_get_string(old, "sql"));
	} else if (out->kind == SC_DROP_COLUMN || out->kind == SC_DROP_INDEX || out->kind == SC_DROP_REFERENCE ||
		   out->kind == SC_DROP_CHECK || out->kind == SC_DROP_TRIGGER) {
		table_free(out->t);
		out->t = NULL;
		buf_addf(err, "a %s record without its \"old\" definition", change);
		return -1;
	}
	return 0;
}

static void describe_column(struct buf *out, const struct column *c)
{
	buf_addf(out, "%s, %s%s%s", vtype_name(c->type), c->native, c->nullable ? "" : ", NOT NULL",
		 c->autoinc ? ", autoincrement" : "");
	if (c->default_sql)
		buf_addf(out, ", DEFAULT %s", c->default_sql);
	for (size_t i = 0; i < c->nlabels && !strchr(c->native, '('); i++)
		buf_addf(out, "%s'%s'%s", i ? ", " : ", ENUM (", c->labels[i], i + 1 == c->nlabels ? ")" : "");
	if (c->domain) {
		buf_adds(out, ", ");
		sql_create_domain(out, c->domain);
	}
}

static void describe_strv(struct buf *out, char *const *v, size_t n)
{
	buf_addch(out, '(');
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s%s", i ? ", " : "", v[i]);
	buf_addch(out, ')');
}

static void describe_ref(struct buf *out, const struct ref *r)
{
	describe_strv(out, r->cols, r->ncols);
	buf_addf(out, " -> \"%s\" ", r->table);
	describe_strv(out, r->to, r->ncols);
	if (r->on_delete != REF_NO_ACTION)
		buf_addf(out, " ON DELETE %s", ref_action_sql(r->on_delete));
	if (r->on_update != REF_NO_ACTION)
		buf_addf(out, " ON UPDATE %s", ref_action_sql(r->on_update));
}

static void describe_key(struct buf *out, const struct table *t)
{
	buf_addch(out, '(');
	for (size_t k = 0; k < t->nkey; k++)
		buf_addf(out, "%s%s", k ? ", " : "", t->cols[t->key[k]].name);
	buf_addch(out, ')');
}

void schema_change_describe(struct buf *out, const struct schema_change *c, const char *old_name,
			    const char *new_name)
{
	const struct table *o = c->old_t, *n = c->new_t;
	switch (c->kind) {
	case SC_ADD_TABLE:
		buf_addf(out, "table \"%s\" (%zu columns) is only in %s", n->name, n->ncols, new_name);
		return;
	case SC_DROP_TABLE:
		buf_addf(out, "table \"%s\" is only in %s", o->name, old_name);
		return;
	case SC_ADD_COLUMN:
		buf_addf(out, "column \"%s\".\"%s\" (", n->name, n->cols[c->new_i].name);
		describe_column(out, &n->cols[c->new_i]);
		buf_addf(out, ") is only in %s", new_name);
		return;
	case SC_DROP_COLUMN:
		buf_addf(out, "column \"%s\".\"%s\" (", o->name, o->cols[c->old_i].name);
		describe_column(out, &o->cols[c->old_i]);
		buf_addf(out, ") is only in %s", old_name);
		return;
	case SC_ALTER_COLUMN:
		buf_addf(out, "column \"%s\".\"%s\" is (", n->name, n->cols[c->new_i].name);
		describe_column(out, &o->cols[c->old_i]);
		buf_addf(out, ") in %s, (", old_name);
		describe_column(out, &n->cols[c->new_i]);
		buf_addf(out, ") in %s", new_name);
		return;
	case SC_ALTER_KEY:
		buf_addf(out, "table \"%s\" is keyed by ", n->name);
		describe_key(out, o);
		buf_addf(out, " in %s, by ", old_name);
		describe_key(out, n);
		buf_addf(out, " in %s", new_name);
		return;
	case SC_ADD_INDEX:
	case SC_DROP_INDEX: {
		const struct table *t = c->kind == SC_ADD_INDEX ? n : o;
		const struct index *ix = &t->indexes[c->kind == SC_ADD_INDEX ? c->new_i : c->old_i];
		buf_addf(out, "%sindex \"%s\" on \"%s\" ", ix->unique ? "unique " : "", ix->name, t->name);
		describe_strv(out, ix->cols, ix->ncols);
		buf_addf(out, " is only in %s", c->kind == SC_ADD_INDEX ? new_name : old_name);
		return;
	}
	case SC_ADD_REFERENCE:
	case SC_DROP_REFERENCE: {
		const struct table *t = c->kind == SC_ADD_REFERENCE ? n : o;
		buf_addf(out, "foreign key of \"%s\" ", t->name);
		describe_ref(out, &t->refs[c->kind == SC_ADD_REFERENCE ? c->new_i : c->old_i]);
		buf_addf(out, " is only in %s", c->kind == SC_ADD_REFERENCE ? new_name : old_name);
		return;
	}
	case SC_ADD_CHECK:
	case SC_DROP_CHECK: {
		const struct table *t = c->kind == SC_ADD_CHECK ? n : o;
		const struct check *ck = &t->checks[c->kind == SC_ADD_CHECK ? c->new_i : c->old_i];
		buf_addf(out, "check %s%s%sof \"%s\" (%s) is only in %s", ck->name ? "\"" : "", ck->name ? ck->name : "",
			 ck->name ? "\" " : "", t->name, ck->expr, c->kind == SC_ADD_CHECK ? new_name : old_name);
		return;
	}
	case SC_ADD_TRIGGER:
	case SC_DROP_TRIGGER: {
		const struct table *t = c->kind == SC_ADD_TRIGGER ? n : o;
		size_t i = c->kind == SC_ADD_TRIGGER ? c->new_i : c->old_i;
		buf_addf(out, "%s \"%s\" of \"%s\" is only in %s", code_word(t, i), code_at(t, i)->name, t->name,
			 c->kind == SC_ADD_TRIGGER ? new_name : old_name);
		return;
	}
	case SC_ALTER_TRIGGER:
		buf_addf(out, "%s \"%s\" of \"%s\" is other code in %s than in %s", code_word(n, c->new_i),
			 code_at(n, c->new_i)->name, n->name, old_name, new_name);
		return;
	case SC_ALTER_REFERENCE:
		buf_addf(out, "foreign key of \"%s\" is ", n->name);
		describe_ref(out, &o->refs[c->old_i]);
		buf_addf(out, " in %s, ", old_name);
		describe_ref(out, &n->refs[c->new_i]);
		buf_addf(out, " in %s", new_name);
		return;
	case SC_ALTER_INHERITS:
		buf_addf(out, "table \"%s\" inherits from ", n->name);
		describe_strv(out, o->inherits, o->ninherits);
		buf_addf(out, " in %s, from ", old_name);
		describe_strv(out, n->inherits, n->ninherits);
		buf_addf(out, " in %s", new_name);
		return;
	case SC_ALTER_FUNCTION:
		if (c->old_i == SIZE_MAX || c->new_i == SIZE_MAX)
			buf_addf(out, "function %s of the triggers of \"%s\" is only in %s",
				 c->old_i == SIZE_MAX ? n->functions[c->new_i].name : o->functions[c->old_i].name,
				 n->name, c->old_i == SIZE_MAX ? new_name : old_name);
		else
			buf_addf(out, "function %s of the triggers of \"%s\" is other code in %s than in %s",
				 n->functions[c->new_i].name, n->name, old_name, new_name);
		return;
	}
}
