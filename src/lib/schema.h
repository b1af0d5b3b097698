/* schema: tables, their columns, keys and foreign-key references, and the
 * table record of the stream.  A schema owns its tables; a table owns its
 * strings.  Functions returning int give 0 or -1 with a reason in err. */
#ifndef DBPIPE_SCHEMA_H
#define DBPIPE_SCHEMA_H

#include <stddef.h>

#include "json.h"
#include "util.h"
#include "value.h"

/* A CHECK constraint: its expression as the engine's catalog gives it
 * (check.h); name NULL where the engine did not name it. */
struct check {
	char *name;
	char *expr;
};

struct domain;

struct column {
	char *name;
	enum vtype type;
	char *native;   /* the engine's own type name, e.g. "bigint" */
	int nullable;
	int generated;  /* computed by the engine: read, never written */
	/* Each database keeps its own value (dbapply: when a migration ran
	 * there, in a history table): written with a new row, never compared. */
	int own_value;
	/* Made by this run (dbapply --schema): the target's values in it are
	 * its default, not edits of the target's side. */
	int just_added;
	/* dbapply --sql on MySQL: added by a schema step that did not run
	 * (MySQL would commit it), so not in the database: read as its
	 * default, never written. */
	int unmade;
	int autoinc;    /* fed by an id generator (serial, identity, AUTO_INCREMENT) */
	/* The engine keeps a decimal as written, scale and all (PostgreSQL's
	 * numeric without a typmod): 1.5 and 1.50 are two values there. */
	int exact_text;
	/* The default as SQL text, NULL for none: literals and the current
	 * time in one portable spelling (column_default_normalize), anything
	 * else as the engine writes it.  An id generator's is not kept. */
	char *default_sql;
	/* The engine keeps a JSON document, not its text (PostgreSQL's jsonb
	 * orders keys and spaces its own way): values compare as JSON. */
	int json_doc;
	/* An enum's values in their order (PostgreSQL's CREATE TYPE ... AS
	 * ENUM, MySQL's ENUM(...)); none where the engine has no list. */
	char **labels;
	size_t nlabels;
	/* Digits of a fraction the column keeps: a decimal's scale, a time's
	 * digits of a second; -1 when it keeps any number (or it is unknown,
	 * as in a stream).  The engine would round what lies beyond. */
	int scale;
	/* PostgreSQL: the domain the column's type is (native names it),
	 * owned; NULL when it is none. */
	struct domain *domain;
	/* PostgreSQL: the enum type or domain dbapply --schema made for this
	 * column (CREATE TYPE, CREATE DOMAIN), which undoing the column or
	 * its table drops too; NULL when it made none.  Only an undo stream
	 * carries it. */
	char *type_made;
};

/* A domain (PostgreSQL's CREATE DOMAIN): a base type with a NOT NULL, a
 * default and checks of its own, in which VALUE stands for the value.
 * Its name and base type as format_type writes them; the checks'
 * expressions as pg_get_constraintdef gives them (without CHECK and its
 * outer parentheses). */
struct domain {
	char *name;
	char *base;
	int not_null;
	char *default_sql; /* NULL for none */
	size_t nchecks;
	struct check *checks;
};

/* What a foreign key does when its row is deleted or its key updated. */
enum ref_action { REF_NO_ACTION, REF_RESTRICT, REF_CASCADE, REF_SET_NULL, REF_SET_DEFAULT };

struct ref {
	size_t ncols;
	char **cols;    /* columns of this table */
	char *table;    /* referenced table */
	char **to;      /* referenced columns */
	int deferrable;
	enum ref_action on_delete, on_update;
	/* The engine's name of the constraint, which drops it (PostgreSQL,
	 * MySQL; not in a stream), or NULL. */
	char *name;
};

/* An index that is not the primary key: its columns in index order.
 * Indexes on expressions and partial ones are not described. */
struct index {
	char *name;
	int unique;
	/* NULL: a plain index; else the engine's own kind ("fulltext",
	 * "spatial"), which another engine cannot make. */
	char *kind;
	/* PostgreSQL: the index of a UNIQUE constraint of that name, which
	 * only dropping the constraint drops (not in a stream). */
	int constraint;
	size_t ncols;
	char **cols;
};

/* A trigger: its name and the statement that makes it, as its engine
 * gives it (SHOW CREATE's CREATE TRIGGER, pg_get_triggerdef, sqlite_schema):
 * code of that engine only. */
struct trigger {
	char *name;
	char *sql;
};

