/* mask: the rules of dbmask, and the values they make.
 *
 * A rules file is INI: a [TABLE] section per table, COLUMN = RULE lines.
 * Every rule but keep, null and fixed derives its value from the original
 * value and a secret with a keyed hash (SipHash-2-4), and from nothing else
 * (not the table or column): the same value gives the same output wherever
 * it appears, so a masked key and the columns that refer to it stay joined.
 * Each value keeps its column's type (and declared length where the native
 * type names one). */
#ifndef DBPIPE_MASK_H
#define DBPIPE_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "stream.h"
#include "util.h"

enum mask_kind {
	MASK_KEEP, MASK_NULL, MASK_FIXED, MASK_HASH,
	MASK_FAKE_EMAIL, MASK_FAKE_PHONE, MASK_FAKE_NAME, MASK_FAKE_TEXT, MASK_FAKE_DATE,
	MASK_FAKE_NUMBER
};

struct mask_rule {
	char *table, *column;
	enum mask_kind kind;
	char *fixed;    /* MASK_FIXED: the value as written in the file */
	long line;      /* its line in the rules file */
};

struct mask_rules {
	char *path;     /* as given, for messages and the header */
	struct mask_rule *v;
	size_t n;
	uint64_t key[2]; /* the SipHash key made from the secret */
	int have_key;
	const char *engine; /* the stream's: SQLite integers are all 64-bit */
};

/* Read the rules file; -1 with a message naming file:line. */
int mask_rules_load(struct mask_rules *r, const char *path);
/* Make the hash key from a secret (len bytes). */
void mask_rules_set_secret(struct mask_rules *r, const char *secret, size_t len);
void mask_rules_release(struct mask_rules *r);
/* The rule the file gives table.column, or NULL. */
const struct mask_rule *mask_rules_find(const struct mask_rules *r, const char *table,
					const char *column);
const char *mask_kind_name(enum mask_kind k);

/* The rules for one table, column by column (kind, and for MASK_FIXED the
 * value's canonical text). */
struct mask_table {
	const struct table *t;
	enum mask_kind *kind;
	struct row fixed;       /* MASK_FIXED values, by column */
	int key_masked;         /* a key column is masked: its rows need sorting again */
};

/* The rules of every table of s (parents first, so that a column referring
 * to a masked column takes its rule).  Checks each rule against its
 * column: a column the table lacks, a rule the type cannot keep, null in a
 * NOT NULL column, null or fixed in a key or referenced column, two rules for
 * the two ends of a reference.  -1 with a message. */
int mask_plan(const struct mask_rules *r, const struct schema *s, struct mask_table **out);
void mask_plan_release(struct mask_table *m, size_t n);
/* Write into out (laid out like in, cleared first) the masked values of in;
 * absent values stay absent. */
void mask_row(const struct mask_rules *r, const struct mask_table *m, const struct row *in,
	      struct row *out);
/* Whether column i of table m takes a rule other than keep. */
int mask_covers(const struct mask_table *m, size_t i);

#endif
