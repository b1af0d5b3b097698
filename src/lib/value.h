/* value: typed column values, their canonical text, JSON form and key order.
 *
 * A row owns one buffer holding the text of all its values; a value is an
 * offset and length into it, so reading a row allocates nothing once the
 * buffer has grown.  Canonical text per neutral type: int "-12"; float the
 * shortest text that reads back to the same double, or NaN/Infinity/-Infinity;
 * decimal its exact digits; bool "true"/"false"; bytes the raw bytes (base64
 * only in JSON); everything else the text as in the stream. */
#ifndef DBPIPE_VALUE_H
#define DBPIPE_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "util.h"

enum vtype {
	VT_INT, VT_FLOAT, VT_DECIMAL, VT_BOOL, VT_TEXT, VT_UUID, VT_JSON,
	VT_ENUM, VT_BYTES, VT_DATE, VT_TIME, VT_TIMESTAMP, VT_TIMESTAMPTZ,
	VT_OTHER
};
const char *vtype_name(enum vtype t);
/* Returns 0 and sets *out, or -1 if name is not a neutral type. */
int vtype_parse(const char *name, enum vtype *out);

enum vstate { V_ABSENT = 0, V_NULL, V_SET };
struct value {
	enum vstate state;
	size_t off, len; /* into the row's data */
};

struct row {
	size_t n;          /* number of values (the table's column count) */
	struct value *v;
	struct buf data;
};

void row_init(struct row *r, size_t ncols);
void row_release(struct row *r);
/* Mark every value absent and empty the data (keeps the allocations). */
void row_clear(struct row *r);
void row_copy(struct row *dst, const struct row *src);
/* Make r hold n values, every one absent (keeps the allocations). */
void row_resize(struct row *r, size_t n);
/* Copy value i of src into dst (nothing if it is absent in src). */
void row_copy_value(struct row *dst, const struct row *src, size_t i);
/* Append value i of r to b as "length:bytes" (an unambiguous part of a key
 * for the in-memory maps: strmap.h); 0, with nothing appended, if i is -1
 * or the value is NULL or absent. */
int row_add_part(struct buf *b, const struct row *r, long i);
/* Set value i; p may contain NUL bytes. */
void row_set(struct row *r, size_t i, const char *p, size_t len);
void row_set_null(struct row *r, size_t i);
static inline const char *row_ptr(const struct row *r, size_t i)
{
	return r->data.buf + r->v[i].off;
}

/* Turn a JSON value into canonical text of type t in row r at i.  Returns -1
 * and writes a reason into err when the JSON type does not fit t. */
int value_from_json(struct row *r, size_t i, enum vtype t, const struct jv *j, struct buf *err);
/* Append value i of r as JSON.  Returns -1 (reason in err) for text that is
 * not valid UTF-8. */
int value_to_json(struct buf *out, const struct row *r, size_t i, enum vtype t, struct buf *err);

/* Decimal digits of v into dst (at least 21 bytes), NUL-terminated; returns
 * the length.  printf is the slow part of a dump, hence these. */
int format_u64(char *dst, uint64_t v);
int format_i64(char *dst, int64_t v);

/* Canonical text of a double (shortest round-trip form). */
void value_format_double(struct buf *out, double d);

/* Key order: ints, decimals and floats by value, everything else bytewise;
 * NULL sorts first.  Returns <0, 0, >0. */
int value_cmp(const struct row *a, size_t ia, const struct row *b, size_t ib, enum vtype t);
/* The same for two canonical texts (NUL-terminated after their length), set
 * or NULL. */
int value_cmp_text(const char *pa, size_t la, int seta, const char *pb, size_t lb, int setb,
		   enum vtype t);
/* The order value_cmp gives a key column of type t, which every backend's
 * ORDER BY reproduces in its own terms (the dialect's order_key):
 *  NUMBER     by value: ints, decimals, floats, and booleans (false < true);
 *  BYTES      by raw bytes: bytes, and uuids (16 bytes order as their hex);
 *  TEXT       by the UTF-8 bytes of the text, whatever the collation;
 *  TIMESTAMP  by the bytes of the canonical text ('T' between date and time,
 *             'Z' for UTC), which is rarely the engine's own text;
 *  CANONICAL  by the bytes of the canonical text of any other type. */
enum key_order { KEY_ORDER_NUMBER, KEY_ORDER_BYTES, KEY_ORDER_TEXT, KEY_ORDER_TIMESTAMP,
		 KEY_ORDER_CANONICAL };
enum key_order value_key_order(enum vtype t);

/* Whether two values are the same for diffing: decimals and floats by value,
 * times and timestamps by the instant (trailing zeros of the fraction and a
 * UTC zone do not count). */
int value_equal(const struct row *a, size_t ia, const struct row *b, size_t ib, enum vtype t);

/* Whether s is a decimal number as the stream writes one (or NaN,
 * Infinity, -Infinity). */
int is_decimal_text(const char *s);

/* Compare two decimal strings by value; returns <0, 0, >0, or -2 if either
 * is not a plain decimal number. */
int decimal_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