enum key_kind { KEY_PRIMARY, KEY_UNIQUE, KEY_ROW };

struct table {
	char *name;
	size_t ncols;
	struct column *cols;
	size_t nkey;
	size_t *key;           /* indexes into cols, in key order */
	enum key_kind key_kind;
	size_t nrefs;
	struct ref *refs;
	size_t nindexes;
	struct index *indexes; /* by name */
	size_t nchecks;
	struct check *checks;
	int complete;          /* the stream holds every row of this table */
	/* The stream holds every row of this table within the key ranges its
	 * range records list (dbdump-rows --against), none outside them. */
	int ranged;
	int has_triggers;      /* the engine fires triggers on writes to it */
	int unmade;            /* made by a schema step that did not run (column.unmade): no rows */
	/* Its triggers by name, where the catalog or stream gives them (a
	 * stream of an older dbapply says only "triggers":true). */
	size_t ntriggers;
	struct trigger *triggers;
	/* What the source's table has that its table record does not
	 * describe, each said for people ("rule \"r\"", "inherits from
	 * \"payment\"", "column \"c\" has the domain type year"): dbapply
	 * --schema refuses to make the table, naming each. */
	char **not_carried;
	size_t nnot_carried;
	/* PostgreSQL: the tables it inherits from (INHERITS), by stream
	 * name, in order; its rows are its own (read and written ONLY). */
	char **inherits;
	size_t ninherits;
	/* PostgreSQL: its rules by name, each with the statement that makes
	 * it (pg_get_ruledef, without its ';'). */
	size_t nrules;
	struct trigger *rules;
	/* PostgreSQL: the functions of the source's own schemas that its
	 * triggers call, by their signature ("last_updated()"), each with its
	 * CREATE FUNCTION (pg_get_functiondef). */
	size_t nfunctions;
	struct trigger *functions;
	/* The functions dbapply --schema made for its triggers, which undoing
	 * the table drops too (only an undo stream carries them). */
	char **functions_made;
	size_t nfunctions_made;
	long line;             /* line of its table record in a stream, else 0 */
};

/* A type of its own that a column can name (PostgreSQL's CREATE TYPE ...
 * AS ENUM): its name as SQL writes it (quoted where it must be), its
 * values in order. */
struct enum_type {
	char *name;
	char **labels;
	size_t nlabels;
};

struct schema {
	size_t n, alloc;
	struct table **tables;
	/* The enum types a target has (PostgreSQL), tables or not. */
	struct enum_type *types;
	size_t ntypes, types_alloc;
	/* The domains a target has (PostgreSQL), used by a table or not. */
	struct domain **domains;
	size_t ndomains, domains_alloc;
	/* The functions of a target's own schemas (PostgreSQL), by signature,
	 * each with its CREATE FUNCTION. */
	struct trigger *functions;
	size_t nfunctions, functions_alloc;
};

void schema_init(struct schema *s);
void schema_release(struct schema *s);
/* Take ownership of t. */
void schema_add(struct schema *s, struct table *t);
struct table *schema_find(const struct schema *s, const char *name);
/* An enum type of s by its SQL name; add one (name copied, no labels). */
struct enum_type *schema_find_type(const struct schema *s, const char *name);
struct enum_type *schema_add_type(struct schema *s, const char *name);
/* A domain of s by its SQL name, or NULL; add one (taking ownership). */
struct domain *schema_find_domain(const struct schema *s, const char *name);
void schema_add_domain(struct schema *s, struct domain *dom);
/* A new domain (strings copied, no checks); a deep copy; free; whether
 * two say the same (name, base, NOT NULL, default, each check's name and
 * expression, in order). */
struct domain *domain_new(const char *name, const char *base, int not_null, const char *default_sql);
void domain_add_check(struct domain *dom, const char *name, const char *expr);
struct domain *domain_copy(const struct domain *dom);
void domain_free(struct domain *dom);
int domain_equal(const struct domain *a, const struct domain *b);

/* Stream table names.  A table of the engine's default schema is named by
 * itself, one of another schema "schema.table"; a '.' or '\' inside either
 * part is written "\." or "\\", so that every name reads back one way
 * (PostgreSQL's public."audit.log" is not audit.log, table log of schema
 * audit).  Names without either character are unchanged. */
char *table_name_make(const char *schema, const char *table); /* schema NULL: the default */
/* The parts of a stream name, unescaped; *schema NULL when unqualified.
 * The caller frees both. */
void table_name_split(const char *name, char **schema, char **table);
/* schema_find by an engine's own names (schema NULL: the default). */
struct table *schema_find_parts(const struct schema *s, const char *schema, const char *table);

