/* json: the one JSON codec of dbpipe.
 *
 * Parsing: json_parse reads one NDJSON line into a json_doc, a small arena
 * that holds every value of the line and is reused for the next one, so a
 * stream is parsed without a malloc per value.  It is strict: UTF-8 is
 * checked, \u escapes must pair their surrogates, control characters must be
 * escaped, duplicate keys are refused, and numbers keep their exact text
 * (an int of any length, a float as written).  It is our own because the
 * Debian libraries measured slower on the hot path (bench/json-parse.c:
 * jansson spends most of dbdiff's time in malloc and hashing) and none keeps
 * number text; see dbpipe(5).
 *
 * Ownership: every struct jv and every string it points to belongs to the
 * doc and is valid until the next json_parse on it or json_doc_release.
 *
 * Encoding is one escape function: the writers emit fields in a fixed order. */
#ifndef DBPIPE_JSON_H
#define DBPIPE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct jv {
	enum jtype type;
	const char *s;       /* J_STRING: the unescaped bytes; J_NUMBER: the literal */
	size_t len;          /* their length (a string may hold NUL bytes) */
	const char *key;     /* as a member of an object: its key (NUL-terminated) */
	size_t keylen;
	size_t count;        /* J_ARRAY, J_OBJECT: number of members */
	struct jv *first;    /* J_ARRAY, J_OBJECT: the first member */
	struct jv *next;     /* the next member of the enclosing array or object */
};

struct json_doc {
	struct jv *nodes;
	size_t nnodes, alloc;
	char *text;          /* unescaped strings and number literals */
	size_t textlen, textalloc;
};

void json_doc_init(struct json_doc *d);
void json_doc_release(struct json_doc *d);

/* Parse s (n bytes, one line without its newline).  On success *root is the
 * value (an object when want_object).  On failure returns -1 and puts a
 * one-line reason, "invalid JSON at column N: ...", into err. */
int json_parse(struct json_doc *d, const char *s, size_t n, int want_object,
	       struct jv **root, struct buf *err);

/* Member key of object o, or NULL (also when o is not an object). */
struct jv *jv_get(const struct jv *o, const char *key);
/* The string member key of o, or NULL when absent or not a string. */
const char *jv_get_string(const struct jv *o, const char *key);
/* Whether v is an integer literal (no fraction, no exponent). */
int jv_is_integer(const struct jv *v);
/* v as an int64 when it is an integer literal in range: 0, else -1. */
int jv_int64(const struct jv *v, int64_t *out);
/* The member key of o is true. */
int jv_get_true(const struct jv *o, const char *key);
/* "null", "string", ...: for messages. */
const char *jv_type_name(enum jtype t);

/* Append s (n bytes) as a JSON string literal with quotes.  Returns -1 (and
 * appends nothing useful) if s is not valid UTF-8. */
int json_add_string(struct buf *b, const char *s, size_t n);
/* Append "key": (a JSON string and a colon). */
void json_add_key(struct buf *b, const char *key);

/* Whether two JSON texts hold the same document: object members in any
 * order, numbers by value, strings by their bytes.  1 or 0; -1 when either
 * is not JSON. */
int json_text_equal(const char *a, size_t alen, const char *b, size_t blen);

/* Whether s (n bytes) is valid UTF-8 (NUL bytes allowed, escaped on output). */
int utf8_valid(const char *s, size_t n);

#endif
