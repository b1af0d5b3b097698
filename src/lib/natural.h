/* natural: reference tables matched by a natural key instead of their ids.
 *
 * Reference tables such as users and content types hold the same things on
 * every side under other ids: prod's user 5 is "lucia", dev's user 5 is
 * "giovanni"; django_content_type's ids depend on the order migrations ran.
 * A target environment names them with natural = TABLE(col, ...) (see
 * dbpipe.conf(5)).  dbapply then never writes such a table (its rows are
 * the target's own) and translates every reference into it: the stream's
 * id is looked up in the stream's own rows of the table (their natural
 * key), and that natural key in the target's rows (the target's id).
 *
 *   stream  auth_user 5 = ("giovanni")   target auth_user 9 = ("giovanni")
 *   stream  case_assigned (case 1, user 5)  ->  written as (case 1, user 9)
 *
 * A natural key may hold a reference into another natural table
 * (auth_permission(content_type_id, codename)): tables come parents first,
 * so it is translated before it is used.  The maps are in memory, one entry
 * per row of the natural tables (reference tables are small).  Functions
 * returning int give 0 or -1 after printing a message; they never exit. */
#ifndef DBPIPE_NATURAL_H
#define DBPIPE_NATURAL_H

#include <stddef.h>

#include "schema.h"
#include "util.h"

struct natural_key {
	char *table;
	char **cols;
	size_t ncols;
};

/* Parse "t1(a, b) t2(c)" into *out (appended); -1 with a reason in err. */
int natural_parse(const char *spec, struct natural_key **out, size_t *n, struct buf *err);
void natural_free(struct natural_key *k, size_t n);

struct natural_map;

struct natural {
	const struct natural_key *keys;
	size_t nkeys;
	struct natural_map *maps;  /* one per key: stream ids, target ids */
};

void natural_init(struct natural *nat, const struct natural_key *keys, size_t n);
void natural_release(struct natural *nat);
/* The natural key declared for table, or -1. */
long natural_find(const struct natural *nat, const char *table);

/* Check the natural key k against the target's table t: the columns
 * exist, and t has a key of its own.  0, or -1 with a reason in err. */
int natural_check(const struct natural *nat, size_t k, const struct table *t, struct buf *err);
/* One row of the target's table of key k (laid out by t): its natural key
 * names its ids. */
void natural_add_target(struct natural *nat, size_t k, const struct table *t, const struct row *r);
/* One row of the stream's table of key k (laid out by t, its own
 * references already translated): its ids name its natural key. */
void natural_add_stream(struct natural *nat, size_t k, const struct table *t, const struct row *r);

/* Translate the references of r (a row of the stream's table t, laid out
 * by it; absent values are left alone) into natural tables: 0, or -1 with
 * the reason in err (an id the stream's rows do not hold, a natural key
 * the target lacks). */
int natural_translate(struct natural *nat, const struct schema *s, const struct table *t, struct row *r,
		      struct buf *err);

#endif