struct table *table_new(const char *name);
void table_free(struct table *t);
/* Append a column; returns it for the caller to fill in. */
struct column *table_add_column(struct table *t, const char *name, enum vtype type,
				const char *native, int nullable);
/* Append a copy of column s, foreign key r, index x (of another table). */
struct column *table_add_column_copy(struct table *t, const struct column *s);
void table_add_ref_copy(struct table *t, const struct ref *r);
void table_add_index_copy(struct table *t, const struct index *x);
/* Column i of t becomes a copy of s, under its own name. */
void table_set_column(struct table *t, size_t i, const struct column *s);
/* The first n columns are t's primary key, and t is whole: the tables
 * dbpipe keeps of its own in a sync base (dbpipe.rekey, dbpipe.unbased). */
void table_key_first_columns(struct table *t, size_t n);
/* Whether two arrays of strings hold the same strings in the same order
 * (index columns, enum labels). */
int strv_equal(char *const *a, size_t na, char *const *b, size_t nb);
/* Append a value to an enum column's labels. */
void column_add_label(struct column *c, const char *label);
/* The digits of a fraction a declared type keeps: a decimal's scale, the
 * second number of "numeric(10,2)", 0 for "numeric(10)"; a time's digits
 * of a second, the number of "datetime(3)"; dflt when native has no
 * parentheses. */
int native_scale(const char *native, int decimal, int dflt);
/* Index of the column, or -1. */
long table_column_index(const struct table *t, const char *name);
/* value_equal for values of column c: by its type, for a decimal the
 * engine keeps as written (exact_text) by its text, for a JSON document
 * (json_doc) as JSON. */
int column_equal(const struct column *c, const struct row *a, size_t ia, const struct row *b, size_t ib);
/* Whether column i is part of the key. */
int table_is_key(const struct table *t, size_t i);
/* Whether column i takes part when two rows of one key are compared: not
 * a key column, not generated. */
int table_is_compared(const struct table *t, size_t i);
/* Whether t has a key of its own (primary or unique, not the whole row)
 * and ok accepts every column of it: what a look-up or a batch by key
 * needs. */
int table_key_all(const struct table *t, int (*ok)(const struct column *c));
/* Use the whole row as key (tables without a primary or unique key). */
void table_key_whole_row(struct table *t);

/* --- catalog rules, the same for every engine ---
 * A backend offers each table's indexes in its order of preference (the
 * primary key first, then unique indexes by name); the first that can be
 * a key becomes it: the primary key always, a unique index when all its
 * columns are NOT NULL and not generated.  table_offer_key returns 1 when
 * it took the index.  Once every index is offered, table_settle_key makes
 * a table without one keyed by its whole row. */
int table_offer_key(struct table *t, int primary, const size_t *cols, size_t ncols);
void table_settle_key(struct table *t);
/* A foreign key of t to table `to`; its columns are added one pair at a
 * time with ref_add_column, in the constraint's order. */
struct ref *table_add_ref(struct table *t, const char *to, int deferrable);
void ref_add_column(struct ref *rf, const char *col, const char *to_col);
/* An engine's spelling of an action ("CASCADE", "set null", ...); an
 * unknown one is REF_NO_ACTION. */
enum ref_action ref_action_parse(const char *sql);
/* What action a of foreign key r of t does: SET NULL on a NOT NULL
 * column sets nothing, the delete or update fails as with NO ACTION
 * (PostgreSQL and SQLite take it, InnoDB refuses it: jOOQ's Sakila has
 * payment.rental_id so); else a. */
