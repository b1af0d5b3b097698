/* rekey: the keys dbapply --rekey gave to rows both sides created under the
 * same key (a collision), and the translation of later streams by them.
 *
 * dev's client 2003 (Giovanni) collides with prod's 2003 (Lucia): with
 * --rekey, Giovanni is inserted into prod as 2004, and the map keeps
 * clients 2003 -> 2004 for every later sync from dev: dev's row 2003 is
 * compared with prod's 2004, and every reference to 2003 in dev's rows
 * becomes 2004.  A row of dev whose own key is one of those new keys (dev's
 * own 2004) is a collision in turn.  Only tables keyed by one integer
 * column are re-keyed.  The map lives in the sync base, as the table
 * "dbpipe.rekey" (table, source key, target key), so it is committed, kept
 * and rolled back with the base.  Memory holds one entry per re-keyed row. */
#ifndef DBPIPE_REKEY_H
#define DBPIPE_REKEY_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"

#define REKEY_TABLE "dbpipe.rekey"

struct rekey {
	size_t n, alloc;
	struct rekey_entry {
		char *table;
		int64_t src, dst;
		int fresh;          /* made by this run */
	} *e;                   /* sorted by table, then src */
};

void rekey_release(struct rekey *m);
/* Whether rows of t can be re-keyed: one integer key column. */
int rekey_table_ok(const struct table *t);
/* The target key of table's source key src: 1 and *dst, or 0. */
int rekey_lookup(const struct rekey *m, const char *table, int64_t src, int64_t *dst);
/* Whether key is a target key the map gave to some source key of table. */
int rekey_is_image(const struct rekey *m, const char *table, int64_t key);
/* The largest target key of table in the map (or INT64_MIN). */
int64_t rekey_max_image(const struct rekey *m, const char *table);
void rekey_add(struct rekey *m, const char *table, int64_t src, int64_t dst, int fresh);
/* Whether the map was extended by this run for table, with src. */
int rekey_is_fresh(const struct rekey *m, const char *table, int64_t src);

/* The table record of the map in the base, and its rows (laid out by it). */
struct table *rekey_table_record(void);
void rekey_to_row(const struct rekey_entry *e, struct row *r);
/* One row of the base's map table; -1 if it is not one. */
int rekey_from_row(struct rekey *m, const struct table *t, const struct row *r);

/* Value i of r as an integer: 1 and *out, or 0 (-1, NULL, absent, not one). */
int rekey_int_of(const struct row *r, long i, int64_t *out);
/* The integer key of r (a row of t, rekey_table_ok): 1 and *out, or 0. */
int rekey_key_of(const struct table *t, const struct row *r, int64_t *out);
void rekey_set_key(const struct table *t, struct row *r, int64_t key);

#endif
