/* json: the one JSON codec.  Parsing is jansson's (strict UTF-8, surrogate
 * pairs, duplicate keys refused); encoding is a small escape function because
 * the writers emit records field by field in a fixed order. */
#ifndef DBPIPE_JSON_H
#define DBPIPE_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "util.h"

/* Parse one NDJSON line (without its newline).  On success *out is a new
 * reference the caller must json_decref.  On failure returns -1 and puts a
 * one-line reason (no prefix) into err. */
int json_parse_line(const char *s, size_t n, json_t **out, struct buf *err);

/* Append s (n bytes) as a JSON string literal with quotes.  Returns -1 (and
 * appends nothing useful) if s is not valid UTF-8. */
int json_add_string(struct buf *b, const char *s, size_t n);
/* Append "key": (a JSON string and a colon). */
void json_add_key(struct buf *b, const char *key);

/* Whether s (n bytes) is valid UTF-8 (NUL bytes allowed, escaped on output). */
int utf8_valid(const char *s, size_t n);

/* Field access with a type check; return NULL when absent or of another type. */
const char *json_get_string(json_t *obj, const char *key);

#endif