enum ref_action ref_action_effective(const struct table *t, const struct ref *r, enum ref_action a);
/* "NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT". */
const char *ref_action_sql(enum ref_action a);
/* An index of t; its columns are added with index_add_column. */
struct index *table_add_index(struct table *t, const char *name, int unique);
void index_add_column(struct index *ix, const char *col);
/* Take back the index added last (one the catalog cannot describe). */
void table_drop_last_index(struct table *t);
/* Put t's indexes in name order (bytewise). */
void table_sort_indexes(struct table *t);
/* Something of t its record cannot describe (not_carried); copied. */
void table_add_not_carried(struct table *t, const char *what);
/* A function of t's triggers (PostgreSQL); the strings are copied. */
void table_add_function(struct table *t, const char *name, const char *sql);
/* The function of s by its signature, or NULL. */
const struct trigger *schema_find_function(const struct schema *s, const char *name);
/* A rule of t (PostgreSQL); the strings are copied. */
void table_add_rule(struct table *t, const char *name, const char *sql);
/* A table t inherits from (PostgreSQL); copied. */
void table_add_inherits(struct table *t, const char *parent);
/* A trigger of t (has_triggers set); the strings are copied. */
void table_add_trigger(struct table *t, const char *name, const char *sql);
/* A check of t (name may be NULL); the strings are copied. */
void table_add_check(struct table *t, const char *name, const char *expr);
/* The default of column c from the engine's text of it (NULL: none), in
 * the form the table record keeps (struct column's default_sql): NULL for
 * none or NULL; CURRENT_TIMESTAMP and CURRENT_DATE for the current time
 * however spelled (now(), current_timestamp(6)); a literal without an
 * engine's cast ('a'::text is 'a'); a number unquoted for a number
 * column, true or false for a bool column.  Caller frees. */
char *column_default_normalize(const char *text, const struct column *c);
/* Whether a normalized default means the same on every engine: a number,
 * a quoted string, true, false, CURRENT_TIMESTAMP, CURRENT_DATE. */
int default_is_portable(const char *def);
/* Sort a schema's tables by name, bytewise: every engine lists them so. */
void schema_sort(struct schema *s);

/* The table record, one line of JSON without the newline; "complete":true
 * when flags has TABLE_COMPLETE, "ranged":true when it has TABLE_RANGED. */
enum { TABLE_COMPLETE = 1, TABLE_RANGED = 2 };
void table_to_json(struct buf *out, const struct table *t, int flags);
/* One column, reference or index as the table record writes it. */
void column_to_json(struct buf *out, const struct column *c);
/* names: with what only the engine's catalog gives (a foreign key's
 * constraint name; a unique index that is a UNIQUE constraint), for an
 * undo stream's restores: not in a table record, nor compared. */
void ref_to_json(struct buf *out, const struct ref *r, int names);
void index_to_json(struct buf *out, const struct index *ix, int names);
void check_to_json(struct buf *out, const struct check *ck);
void trigger_to_json(struct buf *out, const struct trigger *g);
void domain_to_json(struct buf *out, const struct domain *dom);
/* Parse a table record.  Returns NULL with a reason in err. */
struct table *table_from_json(const struct jv *rec, struct buf *err);
/* Append the column that c (a column of a table record) describes. */
int column_from_json(struct table *t, const struct jv *c, struct buf *err);

/* Append the key of row r as a JSON object, e.g. {"id":7}. */
void table_key_to_json(struct buf *out, const struct table *t, const struct row *r);
/* Append " (k1=v1, k2=v2)": the key of row r, for messages, on one line,
 * with long values and long keys cut short. */
void table_describe_key(struct buf *out, const struct table *t, const struct row *r);
/* The key of row r as one string for the in-memory maps (strmap.h): each
 * value as row_add_part writes it, a NULL (in a whole-row key) as "N".
 * out is emptied first. */
void table_key_text(struct buf *out, const struct table *t, const struct row *r);
/* Append the values of the named columns of r (row_add_part); 0 when one
 * is NULL or absent (a reference with a NULL refers to nothing) or is not
 * a column of t. */
int table_add_parts(struct buf *out, const struct table *t, const struct row *r, char *const *cols,
		    size_t n);

/* Whether b (of the input named name) has a's columns, in a's order, with
 * a's types, and a's key; -1 with a message naming the table if not, since
 * their rows cannot be compared. */
int table_same_shape(const struct table *a, const struct table *b, const char *name);
/* The same test, silent: 1 same shape, 0 not. */
int table_shape_equal(const struct table *a, const struct table *b);

/* Compare two rows of t by key. */
int table_key_cmp(const struct table *t, const struct row *a, const struct row *b);
/* Make dst hold src's key values only (its other values absent): what the
 * readers keep of the previous row to check that keys ascend. */
void table_key_copy(const struct table *t, struct row *dst, const struct row *src);

/* Check that rows of `src` (a stream's table) can be written into `dst` (the
 * target's table of the same name): every column exists, types convert, the
 * key is the same.  Returns 0 or -1 with a reason in err. */
int schema_check_compatible(const struct table *src, const struct table *dst, struct buf *err);

/* A deep copy of t. */
struct table *table_copy(const struct table *t);

/* A copy of dst restricted to the columns of src, in src's order, with src's
 * key: what a target scan must return to be merged with src's rows. */
struct table *table_project(const struct table *dst, const struct table *src);

#endif
